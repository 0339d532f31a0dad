//! Scenario unit tests of the CTI core, one rule per test, with injected
//! time (a base `Instant` plus offsets; no sleeps). Helpers live here; the
//! tests are split by mission step: `routing` (steps 2–3, 7–8), `offer`
//! (steps 8–9 outcomes), `clearing` (steps 5, 10, wrap-up, sign-out),
//! `refusals` (bad input and bounds), `index` (the routing index against
//! the plain scan), `capacity` (per-channel capacity).

mod callback;
mod capacity;
mod clearing;
mod estimate;
mod index;
mod offer;
mod refusals;
mod routing;
mod service;
mod strategies;
mod transfer;
mod trunks;

use super::*;
use std::time::Duration;

pub(super) fn cfg() -> CtiConfig {
    let mut cfg = CtiConfig {
        ring_timeout: Duration::from_secs(20),
        max_no_answer: 2,
        ..CtiConfig::default()
    };
    cfg.dnis_scripts.insert("8000".into(), "welcome".into());
    cfg.queues.insert(
        QueueName::from("sales"),
        QueueConfig {
            max_size: 3,
            max_wait: Some(Duration::from_secs(60)),
            wrap_up: Duration::from_secs(5),
            no_agents: NoAgents::Wait,
            ..QueueConfig::default()
        },
    );
    cfg.queues.insert(
        QueueName::from("vip"),
        QueueConfig {
            max_size: 10,
            max_wait: None,
            wrap_up: Duration::ZERO,
            no_agents: NoAgents::Reject,
            ..QueueConfig::default()
        },
    );
    cfg
}

pub(super) fn secs(t0: Instant, s: u64) -> Instant {
    t0 + Duration::from_secs(s)
}

pub(super) fn skills(v: &[(&str, u8)]) -> BTreeMap<Skill, u8> {
    v.iter().map(|(s, l)| (Skill::from(*s), *l)).collect()
}

/// Handles and asserts the invariants still hold.
pub(super) fn step(cti: &mut Cti, now: Instant, input: Input) -> Vec<Output> {
    let out = cti.handle(now, input);
    assert_eq!(cti.check_invariants(), Ok(()));
    out
}

pub(super) fn tick(cti: &mut Cti, now: Instant) -> Vec<Output> {
    let out = cti.handle_timeout(now);
    assert_eq!(cti.check_invariants(), Ok(()));
    out
}

pub(super) fn sign_in(cti: &mut Cti, now: Instant, agent: &str, sk: &[(&str, u8)]) -> Vec<Output> {
    let input = Input::SignIn {
        agent: AgentId::from(agent),
        device: format!("sip:{agent}@pbx.example"),
        skills: skills(sk),
    };
    step(cti, now, input)
}

/// Steps 2–3 for contact `id`: CallDelivered, RouteRequest, RouteEnd.
pub(super) fn arrive(cti: &mut Cti, now: Instant, id: u64) -> Vec<Output> {
    let contact = ContactId(id);
    let media = Media::Audio;
    let mut out = step(
        cti,
        now,
        Input::CallDelivered {
            contact,
            media,
            leg: Leg::Caller,
        },
    );
    let rr = Input::RouteRequest {
        contact,
        dnis: "8000".into(),
        caller: "sip:bob@example.com".into(),
        media,
        trunk: None,
    };
    out.extend(step(cti, now, rr));
    out.extend(step(cti, now, Input::RouteEnd { contact }));
    out
}

/// Step 7 for contact `id`.
pub(super) fn request(
    cti: &mut Cti,
    now: Instant,
    id: u64,
    queue: &str,
    sk: &[(&str, u8)],
    priority: u8,
) -> Vec<Output> {
    let input = Input::RequestAgent {
        contact: ContactId(id),
        queue: QueueName::from(queue),
        skills: skills(sk),
        priority,
    };
    step(cti, now, input)
}

/// `arrive` then `request` into "sales" needing sales≥1.
pub(super) fn queue_call(cti: &mut Cti, now: Instant, id: u64, priority: u8) -> Vec<Output> {
    arrive(cti, now, id);
    request(cti, now, id, "sales", &[("sales", 1)], priority)
}

/// (contact, agent) of every DivertCall.
pub(super) fn diverts(out: &[Output]) -> Vec<(u64, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::DivertCall { contact, agent, .. } => Some((contact.0, agent.0.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn state_of(cti: &Cti, agent: &str) -> Option<AgentState> {
    cti.agent(&AgentId::from(agent)).map(|a| a.state.clone())
}

pub(super) fn status_of(cti: &Cti, agent: &str) -> Option<AgentStatus> {
    cti.agent(&AgentId::from(agent)).map(|a| a.status.clone())
}

pub(super) fn phase_of(cti: &Cti, id: u64) -> Option<ContactPhase> {
    cti.contact(ContactId(id)).map(|c| c.phase.clone())
}

pub(super) fn refused(out: &[Output]) -> Option<&CtiError> {
    out.iter().find_map(|o| match o {
        Output::Refused { error } => Some(error),
        _ => None,
    })
}

pub(super) fn queued(cti: &Cti, queue: &str) -> Vec<u64> {
    cti.queues()
        .find(|(n, _)| n.0 == queue)
        .map(|(_, q)| q.waiting().map(|(_, c)| c.0).collect())
        .unwrap_or_default()
}
