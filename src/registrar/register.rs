//! The REGISTER procedure (RFC 3261 §10.3): validate, check the domain
//! (step 3), authenticate (step 4), authorize the AOR (step 5), read the
//! contacts and their expiry (step 6, Expires handling of §10.2.1.1, 423 of
//! §10.3 step 7 note), update the bindings all-or-nothing (steps 7–8) and
//! answer 200 with every current contact.
//!
//! Decisions: a REGISTER whose CSeq is not above the stored one for the same
//! Call-ID fails with 500 and changes nothing (step 7 says the request
//! "fails", step 8 names 500). Too many contacts for one AOR gets 503 and
//! changes nothing. The authenticated user must equal the To user (else 403).

use super::bindings::{ContactUpdate, UpdateCtx, UpdateError};
use super::nonce::hmac_sha256;
use super::{AuthResult, RegisterEvent, RegisterOutcome, Registrar};
use crate::sip::{
    param, response_to, Contact, HeaderView, Method, Peer, Request, Response, Scheme,
};
use std::net::IpAddr;
use std::time::Instant;

/// Why a REGISTER was refused; each maps to one status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegisterError {
    #[error("register: bad request: {0}")]
    BadRequest(String),
    #[error("register: AOR scheme is not sip or sips")]
    UnsupportedScheme,
    #[error("register: domain {0} not served here")]
    NotFound(String),
    #[error("register: challenge (stale={stale})")]
    Challenge { headers: Vec<String>, stale: bool },
    #[error("register: authentication failed for {0}")]
    AuthFailed(String),
    #[error("register: {user} may not register {to_user}")]
    NotOwner { user: String, to_user: String },
    #[error("register: expires {0}s is below Min-Expires {1}s")]
    IntervalTooBrief(u32, u32),
    #[error("register: {0}")]
    Update(#[from] UpdateError),
}

impl RegisterError {
    fn code(&self) -> u16 {
        match self {
            RegisterError::BadRequest(_) => 400,
            RegisterError::UnsupportedScheme => 416,
            RegisterError::NotFound(_) => 404,
            RegisterError::Challenge { .. } => 401,
            RegisterError::AuthFailed(_) | RegisterError::NotOwner { .. } => 403,
            RegisterError::IntervalTooBrief(..) => 423,
            RegisterError::Update(UpdateError::OutOfOrder { .. }) => 500,
            RegisterError::Update(UpdateError::TooManyBindings { .. }) => 503,
        }
    }
}

/// The request facts the procedure needs after validation.
struct Validated {
    user: String,
    aor: String,
    call_id: String,
    cseq: u32,
}

impl Registrar {
    /// Process one REGISTER. `now` is monotonic (nonces); `wall_ms` is unix
    /// time in ms (binding expiry). Expired bindings are dropped first, and
    /// their removal is part of `changes`.
    pub fn handle_register(
        &mut self,
        now: Instant,
        wall_ms: u64,
        req: &Request,
        source: Peer,
    ) -> RegisterOutcome {
        let mut changes = self.table.expire(wall_ms);
        let (response, event) = match self.register(now, wall_ms, req, source, &mut changes) {
            Ok(ok) => ok,
            Err(e) => (self.error_response(req, &e), event_of(e)),
        };
        RegisterOutcome {
            response,
            changes,
            event,
        }
    }

    fn register(
        &mut self,
        now: Instant,
        wall_ms: u64,
        req: &Request,
        source: Peer,
        changes: &mut Vec<super::BindingChange>,
    ) -> Result<(Response, RegisterEvent), RegisterError> {
        let v = self.validate(req)?;
        match self.check_auth(now, req) {
            AuthResult::Authenticated { user } if user == v.user => {}
            AuthResult::Authenticated { user } => {
                return Err(RegisterError::NotOwner {
                    user,
                    to_user: v.user,
                })
            }
            AuthResult::Challenge { headers, stale } => {
                return Err(RegisterError::Challenge { headers, stale })
            }
            AuthResult::Forbidden { claimed_user } => {
                return Err(RegisterError::AuthFailed(claimed_user))
            }
            AuthResult::BadRequest { why } => return Err(RegisterError::BadRequest(why)),
        }
        let contacts = req.contacts().map_err(|e| bad(&e.detail))?;
        let source = format!(
            "{}:{}",
            source.transport.via_token().to_ascii_lowercase(),
            source.addr
        );
        let ctx = UpdateCtx {
            user: &v.user,
            aor: &v.aor,
            call_id: &v.call_id,
            cseq: v.cseq,
            source: &source,
            user_agent: req.headers.get("User-Agent"),
            wall_ms,
        };
        let event = if contacts.is_empty() {
            RegisterEvent::Queried {
                user: v.user.clone(),
            }
        } else {
            changes.extend(self.apply_contacts(req, &ctx, &contacts)?);
            self.registered_event(&v)
        };
        Ok((self.ok_response(req, &v.aor, wall_ms), event))
    }

    /// Headers every REGISTER needs, the AOR, and the domain rule.
    fn validate(&self, req: &Request) -> Result<Validated, RegisterError> {
        if req.method != Method::Register {
            return Err(bad("not a REGISTER"));
        }
        let to = req.to_hdr().map_err(|e| bad(&e.detail))?;
        let call_id = req.call_id().ok_or_else(|| bad("missing Call-ID"))?;
        let cseq = req.cseq().map_err(|e| bad(&e.detail))?;
        if cseq.method != Method::Register {
            return Err(bad("CSeq method is not REGISTER"));
        }
        if !matches!(to.uri.scheme, Scheme::Sip | Scheme::Sips) {
            return Err(RegisterError::UnsupportedScheme);
        }
        let user = to.uri.user.clone().filter(|u| !u.is_empty());
        let user = user.ok_or_else(|| RegisterError::NotFound(to.uri.host.clone()))?;
        let aor = match &self.cfg.domain {
            None => to.uri.aor(),
            Some(domain) => {
                if !host_is_ours(&to.uri.host, domain, &req.uri.host) {
                    return Err(RegisterError::NotFound(to.uri.host.clone()));
                }
                let scheme = if to.uri.scheme == Scheme::Sips {
                    "sips"
                } else {
                    "sip"
                };
                format!("{scheme}:{user}@{}", domain.to_ascii_lowercase())
            }
        };
        Ok(Validated {
            user,
            aor,
            call_id: call_id.to_string(),
            cseq: cseq.seq,
        })
    }

    /// Step 6–8: `*` removes all; otherwise each contact with its expiry.
    fn apply_contacts(
        &mut self,
        req: &Request,
        ctx: &UpdateCtx<'_>,
        contacts: &[Contact],
    ) -> Result<Vec<super::BindingChange>, RegisterError> {
        let header_expires = req.expires().map_err(|e| bad(&e.detail))?;
        if contacts.contains(&Contact::Star) {
            if contacts.len() != 1 || header_expires != Some(0) {
                return Err(bad("Contact: * needs Expires: 0 and no other contact"));
            }
            return Ok(self.table.remove_all(ctx)?);
        }
        if contacts.len() > self.cfg.max_bindings_per_aor {
            return Err(UpdateError::TooManyBindings {
                max: self.cfg.max_bindings_per_aor,
            }
            .into());
        }
        let mut updates = Vec::with_capacity(contacts.len());
        for c in contacts {
            if let Contact::Addr(na) = c {
                updates.push(self.contact_update(na, header_expires)?);
            }
        }
        Ok(self.table.update(ctx, &updates)?)
    }

    /// The `expires` param wins over the Expires header, which wins over
    /// the default; non-zero values below min get 423, above max are cut.
    fn contact_update(
        &self,
        na: &crate::sip::NameAddr,
        header_expires: Option<u32>,
    ) -> Result<ContactUpdate, RegisterError> {
        let param_expires = match param(&na.params, "expires") {
            None => None,
            Some(v) => Some(parse_u32(v).ok_or_else(|| bad("bad expires parameter"))?),
        };
        let asked = param_expires
            .or(header_expires)
            .unwrap_or(self.cfg.default_expires);
        if asked != 0 && asked < self.cfg.min_expires {
            return Err(RegisterError::IntervalTooBrief(asked, self.cfg.min_expires));
        }
        let q = match param(&na.params, "q") {
            None => None,
            Some(v) => Some(parse_q(v).ok_or_else(|| bad("bad q parameter"))?),
        };
        Ok(ContactUpdate {
            contact: na.uri.to_string(),
            expires: asked.min(self.cfg.max_expires),
            q,
        })
    }

    fn registered_event(&self, v: &Validated) -> RegisterEvent {
        let contacts: Vec<String> = self
            .table
            .of_aor(&v.aor)
            .iter()
            .map(|b| b.contact.clone())
            .collect();
        if contacts.is_empty() {
            RegisterEvent::Unregistered {
                user: v.user.clone(),
            }
        } else {
            RegisterEvent::Registered {
                user: v.user.clone(),
                contacts,
            }
        }
    }

    /// 200 listing every binding of the AOR with its remaining time.
    fn ok_response(&self, req: &Request, aor: &str, wall_ms: u64) -> Response {
        let mut resp = response_to(req, 200, Some(&self.to_tag(req)));
        for b in self.table.of_aor(aor) {
            let mut v = format!("<{}>;expires={}", b.contact, b.remaining_secs(wall_ms));
            if let Some(q) = b.q {
                v.push_str(&format!(";q={q}"));
            }
            resp.headers.push("Contact", v);
        }
        resp
    }

    fn error_response(&self, req: &Request, e: &RegisterError) -> Response {
        let mut resp = response_to(req, e.code(), Some(&self.to_tag(req)));
        match e {
            RegisterError::Challenge { headers, .. } => {
                for h in headers {
                    resp.headers.push("WWW-Authenticate", h.clone());
                }
            }
            RegisterError::IntervalTooBrief(_, min) => {
                resp.headers.push("Min-Expires", min.to_string());
            }
            _ => {}
        }
        resp
    }

    /// A To tag stable for one Call-ID (retransmissions get the same one).
    fn to_tag(&self, req: &Request) -> String {
        let mac = hmac_sha256(&self.tag_key, req.call_id().unwrap_or("").as_bytes());
        super::digest::to_hex(&mac[..6])
    }
}

fn event_of(e: RegisterError) -> RegisterEvent {
    match e {
        RegisterError::Challenge { stale, .. } => RegisterEvent::Challenged { stale },
        RegisterError::AuthFailed(user) => RegisterEvent::AuthFailed { user },
        other => RegisterEvent::Rejected {
            code: other.code(),
            why: other.to_string(),
        },
    }
}

fn bad(why: &str) -> RegisterError {
    RegisterError::BadRequest(why.to_string())
}

fn parse_u32(v: Option<&str>) -> Option<u32> {
    let v = v?.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        v.parse::<u64>()
            .map_or(u32::MAX, |n| n.min(u64::from(u32::MAX)) as u32),
    )
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` (§25.1).
fn parse_q(v: Option<&str>) -> Option<f32> {
    let v = v?.trim();
    let ok = v.len() <= 5 && v.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let q: f32 = v.parse().ok().filter(|_| ok)?;
    (0.0..=1.0).contains(&q).then_some(q)
}

/// The domain rule of [`super::RegistrarConfig::domain`].
fn host_is_ours(host: &str, domain: &str, request_uri_host: &str) -> bool {
    if host.eq_ignore_ascii_case(domain) || host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || host.eq_ignore_ascii_case(request_uri_host),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_follow_the_grammar() {
        assert_eq!(parse_q(Some("0.5")), Some(0.5));
        assert_eq!(parse_q(Some("1")), Some(1.0));
        assert_eq!(parse_q(Some("1.5")), None);
        assert_eq!(parse_q(Some("-0")), None);
        assert_eq!(parse_q(Some("nan")), None);
        assert_eq!(parse_q(None), None);
    }

    #[test]
    fn host_rule() {
        assert!(host_is_ours("ACD.example", "acd.example", "acd.example"));
        assert!(host_is_ours("127.0.0.1", "acd.example", "x"));
        assert!(host_is_ours("[::1]", "acd.example", "x"));
        assert!(host_is_ours("10.0.0.5", "acd.example", "10.0.0.5"));
        assert!(!host_is_ours("10.0.0.6", "acd.example", "10.0.0.5"));
        assert!(!host_is_ours("evil.example", "acd.example", "evil.example"));
    }
}
