//! Prompts for the IVR (mission step 4; DESIGN.md "prompts are decoded and
//! encoded once"): a [`Prompt`] is a WAV file pre-encoded into 20 ms frames
//! of 160 bytes for each codec, so playing it is a slice lookup per tick.
//! [`PromptCache`] loads every `.wav` in a directory at start-up; every
//! error names the file. This is start-up code: it reads files with `std::fs`
//! and is never called on the media hot path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::wav::{read_pcm16_mono_8k, WavError};
use super::{g711, Codec, FRAME_SAMPLES};

/// One encoded 20 ms frame.
pub type Frame = [u8; FRAME_SAMPLES];

/// Largest prompt file we load (about 34 minutes at 8 kHz 16-bit).
pub const MAX_PROMPT_BYTES: u64 = 32 * 1024 * 1024;
/// Most prompts one directory may hold.
pub const MAX_PROMPTS: usize = 4096;

/// Why a prompt or a prompt directory could not be loaded.
#[derive(Debug, Error)]
pub enum PromptError {
    #[error("prompt {}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("prompt {}: {source}", file.display())]
    Format { file: PathBuf, source: WavError },
    #[error("prompt {}: {bytes} bytes exceeds the {MAX_PROMPT_BYTES}-byte limit", file.display())]
    TooLarge { file: PathBuf, bytes: u64 },
    #[error("prompt {}: file name is not valid UTF-8", file.display())]
    BadName { file: PathBuf },
    #[error("prompt directory {}: more than {MAX_PROMPTS} prompts", dir.display())]
    TooMany { dir: PathBuf },
}

/// A prompt, encoded once per codec into 20 ms frames. The last frame is
/// padded with silence.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub name: String,
    frames_pcmu: Vec<Frame>,
    frames_pcma: Vec<Frame>,
}

impl Prompt {
    /// Encode 8 kHz linear samples.
    pub fn from_pcm(name: impl Into<String>, samples: &[i16]) -> Prompt {
        Prompt {
            name: name.into(),
            frames_pcmu: encode_frames(Codec::Pcmu, samples),
            frames_pcma: encode_frames(Codec::Pcma, samples),
        }
    }

    /// Load and encode one WAV file; the name is the file stem.
    pub fn load(path: &Path) -> Result<Prompt, PromptError> {
        let file = || path.to_path_buf();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| PromptError::BadName { file: file() })?;
        let bytes = read_bounded(path)?;
        let samples = read_pcm16_mono_8k(&bytes).map_err(|source| PromptError::Format {
            file: file(),
            source,
        })?;
        Ok(Prompt::from_pcm(name, &samples))
    }

    /// Frame `i` for `codec`, or `None` past the end.
    pub fn frame(&self, codec: Codec, i: usize) -> Option<&Frame> {
        match codec {
            Codec::Pcmu => self.frames_pcmu.get(i),
            Codec::Pcma => self.frames_pcma.get(i),
        }
    }

    /// Number of 20 ms frames.
    pub fn frame_count(&self) -> usize {
        self.frames_pcmu.len()
    }

    /// Length in milliseconds (whole frames).
    pub fn duration_ms(&self) -> u64 {
        self.frame_count() as u64 * 20
    }
}

fn encode_frames(codec: Codec, samples: &[i16]) -> Vec<Frame> {
    samples
        .chunks(FRAME_SAMPLES)
        .map(|chunk| {
            let mut frame = [g711::silence(codec); FRAME_SAMPLES];
            g711::encode(codec, chunk, &mut frame);
            frame
        })
        .collect()
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, PromptError> {
    let io = |source| PromptError::Io {
        file: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    if bytes > MAX_PROMPT_BYTES {
        return Err(PromptError::TooLarge {
            file: path.to_path_buf(),
            bytes,
        });
    }
    std::fs::read(path).map_err(io)
}

/// Every prompt of a directory, by name (file stem).
#[derive(Debug, Clone, Default)]
pub struct PromptCache {
    prompts: HashMap<String, Prompt>,
}

impl PromptCache {
    /// Load every `*.wav` (any case) directly inside `dir`. The first bad
    /// file fails the whole load, naming the file.
    pub fn load_dir(dir: &Path) -> Result<PromptCache, PromptError> {
        let dir_err = |source| PromptError::Io {
            file: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(dir_err)? {
            let path = entry.map_err(dir_err)?.path();
            let is_wav = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
            if is_wav && path.is_file() {
                if paths.len() == MAX_PROMPTS {
                    return Err(PromptError::TooMany {
                        dir: dir.to_path_buf(),
                    });
                }
                paths.push(path);
            }
        }
        paths.sort();
        let mut cache = PromptCache::default();
        for path in paths {
            cache.insert(Prompt::load(&path)?);
        }
        Ok(cache)
    }

    /// Add or replace a prompt.
    pub fn insert(&mut self, prompt: Prompt) {
        self.prompts.insert(prompt.name.clone(), prompt);
    }

    pub fn get(&self, name: &str) -> Option<&Prompt> {
        self.prompts.get(name)
    }

    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    /// Prompt names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.prompts.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::wav::write_pcm16_mono_8k;

    /// The prompts shipped in `media/` (see media/README.md).
    /// Demo prompts plus the IVR `say` fragments and flow phrases (media/generate.sh).
    const SHIPPED: [&str; 62] = [
        "after-hours",
        "and",
        "beep",
        "callback-offer",
        "cent",
        "cents",
        "dollar",
        "dollars",
        "enter-number",
        "estimated-wait",
        "goodbye",
        "hold",
        "holiday",
        "hour",
        "hours",
        "hundred",
        "info",
        "invalid",
        "leave-message",
        "menu",
        "million",
        "minus",
        "minute",
        "minutes",
        "n0",
        "n1",
        "n10",
        "n11",
        "n12",
        "n13",
        "n14",
        "n15",
        "n16",
        "n17",
        "n18",
        "n19",
        "n2",
        "n20",
        "n3",
        "n30",
        "n4",
        "n40",
        "n5",
        "n50",
        "n6",
        "n60",
        "n7",
        "n70",
        "n8",
        "n80",
        "n9",
        "n90",
        "point",
        "queue",
        "second",
        "seconds",
        "thank-you",
        "thousand",
        "timeout",
        "vip-welcome",
        "welcome",
        "you-are-caller-number",
    ];

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("softacd-prompt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn frames_are_encoded_per_codec_and_padded_with_silence() {
        let samples: Vec<i16> = (0..400).map(|i| (i * 50) as i16).collect();
        let p = Prompt::from_pcm("ramp", &samples);
        assert_eq!(p.frame_count(), 3);
        assert_eq!(p.duration_ms(), 60);
        let u = p.frame(Codec::Pcmu, 1).unwrap();
        let a = p.frame(Codec::Pcma, 1).unwrap();
        assert_eq!(u[0], g711::ulaw_encode(160 * 50));
        assert_eq!(a[0], g711::alaw_encode(160 * 50));
        let last = p.frame(Codec::Pcmu, 2).unwrap();
        assert_eq!(last[79], g711::ulaw_encode(399 * 50));
        assert!(last[80..].iter().all(|b| *b == 0xFF));
        assert!(p.frame(Codec::Pcma, 2).unwrap()[80..]
            .iter()
            .all(|b| *b == 0xD5));
        assert!(p.frame(Codec::Pcmu, 3).is_none());
    }

    #[test]
    fn cache_loads_wavs_and_names_the_bad_file() {
        let dir = temp_dir("cache");
        std::fs::write(dir.join("hello.wav"), write_pcm16_mono_8k(&[0; 320])).unwrap();
        std::fs::write(dir.join("notes.txt"), b"not a prompt").unwrap();
        let cache = PromptCache::load_dir(&dir).unwrap();
        assert_eq!(cache.names(), ["hello"]);
        assert_eq!(cache.get("hello").unwrap().frame_count(), 2);

        let mut stereo = write_pcm16_mono_8k(&[0; 8]);
        stereo[22] = 2;
        std::fs::write(dir.join("stereo.wav"), stereo).unwrap();
        let err = PromptCache::load_dir(&dir).unwrap_err();
        assert!(matches!(
            err,
            PromptError::Format {
                source: WavError::NotMono(2),
                ..
            }
        ));
        assert!(err.to_string().contains("stereo.wav"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let err = PromptCache::load_dir(Path::new("/nonexistent/softacd-prompts")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/softacd-prompts"),
            "{err}"
        );
    }

    #[test]
    fn every_shipped_prompt_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("media");
        let cache = PromptCache::load_dir(&dir).unwrap();
        assert_eq!(cache.names(), SHIPPED);
        for name in SHIPPED {
            let p = cache.get(name).unwrap();
            assert!(p.frame_count() >= 10, "{name} is under 200 ms");
            // Not silence: some frame byte differs from encoded zero.
            let audible = (0..p.frame_count())
                .filter_map(|i| p.frame(Codec::Pcmu, i))
                .any(|f| f.iter().any(|b| *b != 0xFF && *b != 0x7F));
            assert!(audible, "{name} is silent");
        }
        let hold = cache.get("hold").unwrap();
        assert!((9_000..=11_000).contains(&hold.duration_ms()));
    }
}
