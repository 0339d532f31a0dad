//! Call recording end to end (issue 4, "Recording") against the real
//! `softacd run` binary with in-process UAs on loopback: an agent registers,
//! a caller dials 100, presses 0 and is connected through the relay; the
//! caller talks a 600 Hz tone and the agent a 1400 Hz tone. The recording
//! named in the CDR must hold both tones (mixed) or one per channel
//! (stereo), read back with sox and checked with a Goertzel filter. Pausing
//! leaves silence in the file; SIGTERM mid-call ends the call
//! (`server_shutdown`) and leaves a playable file of the call's length; a
//! restart numbers new contacts after the old ones.

mod common;
mod ua;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use softacd::sip::Method;

use common::{poll_until, rms, tone_share, TestServer};
use ua::config::flow_config;
use ua::events::{self, http_post};
use ua::{Agent, Caller};

const STEP: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_secs(10);
/// The caller's tone and the agent's, both on a 50 Hz bin of a 20 ms window.
const CALLER_HZ: f64 = 600.0;
const AGENT_HZ: f64 = 1400.0;
const AMPLITUDE: f64 = 6000.0;
/// Samples per analysis window (20 ms at 8 kHz).
const WINDOW: usize = 160;

fn config(data_dir: &Path, mode: &str) -> String {
    let mut cfg = flow_config(data_dir, "relay");
    cfg.push_str(&format!(
        "\n[recording]\nenabled = true\nmode = \"{mode}\"\n"
    ));
    cfg
}

fn calls(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.http_get("/api/calls?limit=10");
    events::json_array("GET /api/calls", status, &body)
}

fn post(server: &TestServer, path: &str) -> (u16, Value) {
    let (status, body) =
        http_post(server.http, path, "").unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("POST {path}: {e}: {body}"));
    (status, json)
}

/// Agent 1001 registered and idle, a caller connected to it through the
/// relay (steps 1–9). Returns both and the contact id.
fn connected(server: &TestServer) -> (Caller, Agent, u64) {
    let mut agent = Agent::register(server.udp, "1001", "demo1001").expect("seat 1001 registers");
    let idle = poll_until(STEP, Duration::from_millis(100), || {
        let (status, body) = server.http_get("/api/agents");
        let all = events::json_array("GET /api/agents", status, &body);
        let a = events::agent(&all, "1001")?;
        (events::agent_status_state(a) == ("available".into(), "idle".into())).then_some(())
    });
    assert!(idle.is_some(), "agent 1001 never became available/idle");
    let mut caller = Caller::new(server.udp, "5550001").expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("100", Some(offer), STEP).expect("INVITE 100");
    assert_eq!(ok.code, 200);
    let welcome = caller.recv_rtp(STEP, 10);
    assert!(welcome.count() >= 10, "welcome prompt heard");
    caller.send_dtmf('0').expect("DTMF 0");
    agent.expect_invite(STEP).expect("INVITE to agent 1001");
    agent.ring().expect("180");
    agent.answer().expect("200");
    agent.expect_ack(STEP).expect("ACK");
    // The live call's recording is already on disk, named by its contact.
    let files = recordings(&server.data_dir);
    assert_eq!(
        files.len(),
        1,
        "one recording while the call is up: {files:?}"
    );
    let contact = contact_of(&files[0]);
    (caller, agent, contact)
}

fn recordings(data_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data_dir.join("recordings"))
        .expect("recordings dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect()
}

fn contact_of(path: &Path) -> u64 {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let id = stem.split_once('-').and_then(|(id, _)| id.parse().ok());
    id.unwrap_or_else(|| panic!("recording name {stem:?} is not <contact>-<unix_ms>"))
}

/// Both parties talk their tones at the same time for `d`.
fn both_talk(caller: &mut Caller, agent: &mut Agent, d: Duration) {
    std::thread::scope(|s| {
        let c = s.spawn(|| caller.leg.media.talk_tone(CALLER_HZ, AMPLITUDE, d));
        let a = s.spawn(|| agent.leg.media.talk_tone(AGENT_HZ, AMPLITUDE, d));
        c.join().expect("caller thread").expect("caller talks");
        a.join().expect("agent thread").expect("agent talks");
    });
}

/// `sox --i` of `path`: (channels, rate, duration in seconds).
fn sox_info(path: &Path) -> (u32, u32, f64) {
    let field = |flag: &str| -> String {
        let out = Command::new("sox")
            .args(["--i", flag])
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run sox: {e}"));
        assert!(
            out.status.success(),
            "sox --i {flag} {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let num = |s: String| s.parse::<f64>().unwrap_or_else(|e| panic!("{s:?}: {e}"));
    (
        num(field("-c")) as u32,
        num(field("-r")) as u32,
        num(field("-D")),
    )
}

/// The file's samples, de-interleaved per channel, through sox (so the
/// check reads what any player reads).
fn sox_channels(path: &Path, channels: usize) -> Vec<Vec<i16>> {
    let out = Command::new("sox")
        .arg(path)
        .args(["-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run sox: {e}"));
    assert!(
        out.status.success(),
        "sox could not read {}",
        path.display()
    );
    let samples: Vec<i16> = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    (0..channels)
        .map(|c| samples.iter().skip(c).step_by(channels).copied().collect())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    Silence,
    Caller,
    Agent,
    Both,
    Other,
}

fn classify(w: &[i16]) -> Heard {
    if rms(w) < 50.0 {
        return Heard::Silence;
    }
    let (c, a) = (
        tone_share(w, CALLER_HZ) > 0.2,
        tone_share(w, AGENT_HZ) > 0.2,
    );
    match (c, a) {
        (true, true) => Heard::Both,
        (true, false) => Heard::Caller,
        (false, true) => Heard::Agent,
        (false, false) => Heard::Other,
    }
}

/// Windows of `samples` from `from_ms` into the recording on.
fn windows(samples: &[i16], from_ms: u64) -> Vec<Heard> {
    let from = (from_ms as usize * 8).min(samples.len());
    samples[from..].chunks_exact(WINDOW).map(classify).collect()
}

fn count(ws: &[Heard], h: Heard) -> usize {
    ws.iter().filter(|&&w| w == h).count()
}

/// `<contact>-<unix_ms>.wav`: the unix ms the recording started at.
fn started_ms(path: &Path) -> u64 {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let ms = stem.split_once('-').and_then(|(_, ms)| ms.parse().ok());
    ms.unwrap_or_else(|| panic!("recording name {stem:?} is not <contact>-<unix_ms>"))
}

fn recording_of(cdr: &Value) -> PathBuf {
    let p = cdr["recording"]
        .as_str()
        .unwrap_or_else(|| panic!("CDR names no recording: {cdr}"));
    PathBuf::from(p)
}

/// Where the recording's analysis starts: 300 ms after the agent answered
/// (the IVR's last packets are behind us by then).
fn talk_offset_ms(cdr: &Value, path: &Path) -> u64 {
    let answered = cdr["agent_answer_ms"].as_u64().expect("agent_answer_ms");
    answered.saturating_sub(started_ms(path)) + 300
}

#[test]
fn mixed_recording_holds_both_parties_and_a_pause_is_silence() {
    let server = TestServer::start_with_config(|d| config(d, "mixed"));
    let (mut caller, mut agent, contact) = connected(&server);
    let base = format!("/api/calls/{contact}/recording");
    both_talk(&mut caller, &mut agent, Duration::from_secs(1));
    let (status, body) = post(&server, &format!("{base}/pause"));
    assert_eq!((status, body["recording"].as_str()), (200, Some("paused")));
    assert_eq!(
        post(&server, &format!("{base}/pause")).0,
        409,
        "paused twice"
    );
    both_talk(&mut caller, &mut agent, Duration::from_secs(1));
    assert_eq!(post(&server, &format!("{base}/resume")).0, 200);
    assert_eq!(
        post(&server, &format!("{base}/resume")).0,
        409,
        "not paused"
    );
    both_talk(&mut caller, &mut agent, Duration::from_secs(1));
    let (status, body) = post(&server, "/api/calls/987654/recording/pause");
    assert_eq!(status, 404, "unknown contact: {body}");
    assert_eq!(body["status"], 404);
    assert_eq!(post(&server, "/api/calls/x/recording/pause").0, 400);
    caller.bye().expect("caller BYE");
    agent
        .expect_request(Method::Bye, STEP)
        .expect("BYE to agent");

    let cdr = poll_until(SETTLE, Duration::from_millis(100), || {
        calls(&server).into_iter().next()
    })
    .expect("a CDR");
    let path = recording_of(&cdr);
    assert!(
        path.starts_with(server.data_dir.join("recordings")),
        "{path:?}"
    );
    assert!(
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{contact}-"))),
        "{path:?}"
    );
    let (channels, rate, secs) = sox_info(&path);
    assert_eq!((channels, rate), (1, 8000));
    let call_secs = (cdr["end_ms"].as_u64().expect("end_ms") - started_ms(&path)) as f64 / 1000.0;
    assert!(
        (secs - call_secs).abs() < 1.0,
        "recording {secs} s, call {call_secs} s"
    );
    let samples = sox_channels(&path, 1).remove(0);
    let ws = windows(&samples, talk_offset_ms(&cdr, &path));
    // 2 s of both talking were recorded (1 s was paused): both tones at once.
    assert!(count(&ws, Heard::Both) >= 60, "both tones: {ws:?}");
    let first = ws.iter().position(|&h| h == Heard::Both).unwrap_or(0);
    let last = ws.iter().rposition(|&h| h == Heard::Both).unwrap_or(0);
    let longest_silence = ws[first..=last]
        .split(|&h| h != Heard::Silence)
        .map(<[Heard]>::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest_silence >= 40,
        "the paused second is silence between the talk: longest silent run {longest_silence} windows"
    );
}

#[test]
fn sigterm_mid_call_leaves_a_playable_stereo_file_and_ids_continue_after_restart() {
    let server = TestServer::start_with_config(|d| config(d, "stereo"));
    let (mut caller, mut agent, contact) = connected(&server);
    both_talk(&mut caller, &mut agent, Duration::from_millis(1500));
    let data_dir = server.data_dir.clone();
    // SIGTERM while the call is up: both parties get a BYE (answered by
    // their UAs) and the server exits.
    let (status, kept) = std::thread::scope(|s| {
        let stopping = s.spawn(|| server.stop_keeping_files());
        caller
            .expect_request(Method::Bye, STEP)
            .expect("BYE to the caller");
        agent
            .expect_request(Method::Bye, STEP)
            .expect("BYE to the agent");
        stopping.join().expect("stop thread")
    });
    assert!(status.success(), "softacd exit status {status:?}");
    let files = recordings(&data_dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let path = files[0].clone();
    let (channels, rate, secs) = sox_info(&path);
    assert_eq!((channels, rate), (2, 8000));

    // Restart on the same database: the old CDR is there, ended by the
    // shutdown, and a new call gets the next contact id.
    let db = data_dir.join("softacd.sqlite");
    let server = TestServer::start_with_config(|d| {
        for ext in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{ext}", db.display()));
            if from.exists() {
                let to = d.join(format!("softacd.sqlite{ext}"));
                std::fs::copy(&from, &to).expect("copy database");
            }
        }
        config(d, "stereo")
    });
    let old = calls(&server);
    assert_eq!(old.len(), 1, "{old:?}");
    let cdr = old[0].clone();
    assert_eq!(cdr["contact_id"].as_u64(), Some(contact), "{cdr}");
    assert_eq!(cdr["end_cause"], "server_shutdown", "{cdr}");
    assert_eq!(recording_of(&cdr), path, "{cdr}");
    let call_secs = (cdr["end_ms"].as_u64().expect("end_ms") - started_ms(&path)) as f64 / 1000.0;
    assert!(
        (secs - call_secs).abs() < 1.0,
        "recording {secs} s, call {call_secs} s"
    );
    let ch = sox_channels(&path, 2);
    let from = talk_offset_ms(&cdr, &path);
    let (left, right) = (windows(&ch[0], from), windows(&ch[1], from));
    assert!(count(&left, Heard::Caller) >= 40, "caller left: {left:?}");
    assert_eq!(count(&left, Heard::Agent) + count(&left, Heard::Both), 0);
    assert!(count(&right, Heard::Agent) >= 40, "agent right: {right:?}");
    assert_eq!(count(&right, Heard::Caller) + count(&right, Heard::Both), 0);
    drop(kept);

    new_call_is_numbered_after(&server, contact);
}

/// A short call on the restarted server: its CDR is written next to the
/// old one, with a higher contact id.
fn new_call_is_numbered_after(server: &TestServer, old: u64) {
    let mut caller = Caller::new(server.udp, "5550002").expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("100", Some(offer), STEP).expect("INVITE 100");
    assert_eq!(ok.code, 200);
    caller.bye().expect("BYE");
    let both = poll_until(SETTLE, Duration::from_millis(100), || {
        let all = calls(server);
        (all.len() == 2).then_some(all)
    })
    .unwrap_or_else(|| panic!("two CDRs after the restart: {:?}", calls(server)));
    let ids: Vec<u64> = both
        .iter()
        .filter_map(|c| c["contact_id"].as_u64())
        .collect();
    assert!(ids.contains(&old), "{ids:?}");
    assert!(
        ids.iter().any(|&i| i > old),
        "new contact after {old}: {ids:?}"
    );
}

#[test]
fn pausing_a_call_that_is_not_recorded_is_409() {
    // Recording off (the default): the relayed call exists but has no file.
    let server = TestServer::start_with_config(|d| flow_config(d, "relay"));
    let mut caller = Caller::new(server.udp, "5550003").expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("100", Some(offer), STEP).expect("INVITE 100");
    assert_eq!(ok.code, 200);
    let (status, body) = post(&server, "/api/calls/1/recording/pause");
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not being recorded")),
        "{body}"
    );
    assert_eq!(post(&server, "/api/calls/2/recording/resume").0, 404);
    caller.bye().expect("BYE");
    let cdr = poll_until(SETTLE, Duration::from_millis(100), || {
        calls(&server).into_iter().next()
    })
    .expect("a CDR");
    assert!(cdr["recording"].is_null(), "{cdr}");
    assert!(!server.data_dir.join("recordings").exists());
}
