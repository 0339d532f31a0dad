//! Issue 6 "self-healing", end to end: a real `softacd run` on a temp
//! SQLite file and fixed loopback ports, SIPp as the caller and as seat
//! 1001's phone. Seats sign in over HTTP (no auto-ready), seat 1002 goes on
//! a break with a reason, a call reaches seat 1001 — and the SoftACD is
//! killed with SIGKILL in the middle of the call. Started again on the same
//! data dir, it must:
//!
//! 1. rebuild the agents from the CTI journal: 1001 signed in on the same
//!    device, available and idle; 1002 not ready, reason `lunch`; nobody
//!    reserved, ringing or in call;
//! 2. BYE both legs of the call it died under (from its `live_legs` table,
//!    RFC 3261 §15.1.1): the caller's SIPp and the phone's SIPp each receive
//!    a BYE for their dialog and answer 200 (their scenarios fail otherwise);
//! 3. close the interrupted call's CDR with `end_cause` `server_restart`,
//!    and list the restart in `GET /api/cti/events`;
//! 4. route a new call to 1001 (on its new phone) and complete it.
//!
//! A SIGTERM restart after that keeps the agents too.

mod common;
mod ua;

use common::{free_port, poll_until, sipp, spawn_seat_phone, TestServer};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::thread::{self, JoinHandle};
use std::time::Duration;
use ua::events;

const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// The default test config on fixed ports (a restarted server must be
/// where the phones left it) with every seat signing in from the desk.
fn config(data_dir: &Path, sip: u16, http: u16) -> String {
    let cfg = TestServer::default_config(data_dir);
    let (udp, tcp, listen) = (
        "udp = [\"127.0.0.1:0\"]",
        "tcp = [\"127.0.0.1:0\"]",
        "listen = \"127.0.0.1:0\"",
    );
    assert!(
        cfg.contains(udp) && cfg.contains(tcp) && cfg.contains(listen),
        "default test config changed:\n{cfg}"
    );
    cfg.replace(udp, &format!("udp = [\"127.0.0.1:{sip}\"]"))
        .replace(tcp, &format!("tcp = [\"127.0.0.1:{sip}\"]"))
        .replace(listen, &format!("listen = \"127.0.0.1:{http}\""))
        .replace("auto_ready = true", "auto_ready = false")
}

fn agents(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.http_get("/api/agents");
    events::json_array("GET /api/agents", status, &body)
}

fn agent(server: &TestServer, id: &str) -> Value {
    let all = agents(server);
    events::agent(&all, id)
        .cloned()
        .unwrap_or_else(|| panic!("seat {id} missing from /api/agents: {all:?}"))
}

fn post(server: &TestServer, path: &str, body: &str) {
    let (status, answer) =
        events::http_post(server.http, path, body).unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert_eq!(status, 200, "POST {path}: {answer}");
}

fn wait_agent(server: &TestServer, id: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    poll_until(WAIT, POLL, || {
        let a = agent(server, id);
        ok(&a).then_some(a)
    })
    .unwrap_or_else(|| panic!("{what}: agent {id} is {}", agent(server, id)))
}

fn wait_registered(server: &TestServer, seat: &str, except: Option<&str>) -> String {
    poll_until(WAIT, POLL, || {
        server.bindings_of(seat).iter().find_map(|b| {
            let c = b.get("contact")?.as_str()?.to_owned();
            (Some(c.as_str()) != except).then_some(c)
        })
    })
    .unwrap_or_else(|| panic!("seat {seat}'s phone never registered"))
}

fn cdr(server: &TestServer, contact: u64) -> Value {
    poll_until(WAIT, POLL, || {
        let (status, body) = server.http_get("/api/calls?limit=20");
        events::json_array("GET /api/calls", status, &body)
            .into_iter()
            .find(|c| c["contact_id"].as_u64() == Some(contact))
    })
    .unwrap_or_else(|| panic!("no CDR for contact {contact}"))
}

/// Every seat as (status, state, reason).
fn seats(server: &TestServer) -> Vec<(String, String, String, String)> {
    agents(server)
        .iter()
        .map(|a| {
            let (status, state) = events::agent_status_state(a);
            let reason = a
                .pointer("/status/reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let id = a["id"].as_str().unwrap_or_default().to_owned();
            (id, status, state, reason)
        })
        .collect()
}

fn row(id: &str, status: &str, state: &str, reason: &str) -> (String, String, String, String) {
    (id.into(), status.into(), state.into(), reason.into())
}

fn joined(what: &str, h: JoinHandle<Output>) -> Output {
    match h.join() {
        Ok(out) => out,
        Err(_) => panic!("{what}: the SIPp run failed (see its panic above)"),
    }
}

#[test]
fn sigkill_mid_call_rebuilds_agents_byes_both_legs_and_closes_the_cdr() {
    let (sip, http) = (free_port(), free_port());
    let server = TestServer::start_with_config(|d| config(d, sip, http));

    // Seat 1001 signs in on its SIPp phone; seat 1002 on another device, then a break.
    let phone = spawn_seat_phone(&server, "1001", "agent_uas.xml", "u1");
    let old_device = wait_registered(&server, "1001", None);
    post(&server, "/api/agents/1001/sign-in", "{}");
    post(
        &server,
        "/api/agents/1002/sign-in",
        r#"{"device":"sip:1002@127.0.0.1:9","skills":{"support":3,"billing":7}}"#,
    );
    post(
        &server,
        "/api/agents/1002/not-ready",
        r#"{"reason":"lunch"}"#,
    );

    // A caller reaches 1001 and stays on the line.
    let udp = server.udp;
    let caller = thread::spawn(move || {
        sipp(
            "call/caller_agent_until_restart.xml",
            "u1",
            udp,
            &["-timeout", "90s"],
        )
    });
    let busy = wait_agent(&server, "1001", "call reaches 1001", |a| {
        a.pointer("/state/state") == Some(&Value::from("in_call"))
    });
    let contact = busy
        .pointer("/contact/contact")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("in-call agent without its contact: {busy}"));

    // Crash.
    let dir = server.kill_keeping_files();
    let server = TestServer::restart_in(dir);

    // 1. Agents rebuilt, nobody stuck.
    assert_eq!(
        seats(&server),
        vec![
            row("1001", "available", "idle", ""),
            row("1002", "not_ready", "idle", "lunch"),
            row("1003", "logged_out", "idle", ""),
        ]
    );
    assert_eq!(agent(&server, "1001")["device"], old_device.as_str());
    assert_eq!(agent(&server, "1002")["device"], "sip:1002@127.0.0.1:9");
    assert_eq!(
        agent(&server, "1001")["skills"],
        serde_json::json!({"support": 5})
    );
    assert_eq!(
        agent(&server, "1002")["skills"],
        serde_json::json!({"support": 3, "billing": 7})
    );

    // 2. Both legs of the dead call got a BYE (each SIPp scenario requires it).
    joined("caller", caller);
    joined("seat 1001's phone", phone);

    // 3. The interrupted call's record is closed with the restart cause.
    let rec = cdr(&server, contact);
    assert_eq!(rec["end_cause"], "server_restart", "{rec}");
    assert_eq!(rec["agent"], "1001", "{rec}");
    assert_eq!(rec["queue"], "support", "{rec}");
    assert!(rec["agent_answer_ms"].as_u64().is_some(), "{rec}");
    assert!(
        rec["end_ms"].as_u64() >= rec["agent_answer_ms"].as_u64(),
        "{rec}"
    );
    let (status, body) = server.http_get("/api/cti/events?after=0&limit=1000");
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).expect("JSON");
    let rows = page["events"].as_array().expect("events array");
    // The first start wrote a mark too (closing nothing); the restart's is the last.
    let restarted = rows
        .iter()
        .rev()
        .find(|r| r["kind"] == "restarted")
        .unwrap_or_else(|| panic!("no restart in the journal: {body}"));
    assert_eq!(restarted["entry"]["closed"], serde_json::json!([contact]));
    assert!(rows.iter().any(
        |r| r["kind"] == "contact_answered" && r["entry"]["contact"].as_u64() == Some(contact)
    ));
    assert!(
        rows.windows(2)
            .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64()),
        "rows in seq order"
    );

    // 4. A new call routes to 1001 on its new phone and completes.
    let phone = spawn_seat_phone(&server, "1001", "agent_uas.xml", "u1");
    wait_registered(&server, "1001", Some(&old_device));
    post(&server, "/api/agents/1001/sign-in", "{}");
    sipp(
        "call/caller_menu_agent_info_dtmf.xml",
        "u1",
        server.udp,
        &[],
    );
    joined("seat 1001's new phone", phone);
    let (status, body) = server.http_get("/api/calls?limit=1");
    let newest = events::json_array("GET /api/calls", status, &body);
    let newest = newest.first().expect("the new call's CDR");
    assert!(newest["contact_id"].as_u64() > Some(contact), "{newest}");
    assert_eq!(newest["end_cause"], "normal_clearing", "{newest}");
    assert_eq!(newest["agent"], "1001", "{newest}");

    // A graceful restart keeps the agents too (1001 may have been in wrap-up).
    wait_agent(&server, "1001", "wrap-up over", |a| {
        a.pointer("/state/state") == Some(&Value::from("idle"))
    });
    let (status, dir) = server.stop_keeping_files();
    assert!(status.success(), "SIGTERM exit: {status}");
    let server = TestServer::restart_in(dir);
    assert_eq!(
        seats(&server),
        vec![
            row("1001", "available", "idle", ""),
            row("1002", "not_ready", "idle", "lunch"),
            row("1003", "logged_out", "idle", ""),
        ]
    );
}

/// `GET /api/cti/events` pages through the journal by `seq` and refuses a
/// bad `limit` or `after` with a JSON 400.
#[test]
fn the_journal_pages_by_seq_and_refuses_bad_queries() {
    let (sip, http) = (free_port(), free_port());
    let server = TestServer::start_with_config(|d| config(d, sip, http));
    post(
        &server,
        "/api/agents/1002/sign-in",
        r#"{"device":"sip:1002@127.0.0.1:9"}"#,
    );
    post(
        &server,
        "/api/agents/1002/not-ready",
        r#"{"reason":"lunch"}"#,
    );
    post(&server, "/api/agents/1002/ready", "{}");
    let all = poll_until(WAIT, POLL, || {
        let (_, body) = server.http_get("/api/cti/events?limit=1000");
        let v: Value = serde_json::from_str(&body).ok()?;
        let n = v["events"].as_array()?.len();
        (n >= 4).then_some(v)
    })
    .expect("restart mark and three agent entries journaled");
    let rows = all["events"].as_array().expect("events");
    let kinds: Vec<&str> = rows.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"restarted"), "{kinds:?}");
    let statuses: Vec<&str> = rows
        .iter()
        .filter(|r| r["kind"] == "agent")
        .filter_map(|r| r["entry"]["status"]["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["available", "not_ready", "available"]);

    let first = rows[0]["seq"].as_u64().expect("seq");
    let (status, body) = server.http_get(&format!("/api/cti/events?after={first}&limit=2"));
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).expect("JSON");
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|r| r["seq"].as_u64())
        .collect();
    assert_eq!(seqs.len(), 2);
    assert!(seqs[0] > first && seqs[0] < seqs[1], "{seqs:?}");
    assert_eq!(page["next_after"].as_u64(), Some(seqs[1]));

    for bad in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "after=-1",
        "after=99999999999999999999",
    ] {
        let (status, body) = server.http_get(&format!("/api/cti/events?{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
        let v: Value = serde_json::from_str(&body).expect("JSON error");
        assert_eq!(v["status"], 400, "{bad}: {body}");
    }
}
