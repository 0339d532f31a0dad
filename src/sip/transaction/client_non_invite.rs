//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6). It owns
//! Timers E, F and K.
//!
//! ```text
//!                    |Request from TU, request sent
//!    Timer E fires   V      Timer F fires or transport error → inform TU
//!    resend, E=min(2E,T2) +-----------+
//!              +----------|  Trying   |
//!              |          +-----------+
//!              |  1xx: to TU  |    200-699: to TU ─────┐
//!              |              V                         │
//!    Timer E   |          +-----------+ 1xx: to TU      │
//!    resend, E=T2         |Proceeding |                 │
//!              |          +-----------+ 200-699: to TU ─┤
//!              |                                        V
//!              |                                  +-----------+ responses absorbed
//!              +------------------------------->  | Completed | Timer K (T4 UDP, 0 TCP)
//!                                                 +-----------+      → Terminated
//! ```

use super::effects::{Effect, Effects};
use super::timer::{after, Armed, TimerConfig, TimerKind};
use crate::sip::{Message, Request, Response};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ClientNonInvite {
    state: ClientNonInviteState,
    request: Request,
    reliable: bool,
    timer_e: Duration,
    pub(crate) armed: Armed,
}

impl ClientNonInvite {
    /// Send the request and start Timers E (unreliable only) and F.
    pub fn start(
        now: Instant,
        cfg: &TimerConfig,
        request: Request,
        reliable: bool,
        fx: &mut Effects,
    ) -> Self {
        let mut tx = ClientNonInvite {
            state: ClientNonInviteState::Trying,
            request,
            reliable,
            timer_e: cfg.t1,
            armed: Armed::default(),
        };
        fx.transmit(Message::Request(tx.request.clone()));
        if !reliable {
            tx.armed.arm(TimerKind::E, after(now, cfg.t1), fx);
        }
        tx.armed.arm(TimerKind::F, after(now, cfg.t1_x64()), fx);
        tx
    }

    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    pub fn on_response(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        resp: Response,
        fx: &mut Effects,
    ) {
        use ClientNonInviteState::*;
        match self.state {
            Trying | Proceeding if resp.is_provisional() => {
                self.state = Proceeding;
                fx.push(Effect::Response(resp));
            }
            Trying | Proceeding => {
                self.armed.clear_all();
                fx.push(Effect::Response(resp));
                let k = cfg.t4_or_zero(self.reliable);
                if k.is_zero() {
                    self.state = Terminated;
                } else {
                    self.state = Completed;
                    self.armed.arm(TimerKind::K, after(now, k), fx);
                }
            }
            Completed | Terminated => {}
        }
    }

    pub fn on_timer(&mut self, now: Instant, cfg: &TimerConfig, kind: TimerKind, fx: &mut Effects) {
        use ClientNonInviteState::*;
        match (self.state, kind) {
            (Trying | Proceeding, TimerKind::E) => {
                fx.transmit(Message::Request(self.request.clone()));
                self.timer_e = if self.state == Trying {
                    cfg.backoff(self.timer_e)
                } else {
                    cfg.t2
                };
                self.armed.arm(TimerKind::E, after(now, self.timer_e), fx);
            }
            (Trying | Proceeding, TimerKind::F) => {
                self.terminate();
                fx.push(Effect::Timeout);
            }
            (Completed, TimerKind::K) => self.terminate(),
            _ => {}
        }
    }

    pub fn on_transport_error(&mut self, fx: &mut Effects) {
        self.terminate();
        fx.push(Effect::TransportError);
    }

    fn terminate(&mut self) {
        self.state = ClientNonInviteState::Terminated;
        self.armed.clear_all();
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientNonInviteState::Terminated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse_message, response_to};

    fn bye() -> Request {
        let raw = "BYE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP me;branch=z9hG4bKn1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n\r\n";
        match parse_message(raw.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("bad fixture: {other:?}"),
        }
    }

    #[test]
    fn final_response_is_delivered_once_then_absorbed() {
        let now = Instant::now();
        let cfg = TimerConfig::default();
        let mut fx = Effects::default();
        let mut tx = ClientNonInvite::start(now, &cfg, bye(), false, &mut fx);
        let mut fx = Effects::default();
        tx.on_response(now, &cfg, response_to(&bye(), 200, None), &mut fx);
        assert!(matches!(fx.as_slice()[0], Effect::Response(ref r) if r.code == 200));
        assert_eq!(tx.state(), ClientNonInviteState::Completed);
        assert_eq!(tx.armed.get(TimerKind::E), None);
        assert_eq!(tx.armed.get(TimerKind::F), None);
        let mut fx = Effects::default();
        tx.on_response(now, &cfg, response_to(&bye(), 200, None), &mut fx);
        assert_eq!(fx.len(), 0);
    }

    #[test]
    fn reliable_final_terminates_at_once_timer_k_zero() {
        let now = Instant::now();
        let cfg = TimerConfig::default();
        let mut fx = Effects::default();
        let mut tx = ClientNonInvite::start(now, &cfg, bye(), true, &mut fx);
        assert_eq!(tx.armed.get(TimerKind::E), None);
        tx.on_response(now, &cfg, response_to(&bye(), 481, None), &mut fx);
        assert!(tx.is_terminated());
    }
}
