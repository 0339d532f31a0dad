//! Prompt decoding (issue 4, "decoded once (symphonia), resampled
//! (rubato)"): any WAV the `riff` reader knows (PCM 8/16/24/32-bit, float,
//! µ-law and A-law, ITU-T G.711 in a WAVE_FORMAT_MULAW/ALAW chunk), MP3,
//! Ogg Vorbis and FLAC, at any sample rate, mono or multi-channel. Output is
//! mono (channels averaged) 16-bit linear PCM at the rate asked for (8 kHz
//! for G.711, 16 kHz for G.722/Opus). This is start-up code: it allocates
//! freely and is never called on the media hot path. Errors say what was
//! wrong; the caller ([`crate::media::prompt`]) adds the file name.

use std::io::Cursor;

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use thiserror::Error;

/// File extensions (lower case) we decode, by container.
pub const EXTENSIONS: [&str; 6] = ["wav", "mp3", "ogg", "oga", "flac", "fla"];

/// Longest decoded prompt, in seconds (bounds memory for a hostile file
/// that decompresses far beyond its size).
pub const MAX_SECONDS: u64 = 40 * 60;

/// Why a file could not be decoded to PCM.
#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("not a supported audio file ({0})")]
    Unsupported(String),
    #[error("no audio track")]
    NoTrack,
    #[error("the audio track does not say its sample rate")]
    NoRate,
    #[error("corrupt audio: {0}")]
    Corrupt(String),
    #[error("no audio samples")]
    Empty,
    #[error("longer than {MAX_SECONDS} s")]
    TooLong,
    #[error("cannot resample {from} Hz to {to} Hz: {cause}")]
    Resample { from: u32, to: u32, cause: String },
}

/// Decoded audio: mono samples in [-1, 1] at `rate` Hz.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub rate: u32,
    pub samples: Vec<f32>,
}

/// Decode a whole file held in memory. `extension` is a hint for the
/// probe (the content decides).
pub fn decode(bytes: Vec<u8>, extension: &str) -> Result<Decoded, DecodeError> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(extension);
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| DecodeError::Unsupported(e.to_string()))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or(DecodeError::NoTrack)?;
    let track_id = track.id;
    let rate = track.codec_params.sample_rate.ok_or(DecodeError::NoRate)?;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| DecodeError::Unsupported(e.to_string()))?;
    let limit = MAX_SECONDS * u64::from(rate);
    let mut samples = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break
            }
            Err(e) => return Err(DecodeError::Corrupt(e.to_string())),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let audio = decoder
            .decode(&packet)
            .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
        let channels = audio.spec().channels.count().max(1);
        let mut buf = SampleBuffer::<f32>::new(audio.capacity() as u64, *audio.spec());
        buf.copy_interleaved_ref(audio);
        downmix(buf.samples(), channels, &mut samples);
        if samples.len() as u64 > limit {
            return Err(DecodeError::TooLong);
        }
    }
    if samples.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(Decoded { rate, samples })
}

/// Average interleaved `channels` into mono, appending to `out`.
fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    let scale = 1.0 / channels as f32;
    out.extend(
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() * scale),
    );
}

/// Input chunk the FFT resampler works on.
const RESAMPLE_CHUNK: usize = 1024;

/// Resample mono audio to `to` Hz (band-limited, rubato's synchronous FFT
/// resampler) and convert to 16-bit, clipping. The output is
/// `len * to / rate` samples long, aligned with the input (the
/// resampler's delay is removed).
pub fn resample_to_i16(audio: &Decoded, to: u32) -> Result<Vec<i16>, DecodeError> {
    if audio.rate == to {
        return Ok(audio.samples.iter().map(|s| to_i16(*s)).collect());
    }
    let err = |cause: String| DecodeError::Resample {
        from: audio.rate,
        to,
        cause,
    };
    let mut rs = FftFixedIn::<f32>::new(audio.rate as usize, to as usize, RESAMPLE_CHUNK, 2, 1)
        .map_err(|e| err(e.to_string()))?;
    let wanted = (audio.samples.len() as u64 * u64::from(to) / u64::from(audio.rate)) as usize;
    let delay = rs.output_delay();
    let mut out: Vec<f32> = Vec::with_capacity(wanted + delay + RESAMPLE_CHUNK);
    let mut rest = audio.samples.as_slice();
    while rest.len() >= rs.input_frames_next() {
        let (chunk, tail) = rest.split_at(rs.input_frames_next());
        let got = rs.process(&[chunk], None).map_err(|e| err(e.to_string()))?;
        out.extend_from_slice(&got[0]);
        rest = tail;
    }
    let got = rs
        .process_partial(Some(&[rest]), None)
        .map_err(|e| err(e.to_string()))?;
    out.extend_from_slice(&got[0]);
    while out.len() < wanted + delay {
        let got = rs
            .process_partial(None::<&[&[f32]]>, None)
            .map_err(|e| err(e.to_string()))?;
        out.extend_from_slice(&got[0]);
    }
    Ok(out[delay..delay + wanted]
        .iter()
        .map(|s| to_i16(*s))
        .collect())
}

/// A sample in [-1, 1] as 16-bit linear PCM, clipping outside.
pub fn to_i16(s: f32) -> i16 {
    (s * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests;
