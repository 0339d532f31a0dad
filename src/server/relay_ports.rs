//! The relay media mode's sockets (issue 3, "relay": RTP anchored through the
//! SoftACD): one `media::relay` pair per contact, opened when the call
//! arrives and closed when it ends. Implements the engine's `MediaPorts`
//! seam, so the engine never touches a socket. With `[recording] enabled`
//! each relay carries a recording tap (issue 4, "Recording"), registered in
//! the shared [`Recordings`] for the HTTP API and shutdown.

use crate::acd::MediaPorts;
use crate::b2bua::RelayAddrs;
use crate::cti::ContactId;
use crate::media::recording::{RecordingPolicy, Recordings};
use crate::media::relay::{Relay, RelayHandle, Side};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

pub struct RelayPorts {
    bind_ip: IpAddr,
    port_min: u16,
    port_max: u16,
    relays: HashMap<ContactId, (RelayHandle, Option<PathBuf>)>,
    recordings: Recordings,
    policy: Option<RecordingPolicy>,
}

impl RelayPorts {
    /// `policy` is `None` when calls are not recorded.
    pub fn new(
        bind_ip: IpAddr,
        (port_min, port_max): (u16, u16),
        recordings: Recordings,
        policy: Option<RecordingPolicy>,
    ) -> RelayPorts {
        RelayPorts {
            bind_ip,
            port_min,
            port_max,
            relays: HashMap::new(),
            recordings,
            policy,
        }
    }
}

impl MediaPorts for RelayPorts {
    fn open_relay(&mut self, contact: ContactId) -> Result<RelayAddrs, String> {
        let recording = self
            .recordings
            .open(contact.0, super::wall_ms(), self.policy.as_ref())
            .map_err(|e| e.to_string())?;
        let (tap, path) = recording.unzip();
        let opened = Relay::open_recorded(self.bind_ip, self.port_min, self.port_max, tap);
        let relay = match opened {
            Ok(r) => r,
            Err(e) => {
                self.recordings.close(contact.0);
                return Err(e.to_string());
            }
        };
        let addrs = RelayAddrs {
            a_side: relay.local_a(),
            b_side: relay.local_b(),
        };
        self.relays.insert(contact, (relay, path));
        Ok(addrs)
    }

    fn point_relay(
        &mut self,
        contact: ContactId,
        side_a: Option<SocketAddr>,
        side_b: Option<SocketAddr>,
    ) {
        let Some((relay, _)) = self.relays.get(&contact) else {
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
        self.recordings.close(contact.0);
        if let Some((relay, _)) = self.relays.remove(&contact) {
            tokio::spawn(relay.close());
        }
    }

    fn recording_path(&self, contact: ContactId) -> Option<String> {
        let (_, path) = self.relays.get(&contact)?;
        path.as_ref().map(|p| p.display().to_string())
    }
}
