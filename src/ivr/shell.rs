//! The IVR/MS tokio shell (MISSION.md steps 4–7, docs/design/call-flow.md):
//! one task owns the pure [`MediaServer`] and feeds it everything with the
//! clock read here — SIP bytes from the SoftACD over the in-process link
//! (ingress-checked as a stream message, RFC 3261 §18.3), media events from
//! the [`MediaRuntime`], interface-B messages from the CTI, and its own
//! deadlines (`poll_timeout` → `sleep_until`). It drains [`MsOutput`] into
//! the SIP channel, the media runtime and the CTI channel.
//!
//! Queue music (step 7): the runtime has no "announce then loop", so a
//! `PlayHold` with an announce plays it and the shell starts the loop on
//! that stream's `PlaybackDone` (state kept per call, bounded by the
//! calls). Every channel send is `try_send`: a full peer queue loses the
//! message with a warning, never blocks the task. Nothing here panics on
//! peer input; failures are logged with the call reference.

use super::adapter::{IvrReport, ScriptSessions};
use super::http_client;
mod voicemail;
use super::ms::{self, CallRef, HttpResult, MediaServer, MsConfig, MsOutput};
use super::session::{HttpRequest, RecordResult};
use super::store::LiveFlows;
use crate::b2bua::CtiToIvr;
use crate::cti::ContactId;
use crate::media::prompt::PromptCache;
use crate::media::runtime::{
    MediaEvent, MediaHandle, MediaRuntime, MediaRuntimeConfig, RtcpMode, StreamId,
};
use crate::media::Codec;
use crate::sip::ingress::{check_stream_message, Ingress};
use crate::sip::transaction::TimerConfig;
use crate::sip::uac::LocalAddr;
use crate::sip::{Message, Peer, TransportKind};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Media events and stream-open answers queued for the shell task.
pub const EVENT_QUEUE: usize = 1024;
/// Most http-node requests in flight at once; more fail over at once.
pub const MAX_HTTP_IN_FLIGHT: usize = 64;
/// Live SIP transactions per call held.
const TRANSACTIONS_PER_CALL: usize = 4;
/// The SIP port written in our Via and Contact (the link has no port).
const LOCAL_SIP_PORT: u16 = 5060;

/// Interface B, IVR → CTI (through the SoftACD engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrToCti {
    /// Queue this contact for an agent (step 7).
    RequestAgent {
        contact: ContactId,
        queue: String,
        skills: Vec<String>,
        priority: u8,
    },
    /// Take this contact out of its queue (the flow's max wait or callback key).
    LeaveQueue { contact: ContactId },
    /// Ask this contact's place in line (answered with `QueuePosition`).
    QueryPosition { contact: ContactId },
    /// The flow's transfer node: send the caller to `uri`, ringing at most
    /// `timeout_s` (answered with `TransferAnswered` or `TransferFailed`).
    TransferExternal {
        contact: ContactId,
        uri: String,
        timeout_s: u32,
    },
    /// The flow's callback node: `number` is called back when this
    /// contact's turn comes (answered `CallbackRegistered` or `CallbackRefused`).
    RequestCallback { contact: ContactId, number: String },
    /// The contact left the IVR: what the CDR records of its IVR part.
    Report {
        contact: ContactId,
        script: String,
        version: String,
        digits: String,
        /// The voicemail the caller left (a WAV path), if any.
        voicemail: Option<String>,
    },
}

impl From<IvrReport> for IvrToCti {
    fn from(r: IvrReport) -> Self {
        IvrToCti::Report {
            contact: ContactId(r.contact),
            script: r.script,
            version: r.version,
            digits: r.digits,
            voicemail: r.voicemail,
        }
    }
}

/// The shell's links to the SoftACD engine.
pub struct IvrChannels {
    /// Serialized SIP messages from the SoftACD (the in-process transport).
    pub sip_in: mpsc::Receiver<Vec<u8>>,
    /// Serialized SIP messages to the SoftACD.
    pub sip_out: mpsc::Sender<Vec<u8>>,
    /// Interface B from the CTI.
    pub cti_in: mpsc::Receiver<CtiToIvr>,
    /// Interface B to the CTI.
    pub cti_out: mpsc::Sender<IvrToCti>,
}

#[derive(Debug, Clone)]
pub struct IvrShellConfig {
    /// Host of our Via and Contact (`ivr.local`).
    pub sip_host: String,
    /// The SoftACD as a SIP peer (a label on the in-process link).
    pub softacd_peer: SocketAddr,
    pub media: MediaRuntimeConfig,
    pub max_calls: usize,
    pub timers: TimerConfig,
    /// Non-loopback `host:port`s the http node may call (`[ivr] http_allow`).
    pub http_allow: Vec<String>,
    /// Where `record` nodes write (`<data_dir>/voicemail`).
    pub voicemail_dir: std::path::PathBuf,
    /// Most WAV files in `voicemail_dir`; a full box fails new recordings
    /// (`[ivr] voicemail_max_files`).
    pub voicemail_max_files: usize,
}

/// Start the IVR/MS task on the current tokio runtime. It runs until
/// `stop` turns true (or its sender is dropped) or `sip_in` closes; then
/// the calls still held are forgotten without BYE (the SoftACD is going
/// away too), their reports are sent, and the RTP streams close with the
/// media runtime.
pub fn spawn(
    cfg: IvrShellConfig,
    scripts: impl Into<LiveFlows>,
    prompts: Arc<PromptCache>,
    ch: IvrChannels,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    spawn_with_codecs(cfg, &Codec::SUPPORTED, scripts, prompts, ch, stop)
}

/// [`spawn`] accepting and offering only `codecs`, in this order of
/// preference (`[media] codecs`, RFC 3264).
pub fn spawn_with_codecs(
    cfg: IvrShellConfig,
    codecs: &[Codec],
    scripts: impl Into<LiveFlows>,
    prompts: Arc<PromptCache>,
    ch: IvrChannels,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let (media_tx, media_rx) = mpsc::channel(EVENT_QUEUE);
    let media = MediaRuntime::start(cfg.media.clone(), prompts, media_tx);
    let (factory, reports) = ScriptSessions::with_reports(scripts, cfg.max_calls.max(1) * 2);
    let ms_cfg = MsConfig {
        local: LocalAddr {
            transport: TransportKind::Local,
            host: cfg.sip_host.clone(),
            port: LOCAL_SIP_PORT,
        },
        user: "ivr".into(),
        max_calls: cfg.max_calls,
        max_transactions: cfg.max_calls.max(1).saturating_mul(TRANSACTIONS_PER_CALL),
        timers: cfg.timers,
        info_dtmf: cfg.media.dtmf.info,
    };
    let mut ms = MediaServer::new(ms_cfg, factory, seed());
    ms.set_codecs(codecs);
    let (opened_tx, opened_rx) = mpsc::channel(EVENT_QUEUE);
    let (http_tx, http_rx) = mpsc::channel(MAX_HTTP_IN_FLIGHT);
    let (record_tx, record_rx) = mpsc::channel(cfg.max_calls.max(1));
    let shell = Shell {
        http: HttpLink {
            allow: Arc::new(cfg.http_allow.clone()),
            tx: http_tx,
            in_flight: 0,
        },
        ms,
        media,
        peer: Peer {
            transport: TransportKind::Local,
            addr: cfg.softacd_peer,
            conn: None,
        },
        sip_out: ch.sip_out,
        cti_out: ch.cti_out,
        reports,
        opened_tx,
        hold_pending: HashMap::new(),
        recorder: voicemail::Recorder::new(
            cfg.voicemail_dir.clone(),
            cfg.voicemail_max_files,
            record_tx,
        ),
    };
    let inputs = Inputs {
        sip_in: ch.sip_in,
        cti_in: ch.cti_in,
        media_rx,
        opened_rx,
        http_rx,
        record_rx,
        stop,
    };
    tokio::spawn(shell.run(inputs))
}

/// Tags, branches and Call-IDs seed from the OS RNG; the clock if it fails.
fn seed() -> u64 {
    getrandom::u64().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "ivr: no OS randomness, seeding from the clock");
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    })
}

type Opened = (
    CallRef,
    Result<SocketAddr, crate::media::runtime::MediaError>,
);

struct Inputs {
    sip_in: mpsc::Receiver<Vec<u8>>,
    cti_in: mpsc::Receiver<CtiToIvr>,
    media_rx: mpsc::Receiver<MediaEvent>,
    opened_rx: mpsc::Receiver<Opened>,
    http_rx: mpsc::Receiver<(CallRef, HttpResult)>,
    record_rx: mpsc::Receiver<(CallRef, RecordResult)>,
    stop: watch::Receiver<bool>,
}

/// The http node's requests: each runs on its own task, at most
/// [`MAX_HTTP_IN_FLIGHT`] at once, answering on `tx`.
struct HttpLink {
    allow: Arc<Vec<String>>,
    tx: mpsc::Sender<(CallRef, HttpResult)>,
    in_flight: usize,
}

struct Shell {
    ms: MediaServer<ScriptSessions>,
    media: MediaHandle,
    peer: Peer,
    sip_out: mpsc::Sender<Vec<u8>>,
    cti_out: mpsc::Sender<IvrToCti>,
    reports: std::sync::mpsc::Receiver<IvrReport>,
    opened_tx: mpsc::Sender<Opened>,
    /// Calls whose announce is playing: the music to loop after it.
    hold_pending: HashMap<CallRef, String>,
    http: HttpLink,
    recorder: voicemail::Recorder,
}

fn stream(call: CallRef) -> StreamId {
    StreamId(call.0)
}

fn call_of(id: StreamId) -> CallRef {
    CallRef(id.0)
}

impl Shell {
    async fn run(mut self, mut inp: Inputs) {
        let mut cti_open = true;
        while !*inp.stop.borrow() {
            let deadline = self.ms.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                changed = inp.stop.changed() => {
                    if changed.is_err() || *inp.stop.borrow() {
                        break;
                    }
                }
                bytes = inp.sip_in.recv() => match bytes {
                    Some(b) => self.on_sip(&b),
                    None => break,
                },
                msg = inp.cti_in.recv(), if cti_open => match msg {
                    Some(m) => self.on_cti(m),
                    None => cti_open = false,
                },
                Some(ev) = inp.media_rx.recv() => self.on_media(ev),
                Some((call, res)) = inp.opened_rx.recv() => self.on_opened(call, res),
                Some((call, res)) = inp.http_rx.recv() => {
                    self.http.in_flight = self.http.in_flight.saturating_sub(1);
                    self.ms.http_result(Instant::now(), call, res);
                }
                Some((call, res)) = inp.record_rx.recv() => {
                    self.recorder.finished(&self.media, call, &res);
                    self.ms.record_result(Instant::now(), call, res);
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.ms.handle_timeout(Instant::now());
                }
            }
            self.drain();
        }
        tracing::info!(calls = self.ms.calls(), "ivr: shell stopping");
        // Forgetting the calls drops their sessions: their reports still go out.
        let Shell {
            ms,
            reports,
            cti_out,
            ..
        } = self;
        drop(ms);
        while let Ok(report) = reports.try_recv() {
            if let Err(e) = cti_out.try_send(report.into()) {
                tracing::warn!(error = %e, "ivr: report dropped at shutdown");
            }
        }
    }

    fn on_sip(&mut self, bytes: &[u8]) {
        match check_stream_message(bytes) {
            Ingress::Accept(msg) => self.ms.handle_received(Instant::now(), msg, self.peer),
            Ingress::Reject(resp) => self.send_sip(&Message::Response(resp)),
            Ingress::Drop(reason) => tracing::debug!(?reason, "ivr: SIP message dropped"),
        }
    }

    fn on_cti(&mut self, m: CtiToIvr) {
        self.ms.cti_event(Instant::now(), cti_input(m));
    }

    fn on_media(&mut self, ev: MediaEvent) {
        let now = Instant::now();
        match ev {
            MediaEvent::Digit { id, key } => {
                let call = call_of(id);
                self.ms
                    .media_event(now, ms::MediaEvent::Digit { call, key });
            }
            MediaEvent::PlaybackDone { id } => {
                let call = call_of(id);
                match self.hold_pending.remove(&call) {
                    Some(music) => self.start_loop(call, music),
                    None => self
                        .ms
                        .media_event(now, ms::MediaEvent::PlaybackDone { call }),
                }
            }
        }
    }

    fn on_opened(
        &mut self,
        call: CallRef,
        res: Result<SocketAddr, crate::media::runtime::MediaError>,
    ) {
        match res {
            Ok(addr) => self.ms.stream_opened(Instant::now(), call, addr),
            // The core has no "stream failed" input yet: the call stays
            // unanswered until the SoftACD gives up on it.
            Err(e) => tracing::warn!(call = call.0, error = %e, "ivr: RTP stream not opened"),
        }
    }

    /// Carry out every output of the core, then forward the reports.
    fn drain(&mut self) {
        while let Some(out) = self.ms.poll_output() {
            self.perform(out);
        }
        while let Ok(report) = self.reports.try_recv() {
            self.send_cti(report.into());
        }
    }

    fn perform(&mut self, out: MsOutput) {
        match out {
            MsOutput::Transmit { msg, .. } => self.send_sip(&msg),
            MsOutput::OpenStream { call, rtcp_mux, .. } => self.open_stream(call, rtcp_mux),
            MsOutput::ConfigureStream {
                call,
                remote,
                codec,
                payload_type,
                dtmf_pt,
                ptime_ms,
            } => {
                self.recorder.codec(call, codec);
                let r = self
                    .media
                    .configure(stream(call), remote, codec, payload_type, dtmf_pt);
                log_media(call, "configure", r);
                let r = self.media.set_ptime(stream(call), ptime_ms);
                log_media(call, "set ptime", r);
            }
            MsOutput::Play {
                call,
                prompts,
                interruptible,
            } => {
                self.hold_pending.remove(&call);
                let r = self.media.play(stream(call), prompts, interruptible);
                log_media(call, "play", r);
            }
            MsOutput::StopPlayback { call } => {
                self.hold_pending.remove(&call);
                log_media(call, "stop", self.media.stop(stream(call)));
            }
            MsOutput::PlayHold {
                call,
                music,
                announce,
            } => self.play_hold(call, music, announce),
            MsOutput::RequestAgent {
                contact,
                queue,
                skills,
                priority,
            } => self.send_cti(IvrToCti::RequestAgent {
                contact: ContactId(contact),
                queue,
                skills,
                priority,
            }),
            MsOutput::LeaveQueue { contact } => self.send_cti(IvrToCti::LeaveQueue {
                contact: ContactId(contact),
            }),
            MsOutput::QueryPosition { contact } => self.send_cti(IvrToCti::QueryPosition {
                contact: ContactId(contact),
            }),
            MsOutput::TransferExternal {
                contact,
                uri,
                timeout_s,
            } => self.send_cti(IvrToCti::TransferExternal {
                contact: ContactId(contact),
                uri,
                timeout_s,
            }),
            MsOutput::RequestCallback { contact, number } => {
                self.send_cti(IvrToCti::RequestCallback {
                    contact: ContactId(contact),
                    number,
                })
            }
            MsOutput::SetSending { call, sending } => {
                let r = self.media.set_sending(stream(call), sending);
                log_media(call, "set sending", r);
            }
            MsOutput::CloseStream { call } => {
                self.hold_pending.remove(&call);
                self.recorder.forget(call);
                log_media(call, "close", self.media.close(stream(call)));
            }
            MsOutput::HttpRequest { call, req } => self.http_request(call, req),
            MsOutput::Record { call, cmd } => {
                if let Some(res) = self.recorder.command(&self.media, call, cmd) {
                    self.ms.record_result(Instant::now(), call, res);
                }
            }
        }
    }

    /// Interface D off the task; the answer comes back on `http_rx`.
    fn http_request(&mut self, call: CallRef, req: HttpRequest) {
        if self.http.in_flight >= MAX_HTTP_IN_FLIGHT {
            tracing::warn!(call = call.0, "ivr: too many http requests in flight");
            let reason = format!("more than {MAX_HTTP_IN_FLIGHT} requests in flight");
            let res = HttpResult::Failed { id: req.id, reason };
            self.ms.http_result(Instant::now(), call, res);
            return;
        }
        self.http.in_flight += 1;
        let allow = Arc::clone(&self.http.allow);
        let tx = self.http.tx.clone();
        tokio::spawn(async move {
            let res = match http_client::fetch(&req, &allow).await {
                Ok((status, body)) => HttpResult::Response {
                    id: req.id,
                    status,
                    body,
                },
                Err(e) => {
                    tracing::info!(call = call.0, url = %req.url, error = %e, "ivr: http request failed");
                    HttpResult::Failed {
                        id: req.id,
                        reason: e.to_string(),
                    }
                }
            };
            if tx.send((call, res)).await.is_err() {
                tracing::debug!(call = call.0, "ivr: http answer after the shell stopped");
            }
        });
    }

    /// Bind the port off the task (the runtime answers asynchronously).
    fn open_stream(&self, call: CallRef, rtcp_mux: bool) {
        let media = self.media.clone();
        let tx = self.opened_tx.clone();
        let rtcp = match rtcp_mux {
            true => RtcpMode::Mux,
            false => RtcpMode::Separate,
        };
        tokio::spawn(async move {
            let res = media.open_stream_with(stream(call), rtcp).await;
            if tx.send((call, res)).await.is_err() {
                tracing::debug!(call = call.0, "ivr: stream opened after the shell stopped");
            }
        });
    }

    fn play_hold(&mut self, call: CallRef, music: String, announce: Option<String>) {
        match announce {
            None => {
                self.hold_pending.remove(&call);
                self.start_loop(call, music);
            }
            Some(a) => {
                let r = self.media.play(stream(call), vec![a], false);
                if r.is_ok() {
                    self.hold_pending.insert(call, music);
                } else {
                    log_media(call, "announce", r);
                    self.start_loop(call, music);
                }
            }
        }
    }

    fn start_loop(&self, call: CallRef, music: String) {
        log_media(
            call,
            "hold music",
            self.media.play_loop(stream(call), music),
        );
    }

    fn send_sip(&self, msg: &Message) {
        if let Err(e) = self.sip_out.try_send(msg.to_bytes()) {
            tracing::warn!(error = %e, "ivr: SIP message to the SoftACD dropped");
        }
    }

    fn send_cti(&self, msg: IvrToCti) {
        if let Err(e) = self.cti_out.try_send(msg) {
            tracing::warn!(error = %e, "ivr: interface-B message dropped");
        }
    }
}

/// Interface B as the core hears it: a full queue ends the wait like "no
/// agents" (the script's `on_timeout` branch says goodbye).
fn cti_input(m: CtiToIvr) -> ms::CtiToIvr {
    match m {
        CtiToIvr::QueueTimeout { contact } => ms::CtiToIvr::QueueTimeout { contact: contact.0 },
        CtiToIvr::NoAgents { contact } | CtiToIvr::QueueFull { contact } => {
            ms::CtiToIvr::NoAgents { contact: contact.0 }
        }
        CtiToIvr::AgentFound { contact } => ms::CtiToIvr::AgentFound { contact: contact.0 },
        CtiToIvr::QueuePosition {
            contact,
            position,
            ewt_s,
        } => ms::CtiToIvr::QueuePosition {
            contact: contact.0,
            position,
            ewt_s,
        },
        CtiToIvr::TransferAnswered { contact } => {
            ms::CtiToIvr::TransferAnswered { contact: contact.0 }
        }
        CtiToIvr::TransferFailed { contact, code } => ms::CtiToIvr::TransferFailed {
            contact: contact.0,
            code,
        },
        CtiToIvr::CallbackRegistered { contact } => {
            ms::CtiToIvr::CallbackRegistered { contact: contact.0 }
        }
        CtiToIvr::CallbackRefused { contact } => {
            ms::CtiToIvr::CallbackRefused { contact: contact.0 }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn log_media(call: CallRef, what: &str, r: Result<(), crate::media::runtime::MediaError>) {
    if let Err(e) = r {
        tracing::warn!(call = call.0, error = %e, "ivr: media {what} failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_full_and_no_agents_both_end_the_wait_as_no_agents() {
        let c = ContactId(4);
        assert_eq!(
            cti_input(CtiToIvr::QueueFull { contact: c }),
            ms::CtiToIvr::NoAgents { contact: 4 }
        );
        assert_eq!(
            cti_input(CtiToIvr::NoAgents { contact: c }),
            ms::CtiToIvr::NoAgents { contact: 4 }
        );
        assert_eq!(
            cti_input(CtiToIvr::QueueTimeout { contact: c }),
            ms::CtiToIvr::QueueTimeout { contact: 4 }
        );
        assert_eq!(
            cti_input(CtiToIvr::AgentFound { contact: c }),
            ms::CtiToIvr::AgentFound { contact: 4 }
        );
    }

    #[test]
    fn report_becomes_interface_b_report() {
        let r = IvrReport {
            contact: 12,
            script: "main".into(),
            version: "abc".into(),
            digits: "10".into(),
            voicemail: Some("data/voicemail/12-5.wav".into()),
        };
        assert_eq!(
            IvrToCti::from(r),
            IvrToCti::Report {
                contact: ContactId(12),
                script: "main".into(),
                version: "abc".into(),
                digits: "10".into(),
                voicemail: Some("data/voicemail/12-5.wav".into()),
            }
        );
    }

    #[test]
    fn stream_ids_and_call_refs_map_one_to_one() {
        assert_eq!(call_of(stream(CallRef(77))), CallRef(77));
    }
}
