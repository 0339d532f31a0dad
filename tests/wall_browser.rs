//! The supervisor wall in a real browser (issue 6), end to end: softacd on
//! free loopback ports with a temp data dir and two configured queues, and
//! the `/wall` page in the system Chromium driven by
//! `tests/browser/wall.spec.mjs` (playwright-core, installed by
//! scripts/install-deps.sh).
//!
//! The flow: the wall lists both queues with nobody waiting; agent 1002
//! signs in and gets ready over `POST /api/agents/…` and the agents table
//! shows it available / idle; it takes a break "lunch" and the table shows
//! the reason; the API failing shows the error banner until it answers
//! again; after ten seconds every queue's chart holds a second point.
//! `a_sipp_caller_…`: a SIPp caller dials 100, presses 0 and waits in queue
//! `support` with no agent signed in; the wall shows waiting 1, then 0 when
//! the queue's max wait (12 s) says goodbye.

mod common;

use common::{free_port, sipp, wait_output, TestServer};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The whole browser run, from launch to the second chart point.
const SPEC_TIMEOUT: Duration = Duration::from_secs(90);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The default test config (queue `support`) with a second queue `sales`.
fn two_queue_config(data_dir: &Path) -> String {
    let mut cfg = TestServer::default_config(data_dir);
    cfg.push_str("\n[[queue]]\nname = \"sales\"\nwrap_up_s = 5\n");
    cfg
}

/// Starts the wall spec in `mode` against `server`, its output piped.
fn spawn_spec(server: &TestServer, mode: &str) -> Child {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in {}: run scripts/install-deps.sh",
        dir.display()
    );
    Command::new("node")
        .arg(dir.join("wall.spec.mjs"))
        .arg(format!("http://{}/wall", server.http))
        .arg("support,sales")
        .arg(mode)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (run scripts/install-deps.sh): {e}"))
}

/// Runs the wall spec in `mode` against `server`; its stdout, after
/// asserting it exited 0.
fn run_spec(server: &TestServer, mode: &str) -> String {
    let child = spawn_spec(server, mode);
    let Some(out) = wait_output(child, SPEC_TIMEOUT) else {
        panic!(
            "the wall spec did not finish in {SPEC_TIMEOUT:?}\n--- softacd stderr ---\n{}",
            server.stderr_tail(6000)
        );
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("browser spec:\n{stdout}");
    assert!(
        out.status.success(),
        "wall spec exited with {}:\n{stdout}\n{}\n--- softacd stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        server.stderr_tail(6000)
    );
    stdout
}

#[test]
fn wall_shows_queues_and_an_agent_going_ready_then_on_break_in_chromium() {
    let server = TestServer::start_with_config(two_queue_config);
    let stdout = run_spec(&server, "agents");
    for step in [
        "wall: queues listed",
        "wall: agent available",
        "wall: agent on break",
        "wall: error banner shown",
        "wall: charts hold a second point",
        "wall: done",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(step)),
            "missing {step:?}"
        );
    }

    // What the page showed is what the API holds.
    let (status, body) = server.http_get("/api/agents");
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""id":"1002","status":{"status":"not_ready","reason":"lunch"}"#),
        "agent 1002 on break in {body}"
    );
}

#[test]
fn wall_page_script_and_style_are_served() {
    let server = TestServer::start_with_config(two_queue_config);
    for (path, needle) in [
        ("/wall", r#"<table id="queues">"#),
        ("/wall/wall.js", "/api/queues"),
        ("/wall/wall.css", "svg.chart"),
    ] {
        let (status, body) = server.http_get(path);
        assert_eq!(status, 200, "GET {path}");
        assert!(body.contains(needle), "GET {path} lacks {needle:?}");
    }
}

#[test]
fn a_sipp_caller_waiting_in_queue_shows_on_the_wall_in_chromium() {
    let server = TestServer::start_with_config(|dir| {
        let anchor = "name = \"support\"\n";
        let cfg = two_queue_config(dir);
        assert!(cfg.contains(anchor), "the test config lost queue support");
        cfg.replacen(anchor, &format!("{anchor}max_wait_s = 12\n"), 1)
    });
    let target = server.udp;
    let mut child = spawn_spec(&server, "caller");
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("piped stdout");
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // The caller dials once the page has seen the queue empty (an event
    // from the spec, not a sleep), so 0 → 1 → 0 is what the page must show.
    let deadline = Instant::now() + SPEC_TIMEOUT;
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.starts_with("wall: watching support"))
    {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "the wall never showed an empty queue: {seen:#?}\n--- softacd stderr ---\n{}",
                server.stderr_tail(6000)
            ),
        }
    }
    let caller = thread::spawn(move || {
        let mp = free_port().to_string();
        sipp(
            "call/caller_queued_until_bye.xml",
            "u1",
            target,
            &["-mp", &mp, "-timeout", "60s"],
        )
    });
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        seen.push(line);
    }
    let out = wait_output(child, Duration::from_secs(5)).expect("the wall spec exited");
    let stdout = seen.join("\n");
    eprintln!("browser spec:\n{stdout}");
    assert!(
        out.status.success(),
        "wall spec exited with {}:\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "wall: watching support, nobody waiting",
        "wall: caller waiting",
        "wall: caller left the queue",
        "wall: done",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(step)),
            "missing {step:?}"
        );
    }
    match caller.join() {
        Ok(out) => assert!(out.status.success(), "SIPp caller failed: {out:?}"),
        Err(p) => std::panic::resume_unwind(p),
    }
}
