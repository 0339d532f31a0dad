//! SIP INFO DTMF at the IVR: an INFO (RFC 6086 §4.2, in the call's
//! dialog) whose body is `application/dtmf-relay` (`Signal=5` and
//! `Duration=160` lines, the de-facto format of SIP gateways) or
//! `application/dtmf` (the key alone) puts the key into the call's digit
//! stream, the same one RFC 4733 and in-band digits feed, so barge-in and
//! menus work alike. Answers: 200 (also for an INFO without a body, a
//! keep-alive), 400 for a body that names no key, 415 with `Accept` for
//! another type (or when `[media] dtmf` has no "info"), 481 outside any
//! call's dialog.

use super::error::MsError;
use super::{AppEvent, MediaServer, SessionFactory};
use crate::sip::transaction::TxKey;
use crate::sip::{response_to, Request};
use std::time::Instant;

/// What the IVR takes in INFO bodies, for `Accept` on a 415.
pub const ACCEPT_INFO: &str = "application/dtmf-relay, application/dtmf";

/// Longest DTMF INFO body we read; longer is a bad body.
const MAX_BODY: usize = 256;

impl<F: SessionFactory> MediaServer<F> {
    pub(super) fn on_info(&mut self, now: Instant, key: &TxKey, req: &Request) {
        let Some(call) = self.call_of(req) else {
            return self.respond(now, key, response_to(req, 481, None));
        };
        let checked = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.dialog.as_mut().map(|d| d.check_incoming(req)));
        if let Some(Err(e)) = checked {
            return self.respond(now, key, response_to(req, e.sip_status(), None));
        }
        let content_type = req.headers.get("Content-Type");
        let digit = if self.cfg.info_dtmf || req.body.is_empty() {
            dtmf_of_info(content_type, &req.body)
        } else {
            Err(MsError::InfoOff)
        };
        match digit {
            Ok(found) => {
                self.respond(now, key, response_to(req, 200, None));
                if let Some(k) = found {
                    self.feed_session(now, call, AppEvent::Digit(k));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "ms: INFO refused");
                let mut resp = response_to(req, e.sip_status(), None);
                if e.sip_status() == 415 {
                    resp.headers.push("Accept", ACCEPT_INFO);
                }
                self.respond(now, key, resp);
            }
        }
    }
}

/// The key an INFO body carries: `None` for an empty body (no type
/// needed), else the key of a dtmf-relay or dtmf body.
pub fn dtmf_of_info(content_type: Option<&str>, body: &[u8]) -> Result<Option<char>, MsError> {
    if body.is_empty() {
        return Ok(None);
    }
    let media_type = content_type
        .and_then(|t| t.split(';').next())
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if media_type != "application/dtmf-relay" && media_type != "application/dtmf" {
        return Err(MsError::InfoType(media_type));
    }
    if body.len() > MAX_BODY {
        return Err(MsError::InfoBody(format!("{} bytes", body.len())));
    }
    let text = std::str::from_utf8(body).map_err(|_| MsError::InfoBody("not UTF-8".into()))?;
    let signal = if media_type == "application/dtmf" {
        text.trim()
    } else {
        relay_signal(text)?
    };
    key_of(signal)
        .map(Some)
        .ok_or_else(|| MsError::InfoBody(format!("signal {signal:?} is not a DTMF key")))
}

/// The value of the `Signal=` line; `Duration=`, if present, must be a
/// number of milliseconds.
fn relay_signal(text: &str) -> Result<&str, MsError> {
    let mut signal = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| MsError::InfoBody(format!("line {line:?} has no '='")))?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("signal") {
            signal = Some(value);
        } else if name.eq_ignore_ascii_case("duration") && value.parse::<u32>().is_err() {
            return Err(MsError::InfoBody(format!("Duration {value:?}")));
        }
    }
    signal.ok_or_else(|| MsError::InfoBody("no Signal line".into()))
}

/// A key as gateways write it: `0`-`9`, `*`, `#`, `A`-`D`, or the RFC
/// 4733 event numbers 10 (`*`) and 11 (`#`).
fn key_of(signal: &str) -> Option<char> {
    match signal {
        "10" => return Some('*'),
        "11" => return Some('#'),
        _ => {}
    }
    let mut chars = signal.chars();
    let c = chars.next()?.to_ascii_uppercase();
    let valid = c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D');
    (chars.next().is_none() && valid).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELAY: Option<&str> = Some("application/dtmf-relay");
    const PLAIN: Option<&str> = Some("application/dtmf");

    #[test]
    fn dtmf_relay_bodies_give_their_signal() {
        assert_eq!(
            dtmf_of_info(RELAY, b"Signal=5\r\nDuration=160\r\n"),
            Ok(Some('5'))
        );
        assert_eq!(
            dtmf_of_info(RELAY, b"signal= #\nduration=250"),
            Ok(Some('#'))
        );
        assert_eq!(dtmf_of_info(RELAY, b"Signal=10\r\n"), Ok(Some('*')));
        assert_eq!(
            dtmf_of_info(Some("Application/DTMF-Relay; x=y"), b"Signal=d"),
            Ok(Some('D'))
        );
    }

    #[test]
    fn dtmf_bodies_are_the_key_alone() {
        assert_eq!(dtmf_of_info(PLAIN, b"5"), Ok(Some('5')));
        assert_eq!(dtmf_of_info(PLAIN, b" 11\r\n"), Ok(Some('#')));
        assert_eq!(dtmf_of_info(PLAIN, b"*"), Ok(Some('*')));
    }

    #[test]
    fn an_empty_info_is_a_keep_alive() {
        assert_eq!(dtmf_of_info(None, b""), Ok(None));
    }

    #[test]
    fn bad_bodies_are_400_and_other_types_415() {
        for (t, body) in [
            (RELAY, &b"Duration=160"[..]),
            (RELAY, b"Signal=55"),
            (RELAY, b"Signal=5\r\nDuration=long"),
            (RELAY, b"garbage"),
            (RELAY, b"Signal=\xff"),
            (PLAIN, b"E"),
            (PLAIN, b""),
        ] {
            let got = dtmf_of_info(t, body);
            if body.is_empty() {
                assert_eq!(got, Ok(None));
                continue;
            }
            assert_eq!(got.map_err(|e| e.sip_status()), Err(400), "{body:?}");
        }
        let long = vec![b'5'; 1000];
        assert_eq!(
            dtmf_of_info(PLAIN, &long).map_err(|e| e.sip_status()),
            Err(400)
        );
        for t in [Some("application/sdp"), Some("text/plain"), None] {
            let got = dtmf_of_info(t, b"Signal=5");
            assert_eq!(got.map_err(|e| e.sip_status()), Err(415), "{t:?}");
        }
    }
}
