//! The UAS core of the SoftACD (RFC 3261 §8.2): routes each new server
//! transaction by method — REGISTER to the registrar, OPTIONS answered here
//! (§11), requests for dialogs we do not have answered 481 (§12.2.2), known
//! but unsupported methods 405 with Allow (§8.2.1) — and stops taking new
//! INVITEs once a graceful shutdown has begun (503 with Retry-After, §21.5.4).

use crate::registrar::{BindingChange, RegisterEvent, Registrar};
use crate::sip::ingress::{ACCEPT, ALLOW, SUPPORTED};
use crate::sip::transaction::{Output, TimerConfig, TransactionLayer, TxKey};
use crate::sip::{response_to, Message, Method, Peer, Request, Response};
use std::collections::VecDeque;
use std::time::Instant;

/// Seconds a client is asked to wait before retrying while we shut down.
pub const SHUTDOWN_RETRY_AFTER: u32 = 30;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Sent as `Server:` in our responses.
    pub user_agent: String,
    pub timers: TimerConfig,
    pub max_transactions: usize,
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
}

pub struct Engine {
    cfg: EngineConfig,
    txn: TransactionLayer,
    registrar: Registrar,
    shutting_down: bool,
    tag_seed: u64,
    tag_counter: u64,
    actions: VecDeque<Action>,
}

impl Engine {
    /// `tag_seed` comes from the shell's RNG: To-tags are derived from it.
    pub fn new(cfg: EngineConfig, registrar: Registrar, tag_seed: u64) -> Engine {
        let txn = TransactionLayer::new(cfg.timers.clone(), cfg.max_transactions);
        Engine {
            cfg,
            txn,
            registrar,
            shutting_down: false,
            tag_seed,
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
        let expired = self.registrar.expire(wall_ms);
        if !expired.is_empty() {
            self.actions.push_back(Action::Persist(expired));
        }
    }

    /// The earliest transaction deadline. Binding expiry is wall-clock based:
    /// the shell also calls `handle_timeout` on a coarse tick.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.txn.poll_timeout()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// From now on new INVITEs get 503; everything else is still served so
    /// that in-flight work can finish.
    pub fn begin_shutdown(&mut self) {
        self.shutting_down = true;
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

    pub fn registrar(&self) -> &Registrar {
        &self.registrar
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
                Output::Ack { .. } => {} // no dialogs yet: a 2xx ACK has nothing to confirm
                Output::Response { key, resp } => {
                    tracing::debug!(%key, code = resp.code, "response to a client transaction")
                }
                Output::StrayResponse { resp, peer } => {
                    tracing::debug!(%peer, code = resp.code, "stray response ignored")
                }
                Output::Timeout { key } => tracing::info!(%key, "transaction timed out"),
                Output::TransportError { key } => tracing::info!(%key, "transport error"),
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
        let resp = match req.method {
            Method::Register => {
                let outcome = self.registrar.handle_register(now, wall_ms, &req, peer);
                if !outcome.changes.is_empty() {
                    self.actions.push_back(Action::Persist(outcome.changes));
                }
                self.actions.push_back(Action::Registration(outcome.event));
                outcome.response
            }
            Method::Options => self.options_response(&req),
            Method::Invite if self.shutting_down => {
                let mut r = self.reply(&req, 503);
                r.headers
                    .push("Retry-After", SHUTDOWN_RETRY_AFTER.to_string());
                r
            }
            // No call routing in this build: nobody can be reached yet.
            Method::Invite => self.reply(&req, 480),
            Method::Cancel if cancels.is_some() => self.reply(&req, 200),
            Method::Cancel | Method::Bye | Method::Info | Method::Update | Method::Prack => {
                self.reply(&req, 481)
            }
            Method::Other(_) => {
                let mut r = self.reply(&req, 501);
                r.headers.push("Allow", ALLOW);
                r
            }
            Method::Ack => return,
            _ => {
                let mut r = self.reply(&req, 405);
                r.headers.push("Allow", ALLOW);
                r
            }
        };
        if let Err(e) = self.txn.respond(now, &key, resp) {
            tracing::warn!(%key, error = %e, "could not answer");
        }
        self.drain_transactions(now, wall_ms);
    }

    fn options_response(&mut self, req: &Request) -> Response {
        let mut r = self.reply(req, 200);
        r.headers.push("Allow", ALLOW);
        r.headers.push("Accept", ACCEPT);
        r.headers.push("Supported", SUPPORTED);
        r.headers.push("Accept-Language", "en");
        r
    }

    fn reply(&mut self, req: &Request, code: u16) -> Response {
        self.tag_counter += 1;
        let tag = format!(
            "{:x}",
            self.tag_seed
                .wrapping_add(self.tag_counter.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        );
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
        };
        Engine::new(cfg, registrar, 42)
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
        assert_eq!(before.last().map(|r| r.code), Some(480));
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
}
