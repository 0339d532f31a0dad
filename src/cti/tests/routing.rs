//! Steps 2–3 (route to the IVR by DNIS) and 7–8 (queue, longest-idle
//! skilled agent, priority then FIFO, bounds and the no-agents policy).

use super::*;

#[test]
fn route_request_selects_ivr_script_by_dnis() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    let out = arrive(&mut cti, t0, 1);
    let want = Output::RouteSelect {
        contact: ContactId(1),
        target: RouteTarget::Ivr {
            script: "welcome".into(),
        },
    };
    assert_eq!(out, vec![want]);
    let c = cti.contact(ContactId(1)).unwrap();
    assert_eq!(c.channel, Channel::Voice);
    assert_eq!(c.dnis.as_deref(), Some("8000"));
}

#[test]
fn unknown_dnis_is_rejected() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    let input = Input::RouteRequest {
        contact: ContactId(4),
        dnis: "9999".into(),
        caller: "sip:x@y".into(),
        media: Media::Video,
        trunk: None,
    };
    let out = step(&mut cti, t0, input);
    let target = RouteTarget::Reject {
        cause: RejectCause::UnknownDnis,
    };
    assert_eq!(
        out,
        vec![Output::RouteSelect {
            contact: ContactId(4),
            target
        }]
    );
    assert_eq!(cti.contact(ContactId(4)).unwrap().channel, Channel::Video);
}

#[test]
fn call_delivered_route_end_and_diverted_are_recorded_in_order() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    arrive(&mut cti, t0, 1);
    let names: Vec<String> = cti
        .contact(ContactId(1))
        .unwrap()
        .history()
        .map(|e| {
            serde_json::to_value(e).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        ["CallDelivered", "RouteRequest", "RouteSelect", "RouteEnd"]
    );
}

#[test]
fn waits_in_queue_while_no_agent_is_free() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    let out = queue_call(&mut cti, t0, 1, 0);
    assert!(diverts(&out).is_empty());
    assert_eq!(queued(&cti, "sales"), vec![1]);
    assert!(matches!(phase_of(&cti, 1), Some(ContactPhase::Queued(_))));
}

#[test]
fn diverts_to_longest_idle_agent_with_every_skill() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "oldest_unskilled", &[("support", 5)]);
    sign_in(&mut cti, secs(t0, 1), "older", &[("sales", 2), ("fr", 1)]);
    sign_in(&mut cti, secs(t0, 2), "newer", &[("sales", 9), ("fr", 9)]);
    arrive(&mut cti, secs(t0, 3), 1);
    let out = request(
        &mut cti,
        secs(t0, 3),
        1,
        "sales",
        &[("sales", 1), ("fr", 1)],
        0,
    );
    assert_eq!(diverts(&out), vec![(1, "older".to_owned())]);
    let device = out.iter().find_map(|o| match o {
        Output::DivertCall { device, .. } => Some(device.clone()),
        _ => None,
    });
    assert_eq!(device.as_deref(), Some("sip:older@pbx.example"));
    assert_eq!(
        state_of(&cti, "older"),
        Some(AgentState::Reserved {
            contact: ContactId(1)
        })
    );
    assert_eq!(
        phase_of(&cti, 1),
        Some(ContactPhase::Diverting(AgentId::from("older")))
    );
    assert!(queued(&cti, "sales").is_empty());
}

#[test]
fn skill_level_below_minimum_does_not_match() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "junior", &[("sales", 1)]);
    arrive(&mut cti, t0, 1);
    let out = request(&mut cti, t0, 1, "sales", &[("sales", 3)], 0);
    assert!(diverts(&out).is_empty());
    assert_eq!(queued(&cti, "sales"), vec![1]);
}

#[test]
fn priority_first_then_fifo_across_queues() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    step(
        &mut cti,
        t0,
        Input::SetNotReady {
            agent: AgentId::from("a"),
            reason: "break".into(),
        },
    );
    queue_call(&mut cti, secs(t0, 1), 1, 0);
    queue_call(&mut cti, secs(t0, 2), 2, 5);
    queue_call(&mut cti, secs(t0, 3), 3, 0);
    arrive(&mut cti, secs(t0, 4), 4);
    request(&mut cti, secs(t0, 4), 4, "vip", &[("sales", 1)], 5);
    assert_eq!(queued(&cti, "sales"), vec![2, 1, 3]);
    let mut order = Vec::new();
    for n in 0..4u64 {
        let now = secs(t0, 10 + 10 * n);
        let out = step(
            &mut cti,
            now,
            Input::SetReady {
                agent: AgentId::from("a"),
            },
        );
        let got = diverts(&out);
        assert_eq!(got.len(), 1);
        order.push(got[0].0);
        let contact = ContactId(got[0].0);
        step(&mut cti, now, Input::AgentAnswered { contact });
        step(
            &mut cti,
            now,
            Input::SetNotReady {
                agent: AgentId::from("a"),
                reason: "x".into(),
            },
        );
        step(
            &mut cti,
            now,
            Input::ConnectionCleared {
                contact,
                cause: ClearCause::NormalClearing,
            },
        );
        tick(&mut cti, now + Duration::from_secs(5));
    }
    assert_eq!(order, vec![2, 4, 1, 3]);
}

#[test]
fn queue_full_refuses_beyond_max_size() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    for id in 1..=3 {
        assert!(!queue_call(&mut cti, t0, id, 0)
            .iter()
            .any(|o| matches!(o, Output::QueueFull { .. })));
    }
    let out = queue_call(&mut cti, t0, 4, 9);
    let full = Output::QueueFull {
        contact: ContactId(4),
        queue: QueueName::from("sales"),
    };
    assert_eq!(out, vec![full]);
    assert_eq!(phase_of(&cti, 4), Some(ContactPhase::Routing));
    assert_eq!(queued(&cti, "sales"), vec![1, 2, 3]);
}

#[test]
fn diverting_contacts_count_against_queue_size() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, t0, 2, 0);
    queue_call(&mut cti, t0, 3, 0);
    let out = queue_call(&mut cti, t0, 4, 0);
    assert!(matches!(out.as_slice(), [Output::QueueFull { .. }]));
}

#[test]
fn no_agents_reject_policy_answers_at_once() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "support", &[("support", 1)]);
    arrive(&mut cti, t0, 1);
    let out = request(&mut cti, t0, 1, "vip", &[("sales", 1)], 0);
    let want = Output::NoAgents {
        contact: ContactId(1),
        queue: QueueName::from("vip"),
    };
    assert_eq!(out, vec![want]);
    assert!(queued(&cti, "vip").is_empty());
    assert_eq!(phase_of(&cti, 1), Some(ContactPhase::Routing));
}

#[test]
fn no_agents_reject_policy_queues_when_a_skilled_agent_is_merely_busy() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    step(
        &mut cti,
        t0,
        Input::SetNotReady {
            agent: AgentId::from("a"),
            reason: "lunch".into(),
        },
    );
    arrive(&mut cti, t0, 1);
    let out = request(&mut cti, t0, 1, "vip", &[("sales", 1)], 0);
    assert!(out.is_empty());
    assert_eq!(queued(&cti, "vip"), vec![1]);
}

#[test]
fn wait_policy_queues_with_nobody_signed_in() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    let out = queue_call(&mut cti, t0, 1, 0);
    assert!(out.iter().all(|o| matches!(o, Output::RouteSelect { .. })));
    assert_eq!(queued(&cti, "sales"), vec![1]);
    let out = sign_in(&mut cti, secs(t0, 1), "late", &[("sales", 1)]);
    assert_eq!(diverts(&out), vec![(1, "late".to_owned())]);
}

#[test]
fn queue_timeout_releases_the_contact() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    queue_call(&mut cti, t0, 1, 0);
    assert_eq!(cti.poll_timeout(), Some(secs(t0, 60)));
    assert!(tick(&mut cti, secs(t0, 59)).is_empty());
    let out = tick(&mut cti, secs(t0, 60));
    let want = Output::QueueTimeout {
        contact: ContactId(1),
        queue: QueueName::from("sales"),
    };
    assert_eq!(out, vec![want]);
    assert!(queued(&cti, "sales").is_empty());
    assert_eq!(phase_of(&cti, 1), Some(ContactPhase::Routing));
    assert_eq!(cti.poll_timeout(), None);
}

#[test]
fn not_ready_agent_gets_nothing_and_ready_routes_at_once() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    step(
        &mut cti,
        t0,
        Input::SetNotReady {
            agent: AgentId::from("a"),
            reason: "break".into(),
        },
    );
    let out = queue_call(&mut cti, t0, 1, 0);
    assert!(diverts(&out).is_empty());
    let out = step(
        &mut cti,
        secs(t0, 1),
        Input::SetReady {
            agent: AgentId::from("a"),
        },
    );
    assert_eq!(diverts(&out), vec![(1, "a".to_owned())]);
}

#[test]
fn leave_queue_takes_the_contact_out_and_it_may_ask_again() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, t0, 2, 0);
    let out = step(
        &mut cti,
        secs(t0, 5),
        Input::LeaveQueue {
            contact: ContactId(1),
        },
    );
    assert_eq!(refused(&out), None);
    assert_eq!(queued(&cti, "sales"), vec![2]);
    assert_eq!(phase_of(&cti, 1), Some(ContactPhase::Routing));
    // its queue timer is gone: at 60 s only contact 2 times out
    let out = tick(&mut cti, secs(t0, 61));
    let timeouts: Vec<u64> = out
        .iter()
        .filter_map(|o| match o {
            Output::QueueTimeout { contact, .. } => Some(contact.0),
            _ => None,
        })
        .collect();
    assert_eq!(timeouts, vec![2]);
    // the overflow: it asks again, in another queue, and an agent takes it
    sign_in(&mut cti, secs(t0, 62), "v", &[("vip", 1)]);
    let out = request(&mut cti, secs(t0, 62), 1, "vip", &[("vip", 1)], 0);
    assert_eq!(diverts(&out), vec![(1, "v".to_owned())]);
}

#[test]
fn queue_position_counts_places_in_line_of_waiting_contacts_only() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, t0, 2, 0);
    queue_call(&mut cti, t0, 3, 9);
    let place = |cti: &Cti, id| cti.queue_position(ContactId(id));
    assert_eq!(
        (place(&cti, 3), place(&cti, 1), place(&cti, 2)),
        (Some(1), Some(2), Some(3))
    );
    sign_in(&mut cti, secs(t0, 1), "a", &[("sales", 1)]);
    assert_eq!(place(&cti, 3), None, "diverted, not waiting");
    assert_eq!((place(&cti, 1), place(&cti, 2)), (Some(1), Some(2)));
    assert_eq!(place(&cti, 77), None);
}

#[test]
fn leave_queue_is_refused_unless_queued() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    arrive(&mut cti, t0, 1);
    let out = step(
        &mut cti,
        t0,
        Input::LeaveQueue {
            contact: ContactId(1),
        },
    );
    assert!(matches!(refused(&out), Some(CtiError::WrongPhase { .. })));
    let out = step(
        &mut cti,
        t0,
        Input::LeaveQueue {
            contact: ContactId(9),
        },
    );
    assert!(matches!(
        refused(&out),
        Some(CtiError::UnknownContact { .. })
    ));
}

#[test]
fn skill_levels_route_only_to_agents_at_or_above_the_level() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "junior", &[("sales", 2)]);
    arrive(&mut cti, t0, 1);
    let out = request(&mut cti, t0, 1, "sales", &[("sales", 5)], 0);
    assert!(diverts(&out).is_empty());
    let out = sign_in(&mut cti, secs(t0, 1), "senior", &[("sales", 5)]);
    assert_eq!(diverts(&out), vec![(1, "senior".to_owned())]);
}
