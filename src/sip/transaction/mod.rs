//! The SIP transaction layer (RFC 3261 §17), sans-IO: it owns every client
//! and server transaction, their matching (§17.1.3, §17.2.3) and their timers
//! (Table 4), and nothing else. No sockets, no clock: the shell passes `now`
//! in, drains [`Output`]s and sleeps until [`TransactionLayer::poll_timeout`].
//!
//! ```text
//! loop {
//!     select! { msg = transport.recv() => layer.handle_received(now, msg, peer),
//!               _ = sleep_until(layer.poll_timeout()) => layer.handle_timeout(now) }
//!     while let Some(out) = layer.poll_output() { /* Transmit → socket, rest → TU */ }
//! }
//! ```
//!
//! INVITE transactions follow RFC 3261 as updated by RFC 6026: a 2xx moves
//! both INVITE transactions to Accepted (Timers L and M, 64*T1) instead of
//! ending them. The server absorbs retransmitted INVITEs there and passes
//! ACKs up as [`Output::Ack`]; the TU retransmits its 2xx itself (§13.3.1.4)
//! through [`TransactionLayer::respond`]. The client passes the first 2xx as
//! [`Output::Response`] and every later 2xx as [`Output::StrayResponse`], the
//! same output the TU gets for 2xx retransmissions after Timer M, so the
//! UAC core re-ACKs 2xx in one place.
//!
//! Overload: at `max_transactions` live transactions new server requests are
//! answered 503 with Retry-After statelessly and `send_request` fails.

mod client_invite;
mod client_non_invite;
mod effects;
mod error;
mod key;
mod output;
mod server_invite;
mod server_non_invite;
mod timer;
mod tx;

#[cfg(test)]
mod layer_tests;

pub use client_invite::ClientInviteState;
pub use client_non_invite::ClientNonInviteState;
pub use error::TxError;
pub use key::{Role, TxKey};
pub use output::Output;
pub use server_invite::ServerInviteState;
pub use server_non_invite::ServerNonInviteState;
pub use timer::{TimerConfig, TimerKind, TIMER_D_UNRELIABLE, TRYING_DELAY};
pub use tx::TxState;

use crate::sip::{response_to, HeaderView, Message, Method, Peer, Request, Response};
use effects::{Effect, Effects};
use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;
use timer::TimerQueue;
use tx::{Machine, Tx};

/// Retry-After (seconds) on the layer's own 503 when the table is full.
pub const OVERLOAD_RETRY_AFTER_SECS: u32 = 5;

/// All live transactions, their deadlines and the pending outputs.
#[derive(Debug)]
pub struct TransactionLayer {
    cfg: TimerConfig,
    max_transactions: usize,
    txs: HashMap<TxKey, Tx>,
    timers: TimerQueue,
    out: VecDeque<Output>,
}

impl TransactionLayer {
    pub fn new(cfg: TimerConfig, max_transactions: usize) -> Self {
        TransactionLayer {
            cfg,
            max_transactions,
            txs: HashMap::new(),
            timers: TimerQueue::default(),
            out: VecDeque::new(),
        }
    }

    /// A message from the transport. See [`Output`] for what comes out.
    /// Requests whose Via/CSeq/Call-ID cannot key a transaction are dropped
    /// (the ingress checks answer those before they get here).
    pub fn handle_received(&mut self, now: Instant, msg: Message, peer: Peer) {
        match msg {
            Message::Request(req) => self.on_request(now, req, peer),
            Message::Response(resp) => self.on_response(now, resp, peer),
        }
        self.tidy();
    }

    /// The TU answers the server transaction `key`.
    pub fn respond(&mut self, now: Instant, key: &TxKey, resp: Response) -> Result<(), TxError> {
        if !(100..=699).contains(&resp.code) {
            return Err(TxError::BadStatus(resp.code));
        }
        match self.txs.get(key) {
            None => return Err(TxError::Unknown(key.clone())),
            Some(tx) if !tx.is_server() => return Err(TxError::NotServer(key.clone())),
            Some(_) => {}
        }
        let cfg = self.cfg;
        let code = resp.code;
        let accepted = self.drive(key, None, |tx, fx| tx.respond(now, &cfg, resp, fx));
        self.tidy();
        match accepted {
            Some(true) => Ok(()),
            _ => Err(TxError::AlreadyFinal {
                key: key.clone(),
                code,
            }),
        }
    }

    /// The TU starts a client transaction; the request is transmitted at once.
    pub fn send_request(
        &mut self,
        now: Instant,
        req: Request,
        peer: Peer,
    ) -> Result<TxKey, TxError> {
        if req.method == Method::Ack {
            return Err(TxError::AckIsNotATransaction);
        }
        let cseq = req.cseq().map_err(|e| TxError::BadHeader {
            place: "send_request",
            header: "CSeq",
            detail: e.to_string(),
        })?;
        if cseq.method != req.method {
            return Err(TxError::CSeqMethodMismatch {
                method: req.method.clone(),
                cseq: cseq.method,
            });
        }
        let key = TxKey::client(&req)?;
        if self.txs.contains_key(&key) {
            return Err(TxError::Duplicate(key));
        }
        if self.txs.len() >= self.max_transactions {
            return Err(TxError::Capacity(self.txs.len()));
        }
        let reliable = peer.transport.is_reliable();
        let mut fx = Effects::default();
        let machine = if req.method == Method::Invite {
            Machine::ClientInvite(client_invite::ClientInvite::start(
                now, &self.cfg, req, reliable, &mut fx,
            ))
        } else {
            Machine::ClientNonInvite(client_non_invite::ClientNonInvite::start(
                now, &self.cfg, req, reliable, &mut fx,
            ))
        };
        self.txs.insert(key.clone(), Tx { peer, machine });
        self.apply(&key, peer, None, fx);
        self.tidy();
        Ok(key)
    }

    /// Queue a message outside any transaction: the ACK for a 2xx
    /// (§13.2.2.4) or a stateless response. It comes out as `Transmit`.
    pub fn send_stateless(&mut self, msg: Message, peer: Peer) {
        self.out.push_back(Output::Transmit { peer, msg });
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let cfg = self.cfg;
        while let Some((at, key, kind)) = self.timers.pop_due(now) {
            self.drive(&key, None, |tx, fx| tx.fire(now, &cfg, kind, at, fx));
        }
        self.tidy();
    }

    /// The earliest deadline of all transactions.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek_at()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The state of a live transaction.
    pub fn state(&self, key: &TxKey) -> Option<TxState> {
        self.txs.get(key).map(Tx::state)
    }

    /// Transactions still waiting for a final response (a scan: used while
    /// draining at shutdown, not per message).
    pub fn in_flight(&self) -> usize {
        self.txs
            .values()
            .filter(|t| t.state().awaits_final())
            .count()
    }

    /// Live transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// The transport to `peer` failed (§17.1.4, §17.2.4): every transaction
    /// bound to it ends with `TransportError` then `Terminated`.
    pub fn transport_error(&mut self, _now: Instant, peer: &Peer) {
        let keys: Vec<TxKey> = self
            .txs
            .iter()
            .filter(|(_, tx)| tx::peer_matches(&tx.peer, peer))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.drive(&key, None, |tx, fx| tx.on_transport_error(fx));
        }
        self.tidy();
    }

    fn on_request(&mut self, now: Instant, req: Request, peer: Peer) {
        let key = match TxKey::server(&req) {
            Ok(k) => k,
            Err(e) => {
                tracing::debug!(error = %e, %peer, "request dropped: no transaction key");
                return;
            }
        };
        if req.method == Method::Ack {
            return self.on_ack(now, key, req, peer);
        }
        if self
            .drive(&key, Some(peer), |tx, fx| tx.on_retransmission(fx))
            .is_some()
        {
            return;
        }
        if self.txs.len() >= self.max_transactions {
            return self.reject_overload(&req, peer);
        }
        let cancels = (req.method == Method::Cancel)
            .then(|| key.with_method(Method::Invite))
            .filter(|k| self.txs.contains_key(k));
        let reliable = peer.transport.is_reliable();
        let mut fx = Effects::default();
        let machine = if req.method == Method::Invite {
            Machine::ServerInvite(server_invite::ServerInvite::start(
                now,
                &self.cfg,
                req.clone(),
                reliable,
                &mut fx,
            ))
        } else {
            Machine::ServerNonInvite(server_non_invite::ServerNonInvite::new(reliable))
        };
        self.txs.insert(key.clone(), Tx { peer, machine });
        self.out.push_back(Output::Request {
            key: key.clone(),
            req,
            peer,
            cancels,
        });
        self.apply(&key, peer, None, fx);
    }

    fn on_ack(&mut self, now: Instant, key: TxKey, ack: Request, peer: Peer) {
        let cfg = self.cfg;
        let mut pending = Some(ack);
        let matched = self.drive(&key, Some(peer), |tx, fx| match pending.take() {
            Some(a) => tx.on_ack(now, &cfg, a, fx),
            None => false,
        });
        if matched != Some(true) {
            if let Some(req) = pending {
                self.out.push_back(Output::Ack { req, peer });
            }
        }
    }

    fn on_response(&mut self, now: Instant, resp: Response, peer: Peer) {
        if !(100..=699).contains(&resp.code) {
            tracing::debug!(code = resp.code, %peer, "response dropped: status outside 100..=699");
            return;
        }
        let key = TxKey::for_response(&resp)
            .ok()
            .filter(|k| self.txs.contains_key(k));
        let Some(key) = key else {
            self.out.push_back(Output::StrayResponse { resp, peer });
            return;
        };
        let cfg = self.cfg;
        self.drive(&key, Some(peer), |tx, fx| {
            tx.on_response(now, &cfg, resp, fx)
        });
    }

    /// Answer 503 + Retry-After without keeping state (table full).
    fn reject_overload(&mut self, req: &Request, peer: Peer) {
        let mut h = DefaultHasher::new();
        req.call_id().hash(&mut h);
        req.headers.get("Via").hash(&mut h);
        let tag = format!("ovl{:016x}", h.finish());
        let mut resp = response_to(req, 503, Some(&tag));
        resp.headers
            .push("Retry-After", OVERLOAD_RETRY_AFTER_SECS.to_string());
        tracing::warn!(%peer, live = self.txs.len(), "transaction table full: 503");
        self.out.push_back(Output::Transmit {
            peer,
            msg: Message::Response(resp),
        });
    }

    /// Run `f` on the transaction `key`, turn its effects into outputs and
    /// remove it if it terminated. `None` when no such transaction.
    fn drive<R>(
        &mut self,
        key: &TxKey,
        src: Option<Peer>,
        f: impl FnOnce(&mut Tx, &mut Effects) -> R,
    ) -> Option<R> {
        let tx = self.txs.get_mut(key)?;
        let mut fx = Effects::default();
        let r = f(tx, &mut fx);
        let (peer, done) = (tx.peer, tx.is_terminated());
        self.apply(key, peer, src, fx);
        if done {
            self.txs.remove(key);
            self.out.push_back(Output::Terminated { key: key.clone() });
        }
        Some(r)
    }

    fn apply(&mut self, key: &TxKey, peer: Peer, src: Option<Peer>, fx: Effects) {
        let from = src.unwrap_or(peer);
        for e in fx.into_vec() {
            let out = match e {
                Effect::Transmit(msg) => Output::Transmit { peer, msg },
                Effect::Response(resp) => Output::Response {
                    key: key.clone(),
                    resp,
                },
                Effect::Stray(resp) => Output::StrayResponse { resp, peer: from },
                Effect::Ack(req) => Output::Ack { req, peer: from },
                Effect::Timeout => Output::Timeout { key: key.clone() },
                Effect::TransportError => Output::TransportError { key: key.clone() },
                Effect::Arm(kind, at) => {
                    self.timers.push(at, key.clone(), kind);
                    continue;
                }
            };
            self.out.push_back(out);
        }
    }

    /// Keep `poll_timeout` exact (drop stale heap tops) and the heap bounded
    /// (rebuild when stale entries dominate).
    fn tidy(&mut self) {
        let txs = &self.txs;
        self.timers.drop_stale_top(|k, kind, at| {
            txs.get(k)
                .is_some_and(|tx| tx.armed().get(kind) == Some(at))
        });
        if self.timers.len() > 64 + 8 * self.txs.len() {
            let live = self.txs.iter().flat_map(|(k, tx)| {
                tx.armed()
                    .iter()
                    .map(move |(kind, at)| (at, k.clone(), kind))
            });
            self.timers.rebuild(live);
        }
    }
}
