//! Encoding a prompt once per codec into its [`FrameCache`] of 20 ms frames
//! (issue 4, "encoded once per codec"): G.711 (ITU-T G.711, [`crate::media::g711`]),
//! G.722 at 64 kbit/s ([`g722`], ITU-T G.722 mode 1) and Opus ([`opus`],
//! RFC 6716, mono VoIP). Start-up code: allocation is fine here, the hot
//! path only reads the finished cache.

pub mod g722;
pub mod opus;

use thiserror::Error;

use super::decode::{resample_to_i16, Decoded};
use super::frames::FrameCache;
use super::{g711, Codec, FRAME_SAMPLES, SAMPLE_RATE, WIDEBAND_RATE};

/// Largest encoded 20 ms frame any codec produces: G.711 and G.722 at
/// 64 kbit/s are exactly this; Opus is capped to it (64 kbit/s).
pub const MAX_FRAME_BYTES: usize = FRAME_SAMPLES;

/// Why a codec could not encode or decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("opus: {0}")]
    Opus(String),
    #[error("{codec:?}: audio at {rate} Hz, need 8000 or 16000")]
    Rate { codec: Codec, rate: u32 },
    #[error("{codec:?}: {cause}")]
    Resample { codec: Codec, cause: String },
}

/// Samples of `rate`-Hz audio in one 20 ms frame.
pub fn frame_samples(rate: u32) -> usize {
    rate as usize / 50
}

/// Encode linear PCM at `rate` Hz (8000 or 16000) into 20 ms frames of
/// `codec`; the last frame is padded with silence. G.711 needs 8 kHz;
/// G.722 is fed 16 kHz (8 kHz input is resampled first).
pub fn encode_prompt(codec: Codec, pcm: &[i16], rate: u32) -> Result<FrameCache, CodecError> {
    if codec == Codec::G722 && rate == SAMPLE_RATE {
        let narrow = Decoded {
            rate,
            samples: pcm.iter().map(|s| f32::from(*s) / 32768.0).collect(),
        };
        let wide = resample_to_i16(&narrow, WIDEBAND_RATE).map_err(|e| CodecError::Resample {
            codec,
            cause: e.to_string(),
        })?;
        return encode_prompt(codec, &wide, WIDEBAND_RATE);
    }
    let rate_ok = match codec {
        Codec::Pcmu | Codec::Pcma => rate == 8000,
        Codec::G722 => rate == WIDEBAND_RATE,
        Codec::Opus => rate == SAMPLE_RATE || rate == WIDEBAND_RATE,
    };
    if !rate_ok {
        return Err(CodecError::Rate { codec, rate });
    }
    let n = frame_samples(rate);
    let mut cache = FrameCache::with_capacity(pcm.len().div_ceil(n), MAX_FRAME_BYTES);
    let mut padded = vec![0i16; n];
    let mut out = [0u8; MAX_FRAME_BYTES];
    let mut g722 = g722::Encoder::new();
    let mut opus = match codec {
        Codec::Opus => Some(opus::Encoder::new(rate)?),
        _ => None,
    };
    for chunk in pcm.chunks(n) {
        padded.fill(0);
        padded[..chunk.len()].copy_from_slice(chunk);
        let len = match (codec, opus.as_mut()) {
            (Codec::Opus, Some(enc)) => enc.encode(&padded, &mut out)?,
            (Codec::G722, _) => g722.encode(&padded, &mut out),
            _ => g711::encode(codec, &padded, &mut out),
        };
        cache.push(&out[..len]);
    }
    Ok(cache)
}

#[cfg(test)]
mod tests;
