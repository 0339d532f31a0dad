//! The IVR's `transfer` node on the B2BUA side (issue 5): interface B's
//! `TransferExternal { uri }` makes the call INVITE an external party
//! (RFC 3261 §13) with the caller's SDP — relay mode: a fresh offer on the
//! relay's B side in the caller's codec, as for agents — while the IVR leg
//! stays up and the caller keeps hearing the flow. On the 2xx the caller is
//! bridged (relay re-pointed, or re-INVITEd in direct mode), the IVR is told
//! `TransferAnswered` and its leg gets BYE. A final failure, or the ring
//! deadline (`timeout_s`, CANCEL per §9.1), is reported to the IVR as
//! `TransferFailed { code }` and the flow follows its `on_error`. The call
//! keeps the deadline as data: [`Call::poll_timeout`] and
//! [`CallInput::TransferTimeout`](super::CallInput::TransferTimeout).

use super::actions::{CallAction, CallState, CdrUpdate, CtiToIvr};
use super::call::Call;
use super::legs::{CallerPhase, LegId, LegPhase};
use super::sdp_plan::relay_offer;
use crate::cti::ClearCause;
use std::time::{Duration, Instant};

/// Status reported when the ring deadline passed (Request Timeout).
pub const RING_TIMEOUT_CODE: u16 = 408;
/// Status reported when the call cannot transfer now (not in the IVR).
pub const NOT_NOW_CODE: u16 = 491;
/// Most transfer attempts per call; later ones fail at once with
/// [`TOO_MANY_CODE`], so no flow can keep dialling out (toll fraud).
pub const MAX_TRANSFERS: u32 = 8;
pub const TOO_MANY_CODE: u16 = 403;

/// The transfer leg ringing or bridged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransferOffer {
    pub leg: LegId,
    pub uri: String,
    pub deadline: Instant,
}

impl Call {
    fn is_transfer(&self, leg: LegId) -> bool {
        self.transfer.as_ref().is_some_and(|t| t.leg == leg)
    }

    fn transfer_failed(&mut self, code: u16, out: &mut Vec<CallAction>) {
        let contact = self.contact;
        out.push(CallAction::Ivr(CtiToIvr::TransferFailed { contact, code }));
    }

    /// Interface B: ring `uri` for at most `ring`. Accepted while the call
    /// is in the IVR with the caller confirmed; kept for the caller's ACK
    /// when it comes before it; refused (491) otherwise, so the flow
    /// never waits for an answer that cannot come.
    pub(super) fn on_ivr_transfers(
        &mut self,
        now: Instant,
        uri: String,
        ring: Duration,
        out: &mut Vec<CallAction>,
    ) {
        if self.cleared {
            return;
        }
        let ivr_up = matches!(
            self.legs.phase(LegId::IVR),
            Some(LegPhase::AwaitingAck | LegPhase::Up)
        );
        if self.state == CallState::InIvr && self.caller == CallerPhase::Answered && ivr_up {
            self.pending_transfer = Some((uri, ring));
            return;
        }
        let ready = self.state == CallState::InIvr
            && self.caller == CallerPhase::Confirmed
            && self.legs.phase(LegId::IVR) == Some(LegPhase::Up);
        if self.transfers >= MAX_TRANSFERS {
            return self.transfer_failed(TOO_MANY_CODE, out);
        }
        let leg = LegId::external(self.transfers.saturating_add(1));
        if !ready || !self.legs.open(leg) {
            return self.transfer_failed(NOT_NOW_CODE, out);
        }
        self.transfers = leg.attempt;
        let sdp = match self.relay_addrs() {
            None => self.caller_sdp.clone(),
            Some(relay) => {
                let origin = self.next_b_origin();
                Some(relay_offer(relay.b_side, origin, self.codec))
            }
        };
        self.transfer = Some(TransferOffer {
            leg,
            uri: uri.clone(),
            deadline: now.checked_add(ring).unwrap_or(now),
        });
        out.push(CallAction::InviteExternal { leg, uri, sdp });
        self.state = CallState::Transferring;
    }

    /// A 1xx: the target rings (the caller keeps hearing the IVR).
    pub(super) fn on_external_provisional(&mut self, leg: LegId) {
        if self.is_transfer(leg) && self.legs.phase(leg) == Some(LegPhase::Calling) {
            self.legs.set(leg, LegPhase::Early);
        }
    }

    /// The target answered: bridge, tell the IVR, release its leg.
    pub(super) fn on_external_answered(
        &mut self,
        leg: LegId,
        sdp: Option<Vec<u8>>,
        out: &mut Vec<CallAction>,
    ) {
        let ringing = matches!(
            self.legs.phase(leg),
            Some(LegPhase::Calling | LegPhase::Early)
        );
        if !ringing || !self.is_transfer(leg) || self.state != CallState::Transferring {
            if matches!(self.legs.phase(leg), Some(LegPhase::Up)) {
                return; // a 2xx retransmission
            }
            return self.refuse_answer(leg, out);
        }
        if !self.connect(leg, sdp, out) {
            self.refuse_answer(leg, out);
            self.transfer = None;
            self.state = CallState::InIvr;
            // The target answered with no usable SDP (RFC 3264 §6).
            return self.transfer_failed(488, out);
        }
        let contact = self.contact;
        out.push(CallAction::Ivr(CtiToIvr::TransferAnswered { contact }));
        self.release_leg(LegId::IVR, out);
        let uri = self
            .transfer
            .as_ref()
            .map(|t| t.uri.clone())
            .unwrap_or_default();
        out.push(CallAction::Cdr(CdrUpdate::Transferred { uri }));
        self.state = CallState::Connected;
    }

    /// Busy, declined, unreachable, refused by the engine: the IVR goes on.
    pub(super) fn on_external_failed(&mut self, leg: LegId, code: u16, out: &mut Vec<CallAction>) {
        let Some(phase) = self.close_failed(leg) else {
            return;
        };
        if phase == LegPhase::Cancelling || !self.is_transfer(leg) || self.cleared {
            return;
        }
        self.transfer = None;
        self.state = CallState::InIvr;
        self.transfer_failed(code, out);
    }

    /// The ring deadline: CANCEL the target and let the IVR go on.
    pub(super) fn on_transfer_timeout(&mut self, now: Instant, out: &mut Vec<CallAction>) {
        let due = self.poll_timeout().is_some_and(|at| now >= at);
        if !due || self.cleared {
            return;
        }
        if let Some(t) = self.transfer.take() {
            self.release_leg(t.leg, out);
        }
        self.state = CallState::InIvr;
        self.transfer_failed(RING_TIMEOUT_CODE, out);
    }

    /// The target's BYE: once bridged, the caller is hung up too.
    pub(super) fn on_external_bye(&mut self, leg: LegId, out: &mut Vec<CallAction>) {
        let Some(_) = self.legs.close(leg) else {
            return;
        };
        if !self.is_transfer(leg) || self.cleared {
            return;
        }
        if self.state == CallState::Connected {
            self.hang_up_caller(0, "", out);
            self.clear(ClearCause::NormalClearing, out);
        }
    }
}
