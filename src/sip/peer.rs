//! Where a message came from or goes to (RFC 3261 §18): the transport kind,
//! the remote socket address and, for stream transports, the connection it
//! arrived on (responses go back on the same connection, §18.2.2).

use std::fmt;
use std::net::SocketAddr;

/// A SIP transport. TLS and WS/WSS (RFC 7118) are named now so the upper
/// layers are ready for them; their shells come in a later change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
    /// The in-process link between the SoftACD and its embedded IVR/MS:
    /// serialized messages through a bounded channel, reliable like a stream.
    Local,
}

impl TransportKind {
    /// Reliable transports skip retransmissions and zero Timers I, J, K (§17).
    pub fn is_reliable(self) -> bool {
        !matches!(self, TransportKind::Udp)
    }

    /// The token used in Via (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
            TransportKind::Ws => "WS",
            TransportKind::Wss => "WSS",
            TransportKind::Local => "LOCAL",
        }
    }

    pub fn from_via_token(t: &str) -> Option<TransportKind> {
        match t.to_ascii_uppercase().as_str() {
            "UDP" => Some(TransportKind::Udp),
            "TCP" => Some(TransportKind::Tcp),
            "TLS" => Some(TransportKind::Tls),
            "WS" => Some(TransportKind::Ws),
            "WSS" => Some(TransportKind::Wss),
            "LOCAL" => Some(TransportKind::Local),
            _ => None,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_token())
    }
}

/// Identifies one accepted or opened stream connection inside a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// The far end of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: TransportKind,
    pub addr: SocketAddr,
    /// The connection a stream message arrived on; `None` for UDP, or for a
    /// stream destination with no connection yet (the shell opens one).
    pub conn: Option<ConnId>,
}

impl Peer {
    pub fn udp(addr: SocketAddr) -> Peer {
        Peer {
            transport: TransportKind::Udp,
            addr,
            conn: None,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}
