//! Minimal RTCP for the media server (RFC 3550 §6): a compound report
//! SR + SDES CNAME when we sent RTP since the last report, RR + SDES
//! otherwise (§6.4, §6.5, §6.1 compound rules); parsing of the peer's SR/RR
//! into the figures it reports about us (§6.4.1 fraction lost, cumulative
//! lost, interarrival jitter); our own receiver statistics (§A.1 sequence
//! tracking, §A.3 loss, §A.8 jitter); the report timer (§6.2 simplified:
//! a fixed ~5 s interval, no randomization); and RFC 5761 §4 demultiplexing
//! of RTCP from RTP on one port (second byte 192..=223, i.e. payload
//! types 64..=95 with the marker bit). Pure: time and NTP time are passed in.

use thiserror::Error;

/// RTCP packet types (RFC 3550 §12.1).
pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
/// SDES item CNAME (RFC 3550 §6.5.1).
const SDES_CNAME: u8 = 1;

/// Interval between our reports, in milliseconds (RFC 3550 §6.2 keeps the
/// 5 s minimum; we use it as the fixed interval).
pub const REPORT_INTERVAL_MS: u64 = 5000;

/// Why an RTCP packet could not be read or written.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RtcpError {
    #[error("rtcp: {0} bytes is shorter than a header")]
    Short(usize),
    #[error("rtcp: version {0}, expected 2")]
    Version(u8),
    #[error("rtcp: length field says {words} words, {left} bytes left")]
    Length { words: usize, left: usize },
    #[error("rtcp: first packet of a compound is type {0}, not SR or RR")]
    NotReport(u8),
    #[error("rtcp: output buffer of {0} bytes is too small")]
    BufferTooSmall(usize),
    #[error("rtcp: CNAME of {0} bytes is longer than 255")]
    CnameTooLong(usize),
}

/// Whether a datagram on a muxed port is RTCP rather than RTP (RFC 5761 §4).
pub fn is_rtcp(data: &[u8]) -> bool {
    matches!(data, [b0, b1, ..] if b0 >> 6 == 2 && (192..=223).contains(b1))
}

/// The sender-info block of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp of the report.
    pub ntp: u64,
    pub rtp_timestamp: u32,
    pub packets: u32,
    pub octets: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    pub fraction_lost: u8,
    /// 24-bit signed.
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP time from that source.
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

/// What we read from a peer's compound SR/RR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub ssrc: u32,
    pub sender: Option<SenderInfo>,
    /// The first report block (a media-server peer reports one source).
    pub block: Option<ReportBlock>,
}

/// Parse a compound RTCP packet; it must start with an SR or RR (§6.1).
/// Later packets (SDES, BYE, ...) are length-checked and skipped.
pub fn parse(data: &[u8]) -> Result<Report, RtcpError> {
    let (pt, count, body, rest) = split_packet(data)?;
    let mut next = rest;
    while !next.is_empty() {
        next = split_packet(next)?.3;
    }
    let ssrc = be32(body, 0).ok_or(RtcpError::Short(data.len()))?;
    let (sender, blocks_at) = match pt {
        PT_SR => {
            let info = SenderInfo {
                ntp: u64::from(be32(body, 4).ok_or(RtcpError::Short(data.len()))?) << 32
                    | u64::from(be32(body, 8).ok_or(RtcpError::Short(data.len()))?),
                rtp_timestamp: be32(body, 12).ok_or(RtcpError::Short(data.len()))?,
                packets: be32(body, 16).ok_or(RtcpError::Short(data.len()))?,
                octets: be32(body, 20).ok_or(RtcpError::Short(data.len()))?,
            };
            (Some(info), 24)
        }
        PT_RR => (None, 4),
        other => return Err(RtcpError::NotReport(other)),
    };
    let block = match count {
        0 => None,
        _ => Some(parse_block(body, blocks_at).ok_or(RtcpError::Short(data.len()))?),
    };
    Ok(Report {
        ssrc,
        sender,
        block,
    })
}

/// One packet of a compound: (packet type, count field, body after the
/// 4-byte header, the rest of the compound).
type Split<'a> = (u8, u8, &'a [u8], &'a [u8]);

fn split_packet(data: &[u8]) -> Result<Split<'_>, RtcpError> {
    let [b0, pt, l0, l1, ..] = *data else {
        return Err(RtcpError::Short(data.len()));
    };
    if b0 >> 6 != 2 {
        return Err(RtcpError::Version(b0 >> 6));
    }
    let words = usize::from(u16::from_be_bytes([l0, l1]));
    let end = 4 + words * 4;
    let left = data.len();
    if end > left {
        return Err(RtcpError::Length { words, left });
    }
    Ok((pt, b0 & 0x1f, &data[4..end], &data[end..]))
}

fn parse_block(body: &[u8], at: usize) -> Option<ReportBlock> {
    let word1 = be32(body, at + 4)?;
    let lost24 = word1 & 0x00ff_ffff;
    // Sign-extend the 24-bit cumulative loss.
    let cumulative_lost = ((lost24 << 8) as i32) >> 8;
    Some(ReportBlock {
        ssrc: be32(body, at)?,
        fraction_lost: (word1 >> 24) as u8,
        cumulative_lost,
        highest_seq: be32(body, at + 8)?,
        jitter: be32(body, at + 12)?,
        lsr: be32(body, at + 16)?,
        dlsr: be32(body, at + 20)?,
    })
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Write our compound report into `out`: SR (when `sender` is some) or
/// RR, with at most one report block, then SDES with the CNAME.
pub fn write_report(
    out: &mut [u8],
    ssrc: u32,
    sender: Option<SenderInfo>,
    block: Option<ReportBlock>,
    cname: &str,
) -> Result<usize, RtcpError> {
    let mut w = Writer { out, at: 0 };
    let count = u8::from(block.is_some());
    let (pt, words) = match sender {
        Some(_) => (PT_SR, 6 + 6 * u16::from(count)),
        None => (PT_RR, 1 + 6 * u16::from(count)),
    };
    w.header(count, pt, words)?;
    w.u32(ssrc)?;
    if let Some(s) = sender {
        w.u32((s.ntp >> 32) as u32)?;
        w.u32(s.ntp as u32)?;
        w.u32(s.rtp_timestamp)?;
        w.u32(s.packets)?;
        w.u32(s.octets)?;
    }
    if let Some(b) = block {
        w.u32(b.ssrc)?;
        w.u32(u32::from(b.fraction_lost) << 24 | (b.cumulative_lost as u32 & 0x00ff_ffff))?;
        w.u32(b.highest_seq)?;
        w.u32(b.jitter)?;
        w.u32(b.lsr)?;
        w.u32(b.dlsr)?;
    }
    write_sdes(&mut w, ssrc, cname)?;
    Ok(w.at)
}

fn write_sdes(w: &mut Writer<'_>, ssrc: u32, cname: &str) -> Result<(), RtcpError> {
    let name = cname.as_bytes();
    let len = u8::try_from(name.len()).map_err(|_| RtcpError::CnameTooLong(name.len()))?;
    // ssrc + type + len + text + at least one null, padded to 32 bits.
    let chunk = 4 + 2 + name.len() + 1;
    let padded = chunk.div_ceil(4) * 4;
    w.header(1, PT_SDES, (padded / 4) as u16)?;
    w.u32(ssrc)?;
    w.bytes(&[SDES_CNAME, len])?;
    w.bytes(name)?;
    for _ in chunk - 1..padded {
        w.bytes(&[0])?;
    }
    Ok(())
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn header(&mut self, count: u8, pt: u8, words: u16) -> Result<(), RtcpError> {
        self.bytes(&[0x80 | count, pt])?;
        self.bytes(&words.to_be_bytes())
    }
    fn u32(&mut self, v: u32) -> Result<(), RtcpError> {
        self.bytes(&v.to_be_bytes())
    }
    fn bytes(&mut self, b: &[u8]) -> Result<(), RtcpError> {
        let room = self.out.len();
        let dst = self
            .out
            .get_mut(self.at..self.at + b.len())
            .ok_or(RtcpError::BufferTooSmall(room))?;
        dst.copy_from_slice(b);
        self.at += b.len();
        Ok(())
    }
}

/// Our reception statistics for the peer's RTP (RFC 3550 §A.1, §A.3, §A.8).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceiverStats {
    source: Option<u32>,
    base_seq: u16,
    max_seq: u16,
    cycles: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Jitter ×16 (the §A.8 fixed-point form).
    jitter16: u32,
    last_transit: Option<i64>,
    /// Middle 32 bits of the peer's last SR NTP time and when (ms) it came.
    lsr: Option<(u32, u64)>,
}

impl ReceiverStats {
    /// An RTP packet from `ssrc` arrived at `arrival` (in RTP timestamp
    /// units of our clock). A new SSRC restarts the statistics.
    pub fn on_rtp(&mut self, ssrc: u32, seq: u16, rtp_ts: u32, arrival: u32) {
        if self.source != Some(ssrc) {
            *self = ReceiverStats {
                source: Some(ssrc),
                base_seq: seq,
                max_seq: seq,
                lsr: self.lsr,
                ..ReceiverStats::default()
            };
        } else if seq.wrapping_sub(self.max_seq) < 0x8000 {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max_seq = seq;
        }
        self.received = self.received.wrapping_add(1);
        let transit = i64::from(arrival) - i64::from(rtp_ts);
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs().min(u64::from(u32::MAX)) as u32;
            // J += (|D| - J) / 16, kept ×16 (§A.8).
            self.jitter16 = self
                .jitter16
                .wrapping_add(d)
                .wrapping_sub((self.jitter16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// The peer's SR arrived at `now_ms` (for LSR/DLSR).
    pub fn on_sender_report(&mut self, ntp: u64, now_ms: u64) {
        self.lsr = Some(((ntp >> 16) as u32, now_ms));
    }

    pub fn jitter(&self) -> u32 {
        self.jitter16 >> 4
    }

    /// Packets expected minus received (§A.3); negative with duplicates.
    pub fn cumulative_lost(&self) -> i32 {
        let lost = i64::from(self.expected()) - i64::from(self.received);
        lost.clamp(-0x80_0000, 0x7f_ffff) as i32
    }

    fn expected(&self) -> u32 {
        let ext_max = self.cycles | u32::from(self.max_seq);
        ext_max
            .wrapping_sub(u32::from(self.base_seq))
            .wrapping_add(1)
    }

    /// The report block about the peer, `None` before any RTP. Moves the
    /// "since last report" marks for the next fraction lost (§A.3).
    pub fn report_block(&mut self, now_ms: u64) -> Option<ReportBlock> {
        let ssrc = self.source?;
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = match expected_interval {
            0 => 0,
            _ if lost_interval <= 0 => 0,
            e => ((lost_interval << 8) / i64::from(e)).min(255) as u8,
        };
        let (lsr, dlsr) = match self.lsr {
            Some((lsr, at)) => (lsr, (now_ms.saturating_sub(at) * 65536 / 1000) as u32),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            highest_seq: self.cycles | u32::from(self.max_seq),
            jitter: self.jitter(),
            lsr,
            dlsr,
        })
    }
}

/// When our next report is due (RFC 3550 §6.2, fixed interval).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportTimer {
    next_ms: Option<u64>,
}

impl ReportTimer {
    /// Whether a report is due at `now_ms`; the first one is due one
    /// interval after the first call.
    pub fn due(&mut self, now_ms: u64) -> bool {
        match self.next_ms {
            None => {
                self.next_ms = Some(now_ms + REPORT_INTERVAL_MS);
                false
            }
            Some(t) if now_ms >= t => {
                self.next_ms = Some(now_ms + REPORT_INTERVAL_MS);
                true
            }
            Some(_) => false,
        }
    }
}

#[cfg(test)]
mod tests;
