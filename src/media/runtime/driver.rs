//! One media thread: owns its shard of the [`Stream`]s, applies commands
//! and runs the 20 ms media tick (mission step 4; issue 4 "one tick drives
//! all streams"). A plain OS thread, no async runtime: it waits for the
//! next tick or a command on its bounded queue (`recv_timeout`), whichever
//! comes first. Late ticks run back to back so pacing catches up; more
//! than [`MAX_BURST`] behind, the schedule restarts from now. Counters are
//! summed over a tick and published once per tick. One receive buffer
//! serves all the thread's streams.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::ports::{bind_rtp_port, random_u32};
use super::stream::{Stream, TickTime};
use super::{Command, Counters, MediaError, MediaEvent, MediaRuntimeConfig, RtcpMode, StreamId};
use crate::media::player::{Player, PlayerError};
use crate::media::Codec;

/// The packetization interval.
pub const TICK: Duration = Duration::from_millis(20);

/// Ticks a late thread may run back to back before it gives up catching up.
pub const MAX_BURST: u32 = 10;

/// Largest datagram we read; longer ones are truncated (and fail to parse
/// as telephone-events, which are tiny).
const RECV_BUF: usize = 1500;

/// Seconds from 1900 (NTP era 0) to 1970 (RFC 868).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

pub struct Driver {
    cfg: MediaRuntimeConfig,
    shard: usize,
    events: mpsc::Sender<MediaEvent>,
    counters: Arc<Counters>,
    streams: HashMap<StreamId, Stream>,
    /// Where the next port search starts.
    port_cursor: u32,
    buf: Box<[u8; RECV_BUF]>,
    digits: Vec<char>,
}

/// One tick's totals, published to the shared counters once.
#[derive(Default)]
struct TickTotals {
    received: u64,
    sent: u64,
    dropped: u64,
    events_dropped: u64,
}

impl Driver {
    pub fn new(
        cfg: MediaRuntimeConfig,
        shard: usize,
        events: mpsc::Sender<MediaEvent>,
        counters: Arc<Counters>,
    ) -> Driver {
        let port_cursor = random_u32().unwrap_or(0);
        Driver {
            cfg,
            shard,
            events,
            counters,
            streams: HashMap::new(),
            port_cursor,
            buf: Box::new([0; RECV_BUF]),
            digits: Vec::new(),
        }
    }

    /// Run on a new OS thread named `media-N` until every handle is gone.
    pub fn spawn(self, commands: Receiver<Command>) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name(format!("media-{}", self.shard))
            .spawn(move || self.run(commands))
            .map(|_| ())
    }

    fn run(mut self, commands: Receiver<Command>) {
        let start = Instant::now();
        let mut next = start + TICK;
        loop {
            let now = Instant::now();
            if now >= next {
                self.tick(tick_time(start, now));
                next += TICK;
                if now.saturating_duration_since(next) > TICK * MAX_BURST {
                    next = now + TICK;
                }
                continue;
            }
            match commands.recv_timeout(next - now) {
                Ok(cmd) => self.handle(cmd),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let n = self.streams.len();
        self.counters.streams.fetch_sub(n, Ordering::Relaxed);
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Open { id, rtcp, reply } => {
                // The caller may have given up waiting; nothing to do then.
                let _ = reply.send(self.open(id, rtcp));
            }
            Command::Stats { id, reply } => {
                let _ = reply.send(self.streams.get(&id).map(Stream::stats));
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
            Command::Record { id, tap } => {
                if let Some(s) = self.streams.get_mut(&id) {
                    s.recorder = tap;
                }
            }
            Command::Close { id } => {
                if self.streams.remove(&id).is_some() {
                    self.counters.streams.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn with_player<F>(&mut self, id: StreamId, f: F) -> Option<Result<(), PlayerError>>
    where
        F: FnOnce(&mut Player) -> Result<(), PlayerError>,
    {
        self.streams.get_mut(&id).map(|s| f(&mut s.player))
    }

    fn open(&mut self, id: StreamId, rtcp: RtcpMode) -> Result<SocketAddr, MediaError> {
        if self.streams.contains_key(&id) {
            return Err(MediaError::DuplicateStream(id));
        }
        let max = self.cfg.max_streams;
        // Reserve a slot across all media threads before binding.
        self.counters
            .streams
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| MediaError::TooManyStreams { max })?;
        let opened = self.bind_stream(rtcp);
        match opened {
            Ok((stream, local)) => {
                self.streams.insert(id, stream);
                Ok(local)
            }
            Err(e) => {
                self.counters.streams.fetch_sub(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    fn bind_stream(&mut self, rtcp: RtcpMode) -> Result<(Stream, SocketAddr), MediaError> {
        let ip = self.cfg.bind_ip;
        let with_rtcp = rtcp == RtcpMode::Separate;
        let (rtp_socket, rtcp_socket) = bind_rtp_port(
            ip,
            self.cfg.port_min,
            self.cfg.port_max,
            self.port_cursor,
            with_rtcp,
        )?;
        self.port_cursor = self.port_cursor.wrapping_add(1);
        let local = rtp_socket
            .local_addr()
            .map_err(|source| MediaError::Socket { ip, source })?;
        let (ssrc, seq, ts) = random_numbering()?;
        let player = Player::new(Codec::Pcmu, Codec::Pcmu.payload_type(), ssrc, seq, ts);
        Ok((
            Stream::new(rtp_socket, rtcp_socket, player, self.cfg.dtmf),
            local,
        ))
    }

    /// One 20 ms media tick over every stream of this thread: receive,
    /// then send.
    fn tick(&mut self, now: TickTime) {
        let Driver {
            events,
            streams,
            buf,
            digits,
            ..
        } = self;
        let mut totals = TickTotals::default();
        for (&id, stream) in streams.iter_mut() {
            digits.clear();
            totals.received += stream.receive(&mut buf[..], now, digits);
            for &key in digits.iter() {
                emit(events, &mut totals, MediaEvent::Digit { id, key });
            }
            let out = stream.send(&mut buf[..], now);
            totals.sent += u64::from(out.sent);
            totals.dropped += u64::from(out.dropped);
            if out.done {
                emit(events, &mut totals, MediaEvent::PlaybackDone { id });
            }
        }
        self.publish(&totals);
    }

    fn publish(&self, t: &TickTotals) {
        let c = &self.counters;
        for (counter, n) in [
            (&c.received, t.received),
            (&c.sent, t.sent),
            (&c.dropped, t.dropped),
            (&c.events_dropped, t.events_dropped),
        ] {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
}

/// The tick's time: ms since the thread started and NTP wall time.
fn tick_time(start: Instant, now: Instant) -> TickTime {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = wall.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(wall.subsec_nanos()) << 32) / 1_000_000_000;
    TickTime {
        ms: now.duration_since(start).as_millis() as u64,
        ntp: secs << 32 | frac,
    }
}

/// Report to the owner without ever blocking the media tick.
fn emit(events: &mpsc::Sender<MediaEvent>, totals: &mut TickTotals, event: MediaEvent) {
    if let Err(e) = events.try_send(event) {
        totals.events_dropped += 1;
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
