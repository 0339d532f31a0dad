//! The relay media mode's sockets (issue 3, "relay": RTP anchored through the
//! SoftACD): one `media::relay` pair per contact, opened when the call
//! arrives and closed when it ends. Implements the engine's `MediaPorts`
//! seam, so the engine never touches a socket.

use crate::acd::MediaPorts;
use crate::b2bua::RelayAddrs;
use crate::cti::ContactId;
use crate::media::relay::{Relay, RelayHandle, Side};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

pub struct RelayPorts {
    bind_ip: IpAddr,
    port_min: u16,
    port_max: u16,
    relays: HashMap<ContactId, RelayHandle>,
}

impl RelayPorts {
    pub fn new(bind_ip: IpAddr, port_min: u16, port_max: u16) -> RelayPorts {
        RelayPorts {
            bind_ip,
            port_min,
            port_max,
            relays: HashMap::new(),
        }
    }
}

impl MediaPorts for RelayPorts {
    fn open_relay(&mut self, contact: ContactId) -> Result<RelayAddrs, String> {
        let relay =
            Relay::open(self.bind_ip, self.port_min, self.port_max).map_err(|e| e.to_string())?;
        let addrs = RelayAddrs {
            a_side: relay.local_a(),
            b_side: relay.local_b(),
        };
        self.relays.insert(contact, relay);
        Ok(addrs)
    }

    fn point_relay(
        &mut self,
        contact: ContactId,
        side_a: Option<SocketAddr>,
        side_b: Option<SocketAddr>,
    ) {
        let Some(relay) = self.relays.get(&contact) else {
            return;
        };
        for (side, addr) in [(Side::A, side_a), (Side::B, side_b)] {
            if let Some(addr) = addr {
                if let Err(e) = relay.set_remote(side, addr) {
                    tracing::warn!(%contact, error = %e, "relay re-point failed");
                }
            }
        }
    }

    fn close_relay(&mut self, contact: ContactId) {
        if let Some(relay) = self.relays.remove(&contact) {
            tokio::spawn(relay.close());
        }
    }
}
