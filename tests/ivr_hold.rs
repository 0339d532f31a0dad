//! Hold at the IVR end to end (issue 4, "Codecs": `a=sendonly/recvonly/
//! inactive`; RFC 3264 §8.4, §6.1): the test plays the SoftACD on the IVR
//! shell's in-process SIP channels and the caller with a real UDP socket for
//! RTP. The caller's welcome prompt flows; a re-INVITE with `a=sendonly`
//! is answered `a=recvonly` and the IVR's RTP stops; `a=inactive` keeps it
//! stopped; `a=recvonly` is answered `a=sendonly` and the RTP resumes; so
//! does `a=sendrecv`. A caller offering `a=ptime:40` gets `a=ptime:40` in
//! the answer and 40 ms packets (320 PCMU bytes, timestamps 320 apart);
//! `a=ptime:30` (not a multiple of the 20 ms tick) gets 20. Every wait is a
//! receive with a timeout.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use softacd::ivr::script;
use softacd::ivr::shell::{self, IvrChannels};
use softacd::media::prompt::PromptCache;
use softacd::media::rtp;
use softacd::media::sdp::{parse_offer, Direction};
use softacd::sip::{parse_message, HeaderView, Message, Response};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(3);
/// Longer than any packet still in flight when the hold is answered.
const SETTLE: Duration = Duration::from_millis(200);
/// A held stream must stay silent this long.
const SILENT: Duration = Duration::from_millis(600);

struct SoftAcd {
    sip_in: mpsc::Sender<Vec<u8>>,
    sip_out: mpsc::Receiver<Vec<u8>>,
    _cti_in: mpsc::Sender<softacd::b2bua::CtiToIvr>,
    _cti_out: mpsc::Receiver<softacd::ivr::shell::IvrToCti>,
    _stop: watch::Sender<bool>,
}

fn start() -> SoftAcd {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let media = root.join("media");
    let prompts = Arc::new(PromptCache::load_dir(&media).expect("shipped prompts load"));
    let exists = move |name: &str| media.join(format!("{name}.wav")).is_file();
    let scripts: BTreeMap<_, _> =
        script::load_dir(&root.join("ivr-scripts"), &exists).expect("scripts load");
    let (sip_in_tx, sip_in) = mpsc::channel(64);
    let (sip_out, sip_out_rx) = mpsc::channel(64);
    let (cti_in_tx, cti_in) = mpsc::channel(64);
    let (cti_out, cti_out_rx) = mpsc::channel(64);
    let (stop_tx, stop) = watch::channel(false);
    let cfg = common::ivr_shell_config((46000, 48999), 4, 1);
    let ch = IvrChannels {
        sip_in,
        sip_out,
        cti_in,
        cti_out,
    };
    shell::spawn(cfg, scripts, prompts, ch, stop);
    SoftAcd {
        sip_in: sip_in_tx,
        sip_out: sip_out_rx,
        _cti_in: cti_in_tx,
        _cti_out: cti_out_rx,
        _stop: stop_tx,
    }
}

impl SoftAcd {
    async fn send(&self, raw: String) {
        self.sip_in
            .send(raw.into_bytes())
            .await
            .expect("shell runs");
    }

    async fn response(&mut self) -> Response {
        let bytes = timeout(WAIT, self.sip_out.recv())
            .await
            .expect("a SIP message in time")
            .expect("shell runs");
        match parse_message(&bytes).expect("valid SIP") {
            Message::Response(r) => r,
            Message::Request(r) => panic!("expected a response, got {}", r.method),
        }
    }

    /// A final response to the request with this CSeq number.
    async fn final_for(&mut self, cseq: u32) -> Response {
        loop {
            let r = self.response().await;
            if r.code >= 200 && r.cseq().map(|c| c.seq).ok() == Some(cseq) {
                return r;
            }
        }
    }
}

/// Our offer, ending with the attribute lines `attrs`.
fn sdp(rtp: SocketAddr, version: u32, attrs: &str) -> String {
    format!(
        "v=0\r\no=acd 1 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n{attrs}\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
}

/// An INVITE (initial when `to` has no tag) with CSeq `cseq`.
fn invite(to: &str, cseq: u32, body: &str) -> String {
    format!(
        "INVITE sip:ivr@ivr.local SIP/2.0\r\n\
         Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKhold{cseq}\r\n\
         From: <sip:acd@acd.local>;tag=acdhold\r\nTo: {to}\r\n\
         Call-ID: ivr-hold-1\r\nCSeq: {cseq} INVITE\r\n\
         Contact: <sip:acd@127.0.0.1:5060;transport=tcp>\r\nMax-Forwards: 70\r\n\
         X-SoftACD-Contact: 21\r\nX-SoftACD-Script: main\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn ack(to: &str, cseq: u32) -> String {
    format!(
        "ACK sip:ivr@ivr.local:5060;transport=tcp SIP/2.0\r\n\
         Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKholdack{cseq}\r\n\
         From: <sip:acd@acd.local>;tag=acdhold\r\nTo: {to}\r\n\
         Call-ID: ivr-hold-1\r\nCSeq: {cseq} ACK\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// How many RTP packets arrive within `window`.
async fn rtp_count(sock: &UdpSocket, window: Duration) -> usize {
    let end = tokio::time::Instant::now() + window;
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while let Ok(Ok((len, _))) = tokio::time::timeout_at(end, sock.recv_from(&mut buf)).await {
        if rtp::parse(&buf[..len]).is_ok() {
            n += 1;
        }
    }
    n
}

/// Re-INVITE with `offered`; the 200's direction, after ACKing it.
async fn reinvite(
    acd: &mut SoftAcd,
    to: &str,
    rtp: SocketAddr,
    cseq: u32,
    offered: &str,
) -> Direction {
    acd.send(invite(to, cseq, &sdp(rtp, cseq, &format!("a={offered}"))))
        .await;
    let ok = acd.final_for(cseq).await;
    assert_eq!(ok.code, 200, "re-INVITE a={offered}");
    acd.send(ack(to, cseq)).await;
    parse_offer(&ok.body).expect("SDP answer").direction
}

#[tokio::test]
async fn hold_and_resume_at_the_ivr_stop_and_restart_its_rtp() {
    let mut acd = start();
    let caller = UdpSocket::bind((LO, 0)).await.expect("bind");
    let me = caller.local_addr().expect("addr");
    acd.send(invite("<sip:ivr@ivr.local>", 1, &sdp(me, 1, "a=sendrecv")))
        .await;
    let ok = acd.final_for(1).await;
    assert_eq!(ok.code, 200);
    let to = ok.headers.get("To").expect("To").to_string();
    acd.send(ack(&to, 1)).await;
    assert!(
        rtp_count(&caller, Duration::from_millis(500)).await >= 10,
        "welcome flows"
    );

    // The caller puts the IVR on hold: we may only receive.
    assert_eq!(
        reinvite(&mut acd, &to, me, 2, "sendonly").await,
        Direction::RecvOnly
    );
    rtp_count(&caller, SETTLE).await;
    assert_eq!(rtp_count(&caller, SILENT).await, 0, "no RTP while held");
    assert_eq!(
        reinvite(&mut acd, &to, me, 3, "inactive").await,
        Direction::Inactive
    );
    assert_eq!(rtp_count(&caller, SILENT).await, 0, "no RTP while inactive");

    // recvonly: the caller only listens, so we send again.
    assert_eq!(
        reinvite(&mut acd, &to, me, 4, "recvonly").await,
        Direction::SendOnly
    );
    assert!(
        rtp_count(&caller, SILENT).await >= 10,
        "RTP resumes on recvonly"
    );
    assert_eq!(
        reinvite(&mut acd, &to, me, 5, "inactive").await,
        Direction::Inactive
    );
    rtp_count(&caller, SETTLE).await;
    assert_eq!(rtp_count(&caller, SILENT).await, 0);
    assert_eq!(
        reinvite(&mut acd, &to, me, 6, "sendrecv").await,
        Direction::SendRecv
    );
    assert!(
        rtp_count(&caller, SILENT).await >= 10,
        "RTP resumes on sendrecv"
    );
}

/// The first `n` RTP packets: (timestamp, payload length).
async fn packets(sock: &UdpSocket, n: usize) -> Vec<(u32, usize)> {
    let mut buf = [0u8; 2048];
    let mut got = Vec::new();
    while got.len() < n {
        let (len, _) = timeout(WAIT, sock.recv_from(&mut buf))
            .await
            .expect("RTP in time")
            .expect("recv");
        if let Ok(p) = rtp::parse(&buf[..len]) {
            got.push((p.header.timestamp, p.payload.len()));
        }
    }
    got
}

/// Call with `a=ptime:<offered>`: the answer's ptime and the first packets.
async fn call_with_ptime(offered: u32) -> (Option<u32>, Vec<(u32, usize)>) {
    let mut acd = start();
    let caller = UdpSocket::bind((LO, 0)).await.expect("bind");
    let me = caller.local_addr().expect("addr");
    let body = sdp(me, 1, &format!("a=ptime:{offered}\r\na=sendrecv"));
    acd.send(invite("<sip:ivr@ivr.local>", 1, &body)).await;
    let ok = acd.final_for(1).await;
    assert_eq!(ok.code, 200);
    let to = ok.headers.get("To").expect("To").to_string();
    acd.send(ack(&to, 1)).await;
    let answered = parse_offer(&ok.body).expect("SDP answer").ptime;
    (answered, packets(&caller, 6).await)
}

#[tokio::test]
async fn the_offers_ptime_is_answered_and_sent_when_supported() {
    let (answered, sent) = call_with_ptime(40).await;
    assert_eq!(answered, Some(40));
    // The welcome's packets: 40 ms each (the very last one of a prompt may be shorter).
    assert!(sent[..5].iter().all(|&(_, len)| len == 320), "{sent:?}");
    for w in sent.windows(2).take(4) {
        assert_eq!(w[1].0.wrapping_sub(w[0].0), 320, "{sent:?}");
    }
    let (answered, sent) = call_with_ptime(30).await;
    assert_eq!(answered, Some(20), "30 ms is answered with our 20 ms");
    assert!(sent[..5].iter().all(|&(_, len)| len == 160), "{sent:?}");
}
