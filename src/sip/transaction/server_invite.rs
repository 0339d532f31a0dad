//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7), as updated by
//! RFC 6026 §8.5-§8.7 (Accepted state, Timer L: a 2xx no longer ends the
//! transaction; retransmitted INVITEs are absorbed and ACKs passed to the
//! TU). It owns Timers G, H, I, L and the 100 Trying timer (§17.2.1: send
//! 100 Trying if the TU has not answered within 200 ms).
//!
//! ```text
//!                      |INVITE: pass to TU, start 100 Trying timer
//!  INVITE              V   send 100 Trying after 200 ms if TU is silent
//!  resend last 1xx +-----------+
//!        +---------| Proceeding|  1xx from TU: send
//!        +-------->+-----------+
//!       300-699 from TU |   | 2xx from TU: send ─────────┐
//!       send, start G,H |                                V
//!                       V                          +----------+ INVITE: absorbed
//!  INVITE          +-----------+                   | Accepted | ACK: to TU
//!  resend final +--| Completed |                   +----------+ 2xx from TU: send
//!               +->+-----------+                   Timer L → Terminated
//!     Timer G: resend final, G=min(2G,T2)
//!     Timer H: Terminated, TU told (Timeout)
//!                       | ACK
//!                       V
//!                  +-----------+ ACK absorbed
//!                  | Confirmed | Timer I (T4 UDP, 0 TCP) → Terminated
//!                  +-----------+
//! ```

use super::effects::{Effect, Effects};
use super::timer::{after, Armed, TimerConfig, TimerKind, TRYING_DELAY};
use crate::sip::{response_to, Message, Request, Response};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ServerInvite {
    state: ServerInviteState,
    request: Request,
    reliable: bool,
    last_provisional: Option<Response>,
    last_final: Option<Response>,
    timer_g: Duration,
    pub(crate) armed: Armed,
}

impl ServerInvite {
    /// A new INVITE: the layer passes it to the TU; we start the 100 timer.
    pub fn start(
        now: Instant,
        cfg: &TimerConfig,
        request: Request,
        reliable: bool,
        fx: &mut Effects,
    ) -> Self {
        let mut tx = ServerInvite {
            state: ServerInviteState::Proceeding,
            request,
            reliable,
            last_provisional: None,
            last_final: None,
            timer_g: cfg.t1,
            armed: Armed::default(),
        };
        tx.armed
            .arm(TimerKind::Trying100, after(now, TRYING_DELAY), fx);
        tx
    }

    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    /// A retransmitted INVITE (§17.2.1; absorbed in Accepted per RFC 6026).
    pub fn on_retransmission(&mut self, fx: &mut Effects) {
        let resend = match self.state {
            ServerInviteState::Proceeding => self.last_provisional.as_ref(),
            ServerInviteState::Completed => self.last_final.as_ref(),
            _ => None,
        };
        if let Some(r) = resend {
            fx.transmit(Message::Response(r.clone()));
        }
    }

    /// An ACK matched this transaction.
    pub fn on_ack(&mut self, now: Instant, cfg: &TimerConfig, ack: Request, fx: &mut Effects) {
        match self.state {
            ServerInviteState::Completed => {
                self.armed.clear_all();
                let i = cfg.t4_or_zero(self.reliable);
                if i.is_zero() {
                    self.state = ServerInviteState::Terminated;
                } else {
                    self.state = ServerInviteState::Confirmed;
                    self.armed.arm(TimerKind::I, after(now, i), fx);
                }
            }
            ServerInviteState::Confirmed | ServerInviteState::Terminated => {}
            // An ACK for a 2xx that shares the INVITE's branch (RFC 2543
            // peers), or one before any final: the TU decides.
            ServerInviteState::Accepted | ServerInviteState::Proceeding => {
                fx.push(Effect::Ack(ack))
            }
        }
    }

    /// The TU's response. Returns false when the state refuses it.
    pub fn respond(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        resp: Response,
        fx: &mut Effects,
    ) -> bool {
        match (self.state, resp.code) {
            (ServerInviteState::Proceeding, 100..=199) => {
                self.armed.clear(TimerKind::Trying100);
                fx.transmit(Message::Response(resp.clone()));
                self.last_provisional = Some(resp);
            }
            (ServerInviteState::Proceeding, 200..=299) => {
                self.armed.clear_all();
                fx.transmit(Message::Response(resp));
                self.state = ServerInviteState::Accepted;
                self.armed.arm(TimerKind::L, after(now, cfg.t1_x64()), fx);
            }
            (ServerInviteState::Proceeding, _) => {
                self.armed.clear_all();
                fx.transmit(Message::Response(resp.clone()));
                self.last_final = Some(resp);
                self.state = ServerInviteState::Completed;
                if !self.reliable {
                    self.armed.arm(TimerKind::G, after(now, self.timer_g), fx);
                }
                self.armed.arm(TimerKind::H, after(now, cfg.t1_x64()), fx);
            }
            // The TU's own 2xx retransmissions (§13.3.1.4) pass through.
            (ServerInviteState::Accepted, 200..=299) => fx.transmit(Message::Response(resp)),
            _ => return false,
        }
        true
    }

    pub fn on_timer(&mut self, now: Instant, cfg: &TimerConfig, kind: TimerKind, fx: &mut Effects) {
        use ServerInviteState::*;
        match (self.state, kind) {
            (Proceeding, TimerKind::Trying100) if self.last_provisional.is_none() => {
                let trying = trying_for(&self.request);
                fx.transmit(Message::Response(trying.clone()));
                self.last_provisional = Some(trying);
            }
            (Completed, TimerKind::G) => {
                if let Some(r) = &self.last_final {
                    fx.transmit(Message::Response(r.clone()));
                }
                self.timer_g = cfg.backoff(self.timer_g);
                self.armed.arm(TimerKind::G, after(now, self.timer_g), fx);
            }
            (Completed, TimerKind::H) => {
                self.terminate();
                fx.push(Effect::Timeout);
            }
            (Confirmed, TimerKind::I) | (Accepted, TimerKind::L) => self.terminate(),
            _ => {}
        }
    }

    pub fn on_transport_error(&mut self, fx: &mut Effects) {
        self.terminate();
        fx.push(Effect::TransportError);
    }

    fn terminate(&mut self) {
        self.state = ServerInviteState::Terminated;
        self.armed.clear_all();
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerInviteState::Terminated
    }
}

/// 100 Trying for `req`: no To tag, Timestamp copied (§8.2.6.1).
fn trying_for(req: &Request) -> Response {
    let mut r = response_to(req, 100, None);
    if let Some(ts) = req.headers.get("Timestamp") {
        r.headers.push("Timestamp", ts);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse_message, HeaderView};

    fn invite() -> Request {
        let raw = "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP c;branch=z9hG4bKs1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nTimestamp: 54\r\n\r\n";
        match parse_message(raw.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("bad fixture: {other:?}"),
        }
    }

    #[test]
    fn trying_copies_timestamp_and_has_no_to_tag() {
        let t = trying_for(&invite());
        assert_eq!(t.code, 100);
        assert_eq!(t.headers.get("Timestamp"), Some("54"));
        assert_eq!(t.to_hdr().expect("to").tag(), None);
    }

    #[test]
    fn second_final_is_refused_but_accepted_takes_more_2xx() {
        let now = Instant::now();
        let cfg = TimerConfig::default();
        let mut fx = Effects::default();
        let mut tx = ServerInvite::start(now, &cfg, invite(), false, &mut fx);
        assert!(tx.respond(now, &cfg, response_to(&invite(), 200, Some("t")), &mut fx));
        assert_eq!(tx.state(), ServerInviteState::Accepted);
        assert!(tx.respond(now, &cfg, response_to(&invite(), 200, Some("t")), &mut fx));
        assert!(!tx.respond(now, &cfg, response_to(&invite(), 486, Some("t")), &mut fx));

        let mut tx = ServerInvite::start(now, &cfg, invite(), false, &mut fx);
        assert!(tx.respond(now, &cfg, response_to(&invite(), 486, Some("t")), &mut fx));
        assert!(!tx.respond(now, &cfg, response_to(&invite(), 200, Some("t")), &mut fx));
        assert!(!tx.respond(now, &cfg, response_to(&invite(), 180, Some("t")), &mut fx));
    }
}
