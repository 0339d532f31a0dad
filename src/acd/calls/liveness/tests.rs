//! Leg liveness with injected time: the bookkeeping alone, then a whole
//! engine whose caller sits in the IVR (the caller dialog is up): the probe
//! goes out at the deadline, 200 keeps the call, 481 and Timer F clear it
//! as the caller's BYE would, with cause `leg_lost`.

use super::*;
use crate::acd::{Action, EngineConfig, NoRelay};
use crate::b2bua::MediaMode;
use crate::cti::{ClearCause, CstaEvent, Cti, CtiConfig};
use crate::registrar::{Registrar, RegistrarConfig};
use crate::sip::transaction::TimerConfig;
use crate::sip::{parse_message, response_to, HeaderView, Message, Peer, Request, Uri};
use std::collections::BTreeMap;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(10);

fn key(n: u8) -> TxKey {
    let raw = format!(
        "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKk{n}\r\n\
From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:a@127.0.0.1>;tag=2\r\nCall-ID: k\r\nCSeq: {n} OPTIONS\r\n\r\n"
    );
    match parse_message(raw.as_bytes()) {
        Ok(Message::Request(r)) => TxKey::client(&r).expect("a client key"),
        other => panic!("not a request: {other:?}"),
    }
}

#[test]
fn probes_keep_one_deadline_per_call_and_one_probe_per_leg() {
    let t0 = Instant::now();
    let (a, b) = (ContactId(1), ContactId(2));
    let mut p = Probes::default();
    p.arm(a, t0 + EVERY);
    p.arm(a, t0 + EVERY * 5); // already armed: unchanged
    p.arm(b, t0 + EVERY * 2);
    assert_eq!(p.next(), Some(t0 + EVERY));
    assert!(p.due(t0).is_empty(), "nothing before the deadline");
    assert_eq!(p.due(t0 + EVERY), vec![a]);
    assert_eq!(p.next(), Some(t0 + EVERY * 2));
    p.start(key(1), a, LegId::CALLER);
    assert!(p.is_busy(a, LegId::CALLER) && !p.is_busy(a, LegId::agent(1)));
    assert_eq!(p.finish(&key(1)), Some((a, LegId::CALLER)));
    assert_eq!(p.finish(&key(1)), None, "a probe ends once");
    assert!(!p.is_busy(a, LegId::CALLER));
    p.start(key(2), b, LegId::agent(1));
    p.disarm(b);
    assert_eq!(
        (p.next(), p.in_flight()),
        (None, 0),
        "a gone call leaves nothing"
    );
}

#[test]
fn only_481_and_408_mean_the_dialog_is_gone() {
    for alive in [200, 405, 486, 501, 503] {
        assert!(!is_dead(alive), "{alive}");
    }
    assert!(is_dead(481) && is_dead(408));
}

// ----- a whole engine ---------------------------------------------------

fn caller() -> Peer {
    Peer::udp("127.0.0.1:5070".parse().expect("addr"))
}

fn ivr() -> Peer {
    crate::server::ivr_peer()
}

fn engine() -> Engine {
    let registrar = Registrar::new(
        RegistrarConfig {
            realm: "softacd".into(),
            domain: Some("127.0.0.1".into()),
            users: BTreeMap::new(),
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
        domain: "127.0.0.1".into(),
        local_udp: Some("127.0.0.1:5060".parse().expect("addr")),
        local_tcp: None,
        media_mode: MediaMode::Direct,
        ivr_uri: Uri::sip(Some("ivr"), "ivr.local", None),
        ivr_peer: ivr(),
        max_calls: 10,
        seats: BTreeMap::new(),
        transfer_allow: Vec::new(),
        callback: crate::acd::CallbackPolicy::default(),
        leg_probe: Some(EVERY),
        trunks: Default::default(),
    };
    let mut cti = CtiConfig::default();
    cti.dnis_scripts.insert("100".into(), "main".into());
    Engine::new(cfg, registrar, Cti::new(cti), Box::new(NoRelay), 42)
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn parse(raw: &str) -> Message {
    parse_message(raw.as_bytes()).expect("a valid message")
}

fn drain(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

/// Requests the engine sent to `to`.
fn sent(actions: &[Action], to: Peer, method: Method) -> Vec<Request> {
    let to_peer = |p: &Peer| p.addr == to.addr && p.transport == to.transport;
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transmit {
                peer,
                msg: Message::Request(r),
            } if to_peer(peer) && r.method == method => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn cleared(actions: &[Action]) -> Option<ClearCause> {
    actions.iter().find_map(|a| match a {
        Action::Csta(CstaEvent::ConnectionCleared { cause, .. }) => Some(*cause),
        _ => None,
    })
}

/// A caller at 127.0.0.1:5070 dials 100 and the IVR answers: the caller's
/// dialog is confirmed by its ACK.
fn caller_in_ivr(e: &mut Engine, now: Instant) {
    let invite = format!(
        "INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinv\r\n\
Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:100@127.0.0.1>\r\n\
Call-ID: live@test\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:5070>\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    );
    e.handle_received(now, 1_000, parse(&invite), caller());
    let out = drain(e);
    let ivr_invite = sent(&out, ivr(), Method::Invite)
        .pop()
        .expect("IVR invited");
    let mut ok = response_to(&ivr_invite, 200, Some("ivr1"));
    ok.headers.push("Contact", "<sip:ivr@ivr.local>");
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = SDP.as_bytes().to_vec();
    e.handle_received(now, 1_000, Message::Response(ok), ivr());
    let out = drain(e);
    let answer = out
        .iter()
        .find_map(|a| match a {
            Action::Transmit {
                msg: Message::Response(r),
                ..
            } if r.code == 200 => Some(r.clone()),
            _ => None,
        })
        .expect("the caller is answered");
    let our_tag = answer
        .to_hdr()
        .ok()
        .and_then(|t| t.tag().map(str::to_owned));
    let ack = format!(
        "ACK sip:softacd@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack\r\n\
Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:100@127.0.0.1>;tag={}\r\n\
Call-ID: live@test\r\nCSeq: 1 ACK\r\n\r\n",
        our_tag.expect("our To-tag")
    );
    e.handle_received(now, 1_000, parse(&ack), caller());
    drain(e);
    assert_eq!(e.live_calls(), 1);
}

/// Runs the engine's timers up to `until`, returning what it did.
fn run_until(e: &mut Engine, until: Instant) -> Vec<Action> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        match e.poll_timeout() {
            Some(at) if at <= until => {
                e.handle_timeout(at, 1_000);
                out.extend(drain(e));
            }
            _ => break,
        }
    }
    out
}

fn answer(e: &mut Engine, now: Instant, options: &Request, code: u16) -> Vec<Action> {
    let r = response_to(options, code, None);
    e.handle_received(now, 1_000, Message::Response(r), caller());
    drain(e)
}

#[test]
fn the_probe_goes_out_at_the_deadline_in_the_callers_dialog_and_200_keeps_the_call() {
    let t0 = Instant::now();
    let mut e = engine();
    caller_in_ivr(&mut e, t0);
    assert_eq!(e.poll_timeout(), Some(t0 + EVERY), "the only deadline");
    assert!(sent(
        &run_until(&mut e, t0 + EVERY / 2),
        caller(),
        Method::Options
    )
    .is_empty());
    let out = run_until(&mut e, t0 + EVERY);
    let probes = sent(&out, caller(), Method::Options);
    assert_eq!(probes.len(), 1, "one probe for the caller leg");
    let p = &probes[0];
    assert_eq!(p.call_id(), Some("live@test"), "same Call-ID");
    assert_eq!(
        p.to_hdr().ok().and_then(|t| t.tag().map(str::to_owned)),
        Some("a1".into())
    );
    assert_eq!(
        p.uri.to_string(),
        "sip:alice@127.0.0.1:5070",
        "the remote target"
    );
    assert_eq!(p.cseq().map(|c| c.method), Ok(Method::Options));
    assert!(
        sent(&out, ivr(), Method::Options).is_empty(),
        "the IVR leg is not probed"
    );
    answer(&mut e, t0 + EVERY, p, 200);
    // Several periods, each answered: the call stays.
    for n in 2..5 {
        let out = run_until(&mut e, t0 + EVERY * n);
        let next = sent(&out, caller(), Method::Options);
        assert_eq!(next.len(), 1, "period {n}");
        assert!(
            next[0].cseq().map(|c| c.seq).ok() > p.cseq().map(|c| c.seq).ok(),
            "next CSeq"
        );
        let back = answer(&mut e, t0 + EVERY * n, &next[0], 405);
        assert_eq!(cleared(&back), None, "405 is an answer: alive");
    }
    assert_eq!(e.live_calls(), 1);
}

#[test]
fn a_481_clears_the_call_as_the_callers_bye_with_cause_leg_lost() {
    let t0 = Instant::now();
    let mut e = engine();
    caller_in_ivr(&mut e, t0);
    let out = run_until(&mut e, t0 + EVERY);
    let probe = sent(&out, caller(), Method::Options)
        .pop()
        .expect("a probe");
    let back = answer(&mut e, t0 + EVERY, &probe, 481);
    assert_eq!(cleared(&back), Some(ClearCause::LegLost));
    assert_eq!(
        sent(&back, ivr(), Method::Bye).len(),
        1,
        "the IVR leg is BYEd"
    );
    assert!(
        sent(&back, caller(), Method::Bye).is_empty(),
        "not the lost leg"
    );
    assert!(
        e.poll_timeout().is_none_or(|at| at > t0 + EVERY),
        "no probe left due"
    );
}

#[test]
fn no_answer_clears_the_call_after_timer_f_with_one_probe_in_flight() {
    let t0 = Instant::now();
    let mut e = engine();
    caller_in_ivr(&mut e, t0);
    // Timer F is 64*T1 = 32 s: three more probe deadlines pass meanwhile.
    let timer_f = TimerConfig::default().t1 * 64;
    let before = run_until(&mut e, t0 + EVERY + timer_f - Duration::from_millis(1));
    let probes = sent(&before, caller(), Method::Options);
    assert!(probes.len() > 1, "retransmissions of the probe");
    let first = probes[0].cseq().map(|c| c.seq).ok();
    assert!(
        probes.iter().all(|p| p.cseq().map(|c| c.seq).ok() == first),
        "at most one probe in flight per leg"
    );
    assert_eq!(cleared(&before), None);
    let after = run_until(&mut e, t0 + EVERY + timer_f);
    assert_eq!(cleared(&after), Some(ClearCause::LegLost));
    assert_eq!(sent(&after, ivr(), Method::Bye).len(), 1);
}
