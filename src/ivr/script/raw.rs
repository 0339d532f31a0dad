//! Shape pass of the script loader: from the span-preserving TOML tree to
//! typed nodes that still carry their spans. Reports unknown keys (every
//! table is `deny_unknown_fields`), unknown node types and wrong value types.
//! Rules between nodes are the next pass, [`super::check`].

use super::{Diags, Node, Script, MAX_NODES};
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHangup {
    pub cause: Option<Sp<String>>,
}

pub(super) enum RawNode {
    Play(RawPlay),
    Menu(RawMenu),
    Queue(RawQueue),
    Hangup(RawHangup),
}

/// A flow after the shape pass; the key spans point at each node's name.
pub(super) struct RawScript {
    pub name: Sp<String>,
    pub start: Sp<String>,
    pub nodes: BTreeMap<String, (Range<usize>, RawNode)>,
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
    for (key, value) in doc {
        match key.get_ref().as_ref() {
            "name" => name = string(value, "name", diags),
            "start" => start = string(value, "start", diags),
            "nodes" => nodes = node_table(key.span(), value, diags),
            other => diags.at(key.span(), unknown_key(other, "name, start, nodes")),
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
    })
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
        other => {
            let msg = format!("unknown node type `{other}` (expected play, menu, queue or hangup)");
            diags.at(kind.span(), msg);
            return None;
        }
    };
    result
        .map_err(|e| diags.at(e.span().unwrap_or(key.span()), shape_message(name, &e)))
        .ok()
}

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
            },
            RawNode::Hangup(h) => Node::Hangup {
                cause: h
                    .cause
                    .map_or_else(|| DEFAULT_CAUSE.to_owned(), Spanned::into_inner),
            },
        }
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
    pub(super) fn into_script(self, version: String) -> Script {
        Script {
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
