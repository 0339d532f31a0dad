//! The `record` node's shape and rules (issue 5: "record a message
//! (voicemail to the data dir)"). The node plays its prompts and a beep,
//! records the caller to `<data_dir>/voicemail/<contact>-<unix_ms>.wav`
//! until `max_s`, `silence_s` without voice or the `terminator` key (one
//! DTMF key, RFC 4733 event), puts the file's path in variable `into` and
//! goes to `next`; a recording shorter than `min_s` is deleted and goes to
//! `on_empty`; a recording that cannot be made goes to `on_error` (both
//! default to `next`). Each rule reports at the offending value.

use super::check::is_dtmf;
use super::queue::TargetRule;
use super::raw::{single_char, Prompts, Sp};
use super::Diags;
use serde::Deserialize;

/// Defaults and bounds of the node's keys, in seconds.
pub const DEFAULT_RECORD_MAX_S: u32 = 120;
pub const MAX_RECORD_S: u32 = 3600;
pub const DEFAULT_SILENCE_S: u32 = 5;
pub const MAX_SILENCE_S: u32 = 60;
pub const DEFAULT_MIN_S: u32 = 1;
pub const DEFAULT_RECORD_INTO: &str = "voicemail";
pub const DEFAULT_RECORD_TERMINATOR: char = '#';
/// The tone played before recording (`media/generate.sh` makes it).
pub const BEEP_PROMPT: &str = "beep";

/// The loaded `record` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordNode {
    /// Played before the beep (not interruptible).
    pub prompts: Vec<String>,
    pub beep: bool,
    pub max_s: u32,
    /// Seconds without voice that end the recording; 0: never.
    pub silence_s: u32,
    pub min_s: u32,
    pub terminator: Option<char>,
    /// The variable that gets the file's path.
    pub into: String,
    pub next: String,
    pub on_empty: String,
    pub on_error: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecord {
    pub prompts: Option<Prompts>,
    pub beep: Option<bool>,
    pub max_s: Option<Sp<u32>>,
    pub silence_s: Option<Sp<u32>>,
    pub min_s: Option<Sp<u32>>,
    pub terminator: Option<Sp<String>>,
    pub into: Option<Sp<String>>,
    pub next: Sp<String>,
    pub on_empty: Option<Sp<String>>,
    pub on_error: Option<Sp<String>>,
}

impl RawRecord {
    pub(super) fn into_node(self) -> RecordNode {
        let next = self.next.into_inner();
        let or_next = |t: Option<Sp<String>>| t.map_or_else(|| next.clone(), Sp::into_inner);
        RecordNode {
            prompts: self
                .prompts
                .map(|p| p.into_inner().into_iter().map(Sp::into_inner).collect())
                .unwrap_or_default(),
            beep: self.beep.unwrap_or(true),
            max_s: self.max_s.map_or(DEFAULT_RECORD_MAX_S, Sp::into_inner),
            silence_s: self.silence_s.map_or(DEFAULT_SILENCE_S, Sp::into_inner),
            min_s: self.min_s.map_or(DEFAULT_MIN_S, Sp::into_inner),
            terminator: match &self.terminator {
                None => Some(DEFAULT_RECORD_TERMINATOR),
                Some(t) => single_char(t.get_ref()),
            },
            into: self
                .into
                .map_or_else(|| DEFAULT_RECORD_INTO.to_owned(), Sp::into_inner),
            on_empty: or_next(self.on_empty),
            on_error: or_next(self.on_error),
            next,
        }
    }

    pub(super) fn targets(&self) -> Vec<&Sp<String>> {
        std::iter::once(&self.next)
            .chain(self.on_empty.as_ref())
            .chain(self.on_error.as_ref())
            .collect()
    }
}

fn bounded(v: &Option<Sp<u32>>, key: &str, lo: u32, hi: u32, d: &mut Diags<'_>) {
    if let Some(t) = v {
        if !(lo..=hi).contains(t.get_ref()) {
            d.at(
                t.span(),
                format!("`{key}` must be {lo}..={hi}, not {}", t.get_ref()),
            );
        }
    }
}

/// Rules of one record node; prompts, the variable name and the targets
/// are checked with the main pass's rules.
pub(super) fn check_record(
    r: &RawRecord,
    target: TargetRule<'_>,
    exists: &dyn Fn(&str) -> bool,
    d: &mut Diags<'_>,
) {
    bounded(&r.max_s, "max_s", 1, MAX_RECORD_S, d);
    bounded(&r.silence_s, "silence_s", 0, MAX_SILENCE_S, d);
    let max = r
        .max_s
        .as_ref()
        .map_or(DEFAULT_RECORD_MAX_S, |m| *m.get_ref());
    if let Some(min) = r.min_s.as_ref().filter(|m| *m.get_ref() >= max) {
        let msg = format!(
            "`min_s` must be less than `max_s` ({max}), not {}",
            min.get_ref()
        );
        d.at(min.span(), msg);
    }
    if let Some(t) = &r.terminator {
        let ok = t.get_ref().is_empty() || single_char(t.get_ref()).is_some_and(is_dtmf);
        if !ok {
            d.at(
                t.span(),
                "`terminator` must be one DTMF key (0-9 * # A-D) or \"\" for none",
            );
        }
    }
    if r.beep.unwrap_or(true) && !exists(BEEP_PROMPT) {
        d.at(
            r.next.span(),
            format!("a record node needs the prompt `{BEEP_PROMPT}` (run media/generate.sh) or beep = false"),
        );
    }
    target(&r.next, "next", d);
    for (t, key) in [(&r.on_empty, "on_empty"), (&r.on_error, "on_error")] {
        if let Some(t) = t {
            target(t, key, d);
        }
    }
}
