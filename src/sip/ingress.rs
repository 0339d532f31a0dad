//! Ingress checks: what SoftACD does with the bytes of one datagram or one
//! framed stream message before any transaction sees them. Owns the rules
//! every parser misses (RFC 3261 §8.2 UAS request checks, §16.3 Max-Forwards,
//! §18.3 framing by Content-Length, §7.5 leading CRLFs, §18.1.2/§18.2.1 what
//! may be answered) and the RFC 4475 edge cases. Pure: no IO, no clock.
//!
//! Decisions (documented here because the RFCs leave them open):
//! - Responses and ACKs are never answered: anything wrong with one drops it.
//! - A request whose start line or some header line is broken is answered
//!   400 only when its Via, From, To, Call-ID and CSeq lines are all present
//!   (they are copied into the answer); otherwise it is dropped.
//! - A request that parses but lacks a mandatory header gets 400 naming it,
//!   even when that header is Via (the shell answers the source address).
//! - Max-Forwards is not mandatory: RFC 2543 peers omit it (RFC 4475 §3.4).
//!   When present it must be 0..=255 (§20.22).
//! - Max-Forwards 0 gets 483 (we are a B2BUA: a new leg would forward the
//!   request), except OPTIONS, which we answer as its destination (§16.3
//!   item 2; §11).
//! - Unknown methods get 501 with [`ALLOW`]; a CSeq method mismatch is
//!   checked first and gets 400 (RFC 4475 §3.1.2.18).
//! - The To tag of an ingress rejection is a hash of the request's Call-ID,
//!   From, top Via and CSeq, so a retransmission gets the same answer without
//!   any state or randomness (§8.2.6.2 only asks the tag be unique per UAS).
//! - Empty and all-CRLF datagrams are keep-alives (RFC 5626 §3.5.1).

use super::headers::{response_to, HeaderView};
use super::message::*;
use super::parse::{self, ParseErrorKind, RawMessage};
use thiserror::Error;

/// The methods SoftACD implements: the `Allow` header of 501 and OPTIONS 200.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE";
/// Option tags for the `Supported` header of an OPTIONS answer (§11.2). None
/// yet: each extension's owner adds its tag here when it lands.
pub const SUPPORTED: &str = "";
/// Body types we accept (§20.1), for the `Accept` header of an OPTIONS answer.
pub const ACCEPT: &str = "application/sdp";
/// Largest datagram we look at (the UDP payload limit, RFC 3261 §18.1.1).
pub const MAX_DATAGRAM: usize = 65_535;

/// The mandatory request headers (§8.1.1) and the single-value ones (§7.3.1:
/// may not appear twice).
const MANDATORY: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];
const SINGLE: [&str; 6] = [
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
];

/// What to do with received bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingress {
    /// A well-formed message, body cut to Content-Length.
    Accept(Message),
    /// A bad request: send this response back (stateless, §8.2).
    Reject(Response),
    /// Say nothing.
    Drop(DropReason),
}

/// Why bytes were dropped without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Empty or CRLF-only: a keep-alive ping (RFC 5626 §3.5.1).
    Keepalive,
    /// A datagram longer than [`MAX_DATAGRAM`].
    TooLarge(usize),
    /// A request we cannot answer (no header section, or too broken to copy
    /// Via/From/To/Call-ID/CSeq from).
    Unreadable(IngressError),
    /// A malformed response: never answered (§18.1.2).
    BadResponse(IngressError),
    /// A malformed ACK: never answered (§17.2.3).
    BadAck(IngressError),
}

impl DropReason {
    /// A short fixed word for metrics labels (bounded: never peer bytes).
    pub fn label(&self) -> &'static str {
        match self {
            DropReason::Keepalive => "keepalive",
            DropReason::TooLarge(_) => "too_large",
            DropReason::Unreadable(_) => "unreadable",
            DropReason::BadResponse(_) => "bad_response",
            DropReason::BadAck(_) => "bad_ack",
        }
    }
}

/// The ingress layer's error: what is wrong with a message, by place.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IngressError {
    #[error("Malformed message: {0}")]
    Unreadable(String),
    #[error("Bad start line: {0}")]
    StartLine(String),
    #[error("Bad header line: {0}")]
    HeaderLine(String),
    #[error("Missing {0}")]
    Missing(&'static str),
    #[error("Duplicate {0}")]
    Duplicate(&'static str),
    #[error("Bad {0}: {1}")]
    Malformed(&'static str, String),
    #[error("Content-Length larger than body")]
    ContentLengthTooLarge,
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
    #[error("Request-URI carries headers")]
    UriHeaders,
    #[error("SIP version not supported")]
    Version,
    #[error("Max-Forwards is 0")]
    TooManyHops,
    #[error("method not implemented")]
    NotImplemented,
    #[error("Request-URI scheme not supported")]
    UnsupportedScheme,
}

impl IngressError {
    /// The status code a request with this problem gets.
    pub fn status(&self) -> u16 {
        match self {
            IngressError::Version => 505,
            IngressError::TooManyHops => 483,
            IngressError::NotImplemented => 501,
            IngressError::UnsupportedScheme => 416,
            _ => 400,
        }
    }

    /// The reason phrase: names the problem, never echoes peer bytes.
    pub fn reason(&self) -> String {
        match self {
            IngressError::Unreadable(_) => "Malformed Message".into(),
            IngressError::StartLine(_) => "Bad Request-Line".into(),
            IngressError::HeaderLine(_) => "Bad Header Line".into(),
            IngressError::Missing(h) => format!("Missing {h}"),
            IngressError::Duplicate(h) => format!("Duplicate {h}"),
            IngressError::Malformed(h, _) => format!("Bad {h}"),
            IngressError::ContentLengthTooLarge => "Content-Length larger than body".into(),
            IngressError::CSeqMismatch => "CSeq Method Mismatch".into(),
            IngressError::UriHeaders => "Headers in Request-URI".into(),
            other => reason_phrase(other.status()).into(),
        }
    }
}

/// How the message reached us: the body rule differs (§18.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Datagram,
    Stream,
}

/// Check one UDP datagram.
pub fn check_datagram(buf: &[u8]) -> Ingress {
    if buf.len() > MAX_DATAGRAM {
        return Ingress::Drop(DropReason::TooLarge(buf.len()));
    }
    check(buf, Framing::Datagram)
}

/// Check one message cut from a TCP/TLS stream by [`super::framing`].
pub fn check_stream_message(buf: &[u8]) -> Ingress {
    check(buf, Framing::Stream)
}

fn check(buf: &[u8], framing: Framing) -> Ingress {
    if buf.iter().all(|b| *b == b'\r' || *b == b'\n') {
        return Ingress::Drop(DropReason::Keepalive);
    }
    let raw = match parse::split_message(buf) {
        Ok(raw) => raw,
        Err(e) => return Ingress::Drop(DropReason::Unreadable(IngressError::Unreadable(e.detail))),
    };
    if raw.start_line.starts_with("SIP/") {
        return match check_response(&raw, framing) {
            Ok((code, reason, body)) => Ingress::Accept(Message::Response(Response {
                code,
                reason,
                headers: raw.headers,
                body,
            })),
            Err(e) => Ingress::Drop(DropReason::BadResponse(e)),
        };
    }
    let method_token = raw.start_line.split(' ').next().unwrap_or_default();
    match check_request(&raw, framing) {
        Ok((method, uri, body)) => Ingress::Accept(Message::Request(Request {
            method,
            uri,
            headers: raw.headers,
            body,
        })),
        Err(e) if method_token == "ACK" => Ingress::Drop(DropReason::BadAck(e)),
        Err(e) => reject(raw.headers, method_token, e),
    }
}

/// Answer a bad request statelessly, or drop it when it is too broken.
fn reject(headers: Headers, method_token: &str, e: IngressError) -> Ingress {
    let syntax = matches!(
        e,
        IngressError::StartLine(_) | IngressError::HeaderLine(_) | IngressError::Version
    );
    if syntax && !MANDATORY.iter().all(|h| headers.has(h)) {
        return Ingress::Drop(DropReason::Unreadable(e));
    }
    let tag = stateless_tag(&headers);
    let req = Request {
        method: Method::from_token(method_token),
        uri: Uri::sip(None, "invalid", None),
        headers,
        body: Vec::new(),
    };
    let mut resp = response_to(&req, e.status(), Some(&tag));
    resp.reason = e.reason();
    if e == IngressError::NotImplemented {
        resp.headers.push("Allow", ALLOW);
    }
    Ingress::Reject(resp)
}

/// FNV-1a over the transaction-identifying headers, as a To tag.
fn stateless_tag(h: &Headers) -> String {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for name in ["Call-ID", "From", "Via", "CSeq"] {
        for b in h.get(name).unwrap_or_default().bytes().chain([0u8]) {
            x ^= u64::from(b);
            x = x.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("in{x:016x}")
}

type Checked = (Method, Uri, Vec<u8>);

fn check_request(raw: &RawMessage<'_>, framing: Framing) -> Result<Checked, IngressError> {
    if let Some(e) = &raw.bad_line {
        return Err(IngressError::HeaderLine(e.detail.clone()));
    }
    let (method, uri) = request_line(&raw.start_line)?;
    if matches!(uri.scheme, Scheme::Sip | Scheme::Sips) && uri.headers.is_some() {
        return Err(IngressError::UriHeaders);
    }
    let h = &raw.headers;
    check_headers(h)?;
    let cseq = h
        .cseq()
        .map_err(|e| IngressError::Malformed("CSeq", e.detail))?;
    if cseq.method != method {
        return Err(IngressError::CSeqMismatch);
    }
    let body = take_body(h, raw.body, framing)?;
    let hops = max_forwards(h)?;
    if hops == Some(0) && method != Method::Options {
        return Err(IngressError::TooManyHops);
    }
    if matches!(method, Method::Other(_)) {
        return Err(IngressError::NotImplemented);
    }
    if matches!(uri.scheme, Scheme::Other(_)) {
        return Err(IngressError::UnsupportedScheme);
    }
    Ok((method, uri, body))
}

fn request_line(line: &str) -> Result<(Method, Uri), IngressError> {
    match parse::parse_start_line(line, Headers::new(), Vec::new()) {
        Ok(Message::Request(r)) => Ok((r.method, r.uri)),
        Ok(Message::Response(_)) => Err(IngressError::StartLine("status line".into())),
        Err(e) if e.kind == ParseErrorKind::Version => Err(IngressError::Version),
        Err(e) => Err(IngressError::StartLine(e.detail)),
    }
}

/// Presence, uniqueness and syntax of the headers every request and
/// response needs (§8.1.1, §7.3.1, RFC 4475 §3.1.2).
fn check_headers(h: &Headers) -> Result<(), IngressError> {
    for name in MANDATORY {
        if h.get(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(IngressError::Missing(name));
        }
    }
    for name in SINGLE {
        if h.get_all(name).nth(1).is_some() {
            return Err(IngressError::Duplicate(name));
        }
    }
    let bad =
        |name: &'static str| move |e: parse::ParseError| IngressError::Malformed(name, e.detail);
    h.vias().map_err(bad("Via"))?;
    h.from_hdr().map_err(bad("From"))?;
    h.to_hdr().map_err(bad("To"))?;
    h.contacts().map_err(bad("Contact"))?;
    h.content_length().map_err(bad("Content-Length"))?;
    let call_id = h.get("Call-ID").unwrap_or_default();
    if call_id.contains(char::is_whitespace) {
        return Err(IngressError::Malformed("Call-ID", "LWS in Call-ID".into()));
    }
    if let Some(date) = h.get("Date") {
        // rfc1123-date always ends in GMT (§20.17).
        if !date.ends_with(" GMT") {
            return Err(IngressError::Malformed(
                "Date",
                "time zone is not GMT".into(),
            ));
        }
    }
    check_scalars(h)
}

/// Numeric headers a peer may overflow (RFC 4475 §3.1.2.4, §3.1.2.5).
fn check_scalars(h: &Headers) -> Result<(), IngressError> {
    if let Some(v) = h.get("Retry-After") {
        let secs = v.split([';', '(']).next().unwrap_or_default().trim();
        if !fits_u32(secs) {
            return Err(IngressError::Malformed("Retry-After", v.to_string()));
        }
    }
    for line in h.get_all("Warning") {
        for w in parse::split_list(line) {
            let code = w.split_whitespace().next().unwrap_or_default();
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IngressError::Malformed("Warning", code.to_string()));
            }
        }
    }
    Ok(())
}

fn fits_u32(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u32>().is_ok()
}

fn max_forwards(h: &Headers) -> Result<Option<u32>, IngressError> {
    match h.max_forwards() {
        Ok(Some(n)) if n > 255 => Err(IngressError::Malformed(
            "Max-Forwards",
            format!("{n} is above 255"),
        )),
        Ok(v) => Ok(v),
        Err(e) => Err(IngressError::Malformed("Max-Forwards", e.detail)),
    }
}

/// The body by Content-Length (§18.3, §20.14): on a datagram an absent
/// Content-Length means "the rest" and a shorter one truncates; on a stream
/// it is mandatory. Longer than the bytes we have is always an error.
fn take_body(h: &Headers, body: &[u8], framing: Framing) -> Result<Vec<u8>, IngressError> {
    let declared = h
        .content_length()
        .map_err(|e| IngressError::Malformed("Content-Length", e.detail))?;
    match declared {
        None if framing == Framing::Stream => Err(IngressError::Missing("Content-Length")),
        None => Ok(body.to_vec()),
        Some(n) => body
            .get(..n as usize)
            .map(<[u8]>::to_vec)
            .ok_or(IngressError::ContentLengthTooLarge),
    }
}

fn check_response(
    raw: &RawMessage<'_>,
    framing: Framing,
) -> Result<(u16, String, Vec<u8>), IngressError> {
    if let Some(e) = &raw.bad_line {
        return Err(IngressError::HeaderLine(e.detail.clone()));
    }
    let (code, reason) = match parse::parse_start_line(&raw.start_line, Headers::new(), Vec::new())
    {
        Ok(Message::Response(r)) => (r.code, r.reason),
        Ok(Message::Request(_)) => return Err(IngressError::StartLine("request".into())),
        Err(e) if e.kind == ParseErrorKind::Version => return Err(IngressError::Version),
        Err(e) => return Err(IngressError::StartLine(e.detail)),
    };
    check_headers(&raw.headers)?;
    raw.headers
        .cseq()
        .map_err(|e| IngressError::Malformed("CSeq", e.detail))?;
    let body = take_body(&raw.headers, raw.body, framing)?;
    Ok((code, reason, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK_HEADERS: &str = "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: c1@192.0.2.1\r\n";

    fn req(start: &str, cseq: &str, extra: &str, body: &str) -> Vec<u8> {
        format!("{start}\r\n{OK_HEADERS}CSeq: {cseq}\r\n{extra}\r\n{body}").into_bytes()
    }

    fn rejected(buf: &[u8]) -> Response {
        match check_datagram(buf) {
            Ingress::Reject(r) => r,
            other => panic!("expected Reject, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_good_invite_and_truncates_body_to_content_length() {
        let buf = req(
            "INVITE sip:bob@example.com SIP/2.0",
            "1 INVITE",
            "Content-Length: 3\r\n",
            "v=0\r\n",
        );
        let Ingress::Accept(Message::Request(r)) = check_datagram(&buf) else {
            panic!("not accepted")
        };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.body, b"v=0");
    }

    #[test]
    fn absent_content_length_on_udp_takes_the_rest() {
        let buf = req("INFO sip:bob@example.com SIP/2.0", "1 INFO", "", "hello");
        let Ingress::Accept(m) = check_datagram(&buf) else {
            panic!()
        };
        let Message::Request(r) = m else { panic!() };
        assert_eq!(r.body, b"hello");
    }

    #[test]
    fn stream_message_needs_content_length() {
        let buf = req("INFO sip:bob@example.com SIP/2.0", "1 INFO", "", "");
        let Ingress::Reject(r) = check_stream_message(&buf) else {
            panic!()
        };
        assert_eq!((r.code, r.reason.as_str()), (400, "Missing Content-Length"));
    }

    #[test]
    fn content_length_larger_than_body_is_400() {
        let buf = req(
            "INFO sip:bob@example.com SIP/2.0",
            "1 INFO",
            "Content-Length: 50\r\n",
            "abc",
        );
        let r = rejected(&buf);
        assert_eq!(
            (r.code, r.reason.as_str()),
            (400, "Content-Length larger than body")
        );
        assert_eq!(r.call_id(), Some("c1@192.0.2.1"));
        assert!(
            r.to_hdr().unwrap().tag().is_some(),
            "final answer carries a To tag"
        );
    }

    #[test]
    fn rejection_tag_is_stable_across_retransmissions() {
        let buf = req(
            "INFO sip:bob@example.com SIP/2.0",
            "1 INFO",
            "Content-Length: 50\r\n",
            "",
        );
        assert_eq!(rejected(&buf), rejected(&buf));
    }

    #[test]
    fn version_2_1_gets_505() {
        let buf = req("OPTIONS sip:bob@example.com SIP/2.1", "1 OPTIONS", "", "");
        assert_eq!(rejected(&buf).code, 505);
    }

    #[test]
    fn cseq_method_mismatch_and_malformed_cseq_are_400() {
        let buf = req("BYE sip:bob@example.com SIP/2.0", "1 INVITE", "", "");
        assert_eq!(rejected(&buf).reason, "CSeq Method Mismatch");
        let buf = req("BYE sip:bob@example.com SIP/2.0", "x BYE", "", "");
        assert_eq!(rejected(&buf).reason, "Bad CSeq");
    }

    #[test]
    fn each_missing_mandatory_header_is_named() {
        for name in MANDATORY {
            let text =
                format!("BYE sip:bob@example.com SIP/2.0\r\n{OK_HEADERS}CSeq: 1 BYE\r\n\r\n");
            let kept: String = text
                .split_inclusive("\r\n")
                .filter(|l| !l.starts_with(&format!("{name}:")))
                .collect();
            let r = rejected(kept.as_bytes());
            assert_eq!((r.code, r.reason.clone()), (400, format!("Missing {name}")));
        }
    }

    #[test]
    fn missing_max_forwards_is_accepted() {
        let text = format!("BYE sip:bob@example.com SIP/2.0\r\n{OK_HEADERS}CSeq: 1 BYE\r\n\r\n");
        assert!(matches!(
            check_datagram(text.as_bytes()),
            Ingress::Accept(_)
        ));
    }

    #[test]
    fn duplicate_single_value_headers_are_400() {
        for (name, line) in [
            ("Call-ID", "Call-ID: other\r\n"),
            ("CSeq", "CSeq: 2 BYE\r\n"),
            ("Max-Forwards", "Max-Forwards: 5\r\nMax-Forwards: 6\r\n"),
            ("Content-Length", "l: 0\r\nContent-Length: 0\r\n"),
            ("To", "t: <sip:carol@example.com>\r\n"),
        ] {
            let buf = req("BYE sip:bob@example.com SIP/2.0", "1 BYE", line, "");
            assert_eq!(rejected(&buf).reason, format!("Duplicate {name}"));
        }
    }

    #[test]
    fn max_forwards_zero_is_483_but_options_is_answered() {
        let text = |m: &str| {
            format!("{m} sip:bob@example.com SIP/2.0\r\n{OK_HEADERS}CSeq: 1 {m}\r\nMax-Forwards: 0\r\n\r\n")
        };
        assert_eq!(rejected(text("INVITE").as_bytes()).code, 483);
        assert!(matches!(
            check_datagram(text("OPTIONS").as_bytes()),
            Ingress::Accept(_)
        ));
        let over = req("BYE sip:b@h SIP/2.0", "1 BYE", "Max-Forwards: 256\r\n", "");
        assert_eq!(rejected(&over).reason, "Bad Max-Forwards");
    }

    #[test]
    fn unknown_method_gets_501_with_allow() {
        let buf = req("FROB sip:bob@example.com SIP/2.0", "1 FROB", "", "");
        let r = rejected(&buf);
        assert_eq!(r.code, 501);
        assert_eq!(r.headers.get("Allow"), Some(ALLOW));
    }

    #[test]
    fn unknown_request_uri_scheme_gets_416() {
        let buf = req("INVITE http://example.com/x SIP/2.0", "1 INVITE", "", "");
        assert_eq!(rejected(&buf).code, 416);
        let buf = req("INVITE tel:+15551234 SIP/2.0", "1 INVITE", "", "");
        assert!(matches!(check_datagram(&buf), Ingress::Accept(_)));
    }

    #[test]
    fn keepalives_and_oversize_are_dropped() {
        assert_eq!(check_datagram(b""), Ingress::Drop(DropReason::Keepalive));
        assert_eq!(
            check_datagram(b"\r\n\r\n"),
            Ingress::Drop(DropReason::Keepalive)
        );
        let big = vec![b'A'; MAX_DATAGRAM + 1];
        assert_eq!(
            check_datagram(&big),
            Ingress::Drop(DropReason::TooLarge(MAX_DATAGRAM + 1))
        );
    }

    #[test]
    fn bad_ack_and_bad_response_are_dropped_not_answered() {
        let ack = req("ACK sip:bob@example.com SIP/2.0", "1 INVITE", "", "");
        assert!(matches!(
            check_datagram(&ack),
            Ingress::Drop(DropReason::BadAck(_))
        ));
        let resp = format!("SIP/2.0 200 OK\r\n{OK_HEADERS}CSeq: x INVITE\r\n\r\n");
        assert!(matches!(
            check_datagram(resp.as_bytes()),
            Ingress::Drop(DropReason::BadResponse(_))
        ));
        let resp = format!(
            "SIP/2.0 180 Ringing\r\n{OK_HEADERS}CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        );
        assert!(matches!(
            check_datagram(resp.as_bytes()),
            Ingress::Accept(Message::Response(_))
        ));
    }

    #[test]
    fn broken_request_is_400_only_when_dialog_headers_can_be_copied() {
        let buf = req("INVITE  sip:bob@example.com SIP/2.0", "1 INVITE", "", "");
        assert_eq!(rejected(&buf).reason, "Bad Request-Line");
        let bare = b"INVITE  sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n";
        assert!(matches!(
            check_datagram(bare),
            Ingress::Drop(DropReason::Unreadable(_))
        ));
        assert!(matches!(
            check_datagram(b"garbage"),
            Ingress::Drop(DropReason::Unreadable(_))
        ));
    }

    #[test]
    fn reason_phrase_never_echoes_peer_bytes() {
        let buf = req("BYE sip:b@h SIP/2.0", "1 BYE", "Max-Forwards: evil\r\n", "");
        let r = rejected(&buf);
        assert_eq!(r.reason, "Bad Max-Forwards");
    }
}
