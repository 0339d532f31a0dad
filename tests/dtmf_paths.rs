//! The DTMF paths over real UDP sockets on 127.0.0.1 (issue 4): a caller's
//! gateway that sends the key as tones inside its G.711 audio reaches the
//! IVR's digit stream and barges in on the prompt, exactly like an RFC
//! 4733 event; with "inband" off in `[media] dtmf` the same audio is only
//! audio. Every wait is a receive with a timeout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
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
    let (media, mut events) = start(DtmfPaths::default(), (40000, 40999));
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
    let (media, mut events) = start(DtmfPaths::default(), (41000, 41999));
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
    let (media, mut events) = start(paths, (42000, 42999));
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
