//! Property test of the CTI core (mission steps 2–10 plus wrap-up): random
//! sequences of desktop and SoftACD inputs — sign-in/out, ready/not-ready,
//! route and agent requests, ringing, answers, rejects, no-answers, hangups
//! at every stage — and time jumps. After every step the engine's own
//! invariants hold, the event stream agrees with the views, routing is work
//! conserving, and refused inputs change nothing. At the end, once every
//! contact is cleared and every timer has run, no agent is left holding a
//! contact and no contact remains. The three queues use the three routing
//! strategies (sales also escalates: level widened at 20 s, moved to vip at
//! 40 s); agents hold levels 3/6/9 and contacts ask 1/4/7, and every offer
//! is checked against the strategy's reference choice among the agents
//! still free after the step. Contacts come as voice calls or as chats and
//! emails (capacities chat 2, email 1, with and without `chat_during_voice`):
//! who may take what is the model's own rule (`may_take`), not the core's.

use proptest::prelude::*;
use softacd::cti::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const AGENTS: u8 = 3;
const CONTACTS: u64 = 5;

#[derive(Debug, Clone)]
enum Op {
    SignIn(u8, u8),
    SignOut(u8),
    Ready(u8),
    NotReady(u8),
    Arrive(u64),
    ArriveText(u64, bool),
    Request(u64, u8, u8, u8),
    Ringing(u64),
    Answered(u64),
    Rejected(u64),
    NoAnswer(u64),
    Cleared(u64),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let a = 0..AGENTS;
    let c = 0..CONTACTS;
    prop_oneof![
        3 => (a.clone(), 0..4u8).prop_map(|(a, m)| Op::SignIn(a, m)),
        1 => a.clone().prop_map(Op::SignOut),
        2 => a.clone().prop_map(Op::Ready),
        1 => a.prop_map(Op::NotReady),
        3 => c.clone().prop_map(Op::Arrive),
        2 => (c.clone(), any::<bool>()).prop_map(|(c, chat)| Op::ArriveText(c, chat)),
        4 => (c.clone(), 0..3u8, 0..4u8, 0..3u8)
            .prop_map(|(c, q, m, p)| Op::Request(c, q, m, p)),
        2 => c.clone().prop_map(Op::Ringing),
        3 => c.clone().prop_map(Op::Answered),
        1 => c.clone().prop_map(Op::Rejected),
        1 => c.clone().prop_map(Op::NoAnswer),
        2 => c.prop_map(Op::Cleared),
        2 => (0..40u64).prop_map(Op::Advance),
    ]
}

fn config(mixed: bool) -> CtiConfig {
    let mut cfg = CtiConfig {
        ring_timeout: Duration::from_secs(10),
        max_no_answer: 2,
        max_contacts: 4,
        chat_during_voice: mixed,
        ..CtiConfig::default()
    };
    cfg.capacity.chat = 2;
    cfg.capacity.email = 1;
    cfg.dnis_scripts.insert("100".into(), "main".into());
    let sales = QueueConfig {
        max_size: 2,
        max_wait: Some(Duration::from_secs(30)),
        wrap_up: Duration::from_secs(5),
        no_agents: NoAgents::Wait,
        ..QueueConfig::default()
    };
    let vip = QueueConfig {
        max_size: 2,
        max_wait: None,
        wrap_up: Duration::ZERO,
        no_agents: NoAgents::Reject,
        ..QueueConfig::default()
    };
    let sales = QueueConfig {
        strategy: RoutingStrategy::FewestContacts,
        escalate: vec![
            Escalation {
                after: Duration::from_secs(20),
                min_level: Some(1),
                queue: None,
            },
            Escalation {
                after: Duration::from_secs(40),
                min_level: None,
                queue: Some(QueueName::from("vip")),
            },
        ],
        ..sales
    };
    let vip = QueueConfig {
        strategy: RoutingStrategy::RoundRobin,
        ..vip
    };
    let general = QueueConfig {
        max_size: 2,
        max_wait: Some(Duration::from_secs(50)),
        ..QueueConfig::default()
    };
    cfg.queues.insert(QueueName::from("sales"), sales);
    cfg.queues.insert(QueueName::from("vip"), vip);
    cfg.queues.insert(QueueName::from("general"), general);
    cfg
}

/// Skill mask → skills at `level`: bit 0 "sales", bit 1 "fr".
fn skills(mask: u8, level: u8) -> BTreeMap<Skill, u8> {
    let mut s = BTreeMap::new();
    if mask & 1 != 0 {
        s.insert(Skill::from("sales"), level);
    }
    if mask & 2 != 0 {
        s.insert(Skill::from("fr"), level);
    }
    s
}

const QUEUES: [&str; 3] = ["sales", "vip", "general"];

fn agent(a: u8) -> AgentId {
    AgentId(format!("agent{a}"))
}

fn input(op: &Op) -> Option<Input> {
    let c = |id: &u64| ContactId(*id);
    Some(match op {
        Op::SignIn(a, m) => Input::SignIn {
            agent: agent(*a),
            device: format!("sip:agent{a}@lan"),
            skills: skills(*m, 3 * (a + 1)),
        },
        Op::SignOut(a) => Input::SignOut { agent: agent(*a) },
        Op::Ready(a) => Input::SetReady { agent: agent(*a) },
        Op::NotReady(a) => Input::SetNotReady {
            agent: agent(*a),
            reason: "break".into(),
        },
        Op::Arrive(id) => Input::RouteRequest {
            contact: c(id),
            dnis: "100".into(),
            caller: "sip:caller@net".into(),
            media: Media::Audio,
            trunk: None,
        },
        Op::Request(id, q, m, p) => Input::RequestAgent {
            contact: c(id),
            queue: QueueName::from(QUEUES[usize::from(*q) % QUEUES.len()]),
            skills: skills(*m, 1 + 3 * p),
            priority: *p,
        },
        Op::ArriveText(id, chat) => Input::ContactArrived {
            contact: c(id),
            channel: if *chat { Channel::Chat } else { Channel::Email },
        },
        Op::Ringing(id) => Input::AgentRinging { contact: c(id) },
        Op::Answered(id) => Input::AgentAnswered { contact: c(id) },
        Op::Rejected(id) => Input::AgentRejected { contact: c(id) },
        Op::NoAnswer(id) => Input::AgentNoAnswer { contact: c(id) },
        Op::Cleared(id) => Input::ConnectionCleared {
            contact: c(id),
            cause: ClearCause::NormalClearing,
        },
        Op::Advance(_) => return None,
    })
}

type Snapshot = (Vec<Agent>, Vec<Contact>);

/// The model's rule for offering a contact of `ch` to `a`: Available; a
/// call only when Idle holding nothing (or only text, if mixed); a text
/// contact below the channel's capacity, never in wrap-up, beside a call
/// only if mixed.
fn may_take(cfg: &CtiConfig, a: &Agent, ch: Channel) -> bool {
    let held = |f: &dyn Fn(Channel) -> bool| a.held.values().filter(|c| f(**c)).count() as u32;
    let calls = held(&|c| matches!(c, Channel::Voice | Channel::Video));
    let texts = held(&|c| !matches!(c, Channel::Voice | Channel::Video));
    if a.status != AgentStatus::Available {
        return false;
    }
    match ch {
        Channel::Voice | Channel::Video => {
            a.state == AgentState::Idle
                && calls == 0
                && cfg.capacity.of(ch) > 0
                && (cfg.chat_during_voice || texts == 0)
        }
        _ => {
            held(&|c| c == ch) < cfg.capacity.of(ch)
                && a.state != AgentState::WrapUp
                && (cfg.chat_during_voice || calls == 0)
        }
    }
}

fn channel_of(cti: &Cti, contact: ContactId) -> Channel {
    cti.contact(contact).map_or(Channel::Voice, |c| c.channel)
}

fn snapshot(cti: &Cti) -> Snapshot {
    (
        cti.agents().cloned().collect(),
        cti.contacts().cloned().collect(),
    )
}

/// Checks that must hold after every step.
fn check_step(cti: &Cti, before: &Snapshot, out: &[Output]) -> Result<(), TestCaseError> {
    if let Err(e) = cti.check_invariants() {
        return Err(TestCaseError::fail(e));
    }
    check_capacity(cti)?;
    if out.iter().any(|o| matches!(o, Output::Refused { .. })) {
        prop_assert_eq!(&snapshot(cti), before, "a refused input changed something");
    }
    check_event_stream(cti, before, out)?;
    check_strategies(cti, out)?;
    check_work_conserving(cti)
}

/// Each DivertCall went to a skilled agent no agent still free (hence free
/// while routing) beats under the queue's strategy: longest-idle by
/// (idle since, id), fewest-contacts by (answered, idle since, id);
/// round-robin only needs the skills (its cursor is the core's own).
fn check_strategies(cti: &Cti, out: &[Output]) -> Result<(), TestCaseError> {
    for o in out {
        let Output::DivertCall { contact, agent, .. } = o else {
            continue;
        };
        let req = cti.contact(*contact).and_then(|c| c.request.clone());
        let chosen = cti.agent(agent);
        let (Some(req), Some(chosen)) = (req, chosen) else {
            return Err(TestCaseError::fail(format!(
                "{contact} diverted to a ghost"
            )));
        };
        prop_assert!(chosen.has_skills(&req.skills), "{agent} lacks skills");
        let strategy = cti.config().queues.get(&req.queue).map(|q| q.strategy);
        let key = |a: &Agent| match strategy {
            Some(RoutingStrategy::FewestContacts) => (a.handled, a.idle_since, a.id.clone()),
            _ => (0, a.idle_since, a.id.clone()),
        };
        if strategy == Some(RoutingStrategy::RoundRobin) {
            continue;
        }
        let ch = channel_of(cti, *contact);
        let better = cti
            .agents()
            .filter(|a| may_take(cti.config(), a, ch) && a.has_skills(&req.skills))
            .find(|a| key(a) < key(chosen));
        prop_assert!(
            better.is_none(),
            "{contact} in {} went to {agent}, but {:?} was free and better",
            req.queue,
            better.map(|a| &a.id)
        );
    }
    Ok(())
}

/// The last AgentStateChanged of each agent matches the view; an agent whose
/// status or state moved emitted one; each DivertCall left its agent Reserved.
fn check_event_stream(cti: &Cti, before: &Snapshot, out: &[Output]) -> Result<(), TestCaseError> {
    let mut last = BTreeMap::new();
    for o in out {
        if let Output::AgentStateChanged {
            agent,
            status,
            state,
        } = o
        {
            last.insert(agent.clone(), (status.clone(), state.clone()));
        }
        if let Output::DivertCall { contact, agent, .. } = o {
            let a = cti.agent(agent);
            prop_assert!(a.is_some_and(|a| a.held.contains_key(contact)));
            if matches!(channel_of(cti, *contact), Channel::Voice | Channel::Video) {
                let state = a.map(|a| a.state.clone());
                prop_assert_eq!(state, Some(AgentState::Reserved { contact: *contact }));
            }
        }
    }
    for (id, (status, state)) in &last {
        match cti.agent(id) {
            Some(a) => prop_assert_eq!((&a.status, &a.state), (status, state)),
            None => prop_assert_eq!(
                (status, state),
                (&AgentStatus::LoggedOut, &AgentState::Idle)
            ),
        }
    }
    for old in &before.0 {
        let moved = cti
            .agent(&old.id)
            .is_none_or(|a| a.status != old.status || a.state != old.state);
        prop_assert!(
            !moved || last.contains_key(&old.id),
            "{} changed silently",
            old.id
        );
    }
    Ok(())
}

/// The model's bounds: per channel at most its capacity, at most one
/// call, and a call beside text contacts only if mixed.
fn check_capacity(cti: &Cti) -> Result<(), TestCaseError> {
    let cfg = cti.config();
    for a in cti.agents() {
        for ch in Channel::ALL {
            let n = a.held.values().filter(|c| **c == ch).count() as u32;
            prop_assert!(n <= cfg.capacity.of(ch), "{} over capacity on {ch:?}", a.id);
        }
        let calls = a.held.values().filter(|c| c.is_call()).count();
        let texts = a.held.len() - calls;
        prop_assert!(calls <= 1, "{} holds {calls} calls", a.id);
        prop_assert!(
            cfg.chat_during_voice || calls == 0 || texts == 0,
            "{} mixes",
            a.id
        );
    }
    Ok(())
}

/// No queued contact is left waiting while a free agent could take it.
fn check_work_conserving(cti: &Cti) -> Result<(), TestCaseError> {
    for c in cti.contacts() {
        if !matches!(c.phase, ContactPhase::Queued(_)) {
            continue;
        }
        let Some(req) = &c.request else {
            return Err(TestCaseError::fail(format!(
                "{} queued without request",
                c.id
            )));
        };
        let idle_match = cti
            .agents()
            .any(|a| may_take(cti.config(), a, c.channel) && a.has_skills(&req.skills));
        prop_assert!(!idle_match, "{} waits beside a free skilled agent", c.id);
    }
    Ok(())
}

fn run(ops: Vec<Op>, mixed: bool) -> Result<(), TestCaseError> {
    let mut now = Instant::now();
    let mut cti = Cti::new(config(mixed));
    for op in &ops {
        let before = snapshot(&cti);
        let out = match (op, input(op)) {
            (Op::Advance(s), _) => {
                now += Duration::from_secs(*s);
                cti.handle_timeout(now)
            }
            (_, Some(inp)) => cti.handle(now, inp),
            (_, None) => Vec::new(),
        };
        check_step(&cti, &before, &out)?;
    }
    for id in 0..CONTACTS {
        let before = snapshot(&cti);
        let cause = ClearCause::NormalClearing;
        let out = cti.handle(
            now,
            Input::ConnectionCleared {
                contact: ContactId(id),
                cause,
            },
        );
        check_step(&cti, &before, &out)?;
    }
    for _ in 0..100 {
        let Some(at) = cti.poll_timeout() else { break };
        now = now.max(at);
        let before = snapshot(&cti);
        let out = cti.handle_timeout(now);
        check_step(&cti, &before, &out)?;
    }
    prop_assert_eq!(cti.poll_timeout(), None);
    prop_assert_eq!(cti.contacts().count(), 0);
    prop_assert!(cti.queues().all(|(_, q)| q.is_empty()));
    for a in cti.agents() {
        prop_assert_eq!(&a.state, &AgentState::Idle, "{} left busy", a.id);
        prop_assert!(a.load().is_empty(), "{} left holding {:?}", a.id, a.load());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn cti_keeps_its_invariants_and_drains(
        ops in proptest::collection::vec(op(), 0..120),
        mixed in any::<bool>(),
    ) {
        run(ops, mixed)?;
    }
}
