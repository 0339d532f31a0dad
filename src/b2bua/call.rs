//! [`Call`]: one contact's B2BUA call model (mission steps 1–10), a pure
//! state machine. The engine did the SIP work (transactions, dialogs, the
//! automatic 100 Trying) and feeds typed [`CallInput`]s; [`Call::handle`]
//! returns the [`CallAction`]s to perform. The call keeps no timers of its
//! own: ring timeouts are the CTI's, transaction timeouts (Timer B, Timer H)
//! reach the call as `Failed { code: 408 }` or `CallerBye`. This file holds
//! the state, the start (steps 1–2), the dispatch and the single clearing
//! path; the rules per side live in `caller.rs`, `ivr.rs`, `agent.rs` and
//! `cti_in.rs`.

use super::actions::{CallAction, CallInput, CallSetup, CallState, CdrUpdate, MediaMode};
use super::error::B2buaError;
use super::legs::{CallerPhase, LegId, LegKind, LegPhase, LegTable};
use super::sdp_plan::{describe, Origin};
use crate::cti::{self, AgentId, ClearCause, ContactId, CstaEvent, Leg, Media};
use crate::media::Codec;
use std::net::SocketAddr;
use std::time::Instant;

/// The agent leg being offered or connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AgentOffer {
    pub leg: LegId,
    pub agent: AgentId,
    /// The first 18x was reported to the CTI.
    pub rang: bool,
}

/// One call: caller leg + IVR leg + agent legs. See the module doc.
#[derive(Debug, Clone)]
pub struct Call {
    pub(super) contact: ContactId,
    pub(super) mode: MediaMode,
    pub(super) relay: Option<super::actions::RelayAddrs>,
    pub(super) caller_uri: String,
    pub(super) dnis: String,
    /// The carrier trunk the call came in on, for the RouteRequest.
    pub(super) trunk: Option<String>,
    pub(super) media: Media,
    pub(super) state: CallState,
    pub(super) caller: CallerPhase,
    /// The caller's latest description (its offer, or its answer in ACK).
    pub(super) caller_sdp: Option<Vec<u8>>,
    /// Where the caller wants RTP (relay side A target).
    pub(super) caller_media: Option<SocketAddr>,
    /// The codec the caller's session settled on.
    pub(super) codec: Option<Codec>,
    pub(super) script: Option<String>,
    pub(super) legs: LegTable,
    pub(super) agent: Option<AgentOffer>,
    pub(super) attempts: u32,
    pub(super) cleared: bool,
    /// Interface B's RequestAgent received before the caller's ACK.
    pub(super) pending_request: Option<super::ivr::PendingRequest>,
    /// The IVR's transfer ringing now, or bridged.
    pub(super) transfer: Option<super::transfer::TransferOffer>,
    /// Transfer legs opened so far (numbers the next one).
    pub(super) transfers: u32,
    /// Interface B's transfer received before the caller's ACK.
    pub(super) pending_transfer: Option<(String, std::time::Duration)>,
    /// A callback contact's plan (`callback.rs`); `None` for inbound calls.
    pub(super) callback: Option<super::callback::CallbackPlan>,
    /// Set while a [`CallInput::LegLost`] is being handled: the clearing
    /// it causes carries [`ClearCause::LegLost`].
    pub(super) leg_lost: bool,
    /// The desk transferred the call away from its agent (`desk_transfer`).
    pub(super) desk_transferred: bool,
    /// The hold leg playing to a transferred caller.
    pub(super) hold: Option<LegId>,
    /// Hold legs opened so far (numbers the next one).
    pub(super) holds: u32,
    /// The desk holds the caller (`desk_hold`).
    pub(super) held: bool,
    /// The connected agent's SDP answer (to join the caller to it again).
    pub(super) agent_answer: Option<Vec<u8>>,
    a_version: u64,
    b_version: u64,
}

impl Call {
    /// Step 1–2: a new INVITE. Emits CallDelivered (video if the SDP has an
    /// active video m-line) and RouteRequest to the CTI. An unusable offer
    /// (or relay mode without addresses) is refused at once (400/488/500)
    /// and the call is Done without the CTI ever hearing of it.
    pub fn new(_now: Instant, setup: CallSetup) -> (Call, Vec<CallAction>) {
        let mut call = Call::new_outbound(setup.contact, setup.caller, setup.mode, setup.relay);
        call.dnis = setup.dnis;
        call.trunk = setup.trunk;
        call.state = CallState::Offered;
        call.caller = CallerPhase::Invited;
        call.caller_sdp = setup.sdp;
        let mut out = Vec::new();
        match call.read_offer() {
            Ok(()) => call.deliver(&mut out),
            Err(e) => call.refuse_at_start(&e, &mut out),
        }
        (call, out)
    }

    /// A call with no caller leg yet, waiting in queue (a callback).
    pub(super) fn new_outbound(
        contact: ContactId,
        caller_uri: String,
        mode: MediaMode,
        relay: Option<super::actions::RelayAddrs>,
    ) -> Call {
        Call {
            contact,
            mode,
            relay,
            caller_uri,
            dnis: String::new(),
            trunk: None,
            media: Media::Audio,
            state: CallState::Queued,
            caller: CallerPhase::Gone,
            caller_sdp: None,
            caller_media: None,
            codec: None,
            script: None,
            legs: LegTable::default(),
            agent: None,
            attempts: 0,
            cleared: false,
            pending_request: None,
            transfer: None,
            transfers: 0,
            pending_transfer: None,
            callback: None,
            leg_lost: false,
            desk_transferred: false,
            hold: None,
            holds: 0,
            held: false,
            agent_answer: None,
            a_version: 0,
            b_version: 0,
        }
    }

    fn read_offer(&mut self) -> Result<(), B2buaError> {
        if self.mode == MediaMode::Relay && self.relay.is_none() {
            return Err(B2buaError::NoRelayAddrs);
        }
        if let Some(sdp) = &self.caller_sdp {
            let d = describe("caller INVITE", sdp)?;
            self.caller_media = Some(d.addr);
            self.codec = d.codec;
            if d.video {
                self.media = Media::Video;
            }
        }
        Ok(())
    }

    fn deliver(&mut self, out: &mut Vec<CallAction>) {
        let contact = self.contact;
        out.push(CallAction::Cdr(CdrUpdate::Arrived {
            caller: self.caller_uri.clone(),
            dnis: self.dnis.clone(),
            media: self.media,
        }));
        let delivered = CstaEvent::CallDelivered {
            contact,
            media: self.media,
            leg: Leg::Caller,
        };
        out.push(CallAction::Event(delivered));
        out.push(CallAction::Cti(cti::Input::CallDelivered {
            contact,
            media: self.media,
            leg: Leg::Caller,
        }));
        out.push(CallAction::Event(CstaEvent::RouteRequest {
            contact,
            dnis: self.dnis.clone(),
            caller: self.caller_uri.clone(),
            media: self.media,
            trunk: self.trunk.clone(),
        }));
        out.push(CallAction::Cti(cti::Input::RouteRequest {
            contact,
            dnis: self.dnis.clone(),
            caller: self.caller_uri.clone(),
            media: self.media,
            trunk: self.trunk.clone(),
        }));
        self.state = CallState::Routing;
    }

    fn refuse_at_start(&mut self, e: &B2buaError, out: &mut Vec<CallAction>) {
        out.push(CallAction::CallerReject {
            code: e.sip_status(),
            reason: e.to_string(),
        });
        self.caller = CallerPhase::Gone;
        self.cleared = true;
        let cause = ClearCause::NetworkFailure;
        out.push(CallAction::Event(CstaEvent::ConnectionCleared {
            contact: self.contact,
            cause,
        }));
        out.push(CallAction::Cdr(CdrUpdate::Ended { cause }));
        self.state = CallState::Done;
    }

    /// Applies one input. Inputs that do not fit the call's state (late
    /// retransmissions, races the engine could not order) change nothing,
    /// except that a 2xx on a leg we no longer want is ACKed and BYEd.
    pub fn handle(&mut self, now: Instant, input: CallInput) -> Vec<CallAction> {
        let mut out = Vec::new();
        if self.state == CallState::Done {
            self.stray_answer(&input, &mut out);
            return out;
        }
        self.dispatch(now, input, &mut out);
        self.settle();
        out
    }

    fn dispatch(&mut self, now: Instant, input: CallInput, out: &mut Vec<CallAction>) {
        use CallInput as I;
        match input {
            I::CallerAck { sdp } => {
                self.on_caller_ack(sdp, out);
                if let Some(r) = self.pending_request.take() {
                    self.on_ivr_requests_agent(r.queue, r.skills, r.priority, out);
                }
                if let Some((uri, ring)) = self.pending_transfer.take() {
                    self.on_ivr_transfers(now, uri, ring, out);
                }
            }
            I::CallerCancel => self.on_caller_cancel(out),
            I::CallerBye => self.on_caller_bye(out),
            I::Provisional { leg, code, sdp } => match leg.kind {
                LegKind::Ivr => self.on_ivr_provisional(code, sdp, out),
                LegKind::Agent => self.on_agent_provisional(leg, code, out),
                LegKind::External if self.is_callback() => self.on_customer_provisional(leg),
                LegKind::External => self.on_external_provisional(leg),
                LegKind::Hold => self.on_hold_provisional(leg),
                LegKind::Caller => {}
            },
            I::Answered { leg, sdp } => match leg.kind {
                LegKind::Ivr => self.on_ivr_answered(sdp, out),
                LegKind::Agent => {
                    self.on_agent_answered(leg, sdp, out);
                    self.on_callback_agent_up(now, out);
                }
                LegKind::External if self.is_callback() => {
                    self.on_customer_answered(now, leg, sdp, out)
                }
                LegKind::External => self.on_external_answered(leg, sdp, out),
                LegKind::Hold => self.on_hold_answered(leg, sdp, out),
                LegKind::Caller => {}
            },
            I::Failed { leg, code } => match leg.kind {
                LegKind::Ivr => self.on_ivr_failed(code, out),
                LegKind::Agent => self.on_agent_failed(leg, code, out),
                LegKind::External if self.is_callback() => {
                    self.on_customer_failed(now, leg, code, out)
                }
                LegKind::External => self.on_external_failed(leg, code, out),
                LegKind::Hold => self.on_hold_failed(leg),
                LegKind::Caller => {}
            },
            I::Bye { leg } => match leg.kind {
                LegKind::Ivr => self.on_ivr_bye(out),
                LegKind::Agent => self.on_agent_bye(leg, out),
                LegKind::External if self.is_callback() => self.on_customer_bye(leg, out),
                LegKind::External => self.on_external_bye(leg, out),
                LegKind::Hold => self.on_hold_bye(leg, out),
                LegKind::Caller => self.on_caller_bye(out),
            },
            I::ReInviteAnswered { leg, sdp } if leg.kind == LegKind::Caller => {
                self.on_reinvite_answered(sdp, out)
            }
            I::ReInviteFailed { leg, code: _ } if leg.kind == LegKind::Caller => {
                self.on_reinvite_failed(out)
            }
            I::ReInviteAnswered { .. } | I::ReInviteFailed { .. } => {}
            I::Cti(o) => self.on_cti(o, out),
            I::IvrRequestsAgent {
                queue,
                skills,
                priority,
            } => self.on_ivr_requests_agent(queue, skills, priority, out),
            I::IvrLeavesQueue => self.on_ivr_leaves_queue(out),
            I::IvrHungUp => self.on_ivr_bye(out),
            I::IvrTransfers { uri, ring } => self.on_ivr_transfers(now, uri, ring, out),
            I::TransferTimeout if self.is_callback() => self.on_callback_timeout(now, out),
            I::TransferTimeout => self.on_transfer_timeout(now, out),
            I::ServerShutdown => {
                self.hang_up_caller(503, "Service Unavailable", out);
                self.clear(ClearCause::ServerShutdown, out);
            }
            I::DeskHold => {
                self.on_desk_hold(out);
            }
            I::DeskRetrieve => {
                self.on_desk_retrieve(out);
            }
            I::DeskHangUp => {
                self.hang_up_caller(480, "Temporarily Unavailable", out);
                self.clear(ClearCause::NormalClearing, out);
            }
            I::LegLost { leg } => {
                let bye = if leg.kind == LegKind::Caller {
                    I::CallerBye
                } else {
                    I::Bye { leg }
                };
                self.leg_lost = true;
                self.dispatch(now, bye, out);
                self.leg_lost = false;
            }
        }
    }

    /// After the call is Done a 2xx can still arrive on a leg we cancelled
    /// long ago: ACK it and BYE it so no dialog is left up.
    fn stray_answer(&mut self, input: &CallInput, out: &mut Vec<CallAction>) {
        if let CallInput::Answered { leg, .. } = input {
            if leg.kind != LegKind::Caller {
                out.push(CallAction::Ack {
                    leg: *leg,
                    sdp: None,
                });
                out.push(CallAction::Bye { leg: *leg });
            }
        }
    }

    fn settle(&mut self) {
        if self.caller == CallerPhase::Gone && self.cleared {
            self.state = if self.legs.is_empty() {
                CallState::Done
            } else {
                CallState::Clearing
            };
        }
    }

    pub fn state(&self) -> CallState {
        self.state
    }

    pub fn contact(&self) -> ContactId {
        self.contact
    }

    /// When to feed [`CallInput::TransferTimeout`]: the ring deadline of
    /// a transfer still ringing, or a callback's ring or retry deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transfer
            .as_ref()
            .filter(|_| self.state == CallState::Transferring)
            .map(|t| t.deadline)
            .or_else(|| self.callback_deadline())
    }

    pub fn is_done(&self) -> bool {
        self.state == CallState::Done
    }

    /// Legs whose INVITE or dialog is still alive: the caller until it is
    /// gone, IVR/agent legs until they failed, were BYEd or answered our
    /// CANCEL.
    pub fn legs_up(&self) -> Vec<LegId> {
        let mut up = Vec::new();
        if self.caller != CallerPhase::Gone {
            up.push(LegId::CALLER);
        }
        up.extend(self.legs.ids());
        up
    }

    /// The single clearing path: every live leg is cancelled or BYEd and
    /// ConnectionCleared goes out exactly once (event, CTI, CDR). The caller
    /// side must already be dealt with.
    pub(super) fn clear(&mut self, cause: ClearCause, out: &mut Vec<CallAction>) {
        if self.cleared {
            return;
        }
        self.cleared = true;
        let cause = if self.leg_lost {
            ClearCause::LegLost
        } else {
            cause
        };
        self.agent = None;
        self.hold = None;
        self.pending_transfer = None;
        for leg in self.legs.ids() {
            self.release_leg(leg, out);
        }
        let contact = self.contact;
        out.push(CallAction::Event(CstaEvent::ConnectionCleared {
            contact,
            cause,
        }));
        out.push(CallAction::Cti(cti::Input::ConnectionCleared {
            contact,
            cause,
        }));
        out.push(CallAction::Cdr(CdrUpdate::Ended { cause }));
        self.state = CallState::Clearing;
    }

    /// Ends one IVR/agent leg whatever its phase: CANCEL while it rings,
    /// ACK (if owed) and BYE once answered.
    pub(super) fn release_leg(&mut self, leg: LegId, out: &mut Vec<CallAction>) {
        match self.legs.phase(leg) {
            Some(LegPhase::Calling | LegPhase::Early) => {
                out.push(CallAction::Cancel { leg });
                self.legs.set(leg, LegPhase::Cancelling);
            }
            Some(LegPhase::AwaitingAck) => {
                out.push(CallAction::Ack { leg, sdp: None });
                out.push(CallAction::Bye { leg });
                self.legs.close(leg);
            }
            Some(LegPhase::Up) => {
                out.push(CallAction::Bye { leg });
                self.legs.close(leg);
            }
            Some(LegPhase::Cancelling) | None => {}
        }
    }

    /// A final failure closes a leg whose INVITE is pending; a leg already
    /// answered has no INVITE left to fail, so the report is ignored.
    pub(super) fn close_failed(&mut self, leg: LegId) -> Option<LegPhase> {
        match self.legs.phase(leg)? {
            LegPhase::Calling | LegPhase::Early | LegPhase::Cancelling => self.legs.close(leg),
            LegPhase::AwaitingAck | LegPhase::Up => None,
        }
    }

    /// A 2xx on a leg we are cancelling or do not know: ACK and BYE it.
    pub(super) fn refuse_answer(&mut self, leg: LegId, out: &mut Vec<CallAction>) {
        out.push(CallAction::Ack { leg, sdp: None });
        out.push(CallAction::Bye { leg });
        self.legs.close(leg);
    }

    /// Hangs up toward the caller, whatever stage it is at.
    pub(super) fn hang_up_caller(&mut self, code: u16, reason: &str, out: &mut Vec<CallAction>) {
        match self.caller {
            CallerPhase::Invited => out.push(CallAction::CallerReject {
                code,
                reason: reason.to_owned(),
            }),
            CallerPhase::Answered | CallerPhase::Confirmed | CallerPhase::ReInviting => {
                out.push(CallAction::CallerBye)
            }
            CallerPhase::Gone => {}
        }
        self.caller = CallerPhase::Gone;
    }

    /// Relay mode: our `o=` toward the caller, version bumped per use.
    pub(super) fn next_a_origin(&mut self) -> Origin {
        self.a_version += 1;
        Origin {
            session_id: self.contact.0,
            version: self.a_version,
        }
    }

    /// Relay mode: our `o=` toward the IVR/agents.
    pub(super) fn next_b_origin(&mut self) -> Origin {
        self.b_version += 1;
        Origin {
            session_id: self.contact.0,
            version: self.b_version,
        }
    }

    /// Relay mode's addresses; `None` in direct mode.
    pub(super) fn relay_addrs(&self) -> Option<super::actions::RelayAddrs> {
        match self.mode {
            MediaMode::Relay => self.relay,
            MediaMode::Direct => None,
        }
    }
}
