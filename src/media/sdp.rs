//! SDP for the audio leg: RFC 4566 parsing and RFC 3264 offer/answer.
//!
//! Parsing and writing go through the `sdp-types` crate (chosen over a
//! home-made parser: it took the real-world offers we tried, LF-only lines,
//! missing `s=` included, in ~3 µs, and never panicked on 200k mutated
//! inputs); its types stay inside this file. What the rest of SoftACD sees:
//! [`SdpOffer`] (what the peer offered or answered), [`Negotiated`] (the
//! codec, payload types and remote address we will use), [`build_answer`]
//! (RFC 3264 §6) and [`build_offer`] (our offer, e.g. in the 200 OK to an
//! INVITE without a body, RFC 3261 §13.2.1). [`SdpError::sip_status`] says
//! which response to send when an offer is refused (488, or 400 for junk).
//! The `_with` variants take our codec list (`[media] codecs`, issue 4):
//! the answer takes the offerer's first codec that is on our list, and the
//! telephone-event whose clock rate matches it (RFC 4733 §2.1: 8000 for
//! G.711 and G.722, 48000 for Opus); the plain ones use the G.711 pair.

use std::net::{IpAddr, SocketAddr};

use sdp_types::{Attribute, Connection, Media, Origin, RtpMap, Session, Time};
use thiserror::Error;

use super::Codec;

/// Largest SDP body we parse.
pub const MAX_SDP_LEN: usize = 16 * 1024;
/// Most m-lines we accept in one description.
pub const MAX_MEDIA_LINES: usize = 16;
/// Most payload types we read from the audio m-line.
pub const MAX_FORMATS: usize = 32;
/// The payload type we use for telephone-event in our own offers.
pub const DEFAULT_TELEPHONE_EVENT_PT: u8 = 101;
/// The packetization we send, in milliseconds.
pub const PTIME_MS: u32 = 20;

/// Packet times the IVR can send: whole multiples of its 20 ms media tick.
pub const SUPPORTED_PTIMES_MS: [u32; 3] = [20, 40, 60];

/// The packet time we send and answer for an offered `a=ptime` (RFC 4566
/// §6): the offered one when supported, else [`PTIME_MS`].
pub fn answer_ptime(offered: Option<u32>) -> u32 {
    offered
        .filter(|p| SUPPORTED_PTIMES_MS.contains(p))
        .unwrap_or(PTIME_MS)
}

/// Why an SDP body was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    #[error("sdp: body of {0} bytes exceeds {MAX_SDP_LEN}")]
    TooLarge(usize),
    #[error("sdp: {0}")]
    Syntax(String),
    #[error("sdp: more than {MAX_MEDIA_LINES} m-lines")]
    TooManyMedia,
    #[error("sdp: more than {MAX_FORMATS} payload types on the audio m-line")]
    TooManyFormats,
    #[error("sdp: payload type {0:?} on the audio m-line is not a number 0-127")]
    BadFormat(String),
    #[error("sdp: no active audio m-line")]
    NoAudio,
    #[error("sdp: audio transport {0:?} is not RTP/AVP")]
    UnsupportedTransport(String),
    #[error("sdp: no c= line for the audio stream")]
    NoConnection,
    #[error("sdp: connection address {0:?} is not a unicast IP address")]
    BadConnection(String),
    #[error("sdp: no common codec with the ones we accept")]
    NoCommonCodec,
}

impl SdpError {
    /// The SIP response for an INVITE whose offer failed this way: 400 for a
    /// body we could not read, 488 Not Acceptable Here for one we refuse.
    pub fn sip_status(&self) -> u16 {
        match self {
            SdpError::TooLarge(_)
            | SdpError::Syntax(_)
            | SdpError::BadFormat(_)
            | SdpError::NoConnection
            | SdpError::BadConnection(_) => 400,
            SdpError::TooManyMedia
            | SdpError::TooManyFormats
            | SdpError::NoAudio
            | SdpError::UnsupportedTransport(_)
            | SdpError::NoCommonCodec => 488,
        }
    }
}

/// Media direction attribute (RFC 3264 §5.1); `sendrecv` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answerer uses for this offered one (RFC 3264 §6.1).
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// One `a=rtpmap` of the audio m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMapEntry {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
}

/// The telephone-event format offered (RFC 4733 §7.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelephoneEventFormat {
    pub payload_type: u8,
    /// The `a=fmtp` event list, e.g. `0-15`, when given.
    pub events: Option<String>,
}

/// An m-line as offered, kept so the answer can mirror (and reject) it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MediaLine {
    media: String,
    proto: String,
    fmt: String,
}

/// What a peer's SDP says about its audio stream. Read from an offer, or
/// from the answer to our own offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpOffer {
    pub connection: IpAddr,
    pub audio_port: u16,
    /// Payload types in the offerer's order of preference.
    pub payload_types: Vec<u8>,
    pub rtpmaps: Vec<RtpMapEntry>,
    pub ptime: Option<u32>,
    pub direction: Direction,
    pub telephone_event: Option<TelephoneEventFormat>,
    /// Every telephone-event `(payload type, clock rate)` on the audio
    /// m-line's rtpmaps (one per clock rate, RFC 4733 §7.1.1).
    pub telephone_event_rates: Vec<(u8, u32)>,
    /// A video m-line with a non-zero port: a video call (mission step 1).
    pub has_video: bool,
    /// The audio m-line carries `a=rtcp-mux` (RFC 5761 §5.1.1).
    pub rtcp_mux: bool,
    media_lines: Vec<MediaLine>,
    audio_index: usize,
}

/// The outcome of offer/answer for the audio leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: Codec,
    /// The payload type for `codec` (the offerer's number).
    pub payload_type: u8,
    pub telephone_event_pt: Option<u8>,
    /// Where to send RTP.
    pub remote: SocketAddr,
    /// Packetization the peer asked to receive (20 ms if unsaid).
    pub ptime_ms: u32,
    /// Our direction for this stream.
    pub direction: Direction,
}

/// Our side of the session: the address and port we receive RTP on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMedia {
    pub address: IpAddr,
    pub port: u16,
    /// `o=` session id; keep it for the dialog's life.
    pub session_id: u64,
    /// `o=` version; increment it for each new description (re-INVITE).
    pub session_version: u64,
}

/// Parse a peer's SDP. Never panics; bounded by [`MAX_SDP_LEN`],
/// [`MAX_MEDIA_LINES`] and [`MAX_FORMATS`].
pub fn parse_offer(body: &[u8]) -> Result<SdpOffer, SdpError> {
    if body.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLarge(body.len()));
    }
    let session = Session::parse(body).map_err(|e| SdpError::Syntax(e.to_string()))?;
    if session.medias.len() > MAX_MEDIA_LINES {
        return Err(SdpError::TooManyMedia);
    }
    let audio_index = session
        .medias
        .iter()
        .position(|m| m.media == "audio" && m.port != 0)
        .ok_or(SdpError::NoAudio)?;
    let audio = &session.medias[audio_index];
    if !audio.proto.eq_ignore_ascii_case("RTP/AVP") {
        return Err(SdpError::UnsupportedTransport(audio.proto.clone()));
    }
    let connection = audio
        .connections
        .first()
        .or(session.connection.as_ref())
        .ok_or(SdpError::NoConnection)?;
    let rtpmaps = rtpmaps(audio);
    Ok(SdpOffer {
        connection: parse_address(&connection.connection_address)?,
        audio_port: audio.port,
        payload_types: payload_types(&audio.fmt)?,
        telephone_event: telephone_event(audio, &rtpmaps),
        telephone_event_rates: rtpmaps
            .iter()
            .filter(|r| r.encoding.eq_ignore_ascii_case("telephone-event"))
            .map(|r| (r.payload_type, r.clock_rate))
            .collect(),
        rtpmaps,
        ptime: audio
            .get_first_attribute_value("ptime")
            .flatten()
            .and_then(|v| v.trim().parse().ok()),
        direction: direction(audio)
            .or_else(|| session_direction(&session))
            .unwrap_or_default(),
        rtcp_mux: audio.attributes.iter().any(|a| a.attribute == "rtcp-mux"),
        has_video: session
            .medias
            .iter()
            .any(|m| m.media == "video" && m.port != 0),
        media_lines: session
            .medias
            .iter()
            .map(|m| MediaLine {
                media: m.media.clone(),
                proto: m.proto.clone(),
                fmt: m.fmt.clone(),
            })
            .collect(),
        audio_index,
    })
}

fn parse_address(text: &str) -> Result<IpAddr, SdpError> {
    let bad = || SdpError::BadConnection(text.to_string());
    let ip: IpAddr = text.trim().parse().map_err(|_| bad())?;
    if ip.is_multicast() {
        return Err(bad());
    }
    Ok(ip)
}

fn payload_types(fmt: &str) -> Result<Vec<u8>, SdpError> {
    let mut out = Vec::new();
    for tok in fmt.split_ascii_whitespace() {
        if out.len() == MAX_FORMATS {
            return Err(SdpError::TooManyFormats);
        }
        match tok.parse::<u8>() {
            Ok(pt) if pt <= 127 => out.push(pt),
            _ => return Err(SdpError::BadFormat(tok.to_string())),
        }
    }
    Ok(out)
}

/// The valid `a=rtpmap` lines; malformed ones are skipped (a payload type
/// without a usable rtpmap falls back to its static meaning).
fn rtpmaps(media: &Media) -> Vec<RtpMapEntry> {
    media
        .attributes_typed::<RtpMap>()
        .filter_map(Result::ok)
        .take(MAX_FORMATS)
        .map(|r| RtpMapEntry {
            payload_type: r.payload_type,
            encoding: r.encoding_name,
            clock_rate: r.clock_rate,
        })
        .collect()
}

fn telephone_event(media: &Media, rtpmaps: &[RtpMapEntry]) -> Option<TelephoneEventFormat> {
    let pt = rtpmaps
        .iter()
        .find(|r| r.encoding.eq_ignore_ascii_case("telephone-event") && r.clock_rate == 8000)?
        .payload_type;
    let prefix = format!("{pt} ");
    let events = media
        .attributes
        .iter()
        .filter(|a| a.attribute == "fmtp")
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| v.strip_prefix(&prefix))
        .map(|v| v.trim().to_string());
    Some(TelephoneEventFormat {
        payload_type: pt,
        events,
    })
}

fn direction(media: &Media) -> Option<Direction> {
    media
        .attributes
        .iter()
        .find_map(|a| Direction::from_attribute(&a.attribute))
}

fn session_direction(session: &Session) -> Option<Direction> {
    session
        .attributes
        .iter()
        .find_map(|a| Direction::from_attribute(&a.attribute))
}

impl SdpOffer {
    /// The codec a payload type stands for here: its rtpmap if given,
    /// else its static assignment (RFC 3551).
    fn codec_of(&self, pt: u8) -> Option<Codec> {
        match self.rtpmaps.iter().find(|r| r.payload_type == pt) {
            Some(r) => Codec::from_rtpmap(&r.encoding, r.clock_rate),
            None => Codec::from_static_payload_type(pt),
        }
    }

    /// Pick the first of PCMU/PCMA in the offerer's order, plus
    /// telephone-event if offered (and listed on the m-line).
    pub fn negotiate(&self) -> Result<Negotiated, SdpError> {
        self.negotiate_with(&Codec::ALL)
    }

    /// Pick the offerer's first codec that is in `ours` (RFC 3264 §6.1),
    /// plus the telephone-event at that codec's RTP clock rate if offered
    /// (and listed on the m-line).
    pub fn negotiate_with(&self, ours: &[Codec]) -> Result<Negotiated, SdpError> {
        let (payload_type, codec) = self
            .payload_types
            .iter()
            .find_map(|pt| {
                self.codec_of(*pt)
                    .filter(|c| ours.contains(c))
                    .map(|c| (*pt, c))
            })
            .ok_or(SdpError::NoCommonCodec)?;
        let telephone_event_pt = self
            .telephone_event_rates
            .iter()
            .find(|(pt, rate)| *rate == codec.clock_rate() && self.payload_types.contains(pt))
            .map(|(pt, _)| *pt);
        Ok(Negotiated {
            codec,
            payload_type,
            telephone_event_pt,
            remote: SocketAddr::new(self.connection, self.audio_port),
            ptime_ms: answer_ptime(self.ptime),
            direction: self.direction.answer(),
        })
    }
}

fn base_session(local: &LocalMedia) -> Session {
    let origin = Origin::with_ip_addr(local.session_id, local.session_version, local.address);
    let mut session = Session::new(origin, "-");
    session.origin.username = Some("softacd".to_string());
    session.connection = Some(Connection::from_ip_addr(local.address));
    session.times.push(Time::new(0, 0));
    session
}

/// Our audio m-line: `formats` as `(payload type, codec)`, then each
/// telephone-event `(payload type, clock rate)`.
fn audio_media(
    local: &LocalMedia,
    formats: &[(u8, Codec)],
    events: &[(u8, u32)],
    dir: Direction,
    ptime_ms: u32,
) -> Media {
    let mut fmt: Vec<String> = formats.iter().map(|(pt, _)| pt.to_string()).collect();
    fmt.extend(events.iter().map(|(pt, _)| pt.to_string()));
    let mut media = Media::new(
        sdp_types::MediaType::Audio,
        local.port,
        sdp_types::TransportProto::RtpAvp,
        fmt.join(" "),
    );
    for (pt, codec) in formats {
        media.add_attribute_with_value("rtpmap", format!("{pt} {}", codec.rtpmap()));
    }
    for (pt, rate) in events {
        media.add_attribute_with_value("rtpmap", format!("{pt} telephone-event/{rate}"));
        media.add_attribute_with_value("fmtp", format!("{pt} 0-15"));
    }
    media.add_attribute_with_value("ptime", ptime_ms);
    media.attributes.push(Attribute::new(dir.as_str()));
    media
}

fn write(session: &Session) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail with an I/O error.
    let _ = session.write(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Answer an offer (RFC 3264 §6): one m-line per offered m-line, the audio
/// one accepted with the negotiated codec and telephone-event, every other
/// m-line (video, a second audio, …) refused with port 0. An offer with no
/// common codec is an error; the caller answers 488.
pub fn build_answer(
    offer: &SdpOffer,
    local: &LocalMedia,
) -> Result<(Negotiated, String), SdpError> {
    build_answer_with(offer, local, &Codec::ALL)
}

/// [`build_answer`] accepting the codecs in `ours` (RFC 3264 §6.1: the
/// answer keeps the offerer's payload type numbers).
pub fn build_answer_with(
    offer: &SdpOffer,
    local: &LocalMedia,
    ours: &[Codec],
) -> Result<(Negotiated, String), SdpError> {
    let neg = offer.negotiate_with(ours)?;
    let mut session = base_session(local);
    for (i, line) in offer.media_lines.iter().enumerate() {
        if i == offer.audio_index {
            let codec = [(neg.payload_type, neg.codec)];
            let events: Vec<(u8, u32)> = neg
                .telephone_event_pt
                .map(|pt| (pt, neg.codec.clock_rate()))
                .into_iter()
                .collect();
            let mut audio = audio_media(local, &codec, &events, neg.direction, neg.ptime_ms);
            if offer.rtcp_mux {
                // RFC 5761 §5.1.1: accept multiplexing by echoing it.
                audio.attributes.push(Attribute::new("rtcp-mux"));
            }
            session.medias.push(audio);
        } else {
            session.medias.push(rejected(line));
        }
    }
    Ok((neg, write(&session)))
}

fn rejected(line: &MediaLine) -> Media {
    Media {
        media: line.media.clone(),
        port: 0,
        num_ports: None,
        proto: line.proto.clone(),
        fmt: line.fmt.clone(),
        media_title: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    }
}

/// Our offer: PCMU, PCMA and telephone-event (payload type 101), 20 ms,
/// sendrecv. Used when an INVITE arrives without SDP (late offer: the offer
/// goes in our 2xx and the answer comes in the ACK, RFC 3261 §13.2.1) and
/// when we INVITE a leg ourselves.
pub fn build_offer(local: &LocalMedia) -> String {
    build_offer_with(local, &Codec::ALL)
}

/// The payload type of telephone-event at 48000 Hz in our offers (next to
/// Opus, RFC 7587 §3; RFC 4733 §2.1).
pub const WIDEBAND_TELEPHONE_EVENT_PT: u8 = 102;

/// Our offer of `codecs`, in that order of preference, with
/// telephone-event at 8000 Hz and, when Opus is offered, at 48000 Hz.
pub fn build_offer_with(local: &LocalMedia, codecs: &[Codec]) -> String {
    let formats: Vec<(u8, Codec)> = codecs.iter().map(|c| (c.payload_type(), *c)).collect();
    let mut events = vec![(DEFAULT_TELEPHONE_EVENT_PT, crate::media::SAMPLE_RATE)];
    if codecs.contains(&Codec::Opus) {
        events.push((WIDEBAND_TELEPHONE_EVENT_PT, Codec::Opus.clock_rate()));
    }
    let mut session = base_session(local);
    session.medias.push(audio_media(
        local,
        &formats,
        &events,
        Direction::SendRecv,
        PTIME_MS,
    ));
    write(&session)
}

#[cfg(test)]
mod tests;
