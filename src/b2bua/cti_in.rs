//! CTI outputs about this contact, as the engine routes them to [`Call`]
//! (mission steps 3, 7, 8): RouteSelect starts the IVR leg or refuses the
//! call (404), DivertCall and CancelDivert drive the agent leg, and the
//! queue's verdicts (QueueTimeout, NoAgents, QueueFull) go to the IVR over
//! interface B so it can say goodbye. RouteSelect, DivertCall and
//! Established are CSTA events the engine publishes from
//! `cti::Output::csta()`; the call does not repeat them. A `Refused`
//! output names no contact, so it never reaches the call: an engine that
//! sees its RequestAgent refused (unknown queue, bad skill) should feed the
//! call `Cti(Output::NoAgents { .. })` so the IVR says goodbye.

use super::actions::{CallAction, CallState, CtiToIvr};
use super::call::Call;
use crate::cti::{ClearCause, Output, RejectCause, RouteTarget};

impl Call {
    pub(super) fn on_cti(&mut self, output: Output, out: &mut Vec<CallAction>) {
        if self.cleared {
            return;
        }
        let contact = self.contact;
        match output {
            Output::RouteSelect { contact: c, target } if c == contact => {
                self.on_route_select(target, out)
            }
            Output::DivertCall {
                contact: c,
                agent,
                device,
            } if c == contact => self.divert(agent, device, out),
            Output::CancelDivert { contact: c, .. } if c == contact => self.cancel_divert(out),
            Output::QueueTimeout { contact: c, .. } if c == contact => {
                self.leave_queue(CtiToIvr::QueueTimeout { contact }, out)
            }
            Output::NoAgents { contact: c, .. } if c == contact => {
                self.leave_queue(CtiToIvr::NoAgents { contact }, out)
            }
            Output::QueueFull { contact: c, .. } if c == contact => {
                self.leave_queue(CtiToIvr::QueueFull { contact }, out)
            }
            Output::CallbackExpired { contact: c, .. } if c == contact => {
                self.on_callback_expired(out)
            }
            Output::Transferred { contact: c, to, .. } if c == contact => {
                self.on_desk_transfer(to, out)
            }
            _ => {}
        }
    }

    fn on_route_select(&mut self, target: RouteTarget, out: &mut Vec<CallAction>) {
        if self.state != CallState::Routing {
            return;
        }
        match target {
            RouteTarget::Ivr { script } => self.start_ivr(script, out),
            RouteTarget::Reject { cause } => {
                let (code, reason) = match cause {
                    RejectCause::UnknownDnis => (404, "Not Found"),
                };
                self.hang_up_caller(code, reason, out);
                self.clear(ClearCause::NormalClearing, out);
            }
        }
    }

    /// The contact left the queue without an agent; the IVR takes over.
    fn leave_queue(&mut self, to_ivr: CtiToIvr, out: &mut Vec<CallAction>) {
        if self.state != CallState::Queued {
            return;
        }
        self.state = CallState::InIvr;
        if self.desk_transferred && self.hold.is_none() {
            // No IVR flow is holding the caller to say goodbye: end here.
            self.hang_up_caller(480, "Temporarily Unavailable", out);
            return self.clear(ClearCause::NormalClearing, out);
        }
        out.push(CallAction::Ivr(to_ivr));
    }
}
