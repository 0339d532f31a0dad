//! CTI timers as data (DESIGN.md "Pure cores", after quinn's timer table):
//! queue timeout (step 7), ring / no-answer timeout (step 8) and wrap-up
//! (after step 10). The shell asks [`TimerTable::next`] for the earliest
//! deadline and calls back when it passes; nothing here reads a clock.

use super::types::{AgentId, ContactId};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// One armed timer. At most one of each kind per contact or agent, so the
/// table is bounded by the contact and agent tables.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// A queued contact's maximum wait.
    QueueTimeout(ContactId),
    /// The agent phone had this long to answer the divert.
    RingTimeout(ContactId),
    /// The agent's wrap-up ends.
    WrapUp(AgentId),
    /// A queued contact's next escalation step is due.
    Escalate(ContactId),
}

/// Deadlines by timer, and timers by deadline.
#[derive(Debug, Default, Clone)]
pub struct TimerTable {
    by_timer: BTreeMap<Timer, Instant>,
    by_deadline: BTreeSet<(Instant, Timer)>,
}

impl TimerTable {
    /// Arms `timer` at `at`, replacing an earlier arming.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.cancel(&timer);
        self.by_deadline.insert((at, timer.clone()));
        self.by_timer.insert(timer, at);
    }

    pub fn cancel(&mut self, timer: &Timer) {
        if let Some(at) = self.by_timer.remove(timer) {
            self.by_deadline.remove(&(at, timer.clone()));
        }
    }

    pub fn get(&self, timer: &Timer) -> Option<Instant> {
        self.by_timer.get(timer).copied()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest timer due at `now`, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let (at, timer) = self.by_deadline.first()?.clone();
        if at > now {
            return None;
        }
        self.by_deadline.remove(&(at, timer.clone()));
        self.by_timer.remove(&timer);
        Some(timer)
    }

    pub fn len(&self) -> usize {
        self.by_timer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_timer.is_empty()
    }

    /// Every armed timer with its deadline.
    pub fn iter(&self) -> impl Iterator<Item = (&Timer, &Instant)> {
        self.by_timer.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_order_only_when_due() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        t.set(
            Timer::RingTimeout(ContactId(1)),
            t0 + Duration::from_secs(5),
        );
        t.set(
            Timer::QueueTimeout(ContactId(2)),
            t0 + Duration::from_secs(2),
        );
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(t.pop_due(t0 + Duration::from_secs(1)), None);
        let now = t0 + Duration::from_secs(6);
        assert_eq!(t.pop_due(now), Some(Timer::QueueTimeout(ContactId(2))));
        assert_eq!(t.pop_due(now), Some(Timer::RingTimeout(ContactId(1))));
        assert_eq!(t.pop_due(now), None);
        assert!(t.is_empty());
    }

    #[test]
    fn set_replaces_and_cancel_removes() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        let k = Timer::WrapUp(AgentId::from("a"));
        t.set(k.clone(), t0 + Duration::from_secs(1));
        t.set(k.clone(), t0 + Duration::from_secs(9));
        assert_eq!(t.len(), 1);
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(9)));
        t.cancel(&k);
        assert_eq!(t.next(), None);
        assert_eq!(t.get(&k), None);
    }
}
