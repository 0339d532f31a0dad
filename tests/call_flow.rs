//! The call flow of MISSION.md steps 1–10 end to end, against the real
//! `softacd run` binary, with in-process Rust UAs on loopback (tests/ua):
//! an agent registers (auto-ready), a caller dials service 100, hears the
//! IVR's welcome over RTP, presses 0, is queued for skill "support", the
//! SoftACD diverts the call to the agent's phone, the agent answers, caller
//! and agent talk (through the relay, or directly after a re-INVITE of the
//! caller in direct mode), the caller hangs up. Then the CDR (`/api/calls`)
//! and the CSTA events (`/api/events`) must tell the same story.
//! Endings: caller hangs up while queued; the first agent rejects (486).
//! Issue 3; docs/design/call-flow.md.

mod common;
mod ua;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use softacd::media::sdp::parse_offer;
use softacd::sip::Method;

use common::{poll_until, TestServer};
use ua::config::flow_config;
use ua::events::{self, EventLog};
use ua::rtp::MediaPort;
use ua::{Agent, Caller, AGENT_FILL, CALLER_FILL};

/// Generous bound for one signalling step on a loaded 2-core machine.
/// `talker` sends 600 ms of its frames; `listener` must hear at least ten of
/// them, all from `via` (the relay's address in relay mode).
fn assert_hears(
    talker: &mut MediaPort,
    listener: &mut MediaPort,
    fill: u8,
    via: SocketAddr,
    what: &str,
) {
    let _ = talker.talk(Duration::from_millis(600));
    let heard = listener
        .recv_rtp_until(STEP, |s| s.with_fill(fill).count() >= 10)
        .with_fill(fill);
    assert!(
        heard.count() >= 10,
        "{what}: heard {} frames",
        heard.count()
    );
    assert_eq!(heard.sources(), [via].into(), "{what}");
}

const STEP: Duration = Duration::from_secs(10);
/// How long a test waits for the CDR and the events after the hangup.
const SETTLE: Duration = Duration::from_secs(10);
/// How long an agent may take to become idle again (wrap-up included).
const AGENT_WAIT: Duration = Duration::from_secs(20);
/// The CSTA events of one successful contact, in order (docs/events.md).
const FLOW_EVENTS: [&str; 8] = [
    "CallDelivered",
    "RouteRequest",
    "RouteSelect",
    "RouteEnd",
    "DivertCall",
    "CallDiverted",
    "Established",
    "ConnectionCleared",
];

fn start(mode: &str) -> TestServer {
    TestServer::start_with_config(|d| flow_config(d, mode))
}

fn agents(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.http_get("/api/agents");
    events::json_array("GET /api/agents", status, &body)
}

fn calls(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.http_get("/api/calls?limit=10");
    events::json_array("GET /api/calls", status, &body)
}

/// Waits until agent `id` shows `status` and `state` in `/api/agents`
/// (long enough for a default 10 s wrap-up).
fn wait_agent(server: &TestServer, id: &str, status: &str, state: &str) {
    let got = poll_until(AGENT_WAIT, Duration::from_millis(100), || {
        let all = agents(server);
        let a = events::agent(&all, id)?;
        (events::agent_status_state(a) == (status.to_string(), state.to_string())).then_some(())
    });
    assert!(
        got.is_some(),
        "agent {id} never showed {status}/{state}: {:?}",
        agents(server)
    );
}

/// Waits for the one CDR of this test run.
fn wait_cdr(server: &TestServer) -> Value {
    let cdr = poll_until(SETTLE, Duration::from_millis(100), || {
        calls(server).into_iter().next()
    });
    cdr.unwrap_or_else(|| panic!("no CDR in /api/calls within {SETTLE:?}"))
}

fn registered(server: &TestServer, user: &str, password: &str) -> Agent {
    let agent = Agent::register(server.udp, user, password)
        .unwrap_or_else(|e| panic!("seat {user} could not register: {e}"));
    wait_agent(server, user, "available", "idle");
    agent
}

/// Steps 1–6: dial 100, hear the welcome from the SoftACD, press 0.
/// Returns the caller and the SoftACD's media address it was answered with.
fn call_and_press_0(server: &TestServer) -> (Caller, SocketAddr) {
    let mut caller = Caller::new(server.udp, "5550001").expect("caller UA");
    let offer = caller.offer();
    let ok = caller
        .invite("100", Some(offer), STEP)
        .unwrap_or_else(|e| panic!("INVITE to 100: {e}"));
    assert_eq!(ok.code, 200, "INVITE 100 answered {}", ok.code);
    let prov = caller.provisional_codes();
    assert!(prov.contains(&100), "no 100 Trying: {:?}", caller.codes);
    assert!(prov.contains(&180), "no 180 Ringing: {:?}", caller.codes);
    let softacd_media = caller.remote_media().expect("an SDP answer in the 200");
    let welcome = caller.recv_rtp(STEP, 25);
    assert!(
        welcome.count() >= 25,
        "welcome prompt: {} packets",
        welcome.count()
    );
    assert_eq!(welcome.sources(), [softacd_media].into(), "prompt source");
    assert_eq!(welcome.payload_types(), [0].into(), "prompt in PCMU");
    assert_eq!(welcome.ssrcs().len(), 1, "one prompt stream");
    caller.send_dtmf('0').expect("DTMF 0");
    (caller, softacd_media)
}

/// The CSTA event names of the CDR's contact, once ConnectionCleared came.
fn contact_events(log: &mut EventLog, contact: u64) -> Vec<String> {
    log.collect_until(SETTLE, |evs| {
        events::names_for(evs, contact)
            .iter()
            .any(|n| n == "ConnectionCleared")
    });
    log.names_for(contact)
}

#[test]
fn caller_reaches_agent_through_ivr_relay_mode() {
    let server = start("relay");
    let mut log = EventLog::connect(server.http).expect("/api/events");
    // An agent's phone registers; seat 1001 is auto-ready.
    let mut agent = registered(&server, "1001", "demo1001");
    // Steps 1-6: the caller dials 100, hears the welcome, presses 0.
    let (mut caller, softacd_media) = call_and_press_0(&server);
    // Step 8: the SoftACD invites the agent with the caller's codec.
    let invite = agent.expect_invite(STEP).expect("INVITE to agent 1001");
    let offer = parse_offer(&invite.body).expect("INVITE to the agent carries an SDP offer");
    assert!(
        offer.payload_types.contains(&0),
        "caller's PCMU offered: {offer:?}"
    );
    assert_ne!(
        offer.audio_port,
        caller.leg.media.local.port(),
        "relay mode: the agent is offered the SoftACD's media address, not the caller's"
    );
    agent.ring().expect("180");
    agent.answer().expect("200");
    agent.expect_ack(STEP).expect("ACK for the agent's 200");
    // Steps 9-10 in relay mode: no re-INVITE; media flows both ways through SoftACD.
    let relay_to_agent = agent.leg.media.remote.expect("agent media target");
    assert_hears(
        &mut agent.leg.media,
        &mut caller.leg.media,
        AGENT_FILL,
        softacd_media,
        "agent audio via SoftACD",
    );
    assert_hears(
        &mut caller.leg.media,
        &mut agent.leg.media,
        CALLER_FILL,
        relay_to_agent,
        "caller audio via SoftACD",
    );
    caller
        .leg
        .idle(Duration::from_millis(300))
        .expect("caller idle");
    assert!(
        !caller.leg.seen_methods().contains(&Method::Invite),
        "relay mode must not re-INVITE the caller: {:?}",
        caller.leg.seen_methods()
    );
    // The caller hangs up; the agent's leg is released.
    caller.bye().expect("caller BYE");
    agent
        .expect_request(Method::Bye, STEP)
        .expect("BYE to the agent");
    // The CDR and the CSTA story.
    let cdr = wait_cdr(&server);
    assert!(
        cdr["caller"]
            .as_str()
            .is_some_and(|c| c.contains("5550001")),
        "{cdr}"
    );
    assert_eq!(cdr["dnis"], "100", "{cdr}");
    assert_eq!(cdr["agent"], "1001", "{cdr}");
    assert_eq!(cdr["queue"], "support", "{cdr}");
    assert_eq!(cdr["digits"], "0", "{cdr}");
    assert!(
        cdr["end_cause"].as_str().is_some_and(|c| !c.is_empty()),
        "{cdr}"
    );
    assert!(cdr["agent_answer_ms"].is_u64(), "{cdr}");
    let contact = cdr["contact_id"].as_u64().expect("contact_id");
    let names = contact_events(&mut log, contact);
    assert!(
        events::is_subsequence(&FLOW_EVENTS, &names),
        "CSTA events of contact {contact}: {names:?}"
    );
    let of_contact = |name: &str| -> Vec<Value> {
        log.events
            .iter()
            .filter(|e| e["contact"].as_u64() == Some(contact) && e["event"] == name)
            .cloned()
            .collect()
    };
    let delivered = of_contact("CallDelivered");
    assert!(
        delivered
            .iter()
            .any(|e| e["leg"] == "caller" && e["media"] == "audio"),
        "CallDelivered for the caller's audio leg: {delivered:?}"
    );
    let route = of_contact("RouteRequest");
    assert!(route.iter().any(|e| e["dnis"] == "100"), "{route:?}");
    // No agent is left busy: after wrap-up 1001 is available and idle again.
    wait_agent(&server, "1001", "available", "idle");
}

#[test]
fn direct_mode_reinvites_the_caller_with_the_agents_sdp() {
    let server = start("direct");
    let mut agent = registered(&server, "1001", "demo1001");
    let (mut caller, _) = call_and_press_0(&server);
    let invite = agent.expect_invite(STEP).expect("INVITE to agent 1001");
    let offer = parse_offer(&invite.body).expect("INVITE to the agent carries an SDP offer");
    assert_eq!(
        offer.audio_port,
        caller.leg.media.local.port(),
        "direct mode: the agent is offered the caller's own SDP"
    );
    agent.ring().expect("180");
    agent.answer().expect("200");
    // Step 10: the SoftACD re-INVITEs the caller with the agent's SDP (before
    // or after it ACKs the agent: either message waits in its socket).
    let reinvite = caller
        .expect_request(Method::Invite, STEP)
        .expect("re-INVITE to the caller");
    agent.expect_ack(STEP).expect("ACK for the agent's 200");
    let agents_sdp = parse_offer(&reinvite.body).expect("re-INVITE carries the agent's SDP");
    assert_eq!(
        agents_sdp.audio_port,
        agent.leg.media.local.port(),
        "agent's port"
    );
    caller
        .expect_request(Method::Ack, STEP)
        .expect("ACK of the re-INVITE");
    // Media now flows directly between the phones.
    assert_eq!(caller.remote_media(), Some(agent.leg.media.local));
    let _ = agent.leg.media.talk(Duration::from_millis(400));
    let heard = caller
        .leg
        .media
        .recv_rtp_until(STEP, |s| s.with_fill(AGENT_FILL).count() >= 10)
        .with_fill(AGENT_FILL);
    assert!(
        heard.count() >= 10,
        "caller heard {} agent frames",
        heard.count()
    );
    assert_eq!(
        heard.sources(),
        [agent.leg.media.local].into(),
        "straight from the agent"
    );
    agent.bye().expect("agent hangs up first");
    caller
        .expect_request(Method::Bye, STEP)
        .expect("BYE to the caller");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["agent"], "1001", "{cdr}");
}

#[test]
fn caller_hangs_up_while_queued_and_the_agent_stays_idle() {
    let server = start("relay");
    let mut agent = registered(&server, "1001", "demo1001");
    let (status, body) = events::http_post(
        server.http,
        "/api/agents/1001/not-ready",
        r#"{"reason":"break"}"#,
    )
    .expect("POST not-ready");
    assert_eq!(status, 200, "not-ready: {body}");
    let (mut caller, _) = call_and_press_0(&server);
    // Queued: the queue announcement / hold music keeps coming.
    let held = caller.recv_rtp(STEP, 50);
    assert!(
        held.count() >= 50,
        "queued caller heard {} packets",
        held.count()
    );
    caller.bye().expect("caller hangs up in the queue");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["queue"], "support", "{cdr}");
    assert_eq!(cdr["digits"], "0", "{cdr}");
    assert!(cdr["agent"].is_null(), "nobody answered: {cdr}");
    assert!(cdr["agent_answer_ms"].is_null(), "{cdr}");
    assert!(cdr["queued_ms"].is_u64(), "{cdr}");
    assert!(
        cdr["end_cause"].as_str().is_some_and(|c| !c.is_empty()),
        "{cdr}"
    );
    // The agent comes back and must not be offered the abandoned contact.
    let (status, body) =
        events::http_post(server.http, "/api/agents/1001/ready", "{}").expect("POST ready");
    assert_eq!(status, 200, "ready: {body}");
    assert!(
        agent.expect_invite(Duration::from_secs(2)).is_err(),
        "the abandoned contact was offered to the agent"
    );
    wait_agent(&server, "1001", "available", "idle");
}

/// Waits for the first INVITE among `agents`; returns its index.
fn first_invited(agents: &mut [&mut Agent]) -> usize {
    let deadline = std::time::Instant::now() + STEP;
    while std::time::Instant::now() < deadline {
        for (i, a) in agents.iter_mut().enumerate() {
            if a.expect_invite(Duration::from_millis(100)).is_ok() {
                return i;
            }
        }
    }
    panic!("no agent was invited within {STEP:?}");
}

#[test]
fn agent_rejects_with_486_and_the_next_agent_answers() {
    let server = start("relay");
    let mut a1 = registered(&server, "1001", "demo1001");
    let mut a2 = registered(&server, "1002", "demo1002");
    let (mut caller, softacd_media) = call_and_press_0(&server);
    let first = first_invited(&mut [&mut a1, &mut a2]);
    let (busy, next, next_id) = if first == 0 {
        (&mut a1, &mut a2, "1002")
    } else {
        (&mut a2, &mut a1, "1001")
    };
    busy.reject(486).expect("486 Busy Here");
    busy.expect_ack(STEP).expect("ACK for the 486");
    // Back to the queue, then the other agent gets the call.
    next.expect_invite(STEP)
        .expect("INVITE to the second agent");
    next.ring().expect("180");
    next.answer().expect("200");
    next.expect_ack(STEP)
        .expect("ACK for the second agent's 200");
    let _ = next.leg.media.talk(Duration::from_millis(400));
    let heard = caller
        .leg
        .media
        .recv_rtp_until(STEP, |s| s.with_fill(AGENT_FILL).count() >= 5)
        .with_fill(AGENT_FILL);
    assert!(
        heard.count() >= 5,
        "caller heard {} agent frames",
        heard.count()
    );
    assert_eq!(heard.sources(), [softacd_media].into());
    assert!(
        !caller.leg.seen_methods().contains(&Method::Bye),
        "the caller stayed up through the reject"
    );
    caller.bye().expect("caller BYE");
    next.expect_request(Method::Bye, STEP)
        .expect("BYE to the agent");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["agent"], next_id, "{cdr}");
    // Neither agent is left busy (the rejecting one may be not-ready, never stuck).
    wait_agent(&server, next_id, "available", "idle");
    let busy_id = if next_id == "1001" { "1002" } else { "1001" };
    let all = agents(&server);
    let (_, state) = events::agent_status_state(events::agent(&all, busy_id).expect("agent"));
    assert_eq!(state, "idle", "agent {busy_id} after its 486: {all:?}");
}
