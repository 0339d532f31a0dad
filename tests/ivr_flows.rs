//! Every shipped flow in `ivr-scripts/` loads against the real prompt files
//! in `media/`, holds `[[test]]` cases, and passes them in the simulator;
//! the `softacd ivr` commands do the same from the command line and report
//! a broken flow as `file:line:col: message` with exit status 1.

mod common;

use common::TempDir;
use softacd::ivr::cli::prompt_in;
use softacd::ivr::script::load_file;
use softacd::ivr::sim::run_tests;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

fn shipped_flows() -> Vec<PathBuf> {
    let mut flows: Vec<PathBuf> = std::fs::read_dir("ivr-scripts")
        .expect("ivr-scripts/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    flows.sort();
    flows
}

#[test]
fn every_shipped_flow_passes_its_test_cases() {
    let flows = shipped_flows();
    assert!(flows.len() >= 2, "shipped flows: {flows:?}");
    let media = Path::new("media");
    for path in flows {
        let flow = load_file(&path, &prompt_in(media))
            .unwrap_or_else(|e| panic!("{} does not load:\n{e}", path.display()));
        assert!(
            !flow.tests.is_empty(),
            "{} has no [[test]] cases",
            path.display()
        );
        for outcome in run_tests(&Arc::new(flow), Instant::now()) {
            assert_eq!(
                outcome.got,
                outcome.expected,
                "{}:{}: test `{}`",
                path.display(),
                outcome.line,
                outcome.name
            );
        }
    }
}

fn softacd(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_softacd"))
        .args(args)
        .output()
        .expect("softacd runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn ivr_test_command_runs_every_case_and_passes() {
    let (code, out) = softacd(&["ivr", "test"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
    assert!(out.contains("test `christmas is a holiday` ok"), "{out}");
}

#[test]
fn ivr_simulate_prints_the_trace_for_keys_and_time() {
    let (code, out) = softacd(&[
        "ivr",
        "simulate",
        "ivr-scripts/after-hours.toml",
        "--keys",
        "5551234#",
        "--at",
        "2026-12-03T22:00[America/New_York]",
    ]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hours hours: closed -> closed");
    assert!(lines.contains(&"collect callback=5551234"), "{out}");
    assert_eq!(lines.last(), Some(&"hangup normal"));
}

#[test]
fn ivr_check_reports_each_problem_with_file_line_col_and_fails() {
    let dir = TempDir::new("ivr-check");
    let bad = dir.path().join("bad.toml");
    let text = r#"name = "bad"
start = "when"

[nodes.when]
type = "hours"
tz = "Mars/Olympus"
open = "ask"
closed = "nowhere"
[nodes.when.weekly]
mon = ["17:00-09:00"]

[nodes.ask]
type = "collect"
prompts = ["enter-number"]
max_digits = 4
pattern = "([0-9]"
into = "acct"
on_fail = "bye"
next = "bye"

[nodes.bye]
type = "hangup"

[nodes.orphan]
type = "play"
prompts = ["no-such-prompt"]
next = "bye"
"#;
    std::fs::write(&bad, text).expect("write flow");
    let file = bad.to_string_lossy().into_owned();
    let (code, out) = softacd(&["ivr", "check", &file]);
    assert_eq!(code, 1, "{out}");
    let expect = [
        format!("{file}:6:6: unknown time zone `Mars/Olympus`"),
        format!("{file}:8:10: `closed` names missing node `nowhere`"),
        format!("{file}:10:8: time window `17:00-09:00` must be HH:MM-HH:MM"),
        format!("{file}:16:11: bad regex `([0-9]`"),
        format!("{file}:26:12: unknown prompt `no-such-prompt` (no media file)"),
    ];
    for line in expect {
        assert!(out.contains(&line), "missing `{line}` in:\n{out}");
    }
}

#[test]
fn ivr_check_flags_unreachable_nodes_and_input_free_loops() {
    let dir = TempDir::new("ivr-check-graph");
    let path = dir.path().join("loops.toml");
    let text = r#"name = "loops"
start = "again"

[nodes.again]
type = "set"
vars = { n = "1" }
next = "route"

[nodes.route]
type = "branch"
default = "again"
[[nodes.route.cases]]
var = "caller"
prefix = "+1"
goto = "bye"

[nodes.bye]
type = "hangup"

[nodes.lost]
type = "goto"
next = "bye"
"#;
    std::fs::write(&path, text).expect("write flow");
    let file = path.to_string_lossy().into_owned();
    let (code, out) = softacd(&["ivr", "check", &file]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("{file}:20:8: node `lost` is unreachable")),
        "{out}"
    );
    assert!(
        out.contains("loop with no exit or input: again -> route -> again"),
        "{out}"
    );
}

#[test]
fn ivr_check_with_config_rejects_an_unknown_queue() {
    let dir = TempDir::new("ivr-check-queue");
    let path = dir.path().join("main.toml");
    let text = std::fs::read_to_string("ivr-scripts/main.toml")
        .expect("main flow")
        .replace("queue = \"support\"", "queue = \"sales\"");
    std::fs::write(&path, text).expect("write flow");
    let file = path.to_string_lossy().into_owned();
    let (code, out) = softacd(&["ivr", "check", "--config", "config/softacd.toml", &file]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("unknown queue `sales` (not in the configuration)"),
        "{out}"
    );
    let (ok, out) = softacd(&["ivr", "check", "--config", "config/softacd.toml"]);
    assert_eq!(ok, 0, "{out}");
}

#[test]
fn the_server_refuses_to_start_with_an_invalid_flow() {
    let dir = TempDir::new("ivr-refuse");
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("scripts dir");
    let main = std::fs::read_to_string("ivr-scripts/main.toml").expect("main flow");
    std::fs::write(scripts.join("main.toml"), main).expect("write main");
    let broken = "name = \"after-hours\"\nstart = \"h\"\n[nodes.h]\ntype = \"hours\"\ntz = \"Nope/Zone\"\nweekly = {}\nopen = \"b\"\nclosed = \"b\"\n[nodes.b]\ntype = \"hangup\"\n";
    std::fs::write(scripts.join("after-hours.toml"), broken).expect("write broken");
    let config = std::fs::read_to_string("config/softacd.toml")
        .expect("config")
        .replace(
            "scripts_dir = \"ivr-scripts\"",
            &format!("scripts_dir = {:?}", scripts.to_string_lossy()),
        )
        .replace(
            "data_dir = \"data\"",
            &format!("data_dir = {:?}", dir.path().join("data").to_string_lossy()),
        );
    let cfg = dir.path().join("softacd.toml");
    std::fs::write(&cfg, config).expect("write config");
    let child = Command::new(env!("CARGO_BIN_EXE_softacd"))
        .args(["run", "--config", &cfg.to_string_lossy()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("softacd starts");
    let out = common::wait_output(child, std::time::Duration::from_secs(20))
        .unwrap_or_else(|| panic!("the server started with an invalid flow"));
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("after-hours.toml:5:6: unknown time zone `Nope/Zone`"),
        "{text}"
    );
}

#[test]
fn ivr_check_and_simulate_the_transfer_node() {
    let dir = TempDir::new("ivr-check-transfer");
    let bad = dir.path().join("xfer.toml");
    let text = r#"name = "xfer"
start = "out"

[nodes.out]
type = "transfer"
uri = "tel:+15551234"
timeout_s = 0
on_error = "bye"

[nodes.bye]
type = "hangup"
"#;
    std::fs::write(&bad, text).expect("write flow");
    let file = bad.to_string_lossy().into_owned();
    let (code, out) = softacd(&["ivr", "check", &file]);
    assert_eq!(code, 1, "{out}");
    for line in [
        format!("{file}:6:7: `uri` must be a sip: URI"),
        format!("{file}:7:13: `timeout_s` must be 1..=300, not 0"),
    ] {
        assert!(out.contains(&line), "missing `{line}` in:\n{out}");
    }
    let flow = "ivr-scripts/partner.toml";
    let (code, out) = softacd(&["ivr", "simulate", flow, "--keys", "1"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "play menu",
            "press 1",
            "transfer sip:billing@127.0.0.1:5090",
            "transfer answered"
        ]
    );
    let args = ["ivr", "simulate", flow, "--keys", "1", "--transfer-fails"];
    let (code, out) = softacd(&args);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("transfer busy (486)\ntransfer billing: failed 486 -> sorry\nplay timeout"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("agent answers"), "{out}");
}
