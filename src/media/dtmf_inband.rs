//! In-band DTMF receiver for 8 kHz PCM (ITU-T Q.23 frequencies, Q.24
//! acceptance figures). Owns the decision "this audio is key X" for the
//! IVR when a caller's gateway sends tones in the G.711 audio instead of
//! RFC 4733 events.
//!
//! Method: every 5 ms (hop of 40 samples) a Hann-windowed 10 ms block (80
//! samples) goes through eight [`Goertzel`] bins (697…941, 1209…1633 Hz).
//! A block is *valid* for key X when the strongest bin of each group
//! carries at least [`PURITY`] of the block's energy (rejects speech,
//! music, partial blocks at a tone's edges), each tone is above
//! [`MIN_TONE_POWER`] and the twist is inside the Q.24 limits. The tone's
//! true frequency is measured from the phase advance of its bin between
//! consecutive blocks (summed over the run), so ±1.5 % is accepted and
//! ±3.5 % rejected even where a 10 ms bin is wider than 3.5 %. A key is
//! reported once [`MIN_RUN`] consecutive blocks agree (≥ 40 ms tones pass,
//! ≤ 23 ms fail) and ends after [`END_MISSES`] blocks without it, so a
//! 40 ms pause separates two presses of one key.
//!
//! Pure: no clock, no IO; time is the sample count.

use super::g711;
use super::goertzel::{hann, Bin, Goertzel};
use super::{Codec, SAMPLE_RATE};

/// Q.23 low group (rows) and high group (columns), Hz.
pub const LOW_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
pub const HIGH_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Analysis block (10 ms) and hop (5 ms), samples.
pub const BLOCK: usize = 80;
pub const HOP: usize = 40;
/// Share of a block's energy the two tones must carry.
pub const PURITY: f32 = 0.8;
/// Consecutive valid blocks before a key is reported.
pub const MIN_RUN: u32 = 6;
/// Blocks without the key before it is released.
pub const END_MISSES: u32 = 4;
/// Frequency deviation accepted, as a fraction (between Q.24's 1.5 %
/// accept and 3.5 % reject).
pub const MAX_DEVIATION: f32 = 0.025;
/// High tone over low tone, dB: normal twist up to +5, reverse down to −9
/// (Q.24 asks +4 / −8 accepted).
pub const NORMAL_TWIST_DB: f32 = 5.0;
pub const REVERSE_TWIST_DB: f32 = -9.0;
/// Least mean-square of one tone (full scale = 1.0): about −33 dBm0 in
/// G.711 (0 dBm0 is a sine of amplitude 0.68).
pub const MIN_TONE_POWER: f32 = 1.2e-4;

/// A key found in the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InbandDigit {
    pub key: char,
    /// Sample count (since the detector started) at the block that
    /// confirmed the key.
    pub at_sample: u64,
}

/// What one block showed.
#[derive(Debug, Clone, Copy)]
struct BlockVerdict {
    row: usize,
    col: usize,
    low: Bin,
    high: Bin,
}

/// The receiver for one stream.
pub struct InbandDetector {
    low: [Goertzel; 4],
    high: [Goertzel; 4],
    window: Vec<f32>,
    /// Window sum and window energy, for power normalisation.
    window_sum: f32,
    window_energy: f32,
    /// The block being gathered (scaled to ±1.0): the previous hop's
    /// samples, then `filled` new ones.
    history: [f32; BLOCK],
    filled: usize,
    scratch: [f32; BLOCK],
    samples: u64,
    run: Option<Run>,
    /// The key reported and not yet released, with blocks missing it.
    latched: Option<(char, u32)>,
}

/// Consecutive blocks agreeing on one key, with the summed phase
/// advances of its two bins.
#[derive(Debug, Clone, Copy)]
struct Run {
    row: usize,
    col: usize,
    len: u32,
    last_low: Bin,
    last_high: Bin,
    low_advance: Bin,
    high_advance: Bin,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    pub fn new() -> InbandDetector {
        let fs = SAMPLE_RATE as f32;
        let window = hann(BLOCK);
        let window_sum = window.iter().sum();
        let window_energy = window.iter().map(|w| w * w).sum();
        InbandDetector {
            low: LOW_HZ.map(|f| Goertzel::new(f, fs)),
            high: HIGH_HZ.map(|f| Goertzel::new(f, fs)),
            window,
            window_sum,
            window_energy,
            history: [0.0; BLOCK],
            filled: 0,
            scratch: [0.0; BLOCK],
            samples: 0,
            run: None,
            latched: None,
        }
    }

    /// Forget everything (new remote, new codec).
    pub fn reset(&mut self) {
        *self = InbandDetector::new();
    }

    /// Feed linear PCM; keys confirmed in it are appended to `out`.
    pub fn push(&mut self, pcm: &[i16], out: &mut Vec<InbandDigit>) {
        for &s in pcm {
            self.history[HOP + self.filled] = f32::from(s) / 32768.0;
            self.filled += 1;
            self.samples += 1;
            if self.filled == HOP {
                if let Some(key) = self.on_block() {
                    out.push(InbandDigit {
                        key,
                        at_sample: self.samples,
                    });
                }
                self.history.copy_within(HOP.., 0);
                self.filled = 0;
            }
        }
    }

    /// Decode a G.711 payload and feed it.
    pub fn push_g711(&mut self, codec: Codec, payload: &[u8], out: &mut Vec<InbandDigit>) {
        let mut pcm = [0i16; 320];
        for chunk in payload.chunks(pcm.len()) {
            let n = g711::decode(codec, chunk, &mut pcm);
            if let Some(decoded) = pcm.get(..n) {
                self.push(decoded, out);
            }
        }
    }

    /// Analyse the block in `history`; returns a newly confirmed key.
    fn on_block(&mut self) -> Option<char> {
        for ((d, &x), &w) in self.scratch.iter_mut().zip(&self.history).zip(&self.window) {
            *d = x * w;
        }
        let verdict = self.verdict();
        self.advance_run(verdict);
        self.release_or_confirm(verdict)
    }

    fn verdict(&self) -> Option<BlockVerdict> {
        let low = self.low.map(|g| g.dft(&self.scratch));
        let high = self.high.map(|g| g.dft(&self.scratch));
        let row = strongest(&low);
        let col = strongest(&high);
        let (lo, hi) = (low[row], high[col]);
        // Mean-square of a sine from its windowed bin: 2|X|²/(Σw)².
        let tone = |b: Bin| 2.0 * b.power() / (self.window_sum * self.window_sum);
        let (p_lo, p_hi) = (tone(lo), tone(hi));
        let energy: f32 = self.scratch.iter().map(|x| x * x).sum::<f32>() / self.window_energy;
        if p_lo < MIN_TONE_POWER || p_hi < MIN_TONE_POWER {
            return None;
        }
        if p_lo + p_hi < PURITY * energy {
            return None;
        }
        let twist_db = 10.0 * (p_hi / p_lo).log10();
        if !(REVERSE_TWIST_DB..=NORMAL_TWIST_DB).contains(&twist_db) {
            return None;
        }
        Some(BlockVerdict {
            row,
            col,
            low: lo,
            high: hi,
        })
    }

    fn advance_run(&mut self, verdict: Option<BlockVerdict>) {
        let Some(v) = verdict else {
            self.run = None;
            return;
        };
        match &mut self.run {
            Some(r) if r.row == v.row && r.col == v.col => {
                let lo_step = self.low[v.row].omega() * HOP as f32;
                let hi_step = self.high[v.col].omega() * HOP as f32;
                r.low_advance = r
                    .low_advance
                    .plus(v.low.advance_from(r.last_low).rotate_back(lo_step));
                r.high_advance = r
                    .high_advance
                    .plus(v.high.advance_from(r.last_high).rotate_back(hi_step));
                r.last_low = v.low;
                r.last_high = v.high;
                r.len += 1;
            }
            _ => {
                self.run = Some(Run {
                    row: v.row,
                    col: v.col,
                    len: 1,
                    last_low: v.low,
                    last_high: v.high,
                    low_advance: Bin::default(),
                    high_advance: Bin::default(),
                })
            }
        }
    }

    fn release_or_confirm(&mut self, verdict: Option<BlockVerdict>) -> Option<char> {
        let current = verdict.map(|v| KEYS[v.row][v.col]);
        if let Some((key, misses)) = &mut self.latched {
            if current == Some(*key) {
                *misses = 0;
            } else {
                *misses += 1;
                if *misses >= END_MISSES {
                    self.latched = None;
                }
            }
            return None;
        }
        let run = self.run?;
        if run.len < MIN_RUN || !self.on_frequency(&run) {
            return None;
        }
        let key = KEYS[run.row][run.col];
        self.latched = Some((key, 0));
        Some(key)
    }

    /// Both tones within [`MAX_DEVIATION`] of nominal, measured from the
    /// mean phase advance per hop.
    fn on_frequency(&self, run: &Run) -> bool {
        let hz_per_radian = SAMPLE_RATE as f32 / (2.0 * std::f32::consts::PI * HOP as f32);
        let within = |advance: Bin, nominal: f32| {
            let offset_hz = advance.angle() * hz_per_radian;
            offset_hz.abs() <= MAX_DEVIATION * nominal
        };
        within(run.low_advance, LOW_HZ[run.row]) && within(run.high_advance, HIGH_HZ[run.col])
    }
}

fn strongest(bins: &[Bin; 4]) -> usize {
    let mut best = 0;
    for (i, b) in bins.iter().enumerate() {
        if b.power() > bins[best].power() {
            best = i;
        }
    }
    best
}

/// The (low, high) frequencies of `key`, if it is a DTMF key.
pub fn key_frequencies(key: char) -> Option<(f32, f32)> {
    let key = key.to_ascii_uppercase();
    KEYS.iter().enumerate().find_map(|(row, keys)| {
        keys.iter()
            .position(|&k| k == key)
            .map(|col| (LOW_HZ[row], HIGH_HZ[col]))
    })
}

#[cfg(test)]
mod tests;
