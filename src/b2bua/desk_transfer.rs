//! The desk's blind transfer on the B2BUA side (issue 6; ECMA-269
//! SingleStepTransferCall, the CTI's `cti/transfer.rs` decides): when the
//! CTI reports `Transferred`, the transferring agent's leg is released (BYE,
//! RFC 3261 §15) and the call is Queued again. To a queue, the caller gets
//! a hold leg at once: a fresh INVITE to the IVR running
//! [`TRANSFER_HOLD_SCRIPT`] with our offer (relay mode: the relay's B side
//! in the caller's codec; direct mode: the caller's description), bridged
//! on its 2xx like an agent. To an agent, the CTI's DivertCall follows in
//! the same batch and rings the target (the caller hears nothing while it
//! rings, as in step 8); if that offer fails the contact is requeued and
//! the hold leg starts then. The next DivertCall releases the hold leg.
//! The hold flow's BYE (its goodbye after the queue timeout) ends the call.

use super::actions::{CallAction, CallState, CdrUpdate};
use super::call::Call;
use super::legs::{LegId, LegPhase};
use super::sdp_plan::relay_offer;
use crate::cti::{ClearCause, TransferTarget};

/// The IVR flow that holds a transferred caller (`ivr-scripts/`).
pub const TRANSFER_HOLD_SCRIPT: &str = "transfer-hold";
/// Most hold legs per call (each failed offer may open one).
pub const MAX_HOLDS: u32 = 16;

impl Call {
    /// The CTI accepted the desk's transfer of this (Connected) call.
    pub(super) fn on_desk_transfer(&mut self, to: TransferTarget, out: &mut Vec<CallAction>) {
        if self.state != CallState::Connected || self.cleared {
            return;
        }
        let Some(offer) = self.agent.take() else {
            return;
        };
        self.release_leg(offer.leg, out);
        self.desk_transferred = true;
        self.held = false;
        self.agent_answer = None;
        self.state = CallState::Queued;
        if let TransferTarget::Queue { queue } = to {
            out.push(CallAction::Cdr(CdrUpdate::Queued { queue: queue.0 }));
            self.start_hold(out);
        }
    }

    /// A transferred call is Queued again with no hold leg: open one.
    pub(super) fn start_hold(&mut self, out: &mut Vec<CallAction>) {
        if !self.desk_transferred || self.hold.is_some() || self.state != CallState::Queued {
            return;
        }
        self.open_hold_leg(out);
    }

    /// INVITEs the IVR's hold flow; false when no leg may be opened.
    pub(super) fn open_hold_leg(&mut self, out: &mut Vec<CallAction>) -> bool {
        if self.hold.is_some() || self.holds >= MAX_HOLDS {
            return false;
        }
        let leg = LegId::hold(self.holds.saturating_add(1));
        if !self.legs.open(leg) {
            return false;
        }
        self.holds = leg.attempt;
        let sdp = match self.relay_addrs() {
            None => self.caller_sdp.clone(),
            Some(relay) => {
                let origin = self.next_b_origin();
                Some(relay_offer(relay.b_side, origin, self.codec))
            }
        };
        self.hold = Some(leg);
        out.push(CallAction::InviteIvr {
            leg,
            script: TRANSFER_HOLD_SCRIPT.to_owned(),
            sdp,
        });
        true
    }

    /// DivertCall: the hold music stops (CANCEL or BYE).
    pub(super) fn stop_hold(&mut self, out: &mut Vec<CallAction>) {
        if let Some(leg) = self.hold.take() {
            self.release_leg(leg, out);
        }
    }

    fn is_hold(&self, leg: LegId) -> bool {
        self.hold == Some(leg)
    }

    pub(super) fn on_hold_provisional(&mut self, leg: LegId) {
        if self.is_hold(leg) && self.legs.phase(leg) == Some(LegPhase::Calling) {
            self.legs.set(leg, LegPhase::Early);
        }
    }

    /// The IVR answered: the caller hears the hold flow.
    pub(super) fn on_hold_answered(
        &mut self,
        leg: LegId,
        sdp: Option<Vec<u8>>,
        out: &mut Vec<CallAction>,
    ) {
        let ringing = matches!(
            self.legs.phase(leg),
            Some(LegPhase::Calling | LegPhase::Early)
        );
        let waiting = self.state == CallState::Queued || self.held;
        if !ringing || !self.is_hold(leg) || !waiting {
            if self.legs.phase(leg) == Some(LegPhase::Up) {
                return; // a 2xx retransmission
            }
            return self.refuse_answer(leg, out);
        }
        if !self.connect(leg, sdp, out) {
            self.refuse_answer(leg, out);
            self.hold = None;
        }
    }

    /// The hold flow could not start: the caller waits in silence.
    pub(super) fn on_hold_failed(&mut self, leg: LegId) {
        if self.close_failed(leg).is_some() && self.is_hold(leg) {
            self.hold = None;
        }
    }

    /// The hold flow hung up (its goodbye after the queue timeout): the
    /// call ends.
    pub(super) fn on_hold_bye(&mut self, leg: LegId, out: &mut Vec<CallAction>) {
        let Some(phase) = self.legs.close(leg) else {
            return;
        };
        if !self.is_hold(leg) || phase == LegPhase::Cancelling || self.cleared {
            return;
        }
        self.hold = None;
        if matches!(self.state, CallState::Queued | CallState::InIvr) {
            self.hang_up_caller(480, "Temporarily Unavailable", out);
            self.clear(ClearCause::NormalClearing, out);
        }
    }
}
