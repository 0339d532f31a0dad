//! Playback state of one outgoing RTP stream (mission step 4: the IVR plays
//! prompts and queue music; DESIGN.md "a prompt is a slice lookup per
//! tick"). Pure: no sockets, no clock. The media runtime calls
//! [`Player::tick`] once per 20 ms and sends whatever it wrote.
//!
//! - [`Player::play`] queues prompts, optionally interruptible by a digit
//!   (barge-in); [`Player::play_loop`] repeats one prompt until stopped
//!   (hold music); [`Player::stop`] takes effect at the next tick.
//! - Sequence numbers and timestamps are continuous across prompts; the
//!   first packet of every talkspurt carries the marker bit and idle ticks
//!   move the RTP clock without sending (RFC 3550 §5.1, RFC 3551 §4.1).
//! - `tick` never allocates: the frame is a slice of the prompt's
//!   pre-encoded [`crate::media::frames::FrameCache`] for the stream's codec,
//!   copied into the caller's buffer. The RTP clock moves by the codec's
//!   frame step (160 for G.711/G.722, 960 for Opus at 48 kHz, RFC 7587).

use std::sync::Arc;

use thiserror::Error;

use super::codec::MAX_FRAME_BYTES;
use super::prompt::Prompt;
use super::rtp::{self, RtpError, RtpSender, FIXED_HEADER_LEN};
use super::Codec;

/// Bytes of the longest packet the player writes: header plus one 20 ms
/// frame of any codec.
pub const PACKET_LEN: usize = FIXED_HEADER_LEN + MAX_FRAME_BYTES;

/// Most prompts one `play` may queue.
pub const MAX_QUEUE: usize = 64;

/// Why a playback request or a tick failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlayerError {
    #[error("player: {0} prompts queued, at most {MAX_QUEUE}")]
    QueueTooLong(usize),
    #[error("player: prompt {0} has no frames and cannot loop")]
    EmptyLoop(String),
    #[error("player: {0}")]
    Rtp(#[from] RtpError),
}

/// What one 20 ms tick produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickResult {
    /// A packet of this many bytes is in the buffer; send it.
    Packet(usize),
    /// Nothing to send; the RTP clock moved on by one frame.
    Silence,
    /// A non-loop queue drained: report PlaybackDone. The last packet, if
    /// this tick produced one, has this many bytes.
    Finished(Option<usize>),
}

/// What the player is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Idle,
    /// Playing a queue once; report done when it drains.
    Once {
        interruptible: bool,
    },
    /// Repeating `queue[0]` until stopped.
    Loop,
    /// The queue was empty (only empty prompts): report done next tick.
    DonePending,
}

/// One outgoing stream's playback: queue, position, numbering.
#[derive(Debug, Clone)]
pub struct Player {
    sender: RtpSender,
    codec: Codec,
    queue: Vec<Arc<Prompt>>,
    /// Index into `queue` of the prompt playing.
    current: usize,
    /// Next frame of the current prompt.
    frame: usize,
    mode: Mode,
}

impl Player {
    /// A silent player. `ssrc`, `initial_sequence` and `initial_timestamp`
    /// are random, drawn by the caller (RFC 3550 §5.1).
    pub fn new(
        codec: Codec,
        payload_type: u8,
        ssrc: u32,
        initial_sequence: u16,
        initial_timestamp: u32,
    ) -> Player {
        Player {
            sender: RtpSender::new(ssrc, payload_type, initial_sequence, initial_timestamp),
            codec,
            queue: Vec::new(),
            current: 0,
            frame: 0,
            mode: Mode::Idle,
        }
    }

    /// Switch codec (a re-INVITE changed it); SSRC, sequence and clock
    /// continue, the next packet carries the marker bit.
    pub fn set_codec(&mut self, codec: Codec, payload_type: u8) {
        let (ssrc, seq, ts) = (
            self.sender.ssrc(),
            self.sender.sequence(),
            self.sender.timestamp(),
        );
        self.sender = RtpSender::new(ssrc, payload_type, seq, ts);
        self.codec = codec;
    }

    pub fn ssrc(&self) -> u32 {
        self.sender.ssrc()
    }

    /// True while a prompt or a loop is playing (or done is pending).
    pub fn is_playing(&self) -> bool {
        self.mode != Mode::Idle
    }

    /// Play `prompts` once, in order, replacing whatever was playing
    /// (without a PlaybackDone for it). Empty prompts are skipped.
    pub fn play(
        &mut self,
        prompts: Vec<Arc<Prompt>>,
        interruptible: bool,
    ) -> Result<(), PlayerError> {
        if prompts.len() > MAX_QUEUE {
            return Err(PlayerError::QueueTooLong(prompts.len()));
        }
        let mut queue = prompts;
        queue.retain(|p| p.frame_count() > 0);
        self.mode = if queue.is_empty() {
            Mode::DonePending
        } else {
            Mode::Once { interruptible }
        };
        self.start(queue);
        Ok(())
    }

    /// Repeat `prompt` until [`Player::stop`] (hold music). Never finishes.
    pub fn play_loop(&mut self, prompt: Arc<Prompt>) -> Result<(), PlayerError> {
        if prompt.frame_count() == 0 {
            return Err(PlayerError::EmptyLoop(prompt.name.clone()));
        }
        self.mode = Mode::Loop;
        self.start(vec![prompt]);
        Ok(())
    }

    fn start(&mut self, queue: Vec<Arc<Prompt>>) {
        self.queue = queue;
        self.current = 0;
        self.frame = 0;
    }

    /// Stop now: the next tick is silent. No PlaybackDone is reported.
    pub fn stop(&mut self) {
        self.mode = Mode::Idle;
        self.queue.clear();
        self.current = 0;
        self.frame = 0;
    }

    /// A digit arrived: stop an interruptible prompt (barge-in). Returns
    /// true if playback was stopped.
    pub fn on_digit(&mut self) -> bool {
        if self.mode
            == (Mode::Once {
                interruptible: true,
            })
        {
            self.stop();
            return true;
        }
        false
    }

    /// Produce the next 20 ms into `out` (at least [`PACKET_LEN`] bytes).
    /// Allocation-free.
    pub fn tick(&mut self, out: &mut [u8]) -> Result<TickResult, PlayerError> {
        if out.len() < PACKET_LEN {
            return Err(RtpError::BufferTooSmall {
                have: out.len(),
                need: PACKET_LEN,
            }
            .into());
        }
        let frame = match self.mode {
            Mode::Idle => None,
            Mode::DonePending => {
                self.mode = Mode::Idle;
                self.sender.skip(self.codec.timestamp_step());
                return Ok(TickResult::Finished(None));
            }
            Mode::Once { .. } | Mode::Loop => self
                .queue
                .get(self.current)
                .and_then(|p| p.frame(self.codec, self.frame)),
        };
        let Some(frame) = frame else {
            self.stop();
            self.sender.skip(self.codec.timestamp_step());
            return Ok(TickResult::Silence);
        };
        let header = self.sender.next_audio(self.codec.timestamp_step());
        let len = rtp::write_packet(&header, frame, out)?;
        Ok(if self.advance() {
            TickResult::Finished(Some(len))
        } else {
            TickResult::Packet(len)
        })
    }

    /// Move past the frame just sent; true when a non-loop queue drained.
    fn advance(&mut self) -> bool {
        self.frame += 1;
        let count = self.queue.get(self.current).map_or(0, |p| p.frame_count());
        if self.frame < count {
            return false;
        }
        self.frame = 0;
        self.current += 1;
        if self.current < self.queue.len() {
            return false;
        }
        if self.mode == Mode::Loop {
            self.current = 0;
            return false;
        }
        self.stop();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::parse;
    use crate::media::FRAME_SAMPLES;

    /// A prompt of `frames` frames of one constant level.
    fn prompt(name: &str, frames: usize) -> Arc<Prompt> {
        let samples = vec![1000i16; frames * FRAME_SAMPLES];
        Arc::new(Prompt::from_pcm(name, &samples))
    }

    /// A prompt whose frames all differ, so a payload names its position.
    fn ramp(name: &str, frames: usize) -> Arc<Prompt> {
        let samples: Vec<i16> = (0..frames * FRAME_SAMPLES)
            .map(|i| ((i / FRAME_SAMPLES) as i16) * 1500 - 8000)
            .collect();
        Arc::new(Prompt::from_pcm(name, &samples))
    }

    fn player() -> Player {
        Player::new(Codec::Pcmu, 0, 0xCAFE, 0xFFFE, 0xFFFF_FF00)
    }

    /// A sent packet: (marker, seq, ts, ssrc, payload).
    type Sent = (bool, u16, u32, u32, Vec<u8>);

    /// Tick once and parse the packet, if any.
    fn tick(p: &mut Player) -> (TickResult, Option<Sent>) {
        let mut buf = [0u8; PACKET_LEN];
        let r = p.tick(&mut buf).unwrap();
        let len = match r {
            TickResult::Packet(n) | TickResult::Finished(Some(n)) => n,
            _ => return (r, None),
        };
        let pkt = parse(&buf[..len]).unwrap();
        let h = pkt.header;
        assert_eq!(h.payload_type, 0);
        (
            r,
            Some((
                h.marker,
                h.sequence,
                h.timestamp,
                h.ssrc,
                pkt.payload.to_vec(),
            )),
        )
    }

    #[test]
    fn sequence_and_timestamp_are_continuous_across_prompts() {
        let mut p = player();
        let a = ramp("a", 3);
        let b = prompt("b", 2);
        p.play(vec![a.clone(), b.clone()], false).unwrap();
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(tick(&mut p));
        }
        for (i, (r, pkt)) in got.iter().enumerate() {
            let (marker, seq, ts, ssrc, payload) = pkt.clone().unwrap();
            assert_eq!(seq, 0xFFFEu16.wrapping_add(i as u16));
            assert_eq!(ts, 0xFFFF_FF00u32.wrapping_add(160 * i as u32));
            assert_eq!(ssrc, 0xCAFE);
            assert_eq!(marker, i == 0, "only the first packet starts a talkspurt");
            let expected = if i < 3 {
                a.frame(Codec::Pcmu, i)
            } else {
                b.frame(Codec::Pcmu, i - 3)
            };
            assert_eq!(payload.as_slice(), expected.unwrap());
            let last = i == 4;
            assert_eq!(matches!(r, TickResult::Finished(Some(_))), last);
        }
        // Done is reported once; afterwards the stream is silent.
        assert_eq!(tick(&mut p).0, TickResult::Silence);
        assert_eq!(tick(&mut p).0, TickResult::Silence);
        assert!(!p.is_playing());
    }

    #[test]
    fn each_talkspurt_starts_with_the_marker_and_the_clock_runs_in_silence() {
        let mut p = player();
        p.play(vec![prompt("a", 1)], false).unwrap();
        let (_, first) = tick(&mut p);
        let (m1, s1, t1, ..) = first.unwrap();
        assert!(m1);
        assert_eq!(tick(&mut p).0, TickResult::Silence);
        assert_eq!(tick(&mut p).0, TickResult::Silence);
        p.play(vec![prompt("b", 2)], false).unwrap();
        let (m2, s2, t2, ..) = tick(&mut p).1.unwrap();
        assert!(m2, "a new talkspurt carries the marker");
        assert_eq!(s2, s1.wrapping_add(1), "silence sends nothing");
        assert_eq!(t2, t1.wrapping_add(3 * 160), "the clock kept running");
        let (m3, ..) = tick(&mut p).1.unwrap();
        assert!(!m3);
    }

    #[test]
    fn loop_wraps_until_stopped_and_never_finishes() {
        let mut p = player();
        let hold = ramp("hold", 3);
        p.play_loop(hold.clone()).unwrap();
        for i in 0..10 {
            let (r, pkt) = tick(&mut p);
            assert!(matches!(r, TickResult::Packet(_)), "tick {i}: {r:?}");
            let (marker, _, _, _, payload) = pkt.unwrap();
            assert_eq!(marker, i == 0, "wrapping is not a new talkspurt");
            assert_eq!(payload.as_slice(), hold.frame(Codec::Pcmu, i % 3).unwrap());
        }
        p.stop();
        assert_eq!(tick(&mut p).0, TickResult::Silence);
    }

    #[test]
    fn stop_is_immediate_and_reports_nothing() {
        let mut p = player();
        p.play(vec![prompt("a", 50)], false).unwrap();
        tick(&mut p);
        p.stop();
        for _ in 0..3 {
            assert_eq!(tick(&mut p).0, TickResult::Silence);
        }
    }

    #[test]
    fn a_digit_interrupts_only_interruptible_prompts() {
        let mut p = player();
        p.play(vec![prompt("a", 50)], false).unwrap();
        tick(&mut p);
        assert!(!p.on_digit());
        assert!(matches!(tick(&mut p).0, TickResult::Packet(_)));

        p.play(vec![prompt("a", 50)], true).unwrap();
        tick(&mut p);
        assert!(p.on_digit());
        assert_eq!(tick(&mut p).0, TickResult::Silence);
        assert!(!p.on_digit(), "nothing left to interrupt");

        p.play_loop(prompt("hold", 5)).unwrap();
        assert!(!p.on_digit(), "hold music is not barged in");
    }

    #[test]
    fn empty_queues_finish_once_and_empty_loops_are_rejected() {
        let mut p = player();
        p.play(vec![prompt("nothing", 0)], false).unwrap();
        assert_eq!(tick(&mut p).0, TickResult::Finished(None));
        assert_eq!(tick(&mut p).0, TickResult::Silence);
        assert_eq!(
            p.play_loop(prompt("nothing", 0)),
            Err(PlayerError::EmptyLoop("nothing".into()))
        );
        let many = vec![prompt("a", 1); MAX_QUEUE + 1];
        assert_eq!(
            p.play(many, false),
            Err(PlayerError::QueueTooLong(MAX_QUEUE + 1))
        );
    }

    #[test]
    fn replacing_a_playback_restarts_from_the_new_queue() {
        let mut p = player();
        let b = ramp("b", 2);
        p.play(vec![prompt("a", 50)], false).unwrap();
        tick(&mut p);
        p.play(vec![b.clone()], false).unwrap();
        let payload = tick(&mut p).1.unwrap().4;
        assert_eq!(payload.as_slice(), b.frame(Codec::Pcmu, 0).unwrap());
        assert!(matches!(tick(&mut p).0, TickResult::Finished(Some(_))));
    }

    #[test]
    fn codec_switch_keeps_numbering_and_changes_payload() {
        let mut p = player();
        let a = ramp("a", 4);
        p.play(vec![a.clone()], false).unwrap();
        let (_, s0, t0, ..) = tick(&mut p).1.unwrap();
        p.set_codec(Codec::Pcma, 8);
        let mut buf = [0u8; PACKET_LEN];
        let TickResult::Packet(n) = p.tick(&mut buf).unwrap() else {
            panic!("expected a packet");
        };
        let pkt = parse(&buf[..n]).unwrap();
        assert_eq!(pkt.header.payload_type, 8);
        assert_eq!(pkt.header.sequence, s0.wrapping_add(1));
        assert_eq!(pkt.header.timestamp, t0.wrapping_add(160));
        assert_eq!(pkt.header.ssrc, 0xCAFE);
        assert_eq!(pkt.payload, a.frame(Codec::Pcma, 1).unwrap());
    }

    #[test]
    fn a_short_buffer_is_an_error_not_a_panic() {
        let mut p = player();
        p.play(vec![prompt("a", 2)], false).unwrap();
        let mut small = [0u8; PACKET_LEN - 1];
        assert!(matches!(
            p.tick(&mut small),
            Err(PlayerError::Rtp(RtpError::BufferTooSmall { .. }))
        ));
    }
}
