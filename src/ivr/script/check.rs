//! Rule pass of the script loader: what a well-shaped flow must also obey.
//! Targets (`start`, `next`, `on_fail`, `on_timeout`, choices) name existing
//! nodes; choice keys are one DTMF character (RFC 4733 events 0-9 * # A-D);
//! prompts exist; ranges hold; then, once those hold, every node is reachable from `start`; a queue
//! or hangup is reachable; no cycle of play nodes waits for nothing.

use super::cond;
use super::raw::{
    single_char, Prompts, RawBranch, RawCase, RawCollect, RawHours, RawNode, RawSay, RawScript,
    RawTest, Sp,
};
use super::{Diags, MAX_PROMPTS, MAX_TIMEOUT_MS, MAX_TRIES};

/// Most digits a `collect` node gathers.
pub const MAX_COLLECT: u32 = 32;
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
    for t in &raw.tests {
        check_test(t, diags);
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
            let rule = |t: &Sp<String>, k: &str, d: &mut Diags<'_>| target(t, k, nodes, d);
            super::queue::check_queue(q, &rule, exists, d);
        }
        RawNode::Hangup(_) => {}
        RawNode::Collect(c) => check_collect(c, nodes, exists, d),
        RawNode::Say(s) => check_say(s, nodes, exists, d),
        RawNode::Set(s) => {
            for key in s.vars.get_ref().keys() {
                var_name(key, d);
            }
            target(&s.next, "next", nodes, d);
        }
        RawNode::Branch(b) => check_branch(b, nodes, d),
        RawNode::Hours(h) => check_hours(h, nodes, d),
        RawNode::Goto(g) => target(&g.next, "next", nodes, d),
        RawNode::Subflow(c) => {
            target(&c.call, "call", nodes, d);
            target(&c.next, "next", nodes, d);
        }
        RawNode::Return(_) => {}
        RawNode::Record(r) => {
            if let Some(list) = &r.prompts {
                prompts(list, "prompts", false, exists, d);
            }
            if let Some(v) = &r.into {
                var_name(v, d);
            }
            let rule = |t: &Sp<String>, k: &str, d: &mut Diags<'_>| target(t, k, nodes, d);
            super::record::check_record(r, &rule, exists, d);
        }
        RawNode::Http(h) => {
            super::http::check_http(h, &var_name, d);
            target(&h.on_error, "on_error", nodes, d);
            target(&h.next, "next", nodes, d);
        }
        RawNode::Transfer(t) => {
            super::transfer::check_transfer(t, d);
            target(&t.on_error, "on_error", nodes, d);
        }
        RawNode::Callback(c) => {
            super::callback::check_callback(c, d);
            target(&c.next, "next", nodes, d);
            target(&c.on_error, "on_error", nodes, d);
        }
    }
}

/// Queue nodes must name a queue of the configuration.
pub(super) fn queues(raw: &RawScript, known: &dyn Fn(&str) -> bool, d: &mut Diags<'_>) {
    for (_, node) in raw.nodes.values() {
        if let RawNode::Queue(q) = node {
            if !q.queue.get_ref().is_empty() && !known(q.queue.get_ref()) {
                let msg = format!(
                    "unknown queue `{}` (not in the configuration)",
                    q.queue.get_ref()
                );
                d.at(q.queue.span(), msg);
            }
        }
    }
}

/// A variable name: a plain name, or `header.` and a header name.
fn var_name(v: &Sp<String>, d: &mut Diags<'_>) {
    let name = v.get_ref();
    let plain = name.strip_prefix("header.").unwrap_or(name);
    if !is_plain_name(plain) {
        d.at(
            v.span(),
            format!("variable name `{name}` must be 1-64 of A-Z a-z 0-9 _ - (or header.NAME)"),
        );
    }
}

fn range(v: &Option<Sp<u32>>, key: &str, lo: u32, hi: u32, d: &mut Diags<'_>) {
    if let Some(t) = v {
        if !(lo..=hi).contains(t.get_ref()) {
            let msg = format!("`{key}` must be {lo}..={hi}, not {}", t.get_ref());
            d.at(t.span(), msg);
        }
    }
}

fn check_collect(c: &RawCollect, nodes: &Nodes, exists: &dyn Fn(&str) -> bool, d: &mut Diags<'_>) {
    prompts(&c.prompts, "prompts", true, exists, d);
    if let Some(list) = &c.invalid_prompts {
        prompts(list, "invalid_prompts", false, exists, d);
    }
    range(&Some(c.max_digits.clone()), "max_digits", 1, MAX_COLLECT, d);
    let max = *c.max_digits.get_ref();
    range(&c.min_digits, "min_digits", 0, max.max(1), d);
    range(&c.timeout_ms, "timeout_ms", 1, MAX_TIMEOUT_MS, d);
    range(&c.inter_digit_ms, "inter_digit_ms", 1, MAX_TIMEOUT_MS, d);
    range(&c.max_tries, "max_tries", 1, MAX_TRIES, d);
    if let Some(t) = &c.terminator {
        let ok = t.get_ref().is_empty() || single_char(t.get_ref()).is_some_and(is_dtmf);
        if !ok {
            d.at(
                t.span(),
                "`terminator` must be one DTMF key or \"\" for none",
            );
        }
    }
    if let Some(p) = &c.pattern {
        if let Err(e) = cond::parse_pattern(p.get_ref()) {
            d.at(p.span(), e);
        }
    }
    var_name(&c.into, d);
    target(&c.on_fail, "on_fail", nodes, d);
    target(&c.next, "next", nodes, d);
}

fn check_say(s: &RawSay, nodes: &Nodes, exists: &dyn Fn(&str) -> bool, d: &mut Diags<'_>) {
    let how = crate::ivr::say::SayAs::parse(s.how.get_ref());
    if how.is_none() {
        let msg = format!(
            "`as` must be digits, number, money or duration, not `{}`",
            s.how.get_ref()
        );
        d.at(s.how.span(), msg);
    }
    match (&s.var, &s.value) {
        (Some(v), None) => var_name(v, d),
        (None, Some(lit)) => {
            if let Some(Err(e)) = how.map(|h| crate::ivr::say::say(h, lit.get_ref())) {
                d.at(lit.span(), e.to_string());
            }
        }
        _ => d.at(s.how.span(), "`say` needs exactly one of `var` or `value`"),
    }
    for list in [&s.before, &s.after].into_iter().flatten() {
        prompts(list, "prompts", false, exists, d);
    }
    if let Some(missing) = crate::ivr::say::all_fragments()
        .into_iter()
        .find(|f| !exists(f))
    {
        let msg = format!("unknown prompt `{missing}` (say fragment; run media/generate.sh)");
        d.at(s.how.span(), msg);
    }
    target(&s.next, "next", nodes, d);
}

fn check_branch(b: &RawBranch, nodes: &Nodes, d: &mut Diags<'_>) {
    if b.cases.get_ref().is_empty() {
        d.at(b.cases.span(), "a branch needs at least one case");
    }
    for case in b.cases.get_ref() {
        check_case(case, nodes, d);
    }
    target(&b.default, "default", nodes, d);
}

fn check_case(case: &Sp<RawCase>, nodes: &Nodes, d: &mut Diags<'_>) {
    let c = case.get_ref();
    let tests = [
        c.equals.is_some(),
        c.prefix.is_some(),
        c.matches.is_some(),
        c.one_of.is_some(),
    ];
    let n_tests = tests.iter().filter(|t| **t).count();
    if n_tests > 1 {
        d.at(
            case.span(),
            "a case takes at most one of equals, prefix, matches, one_of",
        );
    }
    if n_tests > 0 && c.var.is_none() {
        d.at(case.span(), "a case with a test needs `var`");
    }
    if c.var.is_none() && c.time.is_none() && c.days.is_none() {
        d.at(case.span(), "a case needs `var`, `time` or `days`");
    }
    if let Some(v) = &c.var {
        var_name(v, d);
    }
    if let Some(p) = &c.matches {
        if let Err(e) = cond::parse_pattern(p.get_ref()) {
            d.at(p.span(), e);
        }
    }
    if let Some(t) = &c.time {
        if let Err(e) = cond::parse_window(t.get_ref()) {
            d.at(t.span(), e);
        }
    }
    for day in c.days.iter().flatten() {
        if let Err(e) = cond::parse_day(day.get_ref()) {
            d.at(day.span(), e);
        }
    }
    if let Some(tz) = &c.tz {
        if let Err(e) = cond::parse_zone(tz.get_ref()) {
            d.at(tz.span(), e);
        }
    }
    target(&c.goto, "goto", nodes, d);
}

fn check_hours(h: &RawHours, nodes: &Nodes, d: &mut Diags<'_>) {
    if let Err(e) = cond::parse_zone(h.tz.get_ref()) {
        d.at(h.tz.span(), e);
    }
    for (day, windows) in h.weekly.get_ref() {
        if let Err(e) = cond::parse_day(day.get_ref()) {
            d.at(day.span(), e);
        }
        for w in windows {
            if let Err(e) = cond::parse_window(w.get_ref()) {
                d.at(w.span(), e);
            }
        }
    }
    for date in h.holidays.iter().flatten() {
        if let Err(e) = cond::parse_date(date.get_ref()) {
            d.at(date.span(), e);
        }
    }
    target(&h.open, "open", nodes, d);
    target(&h.closed, "closed", nodes, d);
    if let Some(t) = &h.holiday {
        target(t, "holiday", nodes, d);
    }
}

fn check_test(t: &RawTest, d: &mut Diags<'_>) {
    if let Some(at) = &t.at {
        if let Err(e) = parse_at(at.get_ref()) {
            d.at(at.span(), e);
        }
    }
    if t.expect.is_empty() {
        d.at(t.name.span(), "a test needs at least one `expect` line");
    }
}

/// A test's or the simulator's `--at`: `2026-12-25T10:00[Europe/Paris]`,
/// an RFC 3339 instant, or a civil time taken as UTC.
pub fn parse_at(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(z) = s.parse::<jiff::Zoned>() {
        return Ok(z.timestamp());
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| format!("time `{s}` must look like 2026-12-25T10:00[Europe/Paris]"))
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
        RawNode::Queue(q) => std::iter::once(&q.on_timeout)
            .chain(q.on_overflow.as_ref())
            .chain(q.on_callback.as_ref())
            .collect(),
        RawNode::Hangup(_) => Vec::new(),
        RawNode::Collect(c) => vec![&c.on_fail, &c.next],
        RawNode::Say(s) => vec![&s.next],
        RawNode::Set(s) => vec![&s.next],
        RawNode::Goto(g) => vec![&g.next],
        RawNode::Subflow(c) => vec![&c.call, &c.next],
        RawNode::Return(_) => Vec::new(),
        RawNode::Http(h) => h.targets(),
        RawNode::Transfer(t) => vec![&t.on_error],
        RawNode::Callback(c) => vec![&c.next, &c.on_error],
        RawNode::Record(r) => r.targets(),
        RawNode::Branch(b) => b
            .cases
            .get_ref()
            .iter()
            .map(|c| &c.get_ref().goto)
            .chain(std::iter::once(&b.default))
            .collect(),
        RawNode::Hours(h) => {
            let mut out = vec![&h.open, &h.closed];
            out.extend(h.holiday.as_ref());
            out
        }
    }
}

/// Whether the caller can act (or the call can leave) at this node.
fn waits(node: &RawNode) -> bool {
    matches!(
        node,
        RawNode::Menu(_)
            | RawNode::Collect(_)
            | RawNode::Queue(_)
            | RawNode::Hangup(_)
            | RawNode::Record(_)
    )
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
            Some((
                _,
                RawNode::Queue(_) | RawNode::Hangup(_) | RawNode::Transfer(_)
            ))
        )
    });
    if !has_exit {
        d.at(
            raw.start.span(),
            "no queue or hangup node is reachable from `start`",
        );
    }
    input_free_loops(&raw.nodes, d);
    if has_exit && d.is_empty() {
        dead_ends(raw, &reached, d);
    }
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

/// Cycles through nodes that never wait for the caller (play, say, set,
/// branch, hours, goto, http, transfer): the caller would be stuck with no
/// menu to answer and no queue or hangup — or, through a transfer's
/// `on_error`, the flow would dial out again and again. Reported once per cycle, at its first node by name.
fn input_free_loops(nodes: &Nodes, d: &mut Diags<'_>) {
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for start in nodes.keys() {
        let Some(cycle) = cycle_from(start, nodes) else {
            continue;
        };
        let Some(first) = cycle.iter().min().cloned() else {
            continue;
        };
        if cycle.iter().any(|n| reported.contains(n)) {
            continue;
        }
        reported.insert(first.clone());
        let at = cycle.iter().position(|n| *n == first).unwrap_or(0);
        let mut path: Vec<&str> = cycle[at..]
            .iter()
            .chain(&cycle[..at])
            .map(String::as_str)
            .collect();
        path.push(first.as_str());
        let msg = format!("loop with no exit or input: {}", path.join(" -> "));
        let span = match nodes.get(&first) {
            Some((_, RawNode::Play(p))) => p.next.span(),
            Some((span, _)) => span.clone(),
            None => 0..0,
        };
        d.at(span, msg);
    }
}

/// A cycle of non-waiting nodes reachable from `start` through non-waiting
/// nodes only (depth-first, bounded by the node count), if any.
fn cycle_from(start: &str, nodes: &Nodes) -> Option<Vec<String>> {
    let mut path: Vec<String> = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    dfs(start, nodes, &mut path, &mut done)
}

fn dfs(
    name: &str,
    nodes: &Nodes,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    let (_, node) = nodes.get(name)?;
    if waits(node) || done.contains(name) {
        return None;
    }
    if let Some(at) = path.iter().position(|n| n == name) {
        return Some(path[at..].to_vec());
    }
    path.push(name.to_owned());
    for next in edges(node) {
        if let Some(cycle) = dfs(next.get_ref(), nodes, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(name.to_owned());
    None
}

/// Reachable nodes from which no queue or hangup can be reached: a caller
/// who gets there can never leave the flow.
fn dead_ends(raw: &RawScript, reached: &BTreeSet<&str>, d: &mut Diags<'_>) {
    let mut can_exit: BTreeSet<&str> = raw
        .nodes
        .iter()
        .filter(|(_, (_, n))| {
            matches!(
                n,
                RawNode::Queue(_) | RawNode::Hangup(_) | RawNode::Return(_) | RawNode::Transfer(_)
            )
        })
        .map(|(k, _)| k.as_str())
        .collect();
    loop {
        let before = can_exit.len();
        for (name, (_, node)) in &raw.nodes {
            if edges(node)
                .iter()
                .any(|t| can_exit.contains(t.get_ref().as_str()))
            {
                can_exit.insert(name.as_str());
            }
        }
        if can_exit.len() == before {
            break;
        }
    }
    for (name, (span, _)) in &raw.nodes {
        if reached.contains(name.as_str()) && !can_exit.contains(name.as_str()) {
            let msg = format!("dead end: no queue or hangup can be reached from node `{name}`");
            d.at(span.clone(), msg);
        }
    }
}
