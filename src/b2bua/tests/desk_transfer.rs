//! The desk's blind transfer on the call model (`desk_transfer.rs`), in
//! relay mode against a real CTI: the first agent's leg gets BYE, the
//! target agent is INVITEd (or a hold leg to the IVR opens), failures bring
//! the hold leg, the next divert releases it, and the hold flow's BYE ends
//! the call.

use super::*;
use crate::b2bua::TRANSFER_HOLD_SCRIPT;
use crate::cti::TransferTarget;

const IVR_HOLD: &str = "127.0.0.1:6000";

/// Relay mode, alice answered on agent leg 1; bob stays NotReady.
fn alice_talking() -> (World, LegId) {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, agent, _) = invite_agent(&w.request_agent("sales")).unwrap();
    assert_eq!(agent, "alice");
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert_eq!(w.call.state(), CallState::Connected);
    (w, leg)
}

impl World {
    fn transfer(&mut self, to: TransferTarget) -> Vec<CallAction> {
        let input = cti::Input::Transfer {
            agent: AgentId::from("alice"),
            to,
        };
        let outs = self.cti.handle(self.now, input);
        assert!(
            !outs.iter().any(|o| matches!(o, Output::Refused { .. })),
            "{outs:?}"
        );
        let back = self.route(outs);
        self.pump(back)
    }
}

fn to_bob() -> TransferTarget {
    TransferTarget::Agent {
        agent: AgentId::from("bob"),
    }
}

fn to_sales() -> TransferTarget {
    TransferTarget::Queue {
        queue: QueueName::from("sales"),
    }
}

fn hold_invite(actions: &[CallAction]) -> Option<(LegId, Option<Vec<u8>>)> {
    actions.iter().find_map(|a| match a {
        CallAction::InviteIvr { leg, script, sdp } if script == TRANSFER_HOLD_SCRIPT => {
            Some((*leg, sdp.clone()))
        }
        _ => None,
    })
}

fn index(actions: &[CallAction], f: impl Fn(&CallAction) -> bool) -> usize {
    actions.iter().position(f).unwrap_or(usize::MAX)
}

#[test]
fn blind_to_an_agent_byes_the_first_and_bridges_the_second_on_answer() {
    let (mut w, alice) = alice_talking();
    w.set_ready("bob", true);
    let out = w.transfer(to_bob());
    let bye = index(&out, |a| *a == CallAction::Bye { leg: alice });
    let invite = index(&out, |a| matches!(a, CallAction::InviteAgent { .. }));
    assert!(
        bye < invite && invite < out.len(),
        "BYE alice, then INVITE bob: {out:?}"
    );
    let (bob, agent, _) = invite_agent(&out).unwrap();
    assert_eq!((bob, agent.as_str()), (LegId::agent(2), "bob"));
    assert_eq!(hold_invite(&out), None, "bob rings: no hold leg");
    assert_eq!(w.call.state(), CallState::Diverting);
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    let answered = w.feed(CallInput::Answered {
        leg: bob,
        sdp: Some(sdp("10.0.0.60", 8100, "0", false)),
    });
    assert!(has(
        &answered,
        &CallAction::RelayPoint {
            side_b: Some(addr("10.0.0.60:8100")),
            side_a: None
        }
    ));
    assert!(has(
        &answered,
        &CallAction::Cdr(CdrUpdate::AgentAnswered {
            agent: AgentId::from("bob")
        })
    ));
    assert_eq!(w.call.state(), CallState::Connected);
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER, bob]);
    assert_eq!(
        w.agent_state("bob"),
        AgentState::InCall { contact: CONTACT }
    );
    assert_eq!(w.cti.check_invariants(), Ok(()));
}

#[test]
fn a_target_that_rejects_brings_hold_music_until_the_next_divert() {
    let (mut w, _) = alice_talking();
    w.set_ready("bob", true);
    let (bob, _, _) = invite_agent(&w.transfer(to_bob())).unwrap();
    // bob declines; nobody else is free (alice in wrap-up): hold.
    w.set_ready("bob", false);
    let out = w.feed(CallInput::Failed {
        leg: bob,
        code: 603,
    });
    let (hold, offer) = hold_invite(&out).expect("hold leg");
    assert_eq!(hold, LegId::hold(1));
    let offer = text(&offer.expect("relay offer"));
    assert!(offer.contains("c=IN IP4 192.0.2.2"), "{offer}");
    let invite = index(&out, |a| matches!(a, CallAction::InviteIvr { .. }));
    let report = index(&out, |a| matches!(a, CallAction::Cti(_)));
    assert!(
        invite < report,
        "hold INVITE before the CTI report: {out:?}"
    );
    assert_eq!(w.call.state(), CallState::Queued);
    let up = w.feed(CallInput::Answered {
        leg: hold,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(
        &up,
        &CallAction::Ack {
            leg: hold,
            sdp: None
        }
    ));
    assert!(has(
        &up,
        &CallAction::RelayPoint {
            side_b: Some(addr(IVR_HOLD)),
            side_a: None
        }
    ));
    // alice's wrap-up (5 s) ends: she gets the call again, the hold stops.
    let next = w.advance(6);
    let (leg3, agent, _) = invite_agent(&next).expect("re-offered");
    assert_eq!((leg3, agent.as_str()), (LegId::agent(3), "alice"));
    assert!(has(&next, &CallAction::Bye { leg: hold }));
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER, leg3]);
}

#[test]
fn blind_to_a_queue_holds_the_caller_and_the_hold_flows_bye_ends_the_call() {
    let (mut w, alice) = alice_talking();
    let out = w.transfer(to_sales());
    assert!(has(&out, &CallAction::Bye { leg: alice }));
    assert!(has(
        &out,
        &CallAction::Cdr(CdrUpdate::Queued {
            queue: "sales".into()
        })
    ));
    let (hold, _) = hold_invite(&out).expect("hold leg");
    assert_eq!(w.call.state(), CallState::Queued);
    w.feed(CallInput::Provisional {
        leg: hold,
        code: 180,
        sdp: None,
    });
    w.feed(CallInput::Answered {
        leg: hold,
        sdp: Some(ivr_sdp()),
    });
    // The queue's maximum wait (60 s) passes: the hold flow says goodbye.
    let timeout = w.advance(61);
    assert!(has(
        &timeout,
        &CallAction::Ivr(CtiToIvr::QueueTimeout { contact: CONTACT })
    ));
    assert_eq!(w.call.state(), CallState::InIvr);
    let bye = w.feed(CallInput::Bye { leg: hold });
    assert!(has(&bye, &CallAction::CallerBye));
    assert_eq!(w.cleared_count(), 1);
    assert!(w.call.is_done());
}

#[test]
fn a_hold_leg_that_fails_leaves_the_call_queued_and_a_timeout_ends_it() {
    let (mut w, _) = alice_talking();
    let (hold, _) = hold_invite(&w.transfer(to_sales())).unwrap();
    let failed = w.feed(CallInput::Failed {
        leg: hold,
        code: 404,
    });
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(w.call.state(), CallState::Queued);
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER]);
    let timeout = w.advance(61);
    assert!(has(&timeout, &CallAction::CallerBye), "{timeout:?}");
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn transferred_outside_a_connected_call_changes_nothing() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    let out = w.feed(CallInput::Cti(Output::Transferred {
        contact: CONTACT,
        from: AgentId::from("alice"),
        to: to_sales(),
    }));
    assert!(out.is_empty());
    assert_eq!(w.call.state(), CallState::InIvr);
}

#[test]
fn the_callers_hang_up_while_the_hold_leg_rings_cancels_it() {
    let (mut w, _) = alice_talking();
    let (hold, _) = hold_invite(&w.transfer(to_sales())).unwrap();
    let bye = w.feed(CallInput::CallerBye);
    assert!(has(&bye, &CallAction::Cancel { leg: hold }), "{bye:?}");
    assert_eq!(w.cleared_count(), 1);
    w.feed(CallInput::Failed {
        leg: hold,
        code: 487,
    });
    assert!(w.call.is_done());
    assert_eq!(w.cti.contact(CONTACT), None, "the CTI forgot the contact");
}

#[test]
fn direct_mode_offers_the_callers_sdp_to_the_hold_flow_and_reinvites_the_caller() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: Some(caller_sdp()),
    });
    let (hold, offer) = hold_invite(&w.transfer(to_sales())).unwrap();
    assert_eq!(offer, Some(caller_sdp()));
    let up = w.feed(CallInput::Answered {
        leg: hold,
        sdp: Some(ivr_sdp()),
    });
    assert!(
        has(&up, &CallAction::CallerReInvite { sdp: ivr_sdp() }),
        "{up:?}"
    );
}
