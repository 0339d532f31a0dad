//! Building requests a user agent client sends outside an established
//! dialog (RFC 3261 §8.1.1: Request-URI, To, From, Call-ID, CSeq,
//! Max-Forwards, Via, Contact) and the CANCEL for a pending INVITE (§9.1).
//! Also owns [`IdGen`], the seeded source of branches (§8.1.1.7), tags
//! (§19.3) and Call-IDs (§8.1.1.4): the caller passes the seed in, so cores
//! stay free of global randomness and tests are reproducible.

use super::{HeaderView, Method, NameAddr, Request, TransportKind, Uri, Via, BRANCH_COOKIE};

/// Max-Forwards on every request we originate (§8.1.1.6).
pub const MAX_FORWARDS: u32 = 70;

/// Seeded generator of unique SIP identifiers (splitmix64 over a counter).
/// Give each user agent its own seed from the OS RNG in the shell; two
/// generators with different seeds never share a sequence prefix in
/// practice, and one generator never repeats within 2^64 draws.
#[derive(Debug, Clone)]
pub struct IdGen {
    state: u64,
}

impl IdGen {
    pub fn new(seed: u64) -> IdGen {
        IdGen { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh RFC 3261 branch: the magic cookie plus 16 hex digits.
    pub fn branch(&mut self) -> String {
        format!("{BRANCH_COOKIE}{:016x}", self.next())
    }

    /// A fresh From/To tag (§19.3: at least 32 bits of randomness).
    pub fn tag(&mut self) -> String {
        format!("{:016x}", self.next())
    }

    /// A fresh Call-ID `<hex>@host` (§8.1.1.4).
    pub fn call_id(&mut self, host: &str) -> String {
        format!("{:016x}{:08x}@{host}", self.next(), self.next() as u32)
    }
}

/// Where this user agent sends from: the Via sent-by and the Contact host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAddr {
    pub transport: TransportKind,
    pub host: String,
    pub port: u16,
}

impl LocalAddr {
    /// A new top Via for this address with a fresh branch and an empty
    /// `rport` (RFC 3581 §3).
    pub fn via(&self, ids: &mut IdGen) -> Via {
        Via {
            transport: self.transport.via_token().to_string(),
            host: self.host.clone(),
            port: Some(self.port),
            params: vec![
                ("branch".into(), Some(ids.branch())),
                ("rport".into(), None),
            ],
        }
    }

    /// A Contact URI for this address, `sip:user@host:port`, with a
    /// `transport` parameter for anything but UDP (§19.1.1).
    pub fn contact_uri(&self, user: Option<&str>) -> Uri {
        let mut uri = Uri::sip(user, &self.host, Some(self.port));
        if self.transport != TransportKind::Udp {
            let t = self.transport.via_token().to_ascii_lowercase();
            uri.params.push(("transport".into(), Some(t)));
        }
        uri
    }
}

/// A new request outside a dialog (§8.1.1), or the skeleton of one inside a
/// dialog (the dialog adds Route headers). `from` should carry our tag.
#[allow(clippy::too_many_arguments)]
pub fn new_request(
    method: Method,
    request_uri: Uri,
    from: NameAddr,
    to: NameAddr,
    call_id: &str,
    cseq: u32,
    local: &LocalAddr,
    contact: Option<&Uri>,
    ids: &mut IdGen,
) -> Request {
    let mut req = Request::new(method.clone(), request_uri);
    let h = &mut req.headers;
    h.push("Via", local.via(ids).to_string());
    h.push("Max-Forwards", MAX_FORWARDS.to_string());
    h.push("From", from.to_string());
    h.push("To", to.to_string());
    h.push("Call-ID", call_id);
    h.push("CSeq", format!("{cseq} {method}"));
    if let Some(c) = contact {
        h.push("Contact", format!("<{c}>"));
    }
    req
}

/// The CANCEL for a pending INVITE (§9.1): same Request-URI, Call-ID, From,
/// To, CSeq number and Route set, the INVITE's top Via only (so it reaches
/// the same server transaction), method CANCEL, no body.
pub fn cancel_for(invite: &Request) -> Request {
    let mut req = Request::new(Method::Cancel, invite.uri.clone());
    if let Some(via) = invite.headers.get("Via") {
        let top = super::parse::split_list(via)
            .into_iter()
            .next()
            .unwrap_or(via);
        req.headers.push("Via", top);
    }
    req.headers.push("Max-Forwards", MAX_FORWARDS.to_string());
    for name in ["From", "To", "Call-ID"] {
        if let Some(v) = invite.headers.get(name) {
            req.headers.push(name, v);
        }
    }
    if let Ok(cseq) = invite.cseq() {
        req.headers.push("CSeq", format!("{} CANCEL", cseq.seq));
    }
    for route in invite.headers.get_all("Route") {
        req.headers.push("Route", route);
    }
    req
}

/// Attach a body and its Content-Type (Content-Length is written from the
/// body on serialization).
pub fn with_body(mut req: Request, content_type: &str, body: Vec<u8>) -> Request {
    req.headers.set("Content-Type", content_type);
    req.body = body;
    req
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse_message, Message};

    fn local() -> LocalAddr {
        LocalAddr {
            transport: TransportKind::Udp,
            host: "192.0.2.1".into(),
            port: 5060,
        }
    }

    fn invite(ids: &mut IdGen) -> Request {
        let from = NameAddr::new(Uri::sip(Some("acd"), "acd.local", None)).with_tag("ft");
        let to = NameAddr::new(Uri::sip(Some("ivr"), "ivr.local", None));
        let contact = local().contact_uri(Some("acd"));
        new_request(
            Method::Invite,
            Uri::sip(Some("ivr"), "ivr.local", None),
            from,
            to,
            "cid@acd",
            7,
            &local(),
            Some(&contact),
            ids,
        )
    }

    fn reparse(req: &Request) -> Request {
        match parse_message(&req.to_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("did not reparse: {other:?}"),
        }
    }

    #[test]
    fn ids_are_unique_and_branches_carry_the_cookie() {
        let mut ids = IdGen::new(1);
        let a = ids.branch();
        let b = ids.branch();
        assert!(a.starts_with("z9hG4bK") && b.starts_with("z9hG4bK"));
        assert_ne!(a, b);
        assert_ne!(ids.tag(), ids.tag());
        assert!(ids.call_id("h.example").ends_with("@h.example"));
        assert_ne!(IdGen::new(1).tag(), IdGen::new(2).tag());
        assert_eq!(IdGen::new(9).tag(), IdGen::new(9).tag());
    }

    #[test]
    fn new_request_has_the_mandatory_headers_and_reparses() {
        let mut ids = IdGen::new(3);
        let r = reparse(&invite(&mut ids));
        let via = r.top_via().expect("via");
        assert_eq!(via.transport, "UDP");
        assert_eq!((via.host.as_str(), via.port), ("192.0.2.1", Some(5060)));
        assert!(via.branch().is_some_and(|b| b.starts_with("z9hG4bK")));
        assert_eq!(via.rport(), Some(None));
        assert_eq!(r.max_forwards().expect("mf"), Some(70));
        assert_eq!(r.from_hdr().expect("from").tag(), Some("ft"));
        assert_eq!(r.to_hdr().expect("to").tag(), None);
        assert_eq!(r.call_id(), Some("cid@acd"));
        let cseq = r.cseq().expect("cseq");
        assert_eq!((cseq.seq, cseq.method), (7, Method::Invite));
        assert_eq!(r.contacts().expect("contact").len(), 1);
    }

    #[test]
    fn contact_uri_names_non_udp_transports() {
        let mut l = local();
        assert_eq!(l.contact_uri(None).param("transport"), None);
        l.transport = TransportKind::Tcp;
        assert_eq!(l.contact_uri(None).param("transport"), Some(Some("tcp")));
    }

    #[test]
    fn cancel_copies_invite_identity_and_only_the_top_via() {
        let mut ids = IdGen::new(4);
        let mut inv = invite(&mut ids);
        inv.headers
            .push("Via", "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKlow");
        inv.headers.push("Route", "<sip:p1.example;lr>");
        let inv = with_body(inv, "application/sdp", b"v=0\r\n".to_vec());
        let c = reparse(&cancel_for(&inv));
        assert_eq!(c.method, Method::Cancel);
        assert_eq!(c.uri, inv.uri);
        assert_eq!(c.vias().expect("vias"), vec![inv.top_via().expect("via")]);
        for h in ["From", "To", "Call-ID", "Route"] {
            assert_eq!(c.headers.get(h), inv.headers.get(h), "{h}");
        }
        let cseq = c.cseq().expect("cseq");
        assert_eq!((cseq.seq, cseq.method), (7, Method::Cancel));
        assert!(c.body.is_empty());
        assert!(!c.headers.has("Contact"));
    }

    #[test]
    fn with_body_sets_content_type_once() {
        let mut ids = IdGen::new(5);
        let r = with_body(invite(&mut ids), "application/sdp", b"x".to_vec());
        let r = with_body(r, "application/sdp", b"yz".to_vec());
        assert_eq!(r.headers.get_all("Content-Type").count(), 1);
        assert_eq!(reparse(&r).body, b"yz");
    }
}
