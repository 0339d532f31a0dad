//! The DTMF paths (issue 4), in two parts.
//!
//! The media runtime over real UDP sockets on 127.0.0.1: a caller's
//! gateway that sends the key as tones inside its G.711 audio reaches the
//! IVR's digit stream and barges in on the prompt, exactly like an RFC
//! 4733 event; with "inband" off in `[media] dtmf` the same audio is only
//! audio. Every wait is a receive with a timeout.
//!
//! The shipped demo menu (service 100) against a real `softacd run`, the
//! caller a SIPp scenario of `sip-tests/call/`, the agent's phone another:
//! key 0 as in-band tones (pcap), as SIP INFO application/dtmf-relay over
//! UDP and as SIP INFO application/dtmf over TCP each reach the agent, and
//! the call's CDR records the digit (the RFC 4733 case is
//! tests/sipp_call.rs `menu_agent_*`); once bridged, the caller's INFO is
//! forwarded on the agent's leg and answered with the phone's 200.

mod common;

use common::{free_port, poll_until, sipp, spawn_seat_phone, TestServer};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use softacd::media::dtmf_inband::key_frequencies;
use softacd::media::g711;
use softacd::media::prompt::PromptCache;
use softacd::media::rtp::{self, RtpSender};
use softacd::media::runtime::{
    MediaEvent, MediaHandle, MediaRuntime, MediaRuntimeConfig, StreamId,
};
use softacd::media::{Codec, DtmfPaths};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::timeout;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(2);
const QUIET: Duration = Duration::from_millis(300);
/// One wide range for every runtime here: each skips ports already bound
/// (by the other tests, or by other processes on the machine).
const MEDIA_PORTS: (u16, u16) = (30000, 39999);

fn start(dtmf: DtmfPaths, ports: (u16, u16)) -> (MediaHandle, mpsc::Receiver<MediaEvent>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("media");
    let cache = Arc::new(PromptCache::load_dir(&dir).expect("shipped prompts load"));
    let (tx, rx) = mpsc::channel(64);
    let cfg = MediaRuntimeConfig {
        bind_ip: LO,
        port_min: ports.0,
        port_max: ports.1,
        max_streams: 4,
        dtmf,
        rtp_threads: 1,
    };
    (MediaRuntime::start(cfg, cache, tx), rx)
}

/// `ms` of key `key` at −7 dBm0 per tone, then `gap_ms` of silence.
fn tone(key: char, ms: usize, gap_ms: usize) -> Vec<i16> {
    let (lo, hi) = key_frequencies(key).expect("a DTMF key");
    let a = 0.69 * 10f32.powf(-7.0 / 20.0) * 32767.0;
    let mut pcm: Vec<i16> = (0..ms * 8)
        .map(|i| {
            let t = i as f32 / 8000.0;
            let tau = std::f32::consts::TAU;
            (a * ((tau * lo * t).sin() + (tau * hi * t).sin())) as i16
        })
        .collect();
    pcm.resize(pcm.len() + gap_ms * 8, 0);
    pcm
}

/// Send `pcm` from `sock` as 20 ms RTP packets of `codec`, paced at 20 ms.
async fn send_audio(sock: &UdpSocket, to: SocketAddr, codec: Codec, pcm: &[i16]) {
    let mut numbering = RtpSender::new(0xCA11, codec.payload_type(), 1, 0);
    let mut payload = [0u8; 160];
    let mut buf = [0u8; 200];
    for frame in pcm.chunks(160) {
        let n = g711::encode(codec, frame, &mut payload);
        let h = numbering.next_audio(160);
        let len = rtp::write_packet(&h, &payload[..n], &mut buf).expect("fits");
        sock.send_to(&buf[..len], to).await.expect("send");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn packets_until_quiet(sock: &UdpSocket) -> usize {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while timeout(QUIET, sock.recv_from(&mut buf)).await.is_ok() {
        n += 1;
    }
    n
}

async fn open(media: &MediaHandle, id: u64, caller: &UdpSocket, codec: Codec) -> SocketAddr {
    let local = media.open_stream(StreamId(id)).await.expect("port");
    let remote = caller.local_addr().expect("bound");
    media
        .configure(StreamId(id), remote, codec, codec.payload_type(), Some(101))
        .expect("configure");
    local
}

#[tokio::test]
async fn an_inband_key_in_pcmu_barges_in_and_joins_the_digit_stream() {
    let (media, mut events) = start(DtmfPaths::default(), MEDIA_PORTS);
    let caller = UdpSocket::bind((LO, 0)).await.expect("bind");
    let local = open(&media, 1, &caller, Codec::Pcmu).await;
    media
        .play(StreamId(1), vec!["info".into()], true)
        .expect("play");
    let mut buf = [0u8; 2048];
    timeout(WAIT, caller.recv_from(&mut buf))
        .await
        .expect("the prompt plays")
        .expect("recv");

    let mut audio = tone('0', 60, 60);
    audio.extend(tone('0', 60, 100));
    send_audio(&caller, local, Codec::Pcmu, &audio).await;

    for _ in 0..2 {
        let ev = timeout(WAIT, events.recv()).await.expect("digit in time");
        assert_eq!(
            ev,
            Some(MediaEvent::Digit {
                id: StreamId(1),
                key: '0'
            }),
            "two presses of 0 separated by 60 ms"
        );
    }
    let after = packets_until_quiet(&caller).await;
    assert!(after <= 2, "{after} prompt packets after barge-in");
    assert!(events.try_recv().is_err(), "no PlaybackDone after barge-in");
}

#[tokio::test]
async fn an_inband_key_in_pcma_is_read() {
    let (media, mut events) = start(DtmfPaths::default(), MEDIA_PORTS);
    let caller = UdpSocket::bind((LO, 0)).await.expect("bind");
    let local = open(&media, 2, &caller, Codec::Pcma).await;
    send_audio(&caller, local, Codec::Pcma, &tone('#', 80, 100)).await;
    let ev = timeout(WAIT, events.recv()).await.expect("digit in time");
    assert_eq!(
        ev,
        Some(MediaEvent::Digit {
            id: StreamId(2),
            key: '#'
        })
    );
}

#[tokio::test]
async fn with_inband_off_tones_are_only_audio() {
    let paths = DtmfPaths {
        inband: false,
        ..DtmfPaths::default()
    };
    let (media, mut events) = start(paths, MEDIA_PORTS);
    let caller = UdpSocket::bind((LO, 0)).await.expect("bind");
    let local = open(&media, 3, &caller, Codec::Pcmu).await;
    media
        .play(StreamId(3), vec!["beep".into()], true)
        .expect("play");
    send_audio(&caller, local, Codec::Pcmu, &tone('5', 100, 100)).await;
    let ev = timeout(WAIT, events.recv())
        .await
        .expect("an event in time");
    assert_eq!(
        ev,
        Some(MediaEvent::PlaybackDone { id: StreamId(3) }),
        "the prompt ran to its end: no digit, no barge-in"
    );
    assert!(
        timeout(QUIET, events.recv()).await.is_err(),
        "no digit from the tones"
    );
}

// ---------------------------------------------------------------------------
// The demo menu end to end with SIPp
// ---------------------------------------------------------------------------

const POLL_EVERY: Duration = Duration::from_millis(100);
const CDR_WAIT: Duration = Duration::from_secs(10);

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

/// The seat is signed in and idle on its registered phone.
fn seat_ready(server: &TestServer, user: &str) -> bool {
    json_array(server, "/api/agents").iter().any(|a| {
        text(a, "id") == Some(user)
            && a.get("status").and_then(|s| text(s, "status")) == Some("available")
            && a.get("state").and_then(|s| text(s, "state")) == Some("idle")
    })
}

/// Seat 1001's phone (`agent_register.xml` + out-of-call scenario
/// `uas`) in the background, ready when returned.
fn phone(server: &TestServer, uas: &str, transport: &'static str) -> JoinHandle<Output> {
    let user = "1001";
    let run = spawn_seat_phone(server, user, uas, transport);
    let ready = poll_until(Duration::from_secs(10), POLL_EVERY, || {
        (run.is_finished() || seat_ready(server, user)).then_some(())
    });
    assert!(
        ready.is_some() && !run.is_finished(),
        "seat {user} not ready: {:?}",
        json_array(server, "/api/agents")
    );
    run
}

/// Caller `scenario` over `transport` presses 0 in the demo menu; the
/// agent answers; the CDR says digits "0", agent 1001, answered.
fn key_0_reaches_the_agent(scenario: &str, uas: &str, transport: &'static str) {
    let server = TestServer::start();
    let agent = phone(&server, uas, transport);
    let mp = free_port().to_string();
    sipp(
        &format!("call/{scenario}"),
        transport,
        server.sip_addr(transport),
        &["-mp", &mp, "-timeout", "30s"],
    );
    if let Err(panic) = agent.join() {
        std::panic::resume_unwind(panic);
    }
    let cdrs = poll_until(CDR_WAIT, POLL_EVERY, || {
        let cdrs = json_array(&server, "/api/calls");
        (!cdrs.is_empty()).then_some(cdrs)
    })
    .expect("a CDR in GET /api/calls");
    assert_eq!(cdrs.len(), 1, "{cdrs:?}");
    let cdr = &cdrs[0];
    assert_eq!(text(cdr, "digits"), Some("0"), "digits: {cdr}");
    assert_eq!(text(cdr, "agent"), Some("1001"), "agent: {cdr}");
    assert_eq!(text(cdr, "dnis"), Some("100"), "dnis: {cdr}");
    assert_eq!(text(cdr, "end_cause"), Some("normal_clearing"), "{cdr}");
    let answered = cdr.get("agent_answer_ms").is_some_and(|v| !v.is_null());
    assert!(answered, "the agent answered: {cdr}");
}

#[test]
fn demo_menu_inband_key_0_reaches_the_agent_udp() {
    key_0_reaches_the_agent("caller_menu_agent_inband.xml", "agent_uas.xml", "u1");
}

#[test]
fn demo_menu_info_dtmf_relay_key_0_reaches_the_agent_udp() {
    key_0_reaches_the_agent("caller_menu_agent_info_relay.xml", "agent_uas.xml", "u1");
}

#[test]
fn demo_menu_info_dtmf_key_0_reaches_the_agent_tcp() {
    key_0_reaches_the_agent("caller_menu_agent_info_dtmf.xml", "agent_uas.xml", "t1");
}

#[test]
fn info_while_bridged_is_forwarded_to_the_agent_udp() {
    key_0_reaches_the_agent(
        "caller_menu_agent_info_agent.xml",
        "agent_uas_info.xml",
        "u1",
    );
}
