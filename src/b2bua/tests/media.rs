//! SDP through the call: relay rewriting and re-pointing, codec change,
//! late offer in both modes, video detection, refused offers.

use super::*;

#[test]
fn video_sdp_delivers_a_video_call() {
    let (_, first) = World::new(
        MediaMode::Direct,
        Some(sdp("10.0.0.1", 4000, "0", true)),
        "8000",
    );
    assert!(has(
        &first,
        &CallAction::Event(CstaEvent::CallDelivered {
            contact: CONTACT,
            media: Media::Video,
            leg: Leg::Caller
        })
    ));
}

#[test]
fn relay_mode_rewrites_every_sdp_and_repoints_without_reinvite() {
    let (mut w, first) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    let to_ivr = invite_ivr_sdp(&first).flatten().expect("offer to IVR");
    let d = sdp_plan::describe("t", &to_ivr).unwrap();
    assert_eq!(d.addr, relay().b_side);
    assert!(has(
        &first,
        &CallAction::RelayPoint {
            side_b: None,
            side_a: Some(addr("10.0.0.1:4000"))
        }
    ));
    let ok = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(
        &ok,
        &CallAction::RelayPoint {
            side_b: Some(addr("127.0.0.1:6000")),
            side_a: None
        }
    ));
    let answer = ok
        .iter()
        .find_map(|a| match a {
            CallAction::CallerAnswer { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sdp_plan::describe("t", &answer).unwrap().addr,
        relay().a_side
    );
    assert!(!text(&answer).contains("127.0.0.1"));
    w.feed(CallInput::CallerAck { sdp: None });
    let divert = w.request_agent("sales");
    let (leg, _, offer) = invite_agent(&divert).unwrap();
    // A fresh B-side offer carrying only the codec the IVR chose (PCMU).
    let offer = text(&offer.unwrap());
    assert!(offer.contains("m=audio 20002 RTP/AVP 0 101\r\n"), "{offer}");
    let answered = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert!(has(
        &answered,
        &CallAction::RelayPoint {
            side_b: Some(addr("10.0.0.50:8000")),
            side_a: None
        }
    ));
    assert!(!answered
        .iter()
        .any(|a| matches!(a, CallAction::CallerReInvite { .. })));
    assert_eq!(w.call.state(), CallState::Connected);
}

#[test]
fn relay_mode_reinvites_the_caller_when_the_agent_codec_differs() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    let answered = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("8")),
    });
    let re = answered
        .iter()
        .find_map(|a| match a {
            CallAction::CallerReInvite { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .expect("re-INVITE");
    let d = sdp_plan::describe("t", &re).unwrap();
    assert_eq!(
        (d.addr, d.codec),
        (relay().a_side, Some(crate::media::Codec::Pcma))
    );
    assert_eq!(
        w.feed(CallInput::ReInviteAnswered {
            leg: LegId::CALLER,
            sdp: Some(caller_sdp())
        }),
        vec![CallAction::CallerAck]
    );
}

#[test]
fn late_offer_direct_relays_offer_in_200_and_answer_in_ack() {
    let (mut w, first) = World::new(MediaMode::Direct, None, "8000");
    assert_eq!(invite_ivr_sdp(&first), Some(None));
    let ok = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(&ok, &CallAction::CallerAnswer { sdp: ivr_sdp() }));
    assert!(
        !ok.iter().any(|a| matches!(a, CallAction::Ack { .. })),
        "ACK waits for the caller's answer"
    );
    let ack = w.feed(CallInput::CallerAck {
        sdp: Some(caller_sdp()),
    });
    assert_eq!(
        ack,
        vec![CallAction::Ack {
            leg: LegId::IVR,
            sdp: Some(caller_sdp())
        }]
    );
    // The agent later gets the caller's answer as its offer.
    let (_, _, offer) = invite_agent(&w.request_agent("sales")).unwrap();
    assert_eq!(offer, Some(caller_sdp()));
}

#[test]
fn late_offer_relay_rewrites_both_directions() {
    let (mut w, _) = World::new(MediaMode::Relay, None, "8000");
    let ok = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    let answer = ok
        .iter()
        .find_map(|a| match a {
            CallAction::CallerAnswer { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sdp_plan::describe("t", &answer).unwrap().addr,
        relay().a_side
    );
    let ack = w.feed(CallInput::CallerAck {
        sdp: Some(caller_sdp()),
    });
    assert!(has(
        &ack,
        &CallAction::RelayPoint {
            side_b: None,
            side_a: Some(addr("10.0.0.1:4000"))
        }
    ));
    let to_ivr = ack
        .iter()
        .find_map(|a| match a {
            CallAction::Ack { sdp: Some(s), .. } => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sdp_plan::describe("t", &to_ivr).unwrap().addr,
        relay().b_side
    );
}

#[test]
fn late_offer_ack_without_answer_clears_the_call() {
    let (mut w, _) = World::new(MediaMode::Direct, None, "8000");
    w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    let ack = w.feed(CallInput::CallerAck { sdp: None });
    assert!(has(&ack, &CallAction::CallerBye));
    assert!(has(&ack, &CallAction::Bye { leg: LegId::IVR }));
    assert!(w.call.is_done());
}

#[test]
fn bad_caller_sdp_is_refused_before_the_cti_hears_of_it() {
    let (w, first) = World::new(MediaMode::Direct, Some(b"not sdp".to_vec()), "8000");
    assert!(matches!(
        first.first(),
        Some(CallAction::CallerReject { code: 400, .. })
    ));
    assert!(!first.iter().any(|a| matches!(a, CallAction::Cti(_))));
    assert!(w.call.is_done());
}

#[test]
fn relay_mode_without_addresses_is_refused() {
    let setup = CallSetup {
        contact: CONTACT,
        caller: "sip:c@x".into(),
        dnis: "8000".into(),
        sdp: Some(caller_sdp()),
        mode: MediaMode::Relay,
        relay: None,
        trunk: None,
    };
    let (call, out) = Call::new(Instant::now(), setup);
    assert!(matches!(
        out.first(),
        Some(CallAction::CallerReject { code: 500, .. })
    ));
    assert!(call.is_done());
}

#[test]
fn relay_mode_early_media_reaches_the_caller_through_the_relay() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    let early = w.feed(CallInput::Provisional {
        leg: LegId::IVR,
        code: 183,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(
        &early,
        &CallAction::RelayPoint {
            side_b: Some(addr("127.0.0.1:6000")),
            side_a: None
        }
    ));
    let body = early
        .iter()
        .find_map(|a| match a {
            CallAction::CallerProvisional {
                code: 183,
                sdp: Some(s),
            } => Some(s.clone()),
            _ => None,
        })
        .expect("183 with SDP");
    assert_eq!(sdp_plan::describe("t", &body).unwrap().addr, relay().a_side);
}

#[test]
fn relay_mode_follows_a_caller_that_moves_its_media_in_the_reinvite_answer() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("8")),
    });
    let moved = sdp("10.0.0.1", 4100, "8", false);
    let ok = w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: Some(moved),
    });
    assert_eq!(
        ok,
        vec![
            CallAction::CallerAck,
            CallAction::RelayPoint {
                side_b: None,
                side_a: Some(addr("10.0.0.1:4100"))
            }
        ]
    );
}
