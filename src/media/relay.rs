//! The SoftACD media anchor for relay mode (docs/design/call-flow.md
//! "media modes"; mission steps 3 and 9: the caller's RTP goes to the IVR,
//! then to the agent). One relay per contact owns two sockets: side A
//! faces the caller, side B the IVR or the agent. A task forwards A→B and
//! B→A with one reused buffer per side (no allocation per packet). Each
//! side's peer address follows symmetric-RTP latching
//! ([`crate::media::runtime::latch`]); re-pointing B from the IVR to the
//! agent is `set_remote(Side::B, agent)`, which restarts B's latch and
//! refuses the IVR's late packets. Packets that arrive before the other
//! side has an address are dropped. With a recording
//! ([`crate::media::recording::Tap`]) every forwarded packet is also offered
//! to the recording's bounded queue, side A as the caller and side B as the
//! agent (or the IVR before it); the tap never blocks forwarding.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::recording::{Party, Tap};
use super::rtp;
use super::runtime::latch::Latch;
use super::runtime::ports::{bind_even_port, random_u32};
use super::runtime::MediaError;

/// Largest datagram forwarded whole (Ethernet MTU with room to spare).
const BUF_LEN: usize = 2048;
/// `set_remote` requests queued before `Busy`.
const COMMAND_QUEUE: usize = 16;

/// Which leg of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Caller-facing.
    A,
    /// IVR- or agent-facing.
    B,
}

/// Counters since the relay opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    pub a_to_b_packets: u64,
    pub a_to_b_bytes: u64,
    pub b_to_a_packets: u64,
    pub b_to_a_bytes: u64,
    /// Not RTP, not from the latched peer, no destination yet, or refused
    /// by the socket.
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    a_to_b_packets: AtomicU64,
    a_to_b_bytes: AtomicU64,
    b_to_a_packets: AtomicU64,
    b_to_a_bytes: AtomicU64,
    dropped: AtomicU64,
}

struct SetRemote {
    side: Side,
    addr: SocketAddr,
}

/// Opens relays.
pub struct Relay;

impl Relay {
    /// Bind sides A and B on even ports of `port_min..=port_max` and start
    /// forwarding. Call from inside a tokio runtime.
    pub fn open(bind_ip: IpAddr, port_min: u16, port_max: u16) -> Result<RelayHandle, MediaError> {
        Relay::open_recorded(bind_ip, port_min, port_max, None)
    }

    /// [`Relay::open`], also feeding every forwarded packet to `tap`; the
    /// recording ends when the relay does.
    pub fn open_recorded(
        bind_ip: IpAddr,
        port_min: u16,
        port_max: u16,
        tap: Option<Tap>,
    ) -> Result<RelayHandle, MediaError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| MediaError::NoRuntime)?;
        let start = random_u32().unwrap_or(0);
        let a = bind_even_port(bind_ip, port_min, port_max, start)?;
        let b = bind_even_port(bind_ip, port_min, port_max, start.wrapping_add(1))?;
        let socket_err = |source| MediaError::Socket {
            ip: bind_ip,
            source,
        };
        let _guard = rt.enter();
        let a = UdpSocket::from_std(a).map_err(socket_err)?;
        let b = UdpSocket::from_std(b).map_err(socket_err)?;
        let local_a = a.local_addr().map_err(socket_err)?;
        let local_b = b.local_addr().map_err(socket_err)?;
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let counters = Arc::new(Counters::default());
        let task = rt.spawn(run(a, b, rx, counters.clone(), tap));
        Ok(RelayHandle {
            local_a,
            local_b,
            commands,
            counters,
            task,
        })
    }
}

/// A running relay. Dropping it stops the task; [`RelayHandle::close`]
/// also waits until the ports are free.
pub struct RelayHandle {
    local_a: SocketAddr,
    local_b: SocketAddr,
    commands: mpsc::Sender<SetRemote>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl RelayHandle {
    /// The caller-facing address (goes in the SDP sent to the caller).
    pub fn local_a(&self) -> SocketAddr {
        self.local_a
    }

    /// The IVR/agent-facing address (goes in the SDP sent to them).
    pub fn local_b(&self) -> SocketAddr {
        self.local_b
    }

    /// The address a side's peer named in its SDP; its latch restarts.
    pub fn set_remote(&self, side: Side, addr: SocketAddr) -> Result<(), MediaError> {
        self.commands
            .try_send(SetRemote { side, addr })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => MediaError::Busy,
                mpsc::error::TrySendError::Closed(_) => MediaError::Stopped,
            })
    }

    pub fn stats(&self) -> RelayStats {
        let c = &self.counters;
        RelayStats {
            a_to_b_packets: c.a_to_b_packets.load(Ordering::Relaxed),
            a_to_b_bytes: c.a_to_b_bytes.load(Ordering::Relaxed),
            b_to_a_packets: c.b_to_a_packets.load(Ordering::Relaxed),
            b_to_a_bytes: c.b_to_a_bytes.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
        }
    }

    /// Stop forwarding; both ports are free when this returns.
    pub async fn close(self) {
        drop(self.commands);
        // The task only ends by seeing the channel closed; a panic inside
        // it would already have freed the sockets.
        let _ = self.task.await;
    }
}

/// The forwarding task: one buffer per side, requests first.
async fn run(
    a: UdpSocket,
    b: UdpSocket,
    mut commands: mpsc::Receiver<SetRemote>,
    counters: Arc<Counters>,
    tap: Option<Tap>,
) {
    let mut latch_a = Latch::default();
    let mut latch_b = Latch::default();
    let mut buf_a = [0u8; BUF_LEN];
    let mut buf_b = [0u8; BUF_LEN];
    loop {
        tokio::select! {
            biased;
            cmd = commands.recv() => match cmd {
                Some(SetRemote { side: Side::A, addr }) => latch_a.set_remote(addr),
                Some(SetRemote { side: Side::B, addr }) => latch_b.set_remote(addr),
                None => break,
            },
            got = a.recv_from(&mut buf_a) => {
                let leg = Leg { from: &mut latch_a, to: &latch_b, out: &b };
                leg.forward(got, &buf_a, &counters, Side::A, tap.as_ref());
            }
            got = b.recv_from(&mut buf_b) => {
                let leg = Leg { from: &mut latch_b, to: &latch_a, out: &a };
                leg.forward(got, &buf_b, &counters, Side::B, tap.as_ref());
            }
        }
    }
}

/// One direction of the relay.
struct Leg<'a> {
    from: &'a mut Latch,
    to: &'a Latch,
    out: &'a UdpSocket,
}

impl Leg<'_> {
    fn forward(
        self,
        got: std::io::Result<(usize, SocketAddr)>,
        buf: &[u8],
        counters: &Counters,
        arrived_on: Side,
        tap: Option<&Tap>,
    ) {
        let (n, src) = match got {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!(error = %e, "relay: receive failed");
                return;
            }
        };
        let data = buf.get(..n).unwrap_or_default();
        let sent = route(self.from, self.to, src, data)
            .is_some_and(|dst| self.out.try_send_to(data, dst).is_ok());
        if let (true, Some(tap)) = (sent, tap) {
            let party = match arrived_on {
                Side::A => Party::Caller,
                Side::B => Party::Agent,
            };
            tap.packet(party, data);
        }
        let (packets, bytes) = match arrived_on {
            Side::A => (&counters.a_to_b_packets, &counters.a_to_b_bytes),
            Side::B => (&counters.b_to_a_packets, &counters.b_to_a_bytes),
        };
        if sent {
            packets.fetch_add(1, Ordering::Relaxed);
            bytes.fetch_add(n as u64, Ordering::Relaxed);
        } else {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Where a datagram from `src` arriving on the `from` side goes, if
/// anywhere: it must be RTP (or RTCP multiplexed with it), come from the
/// side's (latched) peer, and the other side must have an address.
fn route(from: &mut Latch, to: &Latch, src: SocketAddr, data: &[u8]) -> Option<SocketAddr> {
    rtp::parse(data).ok()?;
    if !from.on_packet(src) {
        return None;
    }
    to.remote()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 7], port))
    }

    fn rtp_packet() -> [u8; 20] {
        let mut p = [0u8; 20];
        p[0] = 0x80;
        p
    }

    #[test]
    fn routes_rtp_to_the_other_sides_peer_once_known() {
        let (mut a, mut b) = (Latch::default(), Latch::default());
        a.set_remote(addr(4000));
        assert_eq!(
            route(&mut a, &b, addr(4000), &rtp_packet()),
            None,
            "B unknown"
        );
        b.set_remote(addr(6000));
        assert_eq!(
            route(&mut a, &b, addr(4000), &rtp_packet()),
            Some(addr(6000))
        );
        assert_eq!(
            route(&mut b, &a, addr(6000), &rtp_packet()),
            Some(addr(4000))
        );
    }

    #[test]
    fn refuses_non_rtp_and_strangers_after_latching() {
        let (mut a, mut b) = (Latch::default(), Latch::default());
        b.set_remote(addr(6000));
        assert_eq!(route(&mut a, &b, addr(1), b"hello, not rtp"), None);
        assert!(!a.is_latched(), "garbage does not latch");
        assert_eq!(
            route(&mut a, &b, addr(4000), &rtp_packet()),
            Some(addr(6000))
        );
        assert_eq!(route(&mut a, &b, addr(4444), &rtp_packet()), None);
    }

    #[test]
    fn opening_outside_a_runtime_is_an_error() {
        let lo = IpAddr::from([127, 0, 0, 1]);
        assert!(matches!(
            Relay::open(lo, 40000, 40100),
            Err(MediaError::NoRuntime)
        ));
    }
}
