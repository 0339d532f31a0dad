//! Steps 1–7 and the endings around the IVR: the happy path to step 10,
//! routing refusals, IVR failures, CANCEL and BYE races, queue verdicts.

use super::*;

#[test]
fn steps_1_to_10_direct_mode() {
    // Steps 1–3: INVITE → CallDelivered (audio) + RouteRequest → RouteSelect → InviteIvr.
    let (mut w, first) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    assert!(has(
        &first,
        &CallAction::Event(CstaEvent::CallDelivered {
            contact: CONTACT,
            media: Media::Audio,
            leg: Leg::Caller
        })
    ));
    assert!(first.iter().any(
        |a| matches!(a, CallAction::Cti(cti::Input::RouteRequest { dnis, .. }) if dnis == "8000")
    ));
    assert!(has(
        &first,
        &CallAction::Cti(cti::Input::RouteEnd { contact: CONTACT })
    ));
    assert!(has(
        &first,
        &CallAction::InviteIvr {
            leg: LegId::IVR,
            script: "welcome".into(),
            sdp: Some(caller_sdp())
        }
    ));
    assert_eq!(w.call.state(), CallState::InIvr);
    // Step 4: 180 and 200 relayed, IVR ACKed.
    let ring = w.feed(CallInput::Provisional {
        leg: LegId::IVR,
        code: 180,
        sdp: None,
    });
    assert_eq!(
        ring,
        vec![CallAction::CallerProvisional {
            code: 180,
            sdp: None
        }]
    );
    let ok = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(
        &ok,
        &CallAction::Ack {
            leg: LegId::IVR,
            sdp: None
        }
    ));
    assert!(has(&ok, &CallAction::CallerAnswer { sdp: ivr_sdp() }));
    w.feed(CallInput::CallerAck { sdp: None });
    // Step 7–8: the IVR asks for an agent; alice is idle: DivertCall at once.
    let divert = w.request_agent("sales");
    assert!(has(
        &divert,
        &CallAction::Event(CstaEvent::CallDiverted { contact: CONTACT })
    ));
    assert!(has(&divert, &CallAction::Bye { leg: LegId::IVR }));
    let (leg, agent, offer) = invite_agent(&divert).expect("agent invited");
    assert_eq!(
        (leg, agent.as_str(), offer),
        (LegId::agent(1), "alice", Some(caller_sdp()))
    );
    assert_eq!(w.call.state(), CallState::Diverting);
    // Step 9: ringing, answered, ACKed, Established.
    let ringing = w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    assert!(has(
        &ringing,
        &CallAction::Cti(cti::Input::AgentRinging { contact: CONTACT })
    ));
    assert_eq!(
        w.agent_state("alice"),
        AgentState::Ringing { contact: CONTACT }
    );
    let answered = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert!(has(&answered, &CallAction::Ack { leg, sdp: None }));
    assert!(has(
        &answered,
        &CallAction::Cti(cti::Input::AgentAnswered { contact: CONTACT })
    ));
    // Step 10: re-INVITE the caller with the agent's SDP.
    assert!(has(
        &answered,
        &CallAction::CallerReInvite {
            sdp: agent_sdp("0")
        }
    ));
    assert_eq!(w.call.state(), CallState::Connected);
    assert_eq!(
        w.agent_state("alice"),
        AgentState::InCall { contact: CONTACT }
    );
    let reinvite = w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: Some(caller_sdp()),
    });
    assert_eq!(reinvite, vec![CallAction::CallerAck]);
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER, leg]);
    // Caller hangs up: BYE the agent, ConnectionCleared once, agent to wrap-up.
    let bye = w.feed(CallInput::CallerBye);
    assert!(has(&bye, &CallAction::Bye { leg }));
    assert!(has(
        &bye,
        &CallAction::Cdr(CdrUpdate::Ended {
            cause: ClearCause::NormalClearing
        })
    ));
    assert!(w.call.is_done());
    assert!(w.call.legs_up().is_empty());
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    w.feed(CallInput::CallerBye);
    assert_eq!(w.cleared_count(), 1);
    assert_eq!(w.cti.check_invariants(), Ok(()));
}

#[test]
fn unknown_dnis_is_rejected_404_and_cleared() {
    let (w, first) = World::new(MediaMode::Direct, Some(caller_sdp()), "9999");
    assert!(has(
        &first,
        &CallAction::CallerReject {
            code: 404,
            reason: "Not Found".into()
        }
    ));
    assert!(invite_ivr_sdp(&first).is_none());
    assert!(w.call.is_done());
    assert_eq!(w.cleared_count(), 1);
    assert!(w.cti.contact(CONTACT).is_none());
}

#[test]
fn ivr_failure_passes_its_code_to_the_caller() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    let fail = w.feed(CallInput::Failed {
        leg: LegId::IVR,
        code: 486,
    });
    assert!(has(
        &fail,
        &CallAction::CallerReject {
            code: 486,
            reason: "IVR failed".into()
        }
    ));
    assert!(has(
        &fail,
        &CallAction::Cti(cti::Input::ConnectionCleared {
            contact: CONTACT,
            cause: ClearCause::Busy
        })
    ));
    assert!(w.call.is_done());
}

#[test]
fn caller_cancel_while_ivr_rings_cancels_it_and_answers_487() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.feed(CallInput::Provisional {
        leg: LegId::IVR,
        code: 180,
        sdp: None,
    });
    let cancel = w.feed(CallInput::CallerCancel);
    assert!(has(&cancel, &CallAction::Cancel { leg: LegId::IVR }));
    assert!(has(
        &cancel,
        &CallAction::CallerReject {
            code: 487,
            reason: "Request Terminated".into()
        }
    ));
    assert_eq!(w.call.state(), CallState::Clearing);
    assert_eq!(w.call.legs_up(), vec![LegId::IVR]);
    w.feed(CallInput::Failed {
        leg: LegId::IVR,
        code: 487,
    });
    assert!(w.call.is_done());
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn ivr_answering_after_the_caller_cancelled_is_acked_and_byed() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.feed(CallInput::CallerCancel);
    let late = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    assert_eq!(
        late,
        vec![
            CallAction::Ack {
                leg: LegId::IVR,
                sdp: None
            },
            CallAction::Bye { leg: LegId::IVR }
        ]
    );
    assert!(w.call.is_done());
}

#[test]
fn caller_bye_in_queue_byes_the_ivr_and_dequeues() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.set_ready("alice", false);
    w.in_ivr();
    assert!(invite_agent(&w.request_agent("sales")).is_none());
    assert_eq!(w.call.state(), CallState::Queued);
    let bye = w.feed(CallInput::CallerBye);
    assert!(has(&bye, &CallAction::Bye { leg: LegId::IVR }));
    assert!(w.call.is_done());
    assert!(w.cti.contact(CONTACT).is_none());
    assert_eq!(w.cti.check_invariants(), Ok(()));
}

#[test]
fn queue_timeout_lets_the_ivr_say_goodbye_then_the_caller_is_byed() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.set_ready("alice", false);
    w.in_ivr();
    w.request_agent("sales");
    let timeout = w.advance(61);
    assert_eq!(
        timeout,
        vec![CallAction::Ivr(CtiToIvr::QueueTimeout { contact: CONTACT })]
    );
    assert_eq!(w.call.state(), CallState::InIvr);
    let goodbye = w.feed(CallInput::IvrHungUp);
    assert!(has(&goodbye, &CallAction::CallerBye));
    assert!(has(
        &goodbye,
        &CallAction::Event(CstaEvent::ConnectionCleared {
            contact: CONTACT,
            cause: ClearCause::NormalClearing
        })
    ));
    assert!(w.call.is_done());
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn no_agents_goes_to_the_ivr() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let none = w.feed(CallInput::IvrRequestsAgent {
        queue: "vip".into(),
        skills: vec!["french".into()],
        priority: 0,
    });
    assert!(has(
        &none,
        &CallAction::Ivr(CtiToIvr::NoAgents { contact: CONTACT })
    ));
    assert_eq!(w.call.state(), CallState::InIvr);
}

#[test]
fn ivr_failure_codes_map_for_the_caller_and_the_cdr() {
    assert_eq!(caller_code(486), 486);
    assert_eq!(caller_code(407), 502);
    assert_eq!(caller_code(302), 502);
    assert_eq!(cause_of(600), ClearCause::Busy);
    assert_eq!(cause_of(408), ClearCause::NoAnswer);
    assert_eq!(cause_of(503), ClearCause::NetworkFailure);
}

#[test]
fn ivr_leaving_the_queue_dequeues_and_a_new_request_may_follow() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let phase = |w: &World| w.cti.contact(CONTACT).map(|c| c.phase.clone());
    // alice holds sales at level 5: a request for level 9 waits
    w.feed(CallInput::IvrRequestsAgent {
        queue: "sales".into(),
        skills: vec!["sales:9".into()],
        priority: 0,
    });
    assert_eq!(w.call.state(), CallState::Queued);
    assert!(matches!(
        phase(&w),
        Some(crate::cti::ContactPhase::Queued(_))
    ));
    let left = w.feed(CallInput::IvrLeavesQueue);
    assert!(has(
        &left,
        &CallAction::Cti(cti::Input::LeaveQueue { contact: CONTACT })
    ));
    assert_eq!(w.call.state(), CallState::InIvr);
    assert_eq!(phase(&w), Some(crate::cti::ContactPhase::Routing));
    assert_eq!(
        w.feed(CallInput::IvrLeavesQueue),
        vec![],
        "not queued any more"
    );
    // the overflow asks for level 5: alice gets the call
    w.feed(CallInput::IvrRequestsAgent {
        queue: "sales".into(),
        skills: vec!["sales:5".into()],
        priority: 0,
    });
    assert_eq!(
        phase(&w),
        Some(crate::cti::ContactPhase::Diverting(AgentId::from("alice")))
    );
}

#[test]
fn a_request_before_the_callers_ack_waits_for_the_ack() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    // the flow queues at once, before the caller's ACK
    let early = w.request_agent("sales");
    assert!(
        !early
            .iter()
            .any(|a| matches!(a, CallAction::Cti(cti::Input::RequestAgent { .. }))),
        "no request before the ACK: {early:?}"
    );
    assert_eq!(w.call.state(), CallState::InIvr);
    let acked = w.feed(CallInput::CallerAck { sdp: None });
    assert!(
        acked
            .iter()
            .any(|a| matches!(a, CallAction::Cti(cti::Input::RequestAgent { .. }))),
        "the request goes once the caller ACKs: {acked:?}"
    );
    assert_ne!(w.call.state(), CallState::InIvr);
}
