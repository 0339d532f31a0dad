//! The IVR's voicemail recorder (issue 5, the `record` node): the media
//! stream hands the caller's RTP packets to a [`Tap`] (the call recorder's,
//! `media::recording`: a bounded queue, a full queue drops and counts, the
//! media thread never waits), and one writer thread per recording places
//! the G.711 frames on a time line ([`mix::Mixer`], ITU-T G.711 decoded to
//! 8 kHz 16-bit linear), appends them to a WAV whose header is rewritten
//! every [`FLUSH_EVERY`] ([`WavOut`]), and applies the [`rules`]: silence or
//! the length limit end the recording on this thread; the IVR ends it (the
//! terminator key, the call's end) by dropping the tap. A finished recording
//! shorter than its minimum is deleted. The outcome goes to a callback.

pub mod rules;

pub use rules::{StopReason, StopRules};

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use crate::media::recording::mix::{self, Layout};
use crate::media::recording::wav_out::WavOut;
use crate::media::recording::{samples_since, tap_channel, RecordingError, Tap, TapReceiver};
use crate::media::SAMPLE_RATE;

/// How often the writer appends, rewrites the header and applies the rules.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// How far behind the clock the writer stays for late packets (jitter).
pub const JITTER: Duration = Duration::from_millis(200);

/// One recording to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub path: PathBuf,
    /// Longest recording; the file is cut there.
    pub max_ms: u64,
    /// Stop after this long without voice; 0: never.
    pub silence_ms: u64,
    /// Shorter recordings are deleted ([`StopRules::counted_ms`]).
    pub min_ms: u64,
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub path: PathBuf,
    /// False when it was shorter than `min_ms` and was deleted.
    pub kept: bool,
    /// Length of the WAV written.
    pub length_ms: u64,
    /// The length compared with `min_ms`.
    pub counted_ms: u64,
    pub reason: StopReason,
    /// Packets the tap's full queue dropped.
    pub dropped: u64,
}

/// Called once on the writer thread when the recording is over.
pub type Done = Box<dyn FnOnce(Result<Outcome, RecordingError>) + Send>;

/// Create the WAV (and its directory) and start the writer thread; the
/// returned tap goes to the caller's media stream. Dropping the tap stops
/// the recording.
pub fn start(spec: Spec, done: Done) -> Result<Tap, RecordingError> {
    if let Some(dir) = spec.path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| RecordingError::Io {
            path: dir.to_owned(),
            op: "create directory",
            source,
        })?;
    }
    let wav = WavOut::create(&spec.path, Layout::Mixed.channels())?;
    let (tap, rx) = tap_channel();
    let path = spec.path.clone();
    std::thread::Builder::new()
        .name("softacd-vmail".into())
        .spawn(move || done(write_loop(wav, &spec, rx)))
        .map_err(|source| RecordingError::Io {
            path,
            op: "start writer thread",
            source,
        })?;
    Ok(tap)
}

fn samples_of_ms(ms: u64) -> u64 {
    ms.saturating_mul(u64::from(SAMPLE_RATE)) / 1000
}

/// The writer: place, append and apply the rules every [`FLUSH_EVERY`]
/// until they stop the recording or the tap is gone; then finish the file.
fn write_loop(mut wav: WavOut, spec: &Spec, rx: TapReceiver) -> Result<Outcome, RecordingError> {
    let started = rx.started;
    let mut mixer = mix::Mixer::new(Layout::Mixed);
    let mut rules = StopRules::new(spec.max_ms, spec.silence_ms);
    let mut out = Vec::with_capacity(mix::WINDOW);
    let max = samples_of_ms(spec.max_ms);
    let jitter = samples_since(started, started + JITTER);
    let mut next_flush = started + FLUSH_EVERY;
    let stopped_by_rules = loop {
        let wait = next_flush.saturating_duration_since(Instant::now());
        match rx.rx.recv_timeout(wait) {
            Ok(t) => mixer.push(t.frame()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break None,
        }
        let now = Instant::now();
        if now >= next_flush {
            next_flush = now + FLUSH_EVERY;
            let until = samples_since(started, now).saturating_sub(jitter).min(max);
            emit(&mut mixer, &mut wav, &mut rules, until, &mut out)?;
            if let Some(reason) = rules.check(rules::ms_of(mixer.emitted())) {
                break Some(reason);
            }
        }
    };
    let reason = match stopped_by_rules {
        Some(reason) => reason,
        None => {
            let until = samples_since(started, Instant::now()).max(mixer.high_water());
            emit(&mut mixer, &mut wav, &mut rules, until.min(max), &mut out)?;
            match rules.check(rules::ms_of(mixer.emitted())) {
                Some(StopReason::MaxLength) => StopReason::MaxLength,
                _ => StopReason::Stopped,
            }
        }
    };
    wav.finish()?;
    let length_ms = rules::ms_of(mixer.emitted());
    let counted_ms = rules.counted_ms(reason, length_ms);
    let kept = counted_ms >= spec.min_ms;
    if !kept {
        remove(&spec.path);
    }
    Ok(Outcome {
        path: spec.path.clone(),
        kept,
        length_ms,
        counted_ms,
        reason,
        dropped: rx.dropped.load(Ordering::Relaxed),
    })
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(path = %path.display(), error = %e, "voicemail: short recording not deleted");
    }
}

/// Append every sample before `until`, feeding the rules, then rewrite the header.
fn emit(
    mixer: &mut mix::Mixer,
    wav: &mut WavOut,
    rules: &mut StopRules,
    until: u64,
    out: &mut Vec<i16>,
) -> Result<(), RecordingError> {
    while mixer.emitted() < until {
        out.clear();
        let start = mixer.emitted();
        mixer.emit_until(until, out);
        rules.on_samples(start, out);
        wav.append(out)?;
    }
    wav.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711;
    use crate::media::recording::Party;
    use crate::media::rtp::{write_packet, RtpSender};
    use std::sync::mpsc;

    fn temp_path(name: &str) -> PathBuf {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        std::env::temp_dir()
            .join(format!("softacd-vmail-{}", u64::from_le_bytes(r)))
            .join(name)
    }

    /// `n` 20 ms PCMU packets of a 1 kHz tone (or of silence).
    fn packets(n: usize, loud: bool) -> Vec<Vec<u8>> {
        let mut sender = RtpSender::new(7, 0, 0, 0);
        (0..n)
            .map(|k| {
                let payload: Vec<u8> = (0..160)
                    .map(|i| {
                        let t = (k * 160 + i) as f64 / 8000.0;
                        let s = if loud {
                            (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
                        } else {
                            0
                        };
                        g711::ulaw_encode(s)
                    })
                    .collect();
                let mut out = [0u8; 200];
                let h = sender.next_audio(160);
                let len = write_packet(&h, &payload, &mut out).unwrap();
                out[..len].to_vec()
            })
            .collect()
    }

    fn recording(spec: Spec) -> (Tap, mpsc::Receiver<Result<Outcome, RecordingError>>) {
        let (tx, rx) = mpsc::channel();
        let tap = start(spec, Box::new(move |r| tx.send(r).unwrap())).unwrap();
        (tap, rx)
    }

    #[test]
    fn silence_after_a_message_ends_it_and_the_file_holds_the_tone() {
        let path = temp_path("1-1.wav");
        let spec = Spec {
            path: path.clone(),
            max_ms: 10_000,
            silence_ms: 400,
            min_ms: 100,
        };
        let (tap, done) = recording(spec);
        for p in packets(25, true) {
            tap.packet(Party::Caller, &p);
        }
        let got = done.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(got.reason, StopReason::Silence);
        assert!(got.kept);
        // Half a second of tone, judged in 20 ms blocks of the time line: the
        // first packet lands a few samples after the start, so the last
        // voiced block may end up to one block later.
        assert!((500..=520).contains(&got.counted_ms), "{got:?}");
        assert!((900..=1100).contains(&got.length_ms), "{got:?}");
        let samples =
            crate::media::wav::read_pcm16_mono_8k(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(samples.len() as u64 / 8, got.length_ms);
        let rms = |s: &[i16]| rules::is_voice(s);
        assert!(rms(&samples[800..960]), "tone at 100 ms");
        assert!(!rms(&samples[6000..6160]), "silence at 750 ms");
        drop(tap);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn dropping_the_tap_finishes_the_file_and_a_short_one_is_deleted() {
        let path = temp_path("2-2.wav");
        let spec = Spec {
            path: path.clone(),
            max_ms: 10_000,
            silence_ms: 5_000,
            min_ms: 60_000,
        };
        let (tap, done) = recording(spec);
        for p in packets(5, true) {
            tap.packet(Party::Caller, &p);
        }
        drop(tap);
        let got = done.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(got.reason, StopReason::Stopped);
        assert!(!got.kept);
        assert!(got.length_ms >= 100, "{got:?}");
        assert!(!path.exists(), "shorter than min_ms: deleted");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_file_that_cannot_be_created_is_an_error_naming_it() {
        let spec = Spec {
            path: PathBuf::from("/proc/softacd-no/such.wav"),
            max_ms: 1000,
            silence_ms: 0,
            min_ms: 0,
        };
        let err = start(spec, Box::new(|_| {})).err().expect("refused");
        assert!(err.to_string().contains("/proc/softacd-no"), "{err}");
    }
}
