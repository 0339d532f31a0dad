//! `GET /api/queues` (issue 6, estimated wait exposed to the API), read
//! from a real server while a real SIP caller waits: the configured AHT
//! seeds the estimate, an available seat makes it finite, a queued caller
//! shows as waiting with a growing longest wait, and the seat that takes the
//! call counts as busy on the queue. Real UDP, real HTTP, real SQLite.

mod common;
mod ua;

use std::time::Duration;

use serde_json::Value;

use common::{poll_until, TestServer};
use ua::config::flow_config;
use ua::events;
use ua::{Agent, Caller};

const STEP: Duration = Duration::from_secs(10);

fn start() -> TestServer {
    TestServer::start_with_config(|d| {
        let cfg = flow_config(d, "relay");
        let with_aht = cfg.replacen(
            "name = \"support\"\n",
            "name = \"support\"\ndefault_aht_s = 120\n",
            1,
        );
        assert_ne!(cfg, with_aht, "queue support not in the test config");
        with_aht
    })
}

fn support(server: &TestServer) -> Value {
    let (status, body) = server.http_get("/api/queues");
    let all = events::json_array("GET /api/queues", status, &body);
    let found = all.into_iter().find(|q| q["name"] == "support");
    found.unwrap_or_else(|| panic!("no queue support in {body}"))
}

/// Polls the snapshot (refreshed every 0.5 s) until `ok` holds.
fn wait_support(server: &TestServer, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let got = poll_until(STEP, Duration::from_millis(100), || {
        let q = support(server);
        ok(&q).then_some(q)
    });
    got.unwrap_or_else(|| panic!("{what}: queue support is {}", support(server)))
}

fn post(server: &TestServer, path: &str, body: &str) {
    let (status, answer) =
        events::http_post(server.http, path, body).unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert_eq!(status, 200, "POST {path}: {answer}");
}

#[test]
fn queue_figures_follow_a_caller_from_waiting_to_an_agent() {
    let server = start();
    let q = wait_support(&server, "empty", |q| q["waiting"] == 0);
    assert_eq!(q["aht_s"], 120, "seeded by default_aht_s: {q}");
    assert!(q["ewt_s"].is_null(), "nobody signed in: {q}");

    let mut agent = Agent::register(server.udp, "1001", "demo1001").expect("seat 1001 registers");
    let q = wait_support(&server, "seat free", |q| q["agents_free"] == 1);
    assert_eq!(q["ewt_s"], 120, "a newcomer: 1 × 120 s / 1 agent: {q}");

    post(
        &server,
        "/api/agents/1001/not-ready",
        r#"{"reason":"break"}"#,
    );
    let mut caller = Caller::new(server.udp, "5550001").expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("100", Some(offer), STEP).expect("INVITE 100");
    assert_eq!(ok.code, 200);
    let _welcome = caller.recv_rtp(STEP, 25);
    caller.send_dtmf('0').expect("DTMF 0");
    let q = wait_support(&server, "caller waits", |q| {
        q["waiting"] == 1 && q["longest_wait_s"].as_u64().is_some_and(|s| s >= 1)
    });
    assert!(q["ewt_s"].is_null(), "the only seat is on break: {q}");
    assert_eq!(
        (&q["agents_free"], &q["agents_busy"]),
        (&0.into(), &0.into())
    );

    post(&server, "/api/agents/1001/ready", "{}");
    agent
        .expect_invite(STEP)
        .expect("the seat is offered the caller");
    let q = wait_support(&server, "seat busy", |q| q["agents_busy"] == 1);
    assert_eq!(
        (&q["waiting"], &q["longest_wait_s"]),
        (&0.into(), &0.into())
    );
    caller.bye().expect("caller BYE");
}
