//! SoftACD and IVR inputs about a contact: CallDelivered and RouteRequest →
//! RouteSelect by DNIS (mission steps 2–3), RouteEnd and CallDiverted
//! recorded, RequestAgent into a bounded queue (step 7) with the queue
//! timeout and the no-agents policy, and ConnectionCleared at any stage
//! (steps 5 and 10) with the agent's wrap-up.

use super::config::NoAgents;
use super::contact::{AgentRequest, Contact, ContactPhase};
use super::error::{check_text, CtiError};
use super::events::{CstaEvent, Output, RejectCause, RouteTarget};
use super::queue::QueueKey;
use super::timers::Timer;
use super::types::{AgentId, Channel, ContactId, Leg, Media, QueueName, Skill};
use super::Cti;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

impl Cti {
    /// Step 2 (leg Caller, creates the contact) or step 9 (leg Agent).
    pub(super) fn call_delivered(
        &mut self,
        contact: ContactId,
        media: Media,
        leg: Leg,
    ) -> Result<(), CtiError> {
        const IN: &str = "CallDelivered";
        if leg == Leg::Caller && !self.contacts.contains_key(&contact) {
            self.new_contact(IN, contact, media.channel())?;
        }
        let event = CstaEvent::CallDelivered {
            contact,
            media,
            leg,
        };
        self.note(IN, contact, event)
    }

    pub(super) fn contact_arrived(
        &mut self,
        contact: ContactId,
        channel: Channel,
    ) -> Result<(), CtiError> {
        const IN: &str = "ContactArrived";
        if self.contacts.contains_key(&contact) {
            return Err(CtiError::ContactExists { input: IN, contact });
        }
        self.new_contact(IN, contact, channel)
    }

    /// Step 2–3: pick the IVR script from the dialed number and the trunk
    /// the call came in on ([`super::CtiConfig::flow_for`]).
    pub(super) fn route_request(
        &mut self,
        contact: ContactId,
        dnis: String,
        caller: String,
        media: Media,
        trunk: Option<String>,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        const IN: &str = "RouteRequest";
        check_text(IN, "dnis", &dnis, self.cfg.max_text)?;
        check_text(IN, "caller", &caller, self.cfg.max_text)?;
        if let Some(t) = &trunk {
            check_text(IN, "trunk", t, self.cfg.max_text)?;
        }
        if !self.contacts.contains_key(&contact) {
            self.new_contact(IN, contact, media.channel())?;
        }
        let target = match self.cfg.flow_for(trunk.as_deref(), &dnis) {
            Some(script) => RouteTarget::Ivr {
                script: script.to_owned(),
            },
            None => RouteTarget::Reject {
                cause: RejectCause::UnknownDnis,
            },
        };
        let c = self.contact_in(IN, contact, "Routing", |p| *p == ContactPhase::Routing)?;
        c.record(CstaEvent::RouteRequest {
            contact,
            dnis: dnis.clone(),
            caller: caller.clone(),
            media,
            trunk,
        });
        c.record(CstaEvent::RouteSelect {
            contact,
            target: target.clone(),
        });
        c.dnis = Some(dnis);
        c.caller = Some(caller);
        out.push(Output::RouteSelect { contact, target });
        Ok(())
    }

    /// Records an event for a known contact.
    pub(super) fn note(
        &mut self,
        input: &'static str,
        contact: ContactId,
        event: CstaEvent,
    ) -> Result<(), CtiError> {
        self.contact_in(input, contact, "any", |_| true)?
            .record(event);
        Ok(())
    }

    /// Step 7: queue the contact, or refuse it (full, no agents).
    pub(super) fn request_agent(
        &mut self,
        now: Instant,
        contact: ContactId,
        queue: QueueName,
        skills: BTreeMap<Skill, u8>,
        priority: u8,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        const IN: &str = "RequestAgent";
        self.check_skills(IN, &skills)?;
        let Some(qcfg) = self.cfg.queues.get(&queue).cloned() else {
            return Err(CtiError::UnknownQueue { input: IN, queue });
        };
        self.contact_in(IN, contact, "Routing", |p| *p == ContactPhase::Routing)?;
        if self.occupancy(&queue) >= qcfg.max_size {
            out.push(Output::QueueFull { contact, queue });
            return Ok(());
        }
        if qcfg.no_agents == NoAgents::Reject && !self.anyone_signed_in_with(&skills) {
            out.push(Output::NoAgents { contact, queue });
            return Ok(());
        }
        let request = AgentRequest {
            queue,
            skills,
            priority,
            deadline: qcfg.max_wait.map(|w| now + w),
            since: now,
            escalated: Duration::ZERO,
        };
        let key = QueueKey::new(priority, self.tail_seq);
        self.tail_seq = self.tail_seq.saturating_add(1);
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.request = Some(request);
            c.parked = None;
        }
        self.enqueue(contact, key);
        Ok(())
    }

    /// Puts a contact with a request into its queue at `key` and arms its
    /// queue timeout.
    pub(super) fn enqueue(&mut self, contact: ContactId, key: QueueKey) {
        let Some(c) = self.contacts.get_mut(&contact) else {
            return;
        };
        let Some(req) = &c.request else {
            return;
        };
        let Some(q) = self.queues.get_mut(&req.queue) else {
            return;
        };
        q.insert(key, contact);
        let line = (c.channel, req.skills.clone());
        self.index.line_insert(&line, key, contact);
        c.phase = ContactPhase::Queued(key);
        if let Some(at) = req.deadline {
            self.timers.set(Timer::QueueTimeout(contact), at);
        }
        self.arm_escalation(contact);
    }

    /// Takes a queued contact out of its queue (phase left to the caller).
    pub(super) fn dequeue(&mut self, contact: ContactId) {
        self.timers.cancel(&Timer::QueueTimeout(contact));
        self.timers.cancel(&Timer::Escalate(contact));
        let Some(c) = self.contacts.get(&contact) else {
            return;
        };
        let (ContactPhase::Queued(key), Some(req)) = (&c.phase, &c.request) else {
            return;
        };
        if let Some(q) = self.queues.get_mut(&req.queue) {
            q.remove(key);
        }
        let line = (c.channel, req.skills.clone());
        self.index.line_remove(&line, key);
    }

    /// The IVR took the contact out of its queue: back to Routing with no
    /// request, so it may ask again (an overflow queue). A contact already
    /// being diverted is refused: its agent is ringing and the call goes on.
    pub(super) fn leave_queue(&mut self, contact: ContactId) -> Result<(), CtiError> {
        const IN: &str = "LeaveQueue";
        self.contact_in(IN, contact, "Queued", |p| {
            matches!(p, ContactPhase::Queued(_))
        })?;
        let place = self.contacts.get(&contact).and_then(|c| match &c.phase {
            ContactPhase::Queued(key) => Some((*key, c.request.clone()?)),
            _ => None,
        });
        self.dequeue(contact);
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.phase = ContactPhase::Routing;
            c.request = None;
            c.parked = place;
        }
        Ok(())
    }

    /// The queue timer fired: the contact leaves the queue (the IVR says
    /// goodbye and the SoftACD clears the call).
    pub(super) fn queue_timeout(&mut self, contact: ContactId, out: &mut Vec<Output>) {
        let queued = self
            .contacts
            .get(&contact)
            .is_some_and(|c| matches!(c.phase, ContactPhase::Queued(_)));
        if !queued {
            return;
        }
        if self.callback_expired(contact, out) {
            return;
        }
        self.dequeue(contact);
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.phase = ContactPhase::Routing;
            if let Some(req) = &c.request {
                out.push(Output::QueueTimeout {
                    contact,
                    queue: req.queue.clone(),
                });
            }
        }
    }

    /// Steps 5 and 10: the contact is gone. A talking agent goes to
    /// wrap-up; an agent that never answered goes straight back to Idle.
    pub(super) fn connection_cleared(
        &mut self,
        now: Instant,
        contact: ContactId,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        const IN: &str = "ConnectionCleared";
        let phase = self.contact_in(IN, contact, "any", |_| true)?.phase.clone();
        self.dequeue(contact);
        self.undivert(contact);
        self.timers.cancel(&Timer::RingTimeout(contact));
        let removed = self.contacts.remove(&contact);
        match phase {
            ContactPhase::Routing | ContactPhase::Queued(_) => {}
            ContactPhase::Diverting(agent) => self.release(now, &agent, contact, None, out),
            ContactPhase::Connected(agent) => {
                let wrap_up = self.record_handled(now, removed.as_ref());
                self.release(now, &agent, contact, Some(wrap_up), out);
            }
        }
        Ok(())
    }

    /// The agent no longer holds `contact`. Its call: wrap-up (`Some`, after
    /// a talk) or Idle at once; a text contact leaves the state alone and
    /// gets no wrap-up.
    pub(super) fn release(
        &mut self,
        now: Instant,
        agent: &AgentId,
        contact: ContactId,
        wrap_up: Option<Duration>,
        out: &mut Vec<Output>,
    ) {
        let call = self
            .agents
            .get(agent)
            .is_some_and(|a| a.contact() == Some(contact));
        self.update_agent(agent, out, |a| {
            a.held.remove(&contact);
        });
        match (call, wrap_up) {
            (false, _) => self.text_released(now, agent, out),
            (true, Some(w)) => self.start_wrap_up(now, agent, w, out),
            (true, None) => self.agent_idle(now, agent, out),
        }
    }

    /// Adds a finished contact's talk time plus its queue's wrap-up to the
    /// queue's handling time; returns that wrap-up.
    fn record_handled(&mut self, now: Instant, contact: Option<&Contact>) -> Duration {
        let Some((c, req)) = contact.and_then(|c| Some((c, c.request.as_ref()?))) else {
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

    fn new_contact(
        &mut self,
        input: &'static str,
        contact: ContactId,
        channel: Channel,
    ) -> Result<(), CtiError> {
        if self.contacts.len() >= self.cfg.max_contacts {
            return Err(CtiError::TooManyContacts {
                input,
                limit: self.cfg.max_contacts,
            });
        }
        let c = Contact::new(contact, channel, self.cfg.max_history);
        self.contacts.insert(contact, c);
        Ok(())
    }

    /// The contact, if it exists and its phase passes `ok`.
    pub(super) fn contact_in(
        &mut self,
        input: &'static str,
        contact: ContactId,
        expected: &'static str,
        ok: impl Fn(&ContactPhase) -> bool,
    ) -> Result<&mut Contact, CtiError> {
        let c = self
            .contacts
            .get_mut(&contact)
            .ok_or(CtiError::UnknownContact { input, contact })?;
        if !ok(&c.phase) {
            return Err(CtiError::WrongPhase {
                input,
                contact,
                phase: c.phase.name(),
                expected,
            });
        }
        Ok(c)
    }

    /// Contacts of `queue` waiting or being diverted: what the size bound
    /// counts, so a failed offer can always go back in line.
    pub(super) fn occupancy(&self, queue: &QueueName) -> usize {
        self.queues
            .get(queue)
            .map_or(0, |q| q.len().saturating_add(q.diverting))
    }

    fn anyone_signed_in_with(&self, skills: &BTreeMap<Skill, u8>) -> bool {
        self.agents
            .values()
            .any(|a| a.status != super::agent::AgentStatus::LoggedOut && a.has_skills(skills))
    }
}
