//! A real softphone as the agent (issue 3, MISSION.md steps 8–9): baresip
//! runs headless as seat 1001 with auto-answer (account parameter
//! `answermode=auto`), audio looped through its `aubridge` module so no
//! sound card is needed. The Rust test caller (tests/ua) dials service 100,
//! presses 0, and the SoftACD must put the call through to baresip, which
//! answers: the agent shows in a call, the caller hears RTP from the agent
//! side, and the CDR names agent 1001.
//!
//! A first test calls baresip directly (no SoftACD) to prove the phone's
//! set-up and the test caller against each other. baresip missing is a
//! failure, not a skip.

mod common;
mod ua;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use common::{free_port, poll_until, read_tail, signal, TempDir, TestServer};
use ua::config::flow_config;
use ua::events;
use ua::Caller;

/// Registration, answer and media each get this long.
const STEP: Duration = Duration::from_secs(20);
/// baresip's own `-t`: it exits by itself even if the test is killed.
const BARESIP_LIFETIME_SECS: &str = "90";

/// A headless auto-answering baresip; stopped on drop.
struct Softphone {
    child: Child,
    log: std::path::PathBuf,
    sip_port: u16,
    _dir: TempDir,
}

/// baresip's `config`: SIP on loopback, G.711 only, audio looped back.
fn baresip_config(sip_port: u16) -> String {
    [
        "poll_method\tepoll".to_string(),
        "net_interface\t127.0.0.1".into(),
        format!("sip_listen\t127.0.0.1:{sip_port}"),
        "audio_player\taubridge,softacd".into(),
        "audio_source\taubridge,softacd".into(),
        "module_path\t/usr/lib/baresip/modules".into(),
        "module\tg711.so".into(),
        "module\taubridge.so".into(),
        "module_tmp\tuuid.so".into(),
        "module_tmp\taccount.so".into(),
        String::new(),
    ]
    .join("\n")
}

impl Softphone {
    /// Starts baresip with account `user` at `registrar` (auto-answer).
    fn start(user: &str, password: &str, registrar: SocketAddr) -> Softphone {
        let dir = TempDir::new("baresip-call");
        let sip_port = free_port();
        dir.write("config", &baresip_config(sip_port));
        dir.write(
            "accounts",
            &format!(
                "<sip:{user}@{registrar};transport=udp>;auth_pass={password};\
                 regint=600;answermode=auto;audio_codecs=PCMU,PCMA\n"
            ),
        );
        let log = dir.path().join("baresip.log");
        let child = spawn_baresip(dir.path(), &log);
        Softphone {
            child,
            log,
            sip_port,
            _dir: dir,
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.sip_port))
    }

    fn log_tail(&self) -> String {
        read_tail(&self.log, 6000)
    }
}

fn spawn_baresip(dir: &Path, log: &Path) -> Child {
    let out = std::fs::File::create(log)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
    let err = out
        .try_clone()
        .unwrap_or_else(|e| panic!("cannot clone log handle: {e}"));
    match Command::new("baresip")
        .arg("-f")
        .arg(dir)
        .args(["-t", BARESIP_LIFETIME_SECS])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("baresip is not installed: run scripts/install-deps.sh ({e})")
        }
        Err(e) => panic!("cannot spawn baresip: {e}"),
    }
}

impl Drop for Softphone {
    fn drop(&mut self) {
        signal(self.child.id(), "TERM");
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- baresip log (tail) ---\n{}", self.log_tail());
        }
    }
}

fn agent_state(server: &TestServer, id: &str) -> Option<(String, String)> {
    let (status, body) = server.http_get("/api/agents");
    let all = events::json_array("GET /api/agents", status, &body);
    events::agent(&all, id).map(events::agent_status_state)
}

#[test]
fn baresip_auto_answers_the_test_caller_directly() {
    // No SoftACD: the registrar address is a dead port; only the answer matters.
    let phone = Softphone::start("1001", "demo1001", ([127, 0, 0, 1], free_port()).into());
    let mut caller = Caller::new(phone.addr(), "5550002").expect("caller UA");
    let offer = caller.offer();
    let ok = poll_until(STEP, Duration::from_millis(200), || {
        caller
            .invite("1001", Some(offer.clone()), Duration::from_secs(2))
            .ok()
    })
    .unwrap_or_else(|| panic!("baresip never answered\n{}", phone.log_tail()));
    assert_eq!(ok.code, 200, "baresip auto-answer: {:?}", caller.codes);
    let from_phone = caller.remote_media().expect("baresip's SDP answer");
    let mut heard = caller
        .leg
        .media
        .talk(Duration::from_millis(500))
        .expect("talk");
    heard.packets.extend(caller.recv_rtp(STEP, 10).packets);
    assert!(heard.count() >= 10, "RTP from baresip: {}", heard.count());
    assert!(
        heard.sources().contains(&from_phone),
        "{:?}",
        heard.sources()
    );
    caller.bye().expect("BYE to baresip");
}

#[test]
fn baresip_seat_1001_answers_a_call_through_the_ivr() {
    let server = TestServer::start_with_config(|d| flow_config(d, "relay"));
    let phone = Softphone::start("1001", "demo1001", server.udp);
    let ready = poll_until(STEP, Duration::from_millis(200), || {
        let s = agent_state(&server, "1001")?;
        (s == ("available".to_string(), "idle".to_string())).then_some(())
    });
    assert!(
        ready.is_some(),
        "baresip's seat 1001 never became available/idle: {:?}\nregistrations: {:?}\n{}",
        agent_state(&server, "1001"),
        server.bindings_of("1001"),
        phone.log_tail()
    );
    let mut caller = Caller::new(server.udp, "5550003").expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("100", Some(offer), STEP).expect("INVITE 100");
    assert_eq!(ok.code, 200, "{:?}", caller.codes);
    let welcome = caller.recv_rtp(STEP, 10);
    assert!(welcome.count() >= 10, "welcome prompt: {}", welcome.count());
    caller.send_dtmf('0').expect("DTMF 0");
    // baresip answers by itself: the seat goes in_call.
    let in_call = poll_until(STEP, Duration::from_millis(200), || {
        let (_, state) = agent_state(&server, "1001")?;
        (state == "in_call").then_some(())
    });
    assert!(
        in_call.is_some(),
        "seat 1001 never in_call: {:?}\n{}",
        agent_state(&server, "1001"),
        phone.log_tail()
    );
    // baresip loops our audio back (aubridge): the caller hears the agent side.
    let mut heard = caller
        .leg
        .media
        .talk(Duration::from_millis(600))
        .expect("talk");
    heard.packets.extend(caller.recv_rtp(STEP, 10).packets);
    assert!(
        heard.count() >= 10,
        "RTP from the agent side: {}",
        heard.count()
    );
    caller.bye().expect("caller BYE");
    let cdr = poll_until(STEP, Duration::from_millis(200), || {
        let (status, body) = server.http_get("/api/calls?limit=1");
        events::json_array("GET /api/calls", status, &body)
            .into_iter()
            .next()
    })
    .expect("a CDR");
    assert_eq!(cdr["agent"], Value::from("1001"), "{cdr}");
    assert!(cdr["agent_answer_ms"].is_u64(), "{cdr}");
}
