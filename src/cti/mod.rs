//! The CTI core: one queue-and-routing engine for every contact (MISSION.md
//! "CTI"; call-flow steps 2, 3, 7, 8, 9 and the wrap-up after step 10). A pure
//! state machine in the DESIGN.md "Pure cores" shape: feed it
//! [`Cti::handle`]`(now, input)`, act on the returned [`Output`]s, ask
//! [`Cti::poll_timeout`] for the next deadline and call
//! [`Cti::handle_timeout`] once it passes. No clock, no IO, no SIP.
//!
//! Layout: `types` (ids), `config`, `error`, `events` (the CSTA vocabulary,
//! [`Input`], [`Output`]), `agent` (status vs state), `contact`, `queue`,
//! `timers`, and the rules: `desk` (agent desktop inputs, interface A),
//! `call` (SoftACD inputs, steps 2–3, 7, clearing), `transfer` (the desk's
//! blind transfer to an agent or a queue), `routing` (longest-idle
//! selection and the step 8–9 offer outcomes), `index` (waiting lines per
//! skill set and free agents per skill, so a decision does not sort or
//! scan everything), `callback` (a caller's
//! place in line kept for a call back), `invariants`; `report` and
//! `window` count each queue's service figures over the last hour.

mod agent;
mod call;
mod callback;
mod config;
mod contact;
mod desk;
mod error;
mod escalate;
mod events;
mod index;
mod invariants;
pub mod journal;
mod queue;
mod report;
mod routing;
mod stats;
mod strategy;
mod timers;
mod transfer;
mod types;
mod window;

#[cfg(test)]
mod tests;

pub use agent::{Agent, AgentState, AgentStatus};
pub use callback::{valid_number, CallbackInfo};
pub use config::{
    Capacity, CtiConfig, Escalation, NoAgents, QueueConfig, RoutingStrategy, TrunkRoutes,
    SKILL_LEVELS,
};
pub use contact::{AgentRequest, Contact, ContactPhase};
pub use error::CtiError;
pub use events::{ClearCause, CstaEvent, Input, Output, RejectCause, RouteTarget, TransferTarget};
pub use queue::{Queue, QueueKey};
pub use report::{QueueHistory, QueueStats, ServiceReport, WaitEstimate};
pub use stats::{estimated_wait, HandlingTime};
pub use timers::{Timer, TimerTable};
pub use types::{AgentId, Channel, ContactId, Leg, Media, QueueName, Skill};
pub use window::{Counts, Minute, Thresholds, WINDOW_MINUTES};

use std::collections::BTreeMap;
use std::time::Instant;

/// The CTI engine. See the module doc for the driving loop.
#[derive(Debug, Clone)]
pub struct Cti {
    cfg: CtiConfig,
    agents: BTreeMap<AgentId, Agent>,
    contacts: BTreeMap<ContactId, Contact>,
    queues: BTreeMap<QueueName, Queue>,
    timers: TimerTable,
    /// Next sequence for a tail insert (counts up).
    tail_seq: i64,
    /// Next sequence for a head insert (counts down from -1).
    head_seq: i64,
    /// Waiting lines and free agents, kept in step with the maps above.
    index: index::RouteIndex,
    /// Route with the plain sort-and-scan pass instead of the index (the
    /// reference the index is tested against).
    #[cfg(test)]
    scan_routing: bool,
    /// Service figures per queue over the last hour (`report`).
    report: report::ServiceReport,
}

impl Cti {
    pub fn new(cfg: CtiConfig) -> Self {
        let queues = cfg
            .queues
            .iter()
            .map(|(name, q)| (name.clone(), Queue::new(q.default_aht)))
            .collect();
        Cti {
            cfg,
            agents: BTreeMap::new(),
            contacts: BTreeMap::new(),
            queues,
            timers: TimerTable::default(),
            tail_seq: 0,
            head_seq: -1,
            index: index::RouteIndex::default(),
            #[cfg(test)]
            scan_routing: false,
            report: report::ServiceReport::default(),
        }
    }

    /// Applies one input, then offers waiting contacts to free agents.
    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        let probe = self.probe(report::input_contact(&input));
        if let Err(error) = self.apply(now, input, &mut out) {
            out.push(Output::Refused { error });
        }
        self.route(now, &mut out);
        self.observe(now, probe);
        out
    }

    /// The earliest deadline at which [`Cti::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Fires every timer due at `now`, then routes.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(timer) = self.timers.pop_due(now) {
            let probe = self.probe(report::timer_contact(&timer));
            self.fire(now, timer, &mut out);
            self.observe(now, probe);
        }
        self.route(now, &mut out);
        self.observe(now, None);
        out
    }

    /// Signed-in agents (including those with a pending sign-out).
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.get(id)
    }

    /// Configured queues and who waits in them.
    pub fn queues(&self) -> impl Iterator<Item = (&QueueName, &Queue)> {
        self.queues.iter()
    }

    pub fn contact(&self, id: ContactId) -> Option<&Contact> {
        self.contacts.get(&id)
    }

    /// A waiting contact's 1-based place in its queue (for the IVR's
    /// position announcements); `None` unless it is waiting.
    pub fn queue_position(&self, id: ContactId) -> Option<usize> {
        let c = self.contacts.get(&id)?;
        let req = c.request.as_ref()?;
        if !matches!(c.phase, ContactPhase::Queued(_)) {
            return None;
        }
        self.queues.get(&req.queue)?.position(id)
    }

    /// Every live contact.
    pub fn contacts(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.values()
    }

    pub fn config(&self) -> &CtiConfig {
        &self.cfg
    }

    /// Whether a contact of `channel` may be offered to `agent` now
    /// (status, state and per-channel capacity; skills aside).
    pub fn can_offer(&self, agent: &Agent, channel: Channel) -> bool {
        agent.can_take(channel, &self.cfg.capacity, self.cfg.chat_during_voice)
    }

    fn apply(&mut self, now: Instant, input: Input, out: &mut Vec<Output>) -> Result<(), CtiError> {
        let name = input.name();
        match input {
            Input::SignIn {
                agent,
                device,
                skills,
            } => self.sign_in(now, agent, device, skills, out),
            Input::SignOut { agent } => self.sign_out(now, &agent, out),
            Input::SetReady { agent } => self.set_ready(&agent, out),
            Input::SetNotReady { agent, reason } => self.set_not_ready(&agent, reason, out),
            Input::WrapUpDone { agent } => self.wrap_up_done(now, &agent, out),
            Input::Transfer { agent, to } => self.transfer(now, &agent, to, out),
            Input::CallDelivered {
                contact,
                media,
                leg,
            } => self.call_delivered(contact, media, leg),
            Input::ContactArrived { contact, channel } => self.contact_arrived(contact, channel),
            Input::RouteRequest {
                contact,
                dnis,
                caller,
                media,
                trunk,
            } => self.route_request(contact, dnis, caller, media, trunk, out),
            Input::RouteEnd { contact } => {
                self.note(name, contact, CstaEvent::RouteEnd { contact })
            }
            Input::CallDiverted { contact } => {
                self.note(name, contact, CstaEvent::CallDiverted { contact })
            }
            Input::RequestAgent {
                contact,
                queue,
                skills,
                priority,
            } => self.request_agent(now, contact, queue, skills, priority, out),
            Input::LeaveQueue { contact } => self.leave_queue(contact),
            Input::RequestCallback {
                contact,
                callback,
                number,
            } => self.request_callback(now, contact, callback, number, out),
            Input::AgentRinging { contact } => self.agent_ringing(contact, out),
            Input::AgentAnswered { contact } => self.agent_answered(now, contact, out),
            Input::AgentRejected { contact } | Input::AgentNoAnswer { contact } => {
                self.offer_failed(now, name, contact, out)
            }
            // The cause belongs in the SoftACD's CDR; the CTI only forgets
            // the contact and frees its agent.
            Input::ConnectionCleared { contact, cause: _ } => {
                self.connection_cleared(now, contact, out)
            }
        }
    }

    fn fire(&mut self, now: Instant, timer: Timer, out: &mut Vec<Output>) {
        match timer {
            Timer::QueueTimeout(contact) => self.queue_timeout(contact, out),
            Timer::RingTimeout(contact) => self.ring_timeout(now, contact, out),
            Timer::WrapUp(agent) => self.wrap_up_over(now, &agent, out),
            Timer::Escalate(contact) => self.escalate(contact),
        }
    }
}
