//! Routing (mission steps 7–9): each waiting contact — highest priority
//! first, then first come first served across all queues — is offered to the
//! agent its queue's strategy picks (`strategy`) among those Available, Idle
//! and holding every required skill (DivertCall). Then the offer's outcome: ringing, answered
//! (Established), or rejected / not answered / CTI ring timeout, after which
//! the contact goes back to the head of its queue and the next agent is tried.

use super::agent::{AgentState, AgentStatus};
use super::contact::ContactPhase;
use super::error::CtiError;
use super::events::{CstaEvent, Output};
use super::index::LineKey;
use super::queue::QueueKey;
use super::timers::Timer;
use super::types::{AgentId, ContactId, QueueName, Skill};
use super::Cti;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// NotReady reason given to an agent after too many missed offers.
pub const NO_ANSWER_REASON: &str = "no answer";

impl Cti {
    /// Offers waiting contacts to free agents until no match remains, in
    /// line order (highest priority, then first come) across all queues.
    /// Only the lines that gained a contact or that an agent turned free can
    /// serve are tried (the last pass left no other match), one head at a
    /// time: a line whose head finds no free agent is done for this pass,
    /// since its later contacts need the same skills and agents only stop
    /// being free. The pass ends once no agent is free.
    pub(super) fn route(&mut self, now: Instant, out: &mut Vec<Output>) {
        #[cfg(test)]
        if self.scan_routing {
            self.index.take_candidates(&BTreeMap::new());
            return self.route_by_scan(now, out);
        }
        let lines = self.index.take_candidates(&self.agents);
        if self.index.free_count() == 0 {
            return;
        }
        let mut heads: BTreeSet<(QueueKey, ContactId, LineKey)> = lines
            .into_iter()
            .filter_map(|s| self.index.head(&s).map(|(k, c)| (k, c, s)))
            .collect();
        while let Some((_, contact, line)) = heads.pop_first() {
            let Some((queue, _)) = self.requested(contact) else {
                continue;
            };
            let Some(agent) = self.pick_agent(&queue, &line) else {
                continue;
            };
            self.divert(now, contact, agent, out);
            if self.index.free_count() == 0 {
                return;
            }
            if let Some((k, c)) = self.index.head(&line) {
                heads.insert((k, c, line));
            }
        }
    }

    /// The routing pass before the index: sort every waiting contact, look
    /// each distinct skill set up once. The reference `route` is tested
    /// against (same decisions, same order).
    #[cfg(test)]
    fn route_by_scan(&mut self, now: Instant, out: &mut Vec<Output>) {
        let (cap, mixed) = (self.cfg.capacity, self.cfg.chat_during_voice);
        let any_free = |cti: &Cti| {
            let free = |a: &&super::Agent| {
                super::Channel::ALL
                    .iter()
                    .any(|c| a.can_take(*c, &cap, mixed))
            };
            cti.agents.values().any(|a| free(&a))
        };
        if !any_free(self) {
            return;
        }
        let mut waiting: Vec<(QueueKey, ContactId)> = self
            .queues
            .values()
            .flat_map(|q| q.waiting().map(|(k, c)| (*k, *c)))
            .collect();
        waiting.sort();
        let mut unmatched: BTreeSet<LineKey> = BTreeSet::new();
        for (_, contact) in waiting {
            if !any_free(self) {
                break;
            }
            let Some((queue, skills)) = self.requested(contact) else {
                continue;
            };
            let Some(channel) = self.contacts.get(&contact).map(|c| c.channel) else {
                continue;
            };
            let line = (channel, skills);
            if unmatched.contains(&line) {
                continue;
            }
            match self.pick_agent(&queue, &line) {
                Some(agent) => self.divert(now, contact, agent, out),
                None => {
                    unmatched.insert(line);
                }
            }
        }
    }

    fn requested(&self, contact: ContactId) -> Option<(QueueName, BTreeMap<Skill, u8>)> {
        let req = self.contacts.get(&contact)?.request.as_ref()?;
        Some((req.queue.clone(), req.skills.clone()))
    }

    /// Step 8: reserve the agent and tell the SoftACD to ring its device.
    pub(super) fn divert(
        &mut self,
        now: Instant,
        contact: ContactId,
        agent: AgentId,
        out: &mut Vec<Output>,
    ) {
        let Some(device) = self.agents.get(&agent).map(|a| a.device.clone()) else {
            return;
        };
        self.dequeue(contact);
        let Some(c) = self.contacts.get_mut(&contact) else {
            return;
        };
        let channel = c.channel;
        c.phase = ContactPhase::Diverting(agent.clone());
        let queue = c
            .request
            .as_ref()
            .and_then(|r| self.queues.get_mut(&r.queue));
        if let Some(q) = queue {
            q.last_offered = Some(agent.clone());
            q.diverting += 1;
        }
        c.record(CstaEvent::DivertCall {
            contact,
            agent: agent.clone(),
            device: device.clone(),
        });
        self.timers
            .set(Timer::RingTimeout(contact), now + self.cfg.ring_timeout);
        self.update_agent(&agent, out, |a| {
            a.held.insert(contact, channel);
            if channel.is_call() {
                a.state = AgentState::Reserved { contact };
            }
        });
        out.push(Output::DivertCall {
            contact,
            agent,
            device,
        });
    }

    /// Step 9: the agent's phone rings.
    pub(super) fn agent_ringing(
        &mut self,
        contact: ContactId,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        let agent = self.diverting_agent("AgentRinging", contact)?;
        self.update_agent(&agent, out, |a| {
            if a.state == (AgentState::Reserved { contact }) {
                a.state = AgentState::Ringing { contact };
            }
        });
        Ok(())
    }

    /// Step 9: the agent answered; the call is established.
    pub(super) fn agent_answered(
        &mut self,
        now: Instant,
        contact: ContactId,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        const IN: &str = "AgentAnswered";
        let agent = self.diverting_agent(IN, contact)?;
        self.timers.cancel(&Timer::RingTimeout(contact));
        self.undivert(contact);
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.phase = ContactPhase::Connected(agent.clone());
            c.answered_at = Some(now);
            c.record(CstaEvent::Established {
                contact,
                agent: agent.clone(),
            });
        }
        self.update_agent(&agent, out, |a| {
            if a.contact() == Some(contact) {
                a.state = AgentState::InCall { contact };
            }
            a.missed = 0;
            a.handled = a.handled.saturating_add(1);
        });
        out.push(Output::Established { contact, agent });
        Ok(())
    }

    /// AgentRejected / AgentNoAnswer from the SoftACD.
    pub(super) fn offer_failed(
        &mut self,
        now: Instant,
        input: &'static str,
        contact: ContactId,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        let agent = self.diverting_agent(input, contact)?;
        self.requeue_after_miss(now, contact, &agent, out);
        Ok(())
    }

    /// The CTI's own no-answer timer: cancel the divert, then as no-answer.
    pub(super) fn ring_timeout(&mut self, now: Instant, contact: ContactId, out: &mut Vec<Output>) {
        let Ok(agent) = self.diverting_agent("RingTimeout", contact) else {
            return;
        };
        out.push(Output::CancelDivert {
            contact,
            agent: agent.clone(),
        });
        self.requeue_after_miss(now, contact, &agent, out);
    }

    /// Counts the miss against the agent (NotReady after
    /// `cfg.max_no_answer` in a row), frees it, and puts the contact back at
    /// the head of its priority class in its queue.
    fn requeue_after_miss(
        &mut self,
        now: Instant,
        contact: ContactId,
        agent: &AgentId,
        out: &mut Vec<Output>,
    ) {
        self.timers.cancel(&Timer::RingTimeout(contact));
        self.undivert(contact);
        let limit = self.cfg.max_no_answer;
        self.update_agent(agent, out, |a| {
            a.missed = a.missed.saturating_add(1);
            if limit > 0 && a.missed >= limit && a.status == AgentStatus::Available {
                a.status = AgentStatus::NotReady {
                    reason: NO_ANSWER_REASON.into(),
                };
                a.missed = 0;
            }
        });
        self.release(now, agent, contact, None, out);
        let priority = self
            .contacts
            .get(&contact)
            .and_then(|c| c.request.as_ref())
            .map(|r| r.priority);
        if let Some(priority) = priority {
            let key = QueueKey::new(priority, self.head_seq);
            self.head_seq = self.head_seq.saturating_sub(1);
            self.enqueue(contact, key);
        }
    }

    /// A Diverting contact stops being one: its queue's count goes down.
    pub(super) fn undivert(&mut self, contact: ContactId) {
        let Some(c) = self.contacts.get(&contact) else {
            return;
        };
        let (ContactPhase::Diverting(_), Some(req)) = (&c.phase, &c.request) else {
            return;
        };
        if let Some(q) = self.queues.get_mut(&req.queue) {
            q.diverting = q.diverting.saturating_sub(1);
        }
    }

    /// The agent a contact is being diverted to.
    fn diverting_agent(
        &mut self,
        input: &'static str,
        contact: ContactId,
    ) -> Result<AgentId, CtiError> {
        let c = self.contact_in(input, contact, "Diverting", |p| {
            matches!(p, ContactPhase::Diverting(_))
        })?;
        match &c.phase {
            ContactPhase::Diverting(agent) => Ok(agent.clone()),
            other => Err(CtiError::WrongPhase {
                input,
                contact,
                phase: other.name(),
                expected: "Diverting",
            }),
        }
    }
}
