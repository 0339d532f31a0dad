//! Server nonces for digest authentication (RFC 7616 §3.3, §5.4): each nonce
//! carries its issue time and a serial, sealed with an HMAC-SHA-256 keyed by
//! the registrar's secret, so a nonce is checked without storing it. Only
//! nonces that have authenticated a request are tracked, to refuse a
//! nonce-count that does not grow (replay); that table is bounded and sheds
//! its oldest nonces, whose later use then counts as stale.

use super::digest::to_hex;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Most nonces whose last nonce-count we remember.
pub const MAX_TRACKED_NONCES: usize = 4096;
/// Bytes of MAC kept in a nonce.
const MAC_LEN: usize = 16;

/// What a presented nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Issued by us and younger than the TTL; `serial` names it.
    Fresh { serial: u64 },
    /// Issued by us but too old, or shed from the tracking table.
    Stale,
    /// Not a nonce of ours (bad form or bad MAC).
    Foreign,
}

/// Issues and checks nonces; tracks nonce-counts of nonces in use.
#[derive(Debug)]
pub struct Nonces {
    secret: [u8; 32],
    ttl: Duration,
    origin: Option<Instant>,
    next_serial: u64,
    /// serial → highest nonce-count accepted.
    last_nc: BTreeMap<u64, u32>,
    /// Serials below this were shed from `last_nc`.
    floor: u64,
}

impl Nonces {
    pub fn new(secret: [u8; 32], ttl: Duration) -> Nonces {
        Nonces {
            secret,
            ttl,
            origin: None,
            next_serial: 0,
            last_nc: BTreeMap::new(),
            floor: 0,
        }
    }

    /// Milliseconds since the first instant this table saw.
    fn clock_ms(&mut self, now: Instant) -> u64 {
        let origin = *self.origin.get_or_insert(now);
        u64::try_from(now.saturating_duration_since(origin).as_millis()).unwrap_or(u64::MAX)
    }

    /// A new nonce: hex of `issued_ms | serial | mac`.
    pub fn issue(&mut self, now: Instant) -> String {
        let issued = self.clock_ms(now);
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        let mut body = [0u8; 16];
        body[..8].copy_from_slice(&issued.to_be_bytes());
        body[8..].copy_from_slice(&serial.to_be_bytes());
        let mac = hmac_sha256(&self.secret, &body);
        let mut out = to_hex(&body);
        out.push_str(&to_hex(&mac[..MAC_LEN]));
        out
    }

    /// Check form, MAC and age of a nonce presented by a peer.
    pub fn check(&mut self, now: Instant, nonce: &str) -> NonceCheck {
        let Some(raw) = from_hex(nonce) else {
            return NonceCheck::Foreign;
        };
        let Ok(raw) = <[u8; 16 + MAC_LEN]>::try_from(raw.as_slice()) else {
            return NonceCheck::Foreign;
        };
        let (body, mac) = raw.split_at(16);
        let expect = hmac_sha256(&self.secret, body);
        if !super::digest::constant_time_eq(&to_hex(mac), &to_hex(&expect[..MAC_LEN])) {
            return NonceCheck::Foreign;
        }
        let issued = be_u64(&body[..8]);
        let serial = be_u64(&body[8..]);
        let age_ms = self.clock_ms(now).saturating_sub(issued);
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        if age_ms > ttl_ms || (serial < self.floor && !self.last_nc.contains_key(&serial)) {
            return NonceCheck::Stale;
        }
        NonceCheck::Fresh { serial }
    }

    /// Record `nc` for a fresh nonce whose digest verified. False when the
    /// count does not exceed the last one accepted (a replay).
    pub fn accept_nc(&mut self, serial: u64, nc: u32) -> bool {
        if let Some(last) = self.last_nc.get_mut(&serial) {
            if nc <= *last {
                return false;
            }
            *last = nc;
            return true;
        }
        if nc == 0 {
            return false;
        }
        while self.last_nc.len() >= MAX_TRACKED_NONCES {
            match self.last_nc.pop_first() {
                Some((oldest, _)) => self.floor = self.floor.max(oldest + 1),
                None => break,
            }
        }
        self.last_nc.insert(serial, nc);
        true
    }

    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.last_nc.len()
    }
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// HMAC-SHA-256 (RFC 2104) with a key of at most one block (64 bytes);
/// longer keys are cut, which our fixed 32-byte secret never is.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().take(64).enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonces() -> (Nonces, Instant) {
        (
            Nonces::new([7; 32], Duration::from_secs(30)),
            Instant::now(),
        )
    }

    #[test]
    fn hmac_matches_rfc4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn issued_nonce_is_fresh_then_stale_after_ttl() {
        let (mut n, t0) = nonces();
        let a = n.issue(t0);
        assert!(matches!(
            n.check(t0 + Duration::from_secs(30), &a),
            NonceCheck::Fresh { .. }
        ));
        assert_eq!(n.check(t0 + Duration::from_secs(31), &a), NonceCheck::Stale);
    }

    #[test]
    fn nonces_are_unique_and_foreign_ones_are_refused() {
        let (mut n, t0) = nonces();
        let a = n.issue(t0);
        assert_ne!(a, n.issue(t0));
        let mut forged = a.clone();
        forged.replace_range(0..1, if a.starts_with('0') { "1" } else { "0" });
        assert_eq!(n.check(t0, &forged), NonceCheck::Foreign);
        assert_eq!(n.check(t0, "zz"), NonceCheck::Foreign);
        assert_eq!(n.check(t0, "é"), NonceCheck::Foreign);
        let other = Nonces::new([8; 32], Duration::from_secs(30)).issue(t0);
        assert_eq!(n.check(t0, &other), NonceCheck::Foreign);
    }

    #[test]
    fn nonce_count_must_grow() {
        let (mut n, _) = nonces();
        assert!(n.accept_nc(0, 1));
        assert!(!n.accept_nc(0, 1));
        assert!(n.accept_nc(0, 2));
        assert!(!n.accept_nc(1, 0));
    }

    #[test]
    fn tracking_table_is_bounded_and_shed_nonces_turn_stale() {
        let (mut n, t0) = nonces();
        let first = n.issue(t0);
        let NonceCheck::Fresh { serial } = n.check(t0, &first) else {
            panic!("fresh nonce refused");
        };
        assert!(n.accept_nc(serial, 1));
        for _ in 0..MAX_TRACKED_NONCES {
            let x = n.issue(t0);
            if let NonceCheck::Fresh { serial } = n.check(t0, &x) {
                assert!(n.accept_nc(serial, 1));
            }
        }
        assert_eq!(n.tracked(), MAX_TRACKED_NONCES);
        assert_eq!(n.check(t0, &first), NonceCheck::Stale);
    }
}
