//! The agent desktop in a real browser (issue 6), end to end: softacd on
//! free loopback ports with a temp data dir and a real SQLite file, seat
//! 1001's phone as a SIPp UAS, a SIPp caller, and the `/desk` page in the
//! system Chromium driven by `tests/browser/desk.spec.mjs` (playwright-core,
//! installed by scripts/install-deps.sh).
//!
//! The call flow (`caller_hangs_up_…`): the agent signs in at /desk as 1001 on the seat's phone
//! (a wrong password first, which is refused), takes a break, gets ready;
//! the caller dials 100 and presses 0; the popup shows the caller; the phone
//! answers and the page shows in-call; the caller hangs up and the page
//! shows wrap-up; the agent picks a disposition, which ends wrap-up, shows
//! the call in today's history and is stored in the CDR row.
//! `agent_hangs_up_…`: the same, but the agent presses Hang up in the call
//! and reloads the page during wrap-up (the disposition form comes back).
//! `blind_transfer_…`: 1002 signs in on a break; 1001's transfer to 1002 is
//! refused (busy), its transfer to queue support BYEs 1001's phone; 1002
//! gets ready, its phone answers and hangs up; 1001 picks a disposition.

mod common;

use common::{desk_config, free_port, poll_until, sipp, spawn_seat_phone, wait_output, TestServer};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The whole browser run, from launch to the disposition.
const SPEC_TIMEOUT: Duration = Duration::from_secs(150);
/// From launch to "signed in and ready".
const READY_TIMEOUT: Duration = Duration::from_secs(60);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `softacd hash-password` for `password` (the CLI the admin uses).
fn hash_password(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_softacd"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn softacd hash-password");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("write password");
    drop(stdin);
    let out = wait_output(child, Duration::from_secs(30)).expect("hash-password hung");
    assert!(out.status.success(), "hash-password failed: {out:?}");
    let phc = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    assert!(phc.starts_with("$argon2id$"), "not a PHC string: {phc}");
    phc
}

/// The browser spec as a child, its stdout lines on a channel.
struct Spec {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Spec {
    fn start(url: &str, mode: &str) -> Spec {
        let dir = browser_dir();
        assert!(
            dir.join("node_modules/playwright-core").is_dir(),
            "playwright-core is not installed in {}: run scripts/install-deps.sh",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("desk.spec.mjs"))
            .arg(url)
            .arg(mode)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node (run scripts/install-deps.sh): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Spec {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one starts with `prefix` (returned) or `deadline`.
    fn wait_line(&mut self, prefix: &str, deadline: Instant) -> Option<String> {
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return Some(line);
                    }
                    if line.starts_with("desk: FAILED") {
                        return None;
                    }
                }
                Err(_) => return None,
            }
        }
    }

    fn fail(mut self, server: &TestServer, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        panic!(
            "{why}\n--- browser spec output ---\n{}\n--- softacd stderr (tail) ---\n{}",
            self.seen.join("\n"),
            server.stderr_tail(6000)
        );
    }
}

/// `SELECT agent, end_cause, disposition FROM cdr WHERE contact_id = N`
/// with the sqlite3 shell on the server's database file.
fn cdr_row(data_dir: &Path, contact: u64) -> String {
    let db = data_dir.join("softacd.sqlite");
    let sql = format!(
        "SELECT agent, end_cause, disposition, IFNULL(agents, '') FROM cdr WHERE contact_id = {contact}"
    );
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg(&db)
        .arg(sql)
        .output()
        .unwrap_or_else(|e| panic!("cannot run sqlite3 (run scripts/install-deps.sh): {e}"));
    assert!(
        out.status.success(),
        "sqlite3 on {} failed: {out:?}",
        db.display()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One call at the desk: `mode` is the spec's mode, `caller` the SIPp
/// caller scenario; returns the call's CDR row (agent|end_cause|disposition).
fn desk_call(mode: &str, caller: &str) -> String {
    desk_call_with(mode, caller, None)
}

/// [`desk_call`]; `second`: seat 1002 signs in from the desk too (password
/// demo1002) and its SIPp phone runs that out-of-call scenario.
fn desk_call_with(mode: &str, caller: &str, second: Option<&str>) -> String {
    let hash = hash_password("demo1001");
    let hash2 = second.map(|_| hash_password("demo1002"));
    let server = TestServer::start_with_config(|dir| {
        let cfg = desk_config(dir, &hash, 120);
        match &hash2 {
            Some(h) => desk_seat_1002(cfg, h),
            None => cfg,
        }
    });
    let phone = spawn_seat_phone(&server, "1001", "agent_uas.xml", "u1");
    let phone2 = second.map(|uas| spawn_seat_phone(&server, "1002", uas, "u1"));
    let seats: &[&str] = if second.is_some() {
        &["1001", "1002"]
    } else {
        &["1001"]
    };
    for seat in seats {
        let registered = poll_until(Duration::from_secs(15), Duration::from_millis(100), || {
            (!server.bindings_of(seat).is_empty()).then_some(())
        });
        assert!(registered.is_some(), "seat {seat}'s phone did not register");
    }

    let url = format!("http://{}/desk", server.http);
    let mut spec = Spec::start(&url, mode);
    let started = Instant::now();
    if spec
        .wait_line("desk: ready", started + READY_TIMEOUT)
        .is_none()
    {
        spec.fail(&server, "the desk did not get signed in and ready");
    }

    let mp = free_port().to_string();
    sipp(
        &format!("call/{caller}"),
        "u1",
        server.udp,
        &["-mp", &mp, "-timeout", "40s"],
    );

    let Some(done) = spec.wait_line("desk: done contact=", started + SPEC_TIMEOUT) else {
        spec.fail(
            &server,
            "the desk did not follow the call to its disposition",
        );
    };
    let contact: u64 = done
        .trim_start_matches("desk: done contact=")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("bad contact in {done:?}"));
    let status = match wait_output_of(&mut spec) {
        Some(s) => s,
        None => spec.fail(&server, "the browser spec did not exit"),
    };
    assert!(
        status.success(),
        "browser spec exited with {status}: {:?}",
        spec.seen
    );
    eprintln!("browser spec:\n{}", spec.seen.join("\n"));
    for phone in std::iter::once(phone).chain(phone2) {
        match phone.join() {
            Ok(out) => assert!(out.status.success(), "seat phone failed: {out:?}"),
            Err(p) => std::panic::resume_unwind(p),
        }
    }
    cdr_row(&server.data_dir, contact)
}

/// Seat 1002 of the test config signs in from the desk (not auto-ready).
fn desk_seat_1002(cfg: String, hash: &str) -> String {
    let seat =
        "user = \"1002\"\npassword = \"demo1002\"\nskills = [\"support\"]\nauto_ready = true\n";
    assert!(cfg.contains(seat), "default test config changed:\n{cfg}");
    let desk = format!(
        "user = \"1002\"\npassword = \"demo1002\"\nskills = [\"support\"]\nauto_ready = false\n\
         agent_password_hash = \"{hash}\"\n"
    );
    cfg.replace(seat, &desk)
}

#[test]
fn caller_hangs_up_and_the_agent_picks_a_disposition_in_chromium() {
    let row = desk_call("caller-hangs-up", "caller_menu_agent.xml");
    assert_eq!(
        row, "1001|normal_clearing|resolved|1001",
        "the CDR row carries the agent's disposition"
    );
}

#[test]
fn agent_hangs_up_from_the_desk_in_chromium() {
    // The caller waits in the call until the SoftACD's BYE, the phone until
    // its BYE: both SIPp scenarios fail unless the desk's hang up ends the
    // call on both legs.
    let row = desk_call("agent-hangs-up", "caller_queued_until_bye.xml");
    assert_eq!(row, "1001|normal_clearing|callback|1001");
}

#[test]
fn blind_transfer_to_a_queue_from_the_desk_in_chromium() {
    // 1001's phone (agent_uas) must get BYE at the transfer; 1002's phone
    // (agent_hangs_up) must be rung, answer and hang up, which BYEs the
    // caller (caller_queued_until_bye): each SIPp scenario fails otherwise.
    let row = desk_call_with(
        "blind-transfer",
        "caller_queued_until_bye.xml",
        Some("agent_hangs_up.xml"),
    );
    assert_eq!(
        row, "1002|normal_clearing|escalated|1001,1002",
        "the CDR names both agents and 1001's disposition"
    );
}

/// Waits for the spec to close its stdout (it exits right after), keeping
/// the lines it prints meanwhile; `None` after 20 s.
fn wait_output_of(spec: &mut Spec) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match spec
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(line) => spec.seen.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => return spec.child.wait().ok(),
            Err(mpsc::RecvTimeoutError::Timeout) => return None,
        }
    }
}
