//! The SIP side of the IVR's `transfer` node (issue 5): the engine checks
//! the target the call model asks for — a `sip:` URI (RFC 3261 §19.1)
//! whose host is an IP address, loopback or listed in `[ivr]
//! transfer_allow` (a toll-fraud guard, like `http_allow`) — then sends
//! the INVITE. A refused target comes back to the call as `Failed` (403
//! not allowed, 400 unusable), so the flow follows its `on_error`. The
//! ring deadline of each call is kept in one ordered set, one entry per
//! call at most.

use super::Engine;
use crate::b2bua::{CallInput, LegId};
use crate::cti::ContactId;
use crate::sip::parse::parse_uri;
use crate::sip::{Peer, Scheme, TransportKind, Uri};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// Why a transfer target is refused, as the SIP status the flow sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferTargetError {
    #[error("transfer: `{0}` is not a sip: URI with an IP host")]
    BadUri(String),
    #[error("transfer: host `{0}` is not loopback and not in [ivr] transfer_allow")]
    NotAllowed(String),
}

impl TransferTargetError {
    pub fn sip_status(&self) -> u16 {
        match self {
            TransferTargetError::BadUri(_) => 400,
            TransferTargetError::NotAllowed(_) => 403,
        }
    }
}

/// Where to send the transfer INVITE for `uri`, if it is allowed.
/// `allow` entries are `ip` or `ip:port`; loopback hosts always pass.
pub fn transfer_target(uri: &str, allow: &[String]) -> Result<(Uri, Peer), TransferTargetError> {
    let bad = || TransferTargetError::BadUri(uri.chars().take(80).collect());
    let parsed = parse_uri(uri).map_err(|_| bad())?;
    if parsed.scheme != Scheme::Sip {
        return Err(bad());
    }
    let host = parsed.host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().map_err(|_| bad())?;
    let addr = SocketAddr::new(ip, parsed.port.unwrap_or(5060));
    let listed = allow
        .iter()
        .any(|a| a == host || a == &parsed.host || *a == addr.to_string());
    if !ip.is_loopback() && !listed {
        return Err(TransferTargetError::NotAllowed(addr.to_string()));
    }
    let tcp = parsed
        .param("transport")
        .flatten()
        .is_some_and(|t| t.eq_ignore_ascii_case("tcp"));
    let transport = if tcp {
        TransportKind::Tcp
    } else {
        TransportKind::Udp
    };
    let peer = Peer {
        transport,
        addr,
        conn: None,
    };
    Ok((parsed, peer))
}

impl Engine {
    /// `CallAction::InviteExternal`: INVITE the target, or report the
    /// refusal to the call; arm the call's ring deadline.
    pub(super) fn invite_external(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
        leg: LegId,
        uri: &str,
        sdp: Option<Vec<u8>>,
    ) {
        let (target, peer) = match transfer_target(uri, &self.cfg.transfer_allow) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(%contact, error = %e, "transfer refused");
                let code = e.sip_status();
                return self.feed(now, wall_ms, contact, CallInput::Failed { leg, code });
            }
        };
        self.arm_transfer_timer(contact);
        // No X-SoftACD-* headers: the target is outside the contact center.
        let req = self.new_leg_invite(contact, target, peer.transport, sdp);
        self.start_leg(now, contact, leg, req, peer);
    }

    /// Keeps the call's ring deadline (if any) in the timer set (also a
    /// callback's ring or retry deadline: run after every input).
    pub(super) fn arm_transfer_timer(&mut self, contact: ContactId) {
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        if let Some(old) = ctx.transfer_timer.take() {
            self.calls.transfer_timers.remove(&(old, contact));
        }
        if let Some(at) = ctx.call.poll_timeout() {
            ctx.transfer_timer = Some(at);
            self.calls.transfer_timers.insert((at, contact));
        }
    }

    /// Removes a finished call's ring deadline.
    pub(super) fn disarm_transfer_timer(&mut self, contact: ContactId, at: Option<Instant>) {
        if let Some(at) = at {
            self.calls.transfer_timers.remove(&(at, contact));
        }
    }

    /// Feeds `TransferTimeout` to the calls whose ring deadline passed.
    pub(crate) fn fire_transfer_timers(&mut self, now: Instant, wall_ms: u64) {
        while let Some(&(at, contact)) = self.calls.transfer_timers.first() {
            if at > now {
                return;
            }
            self.calls.transfer_timers.remove(&(at, contact));
            if let Some(ctx) = self.calls.calls.get_mut(&contact) {
                ctx.transfer_timer = None;
            }
            self.feed(now, wall_ms, contact, CallInput::TransferTimeout);
        }
    }

    pub(super) fn transfer_timeout(&self) -> Option<Instant> {
        self.calls.transfer_timers.first().map(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_passes_and_others_need_the_allow_list() {
        let (uri, peer) = transfer_target("sip:someone@127.0.0.1:5090", &[]).unwrap();
        assert_eq!(uri.port, Some(5090));
        assert_eq!(peer.addr, "127.0.0.1:5090".parse().unwrap());
        assert_eq!(peer.transport, TransportKind::Udp);
        let e = transfer_target("sip:x@192.0.2.7", &[]).unwrap_err();
        assert_eq!(e.sip_status(), 403);
        let allow = vec!["192.0.2.7".to_string()];
        assert!(transfer_target("sip:x@192.0.2.7:5070", &allow).is_ok());
        let port_only = vec!["192.0.2.7:5060".to_string()];
        assert!(transfer_target("sip:x@192.0.2.7", &port_only).is_ok());
        assert!(transfer_target("sip:x@192.0.2.7:5070", &port_only).is_err());
        let (_, p) = transfer_target("sip:x@127.0.0.2;transport=tcp", &[]).unwrap();
        assert_eq!(p.transport, TransportKind::Tcp);
    }

    #[test]
    fn bad_uris_are_400() {
        for uri in [
            "tel:+15551234",
            "sips:x@127.0.0.1",
            "sip:x@pbx.example.com",
            "not a uri",
            "",
        ] {
            let e = transfer_target(uri, &[]).unwrap_err();
            assert_eq!(e.sip_status(), 400, "{uri}");
        }
    }
}
