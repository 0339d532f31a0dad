//! What the IVR knows about a call when it starts (issue 5: flows branch on
//! the caller number, the DNIS and SIP headers): the SoftACD copies them from
//! the caller's INVITE into its INVITE to the IVR (RFC 3261 §20 extension
//! headers), and the IVR reads them back into a [`SessionInfo`].
//!
//! On the IVR leg: `X-SoftACD-Caller` (the caller's From user),
//! `X-SoftACD-Caller-Name` (its display name, when it has one),
//! `X-SoftACD-DNIS` (the dialled service number, the caller's Request-URI
//! user), and the caller's own `X-*` headers, at most [`MAX_HEADERS`] of
//! at most [`MAX_HEADER_BYTES`] (name + value) each. A caller's
//! `X-SoftACD-*` headers are never copied: those names are ours.

use crate::sip::{HeaderView, Headers, Request};

/// The caller's From user.
pub const HDR_CALLER: &str = "X-SoftACD-Caller";
/// The caller's From display name.
pub const HDR_CALLER_NAME: &str = "X-SoftACD-Caller-Name";
/// The dialled service number.
pub const HDR_DNIS: &str = "X-SoftACD-DNIS";
/// Most caller `X-*` headers passed to the IVR.
pub const MAX_HEADERS: usize = 16;
/// Largest caller `X-*` header passed (name plus value, in bytes).
pub const MAX_HEADER_BYTES: usize = 256;
/// Largest caller, name or DNIS kept (in bytes).
const MAX_FIELD_BYTES: usize = 128;

/// The call data a flow can branch on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionInfo {
    /// The caller's number or user (From user); empty when anonymous.
    pub caller: String,
    /// The caller's display name, when the From had one.
    pub caller_name: Option<String>,
    /// The dialled service number (DNIS).
    pub dnis: String,
    /// The caller's `X-*` headers, in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl SessionInfo {
    /// Reads the IVR leg's INVITE (as the SoftACD builds it).
    pub fn from_invite(req: &Request) -> SessionInfo {
        let field = |name| req.headers.get(name).map(|v| bounded(v.trim()));
        let from_user = || {
            req.from_hdr()
                .ok()
                .and_then(|f| f.uri.user)
                .map(|u| bounded(&u))
        };
        SessionInfo {
            caller: field(HDR_CALLER).or_else(from_user).unwrap_or_default(),
            caller_name: field(HDR_CALLER_NAME).filter(|n| !n.is_empty()),
            dnis: field(HDR_DNIS).unwrap_or_default(),
            headers: passthrough(&req.headers),
        }
    }

    /// The value of header `name` (case-insensitive), if the caller sent it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The caller INVITE's headers to add to the IVR leg's INVITE.
pub fn for_ivr_leg(caller_invite: &Request) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(3 + MAX_HEADERS);
    if let Ok(from) = caller_invite.from_hdr() {
        if let Some(user) = from.uri.user.as_deref() {
            out.push((HDR_CALLER.to_owned(), bounded(user)));
        }
        if let Some(name) = from.display.as_deref().map(|n| n.trim_matches('"')) {
            if !name.is_empty() {
                out.push((HDR_CALLER_NAME.to_owned(), bounded(name)));
            }
        }
    }
    if let Some(dnis) = caller_invite.uri.user.as_deref() {
        out.push((HDR_DNIS.to_owned(), bounded(dnis)));
    }
    out.extend(passthrough(&caller_invite.headers));
    out
}

/// The `X-*` headers other than ours, bounded in count and size; a header
/// too large is left out (never cut: a cut value could mislead a branch).
fn passthrough(headers: &Headers) -> Vec<(String, String)> {
    headers
        .0
        .iter()
        .filter(|(n, _)| is_x_header(n) && !is_ours(n))
        .filter(|(n, v)| n.len() + v.len() <= MAX_HEADER_BYTES)
        .take(MAX_HEADERS)
        .map(|(n, v)| (n.clone(), v.trim().to_owned()))
        .collect()
}

fn is_x_header(name: &str) -> bool {
    name.len() > 2 && name.as_bytes()[..2].eq_ignore_ascii_case(b"x-")
}

fn is_ours(name: &str) -> bool {
    name.get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("x-softacd-"))
}

/// At most [`MAX_FIELD_BYTES`], cut on a character boundary.
fn bounded(s: &str) -> String {
    let mut end = s.len().min(MAX_FIELD_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests;
