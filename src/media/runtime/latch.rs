//! Symmetric RTP latching (RFC 4961 symmetric RTP; the NAT practice of
//! "comedia"): a leg's remote address is the one its SDP named until the
//! first packet arrives, then the packet's source. Once latched, packets
//! from any other source are refused. Re-pointing a leg (IVR → agent)
//! remembers the previous peer as stale, so its late packets can neither
//! win the new latch nor be forwarded. Pure.

use std::net::SocketAddr;

/// The remote address of one RTP leg.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latch {
    sdp: Option<SocketAddr>,
    latched: Option<SocketAddr>,
    stale: Option<SocketAddr>,
}

impl Latch {
    /// The address to send to: the latched source, else the SDP one.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.latched.or(self.sdp)
    }

    pub fn is_latched(&self) -> bool {
        self.latched.is_some()
    }

    /// A new SDP address: forget the latch; the previous peer (if another
    /// address) becomes stale.
    pub fn set_remote(&mut self, addr: SocketAddr) {
        self.stale = self.remote().filter(|old| *old != addr);
        self.sdp = Some(addr);
        self.latched = None;
    }

    /// A packet arrived from `src`: latch if not yet latched; returns
    /// whether the packet is from the leg's peer and should be used.
    pub fn on_packet(&mut self, src: SocketAddr) -> bool {
        if let Some(peer) = self.latched {
            return peer == src;
        }
        if self.stale == Some(src) {
            return false;
        }
        self.latched = Some(src);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    #[test]
    fn sdp_address_until_the_first_packet_then_its_source() {
        let mut l = Latch::default();
        assert_eq!(l.remote(), None);
        l.set_remote(addr(4000));
        assert_eq!(l.remote(), Some(addr(4000)));
        assert!(l.on_packet(addr(5555)), "NATed source is accepted");
        assert_eq!(l.remote(), Some(addr(5555)));
        assert!(l.is_latched());
        assert!(!l.on_packet(addr(4000)), "only the latched source counts");
        assert!(l.on_packet(addr(5555)));
    }

    #[test]
    fn repointing_relatches_and_refuses_the_previous_peer() {
        let mut l = Latch::default();
        l.set_remote(addr(4000));
        assert!(l.on_packet(addr(4001)));
        l.set_remote(addr(6000));
        assert!(!l.is_latched());
        assert_eq!(l.remote(), Some(addr(6000)));
        assert!(!l.on_packet(addr(4001)), "late packet from the old peer");
        assert!(!l.is_latched());
        assert!(l.on_packet(addr(6000)));
        assert_eq!(l.remote(), Some(addr(6000)));
    }

    #[test]
    fn resetting_to_the_same_address_leaves_nothing_stale() {
        let mut l = Latch::default();
        l.set_remote(addr(4000));
        l.set_remote(addr(4000));
        assert!(l.on_packet(addr(4000)));
    }
}
