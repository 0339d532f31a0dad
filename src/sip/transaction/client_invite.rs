//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5), as updated by
//! RFC 6026 §8.4 (Accepted state, Timer M). It owns Timers A, B, D and M and
//! builds the ACK for non-2xx finals itself (§17.1.1.3).
//!
//! ```text
//!                  |INVITE from TU, INVITE sent
//!     Timer A fires|  Timer B fires or transport error → inform TU
//!     reset A,     V
//!     INVITE sent +-----------+
//!       +---------|  Calling  |
//!       |         +-----------+
//!       |   1xx: to TU |  2xx: to TU ─────────────────┐
//!       |              V                               │
//!       |         +-----------+ 1xx: to TU             │
//!       |         |Proceeding |                        V
//!       |         +-----------+ 2xx: to TU ─────> +----------+ 2xx: to TU (stray)
//!       | 300-699: ACK, to TU                     | Accepted | Timer M → Terminated
//!       V                                         +----------+
//!  +-----------+ 300-699: resend ACK
//!  | Completed | Timer D (32 s UDP, 0 TCP) → Terminated
//!  +-----------+
//! ```
//! Timer B runs only in Calling (§17.1.1.2): once a provisional arrives the
//! TU owns the ringing timeout (it sends CANCEL).

use super::effects::{Effect, Effects};
use super::timer::{after, Armed, TimerConfig, TimerKind};
use crate::sip::{HeaderView, Message, Method, Request, Response};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    Calling,
    Proceeding,
    Completed,
    Accepted,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ClientInvite {
    state: ClientInviteState,
    request: Request,
    reliable: bool,
    timer_a: Duration,
    ack: Option<Request>,
    pub(crate) armed: Armed,
}

impl ClientInvite {
    /// Send the INVITE and start Timers A (unreliable only) and B.
    pub fn start(
        now: Instant,
        cfg: &TimerConfig,
        request: Request,
        reliable: bool,
        fx: &mut Effects,
    ) -> Self {
        let mut tx = ClientInvite {
            state: ClientInviteState::Calling,
            request,
            reliable,
            timer_a: cfg.t1,
            ack: None,
            armed: Armed::default(),
        };
        fx.transmit(Message::Request(tx.request.clone()));
        if !reliable {
            tx.armed.arm(TimerKind::A, after(now, cfg.t1), fx);
        }
        tx.armed.arm(TimerKind::B, after(now, cfg.t1_x64()), fx);
        tx
    }

    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    pub fn on_response(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        resp: Response,
        fx: &mut Effects,
    ) {
        use ClientInviteState::*;
        match (self.state, resp.code) {
            (Calling | Proceeding, 100..=199) => {
                self.state = Proceeding;
                self.armed.clear(TimerKind::A);
                self.armed.clear(TimerKind::B);
                fx.push(Effect::Response(resp));
            }
            (Calling | Proceeding, 200..=299) => {
                self.state = Accepted;
                self.armed.clear_all();
                self.armed.arm(TimerKind::M, after(now, cfg.t1_x64()), fx);
                fx.push(Effect::Response(resp));
            }
            (Calling | Proceeding, _) => self.complete(now, cfg, resp, fx),
            (Completed, 300..=699) => {
                if let Some(ack) = &self.ack {
                    fx.transmit(Message::Request(ack.clone()));
                }
            }
            (Accepted | Completed, 200..=299) => fx.push(Effect::Stray(resp)),
            _ => {}
        }
    }

    /// A 300-699 final in Calling or Proceeding: ACK it, tell the TU, wait D.
    fn complete(&mut self, now: Instant, cfg: &TimerConfig, resp: Response, fx: &mut Effects) {
        let ack = ack_for_non_2xx(&self.request, &resp);
        fx.transmit(Message::Request(ack.clone()));
        self.ack = Some(ack);
        self.armed.clear_all();
        fx.push(Effect::Response(resp));
        let d = cfg.timer_d(self.reliable);
        if d.is_zero() {
            self.state = ClientInviteState::Terminated;
        } else {
            self.state = ClientInviteState::Completed;
            self.armed.arm(TimerKind::D, after(now, d), fx);
        }
    }

    pub fn on_timer(
        &mut self,
        now: Instant,
        _cfg: &TimerConfig,
        kind: TimerKind,
        fx: &mut Effects,
    ) {
        use ClientInviteState::*;
        match (self.state, kind) {
            (Calling, TimerKind::A) => {
                fx.transmit(Message::Request(self.request.clone()));
                self.timer_a = self.timer_a.saturating_mul(2);
                self.armed.arm(TimerKind::A, after(now, self.timer_a), fx);
            }
            (Calling, TimerKind::B) => {
                self.terminate();
                fx.push(Effect::Timeout);
            }
            (Completed, TimerKind::D) | (Accepted, TimerKind::M) => self.terminate(),
            _ => {}
        }
    }

    pub fn on_transport_error(&mut self, fx: &mut Effects) {
        self.terminate();
        fx.push(Effect::TransportError);
    }

    fn terminate(&mut self) {
        self.state = ClientInviteState::Terminated;
        self.armed.clear_all();
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientInviteState::Terminated
    }
}

/// The ACK for a non-2xx final (RFC 3261 §17.1.1.3): Request-URI, Call-ID,
/// From, CSeq number and Route of the INVITE; only its top Via; To of the
/// response.
pub(crate) fn ack_for_non_2xx(invite: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let h = &mut ack.headers;
    if let Ok(via) = invite.top_via() {
        h.push("Via", via.to_string());
    }
    for route in invite.headers.get_all("Route") {
        h.push("Route", route);
    }
    h.push("Max-Forwards", "70");
    for name in ["From", "Call-ID"] {
        if let Some(v) = invite.headers.get(name) {
            h.push(name, v);
        }
    }
    if let Some(to) = resp.headers.get("To") {
        h.push("To", to);
    }
    if let Ok(cseq) = invite.cseq() {
        h.push("CSeq", format!("{} ACK", cseq.seq));
    }
    ack
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse_message, response_to};

    const INVITE: &str = "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP me:5060;branch=z9hG4bKc1, SIP/2.0/UDP p;branch=z9hG4bKp\r\nRoute: <sip:proxy;lr>\r\nMax-Forwards: 69\r\nFrom: <sip:a@h>;tag=fa\r\nTo: <sip:b@h>\r\nCall-ID: call1\r\nCSeq: 7 INVITE\r\nContact: <sip:a@me>\r\n\r\n";

    fn invite() -> Request {
        match parse_message(INVITE.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("bad fixture: {other:?}"),
        }
    }

    #[test]
    fn ack_copies_what_section_17_1_1_3_names() {
        let inv = invite();
        let resp = response_to(&inv, 486, Some("tb"));
        let ack = ack_for_non_2xx(&inv, &resp);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri, inv.uri);
        let vias = ack.vias().expect("vias");
        assert_eq!(vias.len(), 1);
        assert_eq!(vias[0].branch(), Some("z9hG4bKc1"));
        assert_eq!(ack.headers.get("Route"), Some("<sip:proxy;lr>"));
        assert_eq!(ack.to_hdr().expect("to").tag(), Some("tb"));
        assert_eq!(ack.from_hdr().expect("from").tag(), Some("fa"));
        assert_eq!(ack.call_id(), Some("call1"));
        let cseq = ack.cseq().expect("cseq");
        assert_eq!((cseq.seq, cseq.method), (7, Method::Ack));
        assert!(!ack.headers.has("Contact"));
    }

    #[test]
    fn provisional_then_2xx_goes_to_accepted_and_2xx_retransmit_is_stray() {
        let now = Instant::now();
        let cfg = TimerConfig::default();
        let mut fx = Effects::default();
        let inv = invite();
        let mut tx = ClientInvite::start(now, &cfg, inv.clone(), false, &mut fx);
        tx.on_response(now, &cfg, response_to(&inv, 180, Some("t")), &mut fx);
        assert_eq!(tx.state(), ClientInviteState::Proceeding);
        assert_eq!(tx.armed.get(TimerKind::A), None);
        assert_eq!(tx.armed.get(TimerKind::B), None);
        tx.on_response(now, &cfg, response_to(&inv, 200, Some("t")), &mut fx);
        assert_eq!(tx.state(), ClientInviteState::Accepted);
        let mut fx = Effects::default();
        tx.on_response(now, &cfg, response_to(&inv, 200, Some("t")), &mut fx);
        assert!(matches!(fx.as_slice(), [Effect::Stray(r)] if r.code == 200));
    }
}
