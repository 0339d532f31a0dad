//! The recording mixer: a pure time line per party (caller = relay side A,
//! agent/IVR = side B) that places each G.711 frame (ITU-T G.711, RTP
//! payload types 0 and 8, RFC 3551 §4.5.14) at its sample position, so lost
//! or absent packets become silence and both parties stay aligned.
//!
//! A party's position comes from its RTP timestamp (RFC 3550 §5.1) anchored
//! to the arrival time of the first packet of its SSRC; a new SSRC (the IVR
//! replaced by the agent) or a timestamp that strays more than
//! [`REANCHOR_SAMPLES`] from the arrival time re-anchors. Output is mono
//! (both parties summed, saturating) or stereo (caller left, agent right).
//! No clock reads: the shell passes arrival positions and emit limits.

use crate::media::g711;
use crate::media::Codec;

/// Samples each party's time line holds ahead of what was emitted (2 s).
pub const WINDOW: usize = 16_000;
/// A timestamp this far (1 s) from the arrival time re-anchors the party.
pub const REANCHOR_SAMPLES: i64 = 8_000;

/// Whose audio a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// Relay side A.
    Caller,
    /// Relay side B: the IVR, then the agent.
    Agent,
}

impl Party {
    fn index(self) -> usize {
        match self {
            Party::Caller => 0,
            Party::Agent => 1,
        }
    }
}

/// The WAV layout (`[recording] mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One channel, both parties summed.
    Mixed,
    /// Two channels: caller left, agent right.
    Stereo,
}

impl Layout {
    pub fn channels(self) -> u16 {
        match self {
            Layout::Mixed => 1,
            Layout::Stereo => 2,
        }
    }
}

/// One received RTP packet, as the mixer needs it.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub party: Party,
    /// Arrival, in samples since the recording started.
    pub at: u64,
    pub ssrc: u32,
    pub timestamp: u32,
    pub payload_type: u8,
    pub payload: &'a [u8],
}

/// Frames not placed, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MixStats {
    pub placed: u64,
    /// Not G.711 (telephone-event, comfort noise, other codecs).
    pub not_audio: u64,
    /// Entirely before what was already written.
    pub late: u64,
    /// Further ahead than [`WINDOW`].
    pub too_early: u64,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    ssrc: u32,
    timestamp: u32,
    pos: u64,
}

/// Two time lines and the position of the next sample to emit.
pub struct Mixer {
    layout: Layout,
    lines: [Vec<i16>; 2],
    anchors: [Option<Anchor>; 2],
    /// First sample position not yet emitted.
    emitted: u64,
    /// One past the last sample placed.
    high: u64,
    stats: MixStats,
}

impl Mixer {
    pub fn new(layout: Layout) -> Mixer {
        Mixer {
            layout,
            lines: [vec![0; WINDOW], vec![0; WINDOW]],
            anchors: [None, None],
            emitted: 0,
            high: 0,
            stats: MixStats::default(),
        }
    }

    pub fn stats(&self) -> MixStats {
        self.stats
    }

    /// One past the last sample placed so far.
    pub fn high_water(&self) -> u64 {
        self.high
    }

    /// Place one frame on its party's time line.
    pub fn push(&mut self, f: Frame<'_>) {
        let Some(codec) = Codec::from_static_payload_type(f.payload_type) else {
            self.stats.not_audio += 1;
            return;
        };
        // Sample-per-byte G.711 only: wideband codecs are not recorded yet.
        let decode: fn(u8) -> i16 = match codec {
            Codec::Pcmu => g711::ulaw_decode,
            Codec::Pcma => g711::alaw_decode,
            Codec::G722 | Codec::Opus => {
                self.stats.not_audio += 1;
                return;
            }
        };
        let start = self.position(&f);
        let end = start + f.payload.len() as u64;
        if end <= self.emitted {
            self.stats.late += 1;
            return;
        }
        if end > self.emitted + WINDOW as u64 {
            self.stats.too_early += 1;
            return;
        }
        let line = &mut self.lines[f.party.index()];
        for (i, &code) in f.payload.iter().enumerate() {
            let pos = start + i as u64;
            if pos < self.emitted {
                continue;
            }
            line[(pos % WINDOW as u64) as usize] = decode(code);
        }
        self.high = self.high.max(end);
        self.stats.placed += 1;
    }

    /// The frame's first sample position, re-anchoring its party if needed.
    fn position(&mut self, f: &Frame<'_>) -> u64 {
        let slot = &mut self.anchors[f.party.index()];
        if let Some(a) = slot.filter(|a| a.ssrc == f.ssrc) {
            let delta = i64::from(f.timestamp.wrapping_sub(a.timestamp) as i32);
            let pos = a.pos as i64 + delta;
            if pos >= 0 && (pos - f.at as i64).abs() <= REANCHOR_SAMPLES {
                return pos as u64;
            }
        }
        *slot = Some(Anchor {
            ssrc: f.ssrc,
            timestamp: f.timestamp,
            pos: f.at,
        });
        f.at
    }

    /// Append every sample before position `until` to `out` (interleaved
    /// for stereo), clearing those slots; absent audio is silence. At most
    /// [`WINDOW`] samples per call.
    pub fn emit_until(&mut self, until: u64, out: &mut Vec<i16>) {
        let until = until.min(self.emitted + WINDOW as u64);
        while self.emitted < until {
            let i = (self.emitted % WINDOW as u64) as usize;
            let caller = std::mem::take(&mut self.lines[0][i]);
            let agent = std::mem::take(&mut self.lines[1][i]);
            match self.layout {
                Layout::Mixed => out.push(caller.saturating_add(agent)),
                Layout::Stereo => {
                    out.push(caller);
                    out.push(agent);
                }
            }
            self.emitted += 1;
        }
    }

    /// Samples emitted so far (per channel).
    pub fn emitted(&self) -> u64 {
        self.emitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(party: Party, at: u64, ssrc: u32, ts: u32, payload: &[u8]) -> Frame<'_> {
        Frame {
            party,
            at,
            ssrc,
            timestamp: ts,
            payload_type: 0,
            payload,
        }
    }

    /// µ-law 0x00 decodes to a large negative sample, 0xFF to zero.
    const LOUD: u8 = 0x00;

    #[test]
    fn lost_packets_become_silence_at_their_place() {
        let mut m = Mixer::new(Layout::Mixed);
        let p = [LOUD; 160];
        m.push(frame(Party::Caller, 0, 1, 1000, &p));
        // The packet at ts 1160 is lost; 1320 arrives late but in place.
        m.push(frame(Party::Caller, 400, 1, 1320, &p));
        let mut out = Vec::new();
        m.emit_until(480, &mut out);
        assert_eq!(out.len(), 480);
        let loud = g711::ulaw_decode(LOUD);
        assert!(out[..160].iter().all(|&s| s == loud));
        assert!(out[160..320].iter().all(|&s| s == 0), "gap is silence");
        assert!(out[320..].iter().all(|&s| s == loud));
    }

    #[test]
    fn mixed_sums_and_stereo_separates_the_parties() {
        let a = [0x90u8; 160];
        let b = [0x20u8; 160];
        let (sa, sb) = (g711::ulaw_decode(0x90), g711::ulaw_decode(0x20));
        let mut mixed = Mixer::new(Layout::Mixed);
        let mut stereo = Mixer::new(Layout::Stereo);
        for m in [&mut mixed, &mut stereo] {
            m.push(frame(Party::Caller, 0, 1, 50, &a));
            m.push(frame(Party::Agent, 3, 2, 9_999, &b));
        }
        let mut out = Vec::new();
        mixed.emit_until(160, &mut out);
        assert_eq!(out[10], sa.saturating_add(sb));
        let mut out = Vec::new();
        stereo.emit_until(160, &mut out);
        assert_eq!(out.len(), 320);
        assert_eq!((out[20], out[21]), (sa, sb));
        assert_eq!((out[0], out[1]), (sa, 0), "agent starts 3 samples in");
    }

    #[test]
    fn a_new_ssrc_reanchors_at_arrival() {
        let mut m = Mixer::new(Layout::Stereo);
        let p = [LOUD; 160];
        m.push(frame(Party::Agent, 0, 7, 0, &p));
        // The agent replaces the IVR: a new SSRC with an unrelated timestamp.
        m.push(frame(Party::Agent, 800, 8, 123_456, &p));
        let mut out = Vec::new();
        m.emit_until(960, &mut out);
        let right: Vec<i16> = out.iter().skip(1).step_by(2).copied().collect();
        assert!(right[160..800].iter().all(|&s| s == 0));
        assert!(right[800..960].iter().all(|&s| s != 0));
    }

    #[test]
    fn late_early_and_non_audio_frames_are_counted_not_placed() {
        let mut m = Mixer::new(Layout::Mixed);
        let p = [LOUD; 160];
        let mut out = Vec::new();
        m.emit_until(1000, &mut out);
        m.push(frame(Party::Caller, 0, 1, 0, &p));
        m.push(frame(Party::Caller, 1000 + WINDOW as u64, 2, 0, &p));
        let mut dtmf = frame(Party::Caller, 1000, 1, 0, &[1, 2, 3, 4]);
        dtmf.payload_type = 101;
        m.push(dtmf);
        let s = m.stats();
        assert_eq!((s.placed, s.late, s.too_early, s.not_audio), (0, 1, 1, 1));
    }

    #[test]
    fn a_timestamp_jump_reanchors_to_arrival() {
        let mut m = Mixer::new(Layout::Mixed);
        let p = [LOUD; 160];
        m.push(frame(Party::Caller, 0, 1, 0, &p));
        m.push(frame(Party::Caller, 160, 1, 4_000_000, &p));
        let mut out = Vec::new();
        m.emit_until(320, &mut out);
        assert!(
            out.iter().all(|&s| s != 0),
            "second frame placed at arrival"
        );
    }
}
