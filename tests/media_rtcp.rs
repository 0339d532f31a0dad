//! RTCP at the media server over real UDP sockets on 127.0.0.1 (issue 4,
//! RFC 3550 §6, RFC 5761): a stream sends an SR with SDES CNAME every ~5 s
//! while it plays, an RR when it does not; with rtcp-mux the reports share
//! the RTP port and the peer's RR read from it lands in the stream's
//! statistics; without it RTCP goes to and comes from port + 1. Every
//! wait is a receive with a timeout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use softacd::media::prompt::PromptCache;
use softacd::media::rtcp::{self, ReportBlock, PT_RR, PT_SDES, PT_SR};
use softacd::media::rtp::{self, RtpSender};
use softacd::media::runtime::{
    MediaHandle, MediaRuntime, MediaRuntimeConfig, RtcpMode, StreamId, StreamStats,
};
use softacd::media::Codec;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// One report interval (5 s) plus slack for a loaded 2-core machine.
const REPORT_WAIT: Duration = Duration::from_secs(9);

fn start(port_min: u16) -> MediaHandle {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("media");
    let cache = Arc::new(PromptCache::load_dir(&dir).expect("shipped prompts load"));
    let (tx, _rx) = mpsc::channel(64);
    let cfg = MediaRuntimeConfig {
        bind_ip: LO,
        port_min,
        port_max: port_min + 999,
        max_streams: 4,
        rtp_threads: 2,
        dtmf: softacd::media::DtmfPaths::default(),
    };
    MediaRuntime::start(cfg, cache, tx)
}

/// The next RTCP compound on `sock` (RTP datagrams are skipped).
async fn next_rtcp(sock: &UdpSocket) -> Vec<u8> {
    let mut buf = [0u8; 1500];
    let deadline = Instant::now() + REPORT_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (n, _) = timeout(left, sock.recv_from(&mut buf))
            .await
            .expect("an RTCP report within one interval")
            .unwrap();
        if rtcp::is_rtcp(&buf[..n]) {
            return buf[..n].to_vec();
        }
    }
}

/// The server stream's SSRC, read from its next RTP packet.
async fn server_ssrc(sock: &UdpSocket) -> u32 {
    let mut buf = [0u8; 1500];
    loop {
        let (n, _) = timeout(REPORT_WAIT, sock.recv_from(&mut buf))
            .await
            .expect("RTP from the stream")
            .unwrap();
        if !rtcp::is_rtcp(&buf[..n]) {
            return rtp::parse(&buf[..n]).unwrap().header.ssrc;
        }
    }
}

async fn send_rtp(sock: &UdpSocket, to: SocketAddr, count: u16) {
    let mut numbering = RtpSender::new(0xCA11E12, 0, 100, 8000);
    let mut buf = [0u8; 200];
    for _ in 0..count {
        let h = numbering.next_audio(160);
        let n = rtp::write_packet(&h, &[0xff; 160], &mut buf).unwrap();
        sock.send_to(&buf[..n], to).await.unwrap();
    }
}

async fn send_rr(sock: &UdpSocket, to: SocketAddr, about: u32) {
    let block = ReportBlock {
        ssrc: about,
        fraction_lost: 25,
        cumulative_lost: 7,
        highest_seq: 1000,
        jitter: 321,
        lsr: 0,
        dlsr: 0,
    };
    let mut buf = [0u8; 200];
    let n = rtcp::write_report(&mut buf, 0xCA11E12, None, Some(block), "caller@test").unwrap();
    sock.send_to(&buf[..n], to).await.unwrap();
}

/// Poll the stream's figures until `done` holds (bounded).
async fn stats_until(
    media: &MediaHandle,
    id: StreamId,
    done: impl Fn(&StreamStats) -> bool,
) -> StreamStats {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tick.tick().await;
        let s = media.stream_stats(id).await.unwrap().expect("stream open");
        if done(&s) || Instant::now() > deadline {
            return s;
        }
    }
}

#[tokio::test]
async fn rtcp_mux_reports_share_the_rtp_port_both_ways() {
    let media = start(41000);
    let caller = UdpSocket::bind((LO, 0)).await.unwrap();
    let id = StreamId(1);
    let ours = media.open_stream_with(id, RtcpMode::Mux).await.unwrap();
    media
        .configure(id, caller.local_addr().unwrap(), Codec::Pcmu, 0, Some(101))
        .unwrap();
    media.play_loop(id, "hold".into()).unwrap();
    let ssrc = server_ssrc(&caller).await;
    send_rtp(&caller, ours, 10).await;

    let report = next_rtcp(&caller).await;
    assert_eq!(report[1], PT_SR, "we sent RTP: a sender report");
    let parsed = rtcp::parse(&report).unwrap();
    assert_eq!(parsed.ssrc, ssrc);
    assert!(
        parsed.sender.unwrap().packets > 100,
        "~5 s of 20 ms packets"
    );
    let block = parsed.block.expect("a block about the caller");
    assert_eq!(block.ssrc, 0xCA11E12);
    assert_eq!(block.cumulative_lost, 0);
    let sdes = &report[4 + 24 + 24..];
    assert_eq!(sdes[1], PT_SDES, "SDES follows the SR");
    assert!(String::from_utf8_lossy(sdes).contains(&format!("softacd-ivr@{ours}")));

    send_rr(&caller, ours, ssrc).await;
    let s = stats_until(&media, id, |s| s.rtcp_received > 0).await;
    assert_eq!(s.remote_jitter, Some(321));
    assert_eq!(s.remote_fraction_lost, Some(25));
    assert_eq!(s.remote_cumulative_lost, Some(7));
    assert_eq!(s.packets_received, 10, "RTCP is not counted as RTP");
    assert!(s.rtcp_sent >= 1);
}

#[tokio::test]
async fn without_mux_rtcp_uses_port_plus_one_and_rr_when_silent() {
    let media = start(43000);
    // The caller's RTP and RTCP sockets: an even port and the next one.
    let (caller_rtp, caller_rtcp) = loop {
        let a = UdpSocket::bind((LO, 0)).await.unwrap();
        let p = a.local_addr().unwrap().port();
        if p % 2 == 0 {
            if let Ok(b) = UdpSocket::bind((LO, p + 1)).await {
                break (a, b);
            }
        }
    };
    let id = StreamId(2);
    let ours = media.open_stream(id).await.unwrap();
    assert_eq!(ours.port() % 2, 0);
    let our_rtcp = SocketAddr::new(LO, ours.port() + 1);
    media
        .configure(id, caller_rtp.local_addr().unwrap(), Codec::Pcmu, 0, None)
        .unwrap();
    send_rtp(&caller_rtp, ours, 5).await;

    let report = next_rtcp(&caller_rtcp).await;
    assert_eq!(report[1], PT_RR, "nothing played: a receiver report");
    let parsed = rtcp::parse(&report).unwrap();
    assert_eq!(parsed.block.unwrap().ssrc, 0xCA11E12);
    let mut buf = [0u8; 64];
    let quiet = timeout(Duration::from_millis(200), caller_rtp.recv_from(&mut buf)).await;
    assert!(quiet.is_err(), "no RTP and no RTCP on the RTP port");

    send_rr(&caller_rtcp, our_rtcp, 0).await;
    let s = stats_until(&media, id, |s| s.rtcp_received > 0).await;
    assert_eq!(s.rtcp_received, 1);
    assert_eq!(s.remote_jitter, None, "the block was about another SSRC");
    assert_eq!(s.packets_received, 5);
}
