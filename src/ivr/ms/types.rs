//! The vocabulary of the IVR/MS user agent core: its configuration, the
//! inputs the shell and the CTI feed it (media and interface-B events), the
//! outputs it emits, and the two traits a script interpreter implements to
//! be driven by it (MISSION.md steps 4-5; docs/design/call-flow.md).

use crate::media::Codec;
use crate::sip::transaction::TimerConfig;
use crate::sip::uac::LocalAddr;
use crate::sip::{Message, Peer};
use std::net::SocketAddr;
use std::time::Instant;

/// One call the media server holds (one SIP dialog, one RTP stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

/// What the media server needs to know about itself.
#[derive(Debug, Clone)]
pub struct MsConfig {
    /// Via sent-by and Contact host.
    pub local: LocalAddr,
    /// User part of our Contact (`sip:ivr@…`).
    pub user: String,
    /// Calls held at once; the next INVITE is answered 503.
    pub max_calls: usize,
    /// Live SIP transactions at once.
    pub max_transactions: usize,
    pub timers: TimerConfig,
    /// Whether INFO with a DTMF body is read (`[media] dtmf` has "info");
    /// when off such an INFO gets 415.
    pub info_dtmf: bool,
}

/// The header naming the contact (cti::ContactId) an INVITE is for.
pub const HDR_CONTACT: &str = "X-SoftACD-Contact";
/// The header naming the script to run.
pub const HDR_SCRIPT: &str = "X-SoftACD-Script";
/// The script run when the INVITE names none.
pub const DEFAULT_SCRIPT: &str = "main";
/// Retry-After (seconds) on the 503 when `max_calls` are up.
pub const BUSY_RETRY_AFTER_SECS: u32 = 10;

/// Events from the media shell (RTP side) for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// A DTMF key was received (RFC 4733).
    Digit { call: CallRef, key: char },
    /// The prompts of the last `Play` finished.
    PlaybackDone { call: CallRef },
}

/// Interface B: what the CTI tells the IVR about a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtiToIvr {
    QueueTimeout {
        contact: u64,
    },
    NoAgents {
        contact: u64,
    },
    AgentFound {
        contact: u64,
    },
    /// The answer to `QueryPosition`: 1-based place in line, 0 when not waiting.
    QueuePosition {
        contact: u64,
        position: u32,
        /// Estimated wait in seconds; `None` when no agent could serve.
        ewt_s: Option<u32>,
    },
    /// The transfer target answered; the SoftACD releases our leg.
    TransferAnswered {
        contact: u64,
    },
    /// The transfer failed with this SIP status; the flow goes on.
    TransferFailed {
        contact: u64,
        code: u16,
    },
    /// The callback the flow asked for is registered.
    CallbackRegistered {
        contact: u64,
    },
    /// The callback the flow asked for was refused.
    CallbackRefused {
        contact: u64,
    },
}

/// What the media server asks of the shell (SIP transport, RTP, CTI).
// Drained at once, like `transaction::Output`; boxing the message would
// cost an allocation per send for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsOutput {
    /// Serialize and send.
    Transmit {
        peer: Peer,
        msg: Message,
    },
    /// Open an RTP socket for `call`, then call `stream_opened`. With
    /// `rtcp_mux` (offered, and answered, RFC 5761) RTCP shares it.
    OpenStream {
        call: CallRef,
        contact: u64,
        rtcp_mux: bool,
    },
    /// Offer/answer is done: send RTP to `remote` with this codec.
    ConfigureStream {
        call: CallRef,
        remote: SocketAddr,
        codec: Codec,
        payload_type: u8,
        dtmf_pt: Option<u8>,
        /// Packet time to send (`a=ptime` honoured: 20, 40 or 60 ms).
        ptime_ms: u32,
    },
    Play {
        call: CallRef,
        prompts: Vec<String>,
        interruptible: bool,
    },
    StopPlayback {
        call: CallRef,
    },
    PlayHold {
        call: CallRef,
        music: String,
        announce: Option<String>,
    },
    /// Interface B: queue this contact for an agent.
    RequestAgent {
        contact: u64,
        queue: String,
        skills: Vec<String>,
        priority: u8,
    },
    /// Interface B: take this contact out of its queue.
    LeaveQueue {
        contact: u64,
    },
    /// Interface B: ask this contact's place in line.
    QueryPosition {
        contact: u64,
    },
    /// Interface B: send this contact to an external SIP URI.
    TransferExternal {
        contact: u64,
        uri: String,
        timeout_s: u32,
    },
    /// Interface B: the caller leaves `number` for a callback that keeps
    /// this contact's place in line.
    RequestCallback {
        contact: u64,
        number: String,
    },
    /// Hold (RFC 3264 §8.4): stop (`false`) or resume (`true`) sending
    /// RTP on `call`'s stream; the playback pauses meanwhile.
    SetSending {
        call: CallRef,
        sending: bool,
    },
    /// Stop media and close the RTP socket of `call`.
    CloseStream {
        call: CallRef,
    },
    /// Interface D: perform `req` for `call`, then call `http_result`.
    HttpRequest {
        call: CallRef,
        req: crate::ivr::session::HttpRequest,
    },
    /// Start or stop a voicemail recording of `call`'s caller; the outcome
    /// comes back through `record_result`.
    Record {
        call: CallRef,
        cmd: crate::ivr::session::RecordCommand,
    },
}

/// What came of an `HttpRequest` (interface D).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpResult {
    Response { id: u64, status: u16, body: String },
    Failed { id: u64, reason: String },
}

/// An event for a call's script session (mirrors `ivr::session::IvrEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppEvent {
    Start,
    Digit(char),
    PromptDone,
    Timeout,
    QueueTimeout,
    NoAgents,
    AgentFound,
    Hangup,
    Http(HttpResult),
    TransferAnswered,
    TransferFailed { code: u16 },
    Record(crate::ivr::session::RecordResult),
    QueuePosition { position: u32, ewt_s: Option<u32> },
    CallbackRegistered,
    CallbackRefused,
}

/// What a call's script session asks for (mirrors `ivr::session::IvrCommand`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCommand {
    Play {
        prompts: Vec<String>,
        interruptible: bool,
    },
    StopPlayback,
    PlayHold {
        music: String,
        announce: Option<String>,
    },
    RequestAgent {
        queue: String,
        skills: Vec<String>,
        priority: u8,
    },
    LeaveQueue,
    QueryPosition,
    Hangup {
        cause: String,
    },
    HttpRequest(crate::ivr::session::HttpRequest),
    Transfer {
        uri: String,
        timeout_s: u32,
    },
    Record(crate::ivr::session::RecordCommand),
    RequestCallback {
        number: String,
    },
}

/// One call's script interpreter, driven with injected time.
pub trait CallSession {
    fn handle(&mut self, now: Instant, ev: AppEvent) -> Vec<AppCommand>;
    /// When the session wants `AppEvent::Timeout`.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Makes a session for a new call; `None` when `script` is unknown (404).
pub trait SessionFactory {
    type Session: CallSession;
    fn create(&mut self, script: &str, contact: u64) -> Option<Self::Session>;
    /// [`SessionFactory::create`] with the call data of the INVITE
    /// (caller, DNIS, X-* headers); factories that need none keep this default.
    fn create_with_info(
        &mut self,
        script: &str,
        contact: u64,
        info: crate::ivr::session_info::SessionInfo,
    ) -> Option<Self::Session> {
        let _ = info;
        self.create(script, contact)
    }
}
