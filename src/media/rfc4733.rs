//! RFC 4733 telephone-events (DTMF over RTP): the 4-byte event payload
//! (§2.3), [`DtmfReceiver`] which turns a stream of event packets into key
//! presses reported exactly once (§2.5.2), and [`DtmfSender`] which produces
//! the packets for one key (§2.5.1): a first packet with the marker bit,
//! updates every 20 ms with a growing duration, and the final packet with
//! the E bit sent three times.

use thiserror::Error;

/// Samples between two event packets: 20 ms at 8 kHz.
pub const PACKET_INTERVAL: u16 = 160;
/// How many times the final (E bit) packet is sent (§2.5.1.4).
pub const END_REPEATS: u8 = 3;
/// Largest volume value (6 bits, in -dBm0).
pub const MAX_VOLUME: u8 = 63;

/// Why a telephone-event payload or request was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Rfc4733Error {
    #[error("rfc4733: payload of {0} bytes, need at least 4")]
    TooShort(usize),
    #[error("rfc4733: volume {0} exceeds 63")]
    VolumeOutOfRange(u8),
    #[error("rfc4733: {0:?} is not a DTMF key")]
    NotAKey(char),
    #[error("rfc4733: event duration must be at least one sample")]
    ZeroDuration,
}

/// One telephone-event report (§2.3): event code, E bit, volume, duration
/// in RTP timestamp units since the event's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parse the first event block of a payload. Further blocks (several
    /// events packed together, §2.5.1.5) are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, Rfc4733Error> {
        let b = payload
            .get(..4)
            .ok_or(Rfc4733Error::TooShort(payload.len()))?;
        Ok(TelephoneEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The 4-byte payload (the reserved R bit is sent as 0).
    pub fn to_bytes(&self) -> Result<[u8; 4], Rfc4733Error> {
        if self.volume > MAX_VOLUME {
            return Err(Rfc4733Error::VolumeOutOfRange(self.volume));
        }
        let [d0, d1] = self.duration.to_be_bytes();
        Ok([self.event, (u8::from(self.end) << 7) | self.volume, d0, d1])
    }
}

/// The DTMF key for event codes 0–15 (RFC 4733 §3.2 table 3).
pub fn dtmf_key(event: u8) -> Option<char> {
    const KEYS: &[u8; 16] = b"0123456789*#ABCD";
    KEYS.get(event as usize).map(|b| *b as char)
}

/// The event code for a DTMF key (`0`–`9`, `*`, `#`, `A`–`D`, any case).
pub fn dtmf_event(key: char) -> Option<u8> {
    match key.to_ascii_uppercase() {
        c @ '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        c @ 'A'..='D' => Some(c as u8 - b'A' + 12),
        _ => None,
    }
}

/// A key press, reported once at the first packet seen for it (so a prompt
/// can be barged in without waiting for the key to be released).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPress {
    pub key: char,
    pub event: u8,
    /// RTP timestamp of the event start.
    pub timestamp: u32,
}

/// The event the receiver is tracking.
#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    event: u8,
    ended: bool,
    highest_sequence: u16,
}

/// Turns telephone-event packets into key presses (§2.5.2). Fixed size:
/// whatever a peer sends, it remembers one event.
///
/// - packets with the timestamp of the current event (updates, the repeated
///   end packets, a long press) report nothing new;
/// - a packet with a newer timestamp is a new press, even if no end packet
///   was seen for the previous one;
/// - except a long-duration continuation (§2.5.1.3): same event, previous
///   not ended, marker bit clear, timestamp within 0xFFFF of the previous;
/// - packets older than the current event (reordered) are ignored.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    current: Option<Current>,
}

/// `a` is after `b` in RFC 3550 serial-number order.
fn is_newer_u32(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

fn is_newer_u16(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

impl DtmfReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget the current event (new SSRC, re-INVITE, leg re-pointed).
    pub fn reset(&mut self) {
        self.current = None;
    }

    /// Feed one telephone-event packet: its RTP timestamp, sequence number,
    /// marker bit and payload. Returns the press this packet starts, if any.
    /// Non-DTMF events (codes above 15) are tracked but never reported.
    pub fn on_packet(
        &mut self,
        timestamp: u32,
        sequence: u16,
        marker: bool,
        payload: &[u8],
    ) -> Result<Option<DtmfPress>, Rfc4733Error> {
        let ev = TelephoneEvent::parse(payload)?;
        let Some(cur) = self.current.as_mut() else {
            return Ok(self.start(timestamp, sequence, ev));
        };
        if timestamp == cur.timestamp {
            if is_newer_u16(sequence, cur.highest_sequence) {
                cur.highest_sequence = sequence;
                cur.ended |= ev.end;
            }
            return Ok(None);
        }
        if !is_newer_u32(timestamp, cur.timestamp) {
            return Ok(None);
        }
        let continuation = ev.event == cur.event
            && !cur.ended
            && !marker
            && timestamp.wrapping_sub(cur.timestamp) <= u32::from(u16::MAX);
        if continuation {
            *cur = Current {
                timestamp,
                event: ev.event,
                ended: ev.end,
                highest_sequence: sequence,
            };
            return Ok(None);
        }
        Ok(self.start(timestamp, sequence, ev))
    }

    fn start(&mut self, timestamp: u32, sequence: u16, ev: TelephoneEvent) -> Option<DtmfPress> {
        self.current = Some(Current {
            timestamp,
            event: ev.event,
            ended: ev.end,
            highest_sequence: sequence,
        });
        dtmf_key(ev.event).map(|key| DtmfPress {
            key,
            event: ev.event,
            timestamp,
        })
    }
}

/// One packet to send: the caller takes a sequence number from
/// [`super::rtp::RtpSender::event_header`] with this marker and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    pub marker: bool,
    pub timestamp: u32,
    pub payload: [u8; 4],
}

/// Produces the packets for one key, one per 20 ms tick (§2.5.1).
#[derive(Debug, Clone)]
pub struct DtmfSender {
    event: u8,
    volume: u8,
    timestamp: u32,
    total: u16,
    next_duration: u16,
    ends_left: u8,
    first: bool,
}

impl DtmfSender {
    /// A key press of `duration` samples starting at RTP `timestamp`, at
    /// `volume` -dBm0 (10 is usual).
    pub fn new(key: char, timestamp: u32, duration: u16, volume: u8) -> Result<Self, Rfc4733Error> {
        let event = dtmf_event(key).ok_or(Rfc4733Error::NotAKey(key))?;
        if volume > MAX_VOLUME {
            return Err(Rfc4733Error::VolumeOutOfRange(volume));
        }
        if duration == 0 {
            return Err(Rfc4733Error::ZeroDuration);
        }
        Ok(DtmfSender {
            event,
            volume,
            timestamp,
            total: duration,
            next_duration: PACKET_INTERVAL.min(duration),
            ends_left: END_REPEATS,
            first: true,
        })
    }

    /// Samples the whole event covers; advance the audio clock by this.
    pub fn duration(&self) -> u16 {
        self.total
    }

    /// The next packet, or `None` once the last end packet has been sent.
    pub fn next_packet(&mut self) -> Option<DtmfPacket> {
        if self.ends_left == 0 {
            return None;
        }
        let end = self.next_duration >= self.total;
        let ev = TelephoneEvent {
            event: self.event,
            end,
            volume: self.volume,
            duration: self.next_duration,
        };
        if end {
            self.ends_left -= 1;
        } else {
            self.next_duration = self
                .next_duration
                .saturating_add(PACKET_INTERVAL)
                .min(self.total);
        }
        // Volume was checked in `new`, so this cannot fail; stay total anyway.
        let payload = ev.to_bytes().ok()?;
        Some(DtmfPacket {
            marker: std::mem::take(&mut self.first),
            timestamp: self.timestamp,
            payload,
        })
    }
}

impl Iterator for DtmfSender {
    type Item = DtmfPacket;
    fn next(&mut self) -> Option<DtmfPacket> {
        self.next_packet()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pl(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
        .unwrap()
    }

    #[test]
    fn payload_round_trips_and_checks_lengths() {
        let ev = TelephoneEvent {
            event: 11,
            end: true,
            volume: 63,
            duration: 0x1234,
        };
        let b = ev.to_bytes().unwrap();
        assert_eq!(b, [11, 0xBF, 0x12, 0x34]);
        assert_eq!(TelephoneEvent::parse(&b), Ok(ev));
        assert_eq!(
            TelephoneEvent::parse(&b[..3]),
            Err(Rfc4733Error::TooShort(3))
        );
        // R bit set by a peer is ignored, not mistaken for volume.
        assert_eq!(
            TelephoneEvent::parse(&[1, 0x40 | 5, 0, 0]).unwrap().volume,
            5
        );
        let loud = TelephoneEvent { volume: 64, ..ev };
        assert_eq!(loud.to_bytes(), Err(Rfc4733Error::VolumeOutOfRange(64)));
    }

    #[test]
    fn key_mapping_covers_all_sixteen_events() {
        for e in 0..16u8 {
            let k = dtmf_key(e).unwrap();
            assert_eq!(dtmf_event(k), Some(e));
        }
        assert_eq!(dtmf_key(10), Some('*'));
        assert_eq!(dtmf_key(11), Some('#'));
        assert_eq!(dtmf_key(16), None);
        assert_eq!(dtmf_event('d'), Some(15));
        assert_eq!(dtmf_event('x'), None);
    }

    #[test]
    fn a_press_with_updates_and_three_ends_is_reported_once() {
        let mut rx = DtmfReceiver::new();
        let first = rx.on_packet(1000, 10, true, &pl(5, false, 160)).unwrap();
        assert_eq!(
            first,
            Some(DtmfPress {
                key: '5',
                event: 5,
                timestamp: 1000
            })
        );
        assert_eq!(rx.on_packet(1000, 11, false, &pl(5, false, 320)), Ok(None));
        for seq in 12..15 {
            assert_eq!(rx.on_packet(1000, seq, false, &pl(5, true, 480)), Ok(None));
        }
    }

    #[test]
    fn a_long_press_is_counted_once() {
        let mut rx = DtmfReceiver::new();
        let mut presses = 0;
        for i in 0..400u16 {
            let d = 160u16.saturating_mul(i + 1);
            if rx
                .on_packet(50, i, i == 0, &pl(0, false, d))
                .unwrap()
                .is_some()
            {
                presses += 1;
            }
        }
        assert_eq!(presses, 1);
    }

    #[test]
    fn a_long_duration_continuation_segment_is_not_a_new_press() {
        let mut rx = DtmfReceiver::new();
        assert!(rx
            .on_packet(0, 1, true, &pl(9, false, 65535))
            .unwrap()
            .is_some());
        // §2.5.1.3: new segment, timestamp moved by the full duration, no marker.
        assert_eq!(rx.on_packet(65535, 2, false, &pl(9, false, 160)), Ok(None));
        assert_eq!(rx.on_packet(65535, 3, false, &pl(9, true, 800)), Ok(None));
    }

    #[test]
    fn same_key_twice_is_two_presses() {
        let mut rx = DtmfReceiver::new();
        assert!(rx
            .on_packet(0, 1, true, &pl(1, false, 160))
            .unwrap()
            .is_some());
        assert_eq!(rx.on_packet(0, 2, false, &pl(1, true, 800)), Ok(None));
        let again = rx.on_packet(2400, 30, true, &pl(1, false, 160)).unwrap();
        assert_eq!(again.map(|p| (p.key, p.timestamp)), Some(('1', 2400)));
    }

    #[test]
    fn a_new_event_is_detected_when_every_end_packet_was_lost() {
        let mut rx = DtmfReceiver::new();
        assert!(rx
            .on_packet(0, 1, true, &pl(2, false, 160))
            .unwrap()
            .is_some());
        assert_eq!(rx.on_packet(0, 2, false, &pl(2, false, 320)), Ok(None));
        // No end for '2'; '3' starts with a new timestamp.
        let p = rx.on_packet(1600, 20, true, &pl(3, false, 160)).unwrap();
        assert_eq!(p.map(|p| p.key), Some('3'));
        // Same key again with lost ends, but the marker says new press.
        let mut rx = DtmfReceiver::new();
        assert!(rx
            .on_packet(0, 1, true, &pl(2, false, 160))
            .unwrap()
            .is_some());
        let p = rx.on_packet(1600, 20, true, &pl(2, false, 160)).unwrap();
        assert_eq!(p.map(|p| p.timestamp), Some(1600));
    }

    #[test]
    fn reordered_packets_of_an_old_event_are_ignored() {
        let mut rx = DtmfReceiver::new();
        assert!(rx
            .on_packet(1000, 1, true, &pl(4, false, 160))
            .unwrap()
            .is_some());
        assert!(rx
            .on_packet(3000, 9, true, &pl(6, false, 160))
            .unwrap()
            .is_some());
        assert_eq!(rx.on_packet(1000, 3, false, &pl(4, true, 480)), Ok(None));
        assert_eq!(rx.on_packet(3000, 10, false, &pl(6, true, 480)), Ok(None));
    }

    #[test]
    fn timestamps_wrap_in_serial_order() {
        let mut rx = DtmfReceiver::new();
        assert!(rx
            .on_packet(u32::MAX - 100, 1, true, &pl(7, true, 800))
            .unwrap()
            .is_some());
        let p = rx.on_packet(500, 9, true, &pl(8, false, 160)).unwrap();
        assert_eq!(p.map(|p| p.key), Some('8'));
    }

    #[test]
    fn non_dtmf_events_are_not_reported_and_junk_is_an_error() {
        let mut rx = DtmfReceiver::new();
        assert_eq!(rx.on_packet(0, 1, true, &pl(32, false, 160)), Ok(None));
        assert_eq!(
            rx.on_packet(0, 2, false, &[1, 2]),
            Err(Rfc4733Error::TooShort(2))
        );
        assert!(rx
            .on_packet(800, 3, true, &pl(0, false, 160))
            .unwrap()
            .is_some());
    }

    #[test]
    fn sender_makes_marker_updates_and_three_ends() {
        let tx = DtmfSender::new('#', 4000, 800, 10).unwrap();
        let pkts: Vec<DtmfPacket> = tx.collect();
        let events: Vec<TelephoneEvent> = pkts
            .iter()
            .map(|p| TelephoneEvent::parse(&p.payload).unwrap())
            .collect();
        let durations: Vec<u16> = events.iter().map(|e| e.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = events.iter().map(|e| e.end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);
        assert!(pkts[0].marker && pkts[1..].iter().all(|p| !p.marker));
        assert!(pkts.iter().all(|p| p.timestamp == 4000));
        assert!(events.iter().all(|e| e.event == 11 && e.volume == 10));
    }

    #[test]
    fn a_short_press_is_only_end_packets() {
        let pkts: Vec<DtmfPacket> = DtmfSender::new('1', 0, 100, 10).unwrap().collect();
        assert_eq!(pkts.len(), 3);
        assert!(pkts[0].marker);
        assert!(pkts
            .iter()
            .all(|p| TelephoneEvent::parse(&p.payload).unwrap().end));
    }

    #[test]
    fn sender_rejects_bad_requests() {
        assert_eq!(
            DtmfSender::new('x', 0, 800, 10).err(),
            Some(Rfc4733Error::NotAKey('x'))
        );
        assert_eq!(
            DtmfSender::new('1', 0, 0, 10).err(),
            Some(Rfc4733Error::ZeroDuration)
        );
        assert_eq!(
            DtmfSender::new('1', 0, 800, 64).err(),
            Some(Rfc4733Error::VolumeOutOfRange(64))
        );
    }

    #[test]
    fn sender_output_through_rtp_is_received_as_one_press_per_key() {
        use crate::media::rtp::{self, RtpSender};
        let mut rtp_tx = RtpSender::new(99, 0, 65530, 1_000_000);
        let mut rx = DtmfReceiver::new();
        let mut got = String::new();
        let mut buf = [0u8; 32];
        for key in ['1', '1', '#'] {
            rtp_tx.next_audio(160);
            let dtmf = DtmfSender::new(key, rtp_tx.timestamp(), 640, 10).unwrap();
            let dur = dtmf.duration();
            for p in dtmf {
                let h = rtp_tx.event_header(101, p.timestamp, p.marker);
                let n = rtp::write_packet(&h, &p.payload, &mut buf).unwrap();
                let pkt = rtp::parse(&buf[..n]).unwrap();
                let h = pkt.header;
                if let Some(press) = rx
                    .on_packet(h.timestamp, h.sequence, h.marker, pkt.payload)
                    .unwrap()
                {
                    got.push(press.key);
                }
            }
            rtp_tx.skip(u32::from(dur));
        }
        assert_eq!(got, "11#");
    }
}
