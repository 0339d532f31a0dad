//! Callbacks (issue 6): the caller's place in line passes to the callback
//! contact, which is routed first, offered to the agent before anyone
//! calls the customer, requeued at the head after a missed offer, and
//! expires after `callback_max_age`. Injected time, no sleeps.

use super::*;

const NUMBER: &str = "+15551234";

fn with_callbacks(max: usize, age_s: u64) -> Cti {
    let mut cfg = cfg();
    cfg.max_callbacks = max;
    cfg.callback_max_age = Duration::from_secs(age_s);
    Cti::new(cfg)
}

fn callback(cti: &mut Cti, now: Instant, id: u64, cb: u64) -> Vec<Output> {
    let input = Input::RequestCallback {
        contact: ContactId(id),
        callback: ContactId(cb),
        number: NUMBER.into(),
    };
    step(cti, now, input)
}

fn waiting(cti: &Cti, queue: &str) -> Vec<u64> {
    let q = cti.queues().find(|(n, _)| n.0 == queue).map(|(_, q)| q);
    q.map(|q| q.waiting().map(|(_, c)| c.0).collect())
        .unwrap_or_default()
}

fn cleared(cti: &mut Cti, now: Instant, id: u64) -> Vec<Output> {
    let input = Input::ConnectionCleared {
        contact: ContactId(id),
        cause: ClearCause::NormalClearing,
    };
    step(cti, now, input)
}

#[test]
fn the_callback_key_then_a_number_keeps_the_callers_place() {
    let t0 = Instant::now();
    let mut cti = with_callbacks(10, 3600);
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, secs(t0, 1), 2, 0);
    // The callback key takes 1 out of the queue while the flow collects.
    step(
        &mut cti,
        secs(t0, 2),
        Input::LeaveQueue {
            contact: ContactId(1),
        },
    );
    assert_eq!(waiting(&cti, "sales"), vec![2]);
    let out = callback(&mut cti, secs(t0, 9), 1, 100);
    let queued = Output::CallbackQueued {
        contact: ContactId(1),
        callback: ContactId(100),
        number: NUMBER.into(),
    };
    assert!(out.contains(&queued), "{out:?}");
    assert_eq!(waiting(&cti, "sales"), vec![100, 2]);
    assert_eq!(cti.queue_position(ContactId(100)), Some(1));
    assert_eq!(cti.queue_position(ContactId(2)), Some(2));
    // The caller hangs up: the callback stays.
    cleared(&mut cti, secs(t0, 10), 1);
    let cb = cti.contact(ContactId(100)).map(|c| c.callback.clone());
    let info = CallbackInfo {
        number: NUMBER.into(),
        origin: ContactId(1),
    };
    assert_eq!(cb, Some(Some(info)));
    assert_eq!(cti.contact(ContactId(1)), None);
}

#[test]
fn a_queued_caller_can_register_without_leaving_first() {
    let t0 = Instant::now();
    let mut cti = with_callbacks(10, 3600);
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, t0, 2, 0);
    callback(&mut cti, secs(t0, 5), 1, 100);
    assert_eq!(waiting(&cti, "sales"), vec![100, 2]);
}

#[test]
fn the_agent_is_reserved_for_the_callback_first_and_goes_in_call() {
    let t0 = Instant::now();
    let mut cti = with_callbacks(10, 3600);
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, secs(t0, 1), 2, 0);
    callback(&mut cti, secs(t0, 2), 1, 100);
    cleared(&mut cti, secs(t0, 3), 1);
    let out = sign_in(&mut cti, secs(t0, 4), "ann", &[("sales", 1)]);
    assert_eq!(diverts(&out), vec![(100, "ann".to_string())]);
    let reserved = AgentState::Reserved {
        contact: ContactId(100),
    };
    assert_eq!(state_of(&cti, "ann"), Some(reserved));
    let c = ContactId(100);
    step(&mut cti, secs(t0, 5), Input::AgentRinging { contact: c });
    let out = step(&mut cti, secs(t0, 6), Input::AgentAnswered { contact: c });
    assert!(out.iter().any(|o| matches!(o, Output::Established { .. })));
    assert_eq!(
        state_of(&cti, "ann"),
        Some(AgentState::InCall { contact: c })
    );
    // A callback call is not handed on from the desk (its customer is
    // not a caller leg the hold flow could take): refused, nothing changes.
    let to = TransferTarget::Queue {
        queue: QueueName::from("sales"),
    };
    let refused = step(
        &mut cti,
        secs(t0, 30),
        Input::Transfer {
            agent: "ann".into(),
            to,
        },
    );
    assert!(
        matches!(refused.as_slice(), [Output::Refused { .. }]),
        "{refused:?}"
    );
    assert_eq!(
        state_of(&cti, "ann"),
        Some(AgentState::InCall { contact: c })
    );
    cleared(&mut cti, secs(t0, 60), 100);
    assert_eq!(state_of(&cti, "ann"), Some(AgentState::WrapUp));
}

#[test]
fn an_agent_no_answer_puts_the_callback_back_at_the_head() {
    let t0 = Instant::now();
    let mut cti = with_callbacks(10, 3600);
    queue_call(&mut cti, t0, 1, 0);
    callback(&mut cti, secs(t0, 1), 1, 100);
    cleared(&mut cti, secs(t0, 2), 1);
    sign_in(&mut cti, secs(t0, 3), "ann", &[("sales", 1)]);
    queue_call(&mut cti, secs(t0, 4), 2, 0);
    let away = Input::SetNotReady {
        agent: AgentId::from("ann"),
        reason: "away".into(),
    };
    step(&mut cti, secs(t0, 4), away);
    let c = ContactId(100);
    step(&mut cti, secs(t0, 5), Input::AgentNoAnswer { contact: c });
    assert_eq!(waiting(&cti, "sales"), vec![100, 2]);
}

#[test]
fn an_unserved_callback_expires_after_its_max_age() {
    let t0 = Instant::now();
    let mut cti = with_callbacks(10, 30);
    queue_call(&mut cti, t0, 1, 0);
    callback(&mut cti, secs(t0, 1), 1, 100);
    cleared(&mut cti, secs(t0, 2), 1);
    assert_eq!(cti.poll_timeout(), Some(secs(t0, 31)));
    assert!(tick(&mut cti, secs(t0, 30)).is_empty());
    let out = tick(&mut cti, secs(t0, 31));
    let expired = Output::CallbackExpired {
        contact: ContactId(100),
        number: NUMBER.into(),
    };
    assert_eq!(out, vec![expired]);
    assert_eq!(cti.contact(ContactId(100)), None);
    assert!(waiting(&cti, "sales").is_empty());
}

#[test]
fn bad_numbers_full_tables_and_unknown_places_are_refused() {
    let t0 = Instant::now();
    let mut cti = with_callbacks(1, 3600);
    queue_call(&mut cti, t0, 1, 0);
    queue_call(&mut cti, t0, 2, 0);
    arrive(&mut cti, t0, 3);
    let bad = Input::RequestCallback {
        contact: ContactId(1),
        callback: ContactId(100),
        number: "12#".into(),
    };
    let out = step(&mut cti, t0, bad);
    assert!(matches!(
        out[..],
        [Output::Refused {
            error: CtiError::CallbackNumber { .. }
        }]
    ));
    assert_eq!(waiting(&cti, "sales"), vec![1, 2]);
    callback(&mut cti, t0, 1, 100);
    let out = callback(&mut cti, t0, 2, 101);
    let full = CtiError::TooManyCallbacks {
        input: "RequestCallback",
        limit: 1,
    };
    assert_eq!(out, vec![Output::Refused { error: full }]);
    // A contact that never queued has no place to keep.
    let mut cti = with_callbacks(10, 3600);
    arrive(&mut cti, t0, 3);
    let out = callback(&mut cti, t0, 3, 101);
    assert!(matches!(
        out[..],
        [Output::Refused {
            error: CtiError::WrongPhase { .. }
        }]
    ));
}
