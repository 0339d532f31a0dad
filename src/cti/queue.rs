//! One CTI queue (mission step 7): contacts of any channel wait here in
//! priority order, first-in first-out within a priority. A contact whose
//! offer failed goes back to the head of its priority class (step 8).

use super::stats::HandlingTime;
use super::types::{AgentId, ContactId};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

/// A contact's place in line. Keys from every queue share one total order
/// (priority, then sequence), so the router can merge queues fairly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey {
    rank: Reverse<u8>,
    seq: i64,
}

impl QueueKey {
    /// Higher `priority` comes first; lower `seq` first within a priority.
    pub fn new(priority: u8, seq: i64) -> Self {
        QueueKey {
            rank: Reverse(priority),
            seq,
        }
    }

    pub fn priority(&self) -> u8 {
        self.rank.0
    }
}

/// The waiting line of one queue. The size bound is enforced by the caller
/// (it also counts contacts of this queue being diverted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queue {
    waiting: BTreeMap<QueueKey, ContactId>,
    handling: HandlingTime,
    /// The agent this queue offered a contact to last (round-robin).
    pub(crate) last_offered: Option<AgentId>,
    /// Contacts of this queue being offered to an agent (Diverting).
    pub(crate) diverting: usize,
}

impl Queue {
    /// An empty queue whose handling time starts at `default_aht`.
    pub(crate) fn new(default_aht: Duration) -> Self {
        Queue {
            waiting: BTreeMap::new(),
            handling: HandlingTime::seeded(default_aht),
            last_offered: None,
            diverting: 0,
        }
    }

    /// The queue's average handling time (talk + wrap-up).
    pub fn handling(&self) -> &HandlingTime {
        &self.handling
    }

    pub(crate) fn record_handled(&mut self, handled: Duration) {
        self.handling.record(handled);
    }

    pub(crate) fn insert(&mut self, key: QueueKey, contact: ContactId) {
        self.waiting.insert(key, contact);
    }

    pub(crate) fn remove(&mut self, key: &QueueKey) -> Option<ContactId> {
        self.waiting.remove(key)
    }

    /// Waiting contacts, the next to serve first.
    pub fn waiting(&self) -> impl Iterator<Item = (&QueueKey, &ContactId)> {
        self.waiting.iter()
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// 1-based place in line (for position announcements).
    pub fn position(&self, contact: ContactId) -> Option<usize> {
        self.waiting
            .values()
            .position(|c| *c == contact)
            .map(|i| i + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_first_then_fifo_and_head_inserts_lead_their_class() {
        let mut q = Queue::default();
        q.insert(QueueKey::new(0, 1), ContactId(1));
        q.insert(QueueKey::new(5, 2), ContactId(2));
        q.insert(QueueKey::new(0, 3), ContactId(3));
        q.insert(QueueKey::new(5, 4), ContactId(4));
        // a requeued contact gets a negative sequence: head of its class
        q.insert(QueueKey::new(0, -1), ContactId(9));
        let order: Vec<u64> = q.waiting().map(|(_, c)| c.0).collect();
        assert_eq!(order, vec![2, 4, 9, 1, 3]);
        assert_eq!(q.position(ContactId(9)), Some(3));
        assert_eq!(q.position(ContactId(77)), None);
        assert_eq!(q.remove(&QueueKey::new(5, 2)), Some(ContactId(2)));
        assert_eq!(q.len(), 4);
    }
}
