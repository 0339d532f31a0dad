//! The media runtime: the shell that moves RTP and RTCP for the IP-IVR /
//! media server (mission step 4; docs/design/call-flow.md "media: player
//! per call"; issue 4 "media threads are separate from signalling; one
//! tick drives all streams; no lock per packet on the hot path").
//!
//! `rtp_threads` plain OS threads (named `media-N`, no tokio) each own a
//! shard of the streams (stream id modulo the thread count). Each thread
//! runs one 20 ms tick over all its streams (late ticks run back to back
//! so pacing catches up): it drains each stream's socket — symmetric-RTP
//! latching, RFC 4733 digits, barge-in, RTCP — then sends each stream's
//! next packet, and every ~5 s an RTCP SR/RR (RFC 3550 §6, [`crate::media::rtcp`]).
//! Counters are summed per tick, not per packet; nothing on the packet
//! path takes a lock.
//!
//! Callers hold a [`MediaHandle`]: `open_stream` is async (it waits for the
//! port); the other requests are non-blocking sends on the shard's bounded
//! queue that fail with [`MediaError::Busy`] when it is full. Events come
//! back on the owner's bounded tokio queue (`try_send`, never blocking the
//! tick). Prompt names are resolved in the handle, so an unknown name is
//! an error to the caller. Requests for unknown stream ids are ignored.

mod driver;
pub mod error;
pub mod latch;
pub mod ports;
mod stream;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use std::sync::mpsc as std_mpsc;

use tokio::sync::{mpsc, oneshot};

use super::player::{PlayerError, MAX_QUEUE};
use super::prompt::{Prompt, PromptCache};
use super::Codec;

pub use error::MediaError;

/// Requests each media thread's command queue holds before `Busy`.
pub const COMMAND_QUEUE: usize = 1024;

/// Names one stream; chosen by the caller (e.g. per IVR call leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where streams bind and how many may exist.
#[derive(Debug, Clone)]
pub struct MediaRuntimeConfig {
    pub bind_ip: IpAddr,
    pub port_min: u16,
    pub port_max: u16,
    pub max_streams: usize,
    /// Media OS threads; 0 means one per available core.
    pub rtp_threads: usize,
    /// DTMF paths the streams listen on (RFC 4733 and in-band; INFO is SIP).
    pub dtmf: super::DtmfPaths,
}

impl MediaRuntimeConfig {
    /// The thread count to start: `rtp_threads`, or the core count when 0.
    pub fn threads(&self) -> usize {
        match self.rtp_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// How a stream carries RTCP (RFC 5761).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpMode {
    /// RTCP on its own socket, the RTP port + 1 (RFC 3550 §11).
    Separate,
    /// RTCP multiplexed on the RTP port (RFC 5761 `a=rtcp-mux`).
    Mux,
}

/// One stream's RTP/RTCP figures (answer to [`MediaHandle::stream_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub packets_sent: u64,
    pub packets_received: u64,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
    /// Our reception of the peer: interarrival jitter (RTP timestamp
    /// units) and packets lost (RFC 3550 §6.4.1).
    pub local_jitter: u32,
    pub local_lost: i32,
    /// The peer's last report about our stream (from its SR/RR).
    pub remote_jitter: Option<u32>,
    pub remote_fraction_lost: Option<u8>,
    pub remote_cumulative_lost: Option<i32>,
}

/// What the runtime reports to its owner (the IVR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaEvent {
    /// A key was pressed (RFC 4733). An interruptible prompt has already
    /// been stopped when this is sent.
    Digit { id: StreamId, key: char },
    /// A `play` queue finished (not sent after `stop` or barge-in).
    PlaybackDone { id: StreamId },
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    pub streams: usize,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets the socket refused (buffer full, no route).
    pub packets_dropped: u64,
    /// Events lost because the owner's event queue was full.
    pub events_dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    streams: AtomicUsize,
    sent: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    events_dropped: AtomicU64,
}

enum Command {
    Open {
        id: StreamId,
        rtcp: RtcpMode,
        reply: oneshot::Sender<Result<SocketAddr, MediaError>>,
    },
    Stats {
        id: StreamId,
        reply: oneshot::Sender<Option<StreamStats>>,
    },
    Configure {
        id: StreamId,
        remote: SocketAddr,
        codec: Codec,
        payload_type: u8,
        dtmf_pt: Option<u8>,
    },
    Play {
        id: StreamId,
        prompts: Vec<Arc<Prompt>>,
        interruptible: bool,
    },
    Loop {
        id: StreamId,
        prompt: Arc<Prompt>,
    },
    Stop {
        id: StreamId,
    },
    Close {
        id: StreamId,
    },
    SetSending {
        id: StreamId,
        sending: bool,
    },
    SetPtime {
        id: StreamId,
        ms: u32,
    },
    /// Copy the caller's audio packets to `tap` (`None`: stop copying).
    Record {
        id: StreamId,
        tap: Option<super::recording::Tap>,
    },
}

impl Command {
    /// The stream the command is for (which picks its thread).
    fn stream(&self) -> StreamId {
        match self {
            Command::Open { id, .. }
            | Command::Stats { id, .. }
            | Command::Configure { id, .. }
            | Command::Play { id, .. }
            | Command::Loop { id, .. }
            | Command::Stop { id }
            | Command::Close { id }
            | Command::SetSending { id, .. }
            | Command::SetPtime { id, .. }
            | Command::Record { id, .. } => *id,
        }
    }
}

/// Starts the media threads.
pub struct MediaRuntime;

impl MediaRuntime {
    /// Start `cfg.threads()` media threads. Every prompt of `prompts` is
    /// shared with them once, at start. A thread stops when the last
    /// handle is dropped. Needs no tokio runtime. If the OS refuses a
    /// thread, the runtime runs on those it got (at least the error is
    /// logged; with none, every request answers `Stopped`).
    pub fn start(
        cfg: MediaRuntimeConfig,
        prompts: Arc<PromptCache>,
        events: mpsc::Sender<MediaEvent>,
    ) -> MediaHandle {
        let counters = Arc::new(Counters::default());
        let mut shards = Vec::new();
        for n in 0..cfg.threads() {
            let (tx, rx) = std_mpsc::sync_channel(COMMAND_QUEUE);
            let driver = driver::Driver::new(cfg.clone(), n, events.clone(), counters.clone());
            match driver.spawn(rx) {
                Ok(()) => shards.push(tx),
                Err(e) => tracing::error!(thread = n, error = %e, "media: thread not started"),
            }
        }
        MediaHandle {
            shards: shards.into(),
            prompts: Arc::new(prompt_table(&prompts)),
            counters,
        }
    }
}

fn prompt_table(cache: &PromptCache) -> HashMap<String, Arc<Prompt>> {
    cache
        .names()
        .into_iter()
        .filter_map(|name| cache.get(name))
        .map(|p| (p.name.clone(), Arc::new(p.clone())))
        .collect()
}

/// The owner's side of the runtime. Cheap to clone.
#[derive(Clone)]
pub struct MediaHandle {
    shards: Arc<[std_mpsc::SyncSender<Command>]>,
    prompts: Arc<HashMap<String, Arc<Prompt>>>,
    counters: Arc<Counters>,
}

impl MediaHandle {
    /// Bind an even port in the configured range for stream `id`, and the
    /// next odd one for its RTCP; returns the local RTP address to put in
    /// the SDP.
    pub async fn open_stream(&self, id: StreamId) -> Result<SocketAddr, MediaError> {
        self.open_stream_with(id, RtcpMode::Separate).await
    }

    /// As [`Self::open_stream`], choosing where RTCP goes: with
    /// [`RtcpMode::Mux`] (the offer had `a=rtcp-mux`, RFC 5761) only the
    /// RTP port is bound.
    pub async fn open_stream_with(
        &self,
        id: StreamId,
        rtcp: RtcpMode,
    ) -> Result<SocketAddr, MediaError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Open { id, rtcp, reply })?;
        answer.await.map_err(|_| MediaError::Stopped)?
    }

    /// The stream's RTP/RTCP figures, `None` for an unknown stream.
    pub async fn stream_stats(&self, id: StreamId) -> Result<Option<StreamStats>, MediaError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Stats { id, reply })?;
        answer.await.map_err(|_| MediaError::Stopped)
    }

    /// Apply the negotiated SDP: the remote RTP address (latching starts
    /// over), codec, its payload type and the telephone-event type.
    pub fn configure(
        &self,
        id: StreamId,
        remote: SocketAddr,
        codec: Codec,
        payload_type: u8,
        dtmf_pt: Option<u8>,
    ) -> Result<(), MediaError> {
        self.send(Command::Configure {
            id,
            remote,
            codec,
            payload_type,
            dtmf_pt,
        })
    }

    /// Play `prompts` once, replacing what plays; PlaybackDone follows.
    pub fn play(
        &self,
        id: StreamId,
        prompts: Vec<String>,
        interruptible: bool,
    ) -> Result<(), MediaError> {
        if prompts.len() > MAX_QUEUE {
            let source = PlayerError::QueueTooLong(prompts.len());
            return Err(MediaError::Player { id, source });
        }
        let prompts = prompts
            .iter()
            .map(|name| self.prompt(name))
            .collect::<Result<Vec<_>, _>>()?;
        self.send(Command::Play {
            id,
            prompts,
            interruptible,
        })
    }

    /// Repeat `prompt` until `stop` (queue music).
    pub fn play_loop(&self, id: StreamId, prompt: String) -> Result<(), MediaError> {
        let prompt = self.prompt(&prompt)?;
        if prompt.frame_count() == 0 {
            let source = PlayerError::EmptyLoop(prompt.name.clone());
            return Err(MediaError::Player { id, source });
        }
        self.send(Command::Loop { id, prompt })
    }

    /// Stop playing now; no PlaybackDone.
    pub fn stop(&self, id: StreamId) -> Result<(), MediaError> {
        self.send(Command::Stop { id })
    }

    /// Hold (`false`): send no RTP and pause the playback; `true` resumes.
    pub fn set_sending(&self, id: StreamId, sending: bool) -> Result<(), MediaError> {
        self.send(Command::SetSending { id, sending })
    }

    /// Send packets of `ms` (`a=ptime`: 20, 40 or 60; else 20).
    pub fn set_ptime(&self, id: StreamId, ms: u32) -> Result<(), MediaError> {
        self.send(Command::SetPtime { id, ms })
    }

    /// Copy the caller's audio packets to `tap` (the IVR's voicemail,
    /// [`super::voicemail`]); `None` drops the stream's tap, which ends that
    /// recording. Closing the stream drops it too.
    pub fn record(
        &self,
        id: StreamId,
        tap: Option<super::recording::Tap>,
    ) -> Result<(), MediaError> {
        self.send(Command::Record { id, tap })
    }

    /// Close the stream and free its port.
    pub fn close(&self, id: StreamId) -> Result<(), MediaError> {
        self.send(Command::Close { id })
    }

    pub fn stats(&self) -> MediaStats {
        let c = &self.counters;
        MediaStats {
            streams: c.streams.load(Ordering::Relaxed),
            packets_sent: c.sent.load(Ordering::Relaxed),
            packets_received: c.received.load(Ordering::Relaxed),
            packets_dropped: c.dropped.load(Ordering::Relaxed),
            events_dropped: c.events_dropped.load(Ordering::Relaxed),
        }
    }

    fn prompt(&self, name: &str) -> Result<Arc<Prompt>, MediaError> {
        self.prompts
            .get(name)
            .cloned()
            .ok_or_else(|| MediaError::UnknownPrompt(name.to_string()))
    }

    /// The media threads running (fewer than configured if the OS refused).
    pub fn threads(&self) -> usize {
        self.shards.len()
    }

    fn send(&self, cmd: Command) -> Result<(), MediaError> {
        let n = self.shards.len() as u64;
        let shard = match n {
            0 => return Err(MediaError::Stopped),
            n => (cmd.stream().0 % n) as usize,
        };
        let queue = self.shards.get(shard).ok_or(MediaError::Stopped)?;
        queue.try_send(cmd).map_err(|e| match e {
            std_mpsc::TrySendError::Full(_) => MediaError::Busy,
            std_mpsc::TrySendError::Disconnected(_) => MediaError::Stopped,
        })
    }
}
