//! The test UAs' media side: one RTP socket per UA on 127.0.0.1 that sends
//! 20 ms G.711 frames (RFC 3551 §4.5.14) and RFC 4733 key presses (§2.5.1)
//! to the peer named by the SDP exchange, and records every packet it
//! receives (source, payload type, SSRC, payload fill) so tests can check
//! where media came from (MISSION.md steps 3 and 9–10: IVR prompt, then the
//! agent, through the SoftACD in relay mode or directly in direct mode).
//!
//! Frames carry a constant "fill" byte chosen per UA, so a test can tell the
//! caller's audio from the agent's after the relay forwarded it unchanged.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use softacd::media::rfc4733::DtmfSender;
use softacd::media::rtp::{self, RtpSender};
use softacd::media::sdp::{self, LocalMedia, DEFAULT_TELEPHONE_EVENT_PT};
use softacd::media::FRAME_SAMPLES;

use super::UaError;

/// Most received packets one UA remembers (a test never needs more).
pub const MAX_RECORDED: usize = 20_000;
/// One 20 ms frame.
pub const FRAME: Duration = Duration::from_millis(20);

/// One received RTP packet, as the tests look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenPacket {
    pub from: SocketAddr,
    pub payload_type: u8,
    pub ssrc: u32,
    /// `Some(b)` when the payload is one byte `b` repeated (a test UA's frame).
    pub fill: Option<u8>,
}

/// The packets received during one observation window.
#[derive(Debug, Clone, Default)]
pub struct RtpStats {
    pub packets: Vec<SeenPacket>,
}

impl RtpStats {
    pub fn count(&self) -> usize {
        self.packets.len()
    }
    pub fn sources(&self) -> BTreeSet<SocketAddr> {
        self.packets.iter().map(|p| p.from).collect()
    }
    pub fn payload_types(&self) -> BTreeSet<u8> {
        self.packets.iter().map(|p| p.payload_type).collect()
    }
    pub fn ssrcs(&self) -> BTreeSet<u32> {
        self.packets.iter().map(|p| p.ssrc).collect()
    }
    /// Packets whose payload is `fill` repeated (frames a test UA sent).
    pub fn with_fill(&self, fill: u8) -> RtpStats {
        RtpStats {
            packets: self
                .packets
                .iter()
                .filter(|p| p.fill == Some(fill))
                .copied()
                .collect(),
        }
    }
}

/// A UA's RTP socket and its one outgoing stream.
pub struct MediaPort {
    sock: UdpSocket,
    pub local: SocketAddr,
    sender: RtpSender,
    /// Where RTP goes: the address in the peer's SDP.
    pub remote: Option<SocketAddr>,
    pub payload_type: u8,
    pub telephone_event_pt: u8,
    /// The byte every audio frame this UA sends is filled with.
    pub fill: u8,
    session_id: u64,
    session_version: u64,
}

impl MediaPort {
    /// Binds 127.0.0.1:0; `seed` gives SSRC, first sequence and timestamp.
    pub fn bind(fill: u8, seed: u64) -> Result<MediaPort, UaError> {
        let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| UaError::io("bind rtp", e))?;
        let local = sock
            .local_addr()
            .map_err(|e| UaError::io("rtp local_addr", e))?;
        let sender = RtpSender::new(seed as u32, 0, (seed >> 32) as u16, (seed >> 16) as u32);
        Ok(MediaPort {
            sock,
            local,
            sender,
            remote: None,
            payload_type: 0,
            telephone_event_pt: DEFAULT_TELEPHONE_EVENT_PT,
            fill,
            session_id: seed >> 1,
            session_version: 1,
        })
    }

    fn local_media(&mut self) -> LocalMedia {
        self.session_version += 1;
        LocalMedia {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: self.local.port(),
            session_id: self.session_id,
            session_version: self.session_version,
        }
    }

    /// Our offer: PCMU, PCMA, telephone-event/8000 on 101.
    pub fn offer(&mut self) -> String {
        let local = self.local_media();
        sdp::build_offer(&local)
    }

    /// Answer the peer's offer and aim our stream at it (RFC 3264 §6).
    pub fn answer(&mut self, offer: &[u8]) -> Result<String, UaError> {
        let parsed = sdp::parse_offer(offer).map_err(UaError::Sdp)?;
        let local = self.local_media();
        let (neg, body) = sdp::build_answer(&parsed, &local).map_err(UaError::Sdp)?;
        self.aim(neg);
        Ok(body)
    }

    /// Take the peer's answer to our offer (or a new offer's address).
    pub fn take_answer(&mut self, answer: &[u8]) -> Result<(), UaError> {
        let parsed = sdp::parse_offer(answer).map_err(UaError::Sdp)?;
        let neg = parsed.negotiate().map_err(UaError::Sdp)?;
        self.aim(neg);
        Ok(())
    }

    fn aim(&mut self, neg: sdp::Negotiated) {
        self.remote = Some(neg.remote);
        self.payload_type = neg.payload_type;
        if let Some(pt) = neg.telephone_event_pt {
            self.telephone_event_pt = pt;
        }
        let (ssrc, seq, ts) = (
            self.sender.ssrc(),
            self.sender.sequence(),
            self.sender.timestamp(),
        );
        self.sender = RtpSender::new(ssrc, neg.payload_type, seq, ts);
    }

    fn remote(&self) -> Result<SocketAddr, UaError> {
        self.remote.ok_or(UaError::NoRemoteMedia)
    }

    /// Discard everything received so far.
    pub fn flush(&mut self) {
        let _ = self.recv_window(Duration::from_millis(1), |_| false);
    }

    /// Receive until `timeout` passes or `done(stats)` holds.
    pub fn recv_rtp_until(
        &mut self,
        timeout: Duration,
        done: impl Fn(&RtpStats) -> bool,
    ) -> RtpStats {
        self.recv_window(timeout, done)
    }

    /// Receive for `timeout` or until `min_packets` arrived.
    pub fn recv_rtp(&mut self, timeout: Duration, min_packets: usize) -> RtpStats {
        self.recv_window(timeout, |s| s.count() >= min_packets)
    }

    fn recv_window(&mut self, timeout: Duration, done: impl Fn(&RtpStats) -> bool) -> RtpStats {
        let mut stats = RtpStats::default();
        let deadline = Instant::now() + timeout;
        self.recv_into(&mut stats, deadline, &done);
        stats
    }

    /// Read packets into `stats` until `deadline` or `done`.
    fn recv_into(
        &mut self,
        stats: &mut RtpStats,
        deadline: Instant,
        done: &dyn Fn(&RtpStats) -> bool,
    ) {
        let mut buf = [0u8; 2048];
        while !done(stats) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.sock.set_read_timeout(Some(left)).is_err() {
                return;
            }
            let Ok((n, from)) = self.sock.recv_from(&mut buf) else {
                return;
            };
            let Ok(pkt) = rtp::parse(buf.get(..n).unwrap_or_default()) else {
                continue;
            };
            let fill = pkt
                .payload
                .split_first()
                .filter(|(b, rest)| rest.iter().all(|x| x == *b))
                .map(|(b, _)| *b);
            if stats.packets.len() < MAX_RECORDED {
                stats.packets.push(SeenPacket {
                    from,
                    payload_type: pkt.header.payload_type,
                    ssrc: pkt.header.ssrc,
                    fill,
                });
            }
        }
    }

    fn send(&mut self, header: &rtp::RtpHeader, payload: &[u8]) -> Result<(), UaError> {
        let to = self.remote()?;
        let mut out = [0u8; 512];
        let n = rtp::write_packet(header, payload, &mut out).map_err(UaError::Rtp)?;
        self.sock
            .send_to(out.get(..n).unwrap_or_default(), to)
            .map_err(|e| UaError::io("send rtp", e))?;
        Ok(())
    }

    /// Send 20 ms frames of our fill for `duration`, receiving between
    /// frames; returns what was received meanwhile.
    pub fn talk(&mut self, duration: Duration) -> Result<RtpStats, UaError> {
        let frame = [self.fill; FRAME_SAMPLES];
        let mut stats = RtpStats::default();
        let end = Instant::now() + duration;
        let mut next = Instant::now();
        while next < end {
            let header = self.sender.next_audio(FRAME_SAMPLES as u32);
            self.send(&header, &frame)?;
            next += FRAME;
            self.recv_into(&mut stats, next, &|_| false);
        }
        Ok(stats)
    }

    /// Send a sine tone of `hz` (amplitude `amplitude`) in 20 ms G.711
    /// frames of the negotiated codec for `duration`, receiving between
    /// frames; returns what was received meanwhile.
    pub fn talk_tone(
        &mut self,
        hz: f64,
        amplitude: f64,
        duration: Duration,
    ) -> Result<RtpStats, UaError> {
        let codec = softacd::media::Codec::from_static_payload_type(self.payload_type)
            .unwrap_or(softacd::media::Codec::Pcmu);
        let mut stats = RtpStats::default();
        let end = Instant::now() + duration;
        let mut next = Instant::now();
        let mut n: u64 = 0;
        let step = 2.0 * std::f64::consts::PI * hz / f64::from(softacd::media::SAMPLE_RATE);
        while next < end {
            let pcm: Vec<i16> = (0..FRAME_SAMPLES as u64)
                .map(|i| (amplitude * ((n + i) as f64 * step).sin()) as i16)
                .collect();
            n += FRAME_SAMPLES as u64;
            let mut frame = [0u8; FRAME_SAMPLES];
            softacd::media::g711::encode(codec, &pcm, &mut frame);
            let header = self.sender.next_audio(FRAME_SAMPLES as u32);
            self.send(&header, &frame)?;
            next += FRAME;
            self.recv_into(&mut stats, next, &|_| false);
        }
        Ok(stats)
    }

    /// Press `key` (RFC 4733, 100 ms, volume 10), one packet per 20 ms,
    /// receiving between packets; returns what was received meanwhile.
    pub fn send_dtmf(&mut self, key: char) -> Result<RtpStats, UaError> {
        let duration = 5 * FRAME_SAMPLES as u16;
        let start = self.sender.timestamp();
        let dtmf = DtmfSender::new(key, start, duration, 10).map_err(UaError::Dtmf)?;
        let pt = self.telephone_event_pt;
        let mut stats = RtpStats::default();
        let mut next = Instant::now();
        for p in dtmf {
            let header = self.sender.event_header(pt, p.timestamp, p.marker);
            self.send(&header, &p.payload)?;
            next += FRAME;
            self.recv_into(&mut stats, next, &|_| false);
        }
        self.sender.skip(u32::from(duration));
        Ok(stats)
    }
}

/// How long [`assert_hears`] waits for the listener's ten frames.
const HEAR_WITHIN: Duration = Duration::from_secs(10);

/// `talker` sends 600 ms of its frames; `listener` must hear at least ten,
/// all from `via` (the relay: nothing reaches a phone directly).
pub fn assert_hears(talker: &mut MediaPort, listener: &mut MediaPort, fill: u8, via: SocketAddr) {
    let _ = talker.talk(Duration::from_millis(600));
    let heard = listener
        .recv_rtp_until(HEAR_WITHIN, |s| s.with_fill(fill).count() >= 10)
        .with_fill(fill);
    assert!(
        heard.count() >= 10,
        "heard {} frames of {fill:#x}",
        heard.count()
    );
    assert_eq!(
        heard.sources(),
        [via].into(),
        "frames of {fill:#x} via the relay"
    );
}
