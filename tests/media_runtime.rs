//! The media runtime and relay over real UDP sockets on 127.0.0.1 (mission
//! step 4, issue 3): prompt playback as RTP, RFC 4733 barge-in, hold-music
//! loops, symmetric-RTP latching, and the SoftACD relay re-pointing its
//! B side from the IVR to the agent. Every wait is a receive with a
//! timeout; nothing sleeps to synchronise.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use softacd::media::prompt::PromptCache;
use softacd::media::relay::{Relay, Side};
use softacd::media::rfc4733::DtmfSender;
use softacd::media::rtp::{self, RtpHeader, RtpSender};
use softacd::media::runtime::{
    MediaError, MediaEvent, MediaHandle, MediaRuntime, MediaRuntimeConfig, StreamId,
};
use softacd::media::Codec;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::timeout;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PORT_MIN: u16 = 30000;
const PORT_MAX: u16 = 39999;
const DTMF_PT: u8 = 101;
/// Generous bound for one packet or event on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(2);
/// Quiet period that means "nothing more is coming".
const QUIET: Duration = Duration::from_millis(300);

fn prompts() -> Arc<PromptCache> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("media");
    Arc::new(PromptCache::load_dir(&dir).expect("shipped prompts load"))
}

fn start(max_streams: usize) -> (MediaHandle, mpsc::Receiver<MediaEvent>, Arc<PromptCache>) {
    let cache = prompts();
    let (tx, rx) = mpsc::channel(64);
    let cfg = MediaRuntimeConfig {
        bind_ip: LO,
        port_min: PORT_MIN,
        port_max: PORT_MAX,
        max_streams,
        dtmf: softacd::media::DtmfPaths::default(),
        rtp_threads: 2,
    };
    (MediaRuntime::start(cfg, cache.clone(), tx), rx, cache)
}

async fn peer() -> UdpSocket {
    UdpSocket::bind((LO, 0)).await.unwrap()
}

/// One received RTP packet, owned.
#[derive(Debug)]
struct Got {
    header: RtpHeader,
    payload: Vec<u8>,
    from: SocketAddr,
}

async fn recv_rtp(sock: &UdpSocket, wait: Duration) -> Option<Got> {
    let mut buf = [0u8; 2048];
    let (n, from) = timeout(wait, sock.recv_from(&mut buf)).await.ok()?.ok()?;
    let p = rtp::parse(&buf[..n]).expect("runtime sends valid RTP");
    Some(Got {
        header: p.header,
        payload: p.payload.to_vec(),
        from,
    })
}

/// Packets arriving until the socket stays quiet for [`QUIET`].
async fn drain(sock: &UdpSocket) -> usize {
    let mut n = 0;
    while recv_rtp(sock, QUIET).await.is_some() {
        n += 1;
    }
    n
}

async fn next_event(events: &mut mpsc::Receiver<MediaEvent>) -> MediaEvent {
    timeout(WAIT, events.recv())
        .await
        .expect("event in time")
        .expect("runtime alive")
}

/// Open stream `id` and point it at `remote` as PCMU with DTMF.
async fn open_toward(media: &MediaHandle, id: u64, remote: &UdpSocket) -> SocketAddr {
    let id = StreamId(id);
    let local = media.open_stream(id).await.unwrap();
    let to = remote.local_addr().unwrap();
    media
        .configure(id, to, Codec::Pcmu, 0, Some(DTMF_PT))
        .unwrap();
    local
}

/// Send a whole RFC 4733 key press from `sock` to `to`.
async fn press(sock: &UdpSocket, to: SocketAddr, key: char) {
    let mut numbering = RtpSender::new(0x5EED, 0, 1000, 80_000);
    let mut buf = [0u8; 64];
    for pkt in DtmfSender::new(key, 80_000, 800, 10).unwrap() {
        let h = numbering.event_header(DTMF_PT, pkt.timestamp, pkt.marker);
        let n = rtp::write_packet(&h, &pkt.payload, &mut buf).unwrap();
        sock.send_to(&buf[..n], to).await.unwrap();
    }
}

#[tokio::test]
async fn welcome_plays_as_contiguous_pcmu_frames_then_playback_done() {
    let (media, mut events, cache) = start(8);
    let caller = peer().await;
    let local = open_toward(&media, 1, &caller).await;
    assert_eq!(local.ip(), LO);
    assert_eq!(local.port() % 2, 0, "RTP on an even port");
    assert!((PORT_MIN..=PORT_MAX).contains(&local.port()));

    media
        .play(StreamId(1), vec!["welcome".into()], false)
        .unwrap();
    let welcome = cache.get("welcome").unwrap();
    let first = recv_rtp(&caller, WAIT).await.expect("first packet");
    assert!(first.header.marker, "talkspurt starts with the marker");
    assert_eq!(first.from, local, "sent from the stream's own port");
    let mut prev = first.header;
    assert_eq!(first.payload, welcome.frame(Codec::Pcmu, 0).unwrap());
    for i in 1..welcome.frame_count() {
        let got = recv_rtp(&caller, WAIT).await.expect("every frame arrives");
        let h = got.header;
        assert_eq!(h.payload_type, 0);
        assert_eq!(h.ssrc, prev.ssrc, "SSRC constant");
        assert_eq!(h.sequence, prev.sequence.wrapping_add(1), "frame {i}");
        assert_eq!(h.timestamp, prev.timestamp.wrapping_add(160), "frame {i}");
        assert!(!h.marker);
        assert_eq!(got.payload, welcome.frame(Codec::Pcmu, i).unwrap());
        prev = h;
    }
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlaybackDone { id: StreamId(1) }
    );
    assert_eq!(drain(&caller).await, 0, "silence after the prompt");
    assert!(events.try_recv().is_err(), "done is reported once");
    let stats = media.stats();
    assert_eq!(stats.streams, 1);
    assert_eq!(stats.packets_sent, welcome.frame_count() as u64);
}

#[tokio::test]
async fn a_digit_barges_in_and_is_reported() {
    let (media, mut events, _) = start(8);
    let caller = peer().await;
    let local = open_toward(&media, 7, &caller).await;
    media.play(StreamId(7), vec!["info".into()], true).unwrap();
    for _ in 0..5 {
        recv_rtp(&caller, WAIT).await.expect("prompt is playing");
    }
    press(&caller, local, '5').await;
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::Digit {
            id: StreamId(7),
            key: '5'
        }
    );
    let after = drain(&caller).await;
    assert!(after <= 2, "{after} packets after the digit");
    assert!(events.try_recv().is_err(), "no PlaybackDone after barge-in");
    assert!(media.stats().packets_received >= 1);
}

#[tokio::test]
async fn a_digit_does_not_stop_an_uninterruptible_prompt() {
    let (media, mut events, _) = start(8);
    let caller = peer().await;
    let local = open_toward(&media, 3, &caller).await;
    media.play(StreamId(3), vec!["info".into()], false).unwrap();
    recv_rtp(&caller, WAIT).await.expect("prompt is playing");
    press(&caller, local, '#').await;
    let digit = next_event(&mut events).await;
    assert_eq!(
        digit,
        MediaEvent::Digit {
            id: StreamId(3),
            key: '#'
        }
    );
    for _ in 0..10 {
        recv_rtp(&caller, WAIT).await.expect("prompt keeps playing");
    }
    media.stop(StreamId(3)).unwrap();
    assert!(drain(&caller).await <= 2);
}

#[tokio::test]
async fn hold_loop_runs_past_the_prompt_until_stopped() {
    let (media, mut events, cache) = start(8);
    let caller = peer().await;
    open_toward(&media, 2, &caller).await;
    media.play_loop(StreamId(2), "beep".into()).unwrap();
    let beep = cache.get("beep").unwrap();
    let frames = beep.frame_count();
    let mut prev: Option<RtpHeader> = None;
    for i in 0..3 * frames + 5 {
        let got = recv_rtp(&caller, WAIT).await.expect("loop keeps playing");
        assert_eq!(got.payload, beep.frame(Codec::Pcmu, i % frames).unwrap());
        if let Some(p) = prev {
            assert_eq!(got.header.sequence, p.sequence.wrapping_add(1));
            assert!(!got.header.marker, "wrapping is one talkspurt");
        }
        prev = Some(got.header);
    }
    media.stop(StreamId(2)).unwrap();
    assert!(drain(&caller).await <= 2, "stop is immediate");
    assert!(events.try_recv().is_err(), "a loop never reports done");
}

#[tokio::test]
async fn the_stream_latches_to_the_first_packets_source() {
    let (media, _events, _) = start(8);
    let sdp_addr = peer().await;
    let behind_nat = peer().await;
    let local = open_toward(&media, 4, &sdp_addr).await;
    media.play_loop(StreamId(4), "hold".into()).unwrap();
    recv_rtp(&sdp_addr, WAIT)
        .await
        .expect("SDP address used first");
    press(&behind_nat, local, '1').await;
    let got = recv_rtp(&behind_nat, WAIT).await.expect("latched");
    assert_eq!(got.from, local);
    // The old address may see the packet or two that were in flight.
    assert!(drain(&sdp_addr).await <= 2);
    media.close(StreamId(4)).unwrap();
}

#[tokio::test]
async fn requests_are_checked_and_streams_are_bounded() {
    let (media, _events, _) = start(2);
    let a = media.open_stream(StreamId(1)).await.unwrap();
    assert!(matches!(
        media.open_stream(StreamId(1)).await,
        Err(MediaError::DuplicateStream(StreamId(1)))
    ));
    let b = media.open_stream(StreamId(2)).await.unwrap();
    assert_ne!(a, b);
    assert!(matches!(
        media.open_stream(StreamId(3)).await,
        Err(MediaError::TooManyStreams { max: 2 })
    ));
    let err = media
        .play(StreamId(1), vec!["welcome".into(), "nope".into()], false)
        .unwrap_err();
    assert!(
        matches!(&err, MediaError::UnknownPrompt(n) if n == "nope"),
        "{err}"
    );
    assert!(matches!(
        media.play_loop(StreamId(1), "nope".into()),
        Err(MediaError::UnknownPrompt(_))
    ));
    // Unknown ids are ignored, not fatal.
    media
        .play(StreamId(99), vec!["welcome".into()], false)
        .unwrap();
    media.stop(StreamId(99)).unwrap();
    media.close(StreamId(99)).unwrap();
    // Closing frees a slot (requests are applied in order).
    media.close(StreamId(1)).unwrap();
    media.open_stream(StreamId(3)).await.unwrap();
    assert_eq!(media.stats().streams, 2);
}

/// A minimal RTP packet tagged with `tag` in its payload.
fn tagged(tag: u8) -> [u8; 13] {
    let mut p = [0u8; 13];
    p[0] = 0x80;
    p[12] = tag;
    p
}

async fn recv_tag(sock: &UdpSocket, wait: Duration) -> Option<(u8, SocketAddr)> {
    let mut buf = [0u8; 64];
    let (n, from) = timeout(wait, sock.recv_from(&mut buf)).await.ok()?.ok()?;
    assert_eq!(n, 13, "forwarded unchanged");
    Some((buf[12], from))
}

#[tokio::test]
async fn relay_forwards_both_ways_and_repoints_b() {
    let relay = Relay::open(LO, PORT_MIN, PORT_MAX).unwrap();
    let (la, lb) = (relay.local_a(), relay.local_b());
    assert_ne!(la, lb);
    assert_eq!((la.port() % 2, lb.port() % 2), (0, 0));
    let caller = peer().await;
    let ivr = peer().await;
    let agent = peer().await;

    relay
        .set_remote(Side::A, caller.local_addr().unwrap())
        .unwrap();
    caller.send_to(&tagged(1), la).await.unwrap();
    // B has no address yet: packet 1 is dropped. The IVR's first packet
    // latches B (and, read after packet 1, proves 1 was handled first).
    ivr.send_to(&tagged(2), lb).await.unwrap();
    assert_eq!(recv_tag(&caller, WAIT).await, Some((2, la)));
    assert_eq!(recv_tag(&ivr, QUIET).await, None, "packet 1 was dropped");

    relay
        .set_remote(Side::B, ivr.local_addr().unwrap())
        .unwrap();
    caller.send_to(&tagged(3), la).await.unwrap();
    assert_eq!(recv_tag(&ivr, WAIT).await, Some((3, lb)));

    relay
        .set_remote(Side::B, agent.local_addr().unwrap())
        .unwrap();
    caller.send_to(&tagged(4), la).await.unwrap();
    assert_eq!(recv_tag(&agent, WAIT).await, Some((4, lb)), "re-pointed");
    ivr.send_to(&tagged(5), lb).await.unwrap();
    agent.send_to(&tagged(6), lb).await.unwrap();
    assert_eq!(
        recv_tag(&caller, WAIT).await,
        Some((6, la)),
        "the IVR's late packet is refused, the agent's passes"
    );
    assert_eq!(recv_tag(&ivr, QUIET).await, None);

    let s = relay.stats();
    assert_eq!((s.a_to_b_packets, s.b_to_a_packets), (2, 2));
    assert_eq!((s.a_to_b_bytes, s.b_to_a_bytes), (26, 26));
    assert_eq!(s.dropped, 2, "one before B was known, one from the IVR");

    relay.close().await;
    std::net::UdpSocket::bind(la).expect("side A port freed");
    std::net::UdpSocket::bind(lb).expect("side B port freed");
}
