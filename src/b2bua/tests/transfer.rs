//! The IVR's transfer node through the call model: the external party
//! answers (bridge, IVR released, CDR), is busy (486 back to the IVR),
//! rings too long (CANCEL at the deadline, 408 to the IVR), or the caller
//! hangs up while it rings (CANCEL, one clearing). Time is injected.

use super::*;

const TARGET: &str = "sip:desk@127.0.0.1:5090";
const RING: Duration = Duration::from_secs(30);

fn external_sdp() -> Vec<u8> {
    sdp("127.0.0.1", 7000, "0", false)
}

/// A relay-mode call in the IVR whose flow asked for a transfer.
fn transferring() -> (World, Vec<CallAction>) {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    let asked = w.feed(CallInput::IvrTransfers {
        uri: TARGET.into(),
        ring: RING,
    });
    assert_eq!(w.call.state(), CallState::Transferring);
    (w, asked)
}

fn invite_external(actions: &[CallAction]) -> Option<(LegId, String, Option<Vec<u8>>)> {
    actions.iter().find_map(|a| match a {
        CallAction::InviteExternal { leg, uri, sdp } => Some((*leg, uri.clone(), sdp.clone())),
        _ => None,
    })
}

fn failed(code: u16) -> CallAction {
    CallAction::Ivr(CtiToIvr::TransferFailed {
        contact: CONTACT,
        code,
    })
}

#[test]
fn answered_transfer_bridges_the_caller_and_releases_the_ivr() {
    let (mut w, asked) = transferring();
    let (leg, uri, offer) = invite_external(&asked).expect("INVITE to the target");
    assert_eq!((leg, uri.as_str()), (LegId::external(1), TARGET));
    let offer = offer.expect("relay offer");
    let d = sdp_plan::describe("t", &offer).unwrap();
    assert_eq!(
        d.addr,
        relay().b_side,
        "the target sends to the relay's B side"
    );
    assert!(
        !asked.iter().any(|a| matches!(a, CallAction::Bye { .. })),
        "the IVR leg stays up while the target rings"
    );
    w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    let ok = w.feed(CallInput::Answered {
        leg,
        sdp: Some(external_sdp()),
    });
    assert!(has(&ok, &CallAction::Ack { leg, sdp: None }));
    assert!(has(
        &ok,
        &CallAction::RelayPoint {
            side_b: Some(addr("127.0.0.1:7000")),
            side_a: None
        }
    ));
    assert!(has(
        &ok,
        &CallAction::Ivr(CtiToIvr::TransferAnswered { contact: CONTACT })
    ));
    assert!(has(&ok, &CallAction::Bye { leg: LegId::IVR }));
    assert!(has(
        &ok,
        &CallAction::Cdr(CdrUpdate::Transferred { uri: TARGET.into() })
    ));
    assert!(
        !ok.iter()
            .any(|a| matches!(a, CallAction::CallerReInvite { .. })),
        "same codec: no re-INVITE in relay mode"
    );
    assert_eq!(w.call.state(), CallState::Connected);
    assert_eq!(w.call.poll_timeout(), None, "no ring deadline once bridged");
    // The target hangs up: the caller is hung up too, cleared once.
    let bye = w.feed(CallInput::Bye { leg });
    assert!(has(&bye, &CallAction::CallerBye));
    assert_eq!(w.cleared_count(), 1);
    assert!(w.call.is_done());
}

#[test]
fn direct_mode_transfer_reinvites_the_caller_with_the_targets_sdp() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let asked = w.feed(CallInput::IvrTransfers {
        uri: TARGET.into(),
        ring: RING,
    });
    let (leg, _, offer) = invite_external(&asked).unwrap();
    assert_eq!(
        offer,
        Some(caller_sdp()),
        "direct mode offers the caller's SDP"
    );
    let ok = w.feed(CallInput::Answered {
        leg,
        sdp: Some(external_sdp()),
    });
    assert!(has(
        &ok,
        &CallAction::CallerReInvite {
            sdp: external_sdp()
        }
    ));
}

#[test]
fn busy_target_sends_486_back_to_the_ivr_which_keeps_the_call() {
    let (mut w, asked) = transferring();
    let (leg, _, _) = invite_external(&asked).unwrap();
    let busy = w.feed(CallInput::Failed { leg, code: 486 });
    assert_eq!(busy, vec![failed(486)]);
    assert_eq!(w.call.state(), CallState::InIvr);
    assert_eq!(w.call.poll_timeout(), None);
    assert_eq!(w.cleared_count(), 0, "the caller is still in the IVR");
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER, LegId::IVR]);
    // The flow's on_error may queue the caller as usual.
    w.set_ready("alice", true);
    let divert = w.request_agent("sales");
    assert!(invite_agent(&divert).is_some());
    // A second transfer gets a new leg number.
    let (mut w, _) = transferring();
    w.feed(CallInput::Failed {
        leg: LegId::external(1),
        code: 404,
    });
    let again = w.feed(CallInput::IvrTransfers {
        uri: TARGET.into(),
        ring: RING,
    });
    assert_eq!(invite_external(&again).unwrap().0, LegId::external(2));
}

#[test]
fn a_call_stops_dialling_out_after_max_transfers() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    for n in 1..=8 {
        let asked = w.feed(CallInput::IvrTransfers {
            uri: TARGET.into(),
            ring: RING,
        });
        let (leg, _, _) = invite_external(&asked).expect("INVITE");
        assert_eq!(leg, LegId::external(n));
        assert_eq!(
            w.feed(CallInput::Failed { leg, code: 486 }),
            vec![failed(486)]
        );
    }
    let ninth = w.feed(CallInput::IvrTransfers {
        uri: TARGET.into(),
        ring: RING,
    });
    assert_eq!(ninth, vec![failed(403)], "no ninth INVITE");
    assert_eq!(w.call.state(), CallState::InIvr);
}

#[test]
fn ring_timeout_cancels_the_target_and_a_late_answer_is_refused() {
    let (mut w, asked) = transferring();
    let (leg, _, _) = invite_external(&asked).unwrap();
    let deadline = w.call.poll_timeout().expect("ring deadline");
    assert_eq!(deadline, w.now + RING);
    let early = w.call.handle(
        deadline - Duration::from_millis(1),
        CallInput::TransferTimeout,
    );
    assert_eq!(early, vec![], "not yet due");
    w.now = deadline;
    let timeout = w.feed(CallInput::TransferTimeout);
    assert_eq!(timeout, vec![CallAction::Cancel { leg }, failed(408)]);
    assert_eq!(w.call.state(), CallState::InIvr);
    assert_eq!(w.call.poll_timeout(), None);
    // The 487 to our CANCEL is quiet; a 200 racing the CANCEL is ACKed and BYEd.
    assert_eq!(w.feed(CallInput::Failed { leg, code: 487 }), vec![]);
    let (mut w, asked) = transferring();
    let (leg, _, _) = invite_external(&asked).unwrap();
    w.now += RING;
    w.feed(CallInput::TransferTimeout);
    let late = w.feed(CallInput::Answered {
        leg,
        sdp: Some(external_sdp()),
    });
    assert_eq!(
        late,
        vec![CallAction::Ack { leg, sdp: None }, CallAction::Bye { leg }]
    );
    assert_eq!(w.call.state(), CallState::InIvr);
}

#[test]
fn caller_hangup_while_the_target_rings_cancels_it() {
    let (mut w, asked) = transferring();
    let (leg, _, _) = invite_external(&asked).unwrap();
    let bye = w.feed(CallInput::CallerBye);
    assert!(has(&bye, &CallAction::Cancel { leg }));
    assert!(has(&bye, &CallAction::Bye { leg: LegId::IVR }));
    assert!(has(
        &bye,
        &CallAction::Cdr(CdrUpdate::Ended {
            cause: ClearCause::NormalClearing
        })
    ));
    assert!(
        !bye.iter().any(|a| matches!(a, CallAction::Ivr(_))),
        "no transfer verdict for a call that is gone"
    );
    assert_eq!(w.call.state(), CallState::Clearing);
    assert_eq!(w.feed(CallInput::Failed { leg, code: 487 }), vec![]);
    assert!(w.call.is_done());
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn transfer_outside_the_ivr_is_refused_at_once() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    // Still ringing the IVR: the caller is not answered.
    let refused = w.feed(CallInput::IvrTransfers {
        uri: TARGET.into(),
        ring: RING,
    });
    assert_eq!(refused, vec![failed(491)]);
    // Between our 200 and the caller's ACK the request waits for the ACK.
    w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    let kept = w.feed(CallInput::IvrTransfers {
        uri: TARGET.into(),
        ring: RING,
    });
    assert_eq!(kept, vec![]);
    let ack = w.feed(CallInput::CallerAck { sdp: None });
    assert!(invite_external(&ack).is_some());
}

#[test]
fn target_answer_without_sdp_is_a_failed_transfer() {
    let (mut w, asked) = transferring();
    let (leg, _, _) = invite_external(&asked).unwrap();
    let ok = w.feed(CallInput::Answered { leg, sdp: None });
    assert!(has(&ok, &CallAction::Bye { leg }));
    assert!(has(&ok, &failed(488)));
    assert_eq!(w.call.state(), CallState::InIvr);
    assert!(!has(&ok, &CallAction::Bye { leg: LegId::IVR }));
}
