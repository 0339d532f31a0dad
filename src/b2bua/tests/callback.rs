//! A callback contact through the call model, against a real CTI: the
//! agent is rung first (no customer INVITE before the agent answers), the
//! customer is then called on the relay's A side and bridged; busy or no
//! answer is retried after `retry` and finally given up (agent released,
//! cause for the CDR); an agent no-answer puts the callback back in line;
//! an unserved callback expires. Time is injected.

use super::*;
use crate::b2bua::CallbackSetup;

const CUSTOMER: &str = "sip:5551234@127.0.0.1:5080";
const ORIGIN: ContactId = ContactId(7);

fn customer_sdp() -> Vec<u8> {
    sdp("127.0.0.1", 7100, "0", false)
}

fn cti_in(cti: &mut Cti, now: Instant, input: cti::Input) -> Vec<Output> {
    let out = cti.handle(now, input);
    assert!(
        !out.iter().any(|o| matches!(o, Output::Refused { .. })),
        "{out:?}"
    );
    out
}

/// A callback for CONTACT waiting in "sales" (its caller ORIGIN hung up),
/// alice and bob not ready; retries and timings as given.
fn waiting_callback(retries: u32) -> World {
    let now = Instant::now();
    let mut cti = Cti::new(cti_config());
    for name in ["alice", "bob"] {
        let skills = [(Skill::from("sales"), 5)].into_iter().collect();
        let agent = AgentId::from(name);
        let device = format!("sip:{name}@10.0.0.50");
        cti_in(
            &mut cti,
            now,
            cti::Input::SignIn {
                agent: agent.clone(),
                device,
                skills,
            },
        );
        cti_in(
            &mut cti,
            now,
            cti::Input::SetNotReady {
                agent,
                reason: "x".into(),
            },
        );
    }
    let (contact, media) = (ORIGIN, Media::Audio);
    cti_in(
        &mut cti,
        now,
        cti::Input::CallDelivered {
            contact,
            media,
            leg: Leg::Caller,
        },
    );
    let (dnis, caller) = ("8000".into(), "sip:carol@example.com".into());
    cti_in(
        &mut cti,
        now,
        cti::Input::RouteRequest {
            contact,
            dnis,
            caller,
            media,
            trunk: None,
        },
    );
    let skills = [(Skill::from("sales"), 1)].into_iter().collect();
    let queue = QueueName::from("sales");
    let priority = 1;
    cti_in(
        &mut cti,
        now,
        cti::Input::RequestAgent {
            contact,
            queue,
            skills,
            priority,
        },
    );
    let number = "5551234".into();
    let callback = CONTACT;
    cti_in(
        &mut cti,
        now,
        cti::Input::RequestCallback {
            contact,
            callback,
            number,
        },
    );
    let cause = ClearCause::NormalClearing;
    cti_in(
        &mut cti,
        now,
        cti::Input::ConnectionCleared { contact, cause },
    );
    let call = Call::callback(CallbackSetup {
        contact: CONTACT,
        number: "5551234".into(),
        uri: CUSTOMER.into(),
        relay: relay(),
        retries,
        retry: Duration::from_secs(10),
        ring: Duration::from_secs(30),
    });
    World {
        now,
        cti,
        call,
        log: Vec::new(),
    }
}

fn invite_customer(actions: &[CallAction]) -> Option<(LegId, String, Option<Vec<u8>>)> {
    actions.iter().find_map(|a| match a {
        CallAction::InviteExternal { leg, uri, sdp } => Some((*leg, uri.clone(), sdp.clone())),
        _ => None,
    })
}

/// alice gets ready, rings and answers; returns the actions of the answer.
fn agent_answers(w: &mut World) -> Vec<CallAction> {
    w.set_ready("alice", true);
    let (leg, agent, _) = invite_agent(&w.log).expect("the agent is rung first");
    assert_eq!((leg, agent.as_str()), (LegId::agent(1), "alice"));
    assert!(invite_customer(&w.log).is_none(), "no customer INVITE yet");
    w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    assert_eq!(
        w.agent_state("alice"),
        AgentState::Ringing { contact: CONTACT }
    );
    let answered = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert_eq!(
        w.agent_state("alice"),
        AgentState::InCall { contact: CONTACT }
    );
    answered
}

#[test]
fn the_agent_answers_first_then_the_customer_is_called_and_bridged() {
    let mut w = waiting_callback(2);
    let answered = agent_answers(&mut w);
    assert!(
        !w.log.iter().any(|a| matches!(a, CallAction::Ivr(_))),
        "no IVR leg"
    );
    assert!(has(
        &answered,
        &CallAction::Ack {
            leg: LegId::agent(1),
            sdp: None
        }
    ));
    let (leg, uri, offer) = invite_customer(&answered).expect("then the customer");
    assert_eq!((leg, uri.as_str()), (LegId::external(1), CUSTOMER));
    let d = sdp_plan::describe("t", &offer.expect("offer")).unwrap();
    assert_eq!(
        d.addr,
        relay().a_side,
        "the customer sends to the relay's A side"
    );
    assert_eq!(
        d.codec,
        Some(crate::media::Codec::Pcmu),
        "in the agent's codec"
    );
    w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    let up = w.feed(CallInput::Answered {
        leg,
        sdp: Some(customer_sdp()),
    });
    assert!(has(&up, &CallAction::Ack { leg, sdp: None }));
    let point = CallAction::RelayPoint {
        side_b: None,
        side_a: Some(addr("127.0.0.1:7100")),
    };
    assert!(has(&up, &point));
    assert_eq!(w.call.poll_timeout(), None);
    let bye = w.feed(CallInput::Bye { leg });
    assert!(has(
        &bye,
        &CallAction::Bye {
            leg: LegId::agent(1)
        }
    ));
    let ended = CallAction::Cdr(CdrUpdate::Ended {
        cause: ClearCause::NormalClearing,
    });
    assert!(has(&bye, &ended));
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    assert!(w.call.is_done());
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn a_customer_who_does_not_answer_is_retried_then_given_up() {
    let mut w = waiting_callback(1);
    let answered = agent_answers(&mut w);
    let (first, _, _) = invite_customer(&answered).expect("first attempt");
    let ring_end = w.now + Duration::from_secs(30);
    assert_eq!(w.call.poll_timeout(), Some(ring_end));
    w.now = ring_end - Duration::from_millis(1);
    assert!(w.feed(CallInput::TransferTimeout).is_empty(), "not yet");
    w.feed(CallInput::Provisional {
        leg: first,
        code: 180,
        sdp: None,
    });
    w.now = ring_end;
    let cancel = w.feed(CallInput::TransferTimeout);
    assert_eq!(cancel, vec![CallAction::Cancel { leg: first }]);
    assert!(w
        .feed(CallInput::Failed {
            leg: first,
            code: 487
        })
        .is_empty());
    let retry_at = ring_end + Duration::from_secs(10);
    assert_eq!(w.call.poll_timeout(), Some(retry_at));
    w.now = retry_at;
    let again = w.feed(CallInput::TransferTimeout);
    let (second, uri, _) = invite_customer(&again).expect("second attempt");
    assert_eq!((second, uri.as_str()), (LegId::external(2), CUSTOMER));
    let busy = w.feed(CallInput::Failed {
        leg: second,
        code: 486,
    });
    assert!(has(
        &busy,
        &CallAction::Bye {
            leg: LegId::agent(1)
        }
    ));
    let ended = CallAction::Cdr(CdrUpdate::Ended {
        cause: ClearCause::Busy,
    });
    assert!(has(&busy, &ended));
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    assert!(w.call.is_done());
}

#[test]
fn an_agent_no_answer_puts_the_callback_back_in_line() {
    let mut w = waiting_callback(2);
    w.set_ready("alice", true);
    let (leg, _, _) = invite_agent(&w.log).expect("alice rung");
    w.set_ready("alice", false);
    w.feed(CallInput::Failed { leg, code: 480 });
    assert_eq!(w.cti.queue_position(CONTACT), Some(1));
    assert_eq!(w.call.state(), CallState::Queued);
    w.log.clear();
    w.set_ready("bob", true);
    let (leg, agent, _) = invite_agent(&w.log).expect("bob rung next");
    assert_eq!((leg, agent.as_str()), (LegId::agent(2), "bob"));
    assert!(invite_customer(&w.log).is_none());
}

#[test]
fn an_expired_callback_ends_without_a_leg() {
    let mut w = waiting_callback(2);
    let out = w.advance(3_600);
    let cleared = CallAction::Event(CstaEvent::ConnectionCleared {
        contact: CONTACT,
        cause: ClearCause::CallbackExpired,
    });
    assert!(has(&out, &cleared), "{out:?}");
    assert!(w.call.is_done());
    assert!(
        !out.iter().any(|a| matches!(a, CallAction::Cti(_))),
        "the CTI already forgot it"
    );
}
