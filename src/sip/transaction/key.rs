//! Transaction matching keys (RFC 3261 §17.1.3 for responses to client
//! transactions, §17.2.3 for requests to server transactions, §9.2 for the
//! INVITE a CANCEL targets). An RFC 3261 key is (role, branch, sent-by,
//! method) with ACK mapped to INVITE; requests without the z9hG4bK cookie get
//! a pre-3261 fallback key.

use super::error::TxError;
use crate::sip::{HeaderView, Method, Request, Response, Via, BRANCH_COOKIE};
use std::fmt;

/// Which side of the transaction we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Client,
    Server,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Id {
    /// §17.2.3 first rule: branch and sent-by of the top Via.
    Branch { branch: String, sent_by: String },
    /// Pre-3261 peers (§17.2.3 second rule), simplified: Call-ID, CSeq
    /// number, From tag and the top Via. Request-URI and To tag are not
    /// compared, so the ACK for a non-2xx still finds its INVITE.
    Legacy {
        call_id: String,
        cseq: u32,
        from_tag: String,
        via: String,
    },
}

/// Identifies one transaction. Client and server keys never collide, even
/// when a request loops back to us with our own branch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxKey {
    role: Role,
    method: Method,
    id: Id,
}

fn bad(place: &'static str, header: &'static str, e: impl fmt::Display) -> TxError {
    TxError::BadHeader {
        place,
        header,
        detail: e.to_string(),
    }
}

fn sent_by(via: &Via) -> String {
    match via.port {
        Some(p) => format!("{}:{p}", via.host.to_ascii_lowercase()),
        None => via.host.to_ascii_lowercase(),
    }
}

fn cookie_branch(via: &Via) -> Option<&str> {
    via.branch().filter(|b| b.starts_with(BRANCH_COOKIE))
}

impl TxKey {
    /// The server transaction key of a received request. ACK is keyed as the
    /// INVITE it acknowledges; CANCEL keeps its own method (§9.2).
    pub fn server(req: &Request) -> Result<TxKey, TxError> {
        const PLACE: &str = "server key";
        let via = req.top_via().map_err(|e| bad(PLACE, "Via", e))?;
        let method = match req.method {
            Method::Ack => Method::Invite,
            ref m => m.clone(),
        };
        let id = match cookie_branch(&via) {
            Some(b) => Id::Branch {
                branch: b.to_string(),
                sent_by: sent_by(&via),
            },
            None => Id::Legacy {
                call_id: req
                    .call_id()
                    .ok_or_else(|| bad(PLACE, "Call-ID", "missing"))?
                    .to_string(),
                cseq: req.cseq().map_err(|e| bad(PLACE, "CSeq", e))?.seq,
                from_tag: req
                    .from_hdr()
                    .map_err(|e| bad(PLACE, "From", e))?
                    .tag()
                    .unwrap_or_default()
                    .to_string(),
                via: format!("{}/{}", sent_by(&via), via.branch().unwrap_or_default()),
            },
        };
        Ok(TxKey {
            role: Role::Server,
            method,
            id,
        })
    }

    /// The client transaction key of a request we send. It must carry an
    /// RFC 3261 branch.
    pub fn client(req: &Request) -> Result<TxKey, TxError> {
        let via = req.top_via().map_err(|e| bad("client key", "Via", e))?;
        let branch = cookie_branch(&via).ok_or_else(|| TxError::MissingBranch {
            branch: via.branch().map(str::to_string),
        })?;
        Ok(TxKey {
            role: Role::Client,
            method: req.method.clone(),
            id: Id::Branch {
                branch: branch.to_string(),
                sent_by: sent_by(&via),
            },
        })
    }

    /// The client transaction a received response belongs to (§17.1.3):
    /// top Via branch and sent-by, and the CSeq method.
    pub fn for_response(resp: &Response) -> Result<TxKey, TxError> {
        const PLACE: &str = "response key";
        let via = resp.top_via().map_err(|e| bad(PLACE, "Via", e))?;
        let branch = cookie_branch(&via).ok_or_else(|| TxError::MissingBranch {
            branch: via.branch().map(str::to_string),
        })?;
        let cseq = resp.cseq().map_err(|e| bad(PLACE, "CSeq", e))?;
        Ok(TxKey {
            role: Role::Client,
            method: cseq.method,
            id: Id::Branch {
                branch: branch.to_string(),
                sent_by: sent_by(&via),
            },
        })
    }

    /// The same transaction identity under another method: the INVITE
    /// server transaction a CANCEL targets (§9.2).
    pub fn with_method(&self, method: Method) -> TxKey {
        TxKey {
            role: self.role,
            method,
            id: self.id.clone(),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The transaction's method (INVITE for an ACK-matched server key).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// True when the key follows RFC 3261 (magic-cookie branch).
    pub fn is_rfc3261(&self) -> bool {
        matches!(self.id, Id::Branch { .. })
    }
}

impl fmt::Display for TxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.role {
            Role::Client => "client",
            Role::Server => "server",
        };
        match &self.id {
            Id::Branch { branch, sent_by } => {
                write!(f, "{role} {} {branch}@{sent_by}", self.method)
            }
            Id::Legacy {
                call_id,
                cseq,
                from_tag,
                via,
            } => write!(
                f,
                "{role} {} legacy {call_id}/{cseq}/{from_tag}/{via}",
                self.method
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse_message, Message};

    fn req(raw: &str) -> Request {
        match parse_message(raw.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn resp(raw: &str) -> Response {
        match parse_message(raw.as_bytes()) {
            Ok(Message::Response(r)) => r,
            other => panic!("not a response: {other:?}"),
        }
    }

    const HDRS: &str = "From: <sip:a@h>;tag=f\r\nTo: <sip:b@h>\r\nCall-ID: c1\r\n";

    fn mk(method: &str, via: &str, cseq: &str) -> Request {
        req(&format!(
            "{method} sip:b@h SIP/2.0\r\nVia: {via}\r\n{HDRS}CSeq: {cseq}\r\n\r\n"
        ))
    }

    #[test]
    fn ack_matches_invite_server_key_and_cancel_does_not() {
        let via = "SIP/2.0/UDP Host.example:5060;branch=z9hG4bK77";
        let inv = TxKey::server(&mk("INVITE", via, "1 INVITE")).expect("invite");
        let ack = TxKey::server(&mk("ACK", via, "1 ACK")).expect("ack");
        let cancel = TxKey::server(&mk("CANCEL", via, "1 CANCEL")).expect("cancel");
        assert_eq!(inv, ack);
        assert_ne!(inv, cancel);
        assert_eq!(cancel.with_method(Method::Invite), inv);
        assert!(inv.is_rfc3261());
    }

    #[test]
    fn sent_by_host_is_case_insensitive_but_port_counts() {
        let a = mk("BYE", "SIP/2.0/UDP HOST:5060;branch=z9hG4bK1", "2 BYE");
        let b = mk("BYE", "SIP/2.0/UDP host:5060;branch=z9hG4bK1", "2 BYE");
        let c = mk("BYE", "SIP/2.0/UDP host:5070;branch=z9hG4bK1", "2 BYE");
        let ka = TxKey::server(&a).expect("a");
        assert_eq!(ka, TxKey::server(&b).expect("b"));
        assert_ne!(ka, TxKey::server(&c).expect("c"));
    }

    #[test]
    fn client_and_server_keys_never_collide() {
        let r = mk("OPTIONS", "SIP/2.0/UDP h;branch=z9hG4bK9", "1 OPTIONS");
        assert_ne!(
            TxKey::client(&r).expect("client"),
            TxKey::server(&r).expect("server")
        );
    }

    #[test]
    fn response_matches_client_key_by_branch_and_cseq_method() {
        let r = mk("INVITE", "SIP/2.0/UDP h;branch=z9hG4bKx", "1 INVITE");
        let ok = resp(&format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n{HDRS}CSeq: 1 INVITE\r\n\r\n"
        ));
        let cancel_ok = resp(&format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n{HDRS}CSeq: 1 CANCEL\r\n\r\n"
        ));
        let k = TxKey::client(&r).expect("client");
        assert_eq!(TxKey::for_response(&ok).expect("resp"), k);
        assert_ne!(TxKey::for_response(&cancel_ok).expect("resp"), k);
    }

    #[test]
    fn client_key_requires_magic_cookie() {
        let r = mk("OPTIONS", "SIP/2.0/UDP h;branch=old1", "1 OPTIONS");
        assert_eq!(
            TxKey::client(&r),
            Err(TxError::MissingBranch {
                branch: Some("old1".into())
            })
        );
    }

    #[test]
    fn legacy_request_gets_a_fallback_key_that_ack_shares() {
        let inv = mk("INVITE", "SIP/2.0/UDP h:5060", "4 INVITE");
        let ack = mk("ACK", "SIP/2.0/UDP h:5060", "4 ACK");
        let k = TxKey::server(&inv).expect("legacy key");
        assert!(!k.is_rfc3261());
        assert_eq!(k, TxKey::server(&ack).expect("ack"));
        let other = mk("INVITE", "SIP/2.0/UDP h:5060", "5 INVITE");
        assert_ne!(k, TxKey::server(&other).expect("other"));
    }

    #[test]
    fn missing_via_is_an_error_not_a_panic() {
        let r = req("OPTIONS sip:b@h SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n");
        assert!(matches!(
            TxKey::server(&r),
            Err(TxError::BadHeader { header: "Via", .. })
        ));
    }
}
