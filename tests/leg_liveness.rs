//! Issue 6 "self-healing", leg liveness end to end: a real `softacd run`
//! with `[sip] leg_probe_s = 1` and T1 = 100 ms (so Timer F, 64*T1, is
//! 6.4 s), Rust UAs on loopback as the caller and seat 1001's phone.
//!
//! 1. Both phones answer the in-dialog OPTIONS probes (RFC 3261 §11) with
//!    200: the call stays up across several probe periods, and ends
//!    normally when the caller hangs up.
//! 2. The agent's phone vanishes mid-call without a BYE (its socket is
//!    closed): its probe goes unanswered, Timer F fires, and the call is
//!    cleared as if the phone had sent BYE — the caller gets a BYE, the
//!    agent is no longer in call, the CDR says `leg_lost`, and the event
//!    stream's ConnectionCleared carries the same cause.

mod common;
mod ua;

use std::time::{Duration, Instant};

use serde_json::Value;
use softacd::sip::Method;

use common::{poll_until, TestServer};
use ua::config::{flow_config, set_keys};
use ua::events::{self, EventLog};
use ua::{Agent, Caller};

/// One signalling step on a loaded 2-core machine.
const STEP: Duration = Duration::from_secs(10);
/// Probe period + Timer F (6.4 s) + a generous margin for a loaded host.
const LOST_WITHIN: Duration = Duration::from_secs(20);

fn config(data_dir: &std::path::Path) -> String {
    let mut cfg = flow_config(data_dir, "relay");
    let t1 = "t1_ms = 500";
    assert!(cfg.contains(t1), "default test config changed:\n{cfg}");
    cfg = cfg.replace(t1, "t1_ms = 100");
    set_keys(&mut cfg, "[sip]", &["leg_probe_s =", "leg_probe_s = 1"]);
    cfg
}

fn agent_state(server: &TestServer, id: &str) -> (String, String) {
    let (status, body) = server.http_get("/api/agents");
    let all = events::json_array("GET /api/agents", status, &body);
    let a = events::agent(&all, id).unwrap_or_else(|| panic!("no seat {id}: {all:?}"));
    events::agent_status_state(a)
}

fn wait_state(server: &TestServer, id: &str, ok: impl Fn(&str) -> bool) -> String {
    poll_until(STEP, Duration::from_millis(100), || {
        let (_, state) = agent_state(server, id);
        ok(&state).then_some(state)
    })
    .unwrap_or_else(|| panic!("agent {id} stuck in {:?}", agent_state(server, id)))
}

fn newest_cdr(server: &TestServer) -> Value {
    poll_until(STEP, Duration::from_millis(100), || {
        let (status, body) = server.http_get("/api/calls?limit=1");
        events::json_array("GET /api/calls", status, &body)
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no CDR in /api/calls"))
}

/// Seat 1001 registers (auto-ready), a caller dials 100, presses 0 and the
/// phone answers: the call is connected through the relay.
fn connected_call(server: &TestServer) -> (Caller, Agent) {
    let mut agent = Agent::register(server.udp, "1001", "demo1001").expect("seat 1001 registers");
    wait_state(server, "1001", |s| s == "idle");
    let mut caller = Caller::new(server.udp, "5550001").expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("100", Some(offer), STEP).expect("INVITE 100");
    assert_eq!(ok.code, 200);
    assert!(caller.recv_rtp(STEP, 5).count() >= 5, "the welcome prompt");
    caller.send_dtmf('0').expect("DTMF 0");
    // The caller keeps answering its probes while the phone rings.
    let until = Instant::now() + STEP;
    loop {
        caller.leg.idle(Duration::from_millis(100)).expect("caller");
        if agent.expect_invite(Duration::from_millis(100)).is_ok() {
            break;
        }
        assert!(Instant::now() < until, "no INVITE to seat 1001");
    }
    agent.answer().expect("200 from the phone");
    agent.expect_ack(STEP).expect("ACK for the phone's 200");
    wait_state(server, "1001", |s| s == "in_call");
    (caller, agent)
}

fn count(methods: &[Method], m: &Method) -> usize {
    methods.iter().filter(|x| *x == m).count()
}

#[test]
fn phones_that_answer_the_probes_keep_the_call_up() {
    let server = TestServer::start_with_config(config);
    let (mut caller, mut agent) = connected_call(&server);
    let start = (
        count(&caller.leg.seen_methods(), &Method::Options),
        count(&agent.leg.seen_methods(), &Method::Options),
    );
    // Four probe periods, both phones serviced in turn (each answers its
    // OPTIONS within a few hundred ms, far inside Timer F).
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        caller.leg.idle(Duration::from_millis(100)).expect("caller");
        agent.leg.idle(Duration::from_millis(100)).expect("phone");
    }
    let (c, a) = (caller.leg.seen_methods(), agent.leg.seen_methods());
    assert!(
        count(&c, &Method::Options) >= start.0 + 3,
        "caller probed each period: {c:?}"
    );
    assert!(
        count(&a, &Method::Options) >= start.1 + 3,
        "phone probed each period: {a:?}"
    );
    assert_eq!(count(&c, &Method::Bye) + count(&a, &Method::Bye), 0);
    assert_eq!(agent_state(&server, "1001").1, "in_call");
    caller.bye().expect("the caller hangs up");
    agent
        .expect_request(Method::Bye, STEP)
        .expect("BYE to the phone");
    let cdr = newest_cdr(&server);
    assert_eq!(cdr["end_cause"], "normal_clearing", "{cdr}");
}

#[test]
fn a_phone_that_vanishes_mid_call_is_cleared_as_leg_lost() {
    let server = TestServer::start_with_config(config);
    let mut log = EventLog::connect(server.http).expect("/api/events");
    let (mut caller, agent) = connected_call(&server);
    // The phone dies: no BYE, its port closed.
    drop(agent);
    let gone = Instant::now();
    caller
        .expect_request(Method::Bye, LOST_WITHIN)
        .expect("the SoftACD hangs up the caller");
    let took = gone.elapsed();
    assert!(took < LOST_WITHIN, "cleared after {took:?}");
    let state = wait_state(&server, "1001", |s| s != "in_call" && s != "reserved");
    assert!(state == "wrap_up" || state == "idle", "{state}");
    let cdr = newest_cdr(&server);
    assert_eq!(cdr["end_cause"], "leg_lost", "{cdr}");
    assert_eq!(cdr["agent"], "1001", "{cdr}");
    let contact = cdr["contact_id"].as_u64().expect("contact id");
    let cleared = log.collect_until(STEP, |evs| {
        evs.iter()
            .any(|e| e["event"] == "ConnectionCleared" && e["contact"].as_u64() == Some(contact))
    });
    assert!(cleared, "ConnectionCleared on the event stream");
    let causes: Vec<&Value> = log
        .events
        .iter()
        .filter(|e| e["event"] == "ConnectionCleared" && e["contact"].as_u64() == Some(contact))
        .map(|e| &e["cause"])
        .collect();
    assert_eq!(causes, vec![&Value::from("leg_lost")]);
    // The seat takes calls again once wrap-up is over.
    wait_state(&server, "1001", |s| s == "idle");
}
