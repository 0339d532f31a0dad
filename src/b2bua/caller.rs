//! Caller-side inputs of [`Call`] (we are the caller's UAS): the ACK to our
//! 2xx (carrying the answer when the INVITE had no SDP, RFC 3261 §13.2.1,
//! relayed to the IVR in our ACK: mission step 4), CANCEL while unanswered
//! (487), BYE at any stage (steps 5 and 10), and the outcome of our
//! re-INVITE toward the agent (step 10).

use super::actions::{CallAction, MediaMode};
use super::call::Call;
use super::legs::{CallerPhase, LegId, LegPhase};
use super::sdp_plan::{describe, rewrite};
use crate::cti::ClearCause;

impl Call {
    pub(super) fn on_caller_ack(&mut self, sdp: Option<Vec<u8>>, out: &mut Vec<CallAction>) {
        if self.caller != CallerPhase::Answered {
            return;
        }
        self.caller = CallerPhase::Confirmed;
        if self.legs.phase(LegId::IVR) != Some(LegPhase::AwaitingAck) {
            return;
        }
        match self.relay_answer_to_ivr(sdp) {
            Some(ack_sdp) => {
                if let (Some(addr), MediaMode::Relay) = (self.caller_media, self.mode) {
                    out.push(CallAction::RelayPoint {
                        side_b: None,
                        side_a: Some(addr),
                    });
                }
                out.push(CallAction::Ack {
                    leg: LegId::IVR,
                    sdp: Some(ack_sdp),
                });
                self.legs.set(LegId::IVR, LegPhase::Up);
            }
            None => {
                // A late offer answered without (usable) SDP: nothing can
                // flow. Release both sides.
                self.hang_up_caller(0, "", out);
                self.clear(ClearCause::NetworkFailure, out);
            }
        }
    }

    /// The caller's answer as the IVR must see it; also learns the caller's
    /// media address and codec.
    fn relay_answer_to_ivr(&mut self, sdp: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let sdp = sdp?;
        let d = describe("caller ACK", &sdp).ok()?;
        self.caller_media = Some(d.addr);
        self.codec = d.codec;
        self.caller_sdp = Some(sdp.clone());
        match self.relay_addrs() {
            None => Some(sdp),
            Some(relay) => {
                let origin = self.next_b_origin();
                rewrite("caller ACK", &sdp, relay.b_side, origin).ok()
            }
        }
    }

    pub(super) fn on_caller_cancel(&mut self, out: &mut Vec<CallAction>) {
        // CANCEL after our 2xx has no effect (RFC 3261 §9.2).
        if self.caller != CallerPhase::Invited || self.cleared {
            return;
        }
        self.hang_up_caller(487, "Request Terminated", out);
        self.clear(ClearCause::CallCancelled, out);
    }

    pub(super) fn on_caller_bye(&mut self, out: &mut Vec<CallAction>) {
        match self.caller {
            CallerPhase::Gone => {}
            CallerPhase::Invited => self.on_caller_cancel(out),
            CallerPhase::Answered | CallerPhase::Confirmed | CallerPhase::ReInviting => {
                self.caller = CallerPhase::Gone;
                self.clear(ClearCause::NormalClearing, out);
            }
        }
    }

    /// Step 10 done: the caller accepted the re-INVITE; ACK it. Relay mode
    /// re-points side A if the caller moved its media.
    pub(super) fn on_reinvite_answered(&mut self, sdp: Option<Vec<u8>>, out: &mut Vec<CallAction>) {
        if self.caller != CallerPhase::ReInviting {
            return;
        }
        self.caller = CallerPhase::Confirmed;
        out.push(CallAction::CallerAck);
        if let Some(d) = sdp
            .as_deref()
            .and_then(|s| describe("caller re-INVITE 200", s).ok())
        {
            if self.mode == MediaMode::Relay && self.caller_media != Some(d.addr) {
                out.push(CallAction::RelayPoint {
                    side_b: None,
                    side_a: Some(d.addr),
                });
            }
            self.caller_media = Some(d.addr);
        }
    }

    /// The caller refused the re-INVITE: its media still points at the IVR
    /// that is gone, so the call cannot go on. Hang up both sides.
    pub(super) fn on_reinvite_failed(&mut self, out: &mut Vec<CallAction>) {
        if self.caller != CallerPhase::ReInviting {
            return;
        }
        self.caller = CallerPhase::Confirmed;
        self.hang_up_caller(0, "", out);
        self.clear(ClearCause::NetworkFailure, out);
    }
}
