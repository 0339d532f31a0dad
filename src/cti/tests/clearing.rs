//! Steps 5 and 10: ConnectionCleared at every stage, wrap-up per queue, and
//! sign-out that waits for the call to end.

use super::*;

fn clear(cti: &mut Cti, now: Instant, id: u64) -> Vec<Output> {
    let input = Input::ConnectionCleared {
        contact: ContactId(id),
        cause: ClearCause::NormalClearing,
    };
    step(cti, now, input)
}

#[test]
fn cleared_before_queueing_forgets_the_contact() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    arrive(&mut cti, t0, 1);
    assert!(clear(&mut cti, t0, 1).is_empty());
    assert!(cti.contact(ContactId(1)).is_none());
}

#[test]
fn cleared_while_queued_leaves_queue_and_drops_timer() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, t0, 2, 0);
    clear(&mut cti, secs(t0, 1), 1);
    assert_eq!(queued(&cti, "sales"), vec![2]);
    assert!(cti.contact(ContactId(1)).is_none());
    clear(&mut cti, secs(t0, 1), 2);
    assert_eq!(cti.poll_timeout(), None);
}

#[test]
fn cleared_while_ringing_frees_agent_without_wrap_up() {
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
    let out = clear(&mut cti, secs(t0, 3), 1);
    let idle = Output::AgentStateChanged {
        agent: AgentId::from("a"),
        status: AgentStatus::Available,
        state: AgentState::Idle,
    };
    assert_eq!(out, vec![idle]);
    assert_eq!(cti.poll_timeout(), None, "ring timer cancelled");
    assert_eq!(
        cti.agent(&AgentId::from("a")).unwrap().idle_since,
        secs(t0, 3)
    );
}

#[test]
fn cleared_in_call_gives_wrap_up_then_idle_and_next_contact() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        t0,
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    queue_call(&mut cti, secs(t0, 1), 2, 0);
    let out = clear(&mut cti, secs(t0, 30), 1);
    assert!(diverts(&out).is_empty(), "no offer during wrap-up");
    assert_eq!(state_of(&cti, "a"), Some(AgentState::WrapUp));
    let a = cti.agent(&AgentId::from("a")).unwrap();
    assert_eq!(a.wrap_up_until, Some(secs(t0, 35)));
    assert_eq!(cti.poll_timeout(), Some(secs(t0, 35)));
    assert!(tick(&mut cti, secs(t0, 34)).is_empty());
    let out = tick(&mut cti, secs(t0, 35));
    assert_eq!(diverts(&out), vec![(2, "a".to_owned())]);
}

#[test]
fn zero_wrap_up_queue_frees_agent_at_once() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    arrive(&mut cti, t0, 1);
    request(&mut cti, t0, 1, "vip", &[], 0);
    step(
        &mut cti,
        t0,
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    clear(&mut cti, secs(t0, 9), 1);
    assert_eq!(state_of(&cti, "a"), Some(AgentState::Idle));
    assert_eq!(cti.poll_timeout(), None);
}

#[test]
fn sign_out_in_call_takes_effect_after_the_call() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        t0,
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    let out = step(
        &mut cti,
        t0,
        Input::SignOut {
            agent: AgentId::from("a"),
        },
    );
    let pending = Output::AgentStateChanged {
        agent: AgentId::from("a"),
        status: AgentStatus::LoggedOut,
        state: AgentState::InCall {
            contact: ContactId(1),
        },
    };
    assert_eq!(out, vec![pending]);
    assert!(cti.agent(&AgentId::from("a")).is_some());
    // a new contact is not offered to an agent whose sign-out is pending
    assert!(diverts(&queue_call(&mut cti, t0, 2, 0)).is_empty());
    let out = clear(&mut cti, secs(t0, 5), 1);
    let gone = Output::AgentStateChanged {
        agent: AgentId::from("a"),
        status: AgentStatus::LoggedOut,
        state: AgentState::Idle,
    };
    assert_eq!(out, vec![gone]);
    assert!(cti.agent(&AgentId::from("a")).is_none());
    assert_eq!(
        cti.poll_timeout(),
        Some(secs(t0, 60)),
        "no wrap-up timer left"
    );
}

#[test]
fn sign_out_when_idle_or_in_wrap_up_is_immediate() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "idle", &[]);
    let out = step(
        &mut cti,
        t0,
        Input::SignOut {
            agent: AgentId::from("idle"),
        },
    );
    assert_eq!(out.len(), 1);
    assert!(cti.agent(&AgentId::from("idle")).is_none());
    sign_in(&mut cti, t0, "w", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        t0,
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    clear(&mut cti, t0, 1);
    assert_eq!(state_of(&cti, "w"), Some(AgentState::WrapUp));
    step(
        &mut cti,
        t0,
        Input::SignOut {
            agent: AgentId::from("w"),
        },
    );
    assert!(cti.agent(&AgentId::from("w")).is_none());
    assert_eq!(cti.poll_timeout(), None, "wrap-up timer cancelled");
}

#[test]
fn sign_in_again_cancels_a_pending_sign_out_and_updates_device() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        t0,
        Input::SignOut {
            agent: AgentId::from("a"),
        },
    );
    let input = Input::SignIn {
        agent: AgentId::from("a"),
        device: "sip:desk-7@pbx.example".into(),
        skills: skills(&[("sales", 1)]),
    };
    step(&mut cti, t0, input);
    step(
        &mut cti,
        t0,
        Input::AgentRejected {
            contact: ContactId(1),
        },
    );
    let a = cti.agent(&AgentId::from("a")).unwrap();
    assert_eq!(a.status, AgentStatus::Available);
    assert_eq!(a.device, "sip:desk-7@pbx.example");
}

#[test]
fn wrap_up_done_from_the_desk_frees_agent_early_and_cancels_the_timer() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    let wrap_up_done = || Input::WrapUpDone {
        agent: AgentId::from("a"),
    };
    let out = step(&mut cti, t0, wrap_up_done());
    assert!(matches!(
        refused(&out),
        Some(CtiError::NotInWrapUp {
            input: "WrapUpDone",
            ..
        })
    ));
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        t0,
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    queue_call(&mut cti, secs(t0, 1), 2, 0);
    clear(&mut cti, secs(t0, 30), 1);
    assert_eq!(state_of(&cti, "a"), Some(AgentState::WrapUp));
    let out = step(&mut cti, secs(t0, 31), wrap_up_done());
    assert_eq!(refused(&out), None);
    assert_eq!(
        diverts(&out),
        vec![(2, "a".to_owned())],
        "next contact at once"
    );
    assert!(
        tick(&mut cti, secs(t0, 35)).is_empty(),
        "the wrap-up timer was cancelled"
    );
}
