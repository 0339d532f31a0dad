//! Voicemail end to end (issue 5, the IVR `record` node) against the real
//! `softacd run` binary: a caller (the Rust UA over UDP on loopback) dials
//! service 103 (`ivr-scripts/voicemail.toml`), hears the greeting and the
//! beep, talks a 1 kHz tone in PCMU and ends the message with `#`, with
//! silence, or by hanging up. The CDR names the WAV under
//! `<data_dir>/voicemail/`; the file, read back with sox, holds the tone
//! (Goertzel) and stops where the message stopped. A caller who says
//! nothing leaves no file and no voicemail in the CDR.

mod common;
mod ua;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use softacd::sip::Method;

use common::{poll_until, rms, tone_share, TestServer};
use ua::config::flow_config;
use ua::events;
use ua::Caller;

const STEP: Duration = Duration::from_secs(10);
const TONE_HZ: f64 = 1000.0;
const AMPLITUDE: f64 = 6000.0;
/// Samples per analysis window (20 ms at 8 kHz).
const WINDOW: usize = 160;
/// The shipped flow's `silence_s`.
const SILENCE_S: f64 = 5.0;

fn config(data_dir: &Path) -> String {
    let mut cfg = flow_config(data_dir, "relay");
    cfg.push_str("\n[[service]]\nnumber = \"103\"\nscript = \"voicemail\"\n");
    cfg
}

/// A caller in the record node: the greeting and the beep have played.
fn at_the_beep(server: &TestServer, user: &str) -> Caller {
    let mut caller = Caller::new(server.udp, user).expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("103", Some(offer), STEP).expect("INVITE 103");
    assert_eq!(ok.code, 200);
    let greeting = caller.recv_rtp(STEP, 10);
    assert!(greeting.count() >= 10, "greeting heard");
    // The prompts end when the IVR's RTP stops (it sends no silence).
    let end = Instant::now() + Duration::from_secs(20);
    while caller.recv_rtp(Duration::from_millis(300), 1).count() > 0 {
        assert!(Instant::now() < end, "the greeting never ended");
    }
    caller
}

fn talk(caller: &mut Caller, d: Duration) {
    caller
        .leg
        .media
        .talk_tone(TONE_HZ, AMPLITUDE, d)
        .expect("caller talks");
}

/// The CDR of the only call, once written.
fn cdr(server: &TestServer) -> Value {
    poll_until(STEP, Duration::from_millis(100), || {
        let (status, body) = server.http_get("/api/calls?limit=10");
        events::json_array("GET /api/calls", status, &body)
            .into_iter()
            .next()
    })
    .expect("a CDR")
}

fn voicemail_of(cdr: &Value, data_dir: &Path) -> PathBuf {
    let path = PathBuf::from(
        cdr["voicemail"]
            .as_str()
            .unwrap_or_else(|| panic!("CDR names no voicemail: {cdr}")),
    );
    assert!(path.starts_with(data_dir.join("voicemail")), "{path:?}");
    let contact = cdr["contact_id"].as_u64().expect("contact_id");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(
        name.starts_with(&format!("{contact}-")) && name.ends_with(".wav"),
        "{name}"
    );
    path
}

/// `sox --i` of `path`: (channels, rate, duration in seconds).
fn sox_info(path: &Path) -> (u32, u32, f64) {
    let field = |flag: &str| -> f64 {
        let out = Command::new("sox")
            .args(["--i", flag])
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run sox: {e}"));
        assert!(out.status.success(), "sox --i {flag} {}", path.display());
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"))
    };
    (field("-c") as u32, field("-r") as u32, field("-D"))
}

/// The file's samples as any player reads them (through sox).
fn sox_samples(path: &Path) -> Vec<i16> {
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
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Per 20 ms window: the tone (true) or not.
fn tone_windows(samples: &[i16]) -> Vec<bool> {
    samples
        .chunks_exact(WINDOW)
        .map(|w| rms(w) > 1000.0 && tone_share(w, TONE_HZ) > 0.8)
        .collect()
}

#[test]
fn a_message_ended_with_pound_is_saved_named_in_the_cdr_and_holds_the_tone() {
    let server = TestServer::start_with_config(config);
    let mut caller = at_the_beep(&server, "5550101");
    talk(&mut caller, Duration::from_millis(1500));
    caller.send_dtmf('#').expect("DTMF #");
    // Thank you, goodbye, then the IVR hangs up.
    assert!(caller.recv_rtp(STEP, 10).count() >= 10, "thank-you heard");
    caller
        .expect_request(Method::Bye, Duration::from_secs(20))
        .expect("BYE after goodbye");

    let cdr = cdr(&server);
    let path = voicemail_of(&cdr, &server.data_dir);
    let (channels, rate, secs) = sox_info(&path);
    assert_eq!((channels, rate), (1, 8000));
    assert!(
        (1.3..=2.6).contains(&secs),
        "the file stops at the key: {secs} s for 1.5 s of talk"
    );
    let tone = tone_windows(&sox_samples(&path));
    let heard = tone.iter().filter(|&&t| t).count();
    assert!(heard >= 65, "1.5 s of tone = 75 windows, heard {heard}");
}

#[test]
fn silence_ends_the_message_and_the_file_keeps_the_talk_then_the_silence() {
    let server = TestServer::start_with_config(config);
    let mut caller = at_the_beep(&server, "5550102");
    let started = Instant::now();
    talk(&mut caller, Duration::from_secs(1));
    // Nothing more: the flow goes on by itself after silence_s.
    assert!(
        caller.recv_rtp(STEP, 10).count() >= 10,
        "thank-you heard after the silence"
    );
    let waited = started.elapsed().as_secs_f64();
    assert!(waited >= 1.0 + SILENCE_S - 0.3, "stopped after {waited} s");
    caller
        .expect_request(Method::Bye, Duration::from_secs(20))
        .expect("BYE after goodbye");

    let cdr = cdr(&server);
    let path = voicemail_of(&cdr, &server.data_dir);
    let (_, _, secs) = sox_info(&path);
    assert!(
        (SILENCE_S + 0.7..=SILENCE_S + 1.6).contains(&secs),
        "1 s of talk then {SILENCE_S} s of silence: {secs} s"
    );
    let tone = tone_windows(&sox_samples(&path));
    let heard = tone.iter().filter(|&&t| t).count();
    assert!(
        (40..=55).contains(&heard),
        "1 s of tone = 50 windows, heard {heard}"
    );
    let last_tone = tone.iter().rposition(|&t| t).unwrap_or(0);
    assert!(
        tone.len() - last_tone >= (SILENCE_S * 50.0) as usize - 10,
        "silence after the talk: {} windows",
        tone.len() - last_tone
    );
}

#[test]
fn hanging_up_mid_message_leaves_a_playable_file_named_in_the_cdr() {
    let server = TestServer::start_with_config(config);
    let mut caller = at_the_beep(&server, "5550103");
    talk(&mut caller, Duration::from_millis(2000));
    caller.bye().expect("caller BYE");

    let cdr = cdr(&server);
    let path = voicemail_of(&cdr, &server.data_dir);
    let finished = poll_until(STEP, Duration::from_millis(100), || {
        let (_, _, secs) = sox_info(&path);
        (secs >= 1.8).then_some(secs)
    })
    .expect("the file is finished after the hang-up");
    assert!(finished <= 2.8, "{finished} s for 2 s of talk");
    let tone = tone_windows(&sox_samples(&path));
    assert!(tone.iter().filter(|&&t| t).count() >= 90, "2 s of tone");
}

#[test]
fn a_caller_who_says_nothing_leaves_no_file_and_no_voicemail() {
    let server = TestServer::start_with_config(config);
    let mut caller = at_the_beep(&server, "5550104");
    // Silence: after silence_s the flow says goodbye and hangs up.
    caller
        .expect_request(Method::Bye, Duration::from_secs(20))
        .expect("BYE after goodbye");
    let cdr = cdr(&server);
    assert_eq!(cdr["voicemail"], Value::Null, "{cdr}");
    let dir = server.data_dir.join("voicemail");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "the empty recording is deleted: {left:?}");
}

#[test]
fn a_full_voicemail_box_takes_on_error_and_writes_nothing() {
    let server = TestServer::start_with_config(|d| {
        let mut cfg = config(d);
        ua::config::set_keys(
            &mut cfg,
            "[ivr]",
            &["voicemail_max_files =", "voicemail_max_files = 0"],
        );
        cfg
    });
    let mut caller = at_the_beep(&server, "5550105");
    talk(&mut caller, Duration::from_millis(500));
    caller
        .expect_request(Method::Bye, Duration::from_secs(20))
        .expect("BYE after goodbye");
    let cdr = cdr(&server);
    assert_eq!(cdr["voicemail"], Value::Null, "{cdr}");
    let log = server.stderr_tail(1 << 20);
    assert!(
        log.contains("voicemail not recorded") && log.contains("full"),
        "the refusal is logged: {log}"
    );
    let dir = server.data_dir.join("voicemail");
    let files = std::fs::read_dir(&dir).map_or(0, |d| d.count());
    assert_eq!(files, 0, "nothing written to {}", dir.display());
}
