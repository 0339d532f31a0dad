//! Time-based escalation (issue 6: "after N s widen to lower levels or other
//! queues"): each queue lists steps by time since the contact asked for an
//! agent. A step may cap every required skill level at `min_level` (so less
//! skilled agents may take the contact) and/or move the contact to another
//! queue, keeping its priority and its place by arrival; there the steps of
//! the new queue that lie later than the last applied one go on. One
//! [`Timer::Escalate`] per waiting contact, armed at its next step.

use super::config::Escalation;
use super::contact::{AgentRequest, ContactPhase};
use super::timers::Timer;
use super::types::{ContactId, QueueName};
use super::Cti;
use std::time::Instant;

impl Cti {
    /// The next step for `req` and when it is due.
    pub(super) fn next_escalation(&self, req: &AgentRequest) -> Option<(Instant, &Escalation)> {
        let steps = &self.cfg.queues.get(&req.queue)?.escalate;
        let step = steps.iter().find(|s| s.after > req.escalated)?;
        Some((req.since.checked_add(step.after)?, step))
    }

    /// The contact's escalation timer fired: apply the step, re-queue.
    pub(super) fn escalate(&mut self, contact: ContactId) {
        let Some(c) = self.contacts.get(&contact) else {
            return;
        };
        let (ContactPhase::Queued(key), Some(req)) = (&c.phase, &c.request) else {
            return;
        };
        let key = *key;
        let Some((_, step)) = self.next_escalation(req) else {
            return;
        };
        let step = step.clone();
        let target = step.queue.as_ref().filter(|q| self.room_in(q, &req.queue));
        let target = target.cloned();
        self.dequeue(contact);
        if let Some(req) = self
            .contacts
            .get_mut(&contact)
            .and_then(|c| c.request.as_mut())
        {
            req.escalated = step.after;
            if let Some(cap) = step.min_level {
                req.skills.values_mut().for_each(|l| *l = (*l).min(cap));
            }
            if let Some(q) = target {
                req.queue = q;
            }
        }
        self.enqueue(contact, key);
    }

    /// `to` is another configured queue with room for one more.
    fn room_in(&self, to: &QueueName, from: &QueueName) -> bool {
        let max = self.cfg.queues.get(to).map_or(0, |q| q.max_size);
        to != from && self.occupancy(to) < max
    }

    /// Arms the escalation timer of a contact just queued, if a step is left.
    pub(super) fn arm_escalation(&mut self, contact: ContactId) {
        let next = self
            .contacts
            .get(&contact)
            .and_then(|c| c.request.as_ref())
            .and_then(|r| self.next_escalation(r))
            .map(|(at, _)| at);
        if let Some(at) = next {
            self.timers.set(Timer::Escalate(contact), at);
        }
    }
}
