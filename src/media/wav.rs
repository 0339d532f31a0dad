//! The project's WAV reader for prompts: RIFF/WAVE with a `fmt ` chunk of
//! PCM (format tag 1, or WAVE_FORMAT_EXTENSIBLE with the PCM sub-format),
//! 16-bit, mono, 8 kHz, and a `data` chunk. Other chunks (LIST, fact, …)
//! are skipped, honouring the RIFF pad byte after odd-sized chunks. Any other
//! format is an error saying what was found; the caller adds the file name.

use thiserror::Error;

/// Why a WAV file is not a prompt we can play.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WavError {
    #[error("not a RIFF file")]
    NotRiff,
    #[error("RIFF file is not WAVE")]
    NotWave,
    #[error("chunk {0:?} runs past the end of the file")]
    Truncated(String),
    #[error("no 'fmt ' chunk before the 'data' chunk")]
    MissingFmt,
    #[error("no 'data' chunk")]
    MissingData,
    #[error("format tag {0:#06x} is not PCM")]
    NotPcm(u16),
    #[error("{0} channels, need mono")]
    NotMono(u16),
    #[error("{0} Hz, need 8000 Hz (resample with: sox in.wav -r 8000 -c 1 -b 16 out.wav)")]
    WrongRate(u32),
    #[error("{0} bits per sample, need 16")]
    WrongBits(u16),
    #[error("data chunk of {0} bytes is not whole 16-bit samples")]
    OddData(usize),
}

/// The fields of `fmt ` we check.
#[derive(Debug, Clone, Copy)]
struct Format {
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
}

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Decode a whole WAV file into 16-bit samples (8 kHz mono).
pub fn read_pcm16_mono_8k(bytes: &[u8]) -> Result<Vec<i16>, WavError> {
    if bytes.get(..4) != Some(b"RIFF") {
        return Err(WavError::NotRiff);
    }
    if bytes.get(8..12) != Some(b"WAVE") {
        return Err(WavError::NotWave);
    }
    let mut at = 12;
    let mut format = None;
    while let Some(id) = bytes.get(at..at + 4) {
        let name = String::from_utf8_lossy(id).into_owned();
        let size = u32_at(bytes, at + 4).ok_or_else(|| WavError::Truncated(name.clone()))? as usize;
        let body_start = at + 8;
        let body = body_start
            .checked_add(size)
            .and_then(|end| bytes.get(body_start..end))
            .ok_or_else(|| WavError::Truncated(name.clone()))?;
        match id {
            b"fmt " => format = Some(parse_fmt(body).ok_or(WavError::Truncated(name))?),
            b"data" => return samples(format.ok_or(WavError::MissingFmt)?, body),
            _ => {}
        }
        // Chunks are padded to an even length.
        at = body_start + size + (size & 1);
    }
    Err(WavError::MissingData)
}

fn parse_fmt(body: &[u8]) -> Option<Format> {
    let mut tag = u16_at(body, 0)?;
    if tag == WAVE_FORMAT_EXTENSIBLE {
        // The sub-format GUID starts at byte 24; its first two bytes are the
        // real format tag.
        tag = u16_at(body, 24)?;
    }
    Some(Format {
        tag,
        channels: u16_at(body, 2)?,
        rate: u32_at(body, 4)?,
        bits: u16_at(body, 14)?,
    })
}

fn samples(f: Format, data: &[u8]) -> Result<Vec<i16>, WavError> {
    if f.tag != WAVE_FORMAT_PCM {
        return Err(WavError::NotPcm(f.tag));
    }
    if f.channels != 1 {
        return Err(WavError::NotMono(f.channels));
    }
    if f.rate != 8000 {
        return Err(WavError::WrongRate(f.rate));
    }
    if f.bits != 16 {
        return Err(WavError::WrongBits(f.bits));
    }
    if data.len() % 2 != 0 {
        return Err(WavError::OddData(data.len()));
    }
    Ok(data
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

/// Build a canonical 8 kHz mono 16-bit WAV (used by tests and tools).
pub fn write_pcm16_mono_8k(samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&WAVE_FORMAT_PCM.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Patch a little-endian u16/u32 into a canonical header.
    fn patched(at: usize, value: &[u8]) -> Vec<u8> {
        let mut w = write_pcm16_mono_8k(&[1, -2, 3]);
        w[at..at + value.len()].copy_from_slice(value);
        w
    }

    #[test]
    fn reads_back_what_it_writes() {
        let w = write_pcm16_mono_8k(&[0, 1, -1, i16::MAX, i16::MIN]);
        assert_eq!(
            read_pcm16_mono_8k(&w).unwrap(),
            [0, 1, -1, i16::MAX, i16::MIN]
        );
    }

    #[test]
    fn skips_unknown_chunks_with_odd_padding() {
        let w = write_pcm16_mono_8k(&[7, 8]);
        let mut with_list = w[..36].to_vec();
        with_list.extend_from_slice(b"LIST\x03\x00\x00\x00abc\x00");
        with_list.extend_from_slice(&w[36..]);
        assert_eq!(read_pcm16_mono_8k(&with_list).unwrap(), [7, 8]);
    }

    #[test]
    fn rejects_other_formats_saying_what_was_found() {
        assert_eq!(read_pcm16_mono_8k(b"OggS...."), Err(WavError::NotRiff));
        assert_eq!(
            read_pcm16_mono_8k(&patched(8, b"AVI ")),
            Err(WavError::NotWave)
        );
        assert_eq!(
            read_pcm16_mono_8k(&patched(20, &[3, 0])),
            Err(WavError::NotPcm(3))
        );
        assert_eq!(
            read_pcm16_mono_8k(&patched(22, &[2, 0])),
            Err(WavError::NotMono(2))
        );
        assert_eq!(
            read_pcm16_mono_8k(&patched(24, &44100u32.to_le_bytes())),
            Err(WavError::WrongRate(44100))
        );
        assert_eq!(
            read_pcm16_mono_8k(&patched(34, &[8, 0])),
            Err(WavError::WrongBits(8))
        );
    }

    #[test]
    fn rejects_truncated_and_incomplete_files() {
        let w = write_pcm16_mono_8k(&[1, 2, 3]);
        assert_eq!(
            read_pcm16_mono_8k(&w[..w.len() - 1]),
            Err(WavError::Truncated("data".into()))
        );
        assert_eq!(read_pcm16_mono_8k(&w[..36]), Err(WavError::MissingData));
        let mut no_fmt = w[..12].to_vec();
        no_fmt.extend_from_slice(&w[36..]);
        assert_eq!(read_pcm16_mono_8k(&no_fmt), Err(WavError::MissingFmt));
        let huge = patched(40, &u32::MAX.to_le_bytes());
        assert_eq!(
            read_pcm16_mono_8k(&huge),
            Err(WavError::Truncated("data".into()))
        );
    }

    #[test]
    fn arbitrary_prefixes_never_panic() {
        let w = write_pcm16_mono_8k(&[5; 40]);
        for n in 0..w.len() {
            let _ = read_pcm16_mono_8k(&w[..n]);
        }
        let mut junk = w.clone();
        for i in 12..44 {
            junk[i] = 0xFF;
            let _ = read_pcm16_mono_8k(&junk);
        }
    }
}
