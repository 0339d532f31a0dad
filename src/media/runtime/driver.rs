//! The runtime's single driver task: owns every [`Stream`], applies
//! commands and runs the 20 ms media tick (mission step 4). The streams
//! map is bounded by `max_streams`; one receive buffer serves all streams.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::ports::{bind_even_port, random_u32};
use super::stream::Stream;
use super::{Command, Counters, MediaError, MediaEvent, MediaRuntimeConfig, StreamId};
use crate::media::player::{Player, PlayerError};
use crate::media::Codec;

/// The packetization interval.
pub const TICK: Duration = Duration::from_millis(20);

/// Largest datagram we read; longer ones are truncated (and fail to parse
/// as telephone-events, which are tiny).
const RECV_BUF: usize = 1500;

pub struct Driver {
    cfg: MediaRuntimeConfig,
    events: mpsc::Sender<MediaEvent>,
    counters: Arc<Counters>,
    streams: HashMap<StreamId, Stream>,
    /// Where the next port search starts.
    port_cursor: u32,
    buf: Box<[u8; RECV_BUF]>,
    digits: Vec<char>,
}

impl Driver {
    pub fn new(
        cfg: MediaRuntimeConfig,
        events: mpsc::Sender<MediaEvent>,
        counters: Arc<Counters>,
    ) -> Driver {
        let port_cursor = random_u32().unwrap_or(0);
        Driver {
            cfg,
            events,
            counters,
            streams: HashMap::new(),
            port_cursor,
            buf: Box::new([0; RECV_BUF]),
            digits: Vec::new(),
        }
    }

    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.tick(),
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
            }
        }
        self.counters.streams.store(0, Ordering::Relaxed);
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Open { id, reply } => {
                // The caller may have given up waiting; nothing to do then.
                let _ = reply.send(self.open(id));
            }
            Command::Configure {
                id,
                remote,
                codec,
                payload_type,
                dtmf_pt,
            } => {
                if let Some(s) = self.streams.get_mut(&id) {
                    s.configure(remote, codec, payload_type, dtmf_pt);
                }
            }
            Command::Play {
                id,
                prompts,
                interruptible,
            } => {
                let result = self.with_player(id, |p| p.play(prompts, interruptible));
                log_player_error(id, result);
            }
            Command::Loop { id, prompt } => {
                let result = self.with_player(id, |p| p.play_loop(prompt));
                log_player_error(id, result);
            }
            Command::Stop { id } => {
                self.with_player(id, |p| {
                    p.stop();
                    Ok(())
                });
            }
            Command::SetSending { id, sending } => {
                if let Some(s) = self.streams.get_mut(&id) {
                    s.sending = sending;
                }
            }
            Command::SetPtime { id, ms } => {
                if let Some(s) = self.streams.get_mut(&id) {
                    s.player.set_ptime(ms);
                }
            }
            Command::Close { id } => {
                self.streams.remove(&id);
                self.count_streams();
            }
        }
    }

    fn with_player<F>(&mut self, id: StreamId, f: F) -> Option<Result<(), PlayerError>>
    where
        F: FnOnce(&mut Player) -> Result<(), PlayerError>,
    {
        self.streams.get_mut(&id).map(|s| f(&mut s.player))
    }

    fn open(&mut self, id: StreamId) -> Result<SocketAddr, MediaError> {
        if self.streams.contains_key(&id) {
            return Err(MediaError::DuplicateStream(id));
        }
        if self.streams.len() >= self.cfg.max_streams {
            return Err(MediaError::TooManyStreams {
                max: self.cfg.max_streams,
            });
        }
        let ip = self.cfg.bind_ip;
        let std_socket =
            bind_even_port(ip, self.cfg.port_min, self.cfg.port_max, self.port_cursor)?;
        self.port_cursor = self.port_cursor.wrapping_add(1);
        let socket_err = |source| MediaError::Socket { ip, source };
        let socket = UdpSocket::from_std(std_socket).map_err(socket_err)?;
        let local = socket.local_addr().map_err(socket_err)?;
        let (ssrc, seq, ts) = random_numbering()?;
        let player = Player::new(Codec::Pcmu, Codec::Pcmu.payload_type(), ssrc, seq, ts);
        self.streams
            .insert(id, Stream::new(socket, player, self.cfg.dtmf));
        self.count_streams();
        Ok(local)
    }

    fn count_streams(&self) {
        self.counters
            .streams
            .store(self.streams.len(), Ordering::Relaxed);
    }

    /// One 20 ms media tick over every stream: receive, then send.
    fn tick(&mut self) {
        let Driver {
            events,
            counters,
            streams,
            buf,
            digits,
            ..
        } = self;
        for (&id, stream) in streams.iter_mut() {
            digits.clear();
            let got = stream.receive(&mut buf[..], digits);
            counters.received.fetch_add(got, Ordering::Relaxed);
            for &key in digits.iter() {
                emit(events, counters, MediaEvent::Digit { id, key });
            }
            let out = stream.send(&mut buf[..]);
            if out.sent {
                counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            if out.dropped {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
            if out.done {
                emit(events, counters, MediaEvent::PlaybackDone { id });
            }
        }
    }
}

/// Report to the owner without ever blocking the media tick.
fn emit(events: &mpsc::Sender<MediaEvent>, counters: &Counters, event: MediaEvent) {
    if let Err(e) = events.try_send(event) {
        counters.events_dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(?event, error = %e, "media: event dropped");
    }
}

fn log_player_error(id: StreamId, result: Option<Result<(), PlayerError>>) {
    if let Some(Err(source)) = result {
        tracing::warn!(error = %MediaError::Player { id, source }, "media: playback refused");
    }
}

/// Random SSRC, initial sequence number and timestamp (RFC 3550 §5.1).
fn random_numbering() -> Result<(u32, u16, u32), MediaError> {
    let ssrc = random_u32()?;
    let more = random_u32()?;
    let ts = random_u32()?;
    Ok((ssrc, more as u16, ts))
}
