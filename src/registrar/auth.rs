//! The digest check of one request (RFC 3261 §22.4, RFC 7616 §3.4–3.5),
//! usable for REGISTER and for any other request (INVITEs from afar). Order
//! of checks: credentials for our realm → qop=auth → our nonce (MAC) → `uri`
//! names this request → password → nonce age → nonce-count growth.
//!
//! Decisions: a stale nonce and a non-growing nonce-count (replay) both get
//! 401 with `stale=true` and a fresh nonce, and only after the digest itself
//! verified (RFC 7616 §3.3: stale means "right digest, old nonce"), so a
//! replayer learns nothing and a real phone recovers without asking its user.
//! Wrong password and unknown user give the same 403, after the same hashing.

use super::digest::{self, Algorithm, Credentials, DigestError, ResponseInput};
use super::nonce::NonceCheck;
use super::{AuthResult, Registrar};
use crate::sip::parse::parse_uri;
use crate::sip::{Request, Uri};
use std::time::Instant;

/// Hashed in place of a password for unknown users, so timing matches.
const DUMMY_PASSWORD: &str = "\u{0}no-such-user\u{0}";

impl Registrar {
    /// Check the `Authorization` (or `Proxy-Authorization`) credentials of
    /// `req` against the configured users. Mints a nonce when challenging.
    pub fn check_auth(&mut self, now: Instant, req: &Request) -> AuthResult {
        let creds = match self.credentials_for_realm(req) {
            Ok(Some(c)) if self.offers(c.algorithm) => c,
            Ok(_) => return self.challenge(now, false),
            Err(e) => return AuthResult::BadRequest { why: e.to_string() },
        };
        let qop_ok = creds
            .qop
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case("auth"));
        let (Some((nc_raw, nc)), Some(cnonce), true) = (&creds.nc, &creds.cnonce, qop_ok) else {
            return self.challenge(now, false);
        };
        let nonce_state = self.nonces.check(now, &creds.nonce);
        if nonce_state == NonceCheck::Foreign {
            return self.challenge(now, false);
        }
        if !uri_matches(&creds.uri, &req.uri) {
            return AuthResult::BadRequest {
                why: "digest uri does not name the Request-URI".into(),
            };
        }
        let password = self.cfg.users.get(&creds.username);
        let expected = digest::compute_response(&ResponseInput {
            algorithm: creds.algorithm,
            username: &creds.username,
            realm: &creds.realm,
            password: password.map_or(DUMMY_PASSWORD, String::as_str),
            method: req.method.as_str(),
            uri: &creds.uri,
            nonce: &creds.nonce,
            qop: Some((nc_raw, cnonce, "auth")),
        });
        let matches = digest::constant_time_eq(&expected, &creds.response.to_ascii_lowercase());
        if password.is_none() || !matches {
            return AuthResult::Forbidden {
                claimed_user: creds.username,
            };
        }
        match nonce_state {
            NonceCheck::Fresh { serial } if self.nonces.accept_nc(serial, *nc) => {
                AuthResult::Authenticated {
                    user: creds.username,
                }
            }
            _ => self.challenge(now, true),
        }
    }

    /// The configured algorithms, most preferred first; both when none are set.
    fn offered(&self) -> Vec<Algorithm> {
        if self.cfg.algorithms.is_empty() {
            vec![Algorithm::Sha256, Algorithm::Md5]
        } else {
            self.cfg.algorithms.clone()
        }
    }

    fn offers(&self, alg: Algorithm) -> bool {
        self.offered().contains(&alg)
    }

    /// A fresh challenge: one header per offered algorithm, in the
    /// configured order of preference (RFC 7616 §3.7).
    pub(super) fn challenge(&mut self, now: Instant, stale: bool) -> AuthResult {
        let nonce = self.nonces.issue(now);
        let headers = self
            .offered()
            .into_iter()
            .map(|alg| digest::challenge(&self.cfg.realm, &nonce, alg, stale))
            .collect();
        AuthResult::Challenge { headers, stale }
    }

    /// The first Digest credentials for our realm; other schemes and realms
    /// are skipped, a malformed Digest value is an error.
    fn credentials_for_realm(&self, req: &Request) -> Result<Option<Credentials>, DigestError> {
        let lines = req
            .headers
            .get_all("Authorization")
            .chain(req.headers.get_all("Proxy-Authorization"));
        for line in lines {
            match digest::parse_credentials(line) {
                Ok(c) if c.realm == self.cfg.realm => return Ok(Some(c)),
                Ok(_) | Err(DigestError::NotDigest) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

/// RFC 7616 §3.4.6, loosely: the digest `uri` parses to the same scheme,
/// user, host (any case) and port as the Request-URI; a missing port matches
/// any. A `uri` that is not a SIP URI must equal the Request-URI as text.
fn uri_matches(digest_uri: &str, req_uri: &Uri) -> bool {
    let Ok(u) = parse_uri(digest_uri) else {
        return digest_uri == req_uri.to_string();
    };
    let port_ok = match (u.port, req_uri.port) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    u.scheme == req_uri.scheme
        && u.user == req_uri.user
        && u.host.eq_ignore_ascii_case(&req_uri.host)
        && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        parse_uri(s).unwrap()
    }

    #[test]
    fn uri_match_is_loose_on_case_and_port_only() {
        let r = uri("sip:ACD.example.com");
        assert!(uri_matches("sip:acd.example.com", &r));
        assert!(uri_matches("sip:acd.example.com:5060", &r));
        assert!(!uri_matches("sip:other.example.com", &r));
        assert!(!uri_matches("sips:acd.example.com", &r));
        assert!(!uri_matches("not a uri", &r));
        assert!(!uri_matches(
            "sip:acd.example.com:5061",
            &uri("sip:acd.example.com:5060")
        ));
    }
}
