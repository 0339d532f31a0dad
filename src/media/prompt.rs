//! Prompts for the IVR (mission step 4; issue 4 "Prompts"; DESIGN.md
//! "prompts are decoded and encoded once"): a [`Prompt`] is an audio file
//! (WAV in any PCM/µ-law/A-law form, MP3, Ogg Vorbis or FLAC) decoded once
//! ([`crate::media::decode`]), resampled to 8 kHz for G.711 and 16 kHz for
//! G.722/Opus, and encoded once per codec into a [`FrameCache`] of 20 ms
//! frames, so playing it is a slice lookup per tick. [`PromptCache`] loads
//! every audio file in a directory at start-up; the name is the file stem,
//! two files with one stem are an error, and every error names the file.
//! This is start-up code: it reads files with `std::fs` and is never called
//! on the media hot path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::codec::{encode_prompt, CodecError};
use super::decode::{self, DecodeError, Decoded};
use super::frames::FrameCache;
use super::{Codec, SAMPLE_RATE, WIDEBAND_RATE};

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
    Decode { file: PathBuf, source: DecodeError },
    #[error("prompt {}: {source}", file.display())]
    Encode { file: PathBuf, source: CodecError },
    #[error("prompt {}: {bytes} bytes exceeds the {MAX_PROMPT_BYTES}-byte limit", file.display())]
    TooLarge { file: PathBuf, bytes: u64 },
    #[error("prompt {}: file name is not valid UTF-8", file.display())]
    BadName { file: PathBuf },
    #[error("prompt directory {}: more than {MAX_PROMPTS} prompts", dir.display())]
    TooMany { dir: PathBuf },
    #[error("prompt {name:?} exists twice: {} and {} (keep one format per name)", first.display(), second.display())]
    Duplicate {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// A prompt, encoded once per codec into 20 ms frames. The last frame is
/// padded with silence.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub name: String,
    /// Indexed by [`codec_index`], in [`Codec::SUPPORTED`] order.
    frames: [FrameCache; 4],
}

fn codec_index(codec: Codec) -> usize {
    match codec {
        Codec::Pcmu => 0,
        Codec::Pcma => 1,
        Codec::G722 => 2,
        Codec::Opus => 3,
    }
}

impl Prompt {
    /// Encode 8 kHz linear samples for every codec (G.722 and Opus then
    /// carry narrowband audio).
    pub fn from_pcm(name: impl Into<String>, samples: &[i16]) -> Prompt {
        let name = name.into();
        match Prompt::from_audio(name.clone(), samples, samples, SAMPLE_RATE) {
            Ok(p) => p,
            Err(e) => {
                // libopus refuses only bad parameters, which these are not;
                // keep the G.711 frames rather than lose the prompt.
                tracing::error!(prompt = %name, error = %e, "prompt: wideband encode failed");
                let mut frames: [FrameCache; 4] = Default::default();
                for c in [Codec::Pcmu, Codec::Pcma] {
                    if let Ok(f) = encode_prompt(c, samples, SAMPLE_RATE) {
                        frames[codec_index(c)] = f;
                    }
                }
                Prompt { name, frames }
            }
        }
    }

    /// Encode a prompt from 8 kHz samples (for G.711) and `wide_rate`
    /// samples (8 or 16 kHz, for G.722 and Opus).
    pub fn from_audio(
        name: impl Into<String>,
        narrow: &[i16],
        wide: &[i16],
        wide_rate: u32,
    ) -> Result<Prompt, CodecError> {
        Ok(Prompt {
            name: name.into(),
            frames: [
                encode_prompt(Codec::Pcmu, narrow, SAMPLE_RATE)?,
                encode_prompt(Codec::Pcma, narrow, SAMPLE_RATE)?,
                encode_prompt(Codec::G722, wide, wide_rate)?,
                encode_prompt(Codec::Opus, wide, wide_rate)?,
            ],
        })
    }

    /// Load, decode, resample and encode one audio file; the name is the
    /// file stem.
    pub fn load(path: &Path) -> Result<Prompt, PromptError> {
        let file = || path.to_path_buf();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| PromptError::BadName { file: file() })?;
        let extension = path
            .extension()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = read_bounded(path)?;
        let decode_err = |source| PromptError::Decode {
            file: file(),
            source,
        };
        let audio: Decoded = decode::decode(bytes, &extension).map_err(decode_err)?;
        let narrow = decode::resample_to_i16(&audio, SAMPLE_RATE).map_err(decode_err)?;
        let wide = decode::resample_to_i16(&audio, WIDEBAND_RATE).map_err(decode_err)?;
        Prompt::from_audio(name, &narrow, &wide, WIDEBAND_RATE).map_err(|source| {
            PromptError::Encode {
                file: file(),
                source,
            }
        })
    }

    /// Frame `i` for `codec`, or `None` past the end.
    pub fn frame(&self, codec: Codec, i: usize) -> Option<&[u8]> {
        self.frames[codec_index(codec)].get(i)
    }

    /// The whole frame cache of one codec.
    pub fn frames(&self, codec: Codec) -> &FrameCache {
        &self.frames[codec_index(codec)]
    }

    /// Number of 20 ms frames.
    pub fn frame_count(&self) -> usize {
        self.frames[0].len()
    }

    /// Length in milliseconds (whole frames).
    pub fn duration_ms(&self) -> u64 {
        self.frame_count() as u64 * 20
    }
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

/// Is this a file name we load as a prompt (by extension, any case)?
pub fn is_prompt_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| decode::EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Every prompt of a directory, by name (file stem).
#[derive(Debug, Clone, Default)]
pub struct PromptCache {
    prompts: HashMap<String, Prompt>,
}

impl PromptCache {
    /// Load every audio file ([`decode::EXTENSIONS`], any case) directly
    /// inside `dir`. The first bad file fails the whole load, naming the
    /// file; two files with the same stem fail it naming both.
    pub fn load_dir(dir: &Path) -> Result<PromptCache, PromptError> {
        let paths = prompt_files(dir)?;
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

/// The prompt files of `dir`, sorted, refusing two with one stem.
fn prompt_files(dir: &Path) -> Result<Vec<PathBuf>, PromptError> {
    let dir_err = |source| PromptError::Io {
        file: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(dir_err)? {
        let path = entry.map_err(dir_err)?.path();
        if is_prompt_file(&path) && path.is_file() {
            if paths.len() == MAX_PROMPTS {
                return Err(PromptError::TooMany {
                    dir: dir.to_path_buf(),
                });
            }
            paths.push(path);
        }
    }
    paths.sort();
    let mut by_stem: HashMap<&std::ffi::OsStr, &PathBuf> = HashMap::new();
    for path in &paths {
        let Some(stem) = path.file_stem() else {
            continue;
        };
        if let Some(first) = by_stem.insert(stem, path) {
            return Err(PromptError::Duplicate {
                name: stem.to_string_lossy().into_owned(),
                first: first.clone(),
                second: path.clone(),
            });
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711;
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
        for c in Codec::SUPPORTED {
            assert_eq!(p.frames(c).len(), 3, "{c:?}");
            assert!(p.frame(c, 2).is_some_and(|f| !f.is_empty()), "{c:?}");
            assert!(p.frames(c).max_frame_len() <= crate::media::codec::MAX_FRAME_BYTES);
        }
        assert!(p.frame(Codec::G722, 0).is_some_and(|f| f.len() == 160));
    }

    #[test]
    fn cache_loads_audio_files_and_names_the_bad_file() {
        let dir = temp_dir("cache");
        std::fs::write(dir.join("hello.wav"), write_pcm16_mono_8k(&[0; 320])).unwrap();
        std::fs::write(dir.join("notes.txt"), b"not a prompt").unwrap();
        let cache = PromptCache::load_dir(&dir).unwrap();
        assert_eq!(cache.names(), ["hello"]);
        assert_eq!(cache.get("hello").unwrap().frame_count(), 2);

        std::fs::write(dir.join("broken.mp3"), b"ID3 this is no mpeg audio at all").unwrap();
        let err = PromptCache::load_dir(&dir).unwrap_err();
        assert!(matches!(err, PromptError::Decode { .. }), "{err:?}");
        assert!(err.to_string().contains("broken.mp3"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn two_files_with_one_name_are_an_error_naming_both() {
        let dir = temp_dir("dup");
        let wav = write_pcm16_mono_8k(&[0; 320]);
        std::fs::write(dir.join("menu.wav"), &wav).unwrap();
        std::fs::write(dir.join("menu.WAV"), &wav).unwrap();
        let err = PromptCache::load_dir(&dir).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, PromptError::Duplicate { ref name, .. } if name == "menu"));
        assert!(
            text.contains("menu.wav") && text.contains("menu.WAV"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_or_file_is_an_error_naming_it() {
        let err = PromptCache::load_dir(Path::new("/nonexistent/softacd-prompts")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/softacd-prompts"),
            "{err}"
        );
        let err = Prompt::load(Path::new("/nonexistent/welcome.flac")).unwrap_err();
        assert!(matches!(err, PromptError::Io { .. }));
        assert!(err.to_string().contains("welcome.flac"), "{err}");
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
            for c in Codec::SUPPORTED {
                assert_eq!(p.frames(c).len(), p.frame_count(), "{name} {c:?}");
            }
        }
        let hold = cache.get("hold").unwrap();
        assert!((9_000..=11_000).contains(&hold.duration_ms()));
    }
}
