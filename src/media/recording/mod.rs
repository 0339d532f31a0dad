//! Call recording in relay mode (issue 4, "Recording"): the relay's
//! [`Tap`] copies each forwarded RTP packet into a bounded channel (a full
//! channel drops and counts; the relay never waits), and one writer thread
//! per call decodes G.711, places both parties on a common time line
//! ([`mix::Mixer`]: silence for lost or absent packets) and appends to a WAV
//! file whose header is rewritten every [`FLUSH_EVERY`] ([`wav_out`]), so
//! the file is playable whenever the process stops. Pausing makes the tap
//! skip packets, so a paused span is silence. [`Recordings`] is the
//! registry the HTTP API (pause/resume) and the shutdown path use.

pub mod mix;
pub mod wav_out;

pub use mix::{Layout, Party};
pub use wav_out::RecordingError;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::media::rtp;
use crate::media::SAMPLE_RATE;

/// Packets waiting for the writer thread (5 s of both parties at 20 ms).
pub const TAP_QUEUE: usize = 512;
/// Largest payload recorded (60 ms of G.711).
pub const MAX_PAYLOAD: usize = 480;
/// How often the writer appends and rewrites the header.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// How far behind the clock the writer stays, for late packets (jitter).
pub const JITTER: Duration = Duration::from_millis(200);

/// One tapped packet, owned (no allocation: a fixed buffer).
pub(crate) struct Tapped {
    party: Party,
    at: u64,
    ssrc: u32,
    timestamp: u32,
    payload_type: u8,
    len: usize,
    data: [u8; MAX_PAYLOAD],
}

/// The relay's end of a recording. Dropping it ends the recording.
pub struct Tap {
    tx: SyncSender<Tapped>,
    started: Instant,
    paused: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
}

impl Tap {
    /// Offer one forwarded datagram; never blocks.
    pub fn packet(&self, party: Party, datagram: &[u8]) {
        if self.paused.load(Ordering::Relaxed) {
            return;
        }
        let Ok(p) = rtp::parse(datagram) else {
            return;
        };
        if p.payload.len() > MAX_PAYLOAD {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut t = Tapped {
            party,
            at: samples_since(self.started, Instant::now()),
            ssrc: p.header.ssrc,
            timestamp: p.header.timestamp,
            payload_type: p.header.payload_type,
            len: p.payload.len(),
            data: [0; MAX_PAYLOAD],
        };
        t.data[..p.payload.len()].copy_from_slice(p.payload);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(t) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Tapped {
    /// The packet as the mixer places it.
    pub(crate) fn frame(&self) -> mix::Frame<'_> {
        mix::Frame {
            party: self.party,
            at: self.at,
            ssrc: self.ssrc,
            timestamp: self.timestamp,
            payload_type: self.payload_type,
            payload: self.data.get(..self.len).unwrap_or_default(),
        }
    }
}

/// The writer's end of a [`Tap`] made by [`tap_channel`].
pub(crate) struct TapReceiver {
    pub(crate) rx: mpsc::Receiver<Tapped>,
    /// Arrival positions count from here.
    pub(crate) started: Instant,
    /// Packets the tap could not queue.
    pub(crate) dropped: Arc<AtomicU64>,
}

/// A tap and its receiving end ([`TAP_QUEUE`] packets), for writers other
/// than the call recorder (the IVR's voicemail, `media::voicemail`).
pub(crate) fn tap_channel() -> (Tap, TapReceiver) {
    let (tx, rx) = mpsc::sync_channel(TAP_QUEUE);
    let started = Instant::now();
    let dropped = Arc::new(AtomicU64::new(0));
    let tap = Tap {
        tx,
        started,
        paused: Arc::new(AtomicBool::new(false)),
        dropped: dropped.clone(),
    };
    let rx = TapReceiver {
        rx,
        started,
        dropped,
    };
    (tap, rx)
}

/// Sample positions (8 kHz) from `start` to `now`.
pub(crate) fn samples_since(start: Instant, now: Instant) -> u64 {
    let d = now.saturating_duration_since(start);
    (d.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as u64
}

/// Start recording to `path`: creates the file and the writer thread.
fn start(path: &Path, layout: Layout) -> Result<(Tap, JoinHandle<()>), RecordingError> {
    let wav = wav_out::WavOut::create(path, layout.channels())?;
    let (tx, rx) = mpsc::sync_channel(TAP_QUEUE);
    let started = Instant::now();
    let thread_path = path.to_owned();
    let dropped = Arc::new(AtomicU64::new(0));
    let counted = dropped.clone();
    let handle = std::thread::Builder::new()
        .name("softacd-rec".into())
        .spawn(move || write_loop(wav, layout, rx, started, counted))
        .map_err(|source| RecordingError::Io {
            path: thread_path,
            op: "start writer thread",
            source,
        })?;
    let tap = Tap {
        tx,
        started,
        paused: Arc::new(AtomicBool::new(false)),
        dropped,
    };
    Ok((tap, handle))
}

/// The writer thread: place packets, append and flush every [`FLUSH_EVERY`],
/// finish when the tap is gone.
fn write_loop(
    mut wav: wav_out::WavOut,
    layout: Layout,
    rx: mpsc::Receiver<Tapped>,
    started: Instant,
    dropped: Arc<AtomicU64>,
) {
    let mut mixer = mix::Mixer::new(layout);
    let mut out = Vec::with_capacity(mix::WINDOW * 2);
    let mut next_flush = started + FLUSH_EVERY;
    let jitter = samples_since(started, started + JITTER);
    loop {
        let wait = next_flush.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(t) => mixer.push(mix::Frame {
                party: t.party,
                at: t.at,
                ssrc: t.ssrc,
                timestamp: t.timestamp,
                payload_type: t.payload_type,
                payload: t.data.get(..t.len).unwrap_or_default(),
            }),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if now >= next_flush {
            next_flush = now + FLUSH_EVERY;
            let until = samples_since(started, now).saturating_sub(jitter);
            if let Err(e) = emit(&mut mixer, &mut wav, until, &mut out) {
                tracing::error!(error = %e, "recording stopped");
                return;
            }
        }
    }
    let until = samples_since(started, Instant::now()).max(mixer.high_water());
    let path = wav.path().to_owned();
    let r = emit(&mut mixer, &mut wav, until, &mut out).and_then(|()| wav.finish());
    match r {
        Ok(()) => {
            tracing::info!(
                path = %path.display(),
                stats = ?mixer.stats(),
                tap_dropped = dropped.load(Ordering::Relaxed),
                "recording finished"
            )
        }
        Err(e) => tracing::error!(error = %e, "recording not finished"),
    }
}

fn emit(
    mixer: &mut mix::Mixer,
    wav: &mut wav_out::WavOut,
    until: u64,
    out: &mut Vec<i16>,
) -> Result<(), RecordingError> {
    while mixer.emitted() < until {
        out.clear();
        mixer.emit_until(until, out);
        wav.append(out)?;
    }
    wav.flush()
}

/// Why a pause or resume was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no live call with this contact id")]
    UnknownContact,
    #[error("this call is not being recorded")]
    NotRecording,
    #[error("the recording is already paused")]
    AlreadyPaused,
    #[error("the recording is not paused")]
    NotPaused,
}

#[derive(Default)]
struct Registry {
    /// Live relayed calls; `None` when the call is not recorded.
    live: HashMap<u64, Option<Arc<AtomicBool>>>,
    writers: Vec<JoinHandle<()>>,
}

/// The recordings of live calls, shared by the relay ports, the HTTP API
/// and shutdown. The lock is taken per call and per request, never per
/// packet.
#[derive(Clone, Default)]
pub struct Recordings {
    inner: Arc<Mutex<Registry>>,
}

/// Where and how calls are recorded (`[recording]`).
#[derive(Debug, Clone)]
pub struct RecordingPolicy {
    pub dir: PathBuf,
    pub layout: Layout,
}

impl Recordings {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A relayed call began: record it to `<dir>/<contact>-<wall_ms>.wav`
    /// when `policy` is given. Returns the tap and the file's path.
    pub fn open(
        &self,
        contact: u64,
        wall_ms: u64,
        policy: Option<&RecordingPolicy>,
    ) -> Result<Option<(Tap, PathBuf)>, RecordingError> {
        let Some(policy) = policy else {
            self.lock().live.insert(contact, None);
            return Ok(None);
        };
        let path = policy.dir.join(format!("{contact}-{wall_ms}.wav"));
        let (tap, handle) = start(&path, policy.layout)?;
        let mut reg = self.lock();
        reg.writers.retain(|h| !h.is_finished());
        reg.writers.push(handle);
        reg.live.insert(contact, Some(tap.paused.clone()));
        Ok(Some((tap, path)))
    }

    /// The call ended (its tap is dropped with the relay).
    pub fn close(&self, contact: u64) {
        self.lock().live.remove(&contact);
    }

    /// Pause (`true`) or resume (`false`) a live call's recording.
    pub fn set_paused(&self, contact: u64, paused: bool) -> Result<(), ControlError> {
        let reg = self.lock();
        let flag = reg
            .live
            .get(&contact)
            .ok_or(ControlError::UnknownContact)?
            .as_ref()
            .ok_or(ControlError::NotRecording)?;
        match (flag.swap(paused, Ordering::Relaxed), paused) {
            (true, true) => Err(ControlError::AlreadyPaused),
            (false, false) => Err(ControlError::NotPaused),
            _ => Ok(()),
        }
    }

    /// Wait (up to `limit`) for every writer thread whose tap is gone to
    /// finish its file. Blocking: call from a blocking context.
    pub fn join_writers(&self, limit: Duration) -> usize {
        let writers = std::mem::take(&mut self.lock().writers);
        let deadline = Instant::now() + limit;
        let mut unfinished = 0;
        for h in writers {
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if h.is_finished() {
                let _ = h.join();
            } else {
                unfinished += 1;
            }
        }
        unfinished
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::{write_packet, RtpSender};

    fn temp_dir() -> PathBuf {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        let d = std::env::temp_dir().join(format!("softacd-rec-{}", u64::from_le_bytes(r)));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn packet(sender: &mut RtpSender, fill: u8) -> Vec<u8> {
        let h = sender.next_audio(160);
        let mut out = [0u8; 200];
        let n = write_packet(&h, &[fill; 160], &mut out).unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn pause_and_resume_answer_by_state() {
        let dir = temp_dir();
        let recs = Recordings::default();
        let policy = RecordingPolicy {
            dir: dir.clone(),
            layout: Layout::Mixed,
        };
        assert!(recs.open(1, 5, None).unwrap().is_none());
        let (tap, path) = recs.open(2, 5, Some(&policy)).unwrap().unwrap();
        assert_eq!(path, dir.join("2-5.wav"));
        assert_eq!(recs.set_paused(9, true), Err(ControlError::UnknownContact));
        assert_eq!(recs.set_paused(1, true), Err(ControlError::NotRecording));
        assert_eq!(recs.set_paused(2, false), Err(ControlError::NotPaused));
        assert_eq!(recs.set_paused(2, true), Ok(()));
        assert_eq!(recs.set_paused(2, true), Err(ControlError::AlreadyPaused));
        assert_eq!(recs.set_paused(2, false), Ok(()));
        drop(tap);
        recs.close(2);
        assert_eq!(recs.set_paused(2, true), Err(ControlError::UnknownContact));
        assert_eq!(recs.join_writers(Duration::from_secs(5)), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_tapped_call_ends_as_a_wav_with_both_parties() {
        let dir = temp_dir();
        let recs = Recordings::default();
        let policy = RecordingPolicy {
            dir: dir.clone(),
            layout: Layout::Stereo,
        };
        let (tap, path) = recs.open(3, 1, Some(&policy)).unwrap().unwrap();
        let (mut a, mut b) = (RtpSender::new(1, 0, 0, 0), RtpSender::new(2, 0, 0, 0));
        for _ in 0..5 {
            tap.packet(Party::Caller, &packet(&mut a, 0x10));
            tap.packet(Party::Agent, &packet(&mut b, 0x90));
        }
        drop(tap);
        recs.close(3);
        assert_eq!(recs.join_writers(Duration::from_secs(5)), 0);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        let data = &bytes[44..];
        assert!(
            data.len() >= 800 * 4,
            "five frames of stereo: {}",
            data.len()
        );
        // Frame 2 of each party, well inside both (arrival jitter aside).
        let at = 4 * 200;
        let l = i16::from_le_bytes([data[at], data[at + 1]]);
        let r = i16::from_le_bytes([data[at + 2], data[at + 3]]);
        assert_eq!(
            (l, r),
            (
                crate::media::g711::ulaw_decode(0x10),
                crate::media::g711::ulaw_decode(0x90)
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
