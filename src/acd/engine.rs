//! The UAS core of the SoftACD (RFC 3261 §8.2) and the host of its pure
//! state machines: the transaction layer, the registrar, the CTI and one
//! [`crate::b2bua::Call`] per contact (calls are in `calls.rs`, agents in
//! `agents.rs`). New server transactions are routed by method — REGISTER to
//! the registrar, OPTIONS answered here (§11), INVITE to the call model,
//! in-dialog requests to their call (else 481, §12.2.2), known but
//! unsupported methods 405 with Allow (§8.2.1) — and new INVITEs are refused
//! once a graceful shutdown has begun (503 with Retry-After, §21.5.4).

use super::calls::Calls;
use crate::b2bua::{CtiToIvr, MediaMode, RelayAddrs};
use crate::cdr::Cdr;
use crate::cti::{ContactId, CstaEvent, Cti, Output as CtiOutput};
use crate::registrar::{BindingChange, RegisterEvent, Registrar};
use crate::sip::ingress::{ACCEPT, ALLOW, SUPPORTED};
use crate::sip::transaction::{Output, TimerConfig, TransactionLayer, TxKey};
use crate::sip::uac::IdGen;
use crate::sip::{response_to, HeaderView, Message, Method, Peer, Request, Response, Uri};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

/// Seconds a client is asked to wait before retrying while we shut down.
pub const SHUTDOWN_RETRY_AFTER: u32 = 30;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Sent as `Server:` in our responses.
    pub user_agent: String,
    pub timers: TimerConfig,
    pub max_transactions: usize,
    /// Our SIP domain (From host of the legs we originate).
    pub domain: String,
    /// Where we listen, for Via and Contact of requests we send.
    pub local_udp: Option<SocketAddr>,
    pub local_tcp: Option<SocketAddr>,
    pub media_mode: MediaMode,
    /// The IVR/MS: its URI and where the in-process transport reaches it.
    pub ivr_uri: Uri,
    pub ivr_peer: Peer,
    pub max_calls: usize,
    /// Seats: skills (at `skill_level`) and whether registering signs in.
    pub seats: BTreeMap<String, SeatPolicy>,
    /// Non-loopback IP hosts (`ip` or `ip:port`) the IVR's transfer node
    /// may call (`[ivr] transfer_allow`).
    pub transfer_allow: Vec<String>,
    /// Carrier trunks by source address (`[[trunk]]`): their INVITEs are
    /// IP-authenticated and routed with the trunk's name.
    pub trunks: super::trunks::TrunkMatcher,
    /// Where and how callbacks call the customer (`[cti] callback_*`).
    pub callback: super::CallbackPolicy,
    /// How often live legs get an in-dialog OPTIONS (`[sip] leg_probe_s`);
    /// `None` turns probing off.
    pub leg_probe: Option<std::time::Duration>,
}

#[derive(Debug, Clone)]
pub struct SeatPolicy {
    pub skills: BTreeMap<String, u8>,
    pub auto_ready: bool,
}

/// Interface B, IVR → CTI (docs/design/call-flow.md): defined by the IVR shell.
pub use crate::ivr::shell::IvrToCti;

/// The relay ports the shell owns (relay media mode). A seam, so the engine
/// stays free of sockets and tests can use a fake.
pub trait MediaPorts: Send {
    fn open_relay(&mut self, contact: ContactId) -> Result<RelayAddrs, String>;
    fn point_relay(
        &mut self,
        contact: ContactId,
        side_a: Option<SocketAddr>,
        side_b: Option<SocketAddr>,
    );
    fn close_relay(&mut self, contact: ContactId);
    /// The file the contact's relay records to, if it is recorded.
    fn recording_path(&self, _contact: ContactId) -> Option<String> {
        None
    }
}

/// Direct media mode: no relay.
pub struct NoRelay;

impl MediaPorts for NoRelay {
    fn open_relay(&mut self, _: ContactId) -> Result<RelayAddrs, String> {
        Err("relay media mode is not available".into())
    }
    fn point_relay(&mut self, _: ContactId, _: Option<SocketAddr>, _: Option<SocketAddr>) {}
    fn close_relay(&mut self, _: ContactId) {}
}

/// What the shell must do for the engine.
#[derive(Debug)]
pub enum Action {
    /// Serialize and send.
    Transmit { peer: Peer, msg: Message },
    /// Write these binding changes to the store.
    Persist(Vec<BindingChange>),
    /// A registrar outcome, for logs and metrics.
    Registration(RegisterEvent),
    /// A CSTA event for the live stream.
    Csta(CstaEvent),
    /// An agent's status or state changed (stream + agents snapshot).
    AgentState(CtiOutput),
    /// Interface B, CTI → IVR.
    ToIvr(CtiToIvr),
    /// A finished contact's record.
    WriteCdr(Cdr),
    /// A CTI journal entry or a live-leg change, for the journal writer.
    Journal(crate::journal::JournalOp),
}

pub struct Engine {
    pub(super) cfg: EngineConfig,
    pub(super) txn: TransactionLayer,
    pub(super) registrar: Registrar,
    pub(super) cti: Cti,
    pub(super) calls: Calls,
    pub(super) media: Box<dyn MediaPorts>,
    pub(super) ids: IdGen,
    /// Seats this engine signed in by themselves (auto_ready), as opposed to
    /// sign-ins from the desk, which registration changes leave alone.
    pub(super) auto_signed: BTreeSet<String>,
    shutting_down: bool,
    tag_seed: u64,
    tag_counter: u64,
    pub(super) actions: VecDeque<Action>,
}

impl Engine {
    /// `seed` comes from the shell's RNG: tags, branches and Call-IDs are
    /// derived from it.
    pub fn new(
        cfg: EngineConfig,
        registrar: Registrar,
        cti: Cti,
        media: Box<dyn MediaPorts>,
        seed: u64,
    ) -> Engine {
        let txn = TransactionLayer::new(cfg.timers, cfg.max_transactions);
        Engine {
            cfg,
            txn,
            registrar,
            cti,
            calls: Calls::default(),
            media,
            ids: IdGen::new(seed ^ 0x5EED),
            auto_signed: BTreeSet::new(),
            shutting_down: false,
            tag_seed: seed,
            tag_counter: 0,
            actions: VecDeque::new(),
        }
    }

    pub fn handle_received(&mut self, now: Instant, wall_ms: u64, msg: Message, peer: Peer) {
        self.txn.handle_received(now, msg, peer);
        self.drain_transactions(now, wall_ms);
    }

    pub fn handle_timeout(&mut self, now: Instant, wall_ms: u64) {
        self.txn.handle_timeout(now);
        self.drain_transactions(now, wall_ms);
        let outs = self.cti.handle_timeout(now);
        self.route_cti_outputs(now, wall_ms, outs);
        self.retransmit_2xx(now, wall_ms);
        self.fire_transfer_timers(now, wall_ms);
        self.fire_probes(now);
        self.flush_pending_cdrs(now);
        self.drain_transactions(now, wall_ms);
        let expired = self.registrar.expire(wall_ms);
        if !expired.is_empty() {
            self.actions.push_back(Action::Persist(expired));
            self.sync_auto_ready(now, wall_ms);
        }
    }

    /// A message from the IVR on interface B.
    pub fn handle_ivr(&mut self, now: Instant, wall_ms: u64, msg: IvrToCti) {
        self.on_ivr_message(now, wall_ms, msg);
        self.drain_transactions(now, wall_ms);
    }

    /// The earliest deadline of the transactions, the CTI and the calls.
    /// Binding expiry is wall-clock based: the shell also ticks coarsely.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.txn.poll_timeout(),
            self.cti.poll_timeout(),
            self.calls_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// From now on new INVITEs get 503; everything else is still served so
    /// that in-flight work can finish.
    pub fn begin_shutdown(&mut self) {
        self.shutting_down = true;
    }

    /// Shutdown: end every live call (cause `server_shutdown`); the BYEs
    /// are in-flight transactions the drain waits for.
    pub fn end_calls(&mut self, now: Instant, wall_ms: u64) {
        self.shutdown_calls(now, wall_ms);
        self.drain_transactions(now, wall_ms);
    }

    /// Shutdown, after the drain: write the records of every call still
    /// held (and those waiting for the IVR's report) and close their relays.
    pub fn finish_shutdown(&mut self) {
        self.write_remaining_cdrs();
    }

    /// Number new contacts after `last` (the highest id already recorded),
    /// so CDR ids stay unique across restarts.
    pub fn resume_contact_ids(&mut self, last: u64) {
        self.calls.next_contact = self.calls.next_contact.max(last);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// Transactions still waiting for a final response.
    pub fn in_flight(&self) -> usize {
        self.txn.in_flight()
    }

    /// Live transactions, including those absorbing retransmissions.
    pub fn transactions(&self) -> usize {
        self.txn.len()
    }

    /// Calls with a leg still up.
    pub fn live_calls(&self) -> usize {
        self.calls.calls.len()
    }

    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    pub fn cti(&self) -> &Cti {
        &self.cti
    }

    fn drain_transactions(&mut self, now: Instant, wall_ms: u64) {
        while let Some(out) = self.txn.poll_output() {
            match out {
                Output::Transmit { peer, msg } => {
                    self.actions.push_back(Action::Transmit { peer, msg })
                }
                Output::Request {
                    key,
                    req,
                    peer,
                    cancels,
                } => self.on_request(now, wall_ms, key, req, peer, cancels),
                Output::Ack { req, .. } => self.on_ack(now, wall_ms, req),
                Output::Response { key, resp } => self.on_response(now, wall_ms, &key, resp),
                Output::StrayResponse { resp, peer } => self.on_stray_response(resp, peer),
                Output::Timeout { key } => {
                    tracing::info!(%key, "transaction timed out");
                    self.on_client_failure(now, wall_ms, &key, 408);
                }
                Output::TransportError { key } => {
                    tracing::info!(%key, "transport error");
                    self.on_client_failure(now, wall_ms, &key, 503);
                }
                Output::Terminated { .. } => {}
            }
        }
    }

    fn on_request(
        &mut self,
        now: Instant,
        wall_ms: u64,
        key: TxKey,
        req: Request,
        peer: Peer,
        cancels: Option<TxKey>,
    ) {
        tracing::debug!(method = %req.method, %peer, "new server transaction");
        let in_dialog = req.to_hdr().map(|t| t.tag().is_some()).unwrap_or(false);
        let resp = match req.method {
            Method::Register => {
                let outcome = self.registrar.handle_register(now, wall_ms, &req, peer);
                if !outcome.changes.is_empty() {
                    self.actions.push_back(Action::Persist(outcome.changes));
                }
                let changed = matches!(
                    outcome.event,
                    RegisterEvent::Registered { .. } | RegisterEvent::Unregistered { .. }
                );
                self.actions.push_back(Action::Registration(outcome.event));
                self.respond(now, &key, outcome.response);
                if changed {
                    self.sync_auto_ready(now, wall_ms);
                }
                return;
            }
            Method::Options if !in_dialog => self.options_response(&req),
            Method::Invite if !in_dialog && self.shutting_down => {
                let mut r = self.reply(&req, 503);
                r.headers
                    .push("Retry-After", SHUTDOWN_RETRY_AFTER.to_string());
                r
            }
            Method::Invite if !in_dialog => {
                return self.on_new_invite(now, wall_ms, key, req, peer)
            }
            Method::Cancel => return self.on_cancel(now, wall_ms, &key, &req, cancels),
            Method::Other(_) => {
                let mut r = self.reply(&req, 501);
                r.headers.push("Allow", ALLOW);
                r
            }
            Method::Ack => return,
            Method::Bye
            | Method::Info
            | Method::Update
            | Method::Prack
            | Method::Invite
            | Method::Options => {
                if self.on_in_dialog(now, wall_ms, &key, &req) {
                    return;
                }
                self.reply(&req, 481)
            }
            _ => {
                let mut r = self.reply(&req, 405);
                r.headers.push("Allow", ALLOW);
                r
            }
        };
        self.respond(now, &key, resp);
    }

    pub(super) fn respond(&mut self, now: Instant, key: &TxKey, resp: Response) {
        if let Err(e) = self.txn.respond(now, key, resp) {
            tracing::debug!(%key, error = %e, "could not answer");
        }
    }

    fn options_response(&mut self, req: &Request) -> Response {
        let mut r = self.reply(req, 200);
        r.headers.push("Allow", ALLOW);
        r.headers.push("Accept", ACCEPT);
        r.headers.push("Supported", SUPPORTED);
        r.headers.push("Accept-Language", "en");
        r
    }

    pub(super) fn new_tag(&mut self) -> String {
        self.tag_counter += 1;
        format!(
            "{:x}",
            self.tag_seed
                .wrapping_add(self.tag_counter.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        )
    }

    pub(super) fn reply(&mut self, req: &Request, code: u16) -> Response {
        let tag = self.new_tag();
        let mut r = response_to(req, code, Some(&tag));
        r.headers.push("Server", self.cfg.user_agent.clone());
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registrar::RegistrarConfig;
    use crate::sip::{parse_message, HeaderView};
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn engine() -> Engine {
        let users: BTreeMap<String, String> = [("1001".to_string(), "demo1001".to_string())].into();
        let registrar = Registrar::new(
            RegistrarConfig {
                realm: "softacd".into(),
                domain: Some("127.0.0.1".into()),
                users,
                min_expires: 60,
                max_expires: 3600,
                default_expires: 3600,
                nonce_ttl: Duration::from_secs(300),
                max_bindings_per_aor: 10,
                algorithms: vec![crate::registrar::digest::Algorithm::Md5],
            },
            [7; 32],
        );
        let cfg = EngineConfig {
            user_agent: "SoftACD/test".into(),
            timers: TimerConfig::default(),
            max_transactions: 100,
            domain: "127.0.0.1".into(),
            local_udp: Some("127.0.0.1:5060".parse().unwrap()),
            local_tcp: None,
            media_mode: MediaMode::Direct,
            ivr_uri: Uri::sip(Some("ivr"), "ivr.local", None),
            ivr_peer: Peer::udp("127.0.0.1:5070".parse().unwrap()),
            max_calls: 10,
            seats: BTreeMap::new(),
            transfer_allow: Vec::new(),
            trunks: Default::default(),
            callback: crate::acd::CallbackPolicy::default(),
            leg_probe: None,
        };
        // No service numbers: every INVITE is for an unknown DNIS.
        Engine::new(
            cfg,
            registrar,
            Cti::new(crate::cti::CtiConfig::default()),
            Box::new(NoRelay),
            42,
        )
    }

    fn peer() -> Peer {
        Peer::udp("127.0.0.1:5070".parse().unwrap())
    }

    fn request(method: &str, branch: &str) -> Message {
        let raw = format!(
            "{method} sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch}\r\n\
Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:100@127.0.0.1>\r\n\
Call-ID: {branch}@test\r\nCSeq: 1 {method}\r\nContact: <sip:alice@127.0.0.1:5070>\r\n\r\n"
        );
        parse_message(raw.as_bytes()).unwrap()
    }

    /// Feed one request, return every response the engine transmitted.
    fn responses(e: &mut Engine, now: Instant, msg: Message) -> Vec<Response> {
        e.handle_received(now, 1_000, msg, peer());
        let mut out = Vec::new();
        while let Some(a) = e.poll_action() {
            if let Action::Transmit {
                msg: Message::Response(r),
                peer: p,
            } = a
            {
                assert_eq!(p, peer(), "responses go back to the source");
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn options_is_answered_with_capabilities() {
        let mut e = engine();
        let r = responses(&mut e, Instant::now(), request("OPTIONS", "o1"));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].code, 200);
        assert_eq!(r[0].headers.get("Allow"), Some(ALLOW));
        assert_eq!(r[0].headers.get("Accept"), Some(ACCEPT));
        assert!(r[0].headers.has("Supported"));
        assert!(
            r[0].to_hdr().unwrap().tag().is_some(),
            "final response carries a To-tag"
        );
        assert_eq!(r[0].headers.get("Server"), Some("SoftACD/test"));
    }

    #[test]
    fn invite_after_shutdown_begins_gets_503_with_retry_after() {
        let mut e = engine();
        let now = Instant::now();
        let before = responses(&mut e, now, request("INVITE", "i1"));
        assert_eq!(
            before.last().map(|r| r.code),
            Some(404),
            "unknown service number"
        );
        e.begin_shutdown();
        let after = responses(&mut e, now, request("INVITE", "i2"));
        let last = after.last().expect("an answer");
        assert_eq!(last.code, 503);
        assert_eq!(last.headers.get("Retry-After"), Some("30"));
        // Everything else is still served while draining.
        let opt = responses(&mut e, now, request("OPTIONS", "o2"));
        assert_eq!(opt[0].code, 200);
    }

    #[test]
    fn requests_outside_a_dialog_get_481_and_unsupported_get_405() {
        let mut e = engine();
        let now = Instant::now();
        assert_eq!(responses(&mut e, now, request("BYE", "b1"))[0].code, 481);
        assert_eq!(responses(&mut e, now, request("CANCEL", "c1"))[0].code, 481);
        let sub = responses(&mut e, now, request("SUBSCRIBE", "s1"));
        assert_eq!(sub[0].code, 405);
        assert_eq!(sub[0].headers.get("Allow"), Some(ALLOW));
    }

    #[test]
    fn register_without_credentials_is_challenged_and_reported() {
        let mut e = engine();
        let raw = "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKr1\r\n\
Max-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=r\r\nTo: <sip:1001@127.0.0.1>\r\n\
Call-ID: r1@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@127.0.0.1:5070>\r\n\r\n";
        e.handle_received(
            Instant::now(),
            1_000,
            parse_message(raw.as_bytes()).unwrap(),
            peer(),
        );
        let mut saw_401 = false;
        let mut saw_event = false;
        while let Some(a) = e.poll_action() {
            match a {
                Action::Transmit {
                    msg: Message::Response(r),
                    ..
                } => {
                    saw_401 |= r.code == 401
                        && r.headers
                            .get("WWW-Authenticate")
                            .is_some_and(|v| v.contains("MD5"))
                }
                Action::Registration(crate::registrar::RegisterEvent::Challenged { .. }) => {
                    saw_event = true
                }
                _ => {}
            }
        }
        assert!(saw_401 && saw_event);
    }

    #[test]
    fn in_flight_counts_only_unanswered_transactions() {
        let mut e = engine();
        let now = Instant::now();
        let _ = responses(&mut e, now, request("OPTIONS", "o3"));
        assert_eq!(e.in_flight(), 0, "answered: completed, not in flight");
        assert!(
            e.transactions() >= 1,
            "the completed transaction absorbs retransmissions (Timer J)"
        );
        // Timer J (64*T1 on UDP) removes it.
        e.handle_timeout(now + Duration::from_secs(33), 34_000);
        assert_eq!(e.transactions(), 0);
    }

    #[test]
    fn invite_from_outside_loopback_must_authenticate() {
        let mut e = engine();
        let far = Peer::udp("192.0.2.7:5060".parse().unwrap());
        e.handle_received(Instant::now(), 1_000, request("INVITE", "far1"), far);
        let mut finals = Vec::new();
        while let Some(a) = e.poll_action() {
            if let Action::Transmit {
                msg: Message::Response(r),
                peer,
            } = a
            {
                assert_eq!(peer, far);
                if r.is_final() {
                    finals.push(r);
                }
            }
        }
        assert_eq!(finals.len(), 1);
        assert_eq!(finals[0].code, 407);
        assert!(finals[0]
            .headers
            .get("Proxy-Authenticate")
            .is_some_and(|v| v.contains("Digest")));
        assert_eq!(
            e.live_calls(),
            0,
            "no call is created before authentication"
        );
    }

    #[test]
    fn cancel_after_the_final_response_gets_200_and_unmatched_cancel_481() {
        let mut e = engine();
        let now = Instant::now();
        // The INVITE is answered at once (404: no such service here)…
        let invite = responses(&mut e, now, request("INVITE", "x1"));
        assert_eq!(invite.last().map(|r| r.code), Some(404));
        // …so a CANCEL for it matches a transaction but has no effect: 200 (§9.2).
        let cancel = responses(&mut e, now, request("CANCEL", "x1"));
        assert_eq!(cancel.iter().map(|r| r.code).collect::<Vec<_>>(), vec![200]);
        // A CANCEL that matches nothing gets 481.
        let stray = responses(&mut e, now, request("CANCEL", "nothing"));
        assert_eq!(stray[0].code, 481);
    }

    #[test]
    fn a_finished_call_leaves_nothing_in_the_lookup_tables() {
        let mut e = engine();
        let now = Instant::now();
        let r = responses(&mut e, now, request("INVITE", "gone1"));
        assert_eq!(r.last().map(|r| r.code), Some(404));
        assert_eq!(e.live_calls(), 0);
        let t = &e.calls;
        assert!(
            t.by_server_invite.is_empty() && t.by_dialog.is_empty() && t.by_client_tx.is_empty()
        );
        assert!(t.awaiting_ack.is_empty());
    }

    #[test]
    fn invite_from_a_trunk_source_skips_digest_and_carries_the_trunk() {
        let mut e = engine();
        let sources = ["192.0.2.0/24".to_owned()];
        e.cfg.trunks = super::super::trunks::TrunkMatcher::new([("carrier", &sources[..])]);
        let far = Peer::udp("192.0.2.7:5060".parse().unwrap());
        e.handle_received(Instant::now(), 1_000, request("INVITE", "trunk1"), far);
        let (mut finals, mut trunk_seen, mut cdr_trunk) = (Vec::new(), None, None);
        while let Some(a) = e.poll_action() {
            match a {
                Action::Transmit {
                    msg: Message::Response(r),
                    ..
                } if r.is_final() => finals.push(r.code),
                Action::Csta(CstaEvent::RouteRequest { trunk, .. }) => trunk_seen = trunk,
                Action::WriteCdr(c) => cdr_trunk = c.trunk,
                _ => {}
            }
        }
        // No challenge: the call was routed (404: no service number here).
        assert_eq!(finals, [404]);
        assert_eq!(trunk_seen.as_deref(), Some("carrier"));
        assert_eq!(cdr_trunk.as_deref(), Some("carrier"));
    }
}
