//! The Goertzel algorithm: one bin of the discrete Fourier transform,
//! computed by a second-order recursion (G. Goertzel, 1958; the form used
//! for DTMF receivers, ITU-T Q.24 tone detection). Owns the single-bin
//! complex DFT and the Hann window the in-band DTMF detector
//! ([`crate::media::dtmf_inband`]) applies before it. Pure arithmetic.

use std::f32::consts::PI;

/// One tuned bin: `X(f) = Σ x[n]·e^(−j·2π·f·n/fs)` over a block.
#[derive(Debug, Clone, Copy)]
pub struct Goertzel {
    /// `2·cos ω`, the recursion coefficient.
    coeff: f32,
    cos: f32,
    sin: f32,
    /// `ω` in radians per sample.
    omega: f32,
}

/// A complex DFT value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bin {
    pub re: f32,
    pub im: f32,
}

impl Bin {
    pub fn power(self) -> f32 {
        self.re * self.re + self.im * self.im
    }

    /// `self · conj(prev)`: the phase advance from `prev` to `self`.
    pub fn advance_from(self, prev: Bin) -> Bin {
        Bin {
            re: self.re * prev.re + self.im * prev.im,
            im: self.im * prev.re - self.re * prev.im,
        }
    }

    /// `self · e^(−j·angle)`.
    pub fn rotate_back(self, angle: f32) -> Bin {
        let (s, c) = angle.sin_cos();
        Bin {
            re: self.re * c + self.im * s,
            im: self.im * c - self.re * s,
        }
    }

    pub fn plus(self, other: Bin) -> Bin {
        Bin {
            re: self.re + other.re,
            im: self.im + other.im,
        }
    }

    pub fn angle(self) -> f32 {
        self.im.atan2(self.re)
    }
}

impl Goertzel {
    /// A bin at `freq_hz` for samples taken at `sample_rate` Hz.
    pub fn new(freq_hz: f32, sample_rate: f32) -> Goertzel {
        let omega = 2.0 * PI * freq_hz / sample_rate;
        Goertzel {
            coeff: 2.0 * omega.cos(),
            cos: omega.cos(),
            sin: omega.sin(),
            omega,
        }
    }

    /// `ω` in radians per sample.
    pub fn omega(&self) -> f32 {
        self.omega
    }

    /// The DFT value of `block` at this bin, phase referred to `block[0]`.
    pub fn dft(&self, block: &[f32]) -> Bin {
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &x in block {
            let s0 = x + self.coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        // y = s[N-1] − e^(−jω)·s[N-2] = e^(jω(N−1))·X, so X = e^(−jω(N−1))·y.
        let y = Bin {
            re: s1 - self.cos * s2,
            im: self.sin * s2,
        };
        let last = block.len().saturating_sub(1) as f32;
        y.rotate_back(self.omega * last)
    }
}

/// The periodic Hann window of `len` points.
pub fn hann(len: usize) -> Vec<f32> {
    (0..len)
        .map(|n| 0.5 - 0.5 * (2.0 * PI * n as f32 / len as f32).cos())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct_dft(block: &[f32], freq: f32, fs: f32) -> Bin {
        let mut re = 0.0f64;
        let mut im = 0.0f64;
        for (n, &x) in block.iter().enumerate() {
            let a = 2.0 * std::f64::consts::PI * f64::from(freq) * n as f64 / f64::from(fs);
            re += f64::from(x) * a.cos();
            im -= f64::from(x) * a.sin();
        }
        Bin {
            re: re as f32,
            im: im as f32,
        }
    }

    #[test]
    fn goertzel_equals_the_direct_dft_in_magnitude_and_phase() {
        let block: Vec<f32> = (0..80)
            .map(|n| (0.3 * (n as f32 * 0.61 + 0.4).sin()) + 0.2 * (n as f32 * 1.3).cos())
            .collect();
        for f in [697.0, 941.0, 1209.0, 1633.0, 3000.0] {
            let g = Goertzel::new(f, 8000.0).dft(&block);
            let d = direct_dft(&block, f, 8000.0);
            assert!((g.re - d.re).abs() < 1e-3, "re at {f}: {g:?} vs {d:?}");
            assert!((g.im - d.im).abs() < 1e-3, "im at {f}: {g:?} vs {d:?}");
        }
    }

    #[test]
    fn a_tone_on_the_bin_gives_half_amplitude_times_length() {
        let block: Vec<f32> = (0..80)
            .map(|n| (2.0 * PI * 1000.0 * n as f32 / 8000.0).cos())
            .collect();
        let x = Goertzel::new(1000.0, 8000.0).dft(&block);
        assert!((x.power().sqrt() - 40.0).abs() < 0.01, "{x:?}");
        assert!(x.angle().abs() < 1e-3, "phase of a cosine is zero: {x:?}");
    }

    #[test]
    fn advance_from_measures_the_phase_step() {
        let a = Bin { re: 1.0, im: 0.0 };
        let b = a.rotate_back(-0.5);
        assert!((b.advance_from(a).angle() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn hann_is_zero_at_the_start_and_one_in_the_middle() {
        let w = hann(80);
        assert_eq!(w.len(), 80);
        assert!(w[0].abs() < 1e-6);
        assert!((w[40] - 1.0).abs() < 1e-6);
    }
}
