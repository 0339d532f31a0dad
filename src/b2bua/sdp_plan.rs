//! SDP handling of the call model (RFC 3264 offer/answer through a B2BUA;
//! docs/design/call-flow.md "Media modes"). Reading a peer's description
//! goes through `media::sdp::parse_offer`, so every body is bounded and
//! checked before we touch it. In relay mode [`rewrite`] replaces the
//! media address (every `c=` line and the audio `m=` port) with the
//! SoftACD's relay address, puts our own `o=` line in (RFC 3264 §8: one
//! session id per side, version bumped per new description), drops lines
//! that name other transport addresses (`a=rtcp`, `a=candidate`) and
//! disables every other stream (port 0): the v1 relay carries one audio
//! stream. [`relay_offer`] is our fresh offer on one side.

use super::error::B2buaError;
use crate::media::sdp::parse_offer;
use crate::media::Codec;
use std::net::{IpAddr, SocketAddr};

/// Our `o=` line on one side of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub session_id: u64,
    pub version: u64,
}

/// What the call model needs from a peer's SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Described {
    /// Where the peer wants audio RTP.
    pub addr: SocketAddr,
    /// The first of PCMU/PCMA it lists (for an answer: the codec chosen).
    pub codec: Option<Codec>,
    /// A video m-line with a non-zero port (mission step 1).
    pub video: bool,
}

/// Reads a peer's description; `place` names it in the error.
pub fn describe(place: &'static str, sdp: &[u8]) -> Result<Described, B2buaError> {
    let offer = parse_offer(sdp).map_err(|source| B2buaError::Sdp { place, source })?;
    Ok(Described {
        addr: SocketAddr::new(offer.connection, offer.audio_port),
        codec: offer.negotiate().ok().map(|n| n.codec),
        video: offer.has_video,
    })
}

fn net(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IP4"
    } else {
        "IP6"
    }
}

fn origin_line(origin: Origin, to: SocketAddr) -> String {
    format!(
        "o=softacd {} {} IN {} {}",
        origin.session_id,
        origin.version,
        net(to.ip()),
        to.ip()
    )
}

/// Rewrites a checked peer description so its audio goes to `to`.
pub fn rewrite(
    place: &'static str,
    sdp: &[u8],
    to: SocketAddr,
    origin: Origin,
) -> Result<Vec<u8>, B2buaError> {
    parse_offer(sdp).map_err(|source| B2buaError::Sdp { place, source })?;
    let text = std::str::from_utf8(sdp).map_err(|_| B2buaError::NotUtf8 { place })?;
    let mut out: Vec<String> = Vec::new();
    let mut audio_done = false;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if line.starts_with("o=") {
            out.push(origin_line(origin, to));
        } else if line.starts_with("c=") {
            out.push(format!("c=IN {} {}", net(to.ip()), to.ip()));
        } else if let Some(rest) = line.strip_prefix("m=") {
            out.push(rewrite_m_line(rest, to.port(), &mut audio_done));
        } else if line.starts_with("a=rtcp:") || line.starts_with("a=candidate:") {
            continue;
        } else {
            out.push(line.to_owned());
        }
    }
    let mut body = out.join("\r\n");
    body.push_str("\r\n");
    Ok(body.into_bytes())
}

/// `m=<media> <port> <proto> <fmt…>`: the first active audio line gets our
/// port, every other active line is disabled.
fn rewrite_m_line(rest: &str, port: u16, audio_done: &mut bool) -> String {
    let mut parts = rest.splitn(3, ' ');
    let media = parts.next().unwrap_or_default();
    let old_port = parts.next().unwrap_or_default();
    let tail = parts.next().unwrap_or_default();
    let active = old_port.split('/').next() != Some("0");
    let new_port = if media == "audio" && active && !*audio_done {
        *audio_done = true;
        port
    } else {
        0
    };
    format!("m={media} {new_port} {tail}")
}

/// Our own audio offer on one side of the relay: `codec` only when known
/// (the caller's negotiated codec), PCMU and PCMA otherwise, plus
/// telephone-event 101 (RFC 4733).
pub fn relay_offer(to: SocketAddr, origin: Origin, codec: Option<Codec>) -> Vec<u8> {
    let codecs: Vec<Codec> = match codec {
        Some(c) => vec![c],
        None => Codec::ALL.to_vec(),
    };
    let mut fmt: Vec<String> = codecs
        .iter()
        .map(|c| c.payload_type().to_string())
        .collect();
    fmt.push("101".into());
    let mut lines = vec![
        "v=0".to_owned(),
        origin_line(origin, to),
        "s=-".to_owned(),
        format!("c=IN {} {}", net(to.ip()), to.ip()),
        "t=0 0".to_owned(),
        format!("m=audio {} RTP/AVP {}", to.port(), fmt.join(" ")),
    ];
    for c in &codecs {
        lines.push(format!(
            "a=rtpmap:{} {}/8000",
            c.payload_type(),
            c.encoding_name()
        ));
    }
    lines.push("a=rtpmap:101 telephone-event/8000".into());
    lines.push("a=fmtp:101 0-15".into());
    lines.push("a=ptime:20".into());
    lines.push("a=sendrecv".into());
    let mut body = lines.join("\r\n");
    body.push_str("\r\n");
    body.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: &str = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:4001 IN IP4 10.0.0.1\r\nm=video 5000 RTP/AVP 96\r\nc=IN IP4 10.0.0.9\r\na=rtpmap:96 H264/90000\r\n";

    fn relay() -> SocketAddr {
        "192.0.2.10:30000".parse().unwrap()
    }

    const O: Origin = Origin {
        session_id: 7,
        version: 2,
    };

    #[test]
    fn describe_reads_address_codec_and_video() {
        let d = describe("test", CALLER.as_bytes()).unwrap();
        assert_eq!(d.addr, "10.0.0.1:4000".parse().unwrap());
        assert_eq!(d.codec, Some(Codec::Pcma));
        assert!(d.video);
    }

    #[test]
    fn rewrite_points_audio_at_relay_and_disables_video() {
        let out = rewrite("test", CALLER.as_bytes(), relay(), O).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("o=softacd 7 2 IN IP4 192.0.2.10\r\n"));
        assert!(text.contains("m=audio 30000 RTP/AVP 8 0 101\r\n"));
        assert!(text.contains("m=video 0 RTP/AVP 96\r\n"));
        assert!(!text.contains("10.0.0."), "{text}");
        assert!(!text.contains("a=rtcp:"));
        let d = describe("test", &out).unwrap();
        assert_eq!(d.addr, relay());
        assert_eq!(d.codec, Some(Codec::Pcma));
        assert!(!d.video);
    }

    #[test]
    fn rewrite_refuses_junk_without_panicking() {
        for junk in [
            &b""[..],
            b"garbage",
            b"v=0\r\nm=audio x",
            &[0xff, 0xfe, 0x00],
        ] {
            assert!(rewrite("test", junk, relay(), O).is_err());
        }
    }

    #[test]
    fn relay_offer_carries_one_codec_when_known() {
        let one = relay_offer(relay(), O, Some(Codec::Pcma));
        let d = describe("test", &one).unwrap();
        assert_eq!(d.addr, relay());
        assert_eq!(d.codec, Some(Codec::Pcma));
        assert!(String::from_utf8(one)
            .unwrap()
            .contains("RTP/AVP 8 101\r\n"));
        let both = relay_offer(relay(), O, None);
        assert!(String::from_utf8(both)
            .unwrap()
            .contains("RTP/AVP 0 8 101\r\n"));
    }
}
