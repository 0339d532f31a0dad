//! Callbacks live (issue 6), against the real `softacd run` binary with
//! in-process Rust UAs on loopback (tests/ua): caller A dials service 104
//! (`ivr-scripts/callback.toml`) and waits for support while no seat is
//! signed in; caller B queues behind A. A presses 1, keys 5551234#, hears
//! the confirmation and is hung up by the flow: the callback keeps A's place
//! (B is still second). Seat 1001 registers: the SoftACD rings the seat for
//! the callback first (not for B), and only once it answered INVITEs the
//! customer at `[cti] callback_trunk`; the customer answers and seat and
//! customer hear each other through the relay. The CDRs link the two rows
//! (`requested:<id>` / `of:<id>`). A customer who is busy every time is
//! retried `callback_retries` times, then the seat is released and the
//! callback ends `busy`. Last, the customer is SIPp (`sip-tests/call/
//! agent_uas.xml` stand-alone on the trunk's port, `-rtp_echo`): the seat's
//! frames come back to it through the relay.

mod common;
mod ua;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use softacd::media::sdp::parse_offer;
use softacd::sip::{HeaderView, Method, Request};

use common::{poll_until, TestServer};
use ua::config::{flow_config, set_keys};
use ua::events;
use ua::rtp::assert_hears;
use ua::{Agent, Caller, AGENT_FILL};

const STEP: Duration = Duration::from_secs(10);
const NUMBER: &str = "5551234";
/// The customer's RTP payload fill (the seat sends AGENT_FILL).
const CUSTOMER_FILL: u8 = 0x3C;

/// The call-flow config (relay) plus service 104 and the callback trunk
/// pointing at `customer`; `retries` further attempts 1 s apart.
fn start(customer: SocketAddr, retries: u32) -> TestServer {
    TestServer::start_with_config(|data| {
        let mut cfg = flow_config(data, "relay");
        cfg.push_str("\n[[service]]\nnumber = \"104\"\nscript = \"callback\"\n");
        let trunk = format!("callback_trunk = \"sip:{{number}}@{customer}\"");
        set_keys(&mut cfg, "[cti]", &["callback_trunk =", &trunk]);
        let retries = format!("callback_retries = {retries}");
        set_keys(&mut cfg, "[cti]", &["callback_retries =", &retries]);
        set_keys(
            &mut cfg,
            "[cti]",
            &["callback_retry_s =", "callback_retry_s = 1"],
        );
        cfg
    })
}

/// The customer's phone: nobody registered it; the trunk points at it.
fn customer() -> (Agent, SocketAddr) {
    let placeholder: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let phone =
        Agent::unregistered_with_fill(placeholder, "customer", CUSTOMER_FILL).expect("customer UA");
    let addr = SocketAddr::new([127, 0, 0, 1].into(), phone.leg.local.port);
    (phone, addr)
}

/// Dial 104 and wait until the queue counts `waiting` callers.
fn queue_up(server: &TestServer, user: &str, waiting: u64) -> Caller {
    let mut caller = Caller::new(server.udp, user).expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("104", Some(offer), STEP).expect("INVITE 104");
    assert_eq!(ok.code, 200, "INVITE 104 answered {}", ok.code);
    wait_support(server, "caller queued", |q| q["waiting"] == waiting);
    caller
}

fn support(server: &TestServer) -> Value {
    let (status, body) = server.http_get("/api/queues");
    let all = events::json_array("GET /api/queues", status, &body);
    let found = all.into_iter().find(|q| q["name"] == "support");
    found.unwrap_or_else(|| panic!("no queue support in {body}"))
}

fn wait_support(server: &TestServer, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let got = poll_until(STEP, Duration::from_millis(100), || {
        let q = support(server);
        ok(&q).then_some(q)
    });
    got.unwrap_or_else(|| panic!("{what}: queue support is {}", support(server)))
}

/// The caller presses the callback key, keys the number and `#`, hears
/// the confirmation; the flow hangs up.
fn leave_number(server: &TestServer, caller: &mut Caller) {
    let _ = caller.recv_rtp(STEP, 10);
    caller.send_dtmf('1').expect("DTMF 1");
    let prompt = caller.recv_rtp(STEP, 10);
    assert!(prompt.count() >= 10, "enter-number: {}", prompt.count());
    for key in NUMBER.chars().chain(['#']) {
        caller.send_dtmf(key).expect("DTMF digit");
    }
    caller
        .expect_request(Method::Bye, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("no BYE after the confirmation: {e}\n{}", tail(server)));
}

fn tail(server: &TestServer) -> String {
    server.stderr_tail(4000)
}

fn from_user(invite: &Request) -> String {
    invite
        .from_hdr()
        .ok()
        .and_then(|f| f.uri.user)
        .unwrap_or_default()
}

fn offered_addr(invite: &Request) -> SocketAddr {
    let offer = parse_offer(&invite.body).expect("the INVITE carries an SDP offer");
    SocketAddr::new(offer.connection, offer.audio_port)
}

/// The CDR rows whose `callback` column is set, once there are `n`.
fn callback_cdrs(server: &TestServer, n: usize) -> Vec<Value> {
    let rows = poll_until(STEP, Duration::from_millis(100), || {
        let (status, body) = server.http_get("/api/calls?limit=20");
        let rows: Vec<Value> = events::json_array("GET /api/calls", status, &body)
            .into_iter()
            .filter(|r| r["callback"].is_string())
            .collect();
        (rows.len() >= n).then_some(rows)
    });
    rows.unwrap_or_else(|| panic!("no {n} callback CDRs\n{}", tail(server)))
}

fn row<'a>(rows: &'a [Value], prefix: &str) -> &'a Value {
    rows.iter()
        .find(|r| {
            r["callback"]
                .as_str()
                .is_some_and(|c| c.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no CDR with callback {prefix}… in {rows:?}"))
}

#[test]
fn the_callback_keeps_its_place_rings_the_agent_first_then_the_customer() {
    let (mut customer, customer_addr) = customer();
    let server = start(customer_addr, 2);
    customer.leg.server = server.udp;
    let mut a = queue_up(&server, "5550001", 1);
    let mut b = queue_up(&server, "5550002", 2);

    leave_number(&server, &mut a);
    // A is gone, its callback waits in A's place, B is still behind it.
    let q = wait_support(&server, "callback waits", |q| q["waiting"] == 2);
    assert!(q["longest_wait_s"].as_u64().is_some(), "{q}");

    // The seat signs in: it is rung for the callback, not for B.
    let mut seat = Agent::register(server.udp, "1001", "demo1001").expect("seat 1001");
    let invite = seat
        .expect_invite(STEP)
        .unwrap_or_else(|e| panic!("seat INVITE: {e}\n{}", tail(&server)));
    assert_eq!(
        from_user(&invite),
        NUMBER,
        "the callback first, showing the number"
    );
    let relay_b = offered_addr(&invite);
    seat.ring().expect("180");
    // The desk's popup card (GET /api/agents) says it is a callback, and to whom.
    let card = poll_until(STEP, Duration::from_millis(100), || {
        let (status, body) = server.http_get("/api/agents");
        let agents = events::json_array("GET /api/agents", status, &body);
        events::agent(&agents, "1001").and_then(|a| a.get("contact").cloned())
    });
    let card = card.unwrap_or_else(|| panic!("no popup card for 1001\n{}", tail(&server)));
    assert_eq!(card["caller"], NUMBER, "{card}");
    assert_eq!(card["data"]["X-Callback"], NUMBER, "{card}");
    assert!(
        customer.expect_invite(Duration::from_millis(800)).is_err(),
        "the customer is called only once the agent answered"
    );
    seat.answer().expect("200");
    seat.expect_ack(STEP).expect("ACK for the seat's 200");

    // Now the customer, at the trunk, on the relay's other side.
    let call = customer
        .expect_invite(STEP)
        .unwrap_or_else(|e| panic!("customer INVITE: {e}\n{}", tail(&server)));
    assert_eq!(
        call.uri.to_string(),
        format!("sip:{NUMBER}@{customer_addr}")
    );
    assert!(
        call.headers.get("X-SoftACD-Contact").is_none(),
        "no internal headers outside"
    );
    let relay_a = offered_addr(&call);
    assert_ne!(relay_a, relay_b);
    customer.ring().expect("180");
    customer.answer().expect("200");
    customer
        .expect_ack(STEP)
        .expect("ACK for the customer's 200");
    assert_hears(
        &mut seat.leg.media,
        &mut customer.leg.media,
        AGENT_FILL,
        relay_a,
    );
    assert_hears(
        &mut customer.leg.media,
        &mut seat.leg.media,
        CUSTOMER_FILL,
        relay_b,
    );

    // The customer hangs up: the seat is released.
    customer.bye().expect("customer BYE answered");
    seat.expect_request(Method::Bye, STEP)
        .expect("the seat gets BYE");
    let rows = callback_cdrs(&server, 2);
    let inbound = row(&rows, "requested:");
    let callback = row(&rows, "of:");
    let callback_id = callback["contact_id"].as_u64().expect("contact_id");
    assert_eq!(
        inbound["callback"],
        format!("requested:{callback_id}"),
        "{inbound}"
    );
    assert_eq!(
        callback["callback"],
        format!("of:{}", inbound["contact_id"]),
        "{callback}"
    );
    assert_eq!(inbound["end_cause"], "normal_clearing", "{inbound}");
    assert_eq!(callback["caller"], NUMBER, "{callback}");
    assert_eq!(callback["agent"], "1001", "{callback}");
    assert_eq!(callback["queue"], "support", "{callback}");
    assert_eq!(callback["end_cause"], "normal_clearing", "{callback}");
    assert!(callback["agent_answer_ms"].as_u64().is_some(), "{callback}");

    // After the seat's wrap-up, B (who queued after A) is next.
    let next = seat
        .expect_invite(STEP)
        .unwrap_or_else(|e| panic!("seat INVITE for B: {e}\n{}", tail(&server)));
    assert_eq!(from_user(&next), "5550002");
    seat.answer().expect("200 for B");
    seat.expect_ack(STEP).expect("ACK for B's call");
    b.bye().expect("B hangs up");
    seat.expect_request(Method::Bye, STEP)
        .expect("the seat gets B's BYE");
    server.stop();
}

#[test]
fn a_busy_customer_is_retried_then_the_callback_ends_busy() {
    let (mut customer, customer_addr) = customer();
    let server = start(customer_addr, 1);
    customer.leg.server = server.udp;
    let mut a = queue_up(&server, "5550001", 1);
    leave_number(&server, &mut a);
    wait_support(&server, "callback waits", |q| q["waiting"] == 1);

    let mut seat = Agent::register(server.udp, "1001", "demo1001").expect("seat 1001");
    seat.expect_invite(STEP).expect("seat INVITE");
    seat.answer().expect("200");
    seat.expect_ack(STEP).expect("ACK");
    for attempt in 1..=2 {
        customer
            .expect_invite(STEP)
            .unwrap_or_else(|e| panic!("customer INVITE {attempt}: {e}\n{}", tail(&server)));
        customer.reject(486).expect("486 Busy Here");
        customer.expect_ack(STEP).expect("ACK for the 486");
    }
    seat.expect_request(Method::Bye, STEP)
        .expect("after the last attempt the seat is released");
    assert!(
        customer.expect_invite(Duration::from_millis(1500)).is_err(),
        "no third attempt with callback_retries = 1"
    );
    let rows = callback_cdrs(&server, 2);
    let callback = row(&rows, "of:");
    assert_eq!(callback["end_cause"], "busy", "{callback}");
    assert_eq!(callback["agent"], "1001", "{callback}");
    server.stop();
}

#[test]
fn a_sipp_customer_answers_and_echoes_the_seat_through_the_relay() {
    let port = common::free_port();
    let customer_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = start(customer_addr, 0);
    let mut a = queue_up(&server, "5550001", 1);
    leave_number(&server, &mut a);

    // The customer: SIPp's agent_uas.xml stand-alone on the trunk's port,
    // echoing the RTP it gets (-rtp_echo); it exits 0 once BYEd.
    let target = server.sip_addr("u1");
    let args: Vec<String> = ["-p", &port.to_string(), "-rtp_echo"]
        .iter()
        .map(|s| s.to_string())
        .chain(["-mp".into(), common::free_port().to_string()])
        .chain(["-timeout".into(), "60s".into()])
        .chain(["-recv_timeout".into(), "30000".into()])
        .collect();
    let sipp_customer = std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::sipp("call/agent_uas.xml", "u1", target, &args)
    });
    let mut seat = Agent::register(server.udp, "1001", "demo1001").expect("seat 1001");
    let invite = seat.expect_invite(STEP).expect("seat INVITE");
    assert_eq!(from_user(&invite), NUMBER);
    let relay_b = offered_addr(&invite);
    seat.answer().expect("200");
    seat.expect_ack(STEP).expect("ACK");
    // The seat's frames reach SIPp through the relay and come back echoed
    // (the customer answers a little after the seat: talk until they do).
    let mut echoed = 0;
    let mut sources = std::collections::BTreeSet::new();
    for _ in 0..25 {
        // `talk` receives between its frames: the echo arrives meanwhile.
        let talked = seat.leg.media.talk(Duration::from_millis(200));
        let got = talked.expect("RTP sent").with_fill(AGENT_FILL);
        echoed += got.count();
        sources.extend(got.sources());
        if echoed >= 10 {
            break;
        }
    }
    assert!(echoed >= 10, "echoed {echoed} frames\n{}", tail(&server));
    assert_eq!(sources, [relay_b].into(), "back through the relay");
    seat.bye().expect("the seat hangs up");
    let out = sipp_customer.join().expect("SIPp customer thread");
    assert!(out.status.success());
    let rows = callback_cdrs(&server, 2);
    let callback = row(&rows, "of:");
    assert_eq!(callback["end_cause"], "normal_clearing", "{callback}");
    assert_eq!(callback["agent"], "1001", "{callback}");
    server.stop();
}
