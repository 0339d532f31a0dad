//! Hold and retrieve from the agent desktop (issue 6; ECMA-269 §17.2.11
//! HoldCall and §17.2.20 RetrieveCall, events Held and Retrieved), the first
//! step of a consultation. Hold keeps the agent's leg up and joins the
//! caller to a hold leg: the IVR's `transfer-hold` flow (hold music), bridged
//! like an agent (relay mode: side B re-pointed, the agent's late packets
//! refused by the relay's latch; direct mode: the caller re-INVITEd with the
//! IVR's SDP). Retrieve releases the hold leg and joins the caller to the
//! agent again (relay: side B back to the agent's address; direct: the
//! caller re-INVITEd with the agent's answer).

use super::actions::{CallAction, CallState, MediaMode};
use super::call::Call;
use super::legs::LegPhase;
use super::sdp_plan::describe;
use crate::cti::CstaEvent;

impl Call {
    /// True while the desk holds the caller.
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// The agent's leg, if it is up (Connected to this call's agent).
    fn agent_leg_up(&self) -> bool {
        self.state == CallState::Connected
            && self
                .agent
                .as_ref()
                .is_some_and(|a| self.legs.phase(a.leg) == Some(LegPhase::Up))
    }

    /// Desk hold; false (nothing done) unless talking with an agent, not
    /// already held, with the agent's answer known.
    pub(super) fn on_desk_hold(&mut self, out: &mut Vec<CallAction>) -> bool {
        // A callback's customer is an external leg, not a caller leg the
        // hold flow could take.
        if self.held
            || self.cleared
            || self.is_callback()
            || !self.agent_leg_up()
            || self.agent_answer.is_none()
        {
            return false;
        }
        let Some(agent) = self.agent.as_ref().map(|a| a.agent.clone()) else {
            return false;
        };
        if !self.open_hold_leg(out) {
            return false;
        }
        self.held = true;
        let contact = self.contact;
        out.push(CallAction::Event(CstaEvent::Held { contact, agent }));
        true
    }

    /// Desk retrieve; false unless held.
    pub(super) fn on_desk_retrieve(&mut self, out: &mut Vec<CallAction>) -> bool {
        if !self.held || self.cleared || !self.agent_leg_up() {
            return false;
        }
        let Some(answer) = self.agent_answer.clone() else {
            return false;
        };
        let Some(agent) = self.agent.as_ref().map(|a| a.agent.clone()) else {
            return false;
        };
        self.stop_hold(out);
        self.held = false;
        match self.mode {
            MediaMode::Relay => {
                if let Ok(d) = describe("agent 200", &answer) {
                    out.push(CallAction::RelayPoint {
                        side_b: Some(d.addr),
                        side_a: None,
                    });
                }
            }
            MediaMode::Direct => self.reinvite_caller(answer, out),
        }
        let contact = self.contact;
        out.push(CallAction::Event(CstaEvent::Retrieved { contact, agent }));
        true
    }
}
