//! RTP fixed header (RFC 3550 §5.1): an allocation-free parser over `&[u8]`,
//! a writer into `&mut [u8]`, and [`RtpSender`], the per-stream numbering
//! state (sequence number, timestamp, marker on the first packet of a
//! talkspurt, RFC 3551 §4.1). The initial sequence number and timestamp are
//! random (RFC 3550 §5.1); the caller draws them and passes them in.

use thiserror::Error;

/// Size of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;

/// Why an RTP packet was rejected, or why a header did not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RtpError {
    #[error("rtp: packet of {0} bytes is shorter than the 12-byte fixed header")]
    TooShort(usize),
    #[error("rtp: version {0}, expected 2")]
    BadVersion(u8),
    #[error("rtp: CSRC list of {count} entries overruns the {len}-byte packet")]
    CsrcOverrun { count: u8, len: usize },
    #[error("rtp: header extension overruns the {0}-byte packet")]
    ExtensionOverrun(usize),
    #[error("rtp: padding count {pad} exceeds the {available}-byte payload")]
    BadPadding { pad: u8, available: usize },
    #[error("rtp: output buffer of {have} bytes, need {need}")]
    BufferTooSmall { have: usize, need: usize },
    #[error("rtp: payload type {0} does not fit in 7 bits")]
    BadPayloadType(u8),
}

/// The fields of the fixed header that a sender chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// RFC 3550 §5.3.1 header extension: profile-defined id and its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A parsed packet borrowing the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    /// Raw CSRC list, 4 bytes per entry; see [`RtpPacket::csrc`].
    csrc_bytes: &'a [u8],
    pub extension: Option<RtpExtension<'a>>,
    /// The payload with any padding removed.
    pub payload: &'a [u8],
    /// Padding octets removed from the end (0 when the P bit is clear).
    pub padding: u8,
}

impl<'a> RtpPacket<'a> {
    /// Number of CSRC entries.
    pub fn csrc_count(&self) -> usize {
        self.csrc_bytes.len() / 4
    }

    /// The `i`-th contributing source, if present.
    pub fn csrc(&self, i: usize) -> Option<u32> {
        let at = i.checked_mul(4)?;
        read_u32(self.csrc_bytes, at)
    }
}

fn read_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parse an RTP packet. Never panics and never allocates.
pub fn parse(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    let len = buf.len();
    let fixed = buf.get(..FIXED_HEADER_LEN).ok_or(RtpError::TooShort(len))?;
    let version = fixed[0] >> 6;
    if version != 2 {
        return Err(RtpError::BadVersion(version));
    }
    let has_padding = fixed[0] & 0x20 != 0;
    let has_extension = fixed[0] & 0x10 != 0;
    let cc = fixed[0] & 0x0F;
    let header = RtpHeader {
        marker: fixed[1] & 0x80 != 0,
        payload_type: fixed[1] & 0x7F,
        sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
        timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
    };
    let csrc_end = FIXED_HEADER_LEN + 4 * cc as usize;
    let csrc_bytes = buf
        .get(FIXED_HEADER_LEN..csrc_end)
        .ok_or(RtpError::CsrcOverrun { count: cc, len })?;
    let (extension, body_start) = if has_extension {
        parse_extension(buf, csrc_end)?
    } else {
        (None, csrc_end)
    };
    let body = buf
        .get(body_start..)
        .ok_or(RtpError::ExtensionOverrun(len))?;
    let (payload, padding) = strip_padding(body, has_padding)?;
    Ok(RtpPacket {
        header,
        csrc_bytes,
        extension,
        payload,
        padding,
    })
}

fn parse_extension(buf: &[u8], at: usize) -> Result<(Option<RtpExtension<'_>>, usize), RtpError> {
    let overrun = RtpError::ExtensionOverrun(buf.len());
    let profile = read_u16(buf, at).ok_or(overrun)?;
    let words = read_u16(buf, at + 2).ok_or(overrun)? as usize;
    let data_start = at + 4;
    let data_end = data_start + 4 * words;
    let data = buf.get(data_start..data_end).ok_or(overrun)?;
    Ok((Some(RtpExtension { profile, data }), data_end))
}

fn strip_padding(body: &[u8], has_padding: bool) -> Result<(&[u8], u8), RtpError> {
    if !has_padding {
        return Ok((body, 0));
    }
    let pad = *body.last().ok_or(RtpError::BadPadding {
        pad: 0,
        available: 0,
    })?;
    // The count includes itself, so 0 is invalid (RFC 3550 §5.1, P).
    if pad == 0 || pad as usize > body.len() {
        return Err(RtpError::BadPadding {
            pad,
            available: body.len(),
        });
    }
    Ok((&body[..body.len() - pad as usize], pad))
}

/// Write the 12-byte fixed header (no CSRC, no extension, no padding) into
/// `out`; returns the number of bytes written.
pub fn write_header(header: &RtpHeader, out: &mut [u8]) -> Result<usize, RtpError> {
    if header.payload_type > 0x7F {
        return Err(RtpError::BadPayloadType(header.payload_type));
    }
    let have = out.len();
    let dst = out
        .get_mut(..FIXED_HEADER_LEN)
        .ok_or(RtpError::BufferTooSmall {
            have,
            need: FIXED_HEADER_LEN,
        })?;
    dst[0] = 0x80;
    dst[1] = (u8::from(header.marker) << 7) | header.payload_type;
    dst[2..4].copy_from_slice(&header.sequence.to_be_bytes());
    dst[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    dst[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    Ok(FIXED_HEADER_LEN)
}

/// Write header and payload into `out`; returns the packet length.
pub fn write_packet(header: &RtpHeader, payload: &[u8], out: &mut [u8]) -> Result<usize, RtpError> {
    let need = FIXED_HEADER_LEN + payload.len();
    let have = out.len();
    if have < need {
        return Err(RtpError::BufferTooSmall { have, need });
    }
    let n = write_header(header, out)?;
    out[n..need].copy_from_slice(payload);
    Ok(need)
}

/// Numbering state of one outgoing RTP stream (one SSRC).
///
/// Audio packets advance the timestamp by their sample count. RFC 4733
/// events share the SSRC and sequence space but carry their own timestamp
/// (the event start), so they take a sequence number through
/// [`RtpSender::event_header`] without moving the media clock.
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    payload_type: u8,
    next_sequence: u16,
    next_timestamp: u32,
    talkspurt_pending: bool,
}

impl RtpSender {
    /// A new stream. `initial_sequence` and `initial_timestamp` must be
    /// random (RFC 3550 §5.1); the caller draws them. The first packet
    /// carries the marker bit.
    pub fn new(ssrc: u32, payload_type: u8, initial_sequence: u16, initial_timestamp: u32) -> Self {
        RtpSender {
            ssrc,
            payload_type: payload_type & 0x7F,
            next_sequence: initial_sequence,
            next_timestamp: initial_timestamp,
            talkspurt_pending: true,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The timestamp the next audio packet will carry.
    pub fn timestamp(&self) -> u32 {
        self.next_timestamp
    }

    /// The sequence number the next packet will carry.
    pub fn sequence(&self) -> u16 {
        self.next_sequence
    }

    /// Header for the next audio packet of `samples` samples; advances the
    /// sequence number by one (wrapping) and the timestamp by `samples`.
    pub fn next_audio(&mut self, samples: u32) -> RtpHeader {
        let header = RtpHeader {
            marker: std::mem::take(&mut self.talkspurt_pending),
            payload_type: self.payload_type,
            sequence: self.next_sequence,
            timestamp: self.next_timestamp,
            ssrc: self.ssrc,
        };
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.next_timestamp = self.next_timestamp.wrapping_add(samples);
        header
    }

    /// Time passes without audio (silence suppressed, prompt gap, or a DTMF
    /// event being sent): the clock moves, the next audio packet starts a
    /// new talkspurt and carries the marker bit.
    pub fn skip(&mut self, samples: u32) {
        self.next_timestamp = self.next_timestamp.wrapping_add(samples);
        self.talkspurt_pending = true;
    }

    /// Header for an RFC 4733 event packet: takes the next sequence number;
    /// the timestamp and marker come from the event sender.
    pub fn event_header(&mut self, payload_type: u8, timestamp: u32, marker: bool) -> RtpHeader {
        let header = RtpHeader {
            marker,
            payload_type: payload_type & 0x7F,
            sequence: self.next_sequence,
            timestamp,
            ssrc: self.ssrc,
        };
        self.next_sequence = self.next_sequence.wrapping_add(1);
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: 8,
            sequence: 0xBEEF,
            timestamp: 0xDEAD_0001,
            ssrc: 0x1234_5678,
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let mut buf = [0u8; 64];
        let n = write_packet(&header(), &[1, 2, 3], &mut buf).unwrap();
        assert_eq!(n, 15);
        assert_eq!(&buf[..2], &[0x80, 0x88]);
        let p = parse(&buf[..n]).unwrap();
        assert_eq!(p.header, header());
        assert_eq!(p.payload, &[1, 2, 3]);
        assert_eq!(p.csrc_count(), 0);
        assert_eq!(p.extension, None);
        assert_eq!(p.padding, 0);
    }

    #[test]
    fn parses_csrc_extension_and_padding() {
        // V=2 P=1 X=1 CC=2, M=0 PT=0
        let mut buf = vec![0xB2, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        buf.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 11]); // CSRCs
        buf.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension, 1 word
        buf.extend_from_slice(&[0xAA, 0xBB]); // payload
        buf.extend_from_slice(&[0, 0, 3]); // 3 bytes of padding
        let p = parse(&buf).unwrap();
        assert_eq!(p.csrc_count(), 2);
        assert_eq!(p.csrc(0), Some(10));
        assert_eq!(p.csrc(1), Some(11));
        assert_eq!(p.csrc(2), None);
        assert_eq!(
            p.extension,
            Some(RtpExtension {
                profile: 0xBEDE,
                data: &[9, 9, 9, 9]
            })
        );
        assert_eq!(p.payload, &[0xAA, 0xBB]);
        assert_eq!(p.padding, 3);
    }

    #[test]
    fn rejects_malformed_packets() {
        assert_eq!(parse(&[0x80; 5]), Err(RtpError::TooShort(5)));
        let mut v1 = [0u8; 12];
        v1[0] = 0x40;
        assert_eq!(parse(&v1), Err(RtpError::BadVersion(1)));
        let mut cc = [0u8; 16];
        cc[0] = 0x82; // two CSRCs, room for one
        assert_eq!(parse(&cc), Err(RtpError::CsrcOverrun { count: 2, len: 16 }));
        let mut ext = [0u8; 18];
        ext[0] = 0x90;
        ext[15] = 2; // two words claimed, 2 bytes present
        assert_eq!(parse(&ext), Err(RtpError::ExtensionOverrun(18)));
        let mut pad0 = [0u8; 13];
        pad0[0] = 0xA0;
        assert_eq!(
            parse(&pad0),
            Err(RtpError::BadPadding {
                pad: 0,
                available: 1
            })
        );
        let mut pad_big = [0u8; 14];
        pad_big[0] = 0xA0;
        pad_big[13] = 9;
        assert_eq!(
            parse(&pad_big),
            Err(RtpError::BadPadding {
                pad: 9,
                available: 2
            })
        );
        let mut pad_empty = [0u8; 12];
        pad_empty[0] = 0xA0;
        assert!(matches!(
            parse(&pad_empty),
            Err(RtpError::BadPadding { .. })
        ));
    }

    #[test]
    fn write_reports_small_buffers_and_bad_payload_types() {
        let mut small = [0u8; 11];
        assert_eq!(
            write_header(&header(), &mut small),
            Err(RtpError::BufferTooSmall { have: 11, need: 12 })
        );
        let mut buf = [0u8; 13];
        assert_eq!(
            write_packet(&header(), &[1, 2], &mut buf),
            Err(RtpError::BufferTooSmall { have: 13, need: 14 })
        );
        let bad = RtpHeader {
            payload_type: 200,
            ..header()
        };
        assert_eq!(
            write_header(&bad, &mut [0u8; 12]),
            Err(RtpError::BadPayloadType(200))
        );
    }

    #[test]
    fn sender_numbers_packets_and_marks_talkspurts() {
        let mut s = RtpSender::new(7, 0, 0xFFFE, 0xFFFF_FF00);
        let a = s.next_audio(160);
        assert!(a.marker);
        assert_eq!(
            (a.sequence, a.timestamp, a.ssrc, a.payload_type),
            (0xFFFE, 0xFFFF_FF00, 7, 0)
        );
        let b = s.next_audio(160);
        assert!(!b.marker);
        assert_eq!((b.sequence, b.timestamp), (0xFFFF, 0xFFFF_FFA0));
        let c = s.next_audio(160);
        assert_eq!((c.sequence, c.timestamp), (0, 0x40)); // both wrap
        s.skip(320);
        let d = s.next_audio(160);
        assert!(d.marker, "first packet after a gap starts a talkspurt");
        assert_eq!((d.sequence, d.timestamp), (1, 0x40 + 160 + 320));
    }

    #[test]
    fn event_headers_share_sequence_space_but_not_the_clock() {
        let mut s = RtpSender::new(7, 0, 100, 1000);
        let e = s.event_header(101, 5000, true);
        assert_eq!(
            (e.sequence, e.timestamp, e.payload_type, e.marker),
            (100, 5000, 101, true)
        );
        assert_eq!(s.timestamp(), 1000);
        assert_eq!(s.next_audio(160).sequence, 101);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 0x1234_5678;
        for len in 0..80 {
            for _ in 0..50 {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                if let Ok(p) = parse(&buf) {
                    assert!(p.payload.len() <= buf.len());
                }
            }
        }
    }
}
