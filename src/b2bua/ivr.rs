//! The IVR leg of [`Call`] (mission steps 3–7): INVITE the IVR with the
//! caller's SDP (relay mode: rewritten to the relay's B side), relay its
//! 18x and 200 to the caller (relay mode: rewritten to the A side), ACK it
//! (at once, or with the caller's answer in a late offer), its failure
//! (the caller gets the IVR's code), its goodbye BYE, and interface B's
//! RequestAgent, which puts the call in queue.

use super::actions::{CallAction, CallState, CdrUpdate};
use super::call::Call;
use super::legs::{CallerPhase, LegId, LegPhase};
use super::sdp_plan::{describe, rewrite};
use crate::cti::{self, ClearCause, CstaEvent, QueueName, Skill};
use std::collections::BTreeMap;

/// The level an IVR skill request asks for: holding the skill at all.
pub const IVR_SKILL_LEVEL: u8 = 1;

impl Call {
    /// Step 3 → 4: the CTI chose the IVR script.
    pub(super) fn start_ivr(&mut self, script: String, out: &mut Vec<CallAction>) {
        let contact = self.contact;
        out.push(CallAction::Cti(cti::Input::RouteEnd { contact }));
        out.push(CallAction::Event(CstaEvent::RouteEnd { contact }));
        let sdp = match (self.caller_sdp.clone(), self.relay_addrs()) {
            (None, _) => None,
            (Some(s), None) => Some(s),
            (Some(s), Some(relay)) => {
                let origin = self.next_b_origin();
                rewrite("caller INVITE", &s, relay.b_side, origin).ok()
            }
        };
        if self.caller_sdp.is_some() && sdp.is_none() {
            self.hang_up_caller(488, "Not Acceptable Here", out);
            self.clear(ClearCause::NetworkFailure, out);
            return;
        }
        if let (Some(addr), Some(_)) = (self.caller_media, self.relay_addrs()) {
            out.push(CallAction::RelayPoint {
                side_b: None,
                side_a: Some(addr),
            });
        }
        self.legs.open(LegId::IVR);
        self.script = Some(script.clone());
        out.push(CallAction::InviteIvr {
            leg: LegId::IVR,
            script,
            sdp,
        });
        self.state = CallState::InIvr;
    }

    /// An SDP from the IVR as the caller must see it, plus the IVR's media
    /// address for the relay.
    fn ivr_sdp_for_caller(
        &mut self,
        place: &'static str,
        sdp: &[u8],
    ) -> Option<(Vec<u8>, Option<std::net::SocketAddr>)> {
        let d = describe(place, sdp).ok()?;
        match self.relay_addrs() {
            None => Some((sdp.to_vec(), None)),
            Some(relay) => {
                let origin = self.next_a_origin();
                let body = rewrite(place, sdp, relay.a_side, origin).ok()?;
                Some((body, Some(d.addr)))
            }
        }
    }

    pub(super) fn on_ivr_provisional(
        &mut self,
        code: u16,
        sdp: Option<Vec<u8>>,
        out: &mut Vec<CallAction>,
    ) {
        let ringing = matches!(
            self.legs.phase(LegId::IVR),
            Some(LegPhase::Calling | LegPhase::Early)
        );
        if !ringing || self.caller != CallerPhase::Invited || !(101..=199).contains(&code) {
            return;
        }
        self.legs.set(LegId::IVR, LegPhase::Early);
        let early = sdp.and_then(|s| self.ivr_sdp_for_caller("IVR 1xx", &s));
        let sdp = early.map(|(body, relay_b)| {
            if relay_b.is_some() {
                out.push(CallAction::RelayPoint {
                    side_b: relay_b,
                    side_a: None,
                });
            }
            body
        });
        out.push(CallAction::CallerProvisional { code, sdp });
    }

    /// Step 4: the IVR answered; answer the caller with its SDP.
    pub(super) fn on_ivr_answered(&mut self, sdp: Option<Vec<u8>>, out: &mut Vec<CallAction>) {
        match self.legs.phase(LegId::IVR) {
            Some(LegPhase::Calling | LegPhase::Early) if self.caller == CallerPhase::Invited => {}
            Some(LegPhase::Up | LegPhase::AwaitingAck) => return,
            _ => return self.refuse_answer(LegId::IVR, out),
        }
        let late_offer = self.caller_sdp.is_none();
        let usable = sdp.and_then(|s| {
            let d = describe("IVR 200", &s).ok()?;
            let (body, relay_b) = self.ivr_sdp_for_caller("IVR 200", &s)?;
            Some((body, relay_b, d.codec))
        });
        let Some((body, relay_b, codec)) = usable else {
            self.refuse_answer(LegId::IVR, out);
            self.hang_up_caller(502, "Bad Gateway", out);
            return self.clear(ClearCause::NetworkFailure, out);
        };
        if relay_b.is_some() {
            out.push(CallAction::RelayPoint {
                side_b: relay_b,
                side_a: None,
            });
        }
        if late_offer {
            self.legs.set(LegId::IVR, LegPhase::AwaitingAck);
        } else {
            self.codec = codec;
            out.push(CallAction::Ack {
                leg: LegId::IVR,
                sdp: None,
            });
            self.legs.set(LegId::IVR, LegPhase::Up);
        }
        out.push(CallAction::CallerAnswer { sdp: body });
        self.caller = CallerPhase::Answered;
        let script = self.script.clone().unwrap_or_default();
        out.push(CallAction::Cdr(CdrUpdate::IvrAnswered { script }));
    }

    pub(super) fn on_ivr_failed(&mut self, code: u16, out: &mut Vec<CallAction>) {
        let Some(phase) = self.close_failed(LegId::IVR) else {
            return;
        };
        if phase == LegPhase::Cancelling || self.cleared {
            return;
        }
        self.hang_up_caller(caller_code(code), "IVR failed", out);
        self.clear(cause_of(code), out);
    }

    /// The IVR hung up (goodbye after a queue timeout, or script end).
    pub(super) fn on_ivr_bye(&mut self, out: &mut Vec<CallAction>) {
        let Some(phase) = self.legs.close(LegId::IVR) else {
            return;
        };
        if phase == LegPhase::Cancelling || self.cleared {
            return;
        }
        if !matches!(
            self.state,
            CallState::InIvr | CallState::Queued | CallState::Transferring
        ) {
            return;
        }
        self.hang_up_caller(480, "Temporarily Unavailable", out);
        self.clear(ClearCause::NormalClearing, out);
    }

    /// Step 7: interface B asks for an agent. Accepted once the caller has
    /// ACKed and the IVR leg is up; a request that comes between our 200 to
    /// the caller and its ACK waits for the ACK; ignored otherwise.
    pub(super) fn on_ivr_requests_agent(
        &mut self,
        queue: String,
        skills: Vec<String>,
        priority: u8,
        out: &mut Vec<CallAction>,
    ) {
        if self.cleared || self.state != CallState::InIvr {
            return;
        }
        let ivr_leg = self.legs.phase(LegId::IVR);
        if self.caller == CallerPhase::Answered
            && matches!(ivr_leg, Some(LegPhase::AwaitingAck | LegPhase::Up))
        {
            // The IVR's flow may queue before the caller's ACK reaches us
            // (a flow that queues at once): keep the request for the ACK.
            self.pending_request = Some(PendingRequest {
                queue,
                skills,
                priority,
            });
            return;
        }
        if self.caller != CallerPhase::Confirmed || ivr_leg != Some(LegPhase::Up) {
            return;
        }
        // `name:level` asks for an agent level of at least `level`; the
        // script loader rejects bad forms, so one here is passed as a name.
        let skills: BTreeMap<Skill, u8> = skills
            .into_iter()
            .map(|s| {
                Skill::parse_with_level(&s, IVR_SKILL_LEVEL).unwrap_or((Skill(s), IVR_SKILL_LEVEL))
            })
            .collect();
        out.push(CallAction::Cdr(CdrUpdate::Queued {
            queue: queue.clone(),
        }));
        self.state = CallState::Queued;
        out.push(CallAction::Cti(cti::Input::RequestAgent {
            contact: self.contact,
            queue: QueueName(queue),
            skills,
            priority,
        }));
    }
}

impl Call {
    /// Interface B: the IVR's flow left the queue (its max wait or the
    /// caller's callback key); the call is in the IVR again and may ask
    /// for an agent again. Ignored unless the call is still queued (an
    /// agent already ringing keeps the call).
    pub(super) fn on_ivr_leaves_queue(&mut self, out: &mut Vec<CallAction>) {
        if self.state != CallState::Queued || self.cleared {
            return;
        }
        self.state = CallState::InIvr;
        out.push(CallAction::Cti(cti::Input::LeaveQueue {
            contact: self.contact,
        }));
    }
}

/// The caller's final response for an IVR failure: the IVR's own code,
/// except authentication challenges, which the caller cannot answer.
pub fn caller_code(code: u16) -> u16 {
    match code {
        401 | 407 => 502,
        400..=699 => code,
        _ => 502,
    }
}

/// The ConnectionCleared cause for a failed leg.
pub fn cause_of(code: u16) -> ClearCause {
    match code {
        486 | 600 => ClearCause::Busy,
        408 | 480 => ClearCause::NoAnswer,
        487 => ClearCause::CallCancelled,
        _ => ClearCause::NetworkFailure,
    }
}

/// An IVR RequestAgent that came before the caller's ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PendingRequest {
    pub queue: String,
    pub skills: Vec<String>,
    pub priority: u8,
}
