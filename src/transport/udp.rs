//! UDP transport shell (RFC 3261 §18.1.1, §18.2.1): one reader task per
//! socket. Each datagram goes through the ingress checks right here; a
//! rejected request is answered from this task, an accepted message is
//! stamped (`received`/`rport`) and queued for the engine. A full engine queue
//! drops the datagram (UDP senders retransmit) and counts it.

use super::{stamp_via, Inbound, TransportError};
use crate::sip::ingress::{self, Ingress};
use crate::sip::{Peer, TransportKind};
use crate::telemetry::{self, Direction};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// Bind one UDP listen address.
pub async fn bind(addr: SocketAddr) -> Result<Arc<UdpSocket>, TransportError> {
    UdpSocket::bind(addr)
        .await
        .map(Arc::new)
        .map_err(|source| TransportError::Bind {
            kind: TransportKind::Udp,
            addr,
            source,
        })
}

/// Read datagrams until `stop` turns true.
pub async fn run_reader(
    sock: Arc<UdpSocket>,
    inbound: mpsc::Sender<Inbound>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (len, from) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(x) => x,
                // ICMP port-unreachable surfaces as an error on some systems: keep serving.
                Err(e) => { tracing::debug!(error = %e, "udp recv error"); continue; }
            },
            _ = stop.changed() => return,
        };
        let Some(data) = buf.get(..len) else { continue };
        handle_datagram(&sock, data, from, &inbound).await;
    }
}

async fn handle_datagram(
    sock: &UdpSocket,
    data: &[u8],
    from: SocketAddr,
    inbound: &mpsc::Sender<Inbound>,
) {
    match ingress::check_datagram(data) {
        Ingress::Accept(mut msg) => {
            stamp_via(&mut msg, from);
            let peer = Peer::udp(from);
            if inbound.try_send(Inbound { msg, peer }).is_err() {
                telemetry::count_sip_dropped("overload");
                tracing::warn!(%from, "engine queue full: datagram dropped");
            }
        }
        Ingress::Reject(resp) => {
            telemetry::count_sip_response(resp.code, "-", Direction::Out);
            tracing::info!(%from, code = resp.code, reason = %resp.reason, "rejected at ingress");
            if let Err(e) = sock.send_to(&resp.to_bytes(), from).await {
                tracing::debug!(%from, error = %e, "could not send ingress rejection");
            }
        }
        Ingress::Drop(reason) => {
            telemetry::count_sip_dropped(reason.label());
            tracing::debug!(%from, ?reason, "datagram dropped");
        }
    }
}
