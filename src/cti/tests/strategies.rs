//! Issue 6 routing rules per queue, with injected time: the round-robin and
//! fewest-contacts strategies, skill levels 1–10 on agents, and time-based
//! escalation (widen the level, then move to another queue).

use super::*;

fn with_queue(name: &str, change: impl FnOnce(&mut QueueConfig)) -> CtiConfig {
    let mut c = cfg();
    let mut q = QueueConfig {
        max_size: 10,
        max_wait: None,
        wrap_up: Duration::ZERO,
        ..QueueConfig::default()
    };
    change(&mut q);
    c.queues.insert(QueueName::from(name), q);
    c
}

/// A call into `queue` asking sales≥`level`, answered and hung up at once.
fn served(cti: &mut Cti, now: Instant, id: u64, queue: &str) -> Vec<(u64, String)> {
    arrive(cti, now, id);
    let out = request(cti, now, id, queue, &[("sales", 1)], 0);
    let contact = ContactId(id);
    step(cti, now, Input::AgentAnswered { contact });
    let cause = ClearCause::NormalClearing;
    step(cti, now, Input::ConnectionCleared { contact, cause });
    diverts(&out)
}

#[test]
fn round_robin_offers_each_agent_in_turn_whoever_idled_longest() {
    let t0 = Instant::now();
    let mut cti = Cti::new(with_queue("rr", |q| {
        q.strategy = RoutingStrategy::RoundRobin
    }));
    for a in ["c", "a", "b"] {
        sign_in(&mut cti, t0, a, &[("sales", 1)]);
    }
    let order: Vec<String> = (1..=4)
        .flat_map(|i| served(&mut cti, secs(t0, i), i, "rr"))
        .map(|(_, a)| a)
        .collect();
    assert_eq!(order, ["a", "b", "c", "a"]);
}

#[test]
fn fewest_contacts_prefers_the_agent_who_answered_least() {
    let t0 = Instant::now();
    let few = with_queue("few", |q| q.strategy = RoutingStrategy::FewestContacts);
    let mut cti = Cti::new(few);
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    // a answers two alone, then b signs in
    assert_eq!(served(&mut cti, secs(t0, 1), 1, "few"), [(1, "a".into())]);
    assert_eq!(served(&mut cti, secs(t0, 2), 2, "few"), [(2, "a".into())]);
    sign_in(&mut cti, secs(t0, 3), "b", &[("sales", 1)]);
    // a has idled since 2 s, b since 3 s: longest idle would pick a
    assert_eq!(served(&mut cti, secs(t0, 9), 3, "few"), [(3, "b".into())]);
    assert_eq!(served(&mut cti, secs(t0, 9), 4, "few"), [(4, "b".into())]);
    assert_eq!(served(&mut cti, secs(t0, 9), 5, "few"), [(5, "a".into())]);
}

#[test]
fn agent_skill_levels_outside_one_to_ten_are_refused() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    for bad in [0, 11] {
        let out = sign_in(&mut cti, t0, "a", &[("sales", bad)]);
        let err = refused(&out).map(ToString::to_string);
        assert_eq!(
            err.as_deref(),
            Some(format!("SignIn: skill \"sales\" at level {bad}, outside 1..=10").as_str())
        );
        assert!(cti.agent(&AgentId::from("a")).is_none());
    }
    sign_in(&mut cti, t0, "a", &[("sales", 10), ("fr", 1)]);
    assert!(cti.agent(&AgentId::from("a")).is_some());
}

fn escalating() -> CtiConfig {
    let mut c = with_queue("senior", |q| {
        q.escalate = vec![
            Escalation {
                after: Duration::from_secs(30),
                min_level: Some(3),
                queue: None,
            },
            Escalation {
                after: Duration::from_secs(60),
                min_level: None,
                queue: Some(QueueName::from("vip")),
            },
        ];
    });
    if let Some(vip) = c.queues.get_mut(&QueueName::from("vip")) {
        vip.strategy = RoutingStrategy::RoundRobin;
        vip.no_agents = NoAgents::Wait;
    }
    c
}

#[test]
fn after_30_s_the_required_level_widens_to_the_step_level() {
    let t0 = Instant::now();
    let mut cti = Cti::new(escalating());
    sign_in(&mut cti, t0, "junior", &[("sales", 3)]);
    arrive(&mut cti, t0, 1);
    request(&mut cti, t0, 1, "senior", &[("sales", 8), ("fr", 1)], 0);
    assert_eq!(cti.poll_timeout(), Some(secs(t0, 30)));
    assert!(diverts(&tick(&mut cti, secs(t0, 29))).is_empty());
    let out = tick(&mut cti, secs(t0, 30));
    assert!(diverts(&out).is_empty(), "junior lacks fr");
    let req = cti.contact(ContactId(1)).and_then(|c| c.request.clone());
    assert_eq!(
        req.map(|r| r.skills),
        Some(skills(&[("sales", 3), ("fr", 1)]))
    );
    // a French speaker at level 1 can now take it
    let out = sign_in(&mut cti, secs(t0, 31), "fr", &[("sales", 3), ("fr", 1)]);
    assert_eq!(diverts(&out), [(1, "fr".into())]);
}

#[test]
fn after_60_s_the_contact_moves_to_the_other_queue_keeping_its_place() {
    let t0 = Instant::now();
    let mut cti = Cti::new(escalating());
    arrive(&mut cti, t0, 1);
    request(&mut cti, t0, 1, "senior", &[("sales", 8)], 0);
    arrive(&mut cti, secs(t0, 10), 2);
    request(&mut cti, secs(t0, 10), 2, "vip", &[("sales", 1)], 0);
    tick(&mut cti, secs(t0, 30));
    assert_eq!(cti.poll_timeout(), Some(secs(t0, 60)));
    tick(&mut cti, secs(t0, 60));
    assert_eq!(queued(&cti, "senior"), Vec::<u64>::new());
    assert_eq!(queued(&cti, "vip"), vec![1, 2], "1 asked first");
    assert_eq!(
        cti.poll_timeout(),
        None,
        "no step left, vip has no max wait"
    );
    let out = sign_in(&mut cti, secs(t0, 61), "a", &[("sales", 3)]);
    assert_eq!(diverts(&out), [(1, "a".into())]);
}

#[test]
fn a_requeued_contact_keeps_its_escalation_clock() {
    let t0 = Instant::now();
    let mut cti = Cti::new(escalating());
    sign_in(&mut cti, t0, "a", &[("sales", 9)]);
    arrive(&mut cti, t0, 1);
    request(&mut cti, t0, 1, "senior", &[("sales", 8)], 0);
    let contact = ContactId(1);
    step(&mut cti, secs(t0, 5), Input::AgentRejected { contact });
    // a was made free again and is offered the contact again at once
    assert_eq!(
        phase_of(&cti, 1),
        Some(ContactPhase::Diverting(AgentId::from("a")))
    );
    step(&mut cti, secs(t0, 6), Input::AgentRejected { contact });
    // two misses: a is not ready now, the contact waits with its 30 s step
    assert_eq!(phase_of(&cti, 1).map(|p| p.name()), Some("Queued"));
    assert_eq!(cti.poll_timeout(), Some(secs(t0, 30)));
}
