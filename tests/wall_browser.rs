//! The supervisor wall in a real browser (issue 6), end to end: softacd on
//! free loopback ports with a temp data dir and two configured queues, and
//! the `/wall` page in the system Chromium driven by
//! `tests/browser/wall.spec.mjs` (playwright-core, installed by
//! scripts/install-deps.sh).
//!
//! Admin auth is on (a supervisor and an admin token configured): every run
//! first signs in at the page's form, a wrong password first (error shown),
//! then the right one.
//!
//! The flow: the wall lists both queues with nobody waiting, nothing
//! offered or abandoned, and charts from `GET /api/stats/history`; agent
//! 1002 signs in and gets ready over `POST /api/agents/…` (admin token) and the agents table
//! shows it available / idle; it takes a break "lunch" and the table shows
//! the reason; the API failing shows the error banner until it answers
//! again.
//! `a_sipp_caller_…`: a SIPp caller dials 100, presses 0 and waits in queue
//! `support` with no agent signed in; the wall shows waiting 1, then 0 when
//! the queue's max wait (12 s) says goodbye.
//! `abandoned_and_answered_…`: a SIPp caller hangs up while queued (after
//! the 1 s short-abandon threshold) and the wall shows abandoned 1 and no
//! service level; then seat 1001's SIPp phone registers and a second caller
//! is answered: answered 1, service level 100%, the service-level chart at
//! 100, all still there after a page reload.

mod common;

use common::{free_port, poll_until, sipp, spawn_seat_phone, wait_output, TestServer};
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

const SUPERVISOR: &str = "sue";
const SUPERVISOR_PASSWORD: &str = "sue-wall-pw";
const TOKEN: &str = "wall-test-admin-token";

/// The default test config (queue `support`) with a second queue `sales`,
/// admin auth (supervisor [`SUPERVISOR`], admin token [`TOKEN`]) and a 1 s
/// short-abandon threshold.
fn two_queue_config(data_dir: &Path) -> String {
    use softacd::http::desk::password::hash;
    let mut cfg = TestServer::default_config(data_dir);
    let hashes = (hash(SUPERVISOR_PASSWORD), hash(TOKEN));
    let (Ok(sup), Ok(token)) = hashes else {
        panic!("cannot hash the test credentials: {hashes:?}");
    };
    for (anchor, extra) in [
        (
            "listen = \"127.0.0.1:0\"\n",
            format!("admin_token_hash = \"{token}\"\n"),
        ),
        ("ring_timeout_s = 8\n", "short_abandon_s = 1\n".to_string()),
    ] {
        assert!(cfg.contains(anchor), "the test config lost {anchor:?}");
        cfg = cfg.replacen(anchor, &format!("{anchor}{extra}"), 1);
    }
    cfg.push_str("\n[[queue]]\nname = \"sales\"\nwrap_up_s = 5\n");
    cfg.push_str(&format!(
        "\n[[supervisors]]\nid = \"{SUPERVISOR}\"\npassword_hash = \"{sup}\"\n"
    ));
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
        .env("WALL_USER", SUPERVISOR)
        .env("WALL_PASSWORD", SUPERVISOR_PASSWORD)
        .env("WALL_TOKEN", TOKEN)
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
        "wall: wrong password refused",
        "wall: signed in as sue (supervisor)",
        "wall: queues listed",
        "wall: agent available",
        "wall: agent on break",
        "wall: error banner shown",
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

/// The spec's stdout, line by line, read on a thread.
struct SpecLines {
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    deadline: Instant,
}

impl SpecLines {
    fn new(child: &mut Child) -> SpecLines {
        let (tx, lines) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        SpecLines {
            lines,
            seen: Vec::new(),
            deadline: Instant::now() + SPEC_TIMEOUT,
        }
    }

    /// Reads until a line starting with `prefix` (an event of the page).
    fn wait_for(&mut self, prefix: &str, server: &TestServer) {
        while !self.seen.iter().any(|l| l.starts_with(prefix)) {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "the wall never printed {prefix:?}: {:#?}\n--- softacd stderr ---\n{}",
                    self.seen,
                    server.stderr_tail(6000)
                ),
            }
        }
    }

    /// Every line up to the end of the spec's output.
    fn rest(mut self) -> String {
        let left = self.deadline.saturating_duration_since(Instant::now());
        while let Ok(line) = self.lines.recv_timeout(left) {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

/// GET `path` as JSON.
fn get_json(server: &TestServer, path: &str) -> serde_json::Value {
    let (status, body) = server.http_get(path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

#[test]
fn abandoned_and_answered_callers_move_the_service_level_on_the_wall_in_chromium() {
    let server = TestServer::start_with_config(two_queue_config);
    let target = server.udp;
    let mut child = spawn_spec(&server, "service");
    let mut spec = SpecLines::new(&mut child);
    spec.wait_for("wall: watching support, nothing abandoned", &server);

    // 1. A caller presses 0 and hangs up ~2.5 s later, nobody signed in.
    let mp = free_port().to_string();
    let out = sipp(
        "call/caller_hangup_queued.xml",
        "u1",
        target,
        &["-mp", &mp, "-timeout", "30s"],
    );
    assert!(out.status.success(), "SIPp abandoning caller: {out:?}");
    spec.wait_for("wall: abandoned 1", &server);

    // 2. Seat 1001's phone registers (auto-ready), a second caller is answered.
    let phone = spawn_seat_phone(&server, "1001", "agent_uas.xml", "u1");
    let ready = poll_until(Duration::from_secs(20), Duration::from_millis(100), || {
        let agents = get_json(&server, "/api/agents");
        let a = agents
            .as_array()?
            .iter()
            .find(|a| a["id"] == "1001")?
            .clone();
        (a["status"]["status"] == "available" && a["state"]["state"] == "idle").then_some(a)
    });
    assert!(ready.is_some(), "seat 1001 never became ready");
    let mp = free_port().to_string();
    let out = sipp(
        "call/caller_menu_agent.xml",
        "u1",
        target,
        &["-mp", &mp, "-timeout", "30s"],
    );
    assert!(out.status.success(), "SIPp answered caller: {out:?}");

    let stdout = spec.rest();
    let out = wait_output(child, Duration::from_secs(5)).expect("the wall spec exited");
    eprintln!("browser spec:\n{stdout}");
    assert!(
        out.status.success(),
        "wall spec exited with {}:\n{stdout}\n{}\n--- softacd stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        server.stderr_tail(6000)
    );
    for step in [
        "wall: wrong password refused",
        "wall: signed in as sue (supervisor)",
        "wall: abandoned 1, service level —",
        "wall: answered 1, service level 100%, chart last point 100",
        "wall: after reload: still signed in",
        "wall: done",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(step)),
            "missing {step:?}"
        );
    }

    // What the page showed is what the API holds.
    let queues = get_json(&server, "/api/queues");
    let support = queues
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["name"] == "support"))
        .cloned()
        .expect("queue support");
    assert_eq!(
        (
            &support["offered"],
            &support["answered"],
            &support["abandoned"],
            &support["service_level_pct"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(100.0)
        ),
        "{support}"
    );
    let history = get_json(&server, "/api/stats/history?minutes=5");
    let minutes = history["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["name"] == "support"))
        .and_then(|q| q["minutes"].as_array().cloned())
        .expect("support's minutes");
    let sum = |k: &str| minutes.iter().filter_map(|m| m[k].as_u64()).sum::<u64>();
    assert_eq!(
        (sum("offered"), sum("answered"), sum("abandoned")),
        (2, 1, 1)
    );
    match phone.join() {
        Ok(out) => assert!(out.status.success(), "SIPp seat phone failed: {out:?}"),
        Err(p) => std::panic::resume_unwind(p),
    }
}
