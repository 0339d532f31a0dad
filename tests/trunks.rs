//! Issue 5, "routing config maps service numbers (DNIS) and trunks to flows",
//! over real sockets: a `softacd run` whose config has trunk `carrier` with
//! sources ["127.0.0.2"], its own number 5551000 → `main` and catch-all
//! `partner`, next to the global service 5551000 → `support`. SIPp calls as
//! the trunk (bound to 127.0.0.2) and as a plain loopback caller (127.0.0.1);
//! the CDRs of `GET /api/calls` say which flow ran and on which trunk.
//!
//! 1. The trunk dials 4711 (no service anywhere): the trunk's catch-all runs.
//! 2. The trunk dials 5551000: its own number beats the global service.
//! 3. 127.0.0.1 dials 5551000: the global service, no trunk.
//! 4. 127.0.0.1 dials 4711: 404, as for any unknown number.

mod common;

use common::{poll_until, sipp, TestServer};
use serde_json::Value;
use std::time::Duration;

const CDR_WAIT: Duration = Duration::from_secs(15);
const POLL_EVERY: Duration = Duration::from_millis(100);

fn trunk_config(data_dir: &std::path::Path) -> String {
    let mut cfg = TestServer::default_config(data_dir);
    cfg.push_str(
        r#"
[[service]]
number = "5551000"
script = "support"

[[trunk]]
name = "carrier"
sources = ["127.0.0.2", "192.0.2.0/24"]
script = "partner"
services = { "5551000" = "main" }
"#,
    );
    cfg
}

/// The CDR of the call to `dnis` made after `before` CDRs were written.
fn cdr_of(server: &TestServer, before: usize, dnis: &str) -> Value {
    poll_until(CDR_WAIT, POLL_EVERY, || {
        let (code, body) = server.http_get("/api/calls");
        assert_eq!(code, 200, "{body}");
        let list: Vec<Value> = serde_json::from_str(&body).ok()?;
        (list.len() > before).then(|| list[0].clone())
    })
    .filter(|cdr| cdr["dnis"] == dnis)
    .unwrap_or_else(|| {
        panic!(
            "no CDR for a call to {dnis} within {CDR_WAIT:?}; server log:\n{}",
            server.stderr_tail(4000)
        )
    })
}

fn calls_so_far(server: &TestServer) -> usize {
    let (_, body) = server.http_get("/api/calls");
    serde_json::from_str::<Vec<Value>>(&body).map_or(0, |l| l.len())
}

/// One SIPp call from `ip` to `number` with `scenario`.
fn call(server: &TestServer, scenario: &str, ip: &str, number: &str) {
    sipp(scenario, "u1", server.udp, &["-i", ip, "-s", number]);
}

#[test]
fn trunk_calls_use_the_trunks_routes_and_others_the_global_ones() {
    let server = TestServer::start_with_config(trunk_config);

    // 1. Not a service number anywhere: the trunk's catch-all flow.
    call(&server, "call/trunk_caller.xml", "127.0.0.2", "4711");
    let cdr = cdr_of(&server, 0, "4711");
    assert_eq!(cdr["ivr_script"], "partner", "{cdr}");
    assert_eq!(cdr["trunk"], "carrier", "{cdr}");

    // 2. The trunk's own number wins over the global [[service]].
    call(&server, "call/trunk_caller.xml", "127.0.0.2", "5551000");
    let cdr = cdr_of(&server, 1, "5551000");
    assert_eq!(cdr["ivr_script"], "main", "{cdr}");
    assert_eq!(cdr["trunk"], "carrier", "{cdr}");

    // 3. The same number from a caller that is not the trunk: the global flow.
    call(&server, "call/trunk_caller.xml", "127.0.0.1", "5551000");
    let cdr = cdr_of(&server, 2, "5551000");
    assert_eq!(cdr["ivr_script"], "support", "{cdr}");
    assert!(cdr["trunk"].is_null(), "{cdr}");

    // 4. The catch-all is the trunk's only: anyone else gets 404.
    let before = calls_so_far(&server);
    call(
        &server,
        "call/trunk_caller_unknown.xml",
        "127.0.0.1",
        "4711",
    );
    let cdr = cdr_of(&server, before, "4711");
    assert!(cdr["ivr_script"].is_null(), "{cdr}");
    assert!(cdr["trunk"].is_null(), "{cdr}");
}

#[test]
fn a_trunk_naming_a_missing_flow_stops_the_start_with_its_name() {
    let dir = common::TempDir::new("trunk-missing");
    let mut cfg = TestServer::default_config(&dir.path().join("data"));
    cfg.push_str(
        "\n[[trunk]]\nname = \"carrier\"\nsources = [\"127.0.0.2\"]\nscript = \"no-such-flow\"\n",
    );
    let file = dir.write("softacd.toml", &cfg);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_softacd"))
        .arg("run")
        .arg("--config")
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run softacd");
    assert!(!out.status.success(), "started with a missing flow");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`no-such-flow`"), "{err}");
}

#[test]
fn overlapping_trunk_sources_are_refused_by_check_config_at_their_line() {
    let dir = common::TempDir::new("trunk-overlap");
    let text = "[[trunk]]\nname = \"a\"\nsources = [\"198.51.100.0/24\"]\n\n\
                [[trunk]]\nname = \"b\"\nsources = [\"198.51.100.9\"]\n";
    let file = dir.write("bad.toml", text);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_softacd"))
        .arg("check-config")
        .arg(&file)
        .output()
        .expect("run softacd check-config");
    assert_eq!(out.status.code(), Some(2));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let want = format!("{}:7:", file.display());
    assert!(text.contains(&want), "{text}");
    assert!(
        text.contains("overlaps 198.51.100.0/24 of trunk `a`"),
        "{text}"
    );
}

#[test]
fn the_shipped_configs_commented_trunk_validates_and_names_shipped_flows() {
    let shipped = std::fs::read_to_string("config/softacd.toml").expect("config/softacd.toml");
    let example: Vec<&str> = shipped
        .lines()
        .skip_while(|l| *l != "# [[trunk]]")
        .take_while(|l| l.starts_with("# "))
        .map(|l| &l[2..])
        .collect();
    assert!(example.len() >= 4, "no commented [[trunk]] example");
    let text = format!("{shipped}\n{}\n", example.join("\n"));
    let cfg = softacd::config::Config::from_toml(&text, "softacd.toml + example")
        .unwrap_or_else(|e| panic!("the commented trunk does not validate:\n{e}"));
    assert!(
        softacd::config::Config::load(None)
            .unwrap()
            .trunk
            .is_empty(),
        "the demo contract has no active trunk"
    );
    assert_eq!(cfg.trunk.len(), 1);
    for flow in cfg.required_flows() {
        let file = format!("ivr-scripts/{flow}.toml");
        assert!(std::path::Path::new(&file).is_file(), "{file} is missing");
    }
    // `softacd ivr check --config` still accepts the shipped flows with it.
    let dir = common::TempDir::new("trunk-example");
    let file = dir.write("softacd.toml", &text);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_softacd"))
        .args(["ivr", "check", "--config"])
        .arg(&file)
        .output()
        .expect("run softacd ivr check");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("partner.toml: ok"), "{said}");
}
