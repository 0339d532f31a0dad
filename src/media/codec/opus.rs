//! Opus (RFC 6716) through the `opus` crate (libopus): mono, VoIP mode,
//! 20 ms frames capped at [`super::MAX_FRAME_BYTES`]. RTP framing per RFC
//! 7587: the RTP clock is 48000 Hz whatever the audio bandwidth, so a 20 ms
//! frame advances it by 960.

use opus::{Application, Bitrate, Channels};

use super::CodecError;

/// Bit rate we encode prompts at (wideband speech).
pub const BITRATE: i32 = 32_000;

fn err(e: opus::Error) -> CodecError {
    CodecError::Opus(e.to_string())
}

/// An Opus encoder fed 8 or 16 kHz mono PCM.
pub struct Encoder {
    inner: opus::Encoder,
}

impl Encoder {
    pub fn new(rate: u32) -> Result<Encoder, CodecError> {
        let mut inner = opus::Encoder::new(rate, Channels::Mono, Application::Voip).map_err(err)?;
        inner.set_bitrate(Bitrate::Bits(BITRATE)).map_err(err)?;
        Ok(Encoder { inner })
    }

    /// Encode one 20 ms frame into `out`; returns the octets written.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        self.inner.encode(pcm, out).map_err(err)
    }
}

/// An Opus decoder producing 8 kHz mono PCM (libopus resamples inside).
pub struct Decoder {
    inner: opus::Decoder,
    /// Room for the longest Opus frame (120 ms) at 8 kHz.
    scratch: Box<[i16; 960]>,
}

impl Decoder {
    pub fn new() -> Result<Decoder, CodecError> {
        Ok(Decoder {
            inner: opus::Decoder::new(8000, Channels::Mono).map_err(err)?,
            scratch: Box::new([0; 960]),
        })
    }

    /// Decode one payload, appending 8 kHz samples to `out`; returns how
    /// many were appended. A corrupt payload is an error.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, CodecError> {
        let n = self
            .inner
            .decode(payload, &mut self.scratch[..], false)
            .map_err(err)?;
        out.extend_from_slice(&self.scratch[..n]);
        Ok(n)
    }
}
