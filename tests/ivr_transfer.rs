//! The IVR's `transfer` node live (issue 5), against the real `softacd
//! run` binary with in-process Rust UAs on loopback (tests/ua): the
//! caller dials service 100, hears the welcome, and the flow sends it to
//! an external party on 127.0.0.1 (interface B `TransferExternal`). The
//! SoftACD INVITEs that party with the relay's B side; when it answers,
//! caller and party hear each other through the relay, the IVR leg is
//! gone, and the CDR names the URI with end cause `transferred`. When
//! the party answers 486 Busy Here the flow follows `on_error` to the
//! queue node: the caller hears hold music and the CDR shows the queue.
//! A target outside loopback that `[ivr] transfer_allow` does not list is
//! refused before any INVITE leaves (toll-fraud guard): `on_error` again.
//! A party that only rings is CANCELled at the node's `timeout_s` (the
//! flow goes on), or as soon as the caller hangs up.

mod common;
mod ua;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use softacd::media::sdp::parse_offer;
use softacd::sip::Method;

use common::{poll_until, TestServer};
use ua::config::flow_config;
use ua::events;
use ua::rtp::assert_hears;
use ua::{Agent, Caller, AGENT_FILL, CALLER_FILL};

const STEP: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_secs(10);

/// welcome → transfer to the desk (ringing 10 s) → (busy, no answer,
/// failure) the queue.
fn flow(desk: SocketAddr) -> String {
    flow_ringing(desk, 10)
}

fn flow_ringing(desk: SocketAddr, timeout_s: u32) -> String {
    format!(
        r#"name = "main"
start = "welcome"

[nodes.welcome]
type = "play"
prompts = ["welcome"]
next = "out"

[nodes.out]
type = "transfer"
uri = "sip:desk@{desk}"
timeout_s = {timeout_s}
on_error = "waiting"

[nodes.waiting]
type = "queue"
queue = "support"
hold_music = "hold"
on_timeout = "bye"

[nodes.bye]
type = "hangup"
"#
    )
}

/// The call-flow config (relay mode) with service 100 running [`flow`]
/// from a scripts directory of its own.
fn start(flow: String) -> TestServer {
    TestServer::start_with_config(|data| {
        let scripts = data.join("scripts");
        std::fs::create_dir_all(&scripts).expect("scripts dir");
        std::fs::write(scripts.join("main.toml"), flow).expect("flow written");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let repo = format!("scripts_dir = \"{}\"", root.join("ivr-scripts").display());
        let mine = format!("scripts_dir = \"{}\"", scripts.display());
        let cfg = flow_config(data, "relay");
        assert!(cfg.contains(&repo), "flow_config names the repo's scripts");
        cfg.replace(&repo, &mine)
    })
}

/// The external party: a phone on 127.0.0.1 that nobody registered.
/// Its server address is set once the SoftACD is up.
fn desk() -> (Agent, SocketAddr) {
    let placeholder: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let desk = Agent::unregistered(placeholder, "desk").expect("desk UA");
    let addr = SocketAddr::new([127, 0, 0, 1].into(), desk.leg.local.port);
    (desk, addr)
}

/// Dial 100 and hear the welcome prompt from the SoftACD's relay.
fn call(server: &TestServer) -> (Caller, SocketAddr) {
    let mut caller = Caller::new(server.udp, "5550001").expect("caller UA");
    let offer = caller.offer();
    let ok = caller
        .invite("100", Some(offer), STEP)
        .unwrap_or_else(|e| panic!("INVITE to 100: {e}"));
    assert_eq!(ok.code, 200, "INVITE 100 answered {}", ok.code);
    let relay_a = caller.remote_media().expect("an SDP answer in the 200");
    let welcome = caller.recv_rtp(STEP, 10);
    assert!(
        welcome.count() >= 10,
        "welcome: {} packets",
        welcome.count()
    );
    (caller, relay_a)
}

fn wait_cdr(server: &TestServer) -> Value {
    let cdr = poll_until(SETTLE, Duration::from_millis(100), || {
        let (status, body) = server.http_get("/api/calls?limit=10");
        events::json_array("GET /api/calls", status, &body)
            .into_iter()
            .next()
    });
    cdr.unwrap_or_else(|| panic!("no CDR in /api/calls within {SETTLE:?}"))
}

#[test]
fn transfer_answered_bridges_caller_and_party_through_the_relay() {
    let (mut desk, desk_addr) = desk();
    let server = start(flow(desk_addr));
    desk.leg.server = server.udp;
    let (mut caller, relay_a) = call(&server);

    // The flow's transfer: the SoftACD INVITEs the desk with the relay's B side.
    let invite = desk
        .expect_invite(STEP)
        .unwrap_or_else(|e| panic!("desk INVITE: {e}\n{}", server.stderr_tail(3000)));
    assert_eq!(invite.uri.to_string(), format!("sip:desk@{desk_addr}"));
    assert!(
        invite.headers.get("X-SoftACD-Contact").is_none(),
        "no internal headers toward an outside party"
    );
    let offer = parse_offer(&invite.body).expect("the INVITE carries an SDP offer");
    let relay_b = SocketAddr::new(offer.connection, offer.audio_port);
    assert_ne!(relay_b, relay_a, "the desk sees the relay's B side");
    desk.ring().expect("180");
    desk.answer().expect("200");
    desk.expect_ack(STEP).expect("ACK for the desk's 200");

    // Caller and desk talk through the relay; the caller was not re-INVITEd.
    assert_hears(
        &mut caller.leg.media,
        &mut desk.leg.media,
        CALLER_FILL,
        relay_b,
    );
    assert_hears(
        &mut desk.leg.media,
        &mut caller.leg.media,
        AGENT_FILL,
        relay_a,
    );
    assert!(
        !caller.leg.seen_methods().contains(&Method::Invite),
        "same codec: no re-INVITE of the caller"
    );

    caller.bye().expect("caller BYE answered");
    desk.expect_request(Method::Bye, STEP)
        .expect("the desk gets BYE when the caller hangs up");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["agent"], format!("sip:desk@{desk_addr}"), "{cdr}");
    assert_eq!(cdr["end_cause"], "transferred", "{cdr}");
    assert!(cdr["agent_answer_ms"].as_u64().is_some(), "{cdr}");
    assert_eq!(cdr["queue"], Value::Null, "{cdr}");
    server.stop();
}

#[test]
fn busy_party_sends_the_caller_down_on_error_to_the_queue() {
    let (mut desk, desk_addr) = desk();
    let server = start(flow(desk_addr));
    desk.leg.server = server.udp;
    let (mut caller, relay_a) = call(&server);

    desk.expect_invite(STEP)
        .unwrap_or_else(|e| panic!("desk INVITE: {e}\n{}", server.stderr_tail(3000)));
    desk.reject(486).expect("486 Busy Here");
    desk.expect_ack(STEP).expect("ACK for the 486");

    // on_error: the queue node's hold music from the IVR, through the relay.
    let _ = caller.recv_rtp(Duration::from_millis(300), 1000);
    let hold = caller.recv_rtp(STEP, 25);
    assert!(hold.count() >= 25, "hold music: {} packets", hold.count());
    assert_eq!(hold.sources(), [relay_a].into(), "still the relay's A side");

    caller.bye().expect("caller BYE answered");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["queue"], "support", "the on_error queue: {cdr}");
    assert_eq!(cdr["agent"], Value::Null, "{cdr}");
    assert_ne!(cdr["end_cause"], "transferred", "{cdr}");
    server.stop();
}

#[test]
fn target_outside_transfer_allow_is_refused_and_the_flow_takes_on_error() {
    // TEST-NET-1 (RFC 5737), not listed: nothing may be sent there.
    let server = start(flow("192.0.2.1:5060".parse().expect("addr")));
    let (mut caller, relay_a) = call(&server);
    let hold = caller.recv_rtp(STEP, 150);
    assert!(
        hold.count() >= 150,
        "welcome then hold music without a break: {} packets",
        hold.count()
    );
    assert_eq!(hold.sources(), [relay_a].into());
    let stderr = server.stderr_tail(20_000);
    assert!(
        stderr.contains("not in [ivr] transfer_allow"),
        "refusal logged: {stderr}"
    );
    caller.bye().expect("caller BYE answered");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["queue"], "support", "the on_error queue: {cdr}");
    assert_eq!(cdr["agent"], Value::Null, "{cdr}");
    server.stop();
}

#[test]
fn ring_timeout_cancels_the_party_and_the_flow_goes_on() {
    let (mut desk, desk_addr) = desk();
    let server = start(flow_ringing(desk_addr, 2));
    desk.leg.server = server.udp;
    let (mut caller, relay_a) = call(&server);
    desk.expect_invite(STEP)
        .unwrap_or_else(|e| panic!("desk INVITE: {e}\n{}", server.stderr_tail(3000)));
    let rang = std::time::Instant::now();
    desk.ring().expect("180");
    desk.expect_request(Method::Cancel, STEP)
        .expect("CANCEL at the ring timeout");
    let waited = rang.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < STEP,
        "CANCEL after {waited:?}, timeout_s is 2"
    );
    let _ = caller.recv_rtp(Duration::from_millis(300), 1000);
    let hold = caller.recv_rtp(STEP, 25);
    assert!(hold.count() >= 25, "hold music: {} packets", hold.count());
    assert_eq!(hold.sources(), [relay_a].into());
    caller.bye().expect("caller BYE answered");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["queue"], "support", "the on_error queue: {cdr}");
    assert_eq!(cdr["agent"], Value::Null, "{cdr}");
    server.stop();
}

#[test]
fn caller_hangup_while_the_party_rings_cancels_it() {
    let (mut desk, desk_addr) = desk();
    let server = start(flow(desk_addr));
    desk.leg.server = server.udp;
    let (mut caller, _) = call(&server);
    desk.expect_invite(STEP)
        .unwrap_or_else(|e| panic!("desk INVITE: {e}\n{}", server.stderr_tail(3000)));
    desk.ring().expect("180");
    caller.bye().expect("caller BYE answered");
    desk.expect_request(Method::Cancel, STEP)
        .expect("CANCEL when the caller hangs up");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["end_cause"], "normal_clearing", "{cdr}");
    assert_eq!(cdr["agent"], Value::Null, "{cdr}");
    assert_eq!(cdr["queue"], Value::Null, "{cdr}");
    server.stop();
}
