//! The desk's blind transfer (`cti/transfer.rs`): to an agent (straight to
//! Diverting; its failure requeues at the head of the contact's queue), to
//! a queue (back in line at the head, skills of the new queue), and every
//! refusal leaving the CTI as it was.

use super::*;

/// Agent `a` (sales) answers contact 1 at t0+1.
fn a_talks_with_1(cti: &mut Cti, t0: Instant) {
    sign_in(cti, t0, "a", &[("sales", 1)]);
    queue_call(cti, t0, 1, 3);
    let contact = ContactId(1);
    step(cti, secs(t0, 1), Input::AgentAnswered { contact });
    assert_eq!(state_of(cti, "a"), Some(AgentState::InCall { contact }));
}

fn transfer(cti: &mut Cti, now: Instant, from: &str, to: TransferTarget) -> Vec<Output> {
    let agent = AgentId::from(from);
    step(cti, now, Input::Transfer { agent, to })
}

fn to_agent(a: &str) -> TransferTarget {
    TransferTarget::Agent {
        agent: AgentId::from(a),
    }
}

fn to_queue(q: &str) -> TransferTarget {
    TransferTarget::Queue {
        queue: QueueName::from(q),
    }
}

fn refusal(out: &[Output]) -> Option<CtiError> {
    out.iter().find_map(|o| match o {
        Output::Refused { error } => Some(error.clone()),
        _ => None,
    })
}

fn position(out: &[Output], f: impl Fn(&Output) -> bool) -> usize {
    out.iter().position(f).unwrap_or(usize::MAX)
}

#[test]
fn blind_to_an_idle_agent_reserves_it_and_wraps_up_the_first() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    a_talks_with_1(&mut cti, t0);
    sign_in(&mut cti, t0, "b", &[]);
    let out = transfer(&mut cti, secs(t0, 30), "a", to_agent("b"));
    assert_eq!(refusal(&out), None);
    let contact = ContactId(1);
    let transferred = Output::Transferred {
        contact,
        from: AgentId::from("a"),
        to: to_agent("b"),
    };
    let t = position(&out, |o| *o == transferred);
    let d = position(&out, |o| matches!(o, Output::DivertCall { .. }));
    assert!(
        t < d && d < out.len(),
        "Transferred then DivertCall: {out:?}"
    );
    assert_eq!(diverts(&out), vec![(1, "b".to_string())]);
    assert_eq!(state_of(&cti, "a"), Some(AgentState::WrapUp));
    assert_eq!(state_of(&cti, "b"), Some(AgentState::Reserved { contact }));
    assert_eq!(
        phase_of(&cti, 1),
        Some(ContactPhase::Diverting(AgentId::from("b")))
    );
    let out = step(&mut cti, secs(t0, 32), Input::AgentAnswered { contact });
    assert!(out.contains(&Output::Established {
        contact,
        agent: AgentId::from("b")
    }));
    assert_eq!(state_of(&cti, "b"), Some(AgentState::InCall { contact }));
    let history: Vec<_> = cti.contact(contact).unwrap().history().cloned().collect();
    assert!(history.contains(&CstaEvent::Transferred {
        contact,
        from: AgentId::from("a"),
        to: to_agent("b"),
    }));
}

#[test]
fn a_target_that_does_not_answer_sends_the_contact_to_the_head_of_its_queue() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    a_talks_with_1(&mut cti, t0);
    // b may take transfers but not sales calls, so contact 2 waits.
    sign_in(&mut cti, t0, "b", &[]);
    queue_call(&mut cti, secs(t0, 2), 2, 3);
    transfer(&mut cti, secs(t0, 30), "a", to_agent("b"));
    // a takes a break (its 5 s wrap-up would end before the ring timeout).
    let reason = "lunch".to_string();
    let agent = AgentId::from("a");
    step(&mut cti, secs(t0, 31), Input::SetNotReady { agent, reason });
    // The CTI's ring timeout (20 s) passes: CancelDivert, requeued.
    let out = tick(&mut cti, secs(t0, 50));
    assert!(out.contains(&Output::CancelDivert {
        contact: ContactId(1),
        agent: AgentId::from("b")
    }));
    assert_eq!(cti.queue_position(ContactId(1)), Some(1), "ahead of 2");
    assert_eq!(cti.queue_position(ContactId(2)), Some(2));
    assert_eq!(state_of(&cti, "b"), Some(AgentState::Idle));
}

#[test]
fn a_busy_unknown_or_self_target_is_refused_and_nothing_changes() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    a_talks_with_1(&mut cti, t0);
    sign_in(&mut cti, t0, "b", &[]);
    let reason = "lunch".to_string();
    step(
        &mut cti,
        t0,
        Input::SetNotReady {
            agent: AgentId::from("b"),
            reason,
        },
    );
    let busy = transfer(&mut cti, secs(t0, 5), "a", to_agent("b"));
    assert!(matches!(refusal(&busy), Some(CtiError::AgentBusy { .. })));
    let me = transfer(&mut cti, secs(t0, 5), "a", to_agent("a"));
    assert!(matches!(refusal(&me), Some(CtiError::AgentBusy { .. })));
    let unknown = transfer(&mut cti, secs(t0, 5), "a", to_agent("zed"));
    assert!(matches!(
        refusal(&unknown),
        Some(CtiError::UnknownAgent { .. })
    ));
    let no_queue = transfer(&mut cti, secs(t0, 5), "a", to_queue("nope"));
    assert!(matches!(
        refusal(&no_queue),
        Some(CtiError::UnknownQueue { .. })
    ));
    let not_talking = transfer(&mut cti, secs(t0, 5), "b", to_queue("sales"));
    assert!(matches!(
        refusal(&not_talking),
        Some(CtiError::NotInCall { .. })
    ));
    for out in [busy, me, unknown, no_queue, not_talking] {
        assert_eq!(out.len(), 1, "only the refusal: {out:?}");
    }
    let contact = ContactId(1);
    assert_eq!(state_of(&cti, "a"), Some(AgentState::InCall { contact }));
    assert_eq!(
        phase_of(&cti, 1),
        Some(ContactPhase::Connected(AgentId::from("a")))
    );
}

#[test]
fn blind_to_its_own_queue_goes_back_in_line_ahead_of_later_callers() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    a_talks_with_1(&mut cti, t0);
    queue_call(&mut cti, secs(t0, 2), 2, 3);
    let out = transfer(&mut cti, secs(t0, 30), "a", to_queue("sales"));
    assert_eq!(refusal(&out), None);
    assert!(diverts(&out).is_empty(), "a is in wrap-up: nobody is free");
    assert_eq!(state_of(&cti, "a"), Some(AgentState::WrapUp));
    assert_eq!(cti.queue_position(ContactId(1)), Some(1));
    assert_eq!(cti.queue_position(ContactId(2)), Some(2));
    let req = cti.contact(ContactId(1)).unwrap().request.clone().unwrap();
    assert_eq!(
        req.skills,
        skills(&[("sales", 1)]),
        "same queue: same skills"
    );
    assert_eq!(req.priority, 3);
    assert_eq!(
        req.since, t0,
        "its wait still counts from the first request"
    );
    assert_eq!(req.deadline, Some(secs(t0, 90)), "a fresh maximum wait");
    // Wrap-up (5 s) over: a is free and gets the head of the line.
    let out = tick(&mut cti, secs(t0, 35));
    assert_eq!(diverts(&out), vec![(1, "a".to_string())]);
}

#[test]
fn blind_to_another_queue_asks_for_that_queues_skill() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    a_talks_with_1(&mut cti, t0);
    sign_in(&mut cti, t0, "v", &[("vip", 1)]);
    let out = transfer(&mut cti, secs(t0, 30), "a", to_queue("vip"));
    let req = cti.contact(ContactId(1)).unwrap().request.clone().unwrap();
    assert_eq!(req.queue, QueueName::from("vip"));
    assert_eq!(req.skills, skills(&[("vip", 1)]));
    assert_eq!(diverts(&out), vec![(1, "v".to_string())]);
    let csta: Vec<_> = out.iter().filter_map(Output::csta).collect();
    assert!(csta.contains(&CstaEvent::Transferred {
        contact: ContactId(1),
        from: AgentId::from("a"),
        to: to_queue("vip"),
    }));
}

#[test]
fn a_full_queue_refuses_the_transfer() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    a_talks_with_1(&mut cti, t0);
    for id in 2..=4 {
        queue_call(&mut cti, t0, id, 0);
    }
    let out = transfer(&mut cti, secs(t0, 30), "a", to_queue("sales"));
    assert!(matches!(refusal(&out), Some(CtiError::QueueFull { .. })));
    assert_eq!(
        state_of(&cti, "a"),
        Some(AgentState::InCall {
            contact: ContactId(1)
        })
    );
}

#[test]
fn the_transferred_event_serializes_with_its_target() {
    let ev = CstaEvent::Transferred {
        contact: ContactId(4),
        from: AgentId::from("1001"),
        to: to_queue("support"),
    };
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"event":"Transferred","contact":4,"from":"1001",
                           "to":{"kind":"queue","queue":"support"}})
    );
}
