//! The IVR shell's side of the `record` node (issue 5, voicemail): it turns
//! a session's [`RecordCommand`] into a [`crate::media::voicemail`] writer
//! and the media stream's tap, refuses what cannot be recorded (a codec
//! other than G.711, a full voicemail box, a file that cannot be created)
//! with a log line and `Failed`, and logs each finished voicemail. The
//! writer threads report on a bounded queue the shell task drains.

use super::{log_media, stream};
use crate::ivr::ms::CallRef;
use crate::ivr::session::{RecordCommand, RecordResult};
use crate::media::runtime::MediaHandle;
use crate::media::voicemail::{self, Outcome, Spec};
use crate::media::Codec;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// The recordings of the shell's calls.
pub(super) struct Recorder {
    dir: PathBuf,
    max_files: usize,
    /// The negotiated codec per call (only G.711 is recorded).
    codecs: HashMap<CallRef, Codec>,
    /// The recording in progress per call.
    active: HashMap<CallRef, u64>,
    done_tx: mpsc::Sender<(CallRef, RecordResult)>,
}

impl Recorder {
    pub(super) fn new(
        dir: PathBuf,
        max_files: usize,
        done_tx: mpsc::Sender<(CallRef, RecordResult)>,
    ) -> Recorder {
        Recorder {
            dir,
            max_files,
            codecs: HashMap::new(),
            active: HashMap::new(),
            done_tx,
        }
    }

    pub(super) fn codec(&mut self, call: CallRef, codec: Codec) {
        self.codecs.insert(call, codec);
    }

    /// The call's stream closed: its tap (and so its recording) is gone.
    pub(super) fn forget(&mut self, call: CallRef) {
        self.codecs.remove(&call);
        self.active.remove(&call);
    }

    /// Carry out one command; an immediate answer for the session, if any.
    pub(super) fn command(
        &mut self,
        media: &MediaHandle,
        call: CallRef,
        cmd: RecordCommand,
    ) -> Option<RecordResult> {
        match cmd {
            RecordCommand::Start {
                id,
                file,
                max_s,
                silence_s,
                min_s,
            } => Some(
                match self.start(media, call, id, &file, [max_s, silence_s, min_s]) {
                    Ok(path) => RecordResult::Started { id, path },
                    Err(reason) => {
                        tracing::warn!(call = call.0, %reason, "ivr: voicemail not recorded");
                        RecordResult::Failed { id, reason }
                    }
                },
            ),
            RecordCommand::Stop { id } => {
                if self.active.get(&call) == Some(&id) {
                    log_media(call, "stop recording", media.record(stream(call), None));
                }
                None
            }
        }
    }

    fn start(
        &mut self,
        media: &MediaHandle,
        call: CallRef,
        id: u64,
        file: &str,
        [max_s, silence_s, min_s]: [u32; 3],
    ) -> Result<String, String> {
        refusal(self.codecs.get(&call).copied(), file)?;
        if count_wav(&self.dir, self.max_files) >= self.max_files {
            return Err(format!(
                "voicemail box {} full ({} files)",
                self.dir.display(),
                self.max_files
            ));
        }
        let path = self.dir.join(file);
        let spec = Spec {
            path: path.clone(),
            max_ms: u64::from(max_s) * 1000,
            silence_ms: u64::from(silence_s) * 1000,
            min_ms: u64::from(min_s) * 1000,
        };
        let tx = self.done_tx.clone();
        let done = Box::new(move |r| {
            if tx.blocking_send((call, result(id, r))).is_err() {
                tracing::debug!(
                    call = call.0,
                    "ivr: voicemail finished after the shell stopped"
                );
            }
        });
        let tap = voicemail::start(spec, done).map_err(|e| e.to_string())?;
        media
            .record(stream(call), Some(tap))
            .map_err(|e| format!("media: {e}"))?;
        self.active.insert(call, id);
        Ok(path.display().to_string())
    }

    /// A writer finished: drop the stream's tap (a silence stop leaves it) and log.
    pub(super) fn finished(&mut self, media: &MediaHandle, call: CallRef, res: &RecordResult) {
        if let RecordResult::Done { id, .. } | RecordResult::Failed { id, .. } = res {
            if self.active.get(&call) == Some(id) {
                self.active.remove(&call);
                log_media(call, "end recording", media.record(stream(call), None));
            }
        }
        match res {
            RecordResult::Done {
                path,
                kept: true,
                length_ms,
                reason,
                ..
            } => tracing::info!(
                call = call.0,
                path,
                length_ms,
                reason,
                "ivr: voicemail recorded"
            ),
            RecordResult::Done {
                path, length_ms, ..
            } => tracing::info!(
                call = call.0,
                path,
                length_ms,
                "ivr: voicemail too short, deleted"
            ),
            RecordResult::Failed { reason, .. } => {
                tracing::warn!(call = call.0, reason, "ivr: voicemail failed")
            }
            RecordResult::Started { .. } => {}
        }
    }
}

fn result(id: u64, r: Result<Outcome, crate::media::recording::RecordingError>) -> RecordResult {
    match r {
        Ok(o) => RecordResult::Done {
            id,
            path: o.path.display().to_string(),
            kept: o.kept,
            length_ms: o.length_ms,
            reason: o.reason.as_str().to_owned(),
        },
        Err(e) => RecordResult::Failed {
            id,
            reason: e.to_string(),
        },
    }
}

/// Why a recording of a call with `codec` to `file` cannot start, if it cannot.
fn refusal(codec: Option<Codec>, file: &str) -> Result<(), String> {
    match codec {
        Some(Codec::Pcmu | Codec::Pcma) => {}
        Some(other) => {
            return Err(format!(
                "recording needs G.711 (PCMU or PCMA); this call uses {}",
                other.encoding_name()
            ))
        }
        None => return Err("no audio negotiated yet".to_owned()),
    }
    if !plain_file_name(file) {
        return Err(format!("bad voicemail file name `{file}`"));
    }
    Ok(())
}

/// The session's `<contact>-<unix_ms>.wav`: no separators, no dot files.
fn plain_file_name(file: &str) -> bool {
    !file.starts_with('.')
        && file.ends_with(".wav")
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// WAV files in `dir`, counted up to `limit` (a missing dir holds none).
fn count_wav(dir: &Path, limit: usize) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "wav"))
        .take(limit)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_g711_calls_are_recorded_and_the_reason_names_the_codec() {
        assert_eq!(refusal(Some(Codec::Pcmu), "1-2.wav"), Ok(()));
        assert_eq!(refusal(Some(Codec::Pcma), "1-2.wav"), Ok(()));
        let g722 = refusal(Some(Codec::G722), "1-2.wav").unwrap_err();
        assert!(
            g722.contains("needs G.711") && g722.contains("G722"),
            "{g722}"
        );
        let opus = refusal(Some(Codec::Opus), "1-2.wav").unwrap_err();
        assert!(opus.contains("opus"), "{opus}");
        assert!(refusal(None, "1-2.wav").is_err());
        assert!(refusal(Some(Codec::Pcmu), "../1-2.wav").is_err());
    }

    #[test]
    fn only_plain_wav_names_are_accepted() {
        assert!(plain_file_name("12-1764700000000.wav"));
        assert!(!plain_file_name("../x.wav"));
        assert!(!plain_file_name("a/b.wav"));
        assert!(!plain_file_name(".wav"));
        assert!(!plain_file_name("12-1.mp3"));
    }

    #[test]
    fn counting_stops_at_the_limit_and_a_missing_dir_is_empty() {
        let dir = std::env::temp_dir().join(format!("softacd-vmcount-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for n in 0..3 {
            std::fs::write(dir.join(format!("{n}.wav")), b"x").unwrap();
        }
        std::fs::write(dir.join("notes.txt"), b"x").unwrap();
        assert_eq!(count_wav(&dir, 10), 3);
        assert_eq!(count_wav(&dir, 2), 2);
        assert_eq!(count_wav(&dir.join("none"), 10), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
