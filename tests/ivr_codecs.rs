//! Wideband codecs at the IVR end to end (issue 4, "Codecs"): a prompt
//! made at test time as a 1 kHz FLAC tone (48 kHz stereo, so it is decoded
//! by symphonia and resampled by rubato) is played to a caller whose offer
//! puts G.722 first, then to one whose offer puts Opus first. The test plays
//! the SoftACD (SIP as bytes on the shell's channels) and the caller (a real
//! UDP socket for RTP): it checks the SDP answer (codec, payload type, the
//! telephone-event at the codec's clock rate), the RTP numbering (160 per
//! packet on G.722's 8000 Hz clock, 960 on Opus's 48000 Hz clock), and that
//! the payloads decode (media::pcm::PcmDecoder) to the 1 kHz tone at its
//! level. Every wait is a receive with a timeout; nothing sleeps.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use softacd::ivr::script;
use softacd::ivr::shell::{self, IvrChannels};
use softacd::media::pcm::{rms, tone_share, PcmDecoder};
use softacd::media::prompt::PromptCache;
use softacd::media::rtp;
use softacd::media::sdp::parse_offer;
use softacd::media::Codec;
use softacd::sip::{parse_message, response_to, HeaderView, Message, Response};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(3);

const TONE_SCRIPT: &str = r#"
name = "tone"
start = "tone"

[nodes.tone]
type = "play"
prompts = ["tone"]
next = "bye"

[nodes.bye]
type = "hangup"
cause = "done"
"#;

/// A temporary directory with `tone.flac` and the `tone` script, removed
/// on drop.
struct Assets(PathBuf);

impl Assets {
    fn make(tag: &str) -> Assets {
        let dir =
            std::env::temp_dir().join(format!("softacd-ivr-codecs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("media")).unwrap();
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        // 1.5 s of 1 kHz at -6 dBFS, 48 kHz stereo FLAC.
        let out = Command::new("sox")
            .args(["-n", "-r", "48000", "-c", "2", "-b", "16"])
            .arg(dir.join("media/tone.flac"))
            .args(["synth", "1.5", "sine", "1000", "gain", "-6"])
            .output()
            .expect("sox (run scripts/install-deps.sh)");
        assert!(out.status.success(), "sox: {out:?}");
        std::fs::write(dir.join("scripts/tone.toml"), TONE_SCRIPT).unwrap();
        Assets(dir)
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.0.join(sub)
    }
}

impl Drop for Assets {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct SoftAcd {
    sip_in: mpsc::Sender<Vec<u8>>,
    sip_out: mpsc::Receiver<Vec<u8>>,
    _cti_in: mpsc::Sender<softacd::b2bua::CtiToIvr>,
    _cti_out: mpsc::Receiver<softacd::ivr::shell::IvrToCti>,
    _stop: watch::Sender<bool>,
}

fn start(assets: &Assets, port_min: u16) -> SoftAcd {
    let prompts = PromptCache::load_dir(&assets.path("media")).expect("tone.flac loads");
    let scripts: BTreeMap<_, _> =
        script::load_dir(&assets.path("scripts"), &|n| prompts.get(n).is_some())
            .expect("tone script loads");
    let (sip_in_tx, sip_in) = mpsc::channel(64);
    let (sip_out, sip_out_rx) = mpsc::channel(64);
    let (cti_in_tx, cti_in) = mpsc::channel(64);
    let (cti_out, cti_out_rx) = mpsc::channel(64);
    let (stop_tx, stop) = watch::channel(false);
    let cfg = common::ivr_shell_config((port_min, port_min + 999), 4, 1);
    let ch = IvrChannels {
        sip_in,
        sip_out,
        cti_in,
        cti_out,
    };
    shell::spawn_with_codecs(cfg, &Codec::SUPPORTED, scripts, Arc::new(prompts), ch, stop);
    SoftAcd {
        sip_in: sip_in_tx,
        sip_out: sip_out_rx,
        _cti_in: cti_in_tx,
        _cti_out: cti_out_rx,
        _stop: stop_tx,
    }
}

impl SoftAcd {
    async fn recv(&mut self) -> Message {
        let bytes = timeout(WAIT, self.sip_out.recv())
            .await
            .expect("a SIP message in time")
            .expect("shell is running");
        parse_message(&bytes).expect("the shell sends valid SIP")
    }

    async fn response(&mut self) -> Response {
        match self.recv().await {
            Message::Response(r) => r,
            Message::Request(r) => panic!("expected a response, got {:?}", r.method),
        }
    }

    /// INVITE with `sdp`, expect 100, 180, 200 and ACK it.
    async fn call(&mut self, contact: u64, sdp: &str) -> Response {
        let invite = format!(
            "INVITE sip:ivr@ivr.local SIP/2.0\r\n\
             Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKcodec{contact}\r\n\
             From: <sip:acd@acd.local>;tag=acd{contact}\r\nTo: <sip:ivr@ivr.local>\r\n\
             Call-ID: ivr-codecs-{contact}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:acd@127.0.0.1:5060;transport=tcp>\r\nMax-Forwards: 70\r\n\
             X-SoftACD-Contact: {contact}\r\nX-SoftACD-Script: tone\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        self.sip_in.send(invite.into_bytes()).await.unwrap();
        let codes = [self.response().await.code, self.response().await.code];
        assert_eq!(codes, [100, 180]);
        let ok = self.response().await;
        assert_eq!(ok.code, 200, "{:?}", String::from_utf8_lossy(&ok.body));
        let (to, from) = (
            ok.headers.get("To").unwrap(),
            ok.headers.get("From").unwrap(),
        );
        let call_id = ok.call_id().unwrap();
        let ack = format!(
            "ACK sip:ivr@ivr.local:5060;transport=tcp SIP/2.0\r\n\
             Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKack-{call_id}\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        self.sip_in.send(ack.into_bytes()).await.unwrap();
        ok
    }

    /// The IVR hangs up after the prompt: answer its BYE.
    async fn accept_bye(&mut self) {
        let Message::Request(bye) = self.recv().await else {
            panic!("expected the IVR's BYE");
        };
        assert_eq!(bye.method.as_str(), "BYE");
        let ok = response_to(&bye, 200, None).to_bytes();
        self.sip_in.send(ok).await.unwrap();
    }
}

fn offer(rtp: SocketAddr, mline_pts: &str, rtpmaps: &str) -> String {
    format!(
        "v=0\r\no=acd 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {mline_pts}\r\n{rtpmaps}a=sendrecv\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
}

/// Receive the whole prompt: (payload type, timestamp, payload) per packet
/// until the stream falls quiet.
async fn receive_prompt(sock: &UdpSocket) -> Vec<(u8, u32, Vec<u8>)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    let mut wait = WAIT;
    while let Ok(Ok((n, _))) = timeout(wait, sock.recv_from(&mut buf)).await {
        let p = rtp::parse(&buf[..n]).expect("the IVR sends valid RTP");
        got.push((
            p.header.payload_type,
            p.header.timestamp,
            p.payload.to_vec(),
        ));
        wait = Duration::from_millis(400);
    }
    got
}

/// The prompt arrived whole in `codec` and decodes to the 1 kHz tone.
fn check_tone(codec: Codec, pt: u8, packets: &[(u8, u32, Vec<u8>)]) {
    assert!(
        (70..=80).contains(&packets.len()),
        "1.5 s is 75 packets, got {}",
        packets.len()
    );
    let mut dec = PcmDecoder::new(codec).unwrap();
    let mut pcm = Vec::new();
    for (i, (p, ts, payload)) in packets.iter().enumerate() {
        assert_eq!(*p, pt);
        if i > 0 {
            let step = ts.wrapping_sub(packets[i - 1].1);
            assert_eq!(
                step,
                codec.timestamp_step(),
                "{codec:?} RTP clock per 20 ms"
            );
        }
        assert_eq!(dec.decode(payload, &mut pcm).unwrap(), 160);
    }
    // Skip the start (codec delay) and the end (padding, fade).
    let steady = &pcm[1600..pcm.len() - 1600];
    let share = tone_share(steady, 8000, 1000.0);
    assert!(share > 0.9, "{codec:?}: 1 kHz share {share}");
    let level = rms(steady) / 32767.0;
    assert!(
        (0.25..0.45).contains(&level),
        "{codec:?}: level {level}, want about 0.35 (-6 dBFS sine)"
    );
}

#[tokio::test]
async fn a_caller_offering_g722_first_hears_the_prompt_in_g722() {
    let assets = Assets::make("g722");
    let mut acd = start(&assets, 55000);
    let caller = UdpSocket::bind((LO, 0)).await.unwrap();
    let sdp = offer(
        caller.local_addr().unwrap(),
        "9 0 101",
        "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
    );
    let ok = acd.call(21, &sdp).await;
    let answer = parse_offer(&ok.body).expect("SDP answer");
    assert_eq!(answer.payload_types, [9, 101]);
    assert!(answer
        .rtpmaps
        .iter()
        .any(|r| r.encoding == "G722" && r.clock_rate == 8000));
    let packets = receive_prompt(&caller).await;
    check_tone(Codec::G722, 9, &packets);
    acd.accept_bye().await;
}

#[tokio::test]
async fn a_caller_offering_opus_first_hears_the_prompt_in_opus() {
    let assets = Assets::make("opus");
    let mut acd = start(&assets, 56000);
    let caller = UdpSocket::bind((LO, 0)).await.unwrap();
    let sdp = offer(
        caller.local_addr().unwrap(),
        "96 0 101 102",
        "a=rtpmap:96 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=rtpmap:102 telephone-event/48000\r\n",
    );
    let ok = acd.call(22, &sdp).await;
    let answer = parse_offer(&ok.body).expect("SDP answer");
    assert_eq!(answer.payload_types, [96, 102], "telephone-event at 48 kHz");
    let packets = receive_prompt(&caller).await;
    check_tone(Codec::Opus, 96, &packets);
    acd.accept_bye().await;
}
