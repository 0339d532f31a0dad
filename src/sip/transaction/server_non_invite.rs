//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8). It owns
//! Timer J.
//!
//! ```text
//!                   |Request: pass to TU
//!                   V
//!             +-----------+ retransmission: absorbed
//!             |  Trying   |
//!             +-----------+
//!    1xx from TU |    | 200-699 from TU: send ─────────┐
//!        send    V                                      │
//!             +-----------+ retransmission: resend 1xx  │
//!             | Proceeding| 1xx from TU: send           │
//!             +-----------+ 200-699 from TU: send ──────┤
//!                                                       V
//!                                                 +-----------+ retransmission:
//!                                                 | Completed |   resend final
//!                                                 +-----------+ Timer J (64*T1 UDP,
//!                                                               0 TCP) → Terminated
//! ```

use super::effects::{Effect, Effects};
use super::timer::{after, Armed, TimerConfig, TimerKind};
use crate::sip::{Message, Response};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ServerNonInvite {
    state: ServerNonInviteState,
    reliable: bool,
    last: Option<Response>,
    pub(crate) armed: Armed,
}

impl ServerNonInvite {
    pub fn new(reliable: bool) -> Self {
        ServerNonInvite {
            state: ServerNonInviteState::Trying,
            reliable,
            last: None,
            armed: Armed::default(),
        }
    }

    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    /// A retransmitted request: absorbed in Trying, else the last response again.
    pub fn on_retransmission(&mut self, fx: &mut Effects) {
        if let (ServerNonInviteState::Proceeding | ServerNonInviteState::Completed, Some(r)) =
            (self.state, &self.last)
        {
            fx.transmit(Message::Response(r.clone()));
        }
    }

    /// The TU's response. Returns false once a final was sent.
    pub fn respond(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        resp: Response,
        fx: &mut Effects,
    ) -> bool {
        if !matches!(
            self.state,
            ServerNonInviteState::Trying | ServerNonInviteState::Proceeding
        ) {
            return false;
        }
        fx.transmit(Message::Response(resp.clone()));
        let is_final = resp.is_final();
        self.last = Some(resp);
        if !is_final {
            self.state = ServerNonInviteState::Proceeding;
            return true;
        }
        let j = cfg.timer_j(self.reliable);
        if j.is_zero() {
            self.state = ServerNonInviteState::Terminated;
        } else {
            self.state = ServerNonInviteState::Completed;
            self.armed.arm(TimerKind::J, after(now, j), fx);
        }
        true
    }

    pub fn on_timer(&mut self, kind: TimerKind) {
        if (self.state, kind) == (ServerNonInviteState::Completed, TimerKind::J) {
            self.terminate();
        }
    }

    pub fn on_transport_error(&mut self, fx: &mut Effects) {
        self.terminate();
        fx.push(Effect::TransportError);
    }

    fn terminate(&mut self) {
        self.state = ServerNonInviteState::Terminated;
        self.armed.clear_all();
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerNonInviteState::Terminated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trying_absorbs_then_proceeding_and_completed_resend_last() {
        let now = Instant::now();
        let cfg = TimerConfig::default();
        let mut tx = ServerNonInvite::new(false);
        let mut fx = Effects::default();
        tx.on_retransmission(&mut fx);
        assert_eq!(fx.len(), 0);
        assert!(tx.respond(now, &cfg, Response::new(183), &mut fx));
        let mut fx = Effects::default();
        tx.on_retransmission(&mut fx);
        assert!(matches!(fx.as_slice(), [Effect::Transmit(Message::Response(r))] if r.code == 183));
        assert!(tx.respond(now, &cfg, Response::new(200), &mut fx));
        assert_eq!(tx.state(), ServerNonInviteState::Completed);
        let mut fx = Effects::default();
        tx.on_retransmission(&mut fx);
        assert!(matches!(fx.as_slice(), [Effect::Transmit(Message::Response(r))] if r.code == 200));
        assert!(!tx.respond(now, &cfg, Response::new(500), &mut fx));
    }
}
