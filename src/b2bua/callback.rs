//! A callback as a [`Call`] (issue 6): the customer left a number and hung
//! up; their callback contact waited in the CTI queue in their place. The
//! call starts Queued with no caller leg ([`Call::callback`]); the CTI's
//! DivertCall rings the agent exactly as for an inbound call (`agent.rs`:
//! Reserved → Ringing, no-answer requeues at the head). Once the agent
//! answered (InCall), the call INVITEs the customer (RFC 3261 §13) at the
//! configured URI with our relay's A-side offer in the agent's codec; the
//! agent hears silence meanwhile. On the 200 the relay's A side is pointed
//! at the customer: agent and customer talk (relay mode only). Busy, no
//! answer (the ring deadline, CANCEL per §9.1) or any failure: after
//! `retry` the customer is dialled again, at most `retries` more times,
//! then the agent's leg is released and the call clears with the last
//! failure's cause (busy / no answer) for the CDR. The ring and retry
//! deadlines are data ([`Call::poll_timeout`], fed back as
//! [`CallInput::TransferTimeout`](super::CallInput::TransferTimeout)).

use super::actions::{CallAction, CallState, CdrUpdate, MediaMode, RelayAddrs};
use super::call::Call;
use super::ivr::cause_of;
use super::legs::{CallerPhase, LegId, LegPhase};
use super::sdp_plan::{describe, relay_offer};
use crate::cti::{ClearCause, ContactId, CstaEvent};
use std::time::{Duration, Instant};

/// Status reported for a customer who did not answer in time.
pub const CUSTOMER_NO_ANSWER: u16 = 408;

/// Everything known when a callback's turn comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackSetup {
    pub contact: ContactId,
    /// The customer's number (digits, optional leading `+`).
    pub number: String,
    /// Where to INVITE the customer (the `[cti] callback_trunk` template, filled).
    pub uri: String,
    /// The relay's addresses (a callback needs relay mode).
    pub relay: RelayAddrs,
    /// Further attempts after the first fails.
    pub retries: u32,
    /// Wait between attempts.
    pub retry: Duration,
    /// How long the customer's phone may ring.
    pub ring: Duration,
}

/// Where dialling the customer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dial {
    /// The agent has not answered yet.
    NotYet,
    /// The customer's INVITE is out on `leg`, until `deadline`.
    Ringing { leg: LegId, deadline: Instant },
    /// The last attempt failed; the next one starts at `at`.
    Waiting { at: Instant },
    /// The customer answered on `leg`.
    Talking { leg: LegId },
}

/// A callback call's plan: the customer, the retry policy, the dial state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallbackPlan {
    uri: String,
    retries_left: u32,
    retry: Duration,
    ring: Duration,
    dial: Dial,
}

impl Call {
    /// A callback contact's call, in Queued with no leg: the CTI's
    /// DivertCall starts it.
    pub fn callback(setup: CallbackSetup) -> Call {
        let mut call = Call::new_outbound(
            setup.contact,
            setup.number,
            MediaMode::Relay,
            Some(setup.relay),
        );
        call.callback = Some(CallbackPlan {
            uri: setup.uri,
            retries_left: setup.retries,
            retry: setup.retry,
            ring: setup.ring,
            dial: Dial::NotYet,
        });
        call
    }

    pub(crate) fn is_callback(&self) -> bool {
        self.callback.is_some()
    }

    /// The ring or retry deadline of the customer's leg.
    pub(super) fn callback_deadline(&self) -> Option<Instant> {
        match self.callback.as_ref()?.dial {
            Dial::Ringing { deadline, .. } => Some(deadline),
            Dial::Waiting { at, .. } => Some(at),
            Dial::NotYet | Dial::Talking { .. } => None,
        }
    }

    fn set_dial(&mut self, dial: Dial) {
        if let Some(plan) = self.callback.as_mut() {
            plan.dial = dial;
        }
    }

    fn dial(&self) -> Option<Dial> {
        self.callback.as_ref().map(|p| p.dial)
    }

    /// The agent answered (the call is Connected to it): call the customer.
    pub(super) fn on_callback_agent_up(&mut self, now: Instant, out: &mut Vec<CallAction>) {
        if self.state == CallState::Connected && self.dial() == Some(Dial::NotYet) {
            self.dial_customer(now, out);
        }
    }

    fn dial_customer(&mut self, now: Instant, out: &mut Vec<CallAction>) {
        let Some(plan) = self.callback.as_ref() else {
            return;
        };
        let (uri, ring) = (plan.uri.clone(), plan.ring);
        let leg = LegId::external(self.transfers.saturating_add(1));
        let Some(relay) = self.relay_addrs() else {
            return self.customer_gave_up(500, out);
        };
        if !self.legs.open(leg) {
            return self.customer_gave_up(500, out);
        }
        self.transfers = leg.attempt;
        let origin = self.next_a_origin();
        let sdp = Some(relay_offer(relay.a_side, origin, self.codec));
        let deadline = now.checked_add(ring).unwrap_or(now);
        self.set_dial(Dial::Ringing { leg, deadline });
        out.push(CallAction::InviteExternal { leg, uri, sdp });
    }

    fn ringing_leg(&self) -> Option<LegId> {
        match self.dial()? {
            Dial::Ringing { leg, .. } => Some(leg),
            _ => None,
        }
    }

    pub(super) fn on_customer_provisional(&mut self, leg: LegId) {
        if self.ringing_leg() == Some(leg) && self.legs.phase(leg) == Some(LegPhase::Calling) {
            self.legs.set(leg, LegPhase::Early);
        }
    }

    /// The customer answered: point the relay's A side at them.
    pub(super) fn on_customer_answered(
        &mut self,
        now: Instant,
        leg: LegId,
        sdp: Option<Vec<u8>>,
        out: &mut Vec<CallAction>,
    ) {
        if self.ringing_leg() != Some(leg) || self.cleared {
            if self.legs.phase(leg) == Some(LegPhase::Up) {
                return; // a 2xx retransmission
            }
            return self.refuse_answer(leg, out);
        }
        let Some(d) = sdp.and_then(|s| describe("customer 200", &s).ok()) else {
            self.refuse_answer(leg, out);
            // An answer without usable SDP (RFC 3264 §6) counts as a failure.
            return self.customer_failed(now, 488, out);
        };
        out.push(CallAction::Ack { leg, sdp: None });
        self.legs.set(leg, LegPhase::Up);
        out.push(CallAction::RelayPoint {
            side_b: None,
            side_a: Some(d.addr),
        });
        self.caller_media = Some(d.addr);
        let contact = self.contact;
        out.push(CallAction::Event(CstaEvent::CallDelivered {
            contact,
            media: self.media,
            leg: crate::cti::Leg::Caller,
        }));
        self.set_dial(Dial::Talking { leg });
    }

    /// Busy, declined, refused by the engine (403/400), unreachable.
    pub(super) fn on_customer_failed(
        &mut self,
        now: Instant,
        leg: LegId,
        code: u16,
        out: &mut Vec<CallAction>,
    ) {
        let Some(phase) = self.close_failed(leg) else {
            return;
        };
        if phase == LegPhase::Cancelling || self.ringing_leg() != Some(leg) || self.cleared {
            return;
        }
        self.customer_failed(now, code, out);
    }

    /// The attempt failed: wait and dial again, or give up.
    fn customer_failed(&mut self, now: Instant, code: u16, out: &mut Vec<CallAction>) {
        let Some(plan) = self.callback.as_mut() else {
            return;
        };
        if plan.retries_left == 0 {
            return self.customer_gave_up(code, out);
        }
        plan.retries_left -= 1;
        let at = now.checked_add(plan.retry).unwrap_or(now);
        plan.dial = Dial::Waiting { at };
    }

    /// No attempt left: release the agent, clear with the failure's cause.
    fn customer_gave_up(&mut self, code: u16, out: &mut Vec<CallAction>) {
        self.caller = CallerPhase::Gone;
        let cause = match cause_of(code) {
            ClearCause::CallCancelled => ClearCause::NoAnswer,
            other => other,
        };
        self.clear(cause, out);
    }

    /// The ring deadline (CANCEL, then as a failure) or the retry time.
    pub(super) fn on_callback_timeout(&mut self, now: Instant, out: &mut Vec<CallAction>) {
        if self.cleared || self.callback_deadline().is_none_or(|at| now < at) {
            return;
        }
        match self.dial() {
            Some(Dial::Ringing { leg, .. }) => {
                self.release_leg(leg, out);
                self.customer_failed(now, CUSTOMER_NO_ANSWER, out);
            }
            Some(Dial::Waiting { .. }) => self.dial_customer(now, out),
            _ => {}
        }
    }

    /// The customer's BYE: the agent is released, the call is over.
    pub(super) fn on_customer_bye(&mut self, leg: LegId, out: &mut Vec<CallAction>) {
        if self.legs.close(leg).is_none() || self.cleared {
            return;
        }
        if self.dial() == Some(Dial::Talking { leg }) {
            self.clear(ClearCause::NormalClearing, out);
        }
    }

    /// The CTI dropped the callback unserved (`callback_max_age_s`): the
    /// call ends without a leg; the CTI already forgot the contact.
    pub(super) fn on_callback_expired(&mut self, out: &mut Vec<CallAction>) {
        if self.cleared || self.state != CallState::Queued {
            return;
        }
        self.cleared = true;
        let cause = ClearCause::CallbackExpired;
        let contact = self.contact;
        out.push(CallAction::Event(CstaEvent::ConnectionCleared {
            contact,
            cause,
        }));
        out.push(CallAction::Cdr(CdrUpdate::Ended { cause }));
        self.state = CallState::Clearing;
    }
}
