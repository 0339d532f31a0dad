//! What the CTI reports about waiting (issue 6: "estimated wait time and
//! position per contact, exposed to the IVR, the API and the desktop"): a
//! waiting contact's place in line with its estimated wait, and per-queue
//! figures (waiting, longest wait, EWT of a newcomer, agents free and busy,
//! AHT). Read-only views over the core's tables; `now` is injected.

use super::agent::AgentStatus;
use super::contact::ContactPhase;
use super::stats::estimated_wait;
use super::types::{ContactId, QueueName, Skill};
use super::Cti;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A waiting contact's place in line (1-based) and estimated wait (`None`
/// when no agent who could serve it is available).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitEstimate {
    pub position: usize,
    pub ewt: Option<Duration>,
}

/// One queue's live figures (for `GET /api/queues`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub name: QueueName,
    pub waiting: usize,
    /// How long the longest-waiting contact has waited.
    pub longest_wait: Duration,
    /// The estimated wait of a contact joining now (like the next in
    /// line's skills; no skills asked when the queue is empty).
    pub ewt: Option<Duration>,
    /// Available, idle agents who could serve the next in line.
    pub agents_free: usize,
    /// Agents reserved for, ringing for or talking to a contact of this queue.
    pub agents_busy: usize,
    pub aht: Duration,
}

impl Cti {
    /// Position and estimated wait of a waiting contact; `None` unless it
    /// is waiting. EWT = position × the queue's AHT / the Available agents
    /// (any state) holding the contact's skills.
    pub fn wait_estimate(&self, id: ContactId) -> Option<WaitEstimate> {
        let c = self.contacts.get(&id)?;
        let req = c.request.as_ref()?;
        if !matches!(c.phase, ContactPhase::Queued(_)) {
            return None;
        }
        let queue = self.queues.get(&req.queue)?;
        let position = queue.position(id)?;
        let agents = self.agents_able(&req.skills);
        let ewt = estimated_wait(position, queue.handling().aht(), agents);
        Some(WaitEstimate { position, ewt })
    }

    /// Every configured queue's figures at `now`, by name.
    pub fn queue_stats(&self, now: Instant) -> Vec<QueueStats> {
        let mut busy: BTreeMap<&QueueName, usize> = BTreeMap::new();
        for c in self.contacts.values() {
            if let (Some(_), Some(req)) = (c.phase.agent(), &c.request) {
                *busy.entry(&req.queue).or_default() += 1;
            }
        }
        self.queues
            .iter()
            .map(|(name, q)| {
                let head = q.waiting().next().and_then(|(_, c)| self.contacts.get(c));
                let head_req = head.and_then(|c| c.request.as_ref());
                let none = BTreeMap::new();
                let skills = head_req.map_or(&none, |r| &r.skills);
                let longest_wait = q
                    .waiting()
                    .filter_map(|(_, c)| self.contacts.get(c)?.request.as_ref())
                    .map(|r| now.saturating_duration_since(r.since))
                    .max()
                    .unwrap_or_default();
                let aht = q.handling().aht();
                QueueStats {
                    name: name.clone(),
                    waiting: q.len(),
                    longest_wait,
                    ewt: estimated_wait(q.len() + 1, aht, self.agents_able(skills)),
                    agents_free: self
                        .agents
                        .values()
                        .filter(|a| a.is_free() && a.has_skills(skills))
                        .count(),
                    agents_busy: busy.get(name).copied().unwrap_or(0),
                    aht,
                }
            })
            .collect()
    }

    /// Agents who could serve a contact asking for `skills`: Available
    /// (whatever they are doing now) and skilled enough.
    fn agents_able(&self, skills: &BTreeMap<Skill, u8>) -> usize {
        self.agents
            .values()
            .filter(|a| a.status == AgentStatus::Available && a.has_skills(skills))
            .count()
    }
}
