//! SIP message parsing (RFC 3261 §7, §25): bytes → [`Message`], and the value
//! parsers for the headers the core reads (URI §19.1, name-addr §20.10, Via
//! §20.42, CSeq §20.16). Parsing is strict about structure and lenient about
//! whitespace (§7.3.1: folded lines, any LWS around colons). Semantic checks
//! (Content-Length vs body, version, mandatory headers) are in `ingress.rs`.

use super::message::*;
use std::fmt;

/// What was wrong with the bytes, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The start line is not a request or status line.
    StartLine,
    /// The SIP version is not `SIP/2.0` (answered 505 when the rest parses).
    Version,
    /// A header line, or a header value we had to read, is malformed.
    Header,
    /// A URI is malformed.
    Uri,
    /// No blank line ends the header section.
    Incomplete,
    /// The bytes are not UTF-8 in the start line or headers.
    Encoding,
}

impl ParseError {
    pub fn new(kind: ParseErrorKind, detail: impl Into<String>) -> ParseError {
        ParseError {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(kind: ParseErrorKind, detail: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError::new(kind, detail))
}

/// Compact header forms (RFC 3261 §7.3.3, RFC 3515, RFC 3903, RFC 4028…),
/// and the canonical spelling of the long names the core reads, matched
/// case-insensitively (§7.3.1: field names are case-insensitive).
pub fn canonical_name(name: &str) -> String {
    const LONG: &[&str] = &[
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Max-Forwards",
        "Content-Length",
        "Content-Type",
        "Route",
        "Record-Route",
        "Expires",
        "Supported",
        "Require",
        "Date",
    ];
    let long = match name {
        "v" | "V" => "Via",
        "f" | "F" => "From",
        "t" | "T" => "To",
        "i" | "I" => "Call-ID",
        "m" | "M" => "Contact",
        "l" | "L" => "Content-Length",
        "c" | "C" => "Content-Type",
        "k" | "K" => "Supported",
        "e" | "E" => "Content-Encoding",
        "s" | "S" => "Subject",
        "o" | "O" => "Event",
        "r" | "R" => "Refer-To",
        "u" | "U" => "Allow-Events",
        "x" | "X" => "Session-Expires",
        _ => match LONG.iter().find(|l| l.eq_ignore_ascii_case(name)) {
            Some(l) => l,
            None => return name.to_string(),
        },
    };
    long.to_string()
}

/// Most header lines one message may carry; a peer cannot grow the list
/// past this (the bound on `Headers` for anything parsed off the wire).
pub const MAX_HEADER_LINES: usize = 512;

/// Find the end of the header section: the index just past the first empty
/// line (CRLFCRLF, or bare LFLF which we tolerate).
pub fn header_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// A message split into its parts but not yet interpreted: the start line,
/// the header lines that are well-formed, the first malformed header line
/// (if any) and the body bytes. `ingress` uses this to answer requests whose
/// start line or some header line is broken (RFC 3261 §8.2, RFC 4475 §3.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage<'a> {
    pub start_line: String,
    pub headers: Headers,
    pub bad_line: Option<ParseError>,
    pub body: &'a [u8],
}

/// Split bytes into start line, header lines and body (everything after the
/// empty line). Fails only when there is no header section at all.
pub fn split_message(buf: &[u8]) -> Result<RawMessage<'_>, ParseError> {
    // RFC 3261 §7.5: ignore CRLFs before the start line.
    let start = buf
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(buf.len());
    let buf = buf.get(start..).unwrap_or_default();
    let Some(end) = header_end(buf) else {
        return err(
            ParseErrorKind::Incomplete,
            "no empty line after the headers",
        );
    };
    let (head, body) = buf.split_at(end);
    let head = std::str::from_utf8(head)
        .map_err(|_| ParseError::new(ParseErrorKind::Encoding, "headers are not UTF-8"))?;
    let mut lines = unfold(head).into_iter();
    let start_line = lines.next().unwrap_or_default();
    let mut headers = Headers::new();
    let mut bad_line = None;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if headers.0.len() >= MAX_HEADER_LINES {
            bad_line.get_or_insert(ParseError::new(
                ParseErrorKind::Header,
                "too many header lines",
            ));
            break;
        }
        match split_header_line(&line) {
            Ok((name, value)) => headers.push(canonical_name(name), value),
            Err(e) => {
                bad_line.get_or_insert(e);
            }
        }
    }
    Ok(RawMessage {
        start_line,
        headers,
        bad_line,
        body,
    })
}

/// `field-name HCOLON field-value` (§7.3.1; LWS allowed before the colon).
fn split_header_line(line: &str) -> Result<(&str, &str), ParseError> {
    let Some(colon) = line.find(':') else {
        return err(
            ParseErrorKind::Header,
            format!("header line without colon: {}", clip(line, 40)),
        );
    };
    let name = line[..colon].trim();
    if name.is_empty() || !name.bytes().all(is_token_char) {
        return err(
            ParseErrorKind::Header,
            format!("bad header name: {}", clip(name, 40)),
        );
    }
    Ok((name, line[colon + 1..].trim()))
}

/// At most `max` bytes of `s`, cut on a char boundary (for error details).
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Parse one whole message. The body is everything after the header section
/// (for datagrams); `ingress` compares it with Content-Length.
pub fn parse_message(buf: &[u8]) -> Result<Message, ParseError> {
    let raw = split_message(buf)?;
    if let Some(e) = raw.bad_line {
        return Err(e);
    }
    parse_start_line(&raw.start_line, raw.headers, raw.body.to_vec())
}

/// Join folded lines (a line starting with SP/HT continues the previous one).
fn unfold(head: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in head.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if (line.starts_with(' ') || line.starts_with('\t')) && !out.is_empty() {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(line.trim_start());
            }
        } else {
            out.push(line.to_string());
        }
    }
    out
}

pub fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Interpret a start line (§7.1 Request-Line, §7.2 Status-Line) with the
/// headers and body already split off.
pub fn parse_start_line(
    line: &str,
    headers: Headers,
    body: Vec<u8>,
) -> Result<Message, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let mut parts = rest.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if version != "2.0" {
            return err(ParseErrorKind::Version, format!("SIP/{version:.10}"));
        }
        let code = parts.next().unwrap_or("");
        let code: u16 = match code.parse() {
            Ok(c) if (100..700).contains(&c) && code.len() == 3 => c,
            _ => {
                return err(
                    ParseErrorKind::StartLine,
                    format!("bad status code {code:.10}"),
                )
            }
        };
        let reason = parts.next().unwrap_or("").to_string();
        return Ok(Message::Response(Response {
            code,
            reason,
            headers,
            body,
        }));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version
    let parts: Vec<&str> = line.split(' ').collect();
    if parts.len() != 3 {
        return err(
            ParseErrorKind::StartLine,
            format!("bad request line: {line:.60}"),
        );
    }
    let (method, uri, version) = (parts[0], parts[1], parts[2]);
    if method.is_empty() || !method.bytes().all(is_token_char) {
        return err(
            ParseErrorKind::StartLine,
            format!("bad method {method:.20}"),
        );
    }
    let uri = parse_uri(uri)?;
    let Some(v) = version.strip_prefix("SIP/") else {
        return err(
            ParseErrorKind::StartLine,
            format!("bad version {version:.20}"),
        );
    };
    if v != "2.0" {
        return err(ParseErrorKind::Version, format!("SIP/{v:.10}"));
    }
    Ok(Message::Request(Request {
        method: Method::from_token(method),
        uri,
        headers,
        body,
    }))
}

/// Split `s` on `sep` outside double quotes and angle brackets.
fn split_outside(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Split a header value holding a comma-separated list (Via, Contact, Route…).
pub fn split_list(s: &str) -> Vec<&str> {
    split_outside(s, ',')
        .into_iter()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// Parse `;a=b;c` into parameters (input starts after the first `;` or is empty).
pub fn parse_params(s: &str) -> Result<Params, ParseError> {
    let mut out = Vec::new();
    if s.trim().is_empty() {
        return Ok(out);
    }
    for p in split_outside(s, ';') {
        let p = p.trim();
        if p.is_empty() {
            return err(ParseErrorKind::Header, "empty parameter");
        }
        match p.split_once('=') {
            Some((n, v)) => {
                let (n, v) = (n.trim(), v.trim());
                if n.is_empty() || !n.bytes().all(is_token_char) {
                    return err(
                        ParseErrorKind::Header,
                        format!("bad parameter name {n:.20}"),
                    );
                }
                out.push((n.to_string(), Some(v.to_string())));
            }
            None => {
                if !p.bytes().all(is_token_char) {
                    return err(ParseErrorKind::Header, format!("bad parameter {p:.20}"));
                }
                out.push((p.to_string(), None));
            }
        }
    }
    Ok(out)
}

/// Split `host[:port]`, keeping IPv6 references in brackets (§19.1.1
/// `hostport`, RFC 5954 for the IPv6 reference).
pub fn parse_hostport(s: &str) -> Result<(String, Option<u16>), ParseError> {
    let bad = || ParseError::new(ParseErrorKind::Uri, format!("bad host {}", clip(s, 40)));
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']').ok_or_else(bad)?;
        let (host, rest) = s.split_at(close + 1);
        if !is_ipv6_reference(host) {
            return Err(bad());
        }
        match rest.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if rest.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    if !host.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(bad());
    }
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| bad())?)
        }
        Some(_) => return Err(bad()),
        None => None,
    };
    Ok((host.to_string(), port))
}

/// `"[" IPv6address "]"`: hex groups separated by colons, at most one `::`,
/// optionally ending in a dotted IPv4 address.
fn is_ipv6_reference(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return false;
    };
    inner.parse::<std::net::Ipv6Addr>().is_ok()
}

/// Parse a URI (RFC 3261 §19.1.1). sip/sips are split into parts; other
/// schemes are kept opaque.
pub fn parse_uri(s: &str) -> Result<Uri, ParseError> {
    let s = s.trim();
    let Some((scheme, rest)) = s.split_once(':') else {
        return err(ParseErrorKind::Uri, format!("no scheme in {s:.40}"));
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return err(ParseErrorKind::Uri, format!("bad scheme {scheme:.20}"));
    }
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "sip" => Scheme::Sip,
        "sips" => Scheme::Sips,
        "tel" => Scheme::Tel,
        other => Scheme::Other(other.to_string()),
    };
    if !matches!(scheme, Scheme::Sip | Scheme::Sips) {
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return err(ParseErrorKind::Uri, "bad opaque URI");
        }
        return Ok(Uri {
            scheme,
            user: None,
            password: None,
            host: String::new(),
            port: None,
            params: Vec::new(),
            headers: None,
            opaque: Some(rest.to_string()),
        });
    }
    if rest.contains(|c: char| c.is_whitespace() || c.is_control() || "<>\"".contains(c)) {
        return err(
            ParseErrorKind::Uri,
            format!("bad character in {}", clip(s, 40)),
        );
    }
    // userinfo ends at the last '@': the user part may hold ';', '?' and '/'
    // (§25.1 user-unreserved) but params and headers never hold a raw '@'.
    let (userinfo, hostpart) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (hostpart, headers) = match hostpart.split_once('?') {
        Some((h, q)) => (h, Some(q.to_string())),
        None => (hostpart, None),
    };
    let (user, password) = match userinfo {
        Some(ui) => {
            let (u, p) = match ui.split_once(':') {
                Some((u, p)) => (u, Some(p.to_string())),
                None => (ui, None),
            };
            if u.is_empty() || !valid_escapes(u) {
                return err(ParseErrorKind::Uri, "bad user part");
            }
            (Some(u.to_string()), p)
        }
        None => (None, None),
    };
    let (hostport, params) = match hostpart.split_once(';') {
        Some((h, p)) => (
            h,
            parse_params(p).map_err(|e| ParseError::new(ParseErrorKind::Uri, e.detail))?,
        ),
        None => (hostpart, Vec::new()),
    };
    let (host, port) = parse_hostport(hostport)?;
    Ok(Uri {
        scheme,
        user,
        password,
        host,
        port,
        params,
        headers,
        opaque: None,
    })
}

/// `%` in a URI user part must start an `escaped` (`%` HEXDIG HEXDIG).
fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, c)| {
        *c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Parse a name-addr or addr-spec with header parameters (From, To, Contact;
/// §20.10, §25.1). The display name is checked: a quoted-string whose
/// escapes pair up, or LWS-separated tokens. No LWS inside `<...>`.
pub fn parse_name_addr(s: &str) -> Result<NameAddr, ParseError> {
    let s = s.trim();
    if let Some(lt) = find_unquoted(s, '<') {
        let display = s[..lt].trim();
        let Some(gt_rel) = s[lt..].find('>') else {
            return err(ParseErrorKind::Header, "unclosed <");
        };
        let gt = lt + gt_rel;
        let inner = &s[lt + 1..gt];
        if inner.starts_with(char::is_whitespace) || inner.ends_with(char::is_whitespace) {
            return err(ParseErrorKind::Header, "LWS inside <>");
        }
        let uri = parse_uri(inner)?;
        let after = s[gt + 1..].trim();
        let params = match after.strip_prefix(';') {
            Some(p) => parse_params(p)?,
            None if after.is_empty() => Vec::new(),
            None => {
                return err(
                    ParseErrorKind::Header,
                    format!("junk after >: {}", clip(after, 20)),
                )
            }
        };
        check_display_name(display)?;
        return Ok(NameAddr {
            display: (!display.is_empty()).then(|| display.to_string()),
            uri,
            params,
        });
    }
    // addr-spec: parameters after the URI belong to the header (§20.10); a
    // URI holding ',', '?' or ';' must have been put in <> (§20).
    let (uri, params) = match s.split_once(';') {
        Some((u, p)) => (u.trim_end(), parse_params(p)?),
        None => (s, Vec::new()),
    };
    if uri.contains(['?', ',', '"']) {
        return err(
            ParseErrorKind::Header,
            format!("addr-spec needs <>: {}", clip(uri, 40)),
        );
    }
    Ok(NameAddr {
        display: None,
        uri: parse_uri(uri)?,
        params,
    })
}

/// `display-name = *(token LWS) / quoted-string` (§25.1).
fn check_display_name(d: &str) -> Result<(), ParseError> {
    if d.is_empty() {
        return Ok(());
    }
    if d.starts_with('"') {
        return match quoted_string_len(d) {
            Some(n) if n == d.len() => Ok(()),
            _ => err(ParseErrorKind::Header, "bad quoted display name"),
        };
    }
    if d.split_whitespace().all(|w| w.bytes().all(is_token_char)) {
        Ok(())
    } else {
        err(
            ParseErrorKind::Header,
            format!("display name is not tokens: {}", clip(d, 40)),
        )
    }
}

/// Length of the quoted-string at the start of `s` (quotes included), or
/// None if it is not closed. `\\` escapes any octet but CR/LF (§25.1).
pub fn quoted_string_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => {
                if matches!(b.get(i + 1), None | Some(b'\r') | Some(b'\n')) {
                    return None;
                }
                i += 2;
            }
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn find_unquoted(s: &str, needle: char) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == needle && !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Parse one Via value: `SIP/2.0/UDP host:port;params`.
pub fn parse_via(s: &str) -> Result<Via, ParseError> {
    let s = s.trim();
    let bad = |d: &str| ParseError::new(ParseErrorKind::Header, format!("bad Via ({d}): {s:.60}"));
    let mut parts = s.splitn(3, '/');
    let (name, version, rest) = (parts.next(), parts.next(), parts.next());
    let (Some(name), Some(version), Some(rest)) = (name, version, rest) else {
        return Err(bad("protocol"));
    };
    if !name.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
        return Err(bad("protocol"));
    }
    let rest = rest.trim_start();
    let split = rest
        .find(|c: char| c.is_whitespace())
        .ok_or_else(|| bad("sent-by"))?;
    let transport = rest[..split].trim().to_ascii_uppercase();
    if transport.is_empty() || !transport.bytes().all(is_token_char) {
        return Err(bad("transport"));
    }
    let sent = rest[split..].trim_start();
    let (hostport, params) = match sent.split_once(';') {
        Some((h, p)) => (h.trim(), parse_params(p)?),
        None => (sent.trim(), Vec::new()),
    };
    let (host, port) = parse_hostport(hostport).map_err(|_| bad("sent-by"))?;
    Ok(Via {
        transport,
        host,
        port,
        params,
    })
}

/// Parse CSeq: `1*DIGIT LWS Method`, the number below 2**31 (§8.1.1.5).
pub fn parse_cseq(s: &str) -> Result<CSeq, ParseError> {
    let mut it = s.split_whitespace();
    let (Some(n), Some(m), None) = (it.next(), it.next(), it.next()) else {
        return err(ParseErrorKind::Header, format!("bad CSeq: {s:.40}"));
    };
    let seq: u32 = match n.parse() {
        Ok(v) if v < (1u32 << 31) && n.bytes().all(|b| b.is_ascii_digit()) => v,
        _ => return err(ParseErrorKind::Header, format!("bad CSeq number: {n:.20}")),
    };
    if !m.bytes().all(is_token_char) {
        return err(ParseErrorKind::Header, format!("bad CSeq method: {m:.20}"));
    }
    Ok(CSeq {
        seq,
        method: Method::from_token(m),
    })
}

/// Parse a non-negative decimal header (Expires, Max-Forwards, Content-Length).
pub fn parse_u32(name: &str, s: &str) -> Result<u32, ParseError> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return err(ParseErrorKind::Header, format!("bad {name}: {s:.20}"));
    }
    // Values too large for u32 saturate (Expires may be huge, §20.19).
    Ok(s.parse::<u64>()
        .map(|v| v.min(u32::MAX as u64) as u32)
        .unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:100@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:100@127.0.0.1>\r\n\
From: \"Alice, A\" <sip:alice@127.0.0.1>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:alice@127.0.0.1:5070>\r\n\
Content-Type: application/sdp\r\n\
l: 4\r\n\
\r\n\
v=0\n";

    #[test]
    fn parses_invite_with_compact_headers() {
        let Message::Request(r) = parse_message(INVITE.as_bytes()).unwrap() else {
            panic!("not a request")
        };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri.user.as_deref(), Some("100"));
        assert_eq!(r.headers.get("contact"), Some("<sip:alice@127.0.0.1:5070>"));
        assert_eq!(r.headers.get("Content-Length"), Some("4"));
        assert_eq!(r.body, b"v=0\n");
        let from = parse_name_addr(r.headers.get("From").unwrap()).unwrap();
        assert_eq!(from.tag(), Some("1928301774"));
        assert_eq!(from.display.as_deref(), Some("\"Alice, A\""));
        let via = parse_via(r.headers.get("Via").unwrap()).unwrap();
        assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(via.rport(), Some(None));
        assert_eq!(via.port, Some(5070));
    }

    #[test]
    fn round_trips_through_to_bytes() {
        let m = parse_message(INVITE.as_bytes()).unwrap();
        let again = parse_message(&m.to_bytes()).unwrap();
        assert_eq!(m, again);
    }

    #[test]
    fn folded_header_is_joined() {
        let raw = "OPTIONS sip:x@h SIP/2.0\r\nSubject: one\r\n  two\r\n\r\n";
        let m = parse_message(raw.as_bytes()).unwrap();
        assert_eq!(m.headers().get("Subject"), Some("one two"));
    }

    #[test]
    fn version_error_is_classified() {
        let raw = "OPTIONS sip:x@h SIP/7.0\r\n\r\n";
        assert_eq!(
            parse_message(raw.as_bytes()).unwrap_err().kind,
            ParseErrorKind::Version
        );
    }

    #[test]
    fn split_list_respects_quotes_and_brackets() {
        let v = split_list("\"a,b\" <sip:x@h;p=1,2>, <sip:y@h>;q=0.5");
        assert_eq!(v, vec!["\"a,b\" <sip:x@h;p=1,2>", "<sip:y@h>;q=0.5"]);
    }

    #[test]
    fn uri_with_ipv6_and_params() {
        let u = parse_uri("sip:bob:pw@[2001:db8::1]:5061;transport=tcp?subject=x").unwrap();
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.param("transport"), Some(Some("tcp")));
        assert_eq!(u.headers.as_deref(), Some("subject=x"));
        assert_eq!(
            u.to_string(),
            "sip:bob:pw@[2001:db8::1]:5061;transport=tcp?subject=x"
        );
    }

    #[test]
    fn cseq_bounds() {
        assert!(parse_cseq("2147483648 INVITE").is_err());
        assert!(parse_cseq("1 INVITE x").is_err());
        assert_eq!(parse_cseq("7  BYE").unwrap().method, Method::Bye);
    }

    #[test]
    fn user_part_may_hold_question_mark_and_semicolon() {
        let u = parse_uri("sip:a?b;c/d@example.com;lr?h=v").unwrap();
        assert_eq!(u.user.as_deref(), Some("a?b;c/d"));
        assert_eq!(u.host, "example.com");
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(u.headers.as_deref(), Some("h=v"));
    }

    #[test]
    fn bad_ipv6_port_and_escape_are_rejected() {
        assert!(parse_uri("sip:[2001:db8::zz]").is_err());
        assert!(parse_uri("sip:[2001:db8::1]x").is_err());
        assert!(parse_uri("sip:host:99999").is_err());
        assert!(parse_uri("sip:host:").is_err());
        assert!(parse_uri("sip:a%4@host").is_err());
        assert!(parse_uri("sip:[::ffff:192.0.2.1]:5060").is_ok());
    }

    #[test]
    fn display_names_are_checked() {
        assert!(parse_name_addr(r#""a \"b\"" <sip:x@h>"#).is_ok());
        assert!(parse_name_addr(r#""unterminated <sip:x@h>"#).is_err());
        assert!(parse_name_addr("Bell, Alexander <sip:x@h>").is_err());
        assert!(parse_name_addr("A. Bell <sip:x@h>").is_ok());
        assert!(parse_name_addr("< sip:x@h >").is_err());
        assert!(parse_name_addr("sip:x@h?Route=y").is_err());
    }

    #[test]
    fn header_names_are_canonical_whatever_their_case() {
        let m = parse_message(b"BYE sip:a@h SIP/2.0\r\ncSeQ: 1 BYE\r\nCALL-id: x\r\n\r\n").unwrap();
        assert_eq!(m.headers().0[0].0, "CSeq");
        assert_eq!(m.headers().0[1].0, "Call-ID");
    }

    #[test]
    fn header_lines_are_bounded() {
        let mut raw = String::from("BYE sip:a@h SIP/2.0\r\n");
        for i in 0..MAX_HEADER_LINES + 5 {
            raw.push_str(&format!("X-{i}: y\r\n"));
        }
        raw.push_str("\r\n");
        let split = split_message(raw.as_bytes()).unwrap();
        assert_eq!(split.headers.0.len(), MAX_HEADER_LINES);
        assert!(split.bad_line.is_some());
    }
}
