//! Issue 5, "Hot reload", against the real `softacd run` binary with the
//! Rust UAs of tests/ua on loopback. The flow is a copy of the demo's
//! `main.toml` in a scripts directory of the test's own; version B changes
//! one menu choice: in A, "0" queues for an agent (no agent is signed in,
//! so the caller waits on hold music); in B, "0" says goodbye and hangs up.
//!
//! - a call that entered the menu on A keeps A after B goes live (file
//!   watcher), while a new call gets B; the CDRs name A and B;
//! - an invalid edit is refused (422 with `file:line:col`) and A keeps
//!   serving new calls;
//! - `softacd ivr rollback main` puts A back and a new call gets A.

mod common;
mod ua;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use softacd::sip::Method;

use common::{poll_until, TempDir, TestServer};
use ua::config::flow_config;
use ua::events::{self, http_post};
use ua::Caller;

/// Generous bound for one signalling step on a loaded 2-core machine.
const STEP: Duration = Duration::from_secs(10);
/// How long a new version may take to go live (watcher polls every 500 ms).
const RELOAD_WAIT: Duration = Duration::from_secs(10);
/// How long a queued call must stay up to show it was not hung up.
const STILL_QUEUED: Duration = Duration::from_secs(3);

/// Version A: the demo flow as shipped.
fn flow_a() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-scripts/main.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Version B: "0" says goodbye instead of queueing (the queue moves to "9").
fn flow_b() -> String {
    let a = flow_a();
    assert!(a.contains("\"0\" = \"agent\""), "main.toml changed shape");
    a.replace(
        "\"0\" = \"agent\"",
        "\"0\" = \"goodbye\"\n\"9\" = \"agent\"",
    )
}

/// An invalid edit: "0" names a node that does not exist.
fn flow_invalid() -> String {
    flow_a().replace("\"0\" = \"agent\"", "\"0\" = \"nowhere\"")
}

struct Setup {
    server: TestServer,
    scripts: PathBuf,
    _dir: TempDir,
}

impl Setup {
    fn start() -> Setup {
        let dir = TempDir::new("ivr-reload");
        let scripts = dir.path().join("scripts");
        dir.write("scripts/main.toml", &flow_a());
        let repo_scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-scripts");
        let (from, to) = (
            repo_scripts.display().to_string(),
            scripts.display().to_string(),
        );
        let server = TestServer::start_with_config(|d| {
            let cfg = flow_config(d, "relay");
            assert!(cfg.contains(&from), "flow_config names the repo's scripts");
            cfg.replace(&from, &to)
        });
        Setup {
            server,
            scripts,
            _dir: dir,
        }
    }

    fn edit(&self, text: &str) {
        std::fs::write(self.scripts.join("main.toml"), text).expect("edit main.toml");
    }

    fn live_version(&self) -> String {
        let (status, body) = self.server.http_get("/api/ivr/flows");
        assert_eq!(status, 200, "GET /api/ivr/flows: {body}");
        let v: Value = serde_json::from_str(&body).expect("flows JSON");
        let flows = v["flows"].as_array().cloned().unwrap_or_default();
        let main = flows.iter().find(|f| f["name"] == "main");
        let main = main.unwrap_or_else(|| panic!("no flow main in {body}"));
        main["version"].as_str().unwrap_or_default().to_owned()
    }

    fn wait_version_not(&self, old: &str) -> String {
        let got = poll_until(RELOAD_WAIT, Duration::from_millis(100), || {
            let v = self.live_version();
            (v != old).then_some(v)
        });
        got.unwrap_or_else(|| panic!("flow main still at {old} after {RELOAD_WAIT:?}"))
    }

    fn wait_version(&self, want: &str) {
        let got = poll_until(RELOAD_WAIT, Duration::from_millis(100), || {
            (self.live_version() == want).then_some(())
        });
        assert!(got.is_some(), "flow main never went back to {want}");
    }

    fn reload(&self) -> (u16, Value) {
        let (status, body) =
            http_post(self.server.http, "/api/ivr/reload", "{}").expect("POST /api/ivr/reload");
        let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, v)
    }

    /// Dials 100 as `user` and waits until the welcome prompt plays.
    fn call(&self, user: &str) -> Caller {
        let mut caller = Caller::new(self.server.udp, user).expect("caller UA");
        let offer = caller.offer();
        let ok = caller
            .invite("100", Some(offer), STEP)
            .unwrap_or_else(|e| panic!("{user}: INVITE 100: {e}"));
        assert_eq!(ok.code, 200, "{user}: INVITE 100 answered {}", ok.code);
        let welcome = caller.recv_rtp(STEP, 25);
        assert!(welcome.count() >= 25, "{user}: welcome {}", welcome.count());
        caller
    }

    /// The CDR of `caller` (polled: the writer is asynchronous).
    fn cdr_of(&self, caller: &str) -> Value {
        let got = poll_until(STEP, Duration::from_millis(100), || {
            let (status, body) = self.server.http_get("/api/calls?limit=20");
            let all = events::json_array("GET /api/calls", status, &body);
            all.into_iter()
                .find(|c| c["caller"].as_str().is_some_and(|c| c.contains(caller)))
        });
        got.unwrap_or_else(|| panic!("no CDR for caller {caller}"))
    }
}

/// Presses 0 (per A: queued, stays up on hold music) and hangs up.
fn press_0_is_queued(caller: &mut Caller, who: &str) {
    caller.send_dtmf('0').expect("DTMF 0");
    let music = caller.recv_rtp(STEP, 25);
    assert!(music.count() >= 25, "{who}: hold music {}", music.count());
    caller.leg.idle(STILL_QUEUED).expect("idle");
    assert!(
        !caller.leg.seen_methods().contains(&Method::Bye),
        "{who}: version A queues on 0, yet the SoftACD hung up"
    );
    caller.bye().expect("caller BYE");
}

/// Presses 0 (per B: goodbye, then the SoftACD hangs up).
fn press_0_says_goodbye(caller: &mut Caller, who: &str) {
    caller.send_dtmf('0').expect("DTMF 0");
    caller
        .expect_request(Method::Bye, STEP)
        .unwrap_or_else(|e| panic!("{who}: version B hangs up after 0: {e}"));
}

#[test]
fn call_in_progress_keeps_its_version_and_new_call_gets_the_edit() {
    let s = Setup::start();
    let a = s.live_version();
    assert_eq!(a.len(), 12, "version id: {a}");
    // Call 1 enters the flow on A.
    let mut call1 = s.call("5550001");
    // The designer publishes B; the watcher makes it live.
    s.edit(&flow_b());
    let b = s.wait_version_not(&a);
    // An API reload now finds nothing new and lists B.
    let (status, v) = s.reload();
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["flows"][0]["name"], "main");
    assert_eq!(v["flows"][0]["version"].as_str(), Some(b.as_str()));
    assert_eq!(v["flows"][0]["changed"], false, "{v}");
    // Call 2 starts on B: 0 says goodbye and the SoftACD hangs up.
    let mut call2 = s.call("5550002");
    press_0_says_goodbye(&mut call2, "call 2");
    // Call 1 still behaves per A: 0 queues it.
    press_0_is_queued(&mut call1, "call 1");
    let (cdr1, cdr2) = (s.cdr_of("5550001"), s.cdr_of("5550002"));
    assert_eq!(
        cdr1["ivr_script_version"].as_str(),
        Some(a.as_str()),
        "{cdr1}"
    );
    assert_eq!(cdr1["queue"], "support", "{cdr1}");
    assert_eq!(
        cdr2["ivr_script_version"].as_str(),
        Some(b.as_str()),
        "{cdr2}"
    );
    assert!(cdr2["queue"].is_null(), "{cdr2}");
    // Both versions are archived, in order.
    let index = s.server.data_dir.join("ivr-versions/main/index");
    let text = std::fs::read_to_string(&index).expect("archive index");
    let versions: Vec<&str> = text.lines().filter_map(|l| l.split('\t').nth(1)).collect();
    assert_eq!(versions, [a.as_str(), b.as_str()]);
}

#[test]
fn invalid_edit_is_refused_and_the_old_version_keeps_serving() {
    let s = Setup::start();
    let a = s.live_version();
    s.edit(&flow_invalid());
    let (status, v) = s.reload();
    assert_eq!(status, 422, "{v}");
    let errors: Vec<&str> = v["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let named = errors.iter().any(|e| {
        let mut parts = e.rsplitn(4, ':');
        let (_msg, col, line, file) = (parts.next(), parts.next(), parts.next(), parts.next());
        file.is_some_and(|f| f.ends_with("main.toml"))
            && line.is_some_and(|l| l.parse::<u32>().is_ok())
            && col.is_some_and(|c| c.trim().parse::<u32>().is_ok())
            && e.contains("nowhere")
    });
    assert!(
        named,
        "want main.toml:line:col naming `nowhere`: {errors:?}"
    );
    assert_eq!(s.live_version(), a, "A still live");
    // A new call still gets A: 0 queues it.
    let mut call = s.call("5550003");
    press_0_is_queued(&mut call, "call after a refused edit");
    let cdr = s.cdr_of("5550003");
    assert_eq!(
        cdr["ivr_script_version"].as_str(),
        Some(a.as_str()),
        "{cdr}"
    );
    let (_, metrics) = s.server.http_get("/metrics");
    assert!(
        metrics.contains("softacd_ivr_reloads_total{result=\"failed\"}"),
        "reload failures counted:\n{metrics}"
    );
}

fn rollback(s: &Setup) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_softacd"))
        .args(["ivr", "rollback", "main", "--data-dir"])
        .arg(&s.server.data_dir)
        .arg("--scripts")
        .arg(&s.scripts)
        .output()
        .expect("run softacd ivr rollback")
}

#[test]
fn rollback_cli_restores_the_previous_version_for_new_calls() {
    let s = Setup::start();
    let a = s.live_version();
    // With one version ever live there is nothing to go back to.
    let out = rollback(&s);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing to roll back to"), "{err}");
    s.edit(&flow_b());
    let b = s.wait_version_not(&a);
    let out = rollback(&s);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        said.contains(&format!("from {b}")) && said.contains(&format!("to {a}")),
        "{said}"
    );
    s.wait_version(&a);
    let mut call = s.call("5550004");
    press_0_is_queued(&mut call, "call after rollback");
    let cdr = s.cdr_of("5550004");
    assert_eq!(
        cdr["ivr_script_version"].as_str(),
        Some(a.as_str()),
        "{cdr}"
    );
}
