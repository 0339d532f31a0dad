//! Bad input from a peer gives [`Output::Refused`] naming input and cause,
//! changes nothing, and never panics; every table stays within its bound.

use super::*;

#[test]
fn unknown_contact_agent_and_queue_are_refused() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    let out = step(
        &mut cti,
        t0,
        Input::AgentAnswered {
            contact: ContactId(9),
        },
    );
    assert_eq!(
        refused(&out),
        Some(&CtiError::UnknownContact {
            input: "AgentAnswered",
            contact: ContactId(9)
        })
    );
    let out = step(
        &mut cti,
        t0,
        Input::SetReady {
            agent: AgentId::from("ghost"),
        },
    );
    assert!(matches!(
        refused(&out),
        Some(CtiError::UnknownAgent {
            input: "SetReady",
            ..
        })
    ));
    arrive(&mut cti, t0, 1);
    let out = request(&mut cti, t0, 1, "nope", &[], 0);
    assert!(matches!(refused(&out), Some(CtiError::UnknownQueue { .. })));
    assert_eq!(phase_of(&cti, 1), Some(ContactPhase::Routing));
    let out = step(
        &mut cti,
        t0,
        Input::RouteEnd {
            contact: ContactId(5),
        },
    );
    assert!(matches!(
        refused(&out),
        Some(CtiError::UnknownContact { .. })
    ));
}

#[test]
fn wrong_phase_is_refused_and_named() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    queue_call(&mut cti, t0, 1, 0);
    let out = request(&mut cti, t0, 1, "sales", &[], 0);
    let want = CtiError::WrongPhase {
        input: "RequestAgent",
        contact: ContactId(1),
        phase: "Queued",
        expected: "Routing",
    };
    assert_eq!(refused(&out), Some(&want));
    assert_eq!(queued(&cti, "sales"), vec![1]);
    let out = step(
        &mut cti,
        t0,
        Input::AgentRinging {
            contact: ContactId(1),
        },
    );
    assert!(matches!(
        refused(&out),
        Some(CtiError::WrongPhase {
            expected: "Diverting",
            ..
        })
    ));
    let out = step(
        &mut cti,
        t0,
        Input::ContactArrived {
            contact: ContactId(1),
            channel: Channel::Chat,
        },
    );
    assert!(matches!(
        refused(&out),
        Some(CtiError::ContactExists { .. })
    ));
}

#[test]
fn oversized_text_and_skill_lists_are_refused() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    let input = Input::SignIn {
        agent: AgentId::from("a"),
        device: "x".repeat(257),
        skills: BTreeMap::new(),
    };
    let out = step(&mut cti, t0, input);
    assert!(matches!(
        refused(&out),
        Some(CtiError::TooLarge {
            field: "device",
            ..
        })
    ));
    assert_eq!(cti.agents().count(), 0);
    let many: BTreeMap<Skill, u8> = (0..33).map(|i| (Skill(format!("s{i}")), 1)).collect();
    arrive(&mut cti, t0, 1);
    let input = Input::RequestAgent {
        contact: ContactId(1),
        queue: QueueName::from("sales"),
        skills: many,
        priority: 0,
    };
    let out = step(&mut cti, t0, input);
    assert!(matches!(
        refused(&out),
        Some(CtiError::TooLarge {
            field: "skills",
            ..
        })
    ));
}

#[test]
fn agent_and_contact_tables_are_bounded() {
    let t0 = Instant::now();
    let mut config = cfg();
    config.max_agents = 2;
    config.max_contacts = 2;
    let mut cti = Cti::new(config);
    sign_in(&mut cti, t0, "a", &[]);
    sign_in(&mut cti, t0, "b", &[]);
    let out = sign_in(&mut cti, t0, "c", &[]);
    assert!(matches!(
        refused(&out),
        Some(CtiError::TooManyAgents { limit: 2, .. })
    ));
    let out = sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    assert_eq!(refused(&out), None, "signing in again is no new entry");
    for id in 1..=2 {
        let input = Input::ContactArrived {
            contact: ContactId(id),
            channel: Channel::Email,
        };
        assert_eq!(refused(&step(&mut cti, t0, input)), None);
    }
    let input = Input::ContactArrived {
        contact: ContactId(3),
        channel: Channel::Sms,
    };
    let out = step(&mut cti, t0, input);
    assert!(matches!(
        refused(&out),
        Some(CtiError::TooManyContacts { limit: 2, .. })
    ));
    assert_eq!(cti.contacts().count(), 2);
}

#[test]
fn email_contact_queues_like_a_call() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    let input = Input::ContactArrived {
        contact: ContactId(7),
        channel: Channel::Email,
    };
    step(&mut cti, t0, input);
    request(&mut cti, t0, 7, "sales", &[("sales", 1)], 0);
    let out = sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    assert_eq!(diverts(&out), vec![(7, "a".to_owned())]);
    assert_eq!(cti.contact(ContactId(7)).unwrap().channel, Channel::Email);
}
