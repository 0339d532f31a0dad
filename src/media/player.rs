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
//! - Packet time (`a=ptime`, RFC 4566 §6; [`Player::set_ptime`]): 40 or
//!   60 ms packets gather two or three 20 ms frames in the player's own
//!   buffer and go out on the tick of their last frame (the end of a
//!   prompt sends what it has).

use std::sync::Arc;

use thiserror::Error;

use super::codec::MAX_FRAME_BYTES;
use super::prompt::Prompt;
use super::rtp::{self, RtpError, RtpSender, FIXED_HEADER_LEN};
use super::Codec;

/// Bytes of the longest packet the player writes: header plus one 20 ms
/// frame of any codec.
pub const PACKET_LEN: usize = FIXED_HEADER_LEN + MAX_FRAME_BYTES;

/// Most 20 ms frames in one packet (60 ms).
pub const MAX_FRAMES_PER_PACKET: usize = 3;

/// Bytes of the largest packet the player writes (60 ms).
pub const MAX_PACKET_LEN: usize = FIXED_HEADER_LEN + MAX_FRAMES_PER_PACKET * MAX_FRAME_BYTES;

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
    /// 20 ms frames per packet (1 to [`MAX_FRAMES_PER_PACKET`]).
    frames_per_packet: usize,
    /// The packet being gathered when `frames_per_packet` > 1.
    pending: [u8; MAX_PACKET_LEN],
    pending_len: usize,
    pending_frames: usize,
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
            frames_per_packet: 1,
            pending: [0; MAX_PACKET_LEN],
            pending_len: 0,
            pending_frames: 0,
        }
    }

    /// A tick while the peer holds us (RFC 3264 §8.4): nothing is sent and
    /// the playback pauses, but the RTP clock moves on, so the first packet
    /// after the hold carries the marker bit and a timestamp true to the
    /// time that passed (RFC 3550 §5.1). A half-gathered packet is dropped.
    pub fn hold_tick(&mut self) {
        self.pending_len = 0;
        self.pending_frames = 0;
        self.sender.skip(self.codec.timestamp_step());
    }

    /// Send packets of `ms` (20, 40 or 60; anything else is 20 ms).
    pub fn set_ptime(&mut self, ms: u32) {
        self.frames_per_packet = match ms {
            40 => 2,
            60 => 3,
            _ => 1,
        };
        self.pending_len = 0;
        self.pending_frames = 0;
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
        self.pending_len = 0;
        self.pending_frames = 0;
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
        // Opus frames are whole packets (RFC 7587 §4.2): never gathered.
        if self.frames_per_packet > 1 && self.codec != Codec::Opus {
            return self.gather(out);
        }
        let header = self.sender.next_audio(self.codec.timestamp_step());
        let len = rtp::write_packet(&header, frame, out)?;
        Ok(if self.advance() {
            TickResult::Finished(Some(len))
        } else {
            TickResult::Packet(len)
        })
    }

    /// Multi-frame packets: add the current frame to the pending packet;
    /// copy the packet to `out` once full or when the queue drained.
    fn gather(&mut self, out: &mut [u8]) -> Result<TickResult, PlayerError> {
        let frames = self.frames_per_packet;
        let Some(frame) = self
            .queue
            .get(self.current)
            .and_then(|p| p.frame(self.codec, self.frame))
        else {
            return Ok(TickResult::Silence);
        };
        if self.pending_frames == 0 {
            let header = self
                .sender
                .next_audio(frames as u32 * self.codec.timestamp_step());
            self.pending_len = rtp::write_header(&header, &mut self.pending)?;
        }
        let end = self.pending_len + frame.len();
        if let Some(dst) = self.pending.get_mut(self.pending_len..end) {
            dst.copy_from_slice(frame);
            self.pending_len = end;
        }
        self.pending_frames += 1;
        // `advance` stops the player at the end, which clears `pending_*`
        // (the bytes stay): note the packet first.
        let (len, gathered) = (self.pending_len, self.pending_frames);
        let finished = self.advance();
        if gathered < frames && !finished {
            return Ok(TickResult::Silence);
        }
        let packet = self.pending.get(..len).unwrap_or_default();
        let have = out.len();
        let dst = out
            .get_mut(..len)
            .ok_or(RtpError::BufferTooSmall { have, need: len })?;
        dst.copy_from_slice(packet);
        self.pending_len = 0;
        self.pending_frames = 0;
        Ok(if finished {
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

#[cfg(test)]
mod ptime_tests {
    //! `a=ptime` 40/60: frames gathered per packet, one packet per N ticks.
    use super::*;
    use crate::media::rtp::parse;
    use crate::media::FRAME_SAMPLES;

    fn ramp(frames: usize) -> Arc<Prompt> {
        let samples: Vec<i16> = (0..frames * FRAME_SAMPLES)
            .map(|i| ((i / FRAME_SAMPLES) as i16) * 1500 - 8000)
            .collect();
        Arc::new(Prompt::from_pcm("ramp", &samples))
    }

    /// One packet: (tick index, seq, timestamp, payload).
    type Sent = (usize, u16, u32, Vec<u8>);

    /// Tick `n` times: every packet sent, and whether the end was reported.
    fn run(p: &mut Player, n: usize) -> (Vec<Sent>, bool) {
        let mut sent = Vec::new();
        let mut done = false;
        for i in 0..n {
            let mut buf = [0u8; MAX_PACKET_LEN];
            let len = match p.tick(&mut buf).unwrap() {
                TickResult::Packet(len) => len,
                TickResult::Finished(Some(len)) => {
                    done = true;
                    len
                }
                TickResult::Finished(None) => {
                    done = true;
                    continue;
                }
                TickResult::Silence => continue,
            };
            let pkt = parse(&buf[..len]).unwrap();
            sent.push((
                i,
                pkt.header.sequence,
                pkt.header.timestamp,
                pkt.payload.to_vec(),
            ));
        }
        (sent, done)
    }

    #[test]
    fn forty_ms_sends_two_frames_every_second_tick_and_flushes_the_tail() {
        let prompt = ramp(5);
        let mut p = Player::new(Codec::Pcmu, 0, 1, 100, 8000);
        p.set_ptime(40);
        p.play(vec![prompt.clone()], false).unwrap();
        let (sent, done) = run(&mut p, 5);
        assert!(done, "the prompt's end is reported");
        let ticks: Vec<usize> = sent.iter().map(|s| s.0).collect();
        assert_eq!(
            ticks,
            [1, 3, 4],
            "packets on ticks 2 and 4, the odd tail at 5"
        );
        let seqs: Vec<u16> = sent.iter().map(|s| s.1).collect();
        assert_eq!(seqs, [100, 101, 102], "one sequence number per packet");
        assert_eq!(sent[1].2 - sent[0].2, 320, "40 ms of clock per packet");
        let whole: Vec<u8> = (0..5)
            .flat_map(|f| prompt.frame(Codec::Pcmu, f).unwrap().to_vec())
            .collect();
        let got: Vec<u8> = sent.iter().flat_map(|s| s.3.clone()).collect();
        assert_eq!(got, whole, "every frame once, in order");
        assert_eq!(sent[0].3.len(), 320);
        assert_eq!(sent[2].3.len(), 160);
    }

    #[test]
    fn sixty_ms_gathers_three_frames_and_other_ptimes_stay_at_twenty() {
        let mut p = Player::new(Codec::Pcmu, 0, 1, 0, 0);
        p.set_ptime(60);
        p.play(vec![ramp(6)], false).unwrap();
        let (sent, _) = run(&mut p, 6);
        assert_eq!(sent.iter().map(|s| s.0).collect::<Vec<_>>(), [2, 5]);
        assert!(sent.iter().all(|s| s.3.len() == 480));
        for odd in [10, 30, 25, 0] {
            let mut p = Player::new(Codec::Pcmu, 0, 1, 0, 0);
            p.set_ptime(odd);
            p.play(vec![ramp(2)], false).unwrap();
            let (sent, _) = run(&mut p, 2);
            assert_eq!(sent.len(), 2, "ptime {odd} sends 20 ms packets");
        }
    }

    #[test]
    fn held_ticks_pause_the_prompt_and_move_the_clock() {
        let prompt = ramp(3);
        let mut p = Player::new(Codec::Pcmu, 0, 1, 0, 0);
        p.play(vec![prompt.clone()], false).unwrap();
        let (first, _) = run(&mut p, 1);
        for _ in 0..4 {
            p.hold_tick();
        }
        let mut buf = [0u8; MAX_PACKET_LEN];
        let len = match p.tick(&mut buf).unwrap() {
            TickResult::Packet(n) => n,
            other => panic!("{other:?}"),
        };
        let pkt = parse(&buf[..len]).unwrap();
        assert_eq!(pkt.header.timestamp - first[0].2, 5 * 160, "clock ran on");
        assert!(pkt.header.marker, "a new talkspurt after the hold");
        assert_eq!(pkt.header.sequence, first[0].1 + 1, "no sequence gap");
        assert_eq!(
            pkt.payload,
            prompt.frame(Codec::Pcmu, 1).unwrap(),
            "resumes in place"
        );
    }

    #[test]
    fn barge_in_drops_a_half_gathered_packet() {
        let mut p = Player::new(Codec::Pcmu, 0, 1, 0, 0);
        p.set_ptime(40);
        p.play(vec![ramp(4)], true).unwrap();
        let (sent, _) = run(&mut p, 1);
        assert!(sent.is_empty());
        assert!(p.on_digit());
        let (sent, done) = run(&mut p, 3);
        assert!(
            sent.is_empty() && !done,
            "nothing of the interrupted prompt"
        );
    }
}
