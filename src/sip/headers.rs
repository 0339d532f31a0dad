//! Typed views over a message's headers (RFC 3261 §20): the accessors the
//! transaction layer, the registrar and the call model use. Each accessor
//! parses on demand and reports the header by name when it is malformed.

use super::message::*;
use super::parse::{self, ParseError, ParseErrorKind};

/// Read access to the typed headers of a request or response.
pub trait HeaderView {
    fn hdrs(&self) -> &Headers;

    fn call_id(&self) -> Option<&str> {
        self.hdrs().get("Call-ID").filter(|v| !v.is_empty())
    }

    fn cseq(&self) -> Result<CSeq, ParseError> {
        let v = self.hdrs().get("CSeq").ok_or_else(|| missing("CSeq"))?;
        parse::parse_cseq(v)
    }

    /// Every Via value, top first (headers split on commas).
    fn vias(&self) -> Result<Vec<Via>, ParseError> {
        let mut out = Vec::new();
        for line in self.hdrs().get_all("Via") {
            for v in parse::split_list(line) {
                out.push(parse::parse_via(v)?);
            }
        }
        Ok(out)
    }

    fn top_via(&self) -> Result<Via, ParseError> {
        let line = self.hdrs().get("Via").ok_or_else(|| missing("Via"))?;
        let first = parse::split_list(line)
            .into_iter()
            .next()
            .ok_or_else(|| missing("Via"))?;
        parse::parse_via(first)
    }

    // Named for the SIP From header, not a `from_*` constructor.
    #[allow(clippy::wrong_self_convention)]
    fn from_hdr(&self) -> Result<NameAddr, ParseError> {
        let v = self.hdrs().get("From").ok_or_else(|| missing("From"))?;
        parse::parse_name_addr(v)
    }

    fn to_hdr(&self) -> Result<NameAddr, ParseError> {
        let v = self.hdrs().get("To").ok_or_else(|| missing("To"))?;
        parse::parse_name_addr(v)
    }

    /// Every Contact value; `*` only as the sole value.
    fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        let mut out = Vec::new();
        for line in self.hdrs().get_all("Contact") {
            for v in parse::split_list(line) {
                if v == "*" {
                    out.push(Contact::Star);
                } else {
                    out.push(Contact::Addr(parse::parse_name_addr(v)?));
                }
            }
        }
        Ok(out)
    }

    /// The Expires header (delta-seconds), if present and well-formed.
    fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.hdrs()
            .get("Expires")
            .map(|v| parse::parse_u32("Expires", v))
            .transpose()
    }

    fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.hdrs()
            .get("Max-Forwards")
            .map(|v| parse::parse_u32("Max-Forwards", v))
            .transpose()
    }

    fn content_length(&self) -> Result<Option<u32>, ParseError> {
        self.hdrs()
            .get("Content-Length")
            .map(|v| parse::parse_u32("Content-Length", v))
            .transpose()
    }
}

fn missing(name: &str) -> ParseError {
    ParseError::new(ParseErrorKind::Header, format!("missing {name}"))
}

/// A bare header list has the same views (ingress checks headers before it
/// builds the request).
impl HeaderView for Headers {
    fn hdrs(&self) -> &Headers {
        self
    }
}

impl HeaderView for Request {
    fn hdrs(&self) -> &Headers {
        &self.headers
    }
}

impl HeaderView for Response {
    fn hdrs(&self) -> &Headers {
        &self.headers
    }
}

impl HeaderView for Message {
    fn hdrs(&self) -> &Headers {
        self.headers()
    }
}

/// Build a response to `req` as a UAS does (RFC 3261 §8.2.6): Via, From,
/// Call-ID, CSeq copied; To copied, with `to_tag` added when given and the
/// request's To had none.
pub fn response_to(req: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let mut resp = Response::new(code);
    for (n, v) in &req.headers.0 {
        if n.eq_ignore_ascii_case("Via")
            || n.eq_ignore_ascii_case("From")
            || n.eq_ignore_ascii_case("Call-ID")
            || n.eq_ignore_ascii_case("CSeq")
            || (n.eq_ignore_ascii_case("Record-Route") && (101..300).contains(&code))
        {
            resp.headers.push(n.clone(), v.clone());
        } else if n.eq_ignore_ascii_case("To") {
            let mut to = v.clone();
            if let Some(tag) = to_tag {
                let has_tag = parse::parse_name_addr(v)
                    .map(|na| na.tag().is_some())
                    .unwrap_or(true);
                if !has_tag && code != 100 {
                    to.push_str(";tag=");
                    to.push_str(tag);
                }
            }
            resp.headers.push("To", to);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(raw: &str) -> Request {
        match parse::parse_message(raw.as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => panic!("expected a request"),
        }
    }

    #[test]
    fn vias_split_across_lines_and_commas() {
        let r = req("BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP a:1;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2\r\nv: SIP/2.0/UDP c;branch=z9hG4bK3\r\n\r\n");
        let v = r.vias().unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].transport, "TCP");
        assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bK1"));
    }

    #[test]
    fn star_contact_and_expires() {
        let r = req("REGISTER sip:h SIP/2.0\r\nContact: *\r\nExpires: 0\r\n\r\n");
        assert_eq!(r.contacts().unwrap(), vec![Contact::Star]);
        assert_eq!(r.expires().unwrap(), Some(0));
    }

    #[test]
    fn response_copies_dialog_headers_and_adds_tag() {
        let r = req("OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nSubject: s\r\n\r\n");
        let resp = response_to(&r, 200, Some("srv"));
        assert_eq!(resp.to_hdr().unwrap().tag(), Some("srv"));
        assert_eq!(resp.call_id(), Some("c"));
        assert!(!resp.headers.has("Subject"));
    }
}
