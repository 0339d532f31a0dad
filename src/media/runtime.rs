//! The media runtime: the tokio shell that moves RTP for the IP-IVR / media
//! server (mission step 4; docs/design/call-flow.md "media: player per
//! call"). One driver task owns every stream; a 20 ms
//! `tokio::time::interval` (missed ticks burst, so pacing catches up)
//! drains each stream's socket — symmetric-RTP latching, RFC 4733 digits,
//! barge-in — then sends each stream's next packet. The pure pieces
//! ([`crate::media::player`], [`latch`], `rtp`, `rfc4733`) do the work.
//!
//! Callers hold a [`MediaHandle`]: `open_stream` is async (it waits for the
//! port); the other requests are non-blocking sends on a bounded queue that
//! fail with [`MediaError::Busy`] when it is full. Prompt names are
//! resolved in the handle, so an unknown name is an error to the caller.
//! Requests for unknown stream ids are ignored.

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

use tokio::sync::{mpsc, oneshot};

use super::player::{PlayerError, MAX_QUEUE};
use super::prompt::{Prompt, PromptCache};
use super::Codec;

pub use error::MediaError;

/// Requests the command queue holds before `Busy`.
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
    /// DTMF paths the streams listen on (RFC 4733 and in-band; INFO is SIP).
    pub dtmf: super::DtmfPaths,
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
        reply: oneshot::Sender<Result<SocketAddr, MediaError>>,
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
}

/// Starts the driver task.
pub struct MediaRuntime;

impl MediaRuntime {
    /// Spawn the driver on the current tokio runtime (call from inside
    /// one). Every prompt of `prompts` is shared with the driver once, at
    /// start. The driver stops when the last handle is dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does): a programming
    /// error, never caused by a peer.
    pub fn start(
        cfg: MediaRuntimeConfig,
        prompts: Arc<PromptCache>,
        events: mpsc::Sender<MediaEvent>,
    ) -> MediaHandle {
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let counters = Arc::new(Counters::default());
        tokio::spawn(driver::Driver::new(cfg, events, counters.clone()).run(rx));
        MediaHandle {
            commands: tx,
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
    commands: mpsc::Sender<Command>,
    prompts: Arc<HashMap<String, Arc<Prompt>>>,
    counters: Arc<Counters>,
}

impl MediaHandle {
    /// Bind an even port in the configured range for stream `id`; returns
    /// the local address to put in the SDP.
    pub async fn open_stream(&self, id: StreamId) -> Result<SocketAddr, MediaError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Open { id, reply })
            .await
            .map_err(|_| MediaError::Stopped)?;
        answer.await.map_err(|_| MediaError::Stopped)?
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

    fn send(&self, cmd: Command) -> Result<(), MediaError> {
        self.commands.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => MediaError::Busy,
            mpsc::error::TrySendError::Closed(_) => MediaError::Stopped,
        })
    }
}
