//! One live transaction of any of the four RFC 3261 §17 kinds, with the peer
//! it is bound to. Dispatches the layer's inputs to the right state machine.

use super::client_invite::{ClientInvite, ClientInviteState};
use super::client_non_invite::{ClientNonInvite, ClientNonInviteState};
use super::effects::Effects;
use super::server_invite::{ServerInvite, ServerInviteState};
use super::server_non_invite::{ServerNonInvite, ServerNonInviteState};
use super::timer::{Armed, TimerConfig, TimerKind};
use crate::sip::{Peer, Request, Response};
use std::time::Instant;

// The four kinds are named as in RFC 3261 §17.
#[allow(clippy::enum_variant_names)]
#[derive(Debug)]
pub(crate) enum Machine {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

/// The state of one transaction, for metrics, logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    ClientInvite(ClientInviteState),
    ClientNonInvite(ClientNonInviteState),
    ServerInvite(ServerInviteState),
    ServerNonInvite(ServerNonInviteState),
}

impl TxState {
    /// True until a final response was sent or received.
    pub fn awaits_final(self) -> bool {
        matches!(
            self,
            TxState::ClientInvite(ClientInviteState::Calling | ClientInviteState::Proceeding)
                | TxState::ClientNonInvite(
                    ClientNonInviteState::Trying | ClientNonInviteState::Proceeding
                )
                | TxState::ServerInvite(ServerInviteState::Proceeding)
                | TxState::ServerNonInvite(
                    ServerNonInviteState::Trying | ServerNonInviteState::Proceeding
                )
        )
    }
}

#[derive(Debug)]
pub(crate) struct Tx {
    /// Where the request goes (client) or came from (server, §18.2.2).
    pub peer: Peer,
    pub machine: Machine,
}

impl Tx {
    pub fn state(&self) -> TxState {
        match &self.machine {
            Machine::ClientInvite(t) => TxState::ClientInvite(t.state()),
            Machine::ClientNonInvite(t) => TxState::ClientNonInvite(t.state()),
            Machine::ServerInvite(t) => TxState::ServerInvite(t.state()),
            Machine::ServerNonInvite(t) => TxState::ServerNonInvite(t.state()),
        }
    }

    pub fn armed(&self) -> &Armed {
        match &self.machine {
            Machine::ClientInvite(t) => &t.armed,
            Machine::ClientNonInvite(t) => &t.armed,
            Machine::ServerInvite(t) => &t.armed,
            Machine::ServerNonInvite(t) => &t.armed,
        }
    }

    fn armed_mut(&mut self) -> &mut Armed {
        match &mut self.machine {
            Machine::ClientInvite(t) => &mut t.armed,
            Machine::ClientNonInvite(t) => &mut t.armed,
            Machine::ServerInvite(t) => &mut t.armed,
            Machine::ServerNonInvite(t) => &mut t.armed,
        }
    }

    pub fn is_terminated(&self) -> bool {
        match &self.machine {
            Machine::ClientInvite(t) => t.is_terminated(),
            Machine::ClientNonInvite(t) => t.is_terminated(),
            Machine::ServerInvite(t) => t.is_terminated(),
            Machine::ServerNonInvite(t) => t.is_terminated(),
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(
            self.machine,
            Machine::ServerInvite(_) | Machine::ServerNonInvite(_)
        )
    }

    /// Fire `kind` if it is still armed at exactly `at` (lazy deletion).
    pub fn fire(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        kind: TimerKind,
        at: Instant,
        fx: &mut Effects,
    ) {
        if self.armed().get(kind) != Some(at) {
            return;
        }
        self.armed_mut().clear(kind);
        match &mut self.machine {
            Machine::ClientInvite(t) => t.on_timer(now, cfg, kind, fx),
            Machine::ClientNonInvite(t) => t.on_timer(now, cfg, kind, fx),
            Machine::ServerInvite(t) => t.on_timer(now, cfg, kind, fx),
            Machine::ServerNonInvite(t) => t.on_timer(kind),
        }
    }

    pub fn on_response(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        resp: Response,
        fx: &mut Effects,
    ) {
        match &mut self.machine {
            Machine::ClientInvite(t) => t.on_response(now, cfg, resp, fx),
            Machine::ClientNonInvite(t) => t.on_response(now, cfg, resp, fx),
            Machine::ServerInvite(_) | Machine::ServerNonInvite(_) => {}
        }
    }

    pub fn on_retransmission(&mut self, fx: &mut Effects) {
        match &mut self.machine {
            Machine::ServerInvite(t) => t.on_retransmission(fx),
            Machine::ServerNonInvite(t) => t.on_retransmission(fx),
            Machine::ClientInvite(_) | Machine::ClientNonInvite(_) => {}
        }
    }

    /// Returns false when this is not an INVITE server transaction.
    pub fn on_ack(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        ack: Request,
        fx: &mut Effects,
    ) -> bool {
        match &mut self.machine {
            Machine::ServerInvite(t) => {
                t.on_ack(now, cfg, ack, fx);
                true
            }
            _ => false,
        }
    }

    /// The TU's response; false when the state refuses it.
    pub fn respond(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        resp: Response,
        fx: &mut Effects,
    ) -> bool {
        match &mut self.machine {
            Machine::ServerInvite(t) => t.respond(now, cfg, resp, fx),
            Machine::ServerNonInvite(t) => t.respond(now, cfg, resp, fx),
            Machine::ClientInvite(_) | Machine::ClientNonInvite(_) => false,
        }
    }

    pub fn on_transport_error(&mut self, fx: &mut Effects) {
        match &mut self.machine {
            Machine::ClientInvite(t) => t.on_transport_error(fx),
            Machine::ClientNonInvite(t) => t.on_transport_error(fx),
            Machine::ServerInvite(t) => t.on_transport_error(fx),
            Machine::ServerNonInvite(t) => t.on_transport_error(fx),
        }
    }
}

/// Does a transport failure reported for `failed` concern a transaction
/// bound to `bound`? Same transport and address; connections must agree
/// when both are known.
pub(crate) fn peer_matches(bound: &Peer, failed: &Peer) -> bool {
    bound.transport == failed.transport
        && bound.addr == failed.addr
        && match (bound.conn, failed.conn) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}
