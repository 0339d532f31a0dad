//! SIP transport shells (RFC 3261 §18): tokio tasks that own the sockets.
//! Readers run the ingress checks (`sip::ingress`) next to the socket, answer
//! what ingress rejects themselves, and hand accepted messages to the engine
//! over one bounded channel. Writers take serialized messages from the
//! engine. UDP and TCP live here; TLS and WebSocket (RFC 7118) add a module
//! each and reuse `ConnTable` for their connections.

pub mod tcp;
pub mod udp;

use crate::sip::{ConnId, Message, Peer, TransportKind};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// How many messages may wait between the transports and the engine before
/// readers start dropping (UDP) or applying back-pressure (TCP).
pub const INBOUND_QUEUE: usize = 8192;
/// Per-connection outbound queue (serialized messages).
pub const CONN_QUEUE: usize = 256;
/// Largest message accepted on a stream connection.
pub const MAX_STREAM_MESSAGE: usize = 64 * 1024;
/// Most concurrent TCP connections accepted.
pub const MAX_CONNECTIONS: usize = 4096;

/// A message that passed the ingress checks.
#[derive(Debug)]
pub struct Inbound {
    pub msg: Message,
    pub peer: Peer,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("binding {kind} {addr}: {source}")]
    Bind {
        kind: TransportKind,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("no {0} socket to send from")]
    NoSocket(TransportKind),
    #[error("sending to {peer}: {source}")]
    Send { peer: Peer, source: std::io::Error },
    #[error("connection to {0} is gone or its queue is full")]
    ConnGone(Peer),
}

/// Live stream connections: where to send bytes for a `ConnId`, and the
/// connection currently open to a remote address (for requests we originate).
#[derive(Default)]
pub struct ConnTable {
    next: AtomicU64,
    inner: Mutex<ConnMaps>,
}

#[derive(Default)]
struct ConnMaps {
    by_id: HashMap<ConnId, (SocketAddr, mpsc::Sender<Vec<u8>>)>,
    by_addr: HashMap<SocketAddr, ConnId>,
}

impl ConnTable {
    pub fn insert(&self, addr: SocketAddr, tx: mpsc::Sender<Vec<u8>>) -> Option<ConnId> {
        let mut maps = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if maps.by_id.len() >= MAX_CONNECTIONS {
            return None;
        }
        let id = ConnId(self.next.fetch_add(1, Ordering::Relaxed) + 1);
        maps.by_id.insert(id, (addr, tx));
        maps.by_addr.insert(addr, id);
        Some(id)
    }

    pub fn remove(&self, id: ConnId) {
        let mut maps = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((addr, _)) = maps.by_id.remove(&id) {
            if maps.by_addr.get(&addr) == Some(&id) {
                maps.by_addr.remove(&addr);
            }
        }
    }

    /// The sender for a connection id, or for any open connection to `addr`.
    pub fn sender(&self, id: Option<ConnId>, addr: SocketAddr) -> Option<mpsc::Sender<Vec<u8>>> {
        let maps = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let id = id
            .filter(|i| maps.by_id.contains_key(i))
            .or_else(|| maps.by_addr.get(&addr).copied())?;
        maps.by_id.get(&id).map(|(_, tx)| tx.clone())
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything the engine needs to send: the UDP sockets and the stream
/// connections. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    pub udp: Vec<Arc<tokio::net::UdpSocket>>,
    pub tcp: Arc<ConnTable>,
    pub tcp_inbound: mpsc::Sender<Inbound>,
    /// The in-process link to the embedded IVR/MS (`TransportKind::Local`).
    pub local: Option<mpsc::Sender<Vec<u8>>>,
}

impl Outbound {
    /// Send one serialized message. UDP leaves from the first socket of the
    /// peer's address family; TCP uses the connection it came on, or opens
    /// one (§18.2.2: if the connection is gone, connect to the address).
    pub async fn send(&self, peer: &Peer, bytes: Vec<u8>) -> Result<(), TransportError> {
        match peer.transport {
            TransportKind::Udp => {
                let sock = self
                    .udp
                    .iter()
                    .find(|s| {
                        s.local_addr()
                            .map(|a| a.is_ipv4() == peer.addr.is_ipv4())
                            .unwrap_or(false)
                    })
                    .or_else(|| self.udp.first())
                    .ok_or(TransportError::NoSocket(TransportKind::Udp))?;
                sock.send_to(&bytes, peer.addr)
                    .await
                    .map(|_| ())
                    .map_err(|source| TransportError::Send {
                        peer: *peer,
                        source,
                    })
            }
            TransportKind::Tcp => {
                let tx = match self.tcp.sender(peer.conn, peer.addr) {
                    Some(tx) => tx,
                    None => tcp::connect(peer.addr, self.tcp.clone(), self.tcp_inbound.clone())
                        .await
                        .map_err(|source| TransportError::Send {
                            peer: *peer,
                            source,
                        })?,
                };
                tx.try_send(bytes)
                    .map_err(|_| TransportError::ConnGone(*peer))
            }
            TransportKind::Local => {
                let tx = self
                    .local
                    .as_ref()
                    .ok_or(TransportError::NoSocket(TransportKind::Local))?;
                tx.try_send(bytes)
                    .map_err(|_| TransportError::ConnGone(*peer))
            }
            other => Err(TransportError::NoSocket(other)),
        }
    }
}

/// RFC 3261 §18.2.1 / RFC 3581: note where a request really came from in its
/// top Via (`received`, and `rport` filled in when the client asked for it).
pub fn stamp_via(msg: &mut Message, source: SocketAddr) {
    use crate::sip::parse::{parse_via, split_list};
    let Message::Request(req) = msg else { return };
    let Some(pos) = req
        .headers
        .0
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case("Via"))
    else {
        return;
    };
    let line = req.headers.0[pos].1.clone();
    let values = split_list(&line);
    let Some(first) = values.first() else { return };
    let Ok(mut via) = parse_via(first) else {
        return;
    };
    let ip = source.ip().to_string();
    let mut changed = false;
    if via.host.trim_matches(|c| c == '[' || c == ']') != ip {
        via.set_param("received", Some(ip));
        changed = true;
    }
    if via.rport() == Some(None) {
        via.set_param("rport", Some(source.port().to_string()));
        changed = true;
    }
    if changed {
        let mut rebuilt = via.to_string();
        for rest in &values[1..] {
            rebuilt.push_str(", ");
            rebuilt.push_str(rest);
        }
        req.headers.0[pos].1 = rebuilt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse_message, HeaderView};

    #[test]
    fn stamp_via_adds_received_and_rport() {
        let mut m = parse_message(
            b"OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/UDP phone.example;branch=z9hG4bKa;rport, SIP/2.0/UDP b;branch=z9hG4bKb\r\n\r\n",
        )
        .unwrap();
        stamp_via(&mut m, "127.0.0.5:6000".parse().unwrap());
        let vias = m.vias().unwrap();
        assert_eq!(vias[0].received(), Some("127.0.0.5"));
        assert_eq!(vias[0].rport(), Some(Some("6000")));
        assert_eq!(vias[1].host, "b");
    }

    #[test]
    fn stamp_via_leaves_matching_host_alone() {
        let raw =
            "OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bKa\r\n\r\n";
        let mut m = parse_message(raw.as_bytes()).unwrap();
        stamp_via(&mut m, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(
            m.headers().get("Via"),
            Some("SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bKa")
        );
    }
}
