//! Every RFC 3261 §17 transaction timer (A, B, D, E, F, G, H, I, J, K, the
//! §17.2.1 100 Trying timer, and RFC 6026's L and M), each driven on UDP and
//! on TCP through the public `TransactionLayer` API. Time is injected: the
//! tests jump to `poll_timeout()`, never sleep.

use softacd::sip::transaction::{ClientInviteState, ServerInviteState};
use softacd::sip::transaction::{Output, TimerConfig, TransactionLayer, TxKey, TxState};
use softacd::sip::{
    parse_message, response_to, ConnId, HeaderView, Message, Peer, Request, Response, TransportKind,
};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tp {
    Udp,
    Tcp,
}

fn peer(tp: Tp) -> Peer {
    let addr = "192.0.2.10:5060".parse().expect("addr");
    match tp {
        Tp::Udp => Peer::udp(addr),
        Tp::Tcp => Peer {
            transport: TransportKind::Tcp,
            addr,
            conn: Some(ConnId(7)),
        },
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn request(method: &str, branch: &str, tp: Tp) -> Request {
    let t = match tp {
        Tp::Udp => "UDP",
        Tp::Tcp => "TCP",
    };
    let raw = format!(
        "{method} sip:agent@acd.example SIP/2.0\r\nVia: SIP/2.0/{t} 192.0.2.10:5060;branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\nFrom: <sip:caller@example.com>;tag=from1\r\nTo: <sip:agent@acd.example>\r\nCall-ID: call-{branch}\r\nCSeq: 1 {method}\r\n\r\n"
    );
    match parse_message(raw.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("fixture must parse: {other:?}"),
    }
}

/// The layer plus an injected clock.
struct Harness {
    layer: TransactionLayer,
    t0: Instant,
    now: Instant,
}

impl Harness {
    fn new() -> Self {
        let t0 = Instant::now();
        Harness {
            layer: TransactionLayer::new(TimerConfig::default(), 100),
            t0,
            now: t0,
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn set(&mut self, at: Duration) {
        assert!(self.t0 + at >= self.now, "time must not go back");
        self.now = self.t0 + at;
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.layer.poll_output()).collect()
    }

    fn recv(&mut self, at: Duration, msg: Message, p: Peer) -> Vec<Output> {
        self.set(at);
        self.layer.handle_received(self.now, msg, p);
        self.drain()
    }

    /// Jump to each deadline in turn until none is left or `until` is
    /// passed; every output tagged with the time it came out.
    fn run(&mut self, until: Duration) -> Vec<(Duration, Output)> {
        let mut log = Vec::new();
        for _ in 0..10_000 {
            let Some(t) = self.layer.poll_timeout() else {
                break;
            };
            if t > self.t0 + until {
                break;
            }
            self.now = t;
            self.layer.handle_timeout(t);
            let at = self.elapsed();
            log.extend(self.drain().into_iter().map(|o| (at, o)));
        }
        log
    }

    fn run_all(&mut self) -> Vec<(Duration, Output)> {
        self.run(Duration::from_secs(3600))
    }
}

fn transmit_times(log: &[(Duration, Output)]) -> Vec<Duration> {
    log.iter()
        .filter(|(_, o)| matches!(o, Output::Transmit { .. }))
        .map(|(t, _)| *t)
        .collect()
}

fn time_of(log: &[(Duration, Output)], pred: impl Fn(&Output) -> bool) -> Option<Duration> {
    log.iter().find(|(_, o)| pred(o)).map(|(t, _)| *t)
}

fn is_timeout(o: &Output) -> bool {
    matches!(o, Output::Timeout { .. })
}

fn is_terminated(o: &Output) -> bool {
    matches!(o, Output::Terminated { .. })
}

fn transmitted_code(o: &Output) -> Option<u16> {
    match o {
        Output::Transmit {
            msg: Message::Response(r),
            ..
        } => Some(r.code),
        _ => None,
    }
}

fn transmitted_method(o: &Output) -> Option<String> {
    match o {
        Output::Transmit {
            msg: Message::Request(r),
            ..
        } => Some(r.method.to_string()),
        _ => None,
    }
}

fn resp(req: &Request, code: u16) -> Message {
    Message::Response(response_to(req, code, Some("uas1")))
}

fn start_client(h: &mut Harness, method: &str, tp: Tp) -> (Request, TxKey) {
    let req = request(method, "cli", tp);
    let key = h
        .layer
        .send_request(h.now, req.clone(), peer(tp))
        .expect("send_request");
    let out = h.drain();
    assert_eq!(out.len(), 1, "the request goes out at once: {out:?}");
    assert_eq!(transmitted_method(&out[0]).as_deref(), Some(method));
    (req, key)
}

fn start_server(h: &mut Harness, method: &str, tp: Tp) -> (Request, TxKey) {
    let req = request(method, "srv", tp);
    let out = h.recv(ms(0), Message::Request(req.clone()), peer(tp));
    let key = match out.as_slice() {
        [Output::Request { key, .. }] => key.clone(),
        other => panic!("expected one Output::Request, got {other:?}"),
    };
    (req, key)
}

// ---------- INVITE client: Timers A, B, D, M ----------

#[test]
fn timer_a_doubles_until_timer_b_times_out_udp() {
    let mut h = Harness::new();
    start_client(&mut h, "INVITE", Tp::Udp);
    let log = h.run_all();
    assert_eq!(
        transmit_times(&log),
        [500, 1500, 3500, 7500, 15500, 31500].map(ms)
    );
    assert_eq!(time_of(&log, is_timeout), Some(ms(32_000)));
    assert_eq!(time_of(&log, is_terminated), Some(ms(32_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn timer_a_is_off_and_timer_b_still_fires_tcp() {
    let mut h = Harness::new();
    start_client(&mut h, "INVITE", Tp::Tcp);
    let log = h.run_all();
    assert!(
        transmit_times(&log).is_empty(),
        "no retransmit on TCP: {log:?}"
    );
    assert_eq!(time_of(&log, is_timeout), Some(ms(32_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn provisional_stops_timers_a_and_b() {
    for tp in [Tp::Udp, Tp::Tcp] {
        let mut h = Harness::new();
        let (req, key) = start_client(&mut h, "INVITE", tp);
        let out = h.recv(ms(100), resp(&req, 180), peer(tp));
        assert!(matches!(&out[..], [Output::Response { resp, .. }] if resp.code == 180));
        assert_eq!(h.layer.poll_timeout(), None, "{tp:?}: A and B must stop");
        assert_eq!(
            h.layer.state(&key),
            Some(TxState::ClientInvite(ClientInviteState::Proceeding))
        );
    }
}

#[test]
fn timer_d_absorbs_final_retransmits_with_a_new_ack_udp() {
    let mut h = Harness::new();
    let (req, key) = start_client(&mut h, "INVITE", Tp::Udp);
    let out = h.recv(ms(1_000), resp(&req, 486), peer(Tp::Udp));
    assert_eq!(transmitted_method(&out[0]).as_deref(), Some("ACK"));
    assert!(matches!(&out[1], Output::Response { resp, .. } if resp.code == 486));
    assert_eq!(out.len(), 2);
    let again = h.recv(ms(2_000), resp(&req, 486), peer(Tp::Udp));
    assert_eq!(
        again.len(),
        1,
        "retransmitted 486 is not re-delivered: {again:?}"
    );
    assert_eq!(transmitted_method(&again[0]).as_deref(), Some("ACK"));
    assert_eq!(
        h.layer.state(&key),
        Some(TxState::ClientInvite(ClientInviteState::Completed))
    );
    let log = h.run_all();
    assert!(transmit_times(&log).is_empty(), "Timer A stopped: {log:?}");
    assert_eq!(time_of(&log, is_terminated), Some(ms(33_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn timer_d_is_zero_tcp() {
    let mut h = Harness::new();
    let (req, _) = start_client(&mut h, "INVITE", Tp::Tcp);
    let out = h.recv(ms(1_000), resp(&req, 603), peer(Tp::Tcp));
    assert_eq!(transmitted_method(&out[0]).as_deref(), Some("ACK"));
    assert!(matches!(&out[1], Output::Response { resp, .. } if resp.code == 603));
    assert!(is_terminated(&out[2]));
    assert!(h.layer.is_empty());
    assert_eq!(h.layer.poll_timeout(), None);
}

#[test]
fn timer_m_keeps_accepted_and_passes_2xx_retransmits_as_stray() {
    for tp in [Tp::Udp, Tp::Tcp] {
        let mut h = Harness::new();
        let (req, key) = start_client(&mut h, "INVITE", tp);
        let out = h.recv(ms(300), resp(&req, 200), peer(tp));
        assert!(matches!(&out[..], [Output::Response { resp, .. }] if resp.code == 200));
        assert_eq!(
            h.layer.state(&key),
            Some(TxState::ClientInvite(ClientInviteState::Accepted))
        );
        let out = h.recv(ms(800), resp(&req, 200), peer(tp));
        assert!(matches!(&out[..], [Output::StrayResponse { resp, .. }] if resp.code == 200));
        let log = h.run_all();
        assert!(
            transmit_times(&log).is_empty(),
            "no ACK from the tx for 2xx"
        );
        assert_eq!(time_of(&log, is_terminated), Some(ms(32_300)), "{tp:?}");
        let out = h.recv(ms(40_000), resp(&req, 200), peer(tp));
        assert!(matches!(&out[..], [Output::StrayResponse { .. }]));
    }
}

// ---------- non-INVITE client: Timers E, F, K ----------

#[test]
fn timer_e_doubles_capped_at_t2_until_timer_f_udp() {
    let mut h = Harness::new();
    start_client(&mut h, "OPTIONS", Tp::Udp);
    let log = h.run_all();
    assert_eq!(
        transmit_times(&log),
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500].map(ms)
    );
    assert_eq!(time_of(&log, is_timeout), Some(ms(32_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn timer_e_resets_to_t2_after_provisional_udp() {
    let mut h = Harness::new();
    let (req, _) = start_client(&mut h, "BYE", Tp::Udp);
    let first = h.run(ms(500));
    assert_eq!(transmit_times(&first), [ms(500)]);
    let out = h.recv(ms(600), resp(&req, 100), peer(Tp::Udp));
    assert!(matches!(&out[..], [Output::Response { resp, .. }] if resp.code == 100));
    let log = h.run_all();
    assert_eq!(
        transmit_times(&log),
        [1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500].map(ms)
    );
    assert_eq!(time_of(&log, is_timeout), Some(ms(32_000)));
}

#[test]
fn timer_e_is_off_and_timer_f_fires_tcp() {
    let mut h = Harness::new();
    start_client(&mut h, "OPTIONS", Tp::Tcp);
    let log = h.run_all();
    assert!(transmit_times(&log).is_empty());
    assert_eq!(time_of(&log, is_timeout), Some(ms(32_000)));
}

#[test]
fn timer_k_absorbs_response_retransmits_for_t4_udp() {
    let mut h = Harness::new();
    let (req, _) = start_client(&mut h, "BYE", Tp::Udp);
    let out = h.recv(ms(200), resp(&req, 200), peer(Tp::Udp));
    assert!(matches!(&out[..], [Output::Response { resp, .. }] if resp.code == 200));
    let again = h.recv(ms(300), resp(&req, 200), peer(Tp::Udp));
    assert!(again.is_empty(), "retransmitted final absorbed: {again:?}");
    let log = h.run_all();
    assert!(transmit_times(&log).is_empty(), "Timer E stopped");
    assert_eq!(time_of(&log, is_terminated), Some(ms(5_200)));
}

#[test]
fn timer_k_is_zero_tcp() {
    let mut h = Harness::new();
    let (req, _) = start_client(&mut h, "BYE", Tp::Tcp);
    let out = h.recv(ms(200), resp(&req, 200), peer(Tp::Tcp));
    assert!(matches!(&out[0], Output::Response { resp, .. } if resp.code == 200));
    assert!(is_terminated(&out[1]));
    assert!(h.layer.is_empty());
}

// ---------- INVITE server: 100 Trying, Timers G, H, I, L ----------

#[test]
fn trying_100_is_sent_after_200ms_and_resent_on_retransmit() {
    for tp in [Tp::Udp, Tp::Tcp] {
        let mut h = Harness::new();
        let (req, _) = start_server(&mut h, "INVITE", tp);
        assert_eq!(h.layer.poll_timeout(), Some(h.t0 + ms(200)));
        let log = h.run(ms(1_000));
        assert_eq!(log.len(), 1, "{tp:?}: {log:?}");
        assert_eq!(
            (log[0].0, transmitted_code(&log[0].1)),
            (ms(200), Some(100))
        );
        let out = h.recv(ms(500), Message::Request(req), peer(tp));
        assert_eq!(
            out.iter().map(transmitted_code).collect::<Vec<_>>(),
            [Some(100)]
        );
    }
}

#[test]
fn no_trying_100_when_tu_answers_first_and_retransmit_gets_last_provisional() {
    let mut h = Harness::new();
    let (req, key) = start_server(&mut h, "INVITE", Tp::Udp);
    h.set(ms(50));
    h.layer
        .respond(h.now, &key, response_to(&req, 180, Some("t")))
        .expect("180");
    assert_eq!(
        h.drain().iter().map(transmitted_code).collect::<Vec<_>>(),
        [Some(180)]
    );
    assert_eq!(h.layer.poll_timeout(), None, "100 Trying timer cancelled");
    let out = h.recv(ms(500), Message::Request(req), peer(Tp::Udp));
    assert_eq!(
        out.iter().map(transmitted_code).collect::<Vec<_>>(),
        [Some(180)]
    );
}

fn server_final(h: &mut Harness, tp: Tp, code: u16) -> (Request, TxKey) {
    let (req, key) = start_server(h, "INVITE", tp);
    h.layer
        .respond(h.now, &key, response_to(&req, code, Some("t")))
        .expect("final");
    assert_eq!(
        h.drain().iter().map(transmitted_code).collect::<Vec<_>>(),
        [Some(code)]
    );
    (req, key)
}

#[test]
fn timer_g_retransmits_final_doubling_to_t2_until_timer_h_udp() {
    let mut h = Harness::new();
    server_final(&mut h, Tp::Udp, 486);
    let log = h.run_all();
    assert_eq!(
        transmit_times(&log),
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500].map(ms)
    );
    assert!(log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Transmit { .. }))
        .all(|(_, o)| transmitted_code(o) == Some(486)));
    assert_eq!(time_of(&log, is_timeout), Some(ms(32_000)));
    assert_eq!(time_of(&log, is_terminated), Some(ms(32_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn timer_g_is_off_and_timer_h_fires_tcp() {
    let mut h = Harness::new();
    server_final(&mut h, Tp::Tcp, 486);
    let log = h.run_all();
    assert!(transmit_times(&log).is_empty());
    assert_eq!(time_of(&log, is_timeout), Some(ms(32_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn retransmitted_invite_after_final_gets_the_same_final() {
    for tp in [Tp::Udp, Tp::Tcp] {
        let mut h = Harness::new();
        let (req, _) = server_final(&mut h, tp, 404);
        let out = h.recv(ms(100), Message::Request(req), peer(tp));
        assert_eq!(
            out.iter().map(transmitted_code).collect::<Vec<_>>(),
            [Some(404)]
        );
    }
}

fn ack_for(req: &Request, branch_same: bool) -> Message {
    let mut ack = req.clone();
    ack.method = softacd::sip::Method::Ack;
    ack.headers.set("CSeq", "1 ACK");
    ack.headers.set("To", "<sip:agent@acd.example>;tag=t");
    if !branch_same {
        let via = ack
            .headers
            .get("Via")
            .unwrap_or_default()
            .replace("srv", "ack2");
        ack.headers.set("Via", via);
    }
    Message::Request(ack)
}

#[test]
fn timer_i_ack_to_non_2xx_is_absorbed_and_stops_g_udp() {
    let mut h = Harness::new();
    let (req, key) = server_final(&mut h, Tp::Udp, 486);
    let out = h.recv(ms(1_000), ack_for(&req, true), peer(Tp::Udp));
    assert!(out.is_empty(), "ACK absorbed: {out:?}");
    assert_eq!(
        h.layer.state(&key),
        Some(TxState::ServerInvite(ServerInviteState::Confirmed))
    );
    let out = h.recv(ms(2_000), ack_for(&req, true), peer(Tp::Udp));
    assert!(out.is_empty(), "ACK retransmission absorbed: {out:?}");
    let log = h.run_all();
    assert!(transmit_times(&log).is_empty(), "Timer G stopped");
    assert!(time_of(&log, is_timeout).is_none(), "Timer H stopped");
    assert_eq!(time_of(&log, is_terminated), Some(ms(6_000)));
}

#[test]
fn timer_i_is_zero_tcp() {
    let mut h = Harness::new();
    let (req, _) = server_final(&mut h, Tp::Tcp, 486);
    let out = h.recv(ms(1_000), ack_for(&req, true), peer(Tp::Tcp));
    assert!(matches!(&out[..], [Output::Terminated { .. }]), "{out:?}");
    assert!(h.layer.is_empty());
}

#[test]
fn timer_l_accepted_absorbs_invites_passes_acks_and_tu_2xx() {
    for tp in [Tp::Udp, Tp::Tcp] {
        let mut h = Harness::new();
        let (req, key) = server_final(&mut h, tp, 200);
        assert_eq!(
            h.layer.state(&key),
            Some(TxState::ServerInvite(ServerInviteState::Accepted))
        );
        let out = h.recv(ms(100), Message::Request(req.clone()), peer(tp));
        assert!(
            out.is_empty(),
            "{tp:?}: INVITE retransmit absorbed: {out:?}"
        );
        h.set(ms(500));
        h.layer
            .respond(h.now, &key, response_to(&req, 200, Some("t")))
            .expect("TU 2xx retransmission");
        assert_eq!(
            h.drain().iter().map(transmitted_code).collect::<Vec<_>>(),
            [Some(200)]
        );
        let out = h.recv(ms(600), ack_for(&req, false), peer(tp));
        assert!(matches!(&out[..], [Output::Ack { .. }]), "{out:?}");
        let out = h.recv(ms(700), ack_for(&req, true), peer(tp));
        assert!(matches!(&out[..], [Output::Ack { .. }]), "{out:?}");
        let log = h.run_all();
        assert!(transmit_times(&log).is_empty());
        assert_eq!(time_of(&log, is_terminated), Some(ms(32_000)), "{tp:?}");
    }
}

// ---------- non-INVITE server: Timer J ----------

#[test]
fn timer_j_resends_final_on_retransmit_for_64_t1_udp() {
    let mut h = Harness::new();
    let (req, key) = start_server(&mut h, "OPTIONS", Tp::Udp);
    assert_eq!(h.layer.poll_timeout(), None, "no 100 Trying for non-INVITE");
    let out = h.recv(ms(100), Message::Request(req.clone()), peer(Tp::Udp));
    assert!(out.is_empty(), "retransmit in Trying absorbed");
    h.set(ms(1_000));
    let ok: Response = response_to(&req, 200, Some("t"));
    h.layer.respond(h.now, &key, ok).expect("200");
    assert_eq!(h.drain().len(), 1);
    let out = h.recv(ms(2_000), Message::Request(req), peer(Tp::Udp));
    assert_eq!(
        out.iter().map(transmitted_code).collect::<Vec<_>>(),
        [Some(200)]
    );
    let log = h.run_all();
    assert!(transmit_times(&log).is_empty());
    assert_eq!(time_of(&log, is_terminated), Some(ms(33_000)));
}

#[test]
fn timer_j_is_zero_tcp() {
    let mut h = Harness::new();
    let (req, key) = start_server(&mut h, "OPTIONS", Tp::Tcp);
    h.layer
        .respond(h.now, &key, response_to(&req, 200, Some("t")))
        .expect("200");
    let out = h.drain();
    assert_eq!(transmitted_code(&out[0]), Some(200));
    assert!(is_terminated(&out[1]));
    assert!(h.layer.is_empty());
}

#[test]
fn non_invite_proceeding_resends_last_provisional() {
    let mut h = Harness::new();
    let (req, key) = start_server(&mut h, "REGISTER", Tp::Udp);
    h.layer
        .respond(h.now, &key, response_to(&req, 100, None))
        .expect("100");
    h.drain();
    let out = h.recv(ms(500), Message::Request(req.clone()), peer(Tp::Udp));
    assert_eq!(
        out.iter().map(transmitted_code).collect::<Vec<_>>(),
        [Some(100)]
    );
    assert_eq!(req.cseq().expect("cseq").seq, 1);
}
