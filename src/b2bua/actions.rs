//! The typed vocabulary between the SoftACD engine and [`super::Call`]
//! (docs/design/call-flow.md, "The b2bua call model"): the call's setup
//! ([`CallSetup`]), what the engine reports after doing the SIP work
//! ([`CallInput`]) and what the call orders ([`CallAction`]): SIP operations
//! on legs, relay re-pointing, CTI inputs, interface-B messages to the IVR,
//! CSTA events for the live stream and CDR updates. No SIP parsing here.

use super::legs::LegId;
use crate::cti::{self, AgentId, ContactId, Media};
use std::net::SocketAddr;
use std::time::Duration;

/// Where RTP flows (docs/design/call-flow.md, "Media modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaMode {
    /// The SoftACD anchors RTP: every SDP it forwards names its relay.
    Relay,
    /// SDP passes unchanged; the caller is re-INVITEd to the agent (step 10).
    Direct,
}

/// The SoftACD's media addresses in relay mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayAddrs {
    /// What the caller sends to.
    pub a_side: SocketAddr,
    /// What the IVR and the agents send to.
    pub b_side: SocketAddr,
}

/// Everything known when the caller's INVITE arrives (step 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSetup {
    pub contact: ContactId,
    /// The From URI.
    pub caller: String,
    /// The Request-URI user (the dialed number).
    pub dnis: String,
    /// The INVITE's SDP; `None` is a late offer.
    pub sdp: Option<Vec<u8>>,
    pub mode: MediaMode,
    /// Required in relay mode.
    pub relay: Option<RelayAddrs>,
    /// The carrier trunk the INVITE came from (`[[trunk]]`), if any.
    pub trunk: Option<String>,
}

/// The call's stage (call-flow.md: Offered → Routing → InIvr → Queued →
/// Diverting → Connected → Clearing → Done).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// The INVITE is being read; [`super::Call::new`] returns in Routing
    /// (or Done when it refused the INVITE).
    Offered,
    /// CallDelivered and RouteRequest sent; waiting for RouteSelect.
    Routing,
    InIvr,
    Queued,
    Diverting,
    /// The IVR's `transfer` node: an external URI rings while the IVR
    /// leg stays up; back to InIvr on failure, Connected on 200.
    Transferring,
    Connected,
    /// The call is over for the caller; some legs still wait for a final
    /// response to our CANCEL.
    Clearing,
    Done,
}

/// What the engine reports about this call, after the SIP work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallInput {
    /// The caller's ACK to our 2xx (its SDP is the answer in a late offer).
    CallerAck {
        sdp: Option<Vec<u8>>,
    },
    CallerCancel,
    CallerBye,
    /// 1xx on an IVR or agent leg.
    Provisional {
        leg: LegId,
        code: u16,
        sdp: Option<Vec<u8>>,
    },
    /// 2xx on an IVR or agent leg. The engine does not ACK: the call does.
    Answered {
        leg: LegId,
        sdp: Option<Vec<u8>>,
    },
    /// A final non-2xx (or a transaction timeout as 408) on an IVR or agent leg.
    Failed {
        leg: LegId,
        code: u16,
    },
    /// The peer of an IVR or agent leg sent BYE (the engine already answered 200).
    Bye {
        leg: LegId,
    },
    /// 2xx to our re-INVITE of `leg` (v1: always the caller leg).
    ReInviteAnswered {
        leg: LegId,
        sdp: Option<Vec<u8>>,
    },
    ReInviteFailed {
        leg: LegId,
        code: u16,
    },
    /// A CTI output about this contact.
    Cti(cti::Output),
    /// Interface B: the IVR asks for a human (step 7).
    /// Interface B: the IVR took the contact out of its queue.
    IvrLeavesQueue,
    IvrRequestsAgent {
        queue: String,
        skills: Vec<String>,
        priority: u8,
    },
    /// The IVR's BYE (e.g. goodbye after a queue timeout).
    IvrHungUp,
    /// Interface B: the IVR's `transfer` node sends the caller to `uri`,
    /// ringing at most `ring` (RFC 3261 §16-style hand-off by a B2BUA).
    IvrTransfers {
        uri: String,
        ring: Duration,
    },
    /// [`super::Call::poll_timeout`] passed: the transfer rang too long.
    TransferTimeout,
    /// The SoftACD is shutting down: end the call on every leg.
    ServerShutdown,
    /// The agent pressed hang up on the desk: end the call on every leg
    /// (normal clearing).
    DeskHangUp,
    /// The engine's liveness probe found `leg` dead (481 or timeout to an
    /// in-dialog OPTIONS): handled exactly as a BYE from that leg, with
    /// cause `leg_lost`.
    LegLost {
        leg: LegId,
    },
    /// The desk holds the caller (hold music) while the agent's leg stays up.
    DeskHold,
    /// The desk takes the held caller back.
    DeskRetrieve,
}

/// Interface B, CTI → IVR, as far as the call model relays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtiToIvr {
    /// The caller waited too long; play goodbye and hang up.
    QueueTimeout { contact: ContactId },
    /// No agent can take this contact; play goodbye and hang up.
    NoAgents { contact: ContactId },
    /// The queue is full; play goodbye and hang up.
    QueueFull { contact: ContactId },
    /// An agent was chosen; the IVR leg is about to be released (step 8).
    AgentFound { contact: ContactId },
    /// The transfer target answered; the IVR leg is about to be released.
    TransferAnswered { contact: ContactId },
    /// The transfer failed with this SIP status (408 for the ring timeout,
    /// 403 for a refused target, 400 for a bad URI); the IVR goes on.
    TransferFailed { contact: ContactId, code: u16 },
    /// The callback asked by the IVR's callback node is registered.
    CallbackRegistered { contact: ContactId },
    /// It was refused (no place in line, too many callbacks, bad number).
    CallbackRefused { contact: ContactId },
    /// The answer to the IVR's position question: 1-based, 0 when not
    /// waiting; `ewt_s` the estimated wait in seconds, if any agent could serve.
    QueuePosition {
        contact: ContactId,
        position: u32,
        ewt_s: Option<u32>,
    },
}

/// One CDR fact as it becomes known; the engine stamps the time and writes
/// the row (call-flow.md, "CDR").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CdrUpdate {
    Arrived {
        caller: String,
        dnis: String,
        media: Media,
    },
    IvrAnswered {
        script: String,
    },
    Queued {
        queue: String,
    },
    AgentAnswered {
        agent: AgentId,
    },
    /// The caller was bridged to this external URI (the IVR's transfer).
    Transferred {
        uri: String,
    },
    /// The last update of every call, sent exactly once.
    Ended {
        cause: cti::ClearCause,
    },
}

/// What the call orders. The engine performs them in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    /// 1xx to the caller's INVITE (100 Trying is the engine's own).
    CallerProvisional {
        code: u16,
        sdp: Option<Vec<u8>>,
    },
    /// 200 OK to the caller's INVITE.
    CallerAnswer {
        sdp: Vec<u8>,
    },
    /// Final non-2xx to the caller's INVITE.
    CallerReject {
        code: u16,
        reason: String,
    },
    CallerBye,
    /// Re-INVITE the caller (step 10, or a relay codec change).
    CallerReInvite {
        sdp: Vec<u8>,
    },
    /// ACK the 2xx of our re-INVITE to the caller.
    CallerAck,
    /// INVITE the IVR (headers X-SoftACD-Contact and X-SoftACD-Script).
    InviteIvr {
        leg: LegId,
        script: String,
        sdp: Option<Vec<u8>>,
    },
    /// INVITE the agent's device (step 8).
    InviteAgent {
        leg: LegId,
        agent: AgentId,
        device: String,
        sdp: Option<Vec<u8>>,
    },
    /// INVITE an external party (the IVR's `transfer` node). The engine
    /// checks the URI and `[ivr] transfer_allow`; a refused or unusable
    /// URI comes back as `Failed` (403 or 400).
    InviteExternal {
        leg: LegId,
        uri: String,
        sdp: Option<Vec<u8>>,
    },
    /// ACK a leg's 2xx.
    Ack {
        leg: LegId,
        sdp: Option<Vec<u8>>,
    },
    Cancel {
        leg: LegId,
    },
    Bye {
        leg: LegId,
    },
    /// Re-point the relay. `None` leaves that side as it is.
    RelayPoint {
        side_b: Option<SocketAddr>,
        side_a: Option<SocketAddr>,
    },
    /// Feed this to the CTI.
    Cti(cti::Input),
    /// Send this to the IVR over interface B.
    Ivr(CtiToIvr),
    /// Publish on the live event stream.
    Event(cti::CstaEvent),
    Cdr(CdrUpdate),
}
