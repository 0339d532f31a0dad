//! Which carrier trunk an INVITE came from (issue 5: "routing config maps
//! service numbers and trunks to flows"). Owns the source-address match:
//! each `[[trunk]] sources` entry is an address or a CIDR block (RFC 4632
//! for IPv4, RFC 4291 §2.3 prefixes for IPv6); an IPv4-mapped IPv6 peer
//! (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) matches as its IPv4 address.
//! Pure: no sockets, no config loading; the engine asks [`TrunkMatcher::trunk_of`]
//! with the INVITE's source IP.

use std::fmt;
use std::net::IpAddr;

/// One source entry: a network address and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a source entry did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("`{0}` is not an IP address or CIDR block (e.g. 192.0.2.10, 198.51.100.0/24, 2001:db8::/32)")]
    Syntax(String),
    #[error("`{text}`: prefix /{prefix} is longer than {max} bits")]
    Prefix { text: String, prefix: u8, max: u8 },
    #[error("`{0}`: host bits are set after the prefix (write the network address)")]
    HostBits(String),
}

impl SourceNet {
    /// `192.0.2.10`, `198.51.100.0/24`, `::1`, `2001:db8::/32`.
    pub fn parse(text: &str) -> Result<SourceNet, SourceError> {
        let syntax = || SourceError::Syntax(text.to_owned());
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None => (text, None),
        };
        let addr: IpAddr = ip.trim().parse().map_err(|_| syntax())?;
        let max = bits(addr);
        let prefix = match prefix {
            None => max,
            Some(len) if len.bytes().all(|b| b.is_ascii_digit()) && !len.is_empty() => {
                len.parse::<u8>().map_err(|_| syntax())?
            }
            Some(_) => return Err(syntax()),
        };
        if prefix > max {
            let text = text.to_owned();
            return Err(SourceError::Prefix { text, prefix, max });
        }
        let net = SourceNet { addr, prefix };
        if masked(addr, prefix) != as_u128(addr) {
            return Err(SourceError::HostBits(text.to_owned()));
        }
        Ok(net)
    }

    /// Whether `ip` is inside this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        bits(ip) == bits(self.addr) && masked(ip, self.prefix) == as_u128(self.addr)
    }

    /// Whether the two blocks share an address (CIDR blocks are nested or
    /// disjoint, so one holds the other's network address).
    pub fn overlaps(&self, other: &SourceNet) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
}

impl fmt::Display for SourceNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn bits(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn as_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `ip` with every bit after the first `prefix` cleared.
fn masked(ip: IpAddr, prefix: u8) -> u128 {
    let width = u32::from(bits(ip));
    let host = width - u32::from(prefix);
    let value = as_u128(ip);
    match host {
        0 => value,
        h if h >= 128 => 0,
        h => value & !((1u128 << h) - 1),
    }
}

/// The configured trunks' sources, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrunkMatcher {
    nets: Vec<(SourceNet, String)>,
}

impl TrunkMatcher {
    /// From `(trunk name, source texts)`; entries that do not parse are
    /// skipped (the configuration was validated before).
    pub fn new<'a>(trunks: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut nets = Vec::new();
        for (name, sources) in trunks {
            for s in sources {
                if let Ok(net) = SourceNet::parse(s) {
                    nets.push((net, name.to_owned()));
                }
            }
        }
        TrunkMatcher { nets }
    }

    /// The trunk whose sources hold `ip`. Sources never overlap across
    /// trunks (a configuration error), so the first match is the only one.
    pub fn trunk_of(&self, ip: IpAddr) -> Option<&str> {
        self.nets
            .iter()
            .find(|(net, _)| net.contains(ip))
            .map(|(_, name)| name.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn matcher() -> TrunkMatcher {
        let carrier = ["192.0.2.10".to_owned(), "198.51.100.0/24".to_owned()];
        let v6 = ["2001:db8:1::/48".to_owned(), "127.0.0.2".to_owned()];
        TrunkMatcher::new([("carrier", &carrier[..]), ("partner", &v6[..])])
    }

    #[test]
    fn single_addresses_match_only_themselves() {
        let m = matcher();
        assert_eq!(m.trunk_of(ip("192.0.2.10")), Some("carrier"));
        assert_eq!(m.trunk_of(ip("192.0.2.11")), None);
        assert_eq!(m.trunk_of(ip("127.0.0.2")), Some("partner"));
        assert_eq!(m.trunk_of(ip("127.0.0.1")), None);
    }

    #[test]
    fn cidr_blocks_match_their_range_and_nothing_beside() {
        let m = matcher();
        assert_eq!(m.trunk_of(ip("198.51.100.0")), Some("carrier"));
        assert_eq!(m.trunk_of(ip("198.51.100.255")), Some("carrier"));
        assert_eq!(m.trunk_of(ip("198.51.101.0")), None);
        assert_eq!(m.trunk_of(ip("198.51.99.255")), None);
        assert_eq!(m.trunk_of(ip("2001:db8:1:ffff::1")), Some("partner"));
        assert_eq!(m.trunk_of(ip("2001:db8:2::1")), None);
    }

    #[test]
    fn v4_mapped_v6_peer_matches_as_v4_and_families_never_mix() {
        let m = matcher();
        assert_eq!(m.trunk_of(ip("::ffff:192.0.2.10")), Some("carrier"));
        let any4 = SourceNet::parse("0.0.0.0/0").unwrap();
        assert!(any4.contains(ip("203.0.113.9")));
        assert!(!any4.contains(ip("2001:db8::1")));
        let any6 = SourceNet::parse("::/0").unwrap();
        assert!(any6.contains(ip("2001:db8::1")));
        assert!(!any6.contains(ip("10.0.0.1")));
    }

    #[test]
    fn bad_sources_are_refused_with_the_reason() {
        let err = |s| SourceNet::parse(s).unwrap_err();
        assert!(matches!(err("carrier"), SourceError::Syntax(_)));
        assert!(matches!(err("10.0.0.0/"), SourceError::Syntax(_)));
        assert!(matches!(err("10.0.0.0/+8"), SourceError::Syntax(_)));
        assert!(matches!(err("10.0.0.0/999"), SourceError::Syntax(_)));
        assert!(matches!(
            err("10.0.0.0/33"),
            SourceError::Prefix { max: 32, .. }
        ));
        assert!(matches!(
            err("::/129"),
            SourceError::Prefix { max: 128, .. }
        ));
        assert!(matches!(err("10.0.0.1/8"), SourceError::HostBits(_)));
        assert_eq!(
            SourceNet::parse("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
    }

    #[test]
    fn overlap_is_nesting_or_equality() {
        let net = |s| SourceNet::parse(s).unwrap();
        assert!(net("198.51.100.0/24").overlaps(&net("198.51.100.7")));
        assert!(net("198.51.100.7").overlaps(&net("198.51.100.0/24")));
        assert!(net("10.0.0.0/8").overlaps(&net("10.0.0.0/8")));
        assert!(!net("10.0.0.0/8").overlaps(&net("11.0.0.0/8")));
        assert!(!net("::1").overlaps(&net("127.0.0.1")));
    }

    #[test]
    fn an_empty_matcher_matches_nothing() {
        let m = TrunkMatcher::default();
        assert!(m.is_empty());
        assert_eq!(m.trunk_of(ip("127.0.0.2")), None);
    }
}
