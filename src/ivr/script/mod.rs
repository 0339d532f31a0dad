//! IVR scripts: the TOML flow format an admin edits without code (MISSION.md,
//! IP-IVR; issue 3's IVR bullet) and its strict loader. One flow per file;
//! `ivr-scripts/README.md` is the format reference.
//!
//! Loading runs three passes over the text, each reporting `file:line:col`:
//! 1. TOML syntax ([`toml::de::DeTable`] keeps every span);
//! 2. shape ([`raw`]): unknown keys, unknown node types, wrong types;
//! 3. rules ([`check`]): missing targets, DTMF keys, prompts, ranges,
//!    reachability and loops that never wait for input.

mod callback;
mod check;
mod cond;
mod http;
mod queue;
mod raw;
mod record;
mod transfer;

#[cfg(test)]
mod tests;

pub use callback::check_number_template;
pub use check::{is_dtmf, parse_at};
pub use cond::{parse_zone, Case, Hours, OpenState, Pattern, Test, Zone};
pub use http::{check_url, HttpMethod, HttpNode};
pub use record::{RecordNode, BEEP_PROMPT};
pub use transfer::{check_sip_uri, DEFAULT_TRANSFER_TIMEOUT_S, MAX_TRANSFER_TIMEOUT_S};

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Largest script file read, in bytes.
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;
/// Most nodes in one flow.
pub const MAX_NODES: usize = 1000;
/// Most prompts in one prompt list.
pub const MAX_PROMPTS: usize = 32;
/// Most script files in a scripts directory.
pub const MAX_SCRIPTS: usize = 256;
/// Largest menu `max_tries`.
pub const MAX_TRIES: u32 = 10;
/// Largest menu `timeout_ms`.
pub const MAX_TIMEOUT_MS: u32 = 60_000;

/// One loaded, validated flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub name: String,
    /// First 12 hex digits of the SHA-256 of the file bytes (for the CDR).
    pub version: String,
    pub start: String,
    pub nodes: BTreeMap<String, Node>,
    /// The flow's `[[test]]` cases, in file order.
    pub tests: Vec<FlowTest>,
}

/// One `[[test]]` case: the caller's keys and context in, the trace out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowTest {
    pub name: String,
    /// 1-based line of the case's `name`, for reports.
    pub line: usize,
    /// Space-separated key groups; `-` is a silent turn.
    pub keys: String,
    pub vars: BTreeMap<String, String>,
    pub caller: String,
    pub dnis: String,
    pub headers: BTreeMap<String, String>,
    /// `2026-12-25T10:00[Europe/Paris]`, or a UTC time without a zone.
    pub at: Option<String>,
    /// URL → canned JSON answer for http nodes; other URLs fail.
    pub http: BTreeMap<String, String>,
    /// Transfer nodes fail (busy) instead of being answered.
    pub transfer_fails: bool,
    pub expect: Vec<String>,
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Play prompts, then go to `next`; `interruptible` allows barge-in.
    Play {
        prompts: Vec<String>,
        interruptible: bool,
        next: String,
    },
    /// Play prompts and collect one DTMF digit.
    Menu {
        prompts: Vec<String>,
        timeout_ms: u32,
        max_tries: u32,
        invalid_prompts: Vec<String>,
        timeout_prompts: Vec<String>,
        on_fail: String,
        choices: BTreeMap<char, String>,
    },
    /// Ask the CTI for an agent and play hold music meanwhile.
    Queue {
        queue: String,
        skills: Vec<String>,
        priority: u8,
        hold_music: String,
        announce: Vec<String>,
        on_timeout: String,
        /// IVR-side longest wait; then the contact leaves the queue for `on_overflow`.
        max_wait_s: Option<u32>,
        on_overflow: Option<String>,
        /// A key that leaves the queue for `on_callback` (a callback offer).
        callback_key: Option<char>,
        on_callback: Option<String>,
        /// Every this many seconds, announce the caller's place in line.
        announce_every_s: Option<u32>,
    },
    /// Release the call.
    Hangup { cause: String },
    /// Play prompts and collect several digits into variable `into`.
    Collect {
        prompts: Vec<String>,
        min_digits: u32,
        max_digits: u32,
        terminator: Option<char>,
        timeout_ms: u32,
        inter_digit_ms: u32,
        pattern: Option<Pattern>,
        into: String,
        max_tries: u32,
        invalid_prompts: Vec<String>,
        on_fail: String,
        next: String,
    },
    /// Speak a variable or literal as digits, a number, money or a duration.
    Say {
        how: super::say::SayAs,
        /// A variable name, or a literal when `literal` is true.
        source: String,
        literal: bool,
        before: Vec<String>,
        after: Vec<String>,
        interruptible: bool,
        next: String,
    },
    /// Set variables (values may use `${name}`), then go to `next`.
    Set {
        vars: BTreeMap<String, String>,
        next: String,
    },
    /// The first case that holds chooses the target, else `default`.
    Branch { cases: Vec<Case>, default: String },
    /// Business hours: open, closed or holiday target.
    Hours {
        hours: Hours,
        open: String,
        closed: String,
        holiday: String,
    },
    /// Go to another node.
    Goto { next: String },
    /// Run the part of the flow starting at `call`; its `return` comes back to `next`.
    Subflow { call: String, next: String },
    /// Go back to the `next` of the latest `subflow`.
    Return,
    /// Ask an application server over HTTP; save response fields.
    Http(HttpNode),
    /// Send the caller to an external SIP URI (template); on failure go
    /// to `on_error`, on success the call leaves the flow.
    Transfer {
        uri: String,
        timeout_s: u32,
        on_error: String,
    },
    /// Record a voicemail after a beep; its path into a variable.
    Record(RecordNode),
    /// Register the number (template) as a callback keeping the caller's
    /// place in line; `next` when registered, `on_error` otherwise.
    Callback {
        number: String,
        next: String,
        on_error: String,
    },
}

impl Node {
    /// Every node this one can lead to, in a fixed order.
    pub fn targets(&self) -> Vec<&str> {
        match self {
            Node::Play { next, .. }
            | Node::Say { next, .. }
            | Node::Set { next, .. }
            | Node::Goto { next } => vec![next],
            Node::Subflow { call, next } => vec![call, next],
            Node::Return => Vec::new(),
            Node::Http(h) => vec![&h.next, &h.on_error],
            Node::Transfer { on_error, .. } => vec![on_error],
            Node::Callback { next, on_error, .. } => vec![next, on_error],
            Node::Record(r) => vec![&r.next, &r.on_empty, &r.on_error],
            Node::Menu {
                on_fail, choices, ..
            } => std::iter::once(on_fail.as_str())
                .chain(choices.values().map(String::as_str))
                .collect(),
            Node::Collect { on_fail, next, .. } => vec![on_fail, next],
            Node::Queue {
                on_timeout,
                on_overflow,
                on_callback,
                ..
            } => std::iter::once(on_timeout.as_str())
                .chain(on_overflow.as_deref())
                .chain(on_callback.as_deref())
                .collect(),
            Node::Hangup { .. } => Vec::new(),
            Node::Branch { cases, default } => cases
                .iter()
                .map(|c| c.goto.as_str())
                .chain(std::iter::once(default.as_str()))
                .collect(),
            Node::Hours {
                open,
                closed,
                holiday,
                ..
            } => vec![open, closed, holiday],
        }
    }
}

/// One problem in a script, at a 1-based line and column (`0:0` when the
/// problem concerns the file as a whole, e.g. it cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptDiagnostic {
    pub origin: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ScriptDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            let (o, l, c) = (&self.origin, self.line, self.col);
            write!(f, "{o}:{l}:{c}: {}", self.message)
        }
    }
}

/// Every problem found; `Display` prints one `file:line:col: message` per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.0))]
pub struct ScriptErrors(pub Vec<ScriptDiagnostic>);

fn lines(diags: &[ScriptDiagnostic]) -> String {
    let all: Vec<String> = diags.iter().map(ScriptDiagnostic::to_string).collect();
    all.join("\n")
}

/// Collects diagnostics for one text, turning byte spans into line:col.
pub(crate) struct Diags<'a> {
    text: &'a str,
    origin: &'a str,
    list: Vec<ScriptDiagnostic>,
}

impl<'a> Diags<'a> {
    fn new(text: &'a str, origin: &'a str) -> Self {
        Diags {
            text,
            origin,
            list: Vec::new(),
        }
    }

    /// Records `message` at the start of `span`.
    pub(crate) fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, col) = line_col(self.text, span.start);
        self.list.push(ScriptDiagnostic {
            origin: self.origin.to_owned(),
            line,
            col,
            message: message.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// 1-based line and column (in characters) of byte `offset`; clamped, never a panic.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or("");
    let line = 1 + before.bytes().filter(|b| *b == b'\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = 1 + before.get(line_start..).map_or(0, |s| s.chars().count());
    (line, col)
}

/// Parses and validates one flow; `origin` names the text in messages and
/// `prompt_exists` says whether a prompt name has a media file.
pub fn load_str(
    text: &str,
    origin: &str,
    prompt_exists: &dyn Fn(&str) -> bool,
) -> Result<Script, ScriptErrors> {
    load_named(text, origin, prompt_exists, None, None)
}

/// [`load_str`], also requiring `name` to equal `file_stem` when given.
fn load_named(
    text: &str,
    origin: &str,
    prompt_exists: &dyn Fn(&str) -> bool,
    file_stem: Option<&str>,
    queue_exists: Option<&dyn Fn(&str) -> bool>,
) -> Result<Script, ScriptErrors> {
    let mut diags = Diags::new(text, origin);
    if text.len() > MAX_SCRIPT_BYTES {
        diags.at(
            0..0,
            format!("script is larger than {MAX_SCRIPT_BYTES} bytes"),
        );
        return Err(ScriptErrors(diags.list));
    }
    let (doc, syntax) = toml::de::DeTable::parse_recoverable(text);
    for err in &syntax {
        diags.at(err.span().unwrap_or(0..0), err.message().trim().to_owned());
    }
    if !diags.is_empty() {
        return Err(ScriptErrors(diags.list));
    }
    let parsed = raw::shape(doc.get_ref(), &mut diags);
    match parsed {
        Some(parsed) if diags.is_empty() => {
            check::check(&parsed, prompt_exists, file_stem, &mut diags);
            if let Some(known) = queue_exists {
                check::queues(&parsed, known, &mut diags);
            }
            if diags.is_empty() {
                Ok(parsed.into_script(version_of(text), text))
            } else {
                Err(ScriptErrors(diags.list))
            }
        }
        _ => Err(ScriptErrors(diags.list)),
    }
}

/// First 12 hex digits of the SHA-256 of `text`.
fn version_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn whole_file(path: &Path, message: String) -> ScriptErrors {
    ScriptErrors(vec![ScriptDiagnostic {
        origin: path.display().to_string(),
        line: 0,
        col: 0,
        message,
    }])
}

/// Reads and validates one script file. The script's `name` must equal the
/// file's stem (`main.toml` holds flow `main`), so the name the SoftACD puts
/// in `X-SoftACD-Script` finds the file.
pub fn load_file(
    path: &Path,
    prompt_exists: &dyn Fn(&str) -> bool,
) -> Result<Script, ScriptErrors> {
    load_file_checked(path, prompt_exists, None)
}

/// [`load_file`], also requiring every queue node to name a configured
/// queue when `queue_exists` is given (`softacd ivr check --config`).
pub fn load_file_checked(
    path: &Path,
    prompt_exists: &dyn Fn(&str) -> bool,
    queue_exists: Option<&dyn Fn(&str) -> bool>,
) -> Result<Script, ScriptErrors> {
    let origin = path.display().to_string();
    let bytes = read_bounded(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| whole_file(path, "script is not valid UTF-8".to_owned()))?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    load_named(&text, &origin, prompt_exists, Some(stem), queue_exists)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, ScriptErrors> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| whole_file(path, format!("cannot read script: {e}")))?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_SCRIPT_BYTES).unwrap_or(u64::MAX) + 1;
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| whole_file(path, format!("cannot read script: {e}")))?;
    if bytes.len() > MAX_SCRIPT_BYTES {
        let msg = format!("script is larger than {MAX_SCRIPT_BYTES} bytes");
        return Err(whole_file(path, msg));
    }
    Ok(bytes)
}

/// Loads every `*.toml` file of `dir` (sorted by file name), collecting the
/// problems of all files; the map is keyed by script name.
pub fn load_dir(
    dir: &Path,
    prompt_exists: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, Arc<Script>>, ScriptErrors> {
    let mut paths = script_paths(dir)?;
    paths.sort();
    if paths.len() > MAX_SCRIPTS {
        let msg = format!("more than {MAX_SCRIPTS} scripts");
        return Err(whole_file(dir, msg));
    }
    let mut scripts = BTreeMap::new();
    let mut problems = Vec::new();
    for path in paths {
        match load_file(&path, prompt_exists) {
            Ok(script) => {
                scripts.insert(script.name.clone(), Arc::new(script));
            }
            Err(ScriptErrors(mut list)) => problems.append(&mut list),
        }
    }
    if problems.is_empty() {
        Ok(scripts)
    } else {
        Err(ScriptErrors(problems))
    }
}

fn script_paths(dir: &Path) -> Result<Vec<std::path::PathBuf>, ScriptErrors> {
    let cannot = |e: std::io::Error| whole_file(dir, format!("cannot list scripts: {e}"));
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(cannot)? {
        let path = entry.map_err(cannot)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            paths.push(path);
        }
    }
    Ok(paths)
}
