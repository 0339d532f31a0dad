//! The IVR/MS SIP user agent (MISSION.md step 4, docs/design/call-flow.md):
//! a pure UAS core that owns a [`TransactionLayer`] and one dialog
//! (RFC 3261 §12, §13.3) per call the SoftACD sends it. It answers an
//! INVITE carrying `X-SoftACD-Contact` with 100, asks the shell for an RTP
//! stream, then 180 and 200 with SDP (RFC 3264 answer, or our offer for a
//! late offer, §13.2.1); on the ACK it configures media and starts the
//! call's script session, whose commands become media, CTI (interface B)
//! and SIP outputs. BYE, CANCEL (§9.2) and re-INVITE (hold: `hold`) are handled; the
//! 2xx is retransmitted until ACKed (§13.3.1.4).
//!
//! Same shape as the transaction layer: `handle_*` in, [`MediaServer::poll_output`]
//! out, [`MediaServer::poll_timeout`] for the next deadline. No IO, no clock.
//! The script interpreter plugs in through [`SessionFactory`] (script
//! name + contact id → session, `None` → 404) and [`CallSession`]
//! (`handle(now, AppEvent) -> Vec<AppCommand>`, `poll_timeout`), whose
//! events and commands mirror `ivr::session::IvrEvent`/`IvrCommand` one to
//! one, so the adapter for `IvrSession` is a pair of `match`es.

mod call;
mod error;
mod hold;
mod info;
mod invite;
mod running;
mod types;

#[cfg(test)]
mod tests;

pub use error::MsError;
pub use types::*;

use crate::ivr::session::RecordResult;
use crate::media::Codec;
use crate::sip::dialog::DialogId;
use crate::sip::transaction::{Output, TransactionLayer, TxKey};
use crate::sip::uac::IdGen;
use crate::sip::{response_to, Message, Method, Peer, Request};
use call::Call;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

/// Methods we answer, for Allow on 405 and OPTIONS.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO";

/// The media server's SIP user agent core. See the module docs.
pub struct MediaServer<F: SessionFactory> {
    cfg: MsConfig,
    layer: TransactionLayer,
    factory: F,
    ids: IdGen,
    next_call: u64,
    calls: HashMap<CallRef, Call<F::Session>>,
    by_dialog: HashMap<DialogId, CallRef>,
    by_invite: HashMap<TxKey, CallRef>,
    by_contact: HashMap<u64, CallRef>,
    out: VecDeque<MsOutput>,
    /// Codecs we accept and offer, in our preference (`[media] codecs`).
    codecs: Vec<Codec>,
}

impl<F: SessionFactory> MediaServer<F> {
    /// `seed` feeds tags, branches and Call-IDs (draw it from the OS RNG).
    pub fn new(cfg: MsConfig, factory: F, seed: u64) -> Self {
        MediaServer {
            layer: TransactionLayer::new(cfg.timers, cfg.max_transactions),
            cfg,
            factory,
            ids: IdGen::new(seed),
            next_call: 1,
            calls: HashMap::new(),
            by_dialog: HashMap::new(),
            by_invite: HashMap::new(),
            by_contact: HashMap::new(),
            out: VecDeque::new(),
            codecs: Codec::SUPPORTED.to_vec(),
        }
    }

    /// Accept and offer only `codecs`, in this order of preference (every
    /// codec we support until called). An empty list keeps the current one.
    pub fn set_codecs(&mut self, codecs: &[Codec]) {
        if !codecs.is_empty() {
            self.codecs = codecs.to_vec();
        }
    }

    /// A SIP message from the SoftACD (after the ingress checks).
    pub fn handle_received(&mut self, now: Instant, msg: Message, peer: Peer) {
        self.layer.handle_received(now, msg, peer);
        self.pump(now);
    }

    /// Fire transaction timers, 2xx retransmissions and session timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.pump(now);
        self.fire_call_timers(now);
        self.pump(now);
    }

    /// The earliest deadline: transactions, 2xx timers and sessions (a
    /// scan over the calls, bounded by `max_calls`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self.calls.values().filter_map(running::call_deadline);
        self.layer.poll_timeout().into_iter().chain(calls).min()
    }

    pub fn poll_output(&mut self) -> Option<MsOutput> {
        self.out.pop_front()
    }

    /// The shell opened the RTP socket of `call` at `local_rtp`: answer.
    pub fn stream_opened(&mut self, now: Instant, call: CallRef, local_rtp: SocketAddr) {
        self.answer(now, call, local_rtp);
        self.pump(now);
    }

    /// A DTMF digit or the end of a playback.
    pub fn media_event(&mut self, now: Instant, ev: MediaEvent) {
        let (call, ev) = match ev {
            MediaEvent::Digit { call, key } => (call, AppEvent::Digit(key)),
            MediaEvent::PlaybackDone { call } => (call, AppEvent::PromptDone),
        };
        self.feed_session(now, call, ev);
        self.pump(now);
    }

    /// Interface B: a CTI verdict for a contact in queue.
    pub fn cti_event(&mut self, now: Instant, ev: CtiToIvr) {
        let (contact, ev) = match ev {
            CtiToIvr::QueueTimeout { contact } => (contact, AppEvent::QueueTimeout),
            CtiToIvr::NoAgents { contact } => (contact, AppEvent::NoAgents),
            CtiToIvr::AgentFound { contact } => (contact, AppEvent::AgentFound),
            CtiToIvr::TransferAnswered { contact } => (contact, AppEvent::TransferAnswered),
            CtiToIvr::TransferFailed { contact, code } => {
                (contact, AppEvent::TransferFailed { code })
            }
            CtiToIvr::QueuePosition {
                contact,
                position,
                ewt_s,
            } => (contact, AppEvent::QueuePosition { position, ewt_s }),
            CtiToIvr::CallbackRegistered { contact } => (contact, AppEvent::CallbackRegistered),
            CtiToIvr::CallbackRefused { contact } => (contact, AppEvent::CallbackRefused),
        };
        if let Some(call) = self.by_contact.get(&contact).copied() {
            self.feed_session(now, call, ev);
        }
        self.pump(now);
    }

    /// Interface D: the outcome of an `HttpRequest` of `call`.
    pub fn http_result(&mut self, now: Instant, call: CallRef, res: HttpResult) {
        self.feed_session(now, call, AppEvent::Http(res));
        self.pump(now);
    }

    /// A voicemail recorder's report for `call`.
    pub fn record_result(&mut self, now: Instant, call: CallRef, res: RecordResult) {
        self.feed_session(now, call, AppEvent::Record(res));
        self.pump(now);
    }

    /// The transport to `peer` failed: its transactions end (§17.1.4).
    pub fn transport_error(&mut self, now: Instant, peer: &Peer) {
        self.layer.transport_error(now, peer);
        self.pump(now);
    }

    /// Calls held now.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Drain the transaction layer: transmissions out, requests and ACKs in.
    fn pump(&mut self, now: Instant) {
        while let Some(o) = self.layer.poll_output() {
            match o {
                Output::Transmit { peer, msg } => {
                    self.out.push_back(MsOutput::Transmit { peer, msg })
                }
                Output::Request {
                    key,
                    req,
                    peer,
                    cancels,
                } => self.on_request(now, key, req, peer, cancels),
                Output::Ack { req, .. } => self.on_ack(now, &req),
                Output::Timeout { key } | Output::TransportError { key } => {
                    tracing::debug!(%key, "ms: transaction ended without success")
                }
                Output::Response { .. }
                | Output::StrayResponse { .. }
                | Output::Terminated { .. } => {}
            }
        }
    }

    fn on_request(
        &mut self,
        now: Instant,
        key: TxKey,
        req: Request,
        peer: Peer,
        cancels: Option<TxKey>,
    ) {
        match req.method {
            Method::Invite => self.on_invite(now, key, req, peer),
            Method::Cancel => self.on_cancel(now, &key, &req, cancels),
            Method::Bye => self.on_bye(now, &key, &req),
            Method::Info => self.on_info(now, &key, &req),
            Method::Options => {
                let mut resp = response_to(&req, 200, Some(&self.ids.tag()));
                resp.headers.push("Allow", ALLOW);
                self.respond(now, &key, resp);
            }
            _ => {
                let mut resp = response_to(&req, 405, Some(&self.ids.tag()));
                resp.headers.push("Allow", ALLOW);
                self.respond(now, &key, resp);
            }
        }
    }

    fn respond(&mut self, now: Instant, key: &TxKey, resp: crate::sip::Response) {
        if let Err(e) = self.layer.respond(now, key, resp) {
            tracing::debug!(error = %e, "ms: response not sent");
        }
    }

    /// Forget a call and close its stream.
    fn end_call(&mut self, call: CallRef) {
        if let Some(c) = self.calls.remove(&call) {
            self.by_dialog.remove(&c.dialog_id);
            self.by_invite.remove(&c.invite_key);
            if self.by_contact.get(&c.contact) == Some(&call) {
                self.by_contact.remove(&c.contact);
            }
            self.out.push_back(MsOutput::CloseStream { call });
        }
    }
}
