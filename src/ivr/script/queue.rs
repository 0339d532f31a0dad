//! Rule pass for the `queue` node's extensions (issue 5): required skill
//! levels (`name:level`, matched by the CTI as agent level ≥ level), the
//! IVR-side longest wait with its overflow target, and the callback-offer
//! key (one RFC 4733 DTMF event) with its target. Each rule reports at the
//! offending value's `file:line:col`.

use super::check::is_dtmf;
use super::raw::{single_char, RawQueue, Sp};
use super::Diags;
use crate::cti::Skill;

/// Longest `max_wait_s` a queue node may ask for (4 hours).
pub const MAX_QUEUE_WAIT_S: u32 = 14_400;

/// Shortest `announce_every_s` (announcements need time to play).
pub const MIN_ANNOUNCE_EVERY_S: u32 = 10;

/// A target rule (the node exists), supplied by the main rule pass.
pub(super) type TargetRule<'r> = &'r dyn Fn(&Sp<String>, &str, &mut Diags<'_>);

pub(super) fn check_queue(
    q: &RawQueue,
    target: TargetRule<'_>,
    exists: &dyn Fn(&str) -> bool,
    d: &mut Diags<'_>,
) {
    for skill in q.skills.iter().flatten() {
        if Skill::parse_with_level(skill.get_ref(), 1).is_none() {
            let msg = format!(
                "skill `{}` must be `name` or `name:level` with level 1..=255",
                skill.get_ref()
            );
            d.at(skill.span(), msg);
        }
    }
    paired(
        &q.max_wait_s,
        "max_wait_s",
        &q.on_overflow,
        "on_overflow",
        target,
        d,
    );
    if let Some(w) = &q.max_wait_s {
        if !(1..=MAX_QUEUE_WAIT_S).contains(w.get_ref()) {
            let msg = format!(
                "`max_wait_s` must be 1..={MAX_QUEUE_WAIT_S}, not {}",
                w.get_ref()
            );
            d.at(w.span(), msg);
        }
    }
    if let Some(e) = &q.announce_every_s {
        if !(MIN_ANNOUNCE_EVERY_S..=MAX_QUEUE_WAIT_S).contains(e.get_ref()) {
            let msg = format!(
                "`announce_every_s` must be {MIN_ANNOUNCE_EVERY_S}..={MAX_QUEUE_WAIT_S}, not {}",
                e.get_ref()
            );
            d.at(e.span(), msg);
        }
        use crate::ivr::session::{ESTIMATE_PROMPT, POSITION_PROMPT};
        let missing: Vec<String> = [POSITION_PROMPT, ESTIMATE_PROMPT, "minute", "minutes"]
            .into_iter()
            .filter(|p| !exists(p))
            .map(|p| format!("`{p}`"))
            .collect();
        if !missing.is_empty() {
            let msg = format!(
                "`announce_every_s` needs prompts that have no media file: {}",
                missing.join(", ")
            );
            d.at(e.span(), msg);
        }
    }
    paired(
        &q.callback_key,
        "callback_key",
        &q.on_callback,
        "on_callback",
        target,
        d,
    );
    if let Some(k) = &q.callback_key {
        if !single_char(k.get_ref()).is_some_and(is_dtmf) {
            d.at(
                k.span(),
                "`callback_key` must be one DTMF key (0-9 * # A-D)",
            );
        }
    }
}

/// `what` and its target `to` come together; the target must exist.
fn paired<T>(
    what: &Option<Sp<T>>,
    what_key: &str,
    to: &Option<Sp<String>>,
    to_key: &str,
    target: TargetRule<'_>,
    d: &mut Diags<'_>,
) {
    match (what, to) {
        (Some(_), Some(t)) => target(t, to_key, d),
        (Some(w), None) => d.at(w.span(), format!("`{what_key}` needs `{to_key}`")),
        (None, Some(t)) => d.at(t.span(), format!("`{to_key}` needs `{what_key}`")),
        (None, None) => {}
    }
}
