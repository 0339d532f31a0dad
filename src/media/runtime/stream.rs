//! One media-server RTP stream as its media thread sees it: its socket
//! (and RTCP socket unless RFC 5761 rtcp-mux), the symmetric-RTP
//! [`Latch`], the RFC 4733 [`DtmfReceiver`], the in-band
//! [`InbandDetector`] (when `[media] dtmf` has "inband"), the [`Player`]
//! and the RTCP state ([`crate::media::rtcp`]). Each 20 ms tick the thread first drains
//! what arrived (so a digit stops an interruptible prompt before the next
//! packet is due: barge-in, mission step 4), then sends the player's next
//! packet and, every ~5 s, an RTCP report. Every received datagram reaches
//! the stream through [`Stream::on_datagram`] — the one place to hook
//! payload inspection (RTCP demux, RTP latching, telephone-events,
//! in-band tones, the voicemail tap).
//! Socket calls are non-blocking: a full socket drops a packet, never
//! stalls the other streams.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};

use crate::media::dtmf_inband::{InbandDetector, InbandDigit};
use crate::media::player::{Player, TickResult};
use crate::media::recording::{Party, Tap};
use crate::media::rfc4733::DtmfReceiver;
use crate::media::rtcp::{self, ReceiverStats, ReportTimer, SenderInfo};
use crate::media::rtp;
use crate::media::{Codec, DtmfPaths};

use super::latch::Latch;
use super::StreamStats;

/// Most datagrams read from one socket per tick; the rest wait in the
/// kernel buffer for the next tick.
pub const MAX_RECV_PER_TICK: usize = 16;

/// The tick's time, read once by the media thread and passed down.
#[derive(Debug, Clone, Copy)]
pub struct TickTime {
    /// Milliseconds since the media thread started.
    pub ms: u64,
    /// 64-bit NTP wall-clock time (RFC 3550 §4) for SR.
    pub ntp: u64,
}

impl TickTime {
    /// Our clock in 8 kHz RTP units, for interarrival jitter (§A.8).
    fn rtp_units(self) -> u32 {
        (self.ms.wrapping_mul(8)) as u32
    }
}

/// What one tick's sending did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendOutcome {
    pub sent: bool,
    pub dropped: bool,
    /// A non-loop playback finished on this tick: report PlaybackDone.
    pub done: bool,
}

pub struct Stream {
    socket: UdpSocket,
    /// `None` with rtcp-mux: RTCP shares `socket`.
    rtcp_socket: Option<UdpSocket>,
    latch: Latch,
    rtcp_latch: Latch,
    dtmf_pt: Option<u8>,
    dtmf: Option<DtmfReceiver>,
    /// The negotiated audio codec and payload type, for in-band DTMF.
    audio: (Codec, u8),
    inband: Option<InbandDetector>,
    /// In-band keys of the packet being handled (reused, no allocation).
    inband_keys: Vec<InbandDigit>,
    pub player: Player,
    /// Where the caller's audio packets are copied (a voicemail recording).
    pub recorder: Option<Tap>,
    /// False while the peer holds us (RFC 3264 §8.4): no RTP goes out and
    /// the playback pauses.
    pub sending: bool,
    reception: ReceiverStats,
    timer: ReportTimer,
    sent_since_report: bool,
    last_rtp_ts: u32,
    octets_sent: u64,
    stats: StreamStats,
    cname: String,
}

impl Stream {
    pub fn new(
        socket: UdpSocket,
        rtcp_socket: Option<UdpSocket>,
        player: Player,
        paths: DtmfPaths,
    ) -> Stream {
        let cname = match socket.local_addr() {
            Ok(a) => format!("softacd-ivr@{a}"),
            Err(_) => "softacd-ivr".to_string(),
        };
        Stream {
            socket,
            rtcp_socket,
            latch: Latch::default(),
            rtcp_latch: Latch::default(),
            dtmf_pt: None,
            dtmf: paths.rfc4733.then(DtmfReceiver::new),
            audio: (Codec::Pcmu, Codec::Pcmu.payload_type()),
            inband: paths.inband.then(InbandDetector::new),
            inband_keys: Vec::with_capacity(4),
            player,
            recorder: None,
            sending: true,
            reception: ReceiverStats::default(),
            timer: ReportTimer::default(),
            sent_since_report: false,
            last_rtp_ts: 0,
            octets_sent: 0,
            stats: StreamStats::default(),
            cname,
        }
    }

    /// Apply the negotiated SDP: remote address (latching starts over),
    /// codec and the telephone-event payload type. Without rtcp-mux the
    /// peer's RTCP is expected on its RTP port + 1 (RFC 3550 §11).
    pub fn configure(&mut self, remote: SocketAddr, codec: Codec, pt: u8, dtmf_pt: Option<u8>) {
        self.latch.set_remote(remote);
        let mut rtcp_remote = remote;
        rtcp_remote.set_port(remote.port().wrapping_add(1));
        self.rtcp_latch.set_remote(rtcp_remote);
        self.player.set_codec(codec, pt);
        self.dtmf_pt = dtmf_pt;
        self.audio = (codec, pt);
        if let Some(d) = self.dtmf.as_mut() {
            d.reset();
        }
        if let Some(d) = self.inband.as_mut() {
            d.reset();
        }
    }

    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Drain arrived datagrams; digits pressed are pushed to `digits`
    /// after an interruptible prompt was stopped. Returns datagrams read.
    pub fn receive(&mut self, buf: &mut [u8], now: TickTime, digits: &mut Vec<char>) -> u64 {
        let mut packets = 0;
        for _ in 0..MAX_RECV_PER_TICK {
            let Some((n, src)) = recv(&self.socket, buf) else {
                break;
            };
            packets += 1;
            if let Some(data) = buf.get(..n) {
                self.on_datagram(data, src, now, digits);
            }
        }
        for _ in 0..MAX_RECV_PER_TICK {
            let Some((n, src)) = self.rtcp_socket.as_ref().and_then(|s| recv(s, buf)) else {
                break;
            };
            if let Some(data) = buf.get(..n) {
                if self.rtcp_latch.on_packet(src) {
                    self.on_rtcp(data, now);
                }
            }
        }
        packets
    }

    /// One datagram from the RTP port: RTCP if multiplexed (RFC 5761 §4),
    /// else RTP from the latched peer — telephone-events go to the RFC
    /// 4733 receiver, every packet to the reception statistics.
    pub fn on_datagram(
        &mut self,
        data: &[u8],
        src: SocketAddr,
        now: TickTime,
        digits: &mut Vec<char>,
    ) {
        if self.rtcp_socket.is_none() && rtcp::is_rtcp(data) {
            if self.latch.on_packet(src) {
                self.on_rtcp(data, now);
            }
            return;
        }
        let Ok(pkt) = rtp::parse(data) else {
            return;
        };
        if !self.latch.on_packet(src) {
            return;
        }
        let h = pkt.header;
        self.stats.packets_received += 1;
        self.reception
            .on_rtp(h.ssrc, h.sequence, h.timestamp, now.rtp_units());
        if self.audio.1 == h.payload_type {
            if let Some(tap) = &self.recorder {
                tap.packet(Party::Caller, data);
            }
            return self.on_audio(pkt.payload, digits);
        }
        let (Some(dtmf), true) = (self.dtmf.as_mut(), self.dtmf_pt == Some(h.payload_type)) else {
            return;
        };
        match dtmf.on_packet(h.timestamp, h.sequence, h.marker, pkt.payload) {
            Ok(Some(press)) => {
                self.player.on_digit();
                digits.push(press.key);
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "media: bad telephone-event"),
        }
    }

    /// G.711 audio from the caller: in-band DTMF, when on.
    fn on_audio(&mut self, payload: &[u8], digits: &mut Vec<char>) {
        let Some(inband) = self.inband.as_mut() else {
            return;
        };
        inband.push_g711(self.audio.0, payload, &mut self.inband_keys);
        for found in self.inband_keys.drain(..) {
            self.player.on_digit();
            digits.push(found.key);
        }
    }

    fn on_rtcp(&mut self, data: &[u8], now: TickTime) {
        let report = match rtcp::parse(data) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "media: bad rtcp");
                return;
            }
        };
        self.stats.rtcp_received += 1;
        if let Some(s) = report.sender {
            self.reception.on_sender_report(s.ntp, now.ms);
        }
        if let Some(b) = report.block.filter(|b| b.ssrc == self.player.ssrc()) {
            self.stats.remote_jitter = Some(b.jitter);
            self.stats.remote_fraction_lost = Some(b.fraction_lost);
            self.stats.remote_cumulative_lost = Some(b.cumulative_lost);
        }
    }

    /// Produce and send this tick's packet, if any, then RTCP when due.
    pub fn send(&mut self, buf: &mut [u8], now: TickTime) -> SendOutcome {
        let out = self.send_rtp(buf);
        if self.timer.due(now.ms) {
            self.send_rtcp(buf, now);
        }
        out
    }

    fn send_rtp(&mut self, buf: &mut [u8]) -> SendOutcome {
        if !self.sending {
            self.player.hold_tick();
            return SendOutcome::default();
        }
        let (len, done) = match self.player.tick(buf) {
            Ok(TickResult::Packet(n)) => (Some(n), false),
            Ok(TickResult::Silence) => (None, false),
            Ok(TickResult::Finished(n)) => (n, true),
            Err(e) => {
                tracing::warn!(error = %e, "media: player tick failed");
                (None, false)
            }
        };
        let mut out = SendOutcome {
            done,
            ..SendOutcome::default()
        };
        let (Some(packet), Some(remote)) = (len.and_then(|n| buf.get(..n)), self.latch.remote())
        else {
            return out;
        };
        match self.socket.send_to(packet, remote) {
            Ok(_) => {
                out.sent = true;
                self.stats.packets_sent += 1;
                self.sent_since_report = true;
                if let Ok(p) = rtp::parse(packet) {
                    self.last_rtp_ts = p.header.timestamp;
                    self.octets_sent += p.payload.len() as u64;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, %remote, "media: rtp send dropped");
                out.dropped = true;
            }
        }
        out
    }

    /// SR if we sent RTP since the last report, else RR (RFC 3550 §6.4).
    fn send_rtcp(&mut self, buf: &mut [u8], now: TickTime) {
        let sender = self.sent_since_report.then_some(SenderInfo {
            ntp: now.ntp,
            rtp_timestamp: self.last_rtp_ts,
            packets: self.stats.packets_sent as u32,
            octets: self.octets_sent as u32,
        });
        self.sent_since_report = false;
        let block = self.reception.report_block(now.ms);
        self.stats.local_jitter = self.reception.jitter();
        self.stats.local_lost = self.reception.cumulative_lost();
        let n = match rtcp::write_report(buf, self.player.ssrc(), sender, block, &self.cname) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "media: rtcp report not built");
                return;
            }
        };
        let Some(report) = buf.get(..n) else {
            return;
        };
        let sent = match &self.rtcp_socket {
            Some(s) => self.rtcp_latch.remote().map(|to| s.send_to(report, to)),
            None => self
                .latch
                .remote()
                .map(|to| self.socket.send_to(report, to)),
        };
        match sent {
            Some(Ok(_)) => self.stats.rtcp_sent += 1,
            Some(Err(e)) => tracing::debug!(error = %e, "media: rtcp send dropped"),
            None => {}
        }
    }
}

/// One non-blocking receive; `None` when nothing is waiting (or on error).
fn recv(socket: &UdpSocket, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
    match socket.recv_from(buf) {
        Ok(got) => Some(got),
        Err(e) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => {
            tracing::debug!(error = %e, "media: receive failed");
            None
        }
    }
}
