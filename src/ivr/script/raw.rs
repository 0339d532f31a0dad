//! Shape pass of the script loader: from the span-preserving TOML tree to
//! typed nodes that still carry their spans. Reports unknown keys (every
//! table is `deny_unknown_fields`), unknown node types and wrong value types.
//! Rules between nodes are the next pass, [`super::check`].

use super::cond::{self, Case, Hours, Test, Zone};
use super::{Diags, FlowTest, Node, Script, MAX_NODES};
use crate::ivr::say::SayAs;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

pub(super) type Sp<T> = Spanned<T>;
pub(super) type Prompts = Sp<Vec<Sp<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlay {
    pub prompts: Prompts,
    pub interruptible: Option<bool>,
    pub next: Sp<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMenu {
    pub prompts: Prompts,
    pub timeout_ms: Option<Sp<u32>>,
    pub max_tries: Option<Sp<u32>>,
    pub invalid_prompts: Option<Prompts>,
    pub timeout_prompts: Option<Prompts>,
    pub on_fail: Sp<String>,
    pub choices: Sp<BTreeMap<Sp<String>, Sp<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub queue: Sp<String>,
    pub skills: Option<Vec<Sp<String>>>,
    pub priority: Option<u8>,
    pub hold_music: Sp<String>,
    pub announce: Option<Prompts>,
    pub on_timeout: Sp<String>,
    pub max_wait_s: Option<Sp<u32>>,
    pub on_overflow: Option<Sp<String>>,
    pub callback_key: Option<Sp<String>>,
    pub on_callback: Option<Sp<String>>,
    pub announce_every_s: Option<Sp<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHangup {
    pub cause: Option<Sp<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCollect {
    pub prompts: Prompts,
    pub min_digits: Option<Sp<u32>>,
    pub max_digits: Sp<u32>,
    pub terminator: Option<Sp<String>>,
    pub timeout_ms: Option<Sp<u32>>,
    pub inter_digit_ms: Option<Sp<u32>>,
    pub pattern: Option<Sp<String>>,
    pub into: Sp<String>,
    pub max_tries: Option<Sp<u32>>,
    pub invalid_prompts: Option<Prompts>,
    pub on_fail: Sp<String>,
    pub next: Sp<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSay {
    #[serde(rename = "as")]
    pub how: Sp<String>,
    pub var: Option<Sp<String>>,
    pub value: Option<Sp<String>>,
    pub before: Option<Prompts>,
    pub after: Option<Prompts>,
    pub interruptible: Option<bool>,
    pub next: Sp<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSet {
    pub vars: Sp<BTreeMap<Sp<String>, Sp<String>>>,
    pub next: Sp<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCase {
    pub var: Option<Sp<String>>,
    pub equals: Option<Sp<String>>,
    pub prefix: Option<Sp<String>>,
    pub matches: Option<Sp<String>>,
    pub one_of: Option<Vec<Sp<String>>>,
    pub time: Option<Sp<String>>,
    pub days: Option<Vec<Sp<String>>>,
    pub tz: Option<Sp<String>>,
    pub goto: Sp<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBranch {
    pub cases: Sp<Vec<Sp<RawCase>>>,
    pub default: Sp<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHours {
    pub tz: Sp<String>,
    pub weekly: Sp<BTreeMap<Sp<String>, Vec<Sp<String>>>>,
    pub holidays: Option<Vec<Sp<String>>>,
    pub open: Sp<String>,
    pub closed: Sp<String>,
    pub holiday: Option<Sp<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGoto {
    pub next: Sp<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubflow {
    pub call: Sp<String>,
    pub next: Sp<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReturn {}

/// One `[[test]]` case of a flow (run by `softacd ivr test`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTest {
    pub name: Sp<String>,
    pub keys: Option<String>,
    pub vars: Option<BTreeMap<String, String>>,
    pub caller: Option<String>,
    pub dnis: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub at: Option<Sp<String>>,
    pub http: Option<BTreeMap<String, String>>,
    pub transfer_fails: Option<bool>,
    pub expect: Vec<String>,
}

pub(super) enum RawNode {
    Play(RawPlay),
    Menu(RawMenu),
    Queue(RawQueue),
    Hangup(RawHangup),
    Collect(RawCollect),
    Say(RawSay),
    Set(RawSet),
    Branch(RawBranch),
    Hours(RawHours),
    Goto(RawGoto),
    Subflow(RawSubflow),
    Return(RawReturn),
    Http(super::http::RawHttp),
    Transfer(super::transfer::RawTransfer),
    Record(super::record::RawRecord),
    Callback(super::callback::RawCallback),
}

/// A flow after the shape pass; the key spans point at each node's name.
pub(super) struct RawScript {
    pub name: Sp<String>,
    pub start: Sp<String>,
    pub nodes: BTreeMap<String, (Range<usize>, RawNode)>,
    pub tests: Vec<RawTest>,
}

/// Defaults for keys an admin may leave out.
pub(super) const DEFAULT_TIMEOUT_MS: u32 = 5000;
pub(super) const DEFAULT_MAX_TRIES: u32 = 3;
pub(super) const DEFAULT_CAUSE: &str = "normal";

/// Builds the typed flow from the document, or records why it cannot.
pub(super) fn shape(doc: &DeTable<'_>, diags: &mut Diags<'_>) -> Option<RawScript> {
    let mut name = None;
    let mut start = None;
    let mut nodes = None;
    let mut tests = Vec::new();
    for (key, value) in doc {
        match key.get_ref().as_ref() {
            "name" => name = string(value, "name", diags),
            "start" => start = string(value, "start", diags),
            "nodes" => nodes = node_table(key.span(), value, diags),
            "test" => tests = test_cases(value, diags),
            other => diags.at(key.span(), unknown_key(other, "name, start, nodes, test")),
        }
    }
    let missing = |diags: &mut Diags<'_>, key: &str| diags.at(0..0, format!("missing key `{key}`"));
    if name.is_none() {
        missing(diags, "name");
    }
    if start.is_none() {
        missing(diags, "start");
    }
    if nodes.is_none() {
        missing(diags, "nodes");
    }
    Some(RawScript {
        name: name?,
        start: start?,
        nodes: nodes?,
        tests,
    })
}

fn test_cases(value: &Sp<DeValue<'_>>, diags: &mut Diags<'_>) -> Vec<RawTest> {
    let Some(list) = value.get_ref().as_array() else {
        diags.at(value.span(), "`test` must be an array of tables ([[test]])");
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in list {
        let body = Spanned::new(item.span(), item.get_ref().clone());
        match typed::<RawTest>(body) {
            Ok(t) => out.push(t),
            Err(e) => diags.at(
                e.span().unwrap_or(item.span()),
                shape_message("[[test]]", &e),
            ),
        }
    }
    out
}

fn unknown_key(key: &str, expected: &str) -> String {
    format!("unknown key `{key}` (expected one of: {expected})")
}

fn string(value: &Sp<DeValue<'_>>, key: &str, diags: &mut Diags<'_>) -> Option<Sp<String>> {
    match value.get_ref().as_str() {
        Some(s) => Some(Spanned::new(value.span(), s.to_owned())),
        None => {
            let found = value.get_ref().type_str();
            diags.at(
                value.span(),
                format!("`{key}` must be a string, not {found}"),
            );
            None
        }
    }
}

fn node_table(
    key_span: Range<usize>,
    value: &Sp<DeValue<'_>>,
    diags: &mut Diags<'_>,
) -> Option<BTreeMap<String, (Range<usize>, RawNode)>> {
    let Some(table) = value.get_ref().as_table() else {
        diags.at(value.span(), "`nodes` must be a table of nodes");
        return None;
    };
    if table.len() > MAX_NODES {
        diags.at(key_span, format!("more than {MAX_NODES} nodes"));
        return None;
    }
    let mut nodes = BTreeMap::new();
    for (key, value) in table {
        if let Some(node) = one_node(key, value, diags) {
            nodes.insert(key.get_ref().to_string(), (key.span(), node));
        }
    }
    Some(nodes)
}

fn one_node(
    key: &Sp<std::borrow::Cow<'_, str>>,
    value: &Sp<DeValue<'_>>,
    diags: &mut Diags<'_>,
) -> Option<RawNode> {
    let name = key.get_ref();
    let Some(table) = value.get_ref().as_table() else {
        diags.at(value.span(), format!("node `{name}` must be a table"));
        return None;
    };
    let Some(kind) = table.get("type") else {
        diags.at(key.span(), format!("node `{name}` has no `type`"));
        return None;
    };
    let Some(kind_str) = kind.get_ref().as_str() else {
        diags.at(kind.span(), "`type` must be a string");
        return None;
    };
    let mut body = table.clone();
    body.remove("type");
    let body = Spanned::new(value.span(), DeValue::Table(body));
    let result = match kind_str {
        "play" => typed(body).map(RawNode::Play),
        "menu" => typed(body).map(RawNode::Menu),
        "queue" => typed(body).map(RawNode::Queue),
        "hangup" => typed(body).map(RawNode::Hangup),
        "collect" => typed(body).map(RawNode::Collect),
        "say" => typed(body).map(RawNode::Say),
        "set" => typed(body).map(RawNode::Set),
        "branch" => typed(body).map(RawNode::Branch),
        "hours" => typed(body).map(RawNode::Hours),
        "goto" => typed(body).map(RawNode::Goto),
        "subflow" => typed(body).map(RawNode::Subflow),
        "return" => typed(body).map(RawNode::Return),
        "http" => typed(body).map(RawNode::Http),
        "transfer" => typed(body).map(RawNode::Transfer),
        "record" => typed(body).map(RawNode::Record),
        "callback" => typed(body).map(RawNode::Callback),
        other => {
            let msg = format!("unknown node type `{other}` (expected one of: {NODE_TYPES})");
            diags.at(kind.span(), msg);
            return None;
        }
    };
    result
        .map_err(|e| diags.at(e.span().unwrap_or(key.span()), shape_message(name, &e)))
        .ok()
}

/// Every node type, for messages and the reference.
pub(super) const NODE_TYPES: &str =
    "play, menu, collect, say, set, branch, hours, goto, subflow, return, queue, hangup, http, transfer, record, callback";

fn typed<'de, T: Deserialize<'de>>(body: Sp<DeValue<'de>>) -> Result<T, toml::de::Error> {
    T::deserialize(ValueDeserializer::from(body))
}

fn shape_message(node: &str, err: &toml::de::Error) -> String {
    let text = err
        .message()
        .trim()
        .replace("unknown field ", "unknown key ")
        .replace("missing field ", "missing key ")
        .replace("expected a sequence", "expected an array");
    format!("node `{node}`: {text}")
}

fn strip(list: &Prompts) -> Vec<String> {
    list.get_ref().iter().map(|p| p.get_ref().clone()).collect()
}

fn strip_opt(list: &Option<Prompts>) -> Vec<String> {
    list.as_ref().map(strip).unwrap_or_default()
}

impl RawNode {
    fn into_node(self) -> Node {
        match self {
            RawNode::Play(p) => Node::Play {
                prompts: strip(&p.prompts),
                interruptible: p.interruptible.unwrap_or(true),
                next: p.next.into_inner(),
            },
            RawNode::Menu(m) => Node::Menu {
                prompts: strip(&m.prompts),
                timeout_ms: m.timeout_ms.map_or(DEFAULT_TIMEOUT_MS, Spanned::into_inner),
                max_tries: m.max_tries.map_or(DEFAULT_MAX_TRIES, Spanned::into_inner),
                invalid_prompts: strip_opt(&m.invalid_prompts),
                timeout_prompts: strip_opt(&m.timeout_prompts),
                on_fail: m.on_fail.into_inner(),
                choices: m
                    .choices
                    .into_inner()
                    .into_iter()
                    .filter_map(|(k, v)| Some((single_char(k.get_ref())?, v.into_inner())))
                    .collect(),
            },
            RawNode::Queue(q) => Node::Queue {
                queue: q.queue.into_inner(),
                skills: q
                    .skills
                    .unwrap_or_default()
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                priority: q.priority.unwrap_or(0),
                hold_music: q.hold_music.into_inner(),
                announce: strip_opt(&q.announce),
                on_timeout: q.on_timeout.into_inner(),
                max_wait_s: q.max_wait_s.map(Spanned::into_inner),
                on_overflow: q.on_overflow.map(Spanned::into_inner),
                callback_key: q.callback_key.and_then(|k| single_char(k.get_ref())),
                on_callback: q.on_callback.map(Spanned::into_inner),
                announce_every_s: q.announce_every_s.map(Spanned::into_inner),
            },
            RawNode::Hangup(h) => Node::Hangup {
                cause: h
                    .cause
                    .map_or_else(|| DEFAULT_CAUSE.to_owned(), Spanned::into_inner),
            },
            RawNode::Collect(c) => collect_node(c),
            RawNode::Say(s) => Node::Say {
                how: SayAs::parse(s.how.get_ref()).unwrap_or(SayAs::Digits),
                literal: s.var.is_none(),
                source: s
                    .var
                    .or(s.value)
                    .map(Spanned::into_inner)
                    .unwrap_or_default(),
                before: strip_opt(&s.before),
                after: strip_opt(&s.after),
                interruptible: s.interruptible.unwrap_or(true),
                next: s.next.into_inner(),
            },
            RawNode::Set(s) => Node::Set {
                vars: s
                    .vars
                    .into_inner()
                    .into_iter()
                    .map(|(k, v)| (k.into_inner(), v.into_inner()))
                    .collect(),
                next: s.next.into_inner(),
            },
            RawNode::Branch(b) => Node::Branch {
                cases: b
                    .cases
                    .into_inner()
                    .into_iter()
                    .map(|c| case_of(c.into_inner()))
                    .collect(),
                default: b.default.into_inner(),
            },
            RawNode::Hours(h) => hours_node(h),
            RawNode::Goto(g) => Node::Goto {
                next: g.next.into_inner(),
            },
            RawNode::Subflow(c) => Node::Subflow {
                call: c.call.into_inner(),
                next: c.next.into_inner(),
            },
            RawNode::Return(_) => Node::Return,
            RawNode::Http(h) => Node::Http(h.into_node()),
            RawNode::Transfer(t) => Node::Transfer {
                uri: t.uri.into_inner(),
                timeout_s: t
                    .timeout_s
                    .map_or(super::DEFAULT_TRANSFER_TIMEOUT_S, Spanned::into_inner),
                on_error: t.on_error.into_inner(),
            },
            RawNode::Record(r) => Node::Record(r.into_node()),
            RawNode::Callback(c) => Node::Callback {
                number: c.number.into_inner(),
                next: c.next.into_inner(),
                on_error: c.on_error.into_inner(),
            },
        }
    }
}

pub(super) const DEFAULT_INTER_DIGIT_MS: u32 = 3000;
pub(super) const DEFAULT_TERMINATOR: char = '#';

fn collect_node(c: RawCollect) -> Node {
    let terminator = match &c.terminator {
        None => Some(DEFAULT_TERMINATOR),
        Some(t) => single_char(t.get_ref()),
    };
    Node::Collect {
        prompts: strip(&c.prompts),
        min_digits: c.min_digits.map_or(1, Spanned::into_inner),
        max_digits: c.max_digits.into_inner(),
        terminator,
        timeout_ms: c.timeout_ms.map_or(DEFAULT_TIMEOUT_MS, Spanned::into_inner),
        inter_digit_ms: c
            .inter_digit_ms
            .map_or(DEFAULT_INTER_DIGIT_MS, Spanned::into_inner),
        pattern: c
            .pattern
            .as_ref()
            .and_then(|p| cond::parse_pattern(p.get_ref()).ok()),
        into: c.into.into_inner(),
        max_tries: c.max_tries.map_or(DEFAULT_MAX_TRIES, Spanned::into_inner),
        invalid_prompts: strip_opt(&c.invalid_prompts),
        on_fail: c.on_fail.into_inner(),
        next: c.next.into_inner(),
    }
}

/// The variable test of a case; the checker allows at most one kind.
pub(super) fn test_of(c: &RawCase) -> Option<Test> {
    if let Some(v) = &c.equals {
        return Some(Test::Equals(v.get_ref().clone()));
    }
    if let Some(v) = &c.prefix {
        return Some(Test::Prefix(v.get_ref().clone()));
    }
    if let Some(v) = &c.matches {
        return cond::parse_pattern(v.get_ref()).ok().map(Test::Matches);
    }
    if let Some(list) = &c.one_of {
        return Some(Test::OneOf(
            list.iter().map(|v| v.get_ref().clone()).collect(),
        ));
    }
    Some(Test::Present)
}

fn zone_or_utc(tz: Option<&Sp<String>>) -> Zone {
    tz.and_then(|t| cond::parse_zone(t.get_ref()).ok())
        .unwrap_or_else(Zone::utc)
}

fn case_of(c: RawCase) -> Case {
    let var = c
        .var
        .as_ref()
        .and_then(|v| Some((v.get_ref().clone(), test_of(&c)?)));
    let days = c.days.as_ref().map(|list| {
        let mut set = [false; 7];
        for d in list
            .iter()
            .filter_map(|d| cond::parse_day(d.get_ref()).ok())
        {
            set[d] = true;
        }
        set
    });
    Case {
        var,
        time: c
            .time
            .as_ref()
            .and_then(|t| cond::parse_window(t.get_ref()).ok()),
        days,
        zone: zone_or_utc(c.tz.as_ref()),
        goto: c.goto.into_inner(),
    }
}

fn hours_node(h: RawHours) -> Node {
    let mut weekly: [Vec<(u16, u16)>; 7] = Default::default();
    for (day, windows) in h.weekly.get_ref() {
        if let Ok(d) = cond::parse_day(day.get_ref()) {
            weekly[d] = windows
                .iter()
                .filter_map(|w| cond::parse_window(w.get_ref()).ok())
                .collect();
        }
    }
    let holidays = h
        .holidays
        .iter()
        .flatten()
        .filter_map(|d| cond::parse_date(d.get_ref()).ok())
        .collect();
    let closed = h.closed.into_inner();
    Node::Hours {
        hours: Hours {
            zone: zone_or_utc(Some(&h.tz)),
            weekly,
            holidays,
        },
        open: h.open.into_inner(),
        holiday: h
            .holiday
            .map_or_else(|| closed.clone(), Spanned::into_inner),
        closed,
    }
}

fn test_case(t: RawTest, text: &str) -> FlowTest {
    FlowTest {
        line: super::line_col(text, t.name.span().start).0,
        name: t.name.into_inner(),
        keys: t.keys.unwrap_or_default(),
        vars: t.vars.unwrap_or_default(),
        caller: t.caller.unwrap_or_default(),
        dnis: t.dnis.unwrap_or_default(),
        headers: t.headers.unwrap_or_default(),
        at: t.at.map(Spanned::into_inner),
        http: t.http.unwrap_or_default(),
        transfer_fails: t.transfer_fails.unwrap_or(false),
        expect: t.expect,
    }
}

/// The only character of `s`, if it has exactly one.
pub(super) fn single_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

impl RawScript {
    /// Drops the spans; called once every rule passed.
    pub(super) fn into_script(self, version: String, text: &str) -> Script {
        Script {
            tests: self.tests.into_iter().map(|t| test_case(t, text)).collect(),
            name: self.name.into_inner(),
            version,
            start: self.start.into_inner(),
            nodes: self
                .nodes
                .into_iter()
                .map(|(name, (_, node))| (name, node.into_node()))
                .collect(),
        }
    }
}
