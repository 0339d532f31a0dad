//! The routing index against the plain sort-and-scan pass it replaced
//! (issue 6, "routing speed"): random populations of agents holding random
//! skills at random levels, contacts asking random skill sets in queues of
//! the three strategies (one escalating: level widened, then moved), of
//! voice, video, chat and email (capacities, with and without
//! `chat_during_voice`), and
//! random desk, SoftACD and time inputs, fed to two engines — one routing
//! through the index, one with `scan_routing` — must produce the very same
//! outputs, step by step (same contacts, same order, same agents).

use super::*;
use proptest::prelude::*;

const AGENTS: u8 = 8;
const CONTACTS: u64 = 14;
const SKILL_NAMES: [&str; 3] = ["a", "b", "c"];
const QUEUES: [&str; 3] = ["idle", "rr", "fewest"];
const CHANNELS: [Channel; 4] = [
    Channel::Voice,
    Channel::Video,
    Channel::Chat,
    Channel::Email,
];

#[derive(Debug, Clone)]
enum Op {
    SignIn(u8, u8, u8),
    SignOut(u8),
    Ready(u8),
    NotReady(u8),
    Request(u64, u8, u8, u8, u8, u8),
    Ringing(u64),
    Answered(u64),
    Rejected(u64),
    Cleared(u64),
    Done(u8),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let a = 0..AGENTS;
    let c = 0..CONTACTS;
    prop_oneof![
        3 => (a.clone(), 0..8u8, 1..=10u8).prop_map(|(a, m, l)| Op::SignIn(a, m, l)),
        1 => a.clone().prop_map(Op::SignOut),
        3 => a.clone().prop_map(Op::Ready),
        2 => a.clone().prop_map(Op::NotReady),
        6 => (c.clone(), 0..3u8, 0..8u8, 1..=10u8, 0..3u8, 0..4u8)
            .prop_map(|(c, q, m, l, p, ch)| Op::Request(c, q, m, l, p, ch)),
        1 => c.clone().prop_map(Op::Ringing),
        3 => c.clone().prop_map(Op::Answered),
        2 => c.clone().prop_map(Op::Rejected),
        3 => c.prop_map(Op::Cleared),
        1 => a.prop_map(Op::Done),
        2 => (0..30u64).prop_map(Op::Advance),
    ]
}

fn config(mixed: bool) -> CtiConfig {
    let mut c = CtiConfig {
        max_contacts: CONTACTS as usize,
        max_no_answer: 2,
        chat_during_voice: mixed,
        ..cfg()
    };
    c.capacity.chat = 2;
    c.capacity.email = 3;
    let strategies = [
        RoutingStrategy::LongestIdle,
        RoutingStrategy::RoundRobin,
        RoutingStrategy::FewestContacts,
    ];
    for (name, strategy) in QUEUES.iter().zip(strategies) {
        let q = QueueConfig {
            max_size: 8,
            max_wait: Some(Duration::from_secs(90)),
            wrap_up: Duration::from_secs(4),
            strategy,
            ..QueueConfig::default()
        };
        c.queues.insert(QueueName::from(*name), q);
    }
    if let Some(q) = c.queues.get_mut(&QueueName::from("idle")) {
        q.escalate = vec![
            Escalation {
                after: Duration::from_secs(15),
                min_level: Some(2),
                queue: None,
            },
            Escalation {
                after: Duration::from_secs(35),
                min_level: None,
                queue: Some(QueueName::from("rr")),
            },
        ];
    }
    c
}

fn skill_set(mask: u8, level: u8) -> BTreeMap<Skill, u8> {
    SKILL_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(i, s)| (Skill::from(*s), (level + i as u8).min(10)))
        .collect()
}

fn agent(a: u8) -> AgentId {
    AgentId(format!("agent{a}"))
}

/// The inputs for one op (a request first makes sure its contact exists).
fn inputs(op: &Op) -> Vec<Input> {
    let c = |id: &u64| ContactId(*id);
    match op {
        Op::SignIn(a, m, l) => vec![Input::SignIn {
            agent: agent(*a),
            device: format!("sip:agent{a}@lan"),
            skills: skill_set(*m, *l),
        }],
        Op::SignOut(a) => vec![Input::SignOut { agent: agent(*a) }],
        Op::Ready(a) => vec![Input::SetReady { agent: agent(*a) }],
        Op::NotReady(a) => vec![Input::SetNotReady {
            agent: agent(*a),
            reason: "break".into(),
        }],
        Op::Done(a) => vec![Input::WrapUpDone { agent: agent(*a) }],
        Op::Request(id, q, m, l, p, ch) => vec![
            Input::ContactArrived {
                contact: c(id),
                channel: CHANNELS[usize::from(*ch)],
            },
            Input::RequestAgent {
                contact: c(id),
                queue: QueueName::from(QUEUES[usize::from(*q)]),
                skills: skill_set(*m, *l),
                priority: *p,
            },
        ],
        Op::Ringing(id) => vec![Input::AgentRinging { contact: c(id) }],
        Op::Answered(id) => vec![Input::AgentAnswered { contact: c(id) }],
        Op::Rejected(id) => vec![Input::AgentRejected { contact: c(id) }],
        Op::Cleared(id) => vec![Input::ConnectionCleared {
            contact: c(id),
            cause: ClearCause::NormalClearing,
        }],
        Op::Advance(_) => Vec::new(),
    }
}

fn run(ops: &[Op], mixed: bool) -> Result<usize, TestCaseError> {
    let t0 = Instant::now();
    let mut now = t0;
    let mut indexed = Cti::new(config(mixed));
    let mut scan = Cti::new(config(mixed));
    scan.scan_routing = true;
    let mut diverted = 0;
    for op in ops {
        let steps: Vec<Option<Input>> = match op {
            Op::Advance(s) => {
                now += Duration::from_secs(*s);
                vec![None]
            }
            _ => inputs(op).into_iter().map(Some).collect(),
        };
        for input in steps {
            let (a, b) = match input {
                Some(i) => (indexed.handle(now, i.clone()), scan.handle(now, i)),
                None => (indexed.handle_timeout(now), scan.handle_timeout(now)),
            };
            prop_assert_eq!(&a, &b, "after {:?}", op);
            prop_assert_eq!(indexed.check_invariants(), Ok(()));
            diverted += diverts(&a).len();
        }
    }
    Ok(diverted)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn indexed_routing_decides_as_the_plain_scan(
        ops in proptest::collection::vec(op(), 0..160),
        mixed in any::<bool>(),
    ) {
        run(&ops, mixed)?;
    }
}

/// The comparison above is not vacuous: a fixed busy script diverts often.
#[test]
fn the_comparison_sees_many_decisions() {
    let mut ops = Vec::new();
    for a in 0..AGENTS {
        ops.push(Op::SignIn(a, 7, 10));
    }
    for round in 0..4u64 {
        for c in 0..CONTACTS {
            let (q, m, p) = ((c % 3) as u8, (c % 8) as u8, (c % 3) as u8);
            ops.push(Op::Request(c, q, m, 1, p, (c % 4) as u8));
        }
        for c in 0..CONTACTS {
            ops.push(Op::Answered(c));
            ops.push(Op::Cleared(c));
        }
        ops.push(Op::Advance(5 + round));
    }
    let diverted = run(&ops, false).map_err(|e| e.to_string());
    assert!(diverted.as_ref().is_ok_and(|d| *d >= 24), "{diverted:?}");
}
