//! The queue node's extensions live (issue 5), against the real `softacd
//! run` binary with in-process Rust UAs on loopback (tests/ua): the flow
//! first asks for a senior agent (`support:9`, above the seats' level 5),
//! so seat 1001 is not offered the call; after `max_wait_s` the IVR leaves
//! the CTI queue (interface B `LeaveQueue`) and overflows to a queue node
//! asking for `support:5`, and the agent's phone rings. Pressing the
//! callback key during the hold instead leaves the queue for `on_callback`:
//! the caller hears the thank-you and is released, and no agent rings.
//! With `announce_every_s` the IVR asks the CTI for the caller's place in
//! line (`QueryPosition`) and speaks the answer (`QueuePosition`).

mod common;
mod ua;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use softacd::sip::Method;

use common::{poll_until, TestServer};
use ua::config::flow_config;
use ua::events;
use ua::{Agent, Caller};

const STEP: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_secs(10);
/// The senior queue node's `max_wait_s`.
const MAX_WAIT: Duration = Duration::from_secs(2);

const FLOW: &str = r#"name = "main"
start = "senior"

[nodes.senior]
type = "queue"
queue = "support"
skills = ["support:9"]
hold_music = "hold"
on_timeout = "bye"
max_wait_s = 2
on_overflow = "anyone"
callback_key = "1"
on_callback = "thanks"

[nodes.anyone]
type = "queue"
queue = "support"
skills = ["support:5"]
hold_music = "hold"
on_timeout = "bye"

[nodes.thanks]
type = "play"
prompts = ["thank-you"]
interruptible = false
next = "bye"

[nodes.bye]
type = "hangup"
cause = "normal"
"#;

/// The call-flow config with service 100 running [`FLOW`] from a scripts
/// directory of its own (seats hold `support` at the default level 5).
fn start(flow: &str) -> TestServer {
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

/// `flow` starting with a welcome prompt before the queue: the SoftACD
/// ignores a RequestAgent that overtakes the caller's ACK, which a flow
/// starting with a queue can do on a loaded machine.
fn with_welcome(flow: &str) -> String {
    let flow = flow.replacen("start = \"senior\"", "start = \"hello\"", 1);
    assert!(flow.contains("start = \"hello\""));
    flow + "[nodes.hello]\ntype = \"play\"\nprompts = [\"welcome\"]\nnext = \"senior\"\n"
}

fn agents(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.http_get("/api/agents");
    events::json_array("GET /api/agents", status, &body)
}

fn registered(server: &TestServer) -> Agent {
    let agent = Agent::register(server.udp, "1001", "demo1001")
        .unwrap_or_else(|e| panic!("seat 1001 could not register: {e}"));
    let idle = poll_until(STEP, Duration::from_millis(100), || {
        let all = agents(server);
        let a = events::agent(&all, "1001")?;
        (events::agent_status_state(a) == ("available".into(), "idle".into())).then_some(())
    });
    assert!(idle.is_some(), "1001 never idle: {:?}", agents(server));
    agent
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

/// Dials 100 and waits for the hold music; returns the caller and when the
/// call was answered.
fn call_and_hear_hold(server: &TestServer) -> (Caller, Instant) {
    let mut caller = Caller::new(server.udp, "5550002").expect("caller UA");
    let offer = caller.offer();
    let ok = caller
        .invite("100", Some(offer), STEP)
        .unwrap_or_else(|e| panic!("INVITE to 100: {e}"));
    assert_eq!(ok.code, 200, "INVITE 100 answered {}", ok.code);
    let answered = Instant::now();
    let hold = caller.recv_rtp(STEP, 10);
    assert!(hold.count() >= 10, "hold music: {} packets", hold.count());
    (caller, answered)
}

#[test]
fn no_senior_agent_within_max_wait_overflows_to_a_level_5_agent() {
    let server = start(&with_welcome(FLOW));
    let mut agent = registered(&server);
    let (mut caller, answered) = call_and_hear_hold(&server);
    // Only the overflow's request (support:5) can reach seat 1001.
    let invite = agent.expect_invite(STEP).expect("INVITE to agent 1001");
    let waited = answered.elapsed();
    assert!(
        waited >= MAX_WAIT,
        "the agent rang after {waited:?}, before the senior wait of {MAX_WAIT:?} was over"
    );
    assert!(!invite.body.is_empty(), "the agent is offered SDP");
    agent.ring().expect("180");
    agent.answer().expect("200");
    agent.expect_ack(STEP).expect("ACK for the agent's 200");
    caller.bye().expect("caller BYE");
    agent
        .expect_request(Method::Bye, STEP)
        .expect("BYE to the agent");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["agent"], "1001", "{cdr}");
    assert_eq!(cdr["queue"], "support", "{cdr}");
}

#[test]
fn callback_key_during_the_hold_leaves_the_queue_without_an_agent() {
    let server = start(FLOW);
    let mut agent = registered(&server);
    let (mut caller, _) = call_and_hear_hold(&server);
    caller.send_dtmf('1').expect("DTMF 1");
    // on_callback: thank-you, then the flow hangs up; the SoftACD BYEs the caller.
    caller
        .expect_request(Method::Bye, STEP)
        .expect("BYE after the thank-you");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["digits"], "1", "{cdr}");
    assert!(cdr["agent"].is_null(), "no agent took the call: {cdr}");
    // Past the senior wait: nothing rings the agent (the flow left the queue).
    assert!(
        agent
            .expect_invite(MAX_WAIT + Duration::from_millis(500))
            .is_err(),
        "the agent was offered a call that left the queue"
    );
}

#[test]
fn place_in_line_comes_from_the_cti_and_is_announced() {
    let flow = with_welcome(&FLOW.replacen(
        "max_wait_s = 2\n",
        "max_wait_s = 60\nannounce_every_s = 10\n",
        1,
    ));
    assert!(flow.contains("announce_every_s = 10"));
    let server = start(&flow);
    // Seat 1001 (support level 5) is signed in but below the senior level 9.
    let _agent = registered(&server);
    let (mut caller, _) = call_and_hear_hold(&server);
    // Nobody else waits: the caller is first in line at the 10 s mark.
    let said = poll_until(STEP + STEP, Duration::from_millis(200), || {
        let log = server.stderr_tail(200_000);
        log.contains("queue senior: caller number 1").then_some(())
    });
    assert!(
        said.is_some(),
        "no position announcement in the log: {}",
        server
            .stderr_tail(200_000)
            .lines()
            .filter(|l| l.contains("ivr") && !l.contains("sqlx"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The announcement is audio, then the hold music again.
    let after = caller.recv_rtp(STEP, 25);
    assert!(
        after.count() >= 25,
        "media after the announcement: {}",
        after.count()
    );
    caller.bye().expect("caller BYE");
}
