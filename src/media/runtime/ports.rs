//! RTP port allocation: RFC 3550 §11 puts RTP on an even port (RTCP on the
//! next odd one), so we bind even ports only, scanning the configured
//! range from a caller-chosen start so successive streams spread out.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};

use super::MediaError;

/// The even ports of `min..=max`: (first, count).
fn even_ports(min: u16, max: u16) -> Result<(u32, u32), MediaError> {
    let first = u32::from(min) + u32::from(min) % 2;
    let last = u32::from(max) - u32::from(max) % 2;
    if first > last || first == 0 {
        return Err(MediaError::BadPortRange { min, max });
    }
    Ok((first, (last - first) / 2 + 1))
}

/// Bind a non-blocking UDP socket on the first free even port of
/// `min..=max`, trying `start` (any number; taken modulo the range) first,
/// and with `with_rtcp` its RTCP socket on the next odd port (RFC 3550
/// §11); an even port whose odd neighbour is busy is skipped.
pub fn bind_rtp_port(
    ip: IpAddr,
    min: u16,
    max: u16,
    start: u32,
    with_rtcp: bool,
) -> Result<(UdpSocket, Option<UdpSocket>), MediaError> {
    let (_, count) = even_ports(min, max)?;
    let socket_err = |source| MediaError::Socket { ip, source };
    for k in 0..count {
        let rtp = bind_even_port(ip, min, max, start.wrapping_add(k))?;
        if !with_rtcp {
            return Ok((rtp, None));
        }
        let port = rtp.local_addr().map_err(socket_err)?.port();
        let Some(odd) = port.checked_add(1) else {
            continue;
        };
        match UdpSocket::bind(SocketAddr::new(ip, odd)) {
            Ok(rtcp) => {
                rtcp.set_nonblocking(true).map_err(socket_err)?;
                return Ok((rtp, Some(rtcp)));
            }
            Err(e) if e.kind() == ErrorKind::AddrInUse => continue,
            Err(e) => return Err(socket_err(e)),
        }
    }
    Err(MediaError::NoFreePort { ip, min, max })
}

/// Bind a non-blocking UDP socket on the first free even port of
/// `min..=max`, trying `start` (any number; taken modulo the range) first.
pub fn bind_even_port(ip: IpAddr, min: u16, max: u16, start: u32) -> Result<UdpSocket, MediaError> {
    let (first, count) = even_ports(min, max)?;
    let socket_err = |source| MediaError::Socket { ip, source };
    for k in 0..count {
        let port = first + 2 * ((start % count + k) % count);
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        match UdpSocket::bind(SocketAddr::new(ip, port)) {
            Ok(socket) => {
                socket.set_nonblocking(true).map_err(socket_err)?;
                return Ok(socket);
            }
            Err(e) if e.kind() == ErrorKind::AddrInUse => continue,
            Err(e) => return Err(socket_err(e)),
        }
    }
    Err(MediaError::NoFreePort { ip, min, max })
}

/// A random 32-bit number from the OS (port search starts, SSRCs).
pub fn random_u32() -> Result<u32, MediaError> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| MediaError::Random(e.to_string()))?;
    Ok(u32::from_be_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// An even port `p` such that `p` and `p + 2` are free right now.
    fn free_pair() -> u16 {
        loop {
            let probe = UdpSocket::bind((LO, 0)).unwrap();
            let port = probe.local_addr().unwrap().port();
            if port % 2 == 0 && port < u16::MAX - 4 && UdpSocket::bind((LO, port + 2)).is_ok() {
                return port;
            }
        }
    }

    #[test]
    fn binds_even_ports_and_skips_busy_ones() {
        let p = free_pair();
        let a = bind_even_port(LO, p - 1, p + 3, 0).unwrap();
        assert_eq!(a.local_addr().unwrap().port(), p, "p-1 is odd, p is first");
        let b = bind_even_port(LO, p - 1, p + 3, 0).unwrap();
        assert_eq!(b.local_addr().unwrap().port(), p + 2, "p is taken");
        let full = bind_even_port(LO, p, p + 3, 0).unwrap_err();
        assert!(matches!(full, MediaError::NoFreePort { .. }), "{full}");
        drop(a);
        let again = bind_even_port(LO, p, p + 3, 1).unwrap();
        assert_eq!(again.local_addr().unwrap().port(), p, "freed port reused");
    }

    #[test]
    fn start_rotates_through_the_range() {
        let p = free_pair();
        let s = bind_even_port(LO, p, p + 2, 7).unwrap();
        assert_eq!(s.local_addr().unwrap().port(), p + 2, "7 mod 2 ports = 2nd");
        let t = bind_even_port(LO, p, p + 2, 7).unwrap();
        assert_eq!(t.local_addr().unwrap().port(), p, "wraps to the 1st");
    }

    #[test]
    fn rtcp_takes_the_odd_neighbour_and_busy_neighbours_are_skipped() {
        let p = free_pair();
        let Ok(_odd_busy) = UdpSocket::bind((LO, p + 1)) else {
            return; // someone else holds p + 1: nothing to learn this run
        };
        let (rtp, rtcp) = bind_rtp_port(LO, p, p + 3, 0, true).unwrap();
        assert_eq!(
            rtp.local_addr().unwrap().port(),
            p + 2,
            "p + 1 busy: skip p"
        );
        assert_eq!(rtcp.unwrap().local_addr().unwrap().port(), p + 3);
        let (muxed, none) = bind_rtp_port(LO, p, p + 3, 0, false).unwrap();
        assert_eq!(
            muxed.local_addr().unwrap().port(),
            p,
            "rtcp-mux needs no odd port"
        );
        assert!(none.is_none());
    }

    #[test]
    fn ranges_without_even_ports_are_rejected() {
        for (min, max) in [(5001, 5001), (6000, 5000), (0, 1)] {
            assert!(matches!(
                bind_even_port(LO, min, max, 0),
                Err(MediaError::BadPortRange { .. })
            ));
        }
    }
}
