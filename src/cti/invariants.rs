//! The CTI's invariants, checked by the unit and property tests after every
//! step: agent and contact point at each other exactly when the agent is
//! Reserved, Ringing or InCall; a contact is queued or assigned, never both;
//! every wait, ring and wrap-up has its timer and no timer is stale; nothing
//! exceeds its bound; no agent holds more contacts of a channel than its
//! capacity, more than one call, or a call beside text contacts unless
//! `chat_during_voice`.

use super::agent::{Agent, AgentState, AgentStatus};
use super::contact::ContactPhase;
use super::timers::Timer;
use super::types::{AgentId, ContactId};
use super::Cti;

impl Cti {
    /// `Err` describes the first broken invariant.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_agents()?;
        self.check_contacts()?;
        self.check_queues()?;
        self.check_timers()?;
        self.check_bounds()
    }

    fn check_agents(&self) -> Result<(), String> {
        for (id, a) in &self.agents {
            if &a.id != id {
                return Err(format!("{id} filed under the wrong key"));
            }
            if a.status == AgentStatus::LoggedOut && a.held.is_empty() {
                return Err(format!("{id} signed out but still present while free"));
            }
            self.check_load(id, a)?;
            let wrap_timer = self.timers.get(&Timer::WrapUp(id.clone()));
            let wrapping = a.state == AgentState::WrapUp;
            if wrapping != wrap_timer.is_some() || wrapping != a.wrap_up_until.is_some() {
                return Err(format!("{id}: wrap-up without deadline or the reverse"));
            }
            let Some(cid) = a.contact() else { continue };
            let phase = self.contacts.get(&cid).map(|c| &c.phase);
            let back = match (&a.state, phase) {
                (AgentState::Reserved { .. }, Some(ContactPhase::Diverting(x)))
                | (AgentState::Ringing { .. }, Some(ContactPhase::Diverting(x)))
                | (AgentState::InCall { .. }, Some(ContactPhase::Connected(x))) => x == id,
                _ => false,
            };
            if !back {
                return Err(format!("{id} holds {cid} but {cid} is {phase:?}"));
            }
        }
        Ok(())
    }

    /// Capacity per channel; one call at most, the one the state names; a
    /// call beside text only if allowed; each held contact assigned back.
    fn check_load(&self, id: &AgentId, a: &Agent) -> Result<(), String> {
        let cap = &self.cfg.capacity;
        for (ch, n) in a.load() {
            if n > cap.of(ch) {
                return Err(format!("{id} holds {n} {ch:?} > capacity {}", cap.of(ch)));
            }
        }
        let calls: Vec<ContactId> = a
            .held
            .iter()
            .filter(|(_, c)| c.is_call())
            .map(|(k, _)| *k)
            .collect();
        if calls.len() > 1 || calls.first().copied() != a.contact() {
            return Err(format!(
                "{id} holds calls {calls:?} but its state is {:?}",
                a.state
            ));
        }
        let text = a.held.values().any(|c| !c.is_call());
        if text && !calls.is_empty() && !self.cfg.chat_during_voice {
            return Err(format!("{id} holds a call and text contacts"));
        }
        for (cid, ch) in &a.held {
            let back = self.contacts.get(cid).filter(|c| c.channel == *ch);
            if back.and_then(|c| c.phase.agent()) != Some(id) {
                return Err(format!(
                    "{id} holds {cid} ({ch:?}) which is not assigned to it"
                ));
            }
        }
        Ok(())
    }

    fn check_contacts(&self) -> Result<(), String> {
        for (cid, c) in &self.contacts {
            if &c.id != cid {
                return Err(format!("{cid} filed under the wrong key"));
            }
            if let Some(agent) = c.phase.agent() {
                let holds = self.agents.get(agent).and_then(|a| a.held.get(cid));
                if holds != Some(&c.channel) {
                    return Err(format!(
                        "{cid} assigned to {agent} which holds it as {holds:?}"
                    ));
                }
                if matches!(c.phase, ContactPhase::Diverting(_))
                    && self.timers.get(&Timer::RingTimeout(*cid)).is_none()
                {
                    return Err(format!("{cid} diverting without a ring timer"));
                }
            }
            if let ContactPhase::Queued(key) = &c.phase {
                let queue = c.request.as_ref().map(|r| &r.queue);
                let listed = queue
                    .and_then(|q| self.queues.get(q))
                    .is_some_and(|q| q.waiting().any(|(k, x)| k == key && x == cid));
                if !listed {
                    return Err(format!("{cid} queued but not in {queue:?}"));
                }
                let deadline = c.request.as_ref().and_then(|r| r.deadline);
                if deadline != self.timers.get(&Timer::QueueTimeout(*cid)) {
                    return Err(format!("{cid} queue timer differs from its deadline"));
                }
                let step = c.request.as_ref().and_then(|r| self.next_escalation(r));
                if step.map(|(at, _)| at) != self.timers.get(&Timer::Escalate(*cid)) {
                    return Err(format!("{cid} escalation timer differs from its next step"));
                }
            }
        }
        Ok(())
    }

    fn check_queues(&self) -> Result<(), String> {
        for (name, q) in &self.queues {
            let diverting = self
                .contacts
                .values()
                .filter(|c| matches!(c.phase, ContactPhase::Diverting(_)))
                .filter(|c| c.request.as_ref().is_some_and(|r| &r.queue == name))
                .count();
            if q.diverting != diverting {
                return Err(format!(
                    "{name} counts {} diverting, not {diverting}",
                    q.diverting
                ));
            }
            for (key, cid) in q.waiting() {
                let ok = self.contacts.get(cid).is_some_and(|c| {
                    c.phase == ContactPhase::Queued(*key)
                        && c.request.as_ref().is_some_and(|r| &r.queue == name)
                });
                if !ok {
                    return Err(format!("{name} lists {cid}, which is not queued there"));
                }
            }
        }
        Ok(())
    }

    fn check_timers(&self) -> Result<(), String> {
        for (timer, _) in self.timers.iter() {
            let live = match timer {
                Timer::QueueTimeout(c) => self
                    .contacts
                    .get(c)
                    .is_some_and(|c| matches!(c.phase, ContactPhase::Queued(_))),
                Timer::Escalate(c) => self
                    .contacts
                    .get(c)
                    .is_some_and(|c| matches!(c.phase, ContactPhase::Queued(_))),
                Timer::RingTimeout(c) => self
                    .contacts
                    .get(c)
                    .is_some_and(|c| matches!(c.phase, ContactPhase::Diverting(_))),
                Timer::WrapUp(a) => self
                    .agents
                    .get(a)
                    .is_some_and(|a| a.state == AgentState::WrapUp),
            };
            if !live {
                return Err(format!("stale timer {timer:?}"));
            }
        }
        Ok(())
    }

    fn check_bounds(&self) -> Result<(), String> {
        if self.agents.len() > self.cfg.max_agents {
            return Err(format!(
                "{} agents > {}",
                self.agents.len(),
                self.cfg.max_agents
            ));
        }
        if self.contacts.len() > self.cfg.max_contacts {
            return Err(format!(
                "{} contacts > {}",
                self.contacts.len(),
                self.cfg.max_contacts
            ));
        }
        if let Some(c) = self
            .contacts
            .values()
            .find(|c| c.history_len() > self.cfg.max_history)
        {
            return Err(format!("{} history over bound", c.id));
        }
        for (name, q) in &self.queues {
            let max = self.cfg.queues.get(name).map_or(0, |c| c.max_size);
            if q.len() > max {
                return Err(format!("{name} holds {} > {max}", q.len()));
            }
        }
        if self.queues.len() != self.cfg.queues.len() {
            return Err("queues differ from configuration".into());
        }
        Ok(())
    }
}
