//! The agent legs of [`Call`] (mission steps 8–10): DivertCall releases the
//! IVR leg (BYE first, as the seed does: while the agent's phone rings the
//! caller hears nothing) and INVITEs the agent's device with the caller's
//! SDP (direct mode: the caller's own description; relay mode: our fresh
//! B-side offer in the caller's codec). 18x → AgentRinging; 200 → ACK,
//! AgentAnswered, then direct mode re-INVITEs the caller with the agent's
//! SDP (step 10) while relay mode re-points the relay (re-INVITE only on a
//! codec change). Failures go back to the CTI as AgentRejected or
//! AgentNoAnswer; CancelDivert cancels the ringing leg.
//!
//! Late offer: by the time the CTI diverts, the caller's ACK has brought
//! its answer, and that description is the offer in the agent's INVITE
//! (direct mode); relay mode always offers its own. So every agent INVITE
//! carries an offer and the agent's 2xx is the answer, ACKed at once. A 2xx
//! without a usable answer counts as a rejected offer (ACK, BYE,
//! AgentRejected).

use super::actions::{CallAction, CallState, CdrUpdate, CtiToIvr, MediaMode};
use super::call::{AgentOffer, Call};
use super::legs::{CallerPhase, LegId, LegPhase};
use super::sdp_plan::{describe, relay_offer};
use crate::cti::{self, AgentId, ClearCause, CstaEvent, Leg};

impl Call {
    /// Step 8.
    pub(super) fn divert(&mut self, agent: AgentId, device: String, out: &mut Vec<CallAction>) {
        if self.state != CallState::Queued || self.cleared {
            return;
        }
        let leg = LegId::agent(self.attempts.saturating_add(1));
        if !self.legs.open(leg) {
            // Too many legs still cancelling: leave the offer to the CTI's
            // ring timeout.
            return;
        }
        self.attempts = leg.attempt;
        let contact = self.contact;
        out.push(CallAction::Event(CstaEvent::CallDiverted { contact }));
        out.push(CallAction::Cti(cti::Input::CallDiverted { contact }));
        if !self.is_callback() {
            out.push(CallAction::Ivr(CtiToIvr::AgentFound { contact }));
        }
        self.release_leg(LegId::IVR, out);
        self.stop_hold(out);
        let sdp = match self.relay_addrs() {
            None => self.caller_sdp.clone(),
            Some(relay) => {
                let origin = self.next_b_origin();
                Some(relay_offer(relay.b_side, origin, self.codec))
            }
        };
        self.agent = Some(AgentOffer {
            leg,
            agent: agent.clone(),
            rang: false,
        });
        out.push(CallAction::InviteAgent {
            leg,
            agent,
            device,
            sdp,
        });
        self.state = CallState::Diverting;
    }

    /// The CTI's ring timeout: stop ringing; the CTI already requeued.
    pub(super) fn cancel_divert(&mut self, out: &mut Vec<CallAction>) {
        if self.state != CallState::Diverting {
            return;
        }
        if let Some(offer) = self.agent.take() {
            self.release_leg(offer.leg, out);
        }
        self.state = CallState::Queued;
        self.start_hold(out);
    }

    fn is_current(&self, leg: LegId) -> bool {
        self.agent.as_ref().is_some_and(|a| a.leg == leg)
    }

    pub(super) fn on_agent_provisional(
        &mut self,
        leg: LegId,
        code: u16,
        out: &mut Vec<CallAction>,
    ) {
        if !self.is_current(leg) || !(180..=199).contains(&code) {
            return;
        }
        if !matches!(
            self.legs.phase(leg),
            Some(LegPhase::Calling | LegPhase::Early)
        ) {
            return;
        }
        self.legs.set(leg, LegPhase::Early);
        let Some(offer) = self.agent.as_mut() else {
            return;
        };
        if offer.rang {
            return;
        }
        offer.rang = true;
        let contact = self.contact;
        let media = self.media;
        out.push(CallAction::Event(CstaEvent::CallDelivered {
            contact,
            media,
            leg: Leg::Agent,
        }));
        out.push(CallAction::Cti(cti::Input::CallDelivered {
            contact,
            media,
            leg: Leg::Agent,
        }));
        out.push(CallAction::Cti(cti::Input::AgentRinging { contact }));
    }

    /// Step 9–10.
    pub(super) fn on_agent_answered(
        &mut self,
        leg: LegId,
        sdp: Option<Vec<u8>>,
        out: &mut Vec<CallAction>,
    ) {
        match self.legs.phase(leg) {
            Some(LegPhase::Calling | LegPhase::Early) if self.is_current(leg) => {}
            Some(LegPhase::Up | LegPhase::AwaitingAck) => return,
            _ => return self.refuse_answer(leg, out),
        }
        let Some(offer) = self.agent.clone() else {
            return self.refuse_answer(leg, out);
        };
        let answer = sdp.clone();
        let connected = self.connect(offer.leg, sdp, out);
        if !connected {
            self.refuse_answer(leg, out);
            return self.offer_failed(
                cti::Input::AgentRejected {
                    contact: self.contact,
                },
                out,
            );
        }
        out.push(CallAction::Cti(cti::Input::AgentAnswered {
            contact: self.contact,
        }));
        out.push(CallAction::Cdr(CdrUpdate::AgentAnswered {
            agent: offer.agent,
        }));
        self.agent_answer = answer;
        self.state = CallState::Connected;
    }

    /// Joins the caller to `leg` (an agent or a transfer target) on its
    /// 2xx; `false` when the answer is unusable.
    pub(super) fn connect(
        &mut self,
        leg: LegId,
        sdp: Option<Vec<u8>>,
        out: &mut Vec<CallAction>,
    ) -> bool {
        match self.mode {
            MediaMode::Direct => self.connect_direct(leg, sdp, out),
            MediaMode::Relay => self.connect_relay(leg, sdp, out),
        }
    }

    /// Direct mode: re-INVITE the caller with the agent's SDP (step 10).
    fn connect_direct(
        &mut self,
        leg: LegId,
        sdp: Option<Vec<u8>>,
        out: &mut Vec<CallAction>,
    ) -> bool {
        let Some(sdp) = sdp.filter(|s| describe("agent 200", s).is_ok()) else {
            return false;
        };
        out.push(CallAction::Ack { leg, sdp: None });
        self.legs.set(leg, LegPhase::Up);
        self.reinvite_caller(sdp, out);
        true
    }

    /// Relay mode: point side B at the agent; re-INVITE the caller only if
    /// the agent's codec differs from the caller's.
    fn connect_relay(
        &mut self,
        leg: LegId,
        sdp: Option<Vec<u8>>,
        out: &mut Vec<CallAction>,
    ) -> bool {
        let Some(d) = sdp.and_then(|s| describe("agent 200", &s).ok()) else {
            return false;
        };
        let Some(relay) = self.relay_addrs() else {
            return false;
        };
        out.push(CallAction::Ack { leg, sdp: None });
        self.legs.set(leg, LegPhase::Up);
        out.push(CallAction::RelayPoint {
            side_b: Some(d.addr),
            side_a: None,
        });
        if d.codec.is_some() && d.codec != self.codec {
            self.codec = d.codec;
            let origin = self.next_a_origin();
            self.reinvite_caller(relay_offer(relay.a_side, origin, d.codec), out);
        }
        true
    }

    pub(super) fn reinvite_caller(&mut self, sdp: Vec<u8>, out: &mut Vec<CallAction>) {
        if self.caller == CallerPhase::Confirmed {
            out.push(CallAction::CallerReInvite { sdp });
            self.caller = CallerPhase::ReInviting;
        }
    }

    /// The current offer failed: tell the CTI, which requeues the contact.
    fn offer_failed(&mut self, report: cti::Input, out: &mut Vec<CallAction>) {
        self.agent = None;
        self.state = CallState::Queued;
        // The hold INVITE goes out before the report: the CTI may divert
        // to the next agent at once, which releases the hold leg.
        self.start_hold(out);
        out.push(CallAction::Cti(report));
    }

    pub(super) fn on_agent_failed(&mut self, leg: LegId, code: u16, out: &mut Vec<CallAction>) {
        let Some(phase) = self.close_failed(leg) else {
            return;
        };
        if phase == LegPhase::Cancelling || !self.is_current(leg) || self.cleared {
            return;
        }
        let contact = self.contact;
        let report = match code {
            408 | 480 => cti::Input::AgentNoAnswer { contact },
            _ => cti::Input::AgentRejected { contact },
        };
        self.offer_failed(report, out);
    }

    /// The agent's BYE: connected, the caller is hung up (step 10); while
    /// the offer is still pending it counts as a rejected offer.
    pub(super) fn on_agent_bye(&mut self, leg: LegId, out: &mut Vec<CallAction>) {
        let Some(phase) = self.legs.close(leg) else {
            return;
        };
        if !self.is_current(leg) || self.cleared {
            return;
        }
        if self.state == CallState::Connected {
            self.hang_up_caller(0, "", out);
            return self.clear(ClearCause::NormalClearing, out);
        }
        if phase != LegPhase::Cancelling {
            let contact = self.contact;
            self.offer_failed(cti::Input::AgentRejected { contact }, out);
        }
    }
}
