//! TCP transport shell (RFC 3261 §18.3): an accept loop, and per connection
//! a reader (stream framing by Content-Length, ingress checks, CRLF
//! keep-alive pongs per RFC 5626 §3.5.1) and a writer fed by a bounded queue.
//! Framing errors close the connection; nothing a peer sends can stall the
//! other connections.

use super::{stamp_via, ConnTable, Inbound, TransportError, CONN_QUEUE, MAX_STREAM_MESSAGE};
use crate::sip::framing::{Frame, StreamFramer};
use crate::sip::ingress::{self, Ingress};
use crate::sip::{Peer, TransportKind};
use crate::telemetry::{self, Direction};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// A connection idle for this long is closed (no SIP traffic, no pings).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, TransportError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| TransportError::Bind {
            kind: TransportKind::Tcp,
            addr,
            source,
        })
}

/// Accept connections until `stop` turns true.
pub async fn run_acceptor(
    listener: TcpListener,
    conns: Arc<ConnTable>,
    inbound: mpsc::Sender<Inbound>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, from) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => { tracing::warn!(error = %e, "tcp accept failed"); continue; }
            },
            _ = stop.changed() => return,
        };
        if spawn_connection(stream, from, conns.clone(), inbound.clone()).is_none() {
            tracing::warn!(%from, "too many tcp connections: refused");
        }
    }
}

/// Open a connection to `addr` for a request or response we send (§18.2.2).
pub async fn connect(
    addr: SocketAddr,
    conns: Arc<ConnTable>,
    inbound: mpsc::Sender<Inbound>,
) -> std::io::Result<mpsc::Sender<Vec<u8>>> {
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    spawn_connection(stream, addr, conns, inbound)
        .ok_or_else(|| std::io::Error::other("connection table full"))
}

fn spawn_connection(
    stream: TcpStream,
    from: SocketAddr,
    conns: Arc<ConnTable>,
    inbound: mpsc::Sender<Inbound>,
) -> Option<mpsc::Sender<Vec<u8>>> {
    let _ = stream.set_nodelay(true);
    let (tx, rx) = mpsc::channel::<Vec<u8>>(CONN_QUEUE);
    let id = conns.insert(from, tx.clone())?;
    let (read, write) = stream.into_split();
    tokio::spawn(run_writer(write, rx));
    let peer = Peer {
        transport: TransportKind::Tcp,
        addr: from,
        conn: Some(id),
    };
    let reply = tx.clone();
    tokio::spawn(async move {
        run_reader(read, peer, reply, inbound).await;
        conns.remove(id);
        tracing::debug!(%from, "tcp connection closed");
    });
    Some(tx)
}

async fn run_writer(mut write: OwnedWriteHalf, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        if write.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}

async fn run_reader(
    mut read: OwnedReadHalf,
    peer: Peer,
    reply: mpsc::Sender<Vec<u8>>,
    inbound: mpsc::Sender<Inbound>,
) {
    let mut framer = StreamFramer::new(MAX_STREAM_MESSAGE);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(IDLE_TIMEOUT, read.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => n,
        };
        framer.push(buf.get(..n).unwrap_or_default());
        loop {
            match framer.next() {
                Ok(None) => break,
                Ok(Some(Frame::Ping)) => {
                    let _ = reply.try_send(b"\r\n".to_vec());
                }
                Ok(Some(Frame::Message(bytes))) => {
                    if !deliver(&bytes, peer, &reply, &inbound).await {
                        return;
                    }
                }
                Err(e) => {
                    telemetry::count_sip_dropped("framing");
                    tracing::info!(from = %peer.addr, error = %e, "tcp framing error: closing connection");
                    return;
                }
            }
        }
    }
}

/// Returns false when the engine is gone (shutting down).
async fn deliver(
    bytes: &[u8],
    peer: Peer,
    reply: &mpsc::Sender<Vec<u8>>,
    inbound: &mpsc::Sender<Inbound>,
) -> bool {
    match ingress::check_stream_message(bytes) {
        Ingress::Accept(mut msg) => {
            stamp_via(&mut msg, peer.addr);
            // TCP applies back-pressure instead of dropping.
            inbound.send(Inbound { msg, peer }).await.is_ok()
        }
        Ingress::Reject(resp) => {
            telemetry::count_sip_response(resp.code, "-", Direction::Out);
            tracing::info!(from = %peer.addr, code = resp.code, reason = %resp.reason, "rejected at ingress");
            let _ = reply.try_send(resp.to_bytes());
            true
        }
        Ingress::Drop(reason) => {
            telemetry::count_sip_dropped(reason.label());
            true
        }
    }
}
