//! Routing decisions per second (issue 6 benchmark): 10,000 agents holding
//! 3 of 50 skills (levels 1–10), 100,000 contacts waiting in 10 queues each
//! asking one skill at level 1–5, every agent on break. One iteration is one
//! routing decision: an agent turns ready and is offered the first waiting
//! contact it can serve (SetReady → DivertCall), then goes on break and
//! rejects it (SetNotReady, AgentRejected), which puts the contact back at
//! the head of its line, so every iteration starts from the same state.
//! Time is injected; deterministic pseudo-random skills (xorshift, fixed seed).

use criterion::{criterion_group, criterion_main, Criterion};
use softacd::cti::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const AGENTS: usize = 10_000;
const SKILLS: u64 = 50;
const CONTACTS: u64 = 100_000;
const QUEUES: u64 = 10;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn skill(i: u64) -> Skill {
    Skill(format!("s{i}"))
}

fn loaded() -> (Cti, Instant, Vec<AgentId>) {
    let mut cfg = CtiConfig {
        max_agents: AGENTS,
        max_contacts: CONTACTS as usize,
        max_no_answer: 0,
        ..CtiConfig::default()
    };
    for q in 0..QUEUES {
        let qc = QueueConfig {
            max_size: CONTACTS as usize,
            max_wait: None,
            ..QueueConfig::default()
        };
        cfg.queues.insert(QueueName(format!("q{q}")), qc);
    }
    let mut cti = Cti::new(cfg);
    let t0 = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut ids = Vec::new();
    for a in 0..AGENTS {
        let agent = AgentId(format!("a{a:05}"));
        let skills: BTreeMap<Skill, u8> = (0..3)
            .map(|_| (skill(rng.below(SKILLS)), 1 + rng.below(10) as u8))
            .collect();
        let device = format!("sip:{}@lan", agent.0);
        cti.handle(
            t0,
            Input::SignIn {
                agent: agent.clone(),
                device,
                skills,
            },
        );
        let reason = "break".to_owned();
        cti.handle(
            t0,
            Input::SetNotReady {
                agent: agent.clone(),
                reason,
            },
        );
        ids.push(agent);
    }
    for c in 0..CONTACTS {
        let contact = ContactId(c);
        cti.handle(
            t0,
            Input::ContactArrived {
                contact,
                channel: Channel::Chat,
            },
        );
        let skills = [(skill(rng.below(SKILLS)), 1 + rng.below(5) as u8)].into();
        let queue = QueueName(format!("q{}", c % QUEUES));
        let priority = rng.below(3) as u8;
        cti.handle(
            t0,
            Input::RequestAgent {
                contact,
                queue,
                skills,
                priority,
            },
        );
    }
    (cti, t0, ids)
}

fn routing(c: &mut Criterion) {
    let (mut cti, t0, ids) = loaded();
    let waiting: usize = cti.queues().map(|(_, q)| q.len()).sum();
    assert_eq!(waiting, CONTACTS as usize, "every contact waits");
    let mut next = 0usize;
    let now = t0 + Duration::from_secs(1);
    c.bench_function("route: 10k agents, 50 skills, 100k waiting", |b| {
        b.iter(|| {
            let agent = ids[next % ids.len()].clone();
            next += 1;
            let out = cti.handle(
                now,
                Input::SetReady {
                    agent: agent.clone(),
                },
            );
            let Some(contact) = out.iter().find_map(|o| match o {
                Output::DivertCall { contact, .. } => Some(*contact),
                _ => None,
            }) else {
                panic!("{} was offered nothing", agent.0);
            };
            let reason = "break".to_owned();
            cti.handle(now, Input::SetNotReady { agent, reason });
            cti.handle(now, Input::AgentRejected { contact });
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(10));
    targets = routing
}
criterion_main!(benches);
