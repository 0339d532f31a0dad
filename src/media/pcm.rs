//! Any codec's RTP payload back to 8 kHz 16-bit linear PCM (issue 4: a
//! stream in G.722 or Opus must still feed in-band DTMF detection and
//! recording, which work on narrowband PCM). G.711 by table (ITU-T G.711),
//! G.722 by its lower sub-band (ITU-T G.722 §1.4), Opus by libopus at an
//! 8 kHz output rate (RFC 6716 §4). One decoder per stream: G.722 and Opus
//! carry state from packet to packet.

use super::codec::{g722, opus, CodecError};
use super::{g711, Codec};

/// A per-stream decoder to 8 kHz PCM.
pub struct PcmDecoder {
    codec: Codec,
    state: State,
}

enum State {
    G711,
    G722(Box<g722::Decoder>),
    Opus(Box<opus::Decoder>),
}

impl std::fmt::Debug for PcmDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcmDecoder")
            .field("codec", &self.codec)
            .finish()
    }
}

impl PcmDecoder {
    pub fn new(codec: Codec) -> Result<PcmDecoder, CodecError> {
        let state = match codec {
            Codec::Pcmu | Codec::Pcma => State::G711,
            Codec::G722 => State::G722(Box::default()),
            Codec::Opus => State::Opus(Box::new(opus::Decoder::new()?)),
        };
        Ok(PcmDecoder { codec, state })
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Decode one RTP payload, appending 8 kHz samples to `out`; returns
    /// how many were appended (160 for a 20 ms packet). A corrupt Opus
    /// payload is an error; G.711 and G.722 decode any bytes.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, CodecError> {
        match &mut self.state {
            State::G711 => {
                let start = out.len();
                out.resize(start + payload.len(), 0);
                Ok(g711::decode(self.codec, payload, &mut out[start..]))
            }
            State::G722(d) => Ok(d.decode(payload, out)),
            State::Opus(d) => d.decode(payload, out),
        }
    }
}

/// The share (0..=1) of `samples`' energy in a pure tone of `freq` Hz
/// (a single-bin DFT, as Goertzel computes it): about 1 for a clean sine
/// at `freq`, near 0 for other audio. Used to check that a prompt or a
/// stream carries the audio it should.
pub fn tone_share(samples: &[i16], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let (mut re, mut im, mut energy) = (0.0f64, 0.0f64, 0.0f64);
    for (n, s) in samples.iter().enumerate() {
        let x = f64::from(*s);
        re += x * (w * n as f64).cos();
        im += x * (w * n as f64).sin();
        energy += x * x;
    }
    if energy == 0.0 {
        return 0.0;
    }
    2.0 * (re * re + im * im) / (samples.len() as f64 * energy)
}

/// Root-mean-square level of `samples`, in 16-bit units.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, freq: f64, amplitude: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn tone_share_tells_a_tone_from_another() {
        let t = tone(8000, 1000.0, 10_000.0, 1600);
        assert!(tone_share(&t, 8000, 1000.0) > 0.99);
        assert!(tone_share(&t, 8000, 1400.0) < 0.01);
        assert_eq!(tone_share(&[0; 100], 8000, 1000.0), 0.0);
        assert!((rms(&t) - 10_000.0 / 2f64.sqrt()).abs() < 50.0);
    }

    #[test]
    fn g711_payloads_decode_by_table() {
        let t = tone(8000, 1000.0, 8000.0, 160);
        let mut payload = [0u8; 160];
        for codec in [Codec::Pcmu, Codec::Pcma] {
            g711::encode(codec, &t, &mut payload);
            let mut d = PcmDecoder::new(codec).unwrap();
            let mut out = vec![7];
            assert_eq!(d.decode(&payload, &mut out).unwrap(), 160);
            assert_eq!(out.len(), 161, "appends");
            assert!(tone_share(&out[1..], 8000, 1000.0) > 0.99, "{codec:?}");
        }
    }

    #[test]
    fn a_corrupt_opus_payload_is_an_error_not_a_panic() {
        let mut d = PcmDecoder::new(Codec::Opus).unwrap();
        let mut out = Vec::new();
        // TOC code 3 with a frame count of 0 is invalid (RFC 6716 §3.2.5).
        assert!(d.decode(&[0x03, 0x00], &mut out).is_err());
    }
}
