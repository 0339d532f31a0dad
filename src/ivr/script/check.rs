//! Rule pass of the script loader: what a well-shaped flow must also obey.
//! Targets (`start`, `next`, `on_fail`, `on_timeout`, choices) name existing
//! nodes; choice keys are one DTMF character (RFC 4733 events 0-9 * # A-D);
//! prompts exist; ranges hold; then, once those hold, every node is reachable from `start`; a queue
//! or hangup is reachable; no cycle of play nodes waits for nothing.

use super::raw::{single_char, Prompts, RawNode, RawScript, Sp};
use super::{Diags, MAX_PROMPTS, MAX_TIMEOUT_MS, MAX_TRIES};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Range;

type Nodes = BTreeMap<String, (Range<usize>, RawNode)>;

/// Whether `c` is a DTMF digit a caller can press.
pub fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | 'A' | 'B' | 'C' | 'D')
}

/// A name usable as a node, prompt or script name: `[A-Za-z0-9_-]{1,64}`
/// (prompt names become file names, so no dots or slashes).
fn is_plain_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(super) fn check(
    raw: &RawScript,
    prompt_exists: &dyn Fn(&str) -> bool,
    file_stem: Option<&str>,
    diags: &mut Diags<'_>,
) {
    check_name(&raw.name, file_stem, diags);
    for (name, (span, node)) in &raw.nodes {
        if !is_plain_name(name) {
            let msg = format!("node name `{name}` must be 1-64 of A-Z a-z 0-9 _ -");
            diags.at(span.clone(), msg);
        }
        check_node(node, &raw.nodes, prompt_exists, diags);
    }
    if !raw.nodes.contains_key(raw.start.get_ref()) {
        let msg = format!("`start` names missing node `{}`", raw.start.get_ref());
        diags.at(raw.start.span(), msg);
    }
    // Reachability over broken targets would only repeat those errors.
    if diags.is_empty() {
        check_graph(raw, diags);
    }
}

fn check_name(name: &Sp<String>, file_stem: Option<&str>, diags: &mut Diags<'_>) {
    if !is_plain_name(name.get_ref()) {
        diags.at(name.span(), "`name` must be 1-64 of A-Z a-z 0-9 _ -");
    }
    if let Some(stem) = file_stem.filter(|s| *s != name.get_ref()) {
        let msg = format!(
            "name `{}` differs from the file name `{stem}`",
            name.get_ref()
        );
        diags.at(name.span(), msg);
    }
}

fn check_node(node: &RawNode, nodes: &Nodes, exists: &dyn Fn(&str) -> bool, d: &mut Diags<'_>) {
    match node {
        RawNode::Play(p) => {
            prompts(&p.prompts, "prompts", true, exists, d);
            target(&p.next, "next", nodes, d);
        }
        RawNode::Menu(m) => {
            prompts(&m.prompts, "prompts", true, exists, d);
            for list in [&m.invalid_prompts, &m.timeout_prompts]
                .into_iter()
                .flatten()
            {
                prompts(list, "prompts", false, exists, d);
            }
            menu_ranges(m, d);
            target(&m.on_fail, "on_fail", nodes, d);
            choices(&m.choices, nodes, d);
        }
        RawNode::Queue(q) => {
            if q.queue.get_ref().is_empty() {
                d.at(q.queue.span(), "`queue` must not be empty");
            }
            prompt(&q.hold_music, exists, d);
            if let Some(list) = &q.announce {
                prompts(list, "announce", false, exists, d);
            }
            target(&q.on_timeout, "on_timeout", nodes, d);
        }
        RawNode::Hangup(_) => {}
    }
}

fn menu_ranges(m: &super::raw::RawMenu, d: &mut Diags<'_>) {
    if let Some(t) = &m.timeout_ms {
        if *t.get_ref() == 0 || *t.get_ref() > MAX_TIMEOUT_MS {
            let msg = format!(
                "`timeout_ms` must be 1..={MAX_TIMEOUT_MS}, not {}",
                t.get_ref()
            );
            d.at(t.span(), msg);
        }
    }
    if let Some(t) = &m.max_tries {
        if *t.get_ref() == 0 || *t.get_ref() > MAX_TRIES {
            let msg = format!("`max_tries` must be 1..={MAX_TRIES}, not {}", t.get_ref());
            d.at(t.span(), msg);
        }
    }
}

fn target(to: &Sp<String>, key: &str, nodes: &Nodes, d: &mut Diags<'_>) {
    if !nodes.contains_key(to.get_ref()) {
        d.at(
            to.span(),
            format!("`{key}` names missing node `{}`", to.get_ref()),
        );
    }
}

fn choices(choices: &Sp<BTreeMap<Sp<String>, Sp<String>>>, nodes: &Nodes, d: &mut Diags<'_>) {
    if choices.get_ref().is_empty() {
        d.at(choices.span(), "a menu needs at least one choice");
    }
    for (key, to) in choices.get_ref() {
        if !single_char(key.get_ref()).is_some_and(is_dtmf) {
            let msg = format!(
                "choice `{}` is not one DTMF key (0-9 * # A-D)",
                key.get_ref()
            );
            d.at(key.span(), msg);
        }
        let what = format!("choice \"{}\"", key.get_ref());
        target(to, &what, nodes, d);
    }
}

fn prompts(
    list: &Prompts,
    key: &str,
    needed: bool,
    exists: &dyn Fn(&str) -> bool,
    d: &mut Diags<'_>,
) {
    if needed && list.get_ref().is_empty() {
        d.at(
            list.span(),
            format!("`{key}` must name at least one prompt"),
        );
    }
    if list.get_ref().len() > MAX_PROMPTS {
        d.at(
            list.span(),
            format!("`{key}` has more than {MAX_PROMPTS} prompts"),
        );
    }
    for p in list.get_ref() {
        prompt(p, exists, d);
    }
}

fn prompt(p: &Sp<String>, exists: &dyn Fn(&str) -> bool, d: &mut Diags<'_>) {
    let name = p.get_ref();
    if !is_plain_name(name) {
        d.at(
            p.span(),
            format!("prompt name `{name}` must be 1-64 of A-Z a-z 0-9 _ -"),
        );
    } else if !exists(name) {
        d.at(p.span(), format!("unknown prompt `{name}` (no media file)"));
    }
}

/// Targets of a node, in a fixed order.
fn edges(node: &RawNode) -> Vec<&Sp<String>> {
    match node {
        RawNode::Play(p) => vec![&p.next],
        RawNode::Menu(m) => {
            let mut out = vec![&m.on_fail];
            out.extend(m.choices.get_ref().values());
            out
        }
        RawNode::Queue(q) => vec![&q.on_timeout],
        RawNode::Hangup(_) => Vec::new(),
    }
}

fn check_graph(raw: &RawScript, d: &mut Diags<'_>) {
    let reached = reachable(raw);
    for (name, (span, _)) in &raw.nodes {
        if !reached.contains(name.as_str()) {
            let msg = format!(
                "node `{name}` is unreachable from `{}`",
                raw.start.get_ref()
            );
            d.at(span.clone(), msg);
        }
    }
    let has_exit = reached.iter().any(|n| {
        matches!(
            raw.nodes.get(*n),
            Some((_, RawNode::Queue(_) | RawNode::Hangup(_)))
        )
    });
    if !has_exit {
        d.at(
            raw.start.span(),
            "no queue or hangup node is reachable from `start`",
        );
    }
    play_loops(&raw.nodes, d);
}

fn reachable(raw: &RawScript) -> BTreeSet<&str> {
    let mut seen = BTreeSet::new();
    let mut todo = VecDeque::from([raw.start.get_ref().as_str()]);
    while let Some(name) = todo.pop_front() {
        let Some((_, node)) = raw.nodes.get(name) else {
            continue;
        };
        if seen.insert(name) {
            todo.extend(edges(node).into_iter().map(|t| t.get_ref().as_str()));
        }
    }
    seen
}

/// Cycles made only of play nodes: the caller would hear prompts forever with
/// no menu to answer and no queue or hangup. Reported once per cycle, at the
/// `next` of its alphabetically first node.
fn play_loops(nodes: &Nodes, d: &mut Diags<'_>) {
    let mut reported = BTreeSet::new();
    for start in nodes.keys() {
        let Some(cycle) = play_cycle_from(start, nodes) else {
            continue;
        };
        let Some(first) = cycle.iter().min().cloned() else {
            continue;
        };
        if !reported.insert(first.clone()) {
            continue;
        }
        if let Some((_, RawNode::Play(p))) = nodes.get(&first) {
            let at = cycle.iter().position(|n| *n == first).unwrap_or(0);
            let mut path: Vec<&str> = cycle[at..]
                .iter()
                .chain(&cycle[..at])
                .map(String::as_str)
                .collect();
            path.push(first.as_str());
            let msg = format!("loop with no exit or input: {}", path.join(" -> "));
            d.at(p.next.span(), msg);
        }
    }
}

/// The play-only cycle reached by following `next` from `start`, if any.
fn play_cycle_from(start: &str, nodes: &Nodes) -> Option<Vec<String>> {
    let mut path: Vec<String> = Vec::new();
    let mut current = start.to_owned();
    loop {
        let Some((_, RawNode::Play(p))) = nodes.get(&current) else {
            return None;
        };
        if let Some(at) = path.iter().position(|n| *n == current) {
            return Some(path.split_off(at));
        }
        path.push(current);
        current = p.next.get_ref().clone();
    }
}
