//! Layer-level tests of matching (§17.1.3, §17.2.3, §9.2), overload (503 +
//! Retry-After), TU errors, stray messages and transport failures (§17.1.4,
//! §17.2.4). The per-timer tests are in `tests/transaction_timers.rs`.

use super::*;
use crate::sip::{parse_message, ConnId, TransportKind};
use proptest::prelude::*;
use std::time::Duration;

fn udp() -> Peer {
    Peer::udp("198.51.100.7:5060".parse().expect("addr"))
}

fn tcp(conn: u64) -> Peer {
    Peer {
        transport: TransportKind::Tcp,
        addr: "198.51.100.7:5060".parse().expect("addr"),
        conn: Some(ConnId(conn)),
    }
}

fn req_with_via(method: &str, via: &str) -> Request {
    let raw = format!(
        "{method} sip:q@acd SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@x>;tag=fa\r\nTo: <sip:q@acd>\r\nCall-ID: cid\r\nCSeq: 1 {method}\r\n\r\n"
    );
    match parse_message(raw.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("fixture: {other:?}"),
    }
}

fn req(method: &str, branch: &str) -> Request {
    req_with_via(method, &format!("SIP/2.0/UDP 198.51.100.7;branch={branch}"))
}

fn drain(l: &mut TransactionLayer) -> Vec<Output> {
    std::iter::from_fn(|| l.poll_output()).collect()
}

fn layer(max: usize) -> TransactionLayer {
    TransactionLayer::new(TimerConfig::default(), max)
}

fn new_key(out: &[Output]) -> TxKey {
    match out {
        [Output::Request { key, .. }, ..] => key.clone(),
        other => panic!("expected a new request: {other:?}"),
    }
}

#[test]
fn full_table_answers_503_with_retry_after_and_refuses_client_tx() {
    let now = Instant::now();
    let mut l = layer(1);
    l.handle_received(now, Message::Request(req("INVITE", "z9hG4bK1")), udp());
    new_key(&drain(&mut l));
    l.handle_received(now, Message::Request(req("OPTIONS", "z9hG4bK2")), udp());
    let out = drain(&mut l);
    match &out[..] {
        [Output::Transmit {
            msg: Message::Response(r),
            ..
        }] => {
            assert_eq!(r.code, 503);
            assert_eq!(r.headers.get("Retry-After"), Some("5"));
            assert!(r.to_hdr().expect("to").tag().is_some());
        }
        other => panic!("expected a stateless 503: {other:?}"),
    }
    assert_eq!(l.len(), 1);
    let err = l.send_request(now, req("BYE", "z9hG4bK3"), udp());
    assert_eq!(err, Err(TxError::Capacity(1)));
}

#[test]
fn cancel_is_its_own_transaction_and_names_the_invite_it_cancels() {
    let now = Instant::now();
    let mut l = layer(10);
    l.handle_received(now, Message::Request(req("INVITE", "z9hG4bKc")), udp());
    let inv = new_key(&drain(&mut l));
    l.handle_received(now, Message::Request(req("CANCEL", "z9hG4bKc")), udp());
    match &drain(&mut l)[..] {
        [Output::Request { key, cancels, .. }] => {
            assert_ne!(key, &inv);
            assert_eq!(cancels.as_ref(), Some(&inv));
        }
        other => panic!("{other:?}"),
    }
    l.handle_received(now, Message::Request(req("CANCEL", "z9hG4bKnone")), udp());
    assert!(matches!(
        &drain(&mut l)[..],
        [Output::Request { cancels: None, .. }]
    ));
    assert_eq!(l.len(), 3);
}

#[test]
fn send_request_validates_branch_ack_and_cseq() {
    let now = Instant::now();
    let mut l = layer(10);
    assert!(matches!(
        l.send_request(now, req("OPTIONS", "old-branch"), udp()),
        Err(TxError::MissingBranch { .. })
    ));
    assert_eq!(
        l.send_request(now, req("ACK", "z9hG4bKa"), udp()),
        Err(TxError::AckIsNotATransaction)
    );
    let mut bad = req("BYE", "z9hG4bKb");
    bad.headers.set("CSeq", "1 INVITE");
    assert!(matches!(
        l.send_request(now, bad, udp()),
        Err(TxError::CSeqMethodMismatch { .. })
    ));
    let ok = req("BYE", "z9hG4bKb");
    let key = l.send_request(now, ok.clone(), udp()).expect("first");
    assert_eq!(l.send_request(now, ok, udp()), Err(TxError::Duplicate(key)));
    assert!(
        drain(&mut l).len() == 1,
        "only the accepted request was sent"
    );
}

#[test]
fn respond_refuses_unknown_client_bad_status_and_second_final() {
    let now = Instant::now();
    let mut l = layer(10);
    let r = req("OPTIONS", "z9hG4bKr");
    l.handle_received(now, Message::Request(r.clone()), udp());
    let key = new_key(&drain(&mut l));
    assert_eq!(
        l.respond(now, &key, Response::new(99)),
        Err(TxError::BadStatus(99))
    );
    l.respond(now, &key, response_to(&r, 200, Some("t")))
        .expect("final");
    assert!(matches!(
        l.respond(now, &key, response_to(&r, 500, Some("t"))),
        Err(TxError::AlreadyFinal { code: 500, .. })
    ));
    let client = l
        .send_request(now, req("BYE", "z9hG4bKq"), udp())
        .expect("client");
    assert_eq!(
        l.respond(now, &client, Response::new(200)),
        Err(TxError::NotServer(client.clone()))
    );
    let gone = TxKey::server(&req("INFO", "z9hG4bKgone")).expect("key");
    assert_eq!(
        l.respond(now, &gone, Response::new(200)),
        Err(TxError::Unknown(gone.clone()))
    );
}

#[test]
fn unmatched_response_and_ack_for_2xx_come_out_as_stray() {
    let now = Instant::now();
    let mut l = layer(10);
    let r = req("INVITE", "z9hG4bKnobody");
    l.handle_received(
        now,
        Message::Response(response_to(&r, 200, Some("t"))),
        udp(),
    );
    assert!(matches!(&drain(&mut l)[..], [Output::StrayResponse { resp, .. }] if resp.code == 200));
    l.handle_received(now, Message::Request(req("ACK", "z9hG4bKfresh")), udp());
    assert!(matches!(&drain(&mut l)[..], [Output::Ack { .. }]));
    assert!(l.is_empty(), "ACK never creates a transaction");
}

#[test]
fn response_without_cookie_branch_is_stray_not_a_panic() {
    let now = Instant::now();
    let mut l = layer(10);
    let r = req("OPTIONS", "legacy");
    l.handle_received(now, Message::Response(response_to(&r, 200, None)), udp());
    assert!(matches!(&drain(&mut l)[..], [Output::StrayResponse { .. }]));
}

#[test]
fn legacy_request_without_cookie_is_keyed_and_its_ack_absorbed() {
    let now = Instant::now();
    let mut l = layer(10);
    let inv = req_with_via("INVITE", "SIP/2.0/UDP 198.51.100.7:5060");
    l.handle_received(now, Message::Request(inv.clone()), udp());
    let key = new_key(&drain(&mut l));
    assert!(!key.is_rfc3261());
    l.handle_received(now, Message::Request(inv.clone()), udp());
    assert!(drain(&mut l).is_empty(), "retransmission absorbed");
    l.respond(now, &key, response_to(&inv, 486, Some("t")))
        .expect("486");
    drain(&mut l);
    let ack = req_with_via("ACK", "SIP/2.0/UDP 198.51.100.7:5060");
    l.handle_received(now, Message::Request(ack), udp());
    assert!(drain(&mut l).is_empty());
    assert_eq!(
        l.state(&key),
        Some(TxState::ServerInvite(ServerInviteState::Confirmed))
    );
}

#[test]
fn request_without_via_is_dropped_without_state() {
    let now = Instant::now();
    let mut l = layer(10);
    let mut r = req("OPTIONS", "z9hG4bKx");
    r.headers.remove("Via");
    l.handle_received(now, Message::Request(r), udp());
    assert!(drain(&mut l).is_empty());
    assert!(l.is_empty());
}

#[test]
fn transport_error_fails_transactions_bound_to_that_peer_only() {
    let now = Instant::now();
    let mut l = layer(10);
    let a = l
        .send_request(now, req("INVITE", "z9hG4bKa"), tcp(1))
        .expect("a");
    let b = l
        .send_request(now, req("BYE", "z9hG4bKb"), tcp(2))
        .expect("b");
    l.handle_received(now, Message::Request(req("OPTIONS", "z9hG4bKs")), tcp(1));
    let s = new_key(&drain(&mut l)[2..]);
    l.transport_error(now, &tcp(1));
    let out = drain(&mut l);
    for k in [&a, &s] {
        assert!(
            out.contains(&Output::TransportError { key: k.clone() }),
            "{k}"
        );
        assert!(out.contains(&Output::Terminated { key: k.clone() }), "{k}");
    }
    assert_eq!(l.len(), 1);
    assert!(l.state(&b).is_some());
}

#[test]
fn our_own_request_looped_back_does_not_hit_our_client_tx() {
    let now = Instant::now();
    let mut l = layer(10);
    let r = req("OPTIONS", "z9hG4bKloop");
    let client = l.send_request(now, r.clone(), udp()).expect("client");
    drain(&mut l);
    l.handle_received(now, Message::Request(r), udp());
    let server = new_key(&drain(&mut l));
    assert_ne!(client, server);
    assert_eq!(l.len(), 2);
}

#[test]
fn poll_timeout_skips_cancelled_timers() {
    let t0 = Instant::now();
    let mut l = layer(10);
    let r = req("INVITE", "z9hG4bKp");
    l.handle_received(t0, Message::Request(r.clone()), udp());
    let key = new_key(&drain(&mut l));
    assert_eq!(l.poll_timeout(), Some(t0 + TRYING_DELAY));
    l.respond(t0, &key, response_to(&r, 200, Some("t")))
        .expect("200");
    assert_eq!(
        l.poll_timeout(),
        Some(t0 + Duration::from_secs(32)),
        "Timer L, not the 100 timer"
    );
}

#[test]
fn stale_timers_of_dead_transactions_do_not_pile_up() {
    let t0 = Instant::now();
    let mut l = layer(1000);
    l.handle_received(t0, Message::Request(req("INVITE", "z9hG4bKlive")), udp());
    drain(&mut l);
    let later = t0 + Duration::from_millis(100);
    for i in 0..200 {
        let r = req("INVITE", &format!("z9hG4bKd{i}"));
        l.handle_received(later, Message::Request(r.clone()), tcp(2));
        let key = new_key(&drain(&mut l));
        l.respond(later, &key, response_to(&r, 486, Some("t")))
            .expect("486");
        drain(&mut l);
    }
    l.transport_error(later, &tcp(2));
    drain(&mut l);
    assert_eq!(l.len(), 1);
    assert!(
        l.timers.len() <= 64 + 8,
        "heap holds {} entries",
        l.timers.len()
    );
    assert_eq!(l.poll_timeout(), Some(t0 + TRYING_DELAY));
}

#[test]
fn response_with_status_outside_range_is_dropped() {
    let now = Instant::now();
    let mut l = layer(10);
    let r = req("INVITE", "z9hG4bKodd");
    let key = l.send_request(now, r.clone(), udp()).expect("send");
    drain(&mut l);
    let mut odd = response_to(&r, 200, Some("t"));
    odd.code = 799;
    l.handle_received(now, Message::Response(odd), udp());
    assert!(drain(&mut l).is_empty());
    assert_eq!(
        l.state(&key),
        Some(TxState::ClientInvite(ClientInviteState::Calling))
    );
}

/// One step of a random peer/TU/clock script.
#[derive(Debug, Clone)]
enum Step {
    Recv {
        method: usize,
        branch: u8,
        tcp: bool,
    },
    Reply {
        method: usize,
        branch: u8,
        code: u16,
    },
    Respond {
        pick: usize,
        code: u16,
    },
    Send {
        method: usize,
        branch: u8,
        tcp: bool,
    },
    Advance {
        millis: u64,
    },
    Fail {
        tcp: bool,
    },
}

const METHODS: [&str; 5] = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..5usize, 0..4u8, any::<bool>()).prop_map(|(method, branch, tcp)| Step::Recv {
            method,
            branch,
            tcp
        }),
        (0..5usize, 0..4u8, 0..800u16).prop_map(|(method, branch, code)| Step::Reply {
            method,
            branch,
            code
        }),
        (0..8usize, 90..700u16).prop_map(|(pick, code)| Step::Respond { pick, code }),
        (0..5usize, 0..4u8, any::<bool>()).prop_map(|(method, branch, tcp)| Step::Send {
            method,
            branch,
            tcp
        }),
        (0..40_000u64).prop_map(|millis| Step::Advance { millis }),
        any::<bool>().prop_map(|tcp| Step::Fail { tcp }),
    ]
}

proptest! {
    /// Any script of inputs: no panic, the table never exceeds its bound,
    /// `poll_timeout` never lies in the past after `handle_timeout`, every
    /// transaction ends by 64*T1 + 32 s of quiet, and each key terminates
    /// at most once per life.
    #[test]
    fn random_scripts_keep_the_layer_sound(steps in proptest::collection::vec(step(), 1..60)) {
        let max = 4;
        let t0 = Instant::now();
        let mut now = t0;
        let mut l = layer(max);
        let mut servers: Vec<TxKey> = Vec::new();
        for s in steps {
            let peer = |tcp: bool| if tcp { tcp_peer() } else { udp() };
            match s {
                Step::Recv { method, branch, tcp } => {
                    let r = req(METHODS[method], &format!("z9hG4bK{branch}"));
                    l.handle_received(now, Message::Request(r), peer(tcp));
                }
                Step::Reply { method, branch, code } => {
                    let r = req(METHODS[method], &format!("z9hG4bK{branch}"));
                    let mut resp = response_to(&r, 200, Some("t"));
                    resp.code = code;
                    l.handle_received(now, Message::Response(resp), udp());
                }
                Step::Respond { pick, code } => {
                    if let Some(k) = servers.get(pick % servers.len().max(1)) {
                        let _ = l.respond(now, k, Response::new(code));
                    }
                }
                Step::Send { method, branch, tcp } => {
                    let _ = l.send_request(now, req(METHODS[method], &format!("z9hG4bK{branch}")), peer(tcp));
                }
                Step::Advance { millis } => {
                    now += Duration::from_millis(millis);
                    l.handle_timeout(now);
                    if let Some(t) = l.poll_timeout() {
                        prop_assert!(t > now);
                    }
                }
                Step::Fail { tcp } => l.transport_error(now, &peer(tcp)),
            }
            prop_assert!(l.len() <= max);
            let mut ended = std::collections::HashSet::new();
            while let Some(o) = l.poll_output() {
                match o {
                    Output::Request { key, .. } => servers.push(key),
                    Output::Terminated { key } => {
                        prop_assert!(ended.insert(key.clone()));
                        servers.retain(|k| k != &key);
                    }
                    _ => {}
                }
            }
        }
        // Server transactions the TU never answered live on (RFC 3261 has
        // no timer for them); answer them, then let every timer run out.
        // Likewise a client INVITE in Proceeding waits for its final.
        for k in servers.clone() {
            let _ = l.respond(now, &k, Response::new(500));
        }
        for b in 0..4 {
            let r = req("INVITE", &format!("z9hG4bK{b}"));
            l.handle_received(now, Message::Response(response_to(&r, 487, Some("t"))), udp());
        }
        now += Duration::from_secs(100);
        l.handle_timeout(now);
        prop_assert!(l.is_empty(), "{} transactions left", l.len());
        prop_assert_eq!(l.poll_timeout(), None);
    }
}

fn tcp_peer() -> Peer {
    tcp(1)
}
