//! The `transfer` node's shape and rules (issue 5): send the caller to an
//! external SIP URI (RFC 3261 §19.1, `sip:` only; `${var}` placeholders
//! allowed after the scheme). `timeout_s` is the ring time; `on_error`
//! takes busy, no answer, any SIP failure and a URI the SoftACD refuses
//! (`[ivr] transfer_allow`). On success the call leaves the flow.

use super::raw::Sp;
use super::Diags;
use serde::Deserialize;

/// Default and largest ring time of a transfer node, in seconds.
pub const DEFAULT_TRANSFER_TIMEOUT_S: u32 = 30;
pub const MAX_TRANSFER_TIMEOUT_S: u32 = 300;
/// Longest `uri` template.
pub const MAX_TRANSFER_URI: usize = 512;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTransfer {
    pub uri: Sp<String>,
    pub timeout_s: Option<Sp<u32>>,
    pub on_error: Sp<String>,
}

/// Rules of one transfer node other than its target.
pub(super) fn check_transfer(t: &RawTransfer, d: &mut Diags<'_>) {
    if let Err(e) = check_sip_uri(t.uri.get_ref()) {
        d.at(t.uri.span(), e);
    }
    if let Some(s) = &t.timeout_s {
        if !(1..=MAX_TRANSFER_TIMEOUT_S).contains(s.get_ref()) {
            let msg = format!(
                "`timeout_s` must be 1..={MAX_TRANSFER_TIMEOUT_S}, not {}",
                s.get_ref()
            );
            d.at(s.span(), msg);
        }
    }
}

/// A `sip:user@host[:port]` template: the scheme `sip:`, no spaces or
/// control characters, closed `${...}`, something after the scheme.
pub fn check_sip_uri(uri: &str) -> Result<(), String> {
    let Some(rest) = uri.strip_prefix("sip:") else {
        let scheme = uri.split_once(':').map_or(uri, |(s, _)| s);
        return Err(format!(
            "`uri` must be a sip: URI (sips, tel and others are not supported), not `{scheme}:`"
        ));
    };
    if uri.len() > MAX_TRANSFER_URI {
        return Err(format!("`uri` is longer than {MAX_TRANSFER_URI}"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("`uri` must not contain spaces or control characters".to_owned());
    }
    let mut tail = rest;
    while let Some(at) = tail.find("${") {
        let Some(end) = tail[at..].find('}') else {
            return Err("`uri` has an unclosed `${`".to_owned());
        };
        tail = &tail[at + end + 1..];
    }
    let host = rest.rsplit('@').next().unwrap_or("");
    if host.is_empty() {
        return Err("`uri` needs a host (sip:user@host:port)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uris_and_templates_pass() {
        assert_eq!(check_sip_uri("sip:someone@127.0.0.1:5090"), Ok(()));
        assert_eq!(check_sip_uri("sip:${ext}@127.0.0.1"), Ok(()));
        assert_eq!(check_sip_uri("sip:127.0.0.1"), Ok(()));
    }

    #[test]
    fn other_schemes_and_broken_templates_fail() {
        let e = check_sip_uri("tel:+15551234").unwrap_err();
        assert!(e.contains("not `tel:`"), "{e}");
        assert!(check_sip_uri("sips:x@127.0.0.1").is_err());
        assert!(check_sip_uri("someone@127.0.0.1").is_err());
        assert!(check_sip_uri("sip:${ext@127.0.0.1").is_err());
        assert!(check_sip_uri("sip:a b@127.0.0.1").is_err());
        assert!(check_sip_uri("sip:x@").is_err());
    }
}
