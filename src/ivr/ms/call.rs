//! One call of the media server: its INVITE, dialog, offer/answer state,
//! script session, and the 2xx retransmission/ACK-wait timer the UAS core
//! owns (RFC 3261 §13.3.1.4: resend the 2xx from T1 doubling to T2 on
//! unreliable transports; no ACK within 64*T1 ends the call with BYE).

use crate::media::sdp::{LocalMedia, Negotiated, SdpOffer};
use crate::sip::dialog::{Dialog, DialogId};
use crate::sip::transaction::{TimerConfig, TxKey};
use crate::sip::{Peer, Request, Response};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// INVITE accepted, 100 sent, waiting for `stream_opened`.
    Opening,
    /// 180 and 200 sent, waiting for the ACK.
    AwaitAck,
    /// ACK received: media configured, session running.
    Active,
}

#[derive(Debug)]
pub(super) struct Call<S> {
    pub contact: u64,
    pub invite: Request,
    pub invite_key: TxKey,
    pub peer: Peer,
    pub dialog_id: DialogId,
    /// The offer from the INVITE; `None` for a late offer.
    pub offer: Option<SdpOffer>,
    pub negotiated: Option<Negotiated>,
    /// Our SDP (answer or late-offer offer), reused for re-INVITEs.
    pub local_sdp: Option<Vec<u8>>,
    /// Our media address and `o=` line, once answered (re-INVITE answers).
    pub local: Option<LocalMedia>,
    pub dialog: Option<Dialog>,
    pub phase: Phase,
    pub session: S,
    pub retx: Option<Retransmit>,
}

/// What a due [`Retransmit`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RetxDue {
    Resend(TxKey, Response),
    GiveUp,
}

/// The TU's 2xx retransmission and ACK-wait timer (§13.3.1.4).
#[derive(Debug, Clone)]
pub(super) struct Retransmit {
    key: TxKey,
    ok: Response,
    /// Next resend; `None` on reliable transports.
    next: Option<Instant>,
    interval: Duration,
    give_up: Instant,
}

impl Retransmit {
    pub fn start(
        now: Instant,
        cfg: &TimerConfig,
        reliable: bool,
        key: TxKey,
        ok: Response,
    ) -> Self {
        Retransmit {
            key,
            ok,
            next: (!reliable).then(|| now + cfg.t1),
            interval: cfg.t1,
            give_up: now + cfg.t1_x64(),
        }
    }

    pub fn deadline(&self) -> Instant {
        self.next.map_or(self.give_up, |n| n.min(self.give_up))
    }

    /// Advance past `now`; what to do now, if anything.
    pub fn fire(&mut self, now: Instant, cfg: &TimerConfig) -> Option<RetxDue> {
        if now >= self.give_up {
            return Some(RetxDue::GiveUp);
        }
        match self.next {
            Some(at) if at <= now => {
                self.interval = (self.interval * 2).min(cfg.t2);
                self.next = Some(now + self.interval);
                Some(RetxDue::Resend(self.key.clone(), self.ok.clone()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse_message, Message};

    fn key() -> TxKey {
        let raw = "INVITE sip:i@h SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:i@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n";
        match parse_message(raw.as_bytes()) {
            Ok(Message::Request(r)) => TxKey::server(&r).expect("key"),
            other => panic!("fixture: {other:?}"),
        }
    }

    #[test]
    fn unreliable_resends_double_up_to_t2_then_give_up_at_64_t1() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut r = Retransmit::start(t0, &cfg, false, key(), Response::new(200));
        let mut gaps = Vec::new();
        let mut last = t0;
        loop {
            let at = r.deadline();
            match r.fire(at, &cfg) {
                Some(RetxDue::Resend(..)) => gaps.push(at - last),
                Some(RetxDue::GiveUp) => break,
                None => panic!("deadline fired nothing"),
            }
            last = at;
        }
        assert_eq!(gaps[0], cfg.t1);
        assert_eq!(gaps[1], cfg.t1 * 2);
        assert!(gaps.iter().all(|g| *g <= cfg.t2));
        assert_eq!(r.deadline(), t0 + cfg.t1_x64());
    }

    #[test]
    fn reliable_only_waits_for_the_ack() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut r = Retransmit::start(t0, &cfg, true, key(), Response::new(200));
        assert_eq!(r.deadline(), t0 + cfg.t1_x64());
        assert_eq!(r.fire(t0 + cfg.t1, &cfg), None);
        assert_eq!(r.fire(r.deadline(), &cfg), Some(RetxDue::GiveUp));
    }
}
