//! The desk's hold and retrieve (`desk_hold.rs`) in relay and direct mode:
//! hold opens the IVR's hold leg and bridges the caller to it while the
//! agent's leg stays up; retrieve releases it and joins the agent again.

use super::*;
use crate::b2bua::TRANSFER_HOLD_SCRIPT;

fn talking(mode: MediaMode) -> (World, LegId) {
    let (mut w, _) = World::new(mode, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    if mode == MediaMode::Direct {
        w.feed(CallInput::ReInviteAnswered {
            leg: LegId::CALLER,
            sdp: Some(caller_sdp()),
        });
    }
    (w, leg)
}

fn hold_leg(actions: &[CallAction]) -> Option<LegId> {
    actions.iter().find_map(|a| match a {
        CallAction::InviteIvr { leg, script, .. } if script == TRANSFER_HOLD_SCRIPT => Some(*leg),
        _ => None,
    })
}

fn event(name: &str, actions: &[CallAction]) -> bool {
    actions.iter().any(|a| match a {
        CallAction::Event(e @ (CstaEvent::Held { .. } | CstaEvent::Retrieved { .. })) => {
            serde_json::to_value(e).unwrap()["event"] == name
        }
        _ => false,
    })
}

#[test]
fn relay_hold_bridges_the_caller_to_hold_music_and_retrieve_back_to_the_agent() {
    let (mut w, agent) = talking(MediaMode::Relay);
    let held = w.feed(CallInput::DeskHold);
    let hold = hold_leg(&held).expect("hold leg INVITE");
    assert!(event("Held", &held));
    assert!(w.call.is_held());
    let up = w.feed(CallInput::Answered {
        leg: hold,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(
        &up,
        &CallAction::RelayPoint {
            side_b: Some(addr("127.0.0.1:6000")),
            side_a: None
        }
    ));
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER, agent, hold]);
    assert!(w.feed(CallInput::DeskHold).is_empty(), "already held");
    let back = w.feed(CallInput::DeskRetrieve);
    assert!(has(&back, &CallAction::Bye { leg: hold }));
    assert!(has(
        &back,
        &CallAction::RelayPoint {
            side_b: Some(addr("10.0.0.50:8000")),
            side_a: None
        }
    ));
    assert!(event("Retrieved", &back));
    assert!(!w.call.is_held());
    assert_eq!(w.call.state(), CallState::Connected);
    assert!(w.feed(CallInput::DeskRetrieve).is_empty(), "not held");
}

#[test]
fn direct_retrieve_reinvites_the_caller_with_the_agents_answer() {
    let (mut w, _) = talking(MediaMode::Direct);
    let hold = hold_leg(&w.feed(CallInput::DeskHold)).unwrap();
    let up = w.feed(CallInput::Answered {
        leg: hold,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(&up, &CallAction::CallerReInvite { sdp: ivr_sdp() }));
    w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: Some(caller_sdp()),
    });
    let back = w.feed(CallInput::DeskRetrieve);
    assert!(has(
        &back,
        &CallAction::CallerReInvite {
            sdp: agent_sdp("0")
        }
    ));
}

#[test]
fn hold_outside_a_call_does_nothing_and_the_agents_bye_ends_a_held_call() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    assert!(w.feed(CallInput::DeskHold).is_empty());
    assert!(!w.call.is_held());
    let (mut w, agent) = talking(MediaMode::Relay);
    let hold = hold_leg(&w.feed(CallInput::DeskHold)).unwrap();
    let bye = w.feed(CallInput::Bye { leg: agent });
    assert!(has(&bye, &CallAction::CallerBye));
    assert!(has(&bye, &CallAction::Cancel { leg: hold }));
    assert_eq!(w.cleared_count(), 1);
}
