//! The session's nodes beyond play/menu/queue/hangup: `collect` (several
//! digits with terminator, inter-digit timeout and validation pattern),
//! `say`, `set`, `branch`, `hours` and `goto`, plus the call's variables
//! and wall clock (the `Start` wall time plus the injected `now`).

use super::{Flow, IvrCommand, IvrEvent, IvrSession, MenuPhase, State};
use super::{MAX_NOTES, MAX_SUBFLOW_DEPTH, MAX_VARS, MAX_VAR_LEN};
use crate::ivr::say;
use crate::ivr::script::{Node, OpenState};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

impl IvrSession {
    /// A variable: flow variables first, then `caller`, `dnis`, `header.NAME`.
    pub(super) fn lookup(&self, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return Some(v.clone());
        }
        match name {
            "caller" => Some(self.info.caller.clone()),
            "dnis" => Some(self.info.dnis.clone()),
            _ => {
                let header = name.strip_prefix("header.")?;
                self.info
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(header))
                    .map(|(_, v)| v.clone())
            }
        }
    }

    /// Stores a variable, bounded in count and length.
    pub(super) fn put_var(&mut self, name: &str, value: &str) {
        if self.vars.len() >= MAX_VARS && !self.vars.contains_key(name) {
            self.note(format!("set {name}: too many variables, ignored"));
            return;
        }
        let value: String = value.chars().take(MAX_VAR_LEN).collect();
        self.vars.insert(name.to_owned(), value);
    }

    pub(super) fn note(&mut self, line: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(line);
        }
    }

    /// The wall clock at `now`: the `Start` wall time plus the time since.
    pub(super) fn wall(&self, now: Instant) -> jiff::Timestamp {
        let since = self
            .started
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.info.wall.checked_add(since).unwrap_or(self.info.wall)
    }

    /// `${name}` replaced by the variable's value (empty when unset).
    pub(super) fn expand(&self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            match after.find('}') {
                Some(end) => {
                    out.push_str(&self.lookup(&after[..end]).unwrap_or_default());
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[at..]);
                    rest = "";
                }
            }
            if out.len() > MAX_VAR_LEN {
                break;
            }
        }
        out.push_str(rest);
        out.chars().take(MAX_VAR_LEN).collect()
    }

    /// Entering a node other than play, menu, queue and hangup.
    pub(super) fn enter_other(
        &mut self,
        now: Instant,
        name: &str,
        node: &Node,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        match node {
            Node::Collect { .. } => self.collect_enter(now, name, 0, out),
            Node::Say { .. } => self.say_enter(name, node, out),
            Node::Set { vars, next } => {
                for (k, template) in vars {
                    let v = self.expand(template);
                    self.note(format!("set {k}={v}"));
                    self.put_var(k, &v);
                }
                Flow::Goto(next.clone())
            }
            Node::Branch { cases, default } => {
                let wall = self.wall(now);
                let lookup = |n: &str| self.lookup(n);
                let to = cases
                    .iter()
                    .find(|c| c.holds(&lookup, wall))
                    .map_or(default, |c| &c.goto)
                    .clone();
                self.note(format!("branch {name} -> {to}"));
                Flow::Goto(to)
            }
            Node::Hours {
                hours,
                open,
                closed,
                holiday,
            } => {
                let (what, to) = match hours.state(self.wall(now)) {
                    OpenState::Open => ("open", open),
                    OpenState::Closed => ("closed", closed),
                    OpenState::Holiday => ("holiday", holiday),
                };
                let to = to.clone();
                self.note(format!("hours {name}: {what} -> {to}"));
                Flow::Goto(to)
            }
            Node::Goto { next } => Flow::Goto(next.clone()),
            Node::Subflow { call, next } => {
                if self.returns.len() >= MAX_SUBFLOW_DEPTH {
                    self.note(format!("subflow {name}: deeper than {MAX_SUBFLOW_DEPTH}"));
                    return Flow::Goto(String::new());
                }
                self.returns.push(next.clone());
                Flow::Goto(call.clone())
            }
            Node::Return => match self.returns.pop() {
                Some(back) => Flow::Goto(back),
                None => {
                    self.note(format!("return {name}: no subflow to return to"));
                    Flow::Goto(String::new())
                }
            },
            Node::Http(h) => self.http_enter(now, name, h, out),
            Node::Transfer { uri, timeout_s, .. } => {
                self.transfer_enter(now, name, uri, *timeout_s, out)
            }
            Node::Record(r) => self.record_enter(now, name, r, out),
            Node::Callback {
                number, on_error, ..
            } => self.callback_enter(now, name, number, on_error, out),
            Node::Play { .. } | Node::Menu { .. } | Node::Queue { .. } | Node::Hangup { .. } => {
                Flow::Goto(String::new())
            }
        }
    }

    fn say_enter(&mut self, name: &str, node: &Node, out: &mut Vec<IvrCommand>) -> Flow {
        let Node::Say {
            how,
            source,
            literal,
            before,
            after,
            interruptible,
            next,
        } = node
        else {
            return Flow::Goto(String::new());
        };
        let value = if *literal {
            Some(source.clone())
        } else {
            self.lookup(source)
        };
        let spoken = match value.as_deref().map(|v| say::say(*how, v)) {
            Some(Ok(fragments)) => fragments,
            Some(Err(e)) => {
                self.note(format!("say {name}: {e}"));
                Vec::new()
            }
            None => {
                self.note(format!("say {name}: `{source}` is not set"));
                Vec::new()
            }
        };
        let prompts: Vec<String> = before.iter().chain(&spoken).chain(after).cloned().collect();
        if prompts.is_empty() || (*interruptible && !self.typeahead.is_empty()) {
            return Flow::Goto(next.clone());
        }
        out.push(IvrCommand::Play {
            prompts,
            interruptible: *interruptible,
        });
        self.state = State::Playing {
            node: name.to_owned(),
            interruptible: *interruptible,
        };
        Flow::Wait
    }

    /// Entering (or replaying) a collect: kept digits count at once.
    fn collect_enter(
        &mut self,
        now: Instant,
        name: &str,
        failures: u32,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let script = Arc::clone(&self.script);
        let Some(Node::Collect { prompts, .. }) = script.nodes.get(name) else {
            return Flow::Goto(String::new());
        };
        self.set_collect(name, MenuPhase::Prompt, String::new(), failures);
        if !self.typeahead.is_empty() {
            let mut flow = Flow::Wait;
            while let Some(d) = self.typeahead.pop_front() {
                flow = self.collect_digit(now, name, d, out);
                if !matches!(self.state, State::Collect { .. }) || matches!(flow, Flow::Goto(_)) {
                    return flow;
                }
            }
            return flow;
        }
        out.push(IvrCommand::Play {
            prompts: prompts.clone(),
            interruptible: true,
        });
        Flow::Wait
    }

    fn set_collect(&mut self, node: &str, phase: MenuPhase, buf: String, failures: u32) {
        self.state = State::Collect {
            node: node.to_owned(),
            phase,
            buf,
            failures,
        };
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn step_collect(
        &mut self,
        now: Instant,
        node: &str,
        phase: MenuPhase,
        buf: String,
        failures: u32,
        ev: IvrEvent,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let _ = buf;
        match (phase, ev) {
            (MenuPhase::Prompt | MenuPhase::Feedback, IvrEvent::Digit(d)) => {
                out.push(IvrCommand::StopPlayback);
                if phase == MenuPhase::Feedback {
                    self.set_collect(node, MenuPhase::Prompt, String::new(), failures);
                }
                self.collect_digit(now, node, d, out)
            }
            (MenuPhase::Waiting { .. }, IvrEvent::Digit(d)) => {
                self.collect_digit(now, node, d, out)
            }
            (MenuPhase::Prompt, IvrEvent::PromptDone) => {
                let wait = match self.script.nodes.get(node) {
                    Some(Node::Collect { timeout_ms, .. }) => ms(*timeout_ms),
                    _ => Duration::ZERO,
                };
                let deadline = now.checked_add(wait).unwrap_or(now);
                self.set_collect(
                    node,
                    MenuPhase::Waiting { deadline },
                    String::new(),
                    failures,
                );
                Flow::Wait
            }
            (MenuPhase::Feedback, IvrEvent::PromptDone) => {
                self.collect_enter(now, node, failures, out)
            }
            (MenuPhase::Waiting { deadline }, IvrEvent::Timeout) if now >= deadline => {
                self.collect_finish(now, node, out)
            }
            _ => Flow::Wait,
        }
    }

    /// One digit into the buffer: the terminator or the last allowed digit
    /// ends the entry, any other waits for the next within the inter-digit time.
    fn collect_digit(
        &mut self,
        now: Instant,
        node: &str,
        d: char,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let Some(Node::Collect {
            terminator,
            max_digits,
            inter_digit_ms,
            ..
        }) = self.script.nodes.get(node)
        else {
            return Flow::Goto(String::new());
        };
        let (terminator, max, inter) = (*terminator, *max_digits, ms(*inter_digit_ms));
        let State::Collect { buf, failures, .. } = &mut self.state else {
            return Flow::Wait;
        };
        if Some(d) == terminator {
            return self.collect_finish(now, node, out);
        }
        buf.push(d);
        let full = buf.chars().count() >= usize::try_from(max).unwrap_or(usize::MAX);
        let (buf, failures) = (buf.clone(), *failures);
        if full {
            self.set_collect(node, MenuPhase::Prompt, buf, failures);
            return self.collect_finish(now, node, out);
        }
        let deadline = now.checked_add(inter).unwrap_or(now);
        self.set_collect(node, MenuPhase::Waiting { deadline }, buf, failures);
        Flow::Wait
    }

    /// The entry is over: store it and go on, or count a failure.
    fn collect_finish(&mut self, now: Instant, node: &str, out: &mut Vec<IvrCommand>) -> Flow {
        let State::Collect { buf, failures, .. } = self.state.clone() else {
            return Flow::Wait;
        };
        let script = Arc::clone(&self.script);
        let Some(Node::Collect {
            min_digits,
            pattern,
            into,
            max_tries,
            invalid_prompts,
            on_fail,
            next,
            ..
        }) = script.nodes.get(node)
        else {
            return Flow::Goto(String::new());
        };
        let long_enough = buf.chars().count() >= usize::try_from(*min_digits).unwrap_or(0);
        let matches = pattern.as_ref().is_none_or(|p| p.is_match(&buf));
        if !buf.is_empty() && long_enough && matches {
            self.note(format!("collect {into}={buf}"));
            self.put_var(into, &buf);
            return Flow::Goto(next.clone());
        }
        let what = if buf.is_empty() {
            "no input"
        } else {
            "invalid"
        };
        self.note(format!("collect {into}: {what} `{buf}`"));
        self.typeahead.clear();
        let failures = failures.saturating_add(1);
        if failures >= *max_tries {
            return Flow::Goto(on_fail.clone());
        }
        if invalid_prompts.is_empty() {
            return self.collect_enter(now, node, failures, out);
        }
        out.push(IvrCommand::Play {
            prompts: invalid_prompts.clone(),
            interruptible: true,
        });
        self.set_collect(node, MenuPhase::Feedback, String::new(), failures);
        Flow::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::super::{IvrCommand, IvrEvent::*, IvrSession, SessionInfo};
    use crate::ivr::script::load_str;
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    const FLOW: &str = r#"
name = "t"
start = "who"
[nodes.who]
type = "branch"
default = "ask"
[[nodes.who.cases]]
var = "header.X-Tier"
equals = "gold"
goto = "gold"
[[nodes.who.cases]]
var = "caller"
prefix = "+44"
time = "09:00-17:00"
tz = "Europe/London"
goto = "uk"
[nodes.gold]
type = "set"
vars = { greeting = "vip ${caller} on ${dnis}" }
next = "bye"
[nodes.uk]
type = "hangup"
cause = "uk"
[nodes.ask]
type = "collect"
prompts = ["enter"]
min_digits = 2
max_digits = 4
inter_digit_ms = 1000
pattern = "[0-9]+"
into = "acct"
max_tries = 2
invalid_prompts = ["invalid"]
on_fail = "bye"
next = "read"
[nodes.read]
type = "say"
as = "number"
var = "acct"
next = "bye"
[nodes.bye]
type = "hangup"
"#;

    fn session(caller: &str, headers: &[(&str, &str)], wall: &str) -> IvrSession {
        let flow = load_str(FLOW, "t.toml", &|_| true).unwrap_or_else(|e| panic!("{e}"));
        let info = SessionInfo {
            caller: caller.into(),
            dnis: "102".into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            wall: wall
                .parse::<jiff::Zoned>()
                .map(|z| z.timestamp())
                .unwrap_or_default(),
        };
        IvrSession::with_info(Arc::new(flow), 1, info)
    }

    fn play(p: &[&str]) -> IvrCommand {
        IvrCommand::Play {
            prompts: p.iter().map(|s| s.to_string()).collect(),
            interruptible: true,
        }
    }

    fn hangup(cause: &str) -> IvrCommand {
        IvrCommand::Hangup {
            cause: cause.into(),
        }
    }

    #[test]
    fn header_branch_and_set_expand_caller_and_dnis() {
        let mut s = session("1000", &[("x-tier", "gold")], "2026-12-03T12:00[UTC]");
        let t = Instant::now();
        assert_eq!(s.handle(t, Start), [hangup("normal")]);
        assert_eq!(s.var("greeting").as_deref(), Some("vip 1000 on 102"));
        assert_eq!(
            s.take_notes(),
            ["branch who -> gold", "set greeting=vip 1000 on 102"]
        );
    }

    #[test]
    fn time_condition_uses_start_wall_time_plus_elapsed() {
        let t = Instant::now();
        // 16:59 in London: open window.
        let mut s = session("+4420", &[], "2026-12-03T16:59[Europe/London]");
        assert_eq!(s.handle(t, Start), [hangup("uk")]);
        // 17:00: outside, so the default (collect) runs.
        let mut s = session("+4420", &[], "2026-12-03T17:00[Europe/London]");
        assert_eq!(s.handle(t, Start), [play(&["enter"])]);
    }

    #[test]
    fn collect_ends_on_inter_digit_timeout_and_says_the_number() {
        let t = Instant::now();
        let mut s = session("1", &[], "2026-12-03T20:00[UTC]");
        s.handle(t, Start);
        assert_eq!(s.handle(t, PromptDone), []);
        assert_eq!(s.poll_timeout(), Some(t + Duration::from_millis(5000)));
        assert_eq!(s.handle(t, Digit('4')), []);
        assert_eq!(s.handle(t, Digit('2')), []);
        let due = s.poll_timeout().expect("inter-digit wait");
        assert_eq!(due, t + Duration::from_millis(1000));
        assert_eq!(s.handle(due, Timeout), [play(&["n40", "n2"])]);
        assert_eq!(s.var("acct").as_deref(), Some("42"));
        assert_eq!(s.handle(due, PromptDone), [hangup("normal")]);
    }

    #[test]
    fn collect_ends_at_max_digits_or_terminator() {
        let t = Instant::now();
        let mut s = session("1", &[], "2026-12-03T20:00[UTC]");
        s.handle(t, Start);
        s.handle(t, Digit('1'));
        s.handle(t, Digit('2'));
        s.handle(t, Digit('3'));
        let cmds = s.handle(t, Digit('4'));
        assert_eq!(
            cmds,
            [play(&["n1", "thousand", "n2", "hundred", "n30", "n4"])]
        );
        let mut s = session("1", &[], "2026-12-03T20:00[UTC]");
        s.handle(t, Start);
        s.handle(t, Digit('7'));
        s.handle(t, Digit('7'));
        assert_eq!(s.handle(t, Digit('#')), [play(&["n70", "n7"])]);
    }

    #[test]
    fn too_short_entries_replay_then_fail_after_max_tries() {
        let t = Instant::now();
        let mut s = session("1", &[], "2026-12-03T20:00[UTC]");
        s.handle(t, Start);
        assert_eq!(
            s.handle(t, Digit('5')),
            [IvrCommand::StopPlayback],
            "first digit stops the prompt"
        );
        assert_eq!(s.handle(t, Digit('#')), [play(&["invalid"])]);
        assert_eq!(s.handle(t, PromptDone), [play(&["enter"])]);
        s.handle(t, PromptDone);
        let due = s.poll_timeout().expect("waits for the first digit");
        assert_eq!(s.handle(due, Timeout), [hangup("normal")]);
        assert!(s.var("acct").is_none());
        assert!(s.is_finished());
    }

    #[test]
    fn subflow_returns_to_its_next_and_a_bare_return_ends_the_call() {
        const SUB: &str = r#"
name = "s"
start = "first"
[nodes.first]
type = "subflow"
call = "greet"
next = "second"
[nodes.second]
type = "subflow"
call = "greet"
next = "done"
[nodes.greet]
type = "play"
prompts = ["welcome"]
next = "back"
[nodes.back]
type = "return"
[nodes.done]
type = "branch"
default = "back"
[[nodes.done.cases]]
var = "unset"
goto = "bye"
[nodes.bye]
type = "hangup"
"#;
        let flow = load_str(SUB, "s.toml", &|_| true).unwrap_or_else(|e| panic!("{e}"));
        let mut s = IvrSession::new(Arc::new(flow), 1);
        let t = Instant::now();
        assert_eq!(s.handle(t, Start), [play(&["welcome"])]);
        assert_eq!(s.handle(t, PromptDone), [play(&["welcome"])]);
        assert_eq!(
            s.handle(t, PromptDone),
            [hangup(crate::ivr::session::CAUSE_SCRIPT_ERROR)]
        );
        assert_eq!(
            s.take_notes(),
            [
                "branch done -> back",
                "return back: no subflow to return to"
            ]
        );
    }
}
