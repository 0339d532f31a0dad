//! Blind transfer from the agent desktop (issue 6; ECMA-269 §17.2.27
//! SingleStepTransferCall, event Transferred): an agent InCall hands its
//! contact to another agent or to a queue and leaves the call at once.
//!
//! - To an agent: the target must be signed in (else `UnknownAgent`),
//!   Available and Idle (else `AgentBusy`). The contact goes straight to
//!   Diverting to the target (Reserved, ring timer armed, DivertCall), as if
//!   the router had picked it. If the target rejects or does not answer, the
//!   usual no-answer rule applies: the contact goes back to the head of its
//!   own queue (the one it was answered from) and the next agent is tried.
//! - To a queue: the contact re-enters the named queue at the head of its
//!   priority class (it has waited already; it must not go to the back of
//!   the line), keeps its priority and first-wait time, gets the target
//!   queue's maximum wait from now, and asks for the skills it asked for if
//!   the queue is its own, else the skill named like the queue at level 1
//!   (the seats' convention: skills are queue names).
//!
//! Either way the transferring agent's talk time is recorded for the old
//! queue and the agent goes to wrap-up; [`Output::Transferred`] goes out
//! before the divert so the call model releases the agent's leg first.

use super::agent::AgentState;
use super::contact::{AgentRequest, ContactPhase};
use super::error::CtiError;
use super::events::{CstaEvent, Output, TransferTarget};
use super::queue::QueueKey;
use super::types::{AgentId, Channel, ContactId, QueueName, Skill};
use super::Cti;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const IN: &str = "Transfer";

impl Cti {
    /// The transfer input: checks everything first, then changes state.
    pub(super) fn transfer(
        &mut self,
        now: Instant,
        agent: &AgentId,
        to: TransferTarget,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        let contact = self.talking_contact(agent)?;
        if self
            .contacts
            .get(&contact)
            .is_some_and(|c| c.callback.is_some())
        {
            return Err(CtiError::WrongPhase {
                input: IN,
                contact,
                phase: "a callback",
                expected: "an inbound call",
            });
        }
        match &to {
            TransferTarget::Agent { agent: target } => {
                self.check_target_agent(agent, target, contact)?
            }
            TransferTarget::Queue { queue } => self.check_target_queue(queue)?,
        }
        self.release_transferring_agent(now, contact, agent, out);
        let event = CstaEvent::Transferred {
            contact,
            from: agent.clone(),
            to: to.clone(),
        };
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.record(event);
        }
        out.push(Output::Transferred {
            contact,
            from: agent.clone(),
            to: to.clone(),
        });
        match to {
            TransferTarget::Agent { agent: target } => self.divert(now, contact, target, out),
            TransferTarget::Queue { queue } => self.requeue_transferred(now, contact, queue),
        }
        Ok(())
    }

    /// The contact `agent` is talking with; refused unless InCall.
    fn talking_contact(&self, agent: &AgentId) -> Result<ContactId, CtiError> {
        let a = self
            .agents
            .get(agent)
            .ok_or_else(|| CtiError::UnknownAgent {
                input: IN,
                agent: agent.clone(),
            })?;
        match a.state {
            AgentState::InCall { contact } => Ok(contact),
            _ => Err(CtiError::NotInCall {
                input: IN,
                agent: agent.clone(),
            }),
        }
    }

    /// The target may take a contact of this call's channel now (Idle,
    /// Available, and per-channel capacity: no call beside its chats unless
    /// `chat_during_voice`).
    fn check_target_agent(
        &self,
        from: &AgentId,
        target: &AgentId,
        contact: ContactId,
    ) -> Result<(), CtiError> {
        let t = self
            .agents
            .get(target)
            .ok_or_else(|| CtiError::UnknownAgent {
                input: IN,
                agent: target.clone(),
            })?;
        let channel = self
            .contacts
            .get(&contact)
            .map_or(Channel::Voice, |c| c.channel);
        if target == from || !self.can_offer(t, channel) {
            return Err(CtiError::AgentBusy {
                input: IN,
                agent: target.clone(),
            });
        }
        Ok(())
    }

    fn check_target_queue(&self, queue: &QueueName) -> Result<(), CtiError> {
        let Some(q) = self.cfg.queues.get(queue) else {
            return Err(CtiError::UnknownQueue {
                input: IN,
                queue: queue.clone(),
            });
        };
        if self.occupancy(queue) >= q.max_size {
            return Err(CtiError::QueueFull {
                input: IN,
                queue: queue.clone(),
            });
        }
        Ok(())
    }

    /// The transferring agent's part ends: talk time into the old queue's
    /// handling time, wrap-up; the contact is back in Routing, unanswered.
    fn release_transferring_agent(
        &mut self,
        now: Instant,
        contact: ContactId,
        agent: &AgentId,
        out: &mut Vec<Output>,
    ) {
        let wrap_up = self.record_partial(now, contact);
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.phase = ContactPhase::Routing;
            c.answered_at = None;
        }
        self.release(now, agent, contact, Some(wrap_up), out);
    }

    /// Like the clearing's handling-time record, for a contact that lives on.
    fn record_partial(&mut self, now: Instant, contact: ContactId) -> Duration {
        let Some(c) = self.contacts.get(&contact) else {
            return Duration::ZERO;
        };
        let Some(req) = c.request.as_ref() else {
            return Duration::ZERO;
        };
        let wrap_up = self
            .cfg
            .queues
            .get(&req.queue)
            .map(|q| q.wrap_up)
            .unwrap_or_default();
        let talk = c
            .answered_at
            .map(|at| now.saturating_duration_since(at))
            .unwrap_or_default();
        if let Some(q) = self.queues.get_mut(&req.queue) {
            q.record_handled(talk.saturating_add(wrap_up));
        }
        wrap_up
    }

    /// Blind to a queue: back in line at the head of its priority class.
    fn requeue_transferred(&mut self, now: Instant, contact: ContactId, queue: QueueName) {
        let max_wait = self.cfg.queues.get(&queue).and_then(|q| q.max_wait);
        let Some(c) = self.contacts.get_mut(&contact) else {
            return;
        };
        let req = c.request.get_or_insert_with(|| AgentRequest {
            queue: queue.clone(),
            skills: BTreeMap::new(),
            priority: 0,
            deadline: None,
            since: now,
            escalated: Duration::ZERO,
        });
        if req.queue != queue || req.skills.is_empty() {
            req.skills = BTreeMap::from([(Skill(queue.0.clone()), 1)]);
            req.escalated = Duration::ZERO;
        }
        req.queue = queue;
        req.deadline = max_wait.map(|w| now + w);
        let key = QueueKey::new(req.priority, self.head_seq);
        self.head_seq = self.head_seq.saturating_sub(1);
        self.enqueue(contact, key);
    }
}
