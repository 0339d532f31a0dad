//! One media-server RTP stream as the runtime's driver task sees it: its
//! socket, the symmetric-RTP [`Latch`], the RFC 4733 [`DtmfReceiver`],
//! the in-band [`InbandDetector`] (when `[media] dtmf` has "inband") and
//! the [`Player`]. Each 20 ms tick the driver first drains what arrived
//! (so a digit stops an interruptible prompt before the next packet is
//! due: barge-in, mission step 4), then sends the player's next packet.
//! Socket calls are non-blocking (`try_*`): a full socket drops a packet,
//! never stalls the other streams.

use std::io::ErrorKind;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

use crate::media::dtmf_inband::{InbandDetector, InbandDigit};
use crate::media::player::{Player, TickResult};
use crate::media::rfc4733::DtmfReceiver;
use crate::media::rtp;
use crate::media::{Codec, DtmfPaths};

use super::latch::Latch;

/// Most datagrams read from one socket per tick; the rest wait in the
/// kernel buffer for the next tick.
pub const MAX_RECV_PER_TICK: usize = 16;

/// What one tick's sending did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendOutcome {
    pub sent: bool,
    pub dropped: bool,
    /// A non-loop playback finished on this tick: report PlaybackDone.
    pub done: bool,
}

pub struct Stream {
    socket: UdpSocket,
    latch: Latch,
    dtmf_pt: Option<u8>,
    dtmf: Option<DtmfReceiver>,
    /// The negotiated audio codec and payload type, for in-band DTMF.
    audio: (Codec, u8),
    inband: Option<InbandDetector>,
    /// In-band keys of the packet being handled (reused, no allocation).
    inband_keys: Vec<InbandDigit>,
    pub player: Player,
    /// False while the peer holds us (RFC 3264 §8.4): no RTP goes out and
    /// the playback pauses.
    pub sending: bool,
}

impl Stream {
    pub fn new(socket: UdpSocket, player: Player, paths: DtmfPaths) -> Stream {
        Stream {
            socket,
            latch: Latch::default(),
            dtmf_pt: None,
            dtmf: paths.rfc4733.then(DtmfReceiver::new),
            audio: (Codec::Pcmu, Codec::Pcmu.payload_type()),
            inband: paths.inband.then(InbandDetector::new),
            inband_keys: Vec::with_capacity(4),
            player,
            sending: true,
        }
    }

    /// Apply the negotiated SDP: remote address (latching starts over),
    /// codec and the telephone-event payload type.
    pub fn configure(&mut self, remote: SocketAddr, codec: Codec, pt: u8, dtmf_pt: Option<u8>) {
        self.latch.set_remote(remote);
        self.player.set_codec(codec, pt);
        self.dtmf_pt = dtmf_pt;
        self.audio = (codec, pt);
        if let Some(d) = self.dtmf.as_mut() {
            d.reset();
        }
        if let Some(d) = self.inband.as_mut() {
            d.reset();
        }
    }

    /// Drain arrived datagrams; digits pressed are pushed to `digits`
    /// after an interruptible prompt was stopped. Returns datagrams read.
    pub fn receive(&mut self, buf: &mut [u8], digits: &mut Vec<char>) -> u64 {
        let mut packets = 0;
        for _ in 0..MAX_RECV_PER_TICK {
            let (n, src) = match self.socket.try_recv_from(buf) {
                Ok(got) => got,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!(error = %e, "media: rtp receive failed");
                    break;
                }
            };
            packets += 1;
            if let Some(data) = buf.get(..n) {
                self.on_datagram(data, src, digits);
            }
        }
        packets
    }

    fn on_datagram(&mut self, data: &[u8], src: SocketAddr, digits: &mut Vec<char>) {
        let Ok(pkt) = rtp::parse(data) else {
            return;
        };
        if !self.latch.on_packet(src) {
            return;
        }
        let h = pkt.header;
        if self.audio.1 == h.payload_type {
            return self.on_audio(pkt.payload, digits);
        }
        let (Some(dtmf), true) = (self.dtmf.as_mut(), self.dtmf_pt == Some(h.payload_type)) else {
            return;
        };
        match dtmf.on_packet(h.timestamp, h.sequence, h.marker, pkt.payload) {
            Ok(Some(press)) => {
                self.player.on_digit();
                digits.push(press.key);
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "media: bad telephone-event"),
        }
    }

    /// G.711 audio from the caller: in-band DTMF, when on.
    fn on_audio(&mut self, payload: &[u8], digits: &mut Vec<char>) {
        let Some(inband) = self.inband.as_mut() else {
            return;
        };
        inband.push_g711(self.audio.0, payload, &mut self.inband_keys);
        for found in self.inband_keys.drain(..) {
            self.player.on_digit();
            digits.push(found.key);
        }
    }

    /// Produce and send this tick's packet, if any.
    pub fn send(&mut self, buf: &mut [u8]) -> SendOutcome {
        if !self.sending {
            self.player.hold_tick();
            return SendOutcome::default();
        }
        let (len, done) = match self.player.tick(buf) {
            Ok(TickResult::Packet(n)) => (Some(n), false),
            Ok(TickResult::Silence) => (None, false),
            Ok(TickResult::Finished(n)) => (n, true),
            Err(e) => {
                tracing::warn!(error = %e, "media: player tick failed");
                (None, false)
            }
        };
        let mut out = SendOutcome {
            done,
            ..SendOutcome::default()
        };
        let (Some(packet), Some(remote)) = (len.and_then(|n| buf.get(..n)), self.latch.remote())
        else {
            return out;
        };
        match self.socket.try_send_to(packet, remote) {
            Ok(_) => out.sent = true,
            Err(e) => {
                tracing::debug!(error = %e, %remote, "media: rtp send dropped");
                out.dropped = true;
            }
        }
        out
    }
}
