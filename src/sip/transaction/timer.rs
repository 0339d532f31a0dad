//! Transaction timers as data (RFC 3261 §17, Table 4 of §A; RFC 6026 §8.4 adds
//! Timers L and M). This file owns the timer configuration (T1, T2, T4), the
//! names of the timers, the per-transaction set of armed deadlines and the
//! layer-wide deadline queue (a binary heap with lazy deletion: an entry is
//! live only while its transaction still holds that timer at that deadline).

use super::effects::{Effect, Effects};
use super::key::TxKey;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// RFC 3261 §17.1.1.1 base timer values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (default 5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// The delay after which an INVITE server transaction sends 100 Trying on its
/// own when the TU has not answered (RFC 3261 §17.2.1).
pub const TRYING_DELAY: Duration = Duration::from_millis(200);

/// Timer D's floor on unreliable transports (RFC 3261 §17.1.1.2).
pub const TIMER_D_UNRELIABLE: Duration = Duration::from_secs(32);

impl TimerConfig {
    /// 64*T1: Timers B, F, H, L, M, and J on unreliable transports.
    pub fn t1_x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer D: at least 32 s on unreliable transports, zero on reliable ones.
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            TIMER_D_UNRELIABLE.max(self.t1_x64())
        }
    }

    /// Timers I and K: T4 on unreliable transports, zero on reliable ones.
    pub fn t4_or_zero(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer J: 64*T1 on unreliable transports, zero on reliable ones.
    pub fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t1_x64()
        }
    }

    /// The next retransmit interval of Timers E and G: doubled, capped at T2.
    pub fn backoff(&self, current: Duration) -> Duration {
        current.saturating_mul(2).min(self.t2)
    }
}

/// The transaction timers, named as in RFC 3261 Table 4 and RFC 6026.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// INVITE client: request retransmit (unreliable only), doubling.
    A,
    /// INVITE client: transaction timeout in Calling.
    B,
    /// INVITE client: wait for response retransmits in Completed.
    D,
    /// Non-INVITE client: request retransmit (unreliable only), capped at T2.
    E,
    /// Non-INVITE client: transaction timeout.
    F,
    /// INVITE server: final response retransmit (unreliable only).
    G,
    /// INVITE server: wait for ACK.
    H,
    /// INVITE server: wait for ACK retransmits in Confirmed.
    I,
    /// Non-INVITE server: wait for request retransmits in Completed.
    J,
    /// Non-INVITE client: wait for response retransmits in Completed.
    K,
    /// INVITE server (RFC 6026): Accepted state lifetime.
    L,
    /// INVITE client (RFC 6026): Accepted state lifetime.
    M,
    /// INVITE server: send 100 Trying if the TU is silent (§17.2.1).
    Trying100,
}

/// Deadline `d` after `now`; saturates at `now` on overflow (never panics).
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

/// The timers one transaction has armed (at most a handful).
#[derive(Debug, Clone, Default)]
pub(crate) struct Armed(Vec<(TimerKind, Instant)>);

impl Armed {
    pub fn get(&self, kind: TimerKind) -> Option<Instant> {
        self.0.iter().find(|(k, _)| *k == kind).map(|(_, at)| *at)
    }

    /// Arm (or re-arm) `kind` at `at` and tell the layer to queue it.
    pub fn arm(&mut self, kind: TimerKind, at: Instant, fx: &mut Effects) {
        self.clear(kind);
        self.0.push((kind, at));
        fx.push(Effect::Arm(kind, at));
    }

    pub fn clear(&mut self, kind: TimerKind) {
        self.0.retain(|(k, _)| *k != kind);
    }

    pub fn clear_all(&mut self) {
        self.0.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = (TimerKind, Instant)> + '_ {
        self.0.iter().copied()
    }
}

/// One queued deadline. Ordered by (deadline, insertion sequence) only.
#[derive(Debug)]
struct Entry {
    at: Instant,
    seq: u64,
    key: TxKey,
    kind: TimerKind,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The layer's deadline queue: earliest first, stale entries dropped lazily.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl TimerQueue {
    pub fn push(&mut self, at: Instant, key: TxKey, kind: TimerKind) {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        self.heap.push(Reverse(Entry { at, seq, key, kind }));
    }

    /// The earliest queued deadline (possibly stale; see `drop_stale_top`).
    pub fn peek_at(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Pop the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, TxKey, TimerKind)> {
        if self.peek_at()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(e)| (e.at, e.key, e.kind))
    }

    /// Drop entries from the top while `is_live` says they are stale, so
    /// that `peek_at` names a deadline that will really fire.
    pub fn drop_stale_top(&mut self, is_live: impl Fn(&TxKey, TimerKind, Instant) -> bool) {
        while let Some(Reverse(e)) = self.heap.peek() {
            if is_live(&e.key, e.kind, e.at) {
                return;
            }
            self.heap.pop();
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Replace the queue with exactly the given live deadlines.
    pub fn rebuild(&mut self, live: impl Iterator<Item = (Instant, TxKey, TimerKind)>) {
        self.heap.clear();
        for (at, key, kind) in live {
            self.push(at, key, kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::parse::parse_message;
    use crate::sip::{Message, Request};

    fn key(branch: &str) -> TxKey {
        let raw = format!(
            "OPTIONS sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{branch}\r\nCSeq: 1 OPTIONS\r\nCall-ID: c\r\n\r\n"
        );
        let Ok(Message::Request(r)) = parse_message(raw.as_bytes()) else {
            panic!("test request must parse")
        };
        let r: Request = r;
        TxKey::server(&r).expect("key")
    }

    #[test]
    fn defaults_are_rfc_values() {
        let c = TimerConfig::default();
        assert_eq!(c.t1, Duration::from_millis(500));
        assert_eq!(c.t2, Duration::from_secs(4));
        assert_eq!(c.t4, Duration::from_secs(5));
        assert_eq!(c.t1_x64(), Duration::from_secs(32));
        assert_eq!(c.timer_d(false), Duration::from_secs(32));
        assert_eq!(c.timer_d(true), Duration::ZERO);
        assert_eq!(c.t4_or_zero(false), Duration::from_secs(5));
        assert_eq!(c.timer_j(true), Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_then_caps_at_t2() {
        let c = TimerConfig::default();
        assert_eq!(
            c.backoff(Duration::from_millis(500)),
            Duration::from_secs(1)
        );
        assert_eq!(c.backoff(Duration::from_secs(2)), Duration::from_secs(4));
        assert_eq!(c.backoff(Duration::from_secs(4)), Duration::from_secs(4));
    }

    #[test]
    fn queue_pops_earliest_first_and_only_when_due() {
        let t0 = Instant::now();
        let mut q = TimerQueue::default();
        q.push(t0 + Duration::from_secs(2), key("b"), TimerKind::B);
        q.push(t0 + Duration::from_secs(1), key("a"), TimerKind::A);
        assert_eq!(q.peek_at(), Some(t0 + Duration::from_secs(1)));
        assert!(q.pop_due(t0).is_none());
        let (_, k, kind) = q.pop_due(t0 + Duration::from_secs(5)).expect("due");
        assert_eq!((k, kind), (key("a"), TimerKind::A));
        let (_, k, _) = q.pop_due(t0 + Duration::from_secs(5)).expect("due");
        assert_eq!(k, key("b"));
        assert!(q.pop_due(t0 + Duration::from_secs(5)).is_none());
    }

    #[test]
    fn stale_top_entries_are_dropped() {
        let t0 = Instant::now();
        let mut q = TimerQueue::default();
        q.push(t0 + Duration::from_secs(1), key("gone"), TimerKind::A);
        q.push(t0 + Duration::from_secs(3), key("live"), TimerKind::B);
        q.drop_stale_top(|k, _, _| *k == key("live"));
        assert_eq!(q.peek_at(), Some(t0 + Duration::from_secs(3)));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn armed_rearm_replaces_and_reports() {
        let t0 = Instant::now();
        let mut a = Armed::default();
        let mut fx = Effects::default();
        a.arm(TimerKind::E, t0, &mut fx);
        a.arm(TimerKind::E, t0 + Duration::from_secs(1), &mut fx);
        assert_eq!(a.get(TimerKind::E), Some(t0 + Duration::from_secs(1)));
        assert_eq!(a.iter().count(), 1);
        assert_eq!(fx.len(), 2);
        a.clear(TimerKind::E);
        assert_eq!(a.get(TimerKind::E), None);
    }
}
