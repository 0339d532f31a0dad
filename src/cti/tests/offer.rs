//! Steps 8–9: the offer's outcome. Ringing, answer (Established), reject and
//! no-answer (requeue at the head, next agent, NotReady after N misses), and
//! the CTI's own ring timeout (CancelDivert).

use super::*;

fn reserved(c: u64) -> AgentState {
    AgentState::Reserved {
        contact: ContactId(c),
    }
}

#[test]
fn ringing_then_answer_establishes_and_emits_each_state() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    let out = queue_call(&mut cti, t0, 1, 0);
    let changed =
        |o: &Output| matches!(o, Output::AgentStateChanged { state, .. } if *state == reserved(1));
    assert!(out.iter().any(changed));
    let contact = ContactId(1);
    let out = step(&mut cti, secs(t0, 1), Input::AgentRinging { contact });
    let ringing = Output::AgentStateChanged {
        agent: AgentId::from("a"),
        status: AgentStatus::Available,
        state: AgentState::Ringing { contact },
    };
    assert_eq!(out, vec![ringing]);
    let out = step(&mut cti, secs(t0, 2), Input::AgentAnswered { contact });
    let in_call = Output::AgentStateChanged {
        agent: AgentId::from("a"),
        status: AgentStatus::Available,
        state: AgentState::InCall { contact },
    };
    let est = Output::Established {
        contact,
        agent: AgentId::from("a"),
    };
    assert_eq!(out, vec![in_call, est]);
    assert_eq!(
        phase_of(&cti, 1),
        Some(ContactPhase::Connected(AgentId::from("a")))
    );
    // the ring timer is gone: nothing fires at the ring timeout
    assert_eq!(cti.poll_timeout(), None);
    assert!(tick(&mut cti, secs(t0, 100)).is_empty());
}

#[test]
fn answer_straight_from_reserved_is_accepted() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    let out = step(
        &mut cti,
        t0,
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    assert!(out.iter().any(|o| matches!(o, Output::Established { .. })));
}

#[test]
fn reject_tries_the_next_agent() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "first", &[("sales", 1)]);
    sign_in(&mut cti, secs(t0, 1), "second", &[("sales", 1)]);
    let out = queue_call(&mut cti, secs(t0, 2), 1, 0);
    assert_eq!(diverts(&out), vec![(1, "first".to_owned())]);
    let out = step(
        &mut cti,
        secs(t0, 4),
        Input::AgentRejected {
            contact: ContactId(1),
        },
    );
    assert_eq!(diverts(&out), vec![(1, "second".to_owned())]);
    // one miss (< max_no_answer = 2): first stays Available and Idle
    assert_eq!(status_of(&cti, "first"), Some(AgentStatus::Available));
    assert_eq!(state_of(&cti, "first"), Some(AgentState::Idle));
    assert_eq!(state_of(&cti, "second"), Some(reserved(1)));
}

#[test]
fn consecutive_misses_make_the_agent_not_ready() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    let out = step(
        &mut cti,
        secs(t0, 1),
        Input::AgentRejected {
            contact: ContactId(1),
        },
    );
    // the only free agent is offered the contact again
    assert_eq!(diverts(&out), vec![(1, "a".to_owned())]);
    let out = step(
        &mut cti,
        secs(t0, 2),
        Input::AgentNoAnswer {
            contact: ContactId(1),
        },
    );
    assert!(diverts(&out).is_empty());
    let not_ready = AgentStatus::NotReady {
        reason: "no answer".into(),
    };
    assert_eq!(status_of(&cti, "a"), Some(not_ready.clone()));
    assert_eq!(state_of(&cti, "a"), Some(AgentState::Idle));
    assert_eq!(queued(&cti, "sales"), vec![1]);
    let last = Output::AgentStateChanged {
        agent: AgentId::from("a"),
        status: not_ready,
        state: AgentState::Idle,
    };
    assert_eq!(out.last(), Some(&last));
}

#[test]
fn requeued_contact_goes_ahead_of_later_arrivals() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, t0, 2, 0);
    queue_call(&mut cti, t0, 3, 0);
    step(
        &mut cti,
        t0,
        Input::SetNotReady {
            agent: AgentId::from("a"),
            reason: "x".into(),
        },
    );
    step(
        &mut cti,
        secs(t0, 1),
        Input::AgentRejected {
            contact: ContactId(1),
        },
    );
    assert_eq!(queued(&cti, "sales"), vec![1, 2, 3]);
}

#[test]
fn answer_resets_the_miss_count() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        t0,
        Input::AgentRejected {
            contact: ContactId(1),
        },
    );
    assert_eq!(cti.agent(&AgentId::from("a")).unwrap().missed, 1);
    step(
        &mut cti,
        t0,
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    assert_eq!(cti.agent(&AgentId::from("a")).unwrap().missed, 0);
    assert_eq!(status_of(&cti, "a"), Some(AgentStatus::Available));
}

#[test]
fn ring_timeout_cancels_the_divert_and_requeues() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        secs(t0, 1),
        Input::AgentRinging {
            contact: ContactId(1),
        },
    );
    assert_eq!(cti.poll_timeout(), Some(secs(t0, 20)));
    assert!(tick(&mut cti, secs(t0, 19)).is_empty());
    step(
        &mut cti,
        secs(t0, 19),
        Input::SetNotReady {
            agent: AgentId::from("a"),
            reason: "x".into(),
        },
    );
    let out = tick(&mut cti, secs(t0, 20));
    let cancel = Output::CancelDivert {
        contact: ContactId(1),
        agent: AgentId::from("a"),
    };
    assert_eq!(out.first(), Some(&cancel));
    assert_eq!(state_of(&cti, "a"), Some(AgentState::Idle));
    assert_eq!(queued(&cti, "sales"), vec![1]);
    assert_eq!(cti.agent(&AgentId::from("a")).unwrap().missed, 1);
    // the original queue deadline (t0+60) is armed again
    assert_eq!(cti.poll_timeout(), Some(secs(t0, 60)));
    // a late answer from the SoftACD is refused: the offer is over
    let out = step(
        &mut cti,
        secs(t0, 21),
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    assert!(matches!(refused(&out), Some(CtiError::WrongPhase { .. })));
}

#[test]
fn ringing_reported_twice_changes_nothing_the_second_time() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        t0,
        Input::AgentRinging {
            contact: ContactId(1),
        },
    );
    let out = step(
        &mut cti,
        t0,
        Input::AgentRinging {
            contact: ContactId(1),
        },
    );
    assert!(out.is_empty());
}
