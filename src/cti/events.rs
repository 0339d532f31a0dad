//! The CSTA-style vocabulary between the SoftACD call model and the CTI
//! (mission steps 2, 3, 7, 8, 9 and 10; ECMA-269 names: CallDelivered,
//! RouteRequest, RouteSelect, RouteEnd, DivertCall, CallDiverted,
//! Established, ConnectionCleared), plus the CTI's typed [`Input`] and
//! [`Output`]. [`CstaEvent`] serializes with an `"event"` tag so the live
//! event stream can send it as JSON as is.

use super::agent::{AgentState, AgentStatus};
use super::error::CtiError;
use super::types::{AgentId, Channel, ContactId, Leg, Media, QueueName, Skill};
use serde::Serialize;
use std::collections::BTreeMap;

/// Why a connection was cleared (a small subset of CSTA event causes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearCause {
    NormalClearing,
    CallCancelled,
    Busy,
    NoAnswer,
    NetworkFailure,
    /// The SoftACD was stopped (SIGTERM) while the call was up.
    ServerShutdown,
    /// A callback waited `[cti] callback_max_age_s` without an agent.
    CallbackExpired,
    /// A leg's in-dialog OPTIONS probe got 481 or no answer (`[sip]
    /// leg_probe_s`): the phone vanished or its BYE was lost.
    LegLost,
}

/// Why a route request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCause {
    /// The dialed number maps to no IVR script.
    UnknownDnis,
}

/// Where RouteSelect sends a call (step 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteTarget {
    /// The IVR/MS, running this script.
    Ivr { script: String },
    /// Refuse the call.
    Reject { cause: RejectCause },
}

/// Where the desk's blind transfer sends a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransferTarget {
    Agent { agent: AgentId },
    Queue { queue: QueueName },
}

/// The shared CSTA event vocabulary; each contact keeps a bounded history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event")]
pub enum CstaEvent {
    CallDelivered {
        contact: ContactId,
        media: Media,
        leg: Leg,
    },
    RouteRequest {
        contact: ContactId,
        dnis: String,
        caller: String,
        media: Media,
        /// The carrier trunk the call came in on (`[[trunk]]`), if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        trunk: Option<String>,
    },
    RouteSelect {
        contact: ContactId,
        target: RouteTarget,
    },
    RouteEnd {
        contact: ContactId,
    },
    DivertCall {
        contact: ContactId,
        agent: AgentId,
        device: String,
    },
    CallDiverted {
        contact: ContactId,
    },
    Established {
        contact: ContactId,
        agent: AgentId,
    },
    ConnectionCleared {
        contact: ContactId,
        cause: ClearCause,
    },
    /// ECMA-269 Held: the agent put the caller on hold (hold music).
    Held {
        contact: ContactId,
        agent: AgentId,
    },
    /// ECMA-269 Retrieved: the agent took the held caller back.
    Retrieved {
        contact: ContactId,
        agent: AgentId,
    },
    /// ECMA-269 Transferred: `from` handed the contact to `to` and left it
    /// (the desk's blind transfer).
    Transferred {
        contact: ContactId,
        from: AgentId,
        to: TransferTarget,
    },
}

/// Everything the CTI is told: by the agent desktop (interface A), by the
/// SoftACD call model and by the IVR (interface B).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The agent signs in naming the device to ring (any SIP URI); the agent
    /// becomes Available. Signing in again updates device and skills.
    SignIn {
        agent: AgentId,
        device: String,
        skills: BTreeMap<Skill, u8>,
    },
    /// Immediate when Idle or in wrap-up; after the call otherwise.
    SignOut {
        agent: AgentId,
    },
    SetReady {
        agent: AgentId,
    },
    SetNotReady {
        agent: AgentId,
        reason: String,
    },
    /// The agent finished wrap-up early (picked a disposition on the desk):
    /// Idle now instead of at the queue's wrap-up time.
    WrapUpDone {
        agent: AgentId,
    },
    /// The desk's blind transfer: the InCall `agent` hands its contact to
    /// another agent (Available and Idle) or a queue and goes to wrap-up.
    Transfer {
        agent: AgentId,
        to: TransferTarget,
    },
    /// Step 2 (leg Caller creates the contact) and step 9 (leg Agent).
    CallDelivered {
        contact: ContactId,
        media: Media,
        leg: Leg,
    },
    /// A non-real-time or chat contact enters the CTI (no SoftACD call).
    ContactArrived {
        contact: ContactId,
        channel: Channel,
    },
    /// Step 2: answered with RouteSelect; `trunk` is the carrier trunk the
    /// call came in on (its own numbers and catch-all flow apply).
    RouteRequest {
        contact: ContactId,
        dnis: String,
        caller: String,
        media: Media,
        trunk: Option<String>,
    },
    /// Step 3: the SoftACD closes the route dialogue.
    RouteEnd {
        contact: ContactId,
    },
    /// Step 7: the caller wants a human.
    RequestAgent {
        contact: ContactId,
        queue: QueueName,
        skills: BTreeMap<Skill, u8>,
        priority: u8,
    },
    /// Step 7 undone: the IVR takes a queued contact out of its queue (its
    /// own longest wait, or the caller's callback key); the contact is back
    /// in Routing and may ask again.
    LeaveQueue {
        contact: ContactId,
    },
    /// The caller of `contact` (queued, or just out of its queue by the
    /// callback key) leaves `number` and hangs up: a new contact
    /// `callback` (named by the SoftACD) takes its place in line.
    RequestCallback {
        contact: ContactId,
        callback: ContactId,
        number: String,
    },
    /// Step 8: the SoftACD acted on DivertCall.
    CallDiverted {
        contact: ContactId,
    },
    /// Step 9: the agent's phone rings (180).
    AgentRinging {
        contact: ContactId,
    },
    /// Step 9: the agent's phone answered (200 OK, ACKed).
    AgentAnswered {
        contact: ContactId,
    },
    /// The agent's phone refused (4xx/6xx) or the agent declined.
    AgentRejected {
        contact: ContactId,
    },
    /// The SoftACD gave up ringing the agent.
    AgentNoAnswer {
        contact: ContactId,
    },
    /// Step 5 or 10: the contact is gone, at whatever stage.
    ConnectionCleared {
        contact: ContactId,
        cause: ClearCause,
    },
}

/// Everything the CTI orders or reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "output")]
pub enum Output {
    RouteSelect {
        contact: ContactId,
        target: RouteTarget,
    },
    /// Step 8: ring this agent's device and bridge it to the contact.
    DivertCall {
        contact: ContactId,
        agent: AgentId,
        device: String,
    },
    /// Stop ringing the agent (CTI ring timeout); the contact is requeued.
    CancelDivert {
        contact: ContactId,
        agent: AgentId,
    },
    Established {
        contact: ContactId,
        agent: AgentId,
    },
    QueueFull {
        contact: ContactId,
        queue: QueueName,
    },
    /// The contact waited too long and left the queue (IVR says goodbye).
    QueueTimeout {
        contact: ContactId,
        queue: QueueName,
    },
    NoAgents {
        contact: ContactId,
        queue: QueueName,
    },
    AgentStateChanged {
        agent: AgentId,
        status: AgentStatus,
        state: AgentState,
    },
    /// RequestCallback accepted: `callback` waits at the place `contact`
    /// had (`contact` is back in Routing and may end).
    CallbackQueued {
        contact: ContactId,
        callback: ContactId,
        number: String,
    },
    /// A callback reached `[cti] callback_max_age_s` unserved and is gone.
    CallbackExpired {
        contact: ContactId,
        number: String,
    },
    /// The desk's blind transfer was accepted: release `from`'s leg (a
    /// DivertCall to the target agent may follow in the same batch).
    Transferred {
        contact: ContactId,
        from: AgentId,
        to: TransferTarget,
    },
    /// The input was refused; nothing changed.
    Refused {
        error: CtiError,
    },
}

impl Input {
    /// The input's name, used as the place in [`CtiError`].
    pub fn name(&self) -> &'static str {
        match self {
            Input::SignIn { .. } => "SignIn",
            Input::SignOut { .. } => "SignOut",
            Input::SetReady { .. } => "SetReady",
            Input::SetNotReady { .. } => "SetNotReady",
            Input::WrapUpDone { .. } => "WrapUpDone",
            Input::Transfer { .. } => "Transfer",
            Input::CallDelivered { .. } => "CallDelivered",
            Input::ContactArrived { .. } => "ContactArrived",
            Input::RouteRequest { .. } => "RouteRequest",
            Input::RouteEnd { .. } => "RouteEnd",
            Input::RequestAgent { .. } => "RequestAgent",
            Input::LeaveQueue { .. } => "LeaveQueue",
            Input::RequestCallback { .. } => "RequestCallback",
            Input::CallDiverted { .. } => "CallDiverted",
            Input::AgentRinging { .. } => "AgentRinging",
            Input::AgentAnswered { .. } => "AgentAnswered",
            Input::AgentRejected { .. } => "AgentRejected",
            Input::AgentNoAnswer { .. } => "AgentNoAnswer",
            Input::ConnectionCleared { .. } => "ConnectionCleared",
        }
    }
}

impl Output {
    /// The contact this output concerns (to route it to that contact's
    /// call); `None` for agent state changes and refusals.
    pub fn contact(&self) -> Option<ContactId> {
        match self {
            Output::RouteSelect { contact, .. }
            | Output::DivertCall { contact, .. }
            | Output::CancelDivert { contact, .. }
            | Output::Established { contact, .. }
            | Output::QueueFull { contact, .. }
            | Output::QueueTimeout { contact, .. }
            | Output::NoAgents { contact, .. }
            | Output::CallbackQueued { contact, .. }
            | Output::CallbackExpired { contact, .. }
            | Output::Transferred { contact, .. } => Some(*contact),
            Output::AgentStateChanged { .. } | Output::Refused { .. } => None,
        }
    }

    /// The CSTA event this output is, if it is one (for the event stream).
    pub fn csta(&self) -> Option<CstaEvent> {
        match self {
            Output::RouteSelect { contact, target } => Some(CstaEvent::RouteSelect {
                contact: *contact,
                target: target.clone(),
            }),
            Output::DivertCall {
                contact,
                agent,
                device,
            } => Some(CstaEvent::DivertCall {
                contact: *contact,
                agent: agent.clone(),
                device: device.clone(),
            }),
            Output::Established { contact, agent } => Some(CstaEvent::Established {
                contact: *contact,
                agent: agent.clone(),
            }),
            Output::Transferred { contact, from, to } => Some(CstaEvent::Transferred {
                contact: *contact,
                from: from.clone(),
                to: to.clone(),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csta_event_serializes_with_event_tag() {
        let ev = CstaEvent::CallDelivered {
            contact: ContactId(7),
            media: Media::Video,
            leg: Leg::Caller,
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"event":"CallDelivered","contact":7,"media":"video","leg":"caller"})
        );
    }

    #[test]
    fn route_select_serializes_target_kind() {
        let ev = CstaEvent::RouteSelect {
            contact: ContactId(1),
            target: RouteTarget::Ivr {
                script: "welcome".into(),
            },
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["target"]["kind"], "ivr");
        assert_eq!(json["target"]["script"], "welcome");
    }

    #[test]
    fn agent_state_changed_serializes_for_event_stream() {
        let out = Output::AgentStateChanged {
            agent: AgentId::from("alice"),
            status: AgentStatus::NotReady {
                reason: "lunch".into(),
            },
            state: AgentState::InCall {
                contact: ContactId(3),
            },
        };
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(json["output"], "AgentStateChanged");
        assert_eq!(json["agent"], "alice");
        assert_eq!(json["status"]["status"], "not_ready");
        assert_eq!(json["status"]["reason"], "lunch");
        assert_eq!(json["state"]["state"], "in_call");
        assert_eq!(json["state"]["contact"], 3);
    }

    #[test]
    fn only_csta_outputs_map_to_events() {
        let est = Output::Established {
            contact: ContactId(2),
            agent: AgentId::from("a"),
        };
        assert!(matches!(est.csta(), Some(CstaEvent::Established { .. })));
        let full = Output::QueueFull {
            contact: ContactId(2),
            queue: QueueName::from("q"),
        };
        assert_eq!(full.csta(), None);
    }
}
