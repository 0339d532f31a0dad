//! A growing WAV file (RIFF/WAVE, `fmt ` PCM format 1, 16-bit little-endian,
//! 8 kHz) whose header is rewritten at every [`WavOut::flush`], so the file
//! on disk is always a complete, playable WAV of what was flushed, even if
//! the process dies before [`WavOut::finish`].

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::media::SAMPLE_RATE;

/// Bytes of the canonical 44-byte header.
const HEADER_LEN: u32 = 44;

/// What went wrong writing a recording, and where.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("recording {path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    #[error("recording {path}: longer than a WAV file can hold")]
    TooLong { path: PathBuf },
}

pub struct WavOut {
    file: File,
    path: PathBuf,
    channels: u16,
    data_bytes: u32,
    bytes: Vec<u8>,
}

impl WavOut {
    /// Create (truncate) `path` with an empty, valid WAV header.
    pub fn create(path: &Path, channels: u16) -> Result<WavOut, RecordingError> {
        let file = File::create(path).map_err(|source| RecordingError::Io {
            path: path.to_owned(),
            op: "create",
            source,
        })?;
        let mut w = WavOut {
            file,
            path: path.to_owned(),
            channels,
            data_bytes: 0,
            bytes: Vec::new(),
        };
        let header = header(channels, 0);
        w.io("write header", |f| f.write_all(&header))?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append interleaved samples (not yet visible in the header).
    pub fn append(&mut self, samples: &[i16]) -> Result<(), RecordingError> {
        let add = u32::try_from(samples.len() * 2).ok();
        let total = add.and_then(|a| self.data_bytes.checked_add(a));
        let Some(total) = total.filter(|t| t.checked_add(HEADER_LEN).is_some()) else {
            return Err(RecordingError::TooLong {
                path: self.path.clone(),
            });
        };
        self.bytes.clear();
        self.bytes
            .extend(samples.iter().flat_map(|s| s.to_le_bytes()));
        let bytes = std::mem::take(&mut self.bytes);
        let r = self.io("write samples", |f| f.write_all(&bytes));
        self.bytes = bytes;
        r?;
        self.data_bytes = total;
        Ok(())
    }

    /// Rewrite the header's sizes for everything appended so far.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        let h = header(self.channels, self.data_bytes);
        self.io("update header", |f| {
            f.seek(SeekFrom::Start(0))?;
            f.write_all(&h)?;
            f.seek(SeekFrom::End(0))?;
            f.flush()
        })
    }

    /// Flush and push the file to the disk.
    pub fn finish(mut self) -> Result<(), RecordingError> {
        self.flush()?;
        self.io("sync", |f| f.sync_all())
    }

    fn io(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&mut File) -> std::io::Result<()>,
    ) -> Result<(), RecordingError> {
        f(&mut self.file).map_err(|source| RecordingError::Io {
            path: self.path.clone(),
            op,
            source,
        })
    }
}

/// The 44-byte PCM header for `data_bytes` of 16-bit samples.
fn header(channels: u16, data_bytes: u32) -> [u8; HEADER_LEN as usize] {
    let block_align = channels * 2;
    let byte_rate = SAMPLE_RATE * u32::from(block_align);
    let mut h = [0u8; HEADER_LEN as usize];
    let mut put = |at: usize, b: &[u8]| h[at..at + b.len()].copy_from_slice(b);
    put(0, b"RIFF");
    put(4, &(HEADER_LEN - 8 + data_bytes).to_le_bytes());
    put(8, b"WAVEfmt ");
    put(16, &16u32.to_le_bytes());
    put(20, &1u16.to_le_bytes());
    put(22, &channels.to_le_bytes());
    put(24, &SAMPLE_RATE.to_le_bytes());
    put(28, &byte_rate.to_le_bytes());
    put(32, &block_align.to_le_bytes());
    put(34, &16u16.to_le_bytes());
    put(36, b"data");
    put(40, &data_bytes.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        std::env::temp_dir().join(format!("softacd-wavout-{}-{name}", u64::from_le_bytes(r)))
    }

    #[test]
    fn every_flush_leaves_a_wav_the_reader_accepts() {
        let path = temp("mono.wav");
        let mut w = WavOut::create(&path, 1).unwrap();
        let samples: Vec<i16> = (0..800).map(|i| (i * 7) as i16).collect();
        w.append(&samples[..400]).unwrap();
        w.flush().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let got = crate::media::wav::read_pcm16_mono_8k(&bytes).unwrap();
        assert_eq!(got, samples[..400]);
        w.append(&samples[400..]).unwrap();
        w.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            crate::media::wav::read_pcm16_mono_8k(&bytes).unwrap(),
            samples
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn stereo_header_names_two_channels() {
        let h = header(2, 640);
        assert_eq!(u16::from_le_bytes([h[22], h[23]]), 2);
        assert_eq!(u32::from_le_bytes([h[28], h[29], h[30], h[31]]), 32_000);
        assert_eq!(u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 36 + 640);
    }
}
