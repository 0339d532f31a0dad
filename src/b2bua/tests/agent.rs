//! Steps 8–10: the agent legs — ringing, answers, rejects and no-answers
//! with re-routing, the CTI's ring timeout, hangups on either side.

use super::*;

#[test]
fn agent_reject_requeues_and_the_next_agent_gets_attempt_2() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg1, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.set_ready("alice", false);
    w.set_ready("bob", true);
    let busy = w.feed(CallInput::Failed {
        leg: leg1,
        code: 486,
    });
    assert!(has(
        &busy,
        &CallAction::Cti(cti::Input::AgentRejected { contact: CONTACT })
    ));
    let (leg2, agent, offer) = invite_agent(&busy).expect("re-routed");
    assert_eq!(
        (leg2, agent.as_str(), offer),
        (LegId::agent(2), "bob", Some(caller_sdp()))
    );
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER, leg2]);
}

#[test]
fn agent_408_is_reported_as_no_answer() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    let out = w.feed(CallInput::Failed { leg, code: 408 });
    assert!(has(
        &out,
        &CallAction::Cti(cti::Input::AgentNoAnswer { contact: CONTACT })
    ));
}

#[test]
fn cti_ring_timeout_cancels_the_agent_and_a_late_200_is_acked_and_byed() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    // alice goes NotReady while ringing, so nobody takes the requeued call.
    w.set_ready("alice", false);
    let timeout = w.advance(21);
    assert!(has(&timeout, &CallAction::Cancel { leg }));
    assert_eq!(w.call.state(), CallState::Queued);
    // The 200 crossed our CANCEL: ACK and BYE it; the CTI hears nothing more.
    let late = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert_eq!(
        late,
        vec![CallAction::Ack { leg, sdp: None }, CallAction::Bye { leg }]
    );
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER]);
    assert_eq!(w.agent_state("alice"), AgentState::Idle);
    assert_eq!(w.cti.check_invariants(), Ok(()));
}

#[test]
fn caller_bye_while_agent_rings_cancels_the_agent() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    let bye = w.feed(CallInput::CallerBye);
    assert!(has(&bye, &CallAction::Cancel { leg }));
    assert_eq!(w.call.state(), CallState::Clearing);
    assert_eq!(w.agent_state("alice"), AgentState::Idle);
    let out = w.feed(CallInput::Failed { leg, code: 487 });
    assert!(out.is_empty(), "{out:?}");
    assert!(w.call.is_done());
}

#[test]
fn agent_bye_when_connected_byes_the_caller() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: None,
    });
    let bye = w.feed(CallInput::Bye { leg });
    assert!(has(&bye, &CallAction::CallerBye));
    assert!(w.call.is_done());
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn caller_refusing_the_reinvite_ends_the_call() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    let fail = w.feed(CallInput::ReInviteFailed {
        leg: LegId::CALLER,
        code: 488,
    });
    assert!(has(&fail, &CallAction::CallerBye));
    assert!(has(&fail, &CallAction::Bye { leg }));
    assert!(w.call.is_done());
}

#[test]
fn agent_answer_without_usable_sdp_is_a_rejected_offer() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    let out = w.feed(CallInput::Answered { leg, sdp: None });
    assert!(has(&out, &CallAction::Ack { leg, sdp: None }));
    assert!(has(&out, &CallAction::Bye { leg }));
    assert!(has(
        &out,
        &CallAction::Cti(cti::Input::AgentRejected { contact: CONTACT })
    ));
    assert_ne!(w.call.state(), CallState::Connected);
}

#[test]
fn a_failure_reported_on_an_answered_agent_leg_is_ignored() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert!(w.feed(CallInput::Failed { leg, code: 486 }).is_empty());
    assert_eq!(w.call.state(), CallState::Connected);
    assert_eq!(
        w.agent_state("alice"),
        AgentState::InCall { contact: CONTACT }
    );
}

#[test]
fn agent_ringing_is_delivered_once_per_leg() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    let first = w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    assert!(has(
        &first,
        &CallAction::Event(CstaEvent::CallDelivered {
            contact: CONTACT,
            media: Media::Audio,
            leg: Leg::Agent
        })
    ));
    assert!(w
        .feed(CallInput::Provisional {
            leg,
            code: 180,
            sdp: None
        })
        .is_empty());
}

#[test]
fn desk_hang_up_when_connected_byes_both_legs_with_normal_clearing() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: None,
    });
    let out = w.feed(CallInput::DeskHangUp);
    assert!(has(&out, &CallAction::CallerBye));
    assert!(has(&out, &CallAction::Bye { leg }));
    assert!(has(
        &out,
        &CallAction::Cdr(CdrUpdate::Ended {
            cause: ClearCause::NormalClearing
        })
    ));
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    assert_eq!(w.cleared_count(), 1);
}

/// A connected call whose agent leg `leg` is up and whose caller re-INVITE
/// was answered (step 10 done).
fn connected(w: &mut World) -> LegId {
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: None,
    });
    assert_eq!(w.call.state(), CallState::Connected);
    leg
}

#[test]
fn a_lost_agent_leg_is_its_bye_with_cause_leg_lost() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    let leg = connected(&mut w);
    let out = w.feed(CallInput::LegLost { leg });
    assert!(has(&out, &CallAction::CallerBye), "the caller is hung up");
    assert!(
        !has(&out, &CallAction::Bye { leg }),
        "no BYE toward a phone that is gone"
    );
    let lost = ClearCause::LegLost;
    assert!(has(
        &out,
        &CallAction::Cdr(CdrUpdate::Ended { cause: lost })
    ));
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    assert_eq!(w.cleared_count(), 1);
    assert!(w.call.legs_up().is_empty());
}

#[test]
fn a_lost_caller_leg_byes_the_agent_with_cause_leg_lost() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    let leg = connected(&mut w);
    let out = w.feed(CallInput::LegLost { leg: LegId::CALLER });
    assert!(has(&out, &CallAction::Bye { leg }));
    assert!(!has(&out, &CallAction::CallerBye));
    let lost = ClearCause::LegLost;
    assert!(has(
        &out,
        &CallAction::Cdr(CdrUpdate::Ended { cause: lost })
    ));
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    // A later input on the finished call is not mislabelled.
    assert!(w.feed(CallInput::DeskHangUp).is_empty());
}
