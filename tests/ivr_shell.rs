//! The IVR/MS shell end to end (MISSION.md steps 4–7): the test plays the
//! SoftACD — SIP as bytes on the in-process channels, interface B as
//! messages — and the caller, with a real UDP socket for RTP. It checks the
//! INVITE → 100/180/200 (SDP) → ACK handshake, the welcome as contiguous
//! PCMU, RFC 4733 barge-in to the queue (RequestAgent, announce then hold
//! music), the CTI's queue timeout ending with goodbye and a BYE, and the
//! IVR report with the digits; then a silent caller hung up after three
//! menu timeouts. Every wait is a receive with a timeout; nothing sleeps.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use softacd::b2bua::CtiToIvr;
use softacd::cti::ContactId;
use softacd::ivr::script::{self, Script};
use softacd::ivr::shell::{self, IvrChannels, IvrToCti};
use softacd::media::prompt::PromptCache;
use softacd::media::rfc4733::DtmfSender;
use softacd::media::rtp::{self, RtpHeader, RtpSender};
use softacd::media::sdp::parse_offer;
use softacd::media::Codec;
use softacd::sip::{parse_message, response_to, HeaderView, Message, Request, Response};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const DTMF_PT: u8 = 101;
/// Bound for one SIP message or interface-B message on a loaded machine.
const WAIT: Duration = Duration::from_secs(3);
/// Quiet period that means "no more RTP is coming".
const QUIET: Duration = Duration::from_millis(300);
/// Bound for a prompt to play out (the longest shipped announce is ~3.6 s).
const PROMPT_WAIT: Duration = Duration::from_secs(10);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn prompts() -> Arc<PromptCache> {
    Arc::new(PromptCache::load_dir(&root().join("media")).expect("shipped prompts load"))
}

fn load_scripts(dir: &Path) -> BTreeMap<String, Arc<Script>> {
    let media = root().join("media");
    let exists = move |name: &str| media.join(format!("{name}.wav")).is_file();
    script::load_dir(dir, &exists).expect("scripts load")
}

/// The test's side of the shell: the SoftACD's ends of the channels.
struct SoftAcd {
    sip_in: mpsc::Sender<Vec<u8>>,
    sip_out: mpsc::Receiver<Vec<u8>>,
    cti_in: mpsc::Sender<CtiToIvr>,
    cti_out: mpsc::Receiver<IvrToCti>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start(scripts: BTreeMap<String, Arc<Script>>, port_min: u16) -> SoftAcd {
    let (sip_in_tx, sip_in) = mpsc::channel(64);
    let (sip_out, sip_out_rx) = mpsc::channel(64);
    let (cti_in_tx, cti_in) = mpsc::channel(64);
    let (cti_out, cti_out_rx) = mpsc::channel(64);
    let (stop_tx, stop) = watch::channel(false);
    let cfg = common::ivr_shell_config((port_min, port_min + 4999), 8, 2);
    let ch = IvrChannels {
        sip_in,
        sip_out,
        cti_in,
        cti_out,
    };
    let task = shell::spawn(cfg, scripts, prompts(), ch, stop);
    SoftAcd {
        sip_in: sip_in_tx,
        sip_out: sip_out_rx,
        cti_in: cti_in_tx,
        cti_out: cti_out_rx,
        stop: stop_tx,
        task,
    }
}

impl SoftAcd {
    async fn send(&self, raw: Vec<u8>) {
        self.sip_in.send(raw).await.expect("shell is running");
    }

    async fn recv(&mut self, wait: Duration) -> Message {
        let bytes = timeout(wait, self.sip_out.recv())
            .await
            .expect("a SIP message in time")
            .expect("shell is running");
        parse_message(&bytes).expect("the shell sends valid SIP")
    }

    async fn response(&mut self) -> Response {
        match self.recv(WAIT).await {
            Message::Response(r) => r,
            Message::Request(r) => panic!("expected a response, got {:?}", r.method),
        }
    }

    async fn request(&mut self, wait: Duration) -> Request {
        match self.recv(wait).await {
            Message::Request(r) => r,
            Message::Response(r) => panic!("expected a request, got {}", r.code),
        }
    }

    async fn cti(&mut self, wait: Duration) -> IvrToCti {
        timeout(wait, self.cti_out.recv())
            .await
            .expect("an interface-B message in time")
            .expect("shell is running")
    }

    /// INVITE with our RTP address, then 100, 180, 200; returns the 200.
    async fn call(&mut self, contact: u64, script: &str, rtp: SocketAddr) -> Response {
        self.send(invite(contact, script, rtp)).await;
        let codes = [self.response().await.code, self.response().await.code];
        assert_eq!(codes, [100, 180]);
        let ok = self.response().await;
        assert_eq!(ok.code, 200);
        assert_eq!(ok.headers.get("Content-Type"), Some("application/sdp"));
        self.send(ack(&ok)).await;
        ok
    }

    /// Answer the IVR's BYE with 200, as the SoftACD does.
    async fn accept_bye(&mut self, wait: Duration) {
        let bye = self.request(wait).await;
        assert_eq!(bye.method.as_str(), "BYE");
        self.send(response_to(&bye, 200, None).to_bytes()).await;
    }
}

fn offer(rtp: SocketAddr) -> String {
    format!(
        "v=0\r\no=acd 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 {DTMF_PT}\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:{DTMF_PT} telephone-event/8000\r\na=fmtp:{DTMF_PT} 0-16\r\na=sendrecv\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
}

fn invite(contact: u64, script: &str, rtp: SocketAddr) -> Vec<u8> {
    let body = offer(rtp);
    format!(
        "INVITE sip:ivr@ivr.local SIP/2.0\r\n\
         Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKinv{contact}\r\n\
         From: <sip:acd@acd.local>;tag=acd{contact}\r\nTo: <sip:ivr@ivr.local>\r\n\
         Call-ID: ivr-shell-{contact}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:acd@127.0.0.1:5060;transport=tcp>\r\nMax-Forwards: 70\r\n\
         X-SoftACD-Contact: {contact}\r\nX-SoftACD-Script: {script}\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn ack(ok: &Response) -> Vec<u8> {
    let to = ok.headers.get("To").expect("To");
    let from = ok.headers.get("From").expect("From");
    let call_id = ok.call_id().expect("Call-ID");
    format!(
        "ACK sip:ivr@ivr.local:5060;transport=tcp SIP/2.0\r\n\
         Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKack-{call_id}\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// A BYE from the SoftACD in the dialog of `ok`.
fn bye(ok: &Response) -> Vec<u8> {
    let to = ok.headers.get("To").expect("To");
    let from = ok.headers.get("From").expect("From");
    let call_id = ok.call_id().expect("Call-ID");
    format!(
        "BYE sip:ivr@ivr.local:5060;transport=tcp SIP/2.0\r\n\
         Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKbye-{call_id}\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The IVR's RTP address from its SDP answer.
fn ivr_rtp(ok: &Response) -> SocketAddr {
    let answer = parse_offer(&ok.body).expect("the 200 carries SDP");
    SocketAddr::new(answer.connection, answer.audio_port)
}

async fn recv_rtp(sock: &UdpSocket, wait: Duration) -> Option<(RtpHeader, Vec<u8>)> {
    let mut buf = [0u8; 2048];
    let (n, _) = timeout(wait, sock.recv_from(&mut buf)).await.ok()?.ok()?;
    let p = rtp::parse(&buf[..n]).expect("the IVR sends valid RTP");
    Some((p.header, p.payload.to_vec()))
}

/// Read RTP until a packet carries `frame`; false if it never comes.
async fn until_frame(sock: &UdpSocket, frame: &[u8], within: Duration) -> bool {
    let end = Instant::now() + within;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match recv_rtp(sock, left).await {
            Some((_, payload)) if payload == frame => return true,
            Some(_) => {}
            None => return false,
        }
    }
    false
}

async fn press(sock: &UdpSocket, to: SocketAddr, key: char) {
    let mut numbering = RtpSender::new(0x7E57, 0, 500, 16_000);
    let mut buf = [0u8; 64];
    for pkt in DtmfSender::new(key, 16_000, 800, 10).expect("a DTMF key") {
        let h = numbering.event_header(DTMF_PT, pkt.timestamp, pkt.marker);
        let n = rtp::write_packet(&h, &pkt.payload, &mut buf).expect("fits");
        sock.send_to(&buf[..n], to).await.expect("send DTMF");
    }
}

fn first_frame(cache: &PromptCache, name: &str) -> Vec<u8> {
    let p = cache.get(name).expect("shipped prompt");
    p.frame(Codec::Pcmu, 0).expect("a frame").to_vec()
}

#[tokio::test]
async fn barge_in_to_queue_then_queue_timeout_says_goodbye_and_reports_digits() {
    let scripts = load_scripts(&root().join("ivr-scripts"));
    let version = scripts
        .get("main")
        .map(|s| s.version.clone())
        .expect("main");
    let mut acd = start(scripts, 40000);
    let cache = prompts();
    let caller = UdpSocket::bind((LO, 0)).await.unwrap();

    let ok = acd.call(7, "main", caller.local_addr().unwrap()).await;
    let ivr = ivr_rtp(&ok);
    assert_eq!(ivr.ip(), LO);

    // The welcome: PCMU, contiguous sequence numbers, its own first frame.
    let (first, payload) = recv_rtp(&caller, WAIT).await.expect("welcome RTP");
    assert_eq!(first.payload_type, 0);
    assert_eq!(payload, first_frame(&cache, "welcome"));
    let mut seq = first.sequence;
    for _ in 0..10 {
        let (h, _) = recv_rtp(&caller, WAIT).await.expect("more welcome");
        assert_eq!(h.payload_type, 0);
        assert_eq!(h.sequence, seq.wrapping_add(1), "contiguous sequence");
        seq = h.sequence;
    }

    // '0' barges in and queues the caller.
    press(&caller, ivr, '0').await;
    assert_eq!(
        acd.cti(WAIT).await,
        IvrToCti::RequestAgent {
            contact: ContactId(7),
            queue: "support".into(),
            skills: vec!["support".into()],
            priority: 0,
        }
    );
    // The announce, then the hold music, keep flowing.
    let queue = first_frame(&cache, "queue");
    assert!(until_frame(&caller, &queue, WAIT).await, "queue announce");
    let hold = first_frame(&cache, "hold");
    assert!(until_frame(&caller, &hold, PROMPT_WAIT).await, "hold music");
    for _ in 0..10 {
        recv_rtp(&caller, WAIT).await.expect("hold music continues");
    }

    // The CTI's queue timeout: goodbye, then the IVR hangs up.
    acd.cti_in
        .send(CtiToIvr::QueueTimeout {
            contact: ContactId(7),
        })
        .await
        .unwrap();
    let goodbye = first_frame(&cache, "goodbye");
    assert!(until_frame(&caller, &goodbye, WAIT).await, "goodbye");
    acd.accept_bye(PROMPT_WAIT).await;
    assert_eq!(
        acd.cti(WAIT).await,
        IvrToCti::Report {
            contact: ContactId(7),
            script: "main".into(),
            version,
            digits: "0".into(),
            voicemail: None,
        }
    );
}

/// A temporary scripts directory, removed on drop.
struct TempScripts(PathBuf);

impl Drop for TempScripts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const QUICK_MENU: &str = r#"
name = "quick"
start = "menu"

[nodes.menu]
type = "menu"
prompts = ["beep"]
timeout_ms = 200
max_tries = 3
timeout_prompts = ["beep"]
on_fail = "bye"

[nodes.menu.choices]
"1" = "bye"

[nodes.bye]
type = "hangup"
cause = "no-input"
"#;

#[tokio::test]
async fn silent_caller_is_hung_up_after_three_menu_timeouts() {
    let dir = std::env::temp_dir().join(format!("softacd-ivr-shell-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = TempScripts(dir.clone());
    std::fs::write(dir.join("quick.toml"), QUICK_MENU).unwrap();
    let scripts = load_scripts(&dir);
    let version = scripts
        .get("quick")
        .map(|s| s.version.clone())
        .expect("quick");
    let mut acd = start(scripts, 45000);
    let caller = UdpSocket::bind((LO, 0)).await.unwrap();

    let t0 = Instant::now();
    acd.call(9, "quick", caller.local_addr().unwrap()).await;
    assert!(recv_rtp(&caller, WAIT).await.is_some(), "menu prompt plays");
    acd.accept_bye(PROMPT_WAIT).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(3 * 200),
        "three timeouts of 200 ms before the BYE"
    );
    // Three rounds, each after a silent wait: the menu beep, then twice
    // the timeout beep with the menu beep right behind it. A talkspurt
    // (marker bit) starts after each silence; the packets are still
    // queued in the socket.
    let (mut spurts, mut packets) = (1, 1);
    while let Some((h, _)) = recv_rtp(&caller, QUIET).await {
        spurts += usize::from(h.marker);
        packets += 1;
    }
    assert_eq!(spurts, 3, "one talkspurt per menu round");
    let beep = 250 / 20;
    assert!(
        packets >= 5 * beep,
        "five beeps played, got {packets} packets"
    );
    assert_eq!(
        acd.cti(WAIT).await,
        IvrToCti::Report {
            contact: ContactId(9),
            script: "quick".into(),
            version,
            digits: String::new(),
            voicemail: None,
        }
    );
}

#[tokio::test]
async fn agent_found_then_softacd_bye_gets_200_and_a_report() {
    let scripts = load_scripts(&root().join("ivr-scripts"));
    let mut acd = start(scripts, 50000);
    let caller = UdpSocket::bind((LO, 0)).await.unwrap();
    let ok = acd.call(11, "main", caller.local_addr().unwrap()).await;
    recv_rtp(&caller, WAIT).await.expect("welcome RTP");
    press(&caller, ivr_rtp(&ok), '0').await;
    assert!(matches!(
        acd.cti(WAIT).await,
        IvrToCti::RequestAgent {
            contact: ContactId(11),
            ..
        }
    ));
    acd.cti_in
        .send(CtiToIvr::AgentFound {
            contact: ContactId(11),
        })
        .await
        .unwrap();
    // Step 8: the SoftACD takes the call away with a BYE.
    acd.send(bye(&ok)).await;
    let resp = acd.response().await;
    assert_eq!((resp.code, resp.cseq().map(|c| c.seq).ok()), (200, Some(2)));
    match acd.cti(WAIT).await {
        IvrToCti::Report {
            contact, digits, ..
        } => assert_eq!((contact, digits.as_str()), (ContactId(11), "0")),
        other => panic!("expected the report, got {other:?}"),
    }
    // The stream is closed: the RTP stops.
    while recv_rtp(&caller, QUIET).await.is_some() {}
    assert!(recv_rtp(&caller, QUIET).await.is_none());
}

#[tokio::test]
async fn unknown_script_is_404_and_garbage_is_400() {
    let scripts = load_scripts(&root().join("ivr-scripts"));
    let mut acd = start(scripts, 55000);
    acd.send(invite(12, "nosuch", "127.0.0.1:9".parse().unwrap()))
        .await;
    assert_eq!(acd.response().await.code, 404);
    let broken = b"OPTIONS sip:ivr@ivr.local SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx\r\n\
From: <sip:a@b>;tag=1\r\nTo: <sip:ivr@ivr.local>\r\nCall-ID: g\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    acd.send(broken.to_vec()).await;
    assert_eq!(acd.response().await.code, 400, "CSeq method mismatch");
    assert!(
        timeout(QUIET, acd.cti_out.recv()).await.is_err(),
        "a refused call makes no report"
    );
}

#[tokio::test]
async fn stop_ends_the_task_and_reports_the_calls_it_held() {
    let scripts = load_scripts(&root().join("ivr-scripts"));
    let mut acd = start(scripts, 60000);
    let caller = UdpSocket::bind((LO, 0)).await.unwrap();
    acd.call(13, "main", caller.local_addr().unwrap()).await;
    recv_rtp(&caller, WAIT).await.expect("welcome RTP");
    acd.stop.send(true).unwrap();
    match acd.cti(WAIT).await {
        IvrToCti::Report { contact, .. } => assert_eq!(contact, ContactId(13)),
        other => panic!("expected the report, got {other:?}"),
    }
    timeout(WAIT, acd.task)
        .await
        .expect("the shell stops in time")
        .expect("the shell task does not panic");
}
