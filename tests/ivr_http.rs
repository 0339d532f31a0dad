//! The http node live (issue 5, the seed's interface D): calls to service 102
//! run `ivr-scripts/vip.toml` on a real `softacd run`, whose IVR looks the
//! caller up on a small HTTP server the test starts on 127.0.0.1. The caller
//! is SIPp (`sip-tests/call/caller_vip_*.xml`, its number set with
//! `-key caller`), the agent's phone SIPp too (seat 1001, `agent_uas.xml`).
//!
//! - a VIP (the server answers `{"customer": {"vip": true}}`) is queued in
//!   the `vip` queue without pressing a key and reaches the agent;
//! - a caller who is not a VIP gets the demo menu: key 0, queue `support`;
//! - with the HTTP server down the lookup fails and the call falls back to
//!   queue `support` at once, no key pressed.
//!
//! Each test asserts the call detail record (queue, digits, agent, DNIS 102)
//! and what the HTTP server saw (`GET /customers/<caller's number>`).

mod common;

use common::{free_port, poll_until, sipp, spawn_seat_phone, TestServer};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

const CDR_WAIT: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(100);
const VIP: &str = "5551000";
const REGULAR: &str = "5552000";

// ---------------------------------------------------------------------------
// The application server: a CRM answering GET /customers/NUMBER
// ---------------------------------------------------------------------------

/// Request lines the CRM received, e.g. `GET /customers/5551000 HTTP/1.1`.
type Seen = Arc<Mutex<Vec<String>>>;

/// Starts the CRM on 127.0.0.1:0; returns its port and what it sees. The
/// thread serves until the test process ends (bounded: one accept at a time).
fn start_crm() -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    thread::spawn(move || {
        for stream in listener.incoming().take(100) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let line = text.lines().next().unwrap_or("").to_owned();
            let vip = line.starts_with(&format!("GET /customers/{VIP} "));
            let body = format!(r#"{{"customer": {{"vip": {vip}, "name": "test"}}}}"#);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            if let Ok(mut seen) = log.lock() {
                seen.push(line);
            }
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (port, seen)
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    l.local_addr().map(|a| a.port()).unwrap_or(0)
}

// ---------------------------------------------------------------------------
// The server: the test config plus service 102 and the shipped vip flow
// pointed at the CRM
// ---------------------------------------------------------------------------

fn config_with_vip(data_dir: &Path, crm_port: u16) -> String {
    let scripts = data_dir.parent().unwrap_or(data_dir).join("scripts");
    std::fs::create_dir_all(&scripts).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| {
        std::fs::read_to_string(repo.join("ivr-scripts").join(name))
            .unwrap_or_else(|e| panic!("ivr-scripts/{name}: {e}"))
    };
    let base = "base = \"http://127.0.0.1:8099\"";
    let vip = read("vip.toml");
    assert!(vip.contains(base), "vip.toml lost its base URL line");
    let vip = vip.replacen(base, &format!("base = \"http://127.0.0.1:{crm_port}\""), 1);
    let write = |name: &str, text: &str| {
        std::fs::write(scripts.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    write("vip.toml", &vip);
    write("main.toml", &read("main.toml"));
    let media = repo.join("media");
    TestServer::default_config(data_dir)
        + &format!(
            "\n[ivr]\nscripts_dir = \"{}\"\n\n[media]\ndir = \"{}\"\n\n[[service]]\nnumber = \"102\"\nscript = \"vip\"\n\n[[queue]]\nname = \"vip\"\nwrap_up_s = 1\n",
            scripts.display(),
            media.display()
        )
}

// ---------------------------------------------------------------------------
// Views and peers
// ---------------------------------------------------------------------------

fn json_array(server: &TestServer, path: &str) -> Vec<Value> {
    let (status, body) = server.http_get(path);
    assert_eq!(status, 200, "GET {path}: {body}");
    match serde_json::from_str::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        other => panic!("GET {path}: expected a JSON array, got {other:?}"),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The one CDR: queue, digits, agent 1001 answered, DNIS 102.
fn assert_cdr(server: &TestServer, queue: &str, digits: &str) {
    let cdrs = poll_until(CDR_WAIT, POLL_EVERY, || {
        let cdrs = json_array(server, "/api/calls");
        (!cdrs.is_empty()).then_some(cdrs)
    })
    .unwrap_or_else(|| panic!("no CDR within {CDR_WAIT:?}"));
    assert_eq!(cdrs.len(), 1, "one call, one CDR: {cdrs:?}");
    let cdr = &cdrs[0];
    assert_eq!(text(cdr, "dnis"), Some("102"), "dnis: {cdr}");
    assert_eq!(text(cdr, "queue"), Some(queue), "queue: {cdr}");
    assert_eq!(text(cdr, "digits"), Some(digits), "digits: {cdr}");
    assert_eq!(text(cdr, "agent"), Some("1001"), "agent: {cdr}");
    let answered = cdr.get("agent_answer_ms").is_some_and(|v| !v.is_null());
    assert!(answered, "the agent answered: {cdr}");
    assert_eq!(text(cdr, "end_cause"), Some("normal_clearing"), "{cdr}");
}

/// Seat 1001's phone in the background, signed in and ready when returned.
fn start_phone(server: &TestServer) -> JoinHandle<std::process::Output> {
    let user = "1001";
    let run = spawn_seat_phone(server, user, "agent_uas.xml", "u1");
    let ready = poll_until(Duration::from_secs(10), POLL_EVERY, || {
        if run.is_finished() {
            return Some(false);
        }
        let agents = json_array(server, "/api/agents");
        let me = agents.iter().find(|a| text(a, "id") == Some(user))?;
        let status = me.get("status").and_then(|s| text(s, "status"));
        let state = me.get("state").and_then(|s| text(s, "state"));
        (status == Some("available") && state == Some("idle")).then_some(true)
    });
    assert_eq!(ready, Some(true), "seat {user} not ready");
    run
}

/// One call from `number` with `scenario`, an agent answering.
fn call(server: &TestServer, scenario: &str, number: &str) {
    let phone = start_phone(server);
    let mp = free_port().to_string();
    sipp(
        &format!("call/{scenario}"),
        "u1",
        server.sip_addr("u1"),
        &["-mp", &mp, "-timeout", "30s", "-key", "caller", number],
    );
    if let Err(panic) = phone.join() {
        std::panic::resume_unwind(panic);
    }
}

fn seen_lines(seen: &Seen) -> Vec<String> {
    seen.lock().map(|s| s.clone()).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The three paths of vip.toml
// ---------------------------------------------------------------------------

#[test]
fn vip_caller_is_looked_up_and_reaches_the_agent_through_the_vip_queue() {
    let (crm, seen) = start_crm();
    let server = TestServer::start_with_config(|d| config_with_vip(d, crm));
    call(&server, "caller_vip_agent.xml", VIP);
    assert_cdr(&server, "vip", "");
    assert_eq!(
        seen_lines(&seen),
        vec![format!("GET /customers/{VIP} HTTP/1.1")]
    );
}

#[test]
fn regular_caller_is_looked_up_then_takes_the_menu_to_support() {
    let (crm, seen) = start_crm();
    let server = TestServer::start_with_config(|d| config_with_vip(d, crm));
    call(&server, "caller_vip_menu_agent.xml", REGULAR);
    assert_cdr(&server, "support", "0");
    assert_eq!(
        seen_lines(&seen),
        vec![format!("GET /customers/{REGULAR} HTTP/1.1")]
    );
}

#[test]
fn with_the_application_server_down_the_call_falls_back_to_support() {
    let down = closed_port();
    let server = TestServer::start_with_config(|d| config_with_vip(d, down));
    call(&server, "caller_vip_agent.xml", VIP);
    assert_cdr(&server, "support", "");
}
