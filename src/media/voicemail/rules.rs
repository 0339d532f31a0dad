//! The stop rules of one voicemail recording (issue 5, the IVR `record`
//! node), pure: the writer feeds the caller's decoded 8 kHz samples at their
//! place on the recording's time line and asks, with the time line's
//! position as "now", whether to stop. A 20 ms block is voice when its RMS
//! reaches [`VOICE_RMS`] (an energy detector; gaps and lost packets are
//! zeros on the time line, so they count as silence). The recording stops
//! after `silence_ms` with no voice (counted from the start when nothing was
//! said) or at `max_ms`. A recording is kept when it is at least `min_ms`
//! long; after a silence stop only the part before the silence counts.

use crate::media::SAMPLE_RATE;

/// RMS (16-bit linear) from which a 20 ms block is voice: about -40 dBFS,
/// above a quiet line's noise and far below speech.
pub const VOICE_RMS: u32 = 330;
/// Samples of one energy block (20 ms at 8 kHz).
pub const BLOCK: usize = 160;

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `silence_ms` with no voice.
    Silence,
    /// The recording reached `max_ms`.
    MaxLength,
    /// The IVR stopped it (terminator key, its own deadline) or the call ended.
    Stopped,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Silence => "silence",
            StopReason::MaxLength => "max-length",
            StopReason::Stopped => "stopped",
        }
    }
}

/// Silence detection and the length limit of one recording.
#[derive(Debug, Clone)]
pub struct StopRules {
    max_ms: u64,
    silence_ms: u64,
    /// End (ms on the time line) of the latest voiced block.
    voice_end_ms: u64,
    /// The block being filled: its samples so far. Blocks are aligned on
    /// the time line (multiples of [`BLOCK`]), whatever sizes the writer
    /// feeds, so the verdict does not depend on when it flushes.
    block: Vec<i16>,
    /// Time line position the next sample is expected at.
    next_pos: u64,
}

/// Milliseconds at sample position `pos` (8 kHz).
pub fn ms_of(pos: u64) -> u64 {
    pos * 1000 / u64::from(SAMPLE_RATE)
}

impl StopRules {
    /// `silence_ms` 0 turns silence detection off.
    pub fn new(max_ms: u64, silence_ms: u64) -> StopRules {
        StopRules {
            max_ms,
            silence_ms,
            voice_end_ms: 0,
            block: Vec::with_capacity(BLOCK),
            next_pos: 0,
        }
    }

    /// Samples `samples` that start at time line position `start`. A jump
    /// in position drops the partial block before it (nothing to judge).
    pub fn on_samples(&mut self, start: u64, samples: &[i16]) {
        if start != self.next_pos {
            self.block.clear();
            let skip = (BLOCK as u64 - start % BLOCK as u64) % BLOCK as u64;
            let skip = usize::try_from(skip).unwrap_or(BLOCK).min(samples.len());
            self.next_pos = start + skip as u64;
            return self.feed(&samples[skip..]);
        }
        self.feed(samples);
    }

    fn feed(&mut self, mut samples: &[i16]) {
        while !samples.is_empty() {
            let take = (BLOCK - self.block.len()).min(samples.len());
            self.block.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            self.next_pos += take as u64;
            if self.block.len() == BLOCK {
                if is_voice(&self.block) {
                    self.voice_end_ms = ms_of(self.next_pos);
                }
                self.block.clear();
            }
        }
    }

    /// Whether the recording must stop with the time line at `now_ms`.
    pub fn check(&self, now_ms: u64) -> Option<StopReason> {
        if now_ms >= self.max_ms {
            return Some(StopReason::MaxLength);
        }
        let quiet = now_ms.saturating_sub(self.voice_end_ms);
        (self.silence_ms > 0 && quiet >= self.silence_ms).then_some(StopReason::Silence)
    }

    /// End of the latest voice, in ms from the start (0: none heard).
    pub fn voice_end_ms(&self) -> u64 {
        self.voice_end_ms
    }

    /// The length that `min_ms` is compared with: the whole recording, or
    /// after a silence stop the part before the silence.
    pub fn counted_ms(&self, reason: StopReason, length_ms: u64) -> u64 {
        match reason {
            StopReason::Silence => self.voice_end_ms.min(length_ms),
            StopReason::MaxLength | StopReason::Stopped => length_ms,
        }
    }
}

/// Whether a block's RMS reaches [`VOICE_RMS`].
pub fn is_voice(block: &[i16]) -> bool {
    if block.is_empty() {
        return false;
    }
    let energy: u64 = block
        .iter()
        .map(|&s| (i64::from(s) * i64::from(s)) as u64)
        .sum();
    let threshold = u64::from(VOICE_RMS) * u64::from(VOICE_RMS);
    energy / block.len() as u64 >= threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, amplitude: f64) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SAMPLE_RATE);
                (amplitude * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn a_tone_is_voice_and_line_noise_is_not() {
        assert!(is_voice(&tone(BLOCK, 8000.0)));
        assert!(!is_voice(&tone(BLOCK, 200.0)), "about -44 dBFS");
        assert!(!is_voice(&[0; BLOCK]));
        assert!(!is_voice(&[]));
        assert!(is_voice(&[i16::MIN; BLOCK]), "no overflow at full scale");
    }

    #[test]
    fn silence_counts_from_the_last_voice() {
        let mut r = StopRules::new(120_000, 5_000);
        r.on_samples(0, &tone(8000 * 2, 8000.0));
        assert_eq!(r.voice_end_ms(), 2000);
        r.on_samples(16_000, &[0; 8000]);
        assert_eq!(r.check(3000), None);
        assert_eq!(r.check(6999), None);
        assert_eq!(r.check(7000), Some(StopReason::Silence));
        assert_eq!(r.counted_ms(StopReason::Silence, 7000), 2000);
    }

    #[test]
    fn nothing_said_stops_after_silence_from_the_start_and_counts_nothing() {
        let r = StopRules::new(120_000, 5_000);
        assert_eq!(r.check(4999), None);
        assert_eq!(r.check(5000), Some(StopReason::Silence));
        assert_eq!(r.counted_ms(StopReason::Silence, 5000), 0);
    }

    #[test]
    fn voice_late_in_the_time_line_restarts_the_silence_count() {
        let mut r = StopRules::new(120_000, 1_000);
        r.on_samples(0, &[0; 4000]);
        r.on_samples(4000, &tone(800, 8000.0));
        assert_eq!(r.voice_end_ms(), 600);
        assert_eq!(r.check(1599), None);
        assert_eq!(r.check(1600), Some(StopReason::Silence));
    }

    #[test]
    fn max_length_wins_even_while_talking() {
        let mut r = StopRules::new(3_000, 5_000);
        r.on_samples(0, &tone(8000 * 3, 8000.0));
        assert_eq!(r.check(2999), None);
        assert_eq!(r.check(3000), Some(StopReason::MaxLength));
        assert_eq!(r.counted_ms(StopReason::MaxLength, 3000), 3000);
    }

    #[test]
    fn silence_zero_never_stops_for_silence() {
        let r = StopRules::new(10_000, 0);
        assert_eq!(r.check(9999), None);
        assert_eq!(r.counted_ms(StopReason::Stopped, 9999), 9999);
    }

    #[test]
    fn voice_end_does_not_depend_on_how_the_writer_chunks_the_samples() {
        let mut line = tone(4000, 8000.0);
        line.extend_from_slice(&[0; 4000]);
        let mut ends = Vec::new();
        for chunk in [1, 7, 160, 333, 8000] {
            let mut r = StopRules::new(10_000, 400);
            let mut pos = 0;
            for part in line.chunks(chunk) {
                r.on_samples(pos, part);
                pos += part.len() as u64;
            }
            ends.push(r.voice_end_ms());
        }
        assert_eq!(ends, vec![500; 5], "tone ends at 500 ms");
    }
}
