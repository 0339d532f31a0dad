//! The IVR session: the pure interpreter of one call's flow (MISSION.md
//! IP-IVR steps: prompts, DTMF menus, queueing with hold music until the CTI
//! finds an agent). `handle(now, event) -> commands`; the timers (a menu's
//! or collect's no-input timeout, an http node's answer timeout) are a
//! deadline returned by `poll_timeout`. The http node (interface D) asks
//! the shell with `HttpRequest` and waits for `HttpResponse`/`HttpFailed`. The
//! shell owns the media player (RFC 4733 digits in, prompts out) and the
//! CTI channel (interface B, docs/design/call-flow.md).
//!
//! Barge-in and type-ahead: a digit pressed during an interruptible prompt
//! stops it and is kept; a digit pressed during a non-interruptible prompt
//! is kept without stopping it. Kept digits are consumed by the next menu at
//! once, and an interruptible prompt entered while digits are kept is
//! skipped (it would be interrupted at once anyway).

mod callback;
mod http;
mod nodes;
mod queue;
mod record;
#[cfg(test)]
mod record_tests;
mod transfer;
pub use queue::{ESTIMATE_PROMPT, POSITION_PROMPT};
use record::RecordPhase;
pub use record::{RecordCommand, RecordResult, RECORD_GRACE};
#[cfg(test)]
mod queue_tests;

pub use http::{json_path, url_encode, HttpRequest, MAX_HTTP_BODY};

use super::script::{is_dtmf, Node, Script};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most digits recorded for the CDR; later ones are not recorded.
pub const MAX_RECORDED_DIGITS: usize = 128;
/// Most digits kept for type-ahead; later ones are dropped.
pub const MAX_TYPEAHEAD: usize = 16;
/// Most node transitions in one `handle` call before the session gives up
/// on the script (only a script built without the loader can loop).
pub const MAX_HOPS: usize = 256;
/// Hangup cause when the script names a missing node or loops.
pub const CAUSE_SCRIPT_ERROR: &str = "script-error";
/// Most flow variables per call, and the longest value kept.
pub const MAX_VARS: usize = 64;
pub const MAX_VAR_LEN: usize = 256;
/// Most nested `subflow` calls.
pub const MAX_SUBFLOW_DEPTH: usize = 8;
/// Most trace notes kept between two [`IvrSession::take_notes`].
pub const MAX_NOTES: usize = 64;

/// What the IVR knows about the call when it starts: the caller (From
/// user part), the dialled service number (DNIS) and the INVITE's headers,
/// plus the wall-clock instant of `Start` for hours and time conditions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionInfo {
    pub caller: String,
    pub dnis: String,
    /// Header name (any case) → value.
    pub headers: BTreeMap<String, String>,
    /// Wall-clock time at `Start`; the epoch when unknown.
    pub wall: jiff::Timestamp,
}

/// What the shell reports to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrEvent {
    /// The call is answered: run the flow from `start`.
    Start,
    /// A DTMF key (RFC 4733 event or SIP INFO) was received.
    Digit(char),
    /// The last `Play` finished playing.
    PromptDone,
    /// `poll_timeout()`'s deadline passed.
    Timeout,
    /// The CTI's queue timeout for this contact expired.
    QueueTimeout,
    /// The CTI has no agent for the queue (reject policy).
    NoAgents,
    /// The CTI chose an agent; the SoftACD takes the call away.
    AgentFound,
    /// The caller hung up.
    Hangup,
    /// The answer to `HttpRequest` `id`: status and body (bounded by the shell).
    HttpResponse { id: u64, status: u16, body: String },
    /// `HttpRequest` `id` failed (connect, timeout, too large, refused host).
    HttpFailed { id: u64, reason: String },
    /// The transfer target answered; the SoftACD takes the call away.
    TransferAnswered,
    /// The transfer failed (busy, no answer, SIP failure, refused URI).
    TransferFailed { code: u16 },
    /// The voicemail recorder's report (a `record` node).
    Record(RecordResult),
    /// The CTI's answer to `QueryPosition`: 1-based place in line (0: not
    /// queued) and the estimated wait in seconds (`None`: no agent could serve).
    QueuePosition { position: u32, ewt_s: Option<u32> },
    /// The SoftACD registered the callback asked by `RequestCallback`.
    CallbackRegistered,
    /// The SoftACD refused it (no place in line, too many callbacks).
    CallbackRefused,
}

/// What the session asks the shell to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrCommand {
    /// Play these prompts in order, then report `PromptDone`.
    Play {
        prompts: Vec<String>,
        interruptible: bool,
    },
    /// Stop whatever is playing (no `PromptDone` is expected for it).
    StopPlayback,
    /// Play `announce` once, then loop `music` until stopped.
    PlayHold {
        music: String,
        announce: Vec<String>,
    },
    /// Ask the CTI (interface B) for an agent.
    RequestAgent {
        queue: String,
        skills: Vec<String>,
        priority: u8,
    },
    /// Take this contact out of its CTI queue (max wait or callback key).
    LeaveQueue,
    /// Ask the CTI for this contact's place in line (answered by `QueuePosition`).
    QueryPosition,
    /// Release the call with this cause.
    Hangup { cause: String },
    /// Interface D: perform this HTTP request, then report `HttpResponse`
    /// or `HttpFailed` with the same `id` (the session fails over on its
    /// own after `timeout_ms` if nothing comes back).
    HttpRequest(HttpRequest),
    /// Interface B: send the caller to `uri`, ringing at most `timeout_s`;
    /// answered by `TransferAnswered` or `TransferFailed`.
    Transfer { uri: String, timeout_s: u32 },
    /// Start or stop a voicemail recording (a `record` node).
    Record(RecordCommand),
    /// Interface B: the caller leaves `number` and keeps their place in
    /// line (a `callback` node); answered by `CallbackRegistered` or
    /// `CallbackRefused`.
    RequestCallback { number: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MenuPhase {
    /// The menu's own prompts are playing.
    Prompt,
    /// Prompts done; waiting for a digit until the deadline.
    Waiting { deadline: Instant },
    /// The invalid or timeout prompts are playing; the menu replays after.
    Feedback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    Playing {
        node: String,
        interruptible: bool,
    },
    Menu {
        node: String,
        phase: MenuPhase,
        failures: u32,
    },
    Queued {
        node: String,
        /// The node's `max_wait_s` deadline, if it has one.
        deadline: Option<Instant>,
        /// When to ask the position for the next periodic announcement.
        announce_at: Option<Instant>,
        /// A position announcement is playing instead of the hold music.
        announcing: bool,
    },
    Collect {
        node: String,
        phase: MenuPhase,
        buf: String,
        failures: u32,
    },
    /// An http node waits for the answer to request `id`.
    Http {
        node: String,
        id: u64,
        deadline: Instant,
    },
    /// A transfer node waits for the SoftACD's verdict (or its own
    /// fallback deadline, should interface B lose the answer).
    Transfer {
        node: String,
        deadline: Instant,
    },
    /// A callback node waits for the SoftACD's verdict.
    Callback {
        node: String,
        deadline: Instant,
    },
    /// A record node: prompts, then the recording (id 0 before it starts).
    Record {
        node: String,
        id: u64,
        phase: RecordPhase,
    },
    Finished,
}

/// Where a transition leads: wait for the next event, or enter a node.
enum Flow {
    Wait,
    Goto(String),
}

/// One call's run through a script.
#[derive(Debug)]
pub struct IvrSession {
    script: Arc<Script>,
    contact: u64,
    state: State,
    digits: String,
    typeahead: VecDeque<char>,
    info: SessionInfo,
    vars: BTreeMap<String, String>,
    /// The `Instant` of `Start`, paired with `info.wall`.
    started: Option<Instant>,
    notes: Vec<String>,
    /// Where each open `subflow` returns to.
    returns: Vec<String>,
    /// The id of the latest `HttpRequest`.
    http_seq: u64,
    /// The id of the latest recording.
    record_seq: u64,
    /// The path of the call's voicemail, for the CDR.
    voicemail: Option<String>,
}

impl IvrSession {
    /// A session for contact `contact`, idle until [`IvrEvent::Start`].
    pub fn new(script: Arc<Script>, contact: u64) -> Self {
        Self::with_info(script, contact, SessionInfo::default())
    }

    /// A session that knows its caller, DNIS, headers and start time.
    pub fn with_info(script: Arc<Script>, contact: u64, info: SessionInfo) -> Self {
        IvrSession {
            script,
            contact,
            state: State::Idle,
            digits: String::new(),
            typeahead: VecDeque::new(),
            info,
            vars: BTreeMap::new(),
            started: None,
            notes: Vec::new(),
            returns: Vec::new(),
            http_seq: 0,
            record_seq: 0,
            voicemail: None,
        }
    }

    /// Feeds one event; returns the commands to perform, in order.
    pub fn handle(&mut self, now: Instant, ev: IvrEvent) -> Vec<IvrCommand> {
        let mut out = Vec::new();
        if self.state == State::Finished {
            return out;
        }
        if let IvrEvent::Digit(d) = ev {
            if !is_dtmf(d) {
                return out;
            }
            if self.state != State::Idle {
                self.record(d);
            }
        }
        let flow = match ev {
            IvrEvent::Hangup => {
                self.record_hangup(now);
                self.state = State::Finished;
                Flow::Wait
            }
            _ => self.step(now, ev, &mut out),
        };
        if let Flow::Goto(node) = flow {
            self.enter(now, node, &mut out);
        }
        out
    }

    /// When to call `handle(now, IvrEvent::Timeout)`, if a menu or a
    /// digit collection is waiting.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Menu {
                phase: MenuPhase::Waiting { deadline },
                ..
            }
            | State::Collect {
                phase: MenuPhase::Waiting { deadline },
                ..
            }
            | State::Http { deadline, .. }
            | State::Transfer { deadline, .. }
            | State::Callback { deadline, .. } => Some(*deadline),
            State::Record { phase, .. } => phase.deadline(),
            State::Queued {
                deadline,
                announce_at,
                ..
            } => match (deadline, announce_at) {
                (Some(d), Some(a)) => Some((*d).min(*a)),
                (d, a) => d.or(*a),
            },
            _ => None,
        }
    }

    /// Sets a flow variable before `Start` (the simulator's `--var`).
    pub fn set_var(&mut self, name: &str, value: &str) {
        self.put_var(name, value);
    }

    /// A flow variable, or `caller`, `dnis`, `header.NAME`.
    pub fn var(&self, name: &str) -> Option<String> {
        self.lookup(name)
    }

    /// What the flow did since the last call (sets, branches, collected
    /// values), for logs and the simulator's trace; at most [`MAX_NOTES`].
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Every digit pressed after `Start` (at most [`MAX_RECORDED_DIGITS`]), for the CDR.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The voicemail this call left (a file path), for the CDR.
    pub fn voicemail(&self) -> Option<&str> {
        self.voicemail.as_deref()
    }

    /// The script's version hash, for the CDR.
    pub fn script_version(&self) -> &str {
        &self.script.version
    }

    /// The contact this session serves.
    pub fn contact(&self) -> u64 {
        self.contact
    }

    /// True once the flow hung up, the caller left, or an agent took the call.
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    fn record(&mut self, d: char) {
        if self.digits.len() < MAX_RECORDED_DIGITS {
            self.digits.push(d);
        }
    }

    fn keep(&mut self, d: char) {
        if self.typeahead.len() < MAX_TYPEAHEAD {
            self.typeahead.push_back(d);
        }
    }

    /// One event in the current state.
    fn step(&mut self, now: Instant, ev: IvrEvent, out: &mut Vec<IvrCommand>) -> Flow {
        match self.state.clone() {
            State::Idle if ev == IvrEvent::Start => {
                self.started = Some(now);
                Flow::Goto(self.script.start.clone())
            }
            State::Playing {
                node,
                interruptible,
            } => self.step_play(&node, interruptible, ev, out),
            State::Menu {
                node,
                phase,
                failures,
            } => self.step_menu(now, &node, phase, failures, ev, out),
            State::Queued { node, deadline, .. } => self.step_queue(now, &node, deadline, ev, out),
            State::Collect {
                node,
                phase,
                buf,
                failures,
            } => self.step_collect(now, &node, phase, buf, failures, ev, out),
            State::Http { node, id, deadline } => self.step_http(now, &node, id, deadline, ev),
            State::Transfer { node, deadline } => self.step_transfer(now, &node, deadline, ev),
            State::Callback { node, deadline } => self.step_callback(now, &node, deadline, ev),
            State::Record { node, id, phase } => self.step_record(now, &node, id, phase, ev, out),
            _ => Flow::Wait,
        }
    }

    fn step_play(
        &mut self,
        node: &str,
        interruptible: bool,
        ev: IvrEvent,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        match ev {
            IvrEvent::Digit(d) => {
                self.keep(d);
                if !interruptible {
                    return Flow::Wait;
                }
                out.push(IvrCommand::StopPlayback);
                self.next_of(node)
            }
            IvrEvent::PromptDone => self.next_of(node),
            _ => Flow::Wait,
        }
    }

    fn next_of(&self, node: &str) -> Flow {
        match self.script.nodes.get(node) {
            Some(Node::Play { next, .. } | Node::Say { next, .. }) => Flow::Goto(next.clone()),
            _ => Flow::Goto(String::new()),
        }
    }

    fn step_menu(
        &mut self,
        now: Instant,
        node: &str,
        phase: MenuPhase,
        failures: u32,
        ev: IvrEvent,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        match (phase, ev) {
            (MenuPhase::Prompt | MenuPhase::Feedback, IvrEvent::Digit(d)) => {
                out.push(IvrCommand::StopPlayback);
                self.menu_select(node, failures, d, out)
            }
            (MenuPhase::Waiting { .. }, IvrEvent::Digit(d)) => {
                self.menu_select(node, failures, d, out)
            }
            (MenuPhase::Prompt, IvrEvent::PromptDone) => {
                let deadline = now.checked_add(self.menu_timeout(node)).unwrap_or(now);
                self.set_menu(node, MenuPhase::Waiting { deadline }, failures);
                Flow::Wait
            }
            (MenuPhase::Feedback, IvrEvent::PromptDone) => self.menu_prompt(node, failures, out),
            (MenuPhase::Waiting { deadline }, IvrEvent::Timeout) if now >= deadline => {
                let prompts = match self.script.nodes.get(node) {
                    Some(Node::Menu {
                        timeout_prompts, ..
                    }) => timeout_prompts.clone(),
                    _ => Vec::new(),
                };
                self.menu_fail(node, failures.saturating_add(1), prompts, out)
            }
            _ => Flow::Wait,
        }
    }

    fn menu_timeout(&self, node: &str) -> Duration {
        match self.script.nodes.get(node) {
            Some(Node::Menu { timeout_ms, .. }) => Duration::from_millis(u64::from(*timeout_ms)),
            _ => Duration::ZERO,
        }
    }

    fn set_menu(&mut self, node: &str, phase: MenuPhase, failures: u32) {
        self.state = State::Menu {
            node: node.to_owned(),
            phase,
            failures,
        };
    }

    /// Entering a menu: act on a kept digit at once, else play its prompts.
    fn menu_enter(&mut self, node: &str, failures: u32, out: &mut Vec<IvrCommand>) -> Flow {
        match self.typeahead.pop_front() {
            Some(d) => self.menu_select(node, failures, d, out),
            None => self.menu_prompt(node, failures, out),
        }
    }

    fn menu_prompt(&mut self, node: &str, failures: u32, out: &mut Vec<IvrCommand>) -> Flow {
        let Some(Node::Menu { prompts, .. }) = self.script.nodes.get(node) else {
            return Flow::Goto(String::new());
        };
        out.push(IvrCommand::Play {
            prompts: prompts.clone(),
            interruptible: true,
        });
        self.set_menu(node, MenuPhase::Prompt, failures);
        Flow::Wait
    }

    fn menu_select(
        &mut self,
        node: &str,
        failures: u32,
        d: char,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let Some(Node::Menu {
            choices,
            invalid_prompts,
            ..
        }) = self.script.nodes.get(node)
        else {
            return Flow::Goto(String::new());
        };
        match choices.get(&d) {
            Some(target) => Flow::Goto(target.clone()),
            None => {
                let prompts = invalid_prompts.clone();
                self.menu_fail(node, failures.saturating_add(1), prompts, out)
            }
        }
    }

    /// An invalid or silent try: give up after `max_tries`, else play the
    /// feedback prompts (or replay the menu if there are none).
    fn menu_fail(
        &mut self,
        node: &str,
        failures: u32,
        feedback: Vec<String>,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        self.typeahead.clear();
        let Some(Node::Menu {
            max_tries, on_fail, ..
        }) = self.script.nodes.get(node)
        else {
            return Flow::Goto(String::new());
        };
        if failures >= *max_tries {
            return Flow::Goto(on_fail.clone());
        }
        if feedback.is_empty() {
            return self.menu_prompt(node, failures, out);
        }
        out.push(IvrCommand::Play {
            prompts: feedback,
            interruptible: true,
        });
        self.set_menu(node, MenuPhase::Feedback, failures);
        Flow::Wait
    }

    fn step_queue(
        &mut self,
        now: Instant,
        node: &str,
        deadline: Option<Instant>,
        ev: IvrEvent,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let Some(Node::Queue {
            on_overflow,
            callback_key,
            on_callback,
            ..
        }) = self.script.nodes.get(node)
        else {
            return Flow::Goto(String::new());
        };
        let leave_to = match ev {
            IvrEvent::Timeout if deadline.is_some_and(|d| now >= d) => on_overflow.clone(),
            IvrEvent::Digit(d) if Some(d) == *callback_key => on_callback.clone(),
            _ => None,
        };
        if let Some(target) = leave_to {
            self.note(format!("queue {node}: leave -> {target}"));
            out.push(IvrCommand::StopPlayback);
            out.push(IvrCommand::LeaveQueue);
            return Flow::Goto(target);
        }
        if let Some(flow) = self.queue_announce(now, node, &ev, out) {
            return flow;
        }
        match ev {
            IvrEvent::QueueTimeout | IvrEvent::NoAgents => {
                out.push(IvrCommand::StopPlayback);
                match self.script.nodes.get(node) {
                    Some(Node::Queue { on_timeout, .. }) => Flow::Goto(on_timeout.clone()),
                    _ => Flow::Goto(String::new()),
                }
            }
            IvrEvent::AgentFound => {
                out.push(IvrCommand::StopPlayback);
                self.state = State::Finished;
                Flow::Wait
            }
            _ => Flow::Wait,
        }
    }

    /// Enters `name` and follows transitions until the flow waits.
    fn enter(&mut self, now: Instant, name: String, out: &mut Vec<IvrCommand>) {
        let mut name = name;
        for _ in 0..MAX_HOPS {
            match self.enter_one(now, &name, out) {
                Flow::Wait => return,
                Flow::Goto(next) => name = next,
            }
        }
        self.hang_up(CAUSE_SCRIPT_ERROR, out);
    }

    fn enter_one(&mut self, now: Instant, name: &str, out: &mut Vec<IvrCommand>) -> Flow {
        let script = Arc::clone(&self.script);
        match script.nodes.get(name) {
            None => {
                self.hang_up(CAUSE_SCRIPT_ERROR, out);
                Flow::Wait
            }
            Some(Node::Play {
                prompts,
                interruptible,
                next,
            }) => {
                if prompts.is_empty() || (*interruptible && !self.typeahead.is_empty()) {
                    return Flow::Goto(next.clone());
                }
                out.push(IvrCommand::Play {
                    prompts: prompts.clone(),
                    interruptible: *interruptible,
                });
                self.state = State::Playing {
                    node: name.to_owned(),
                    interruptible: *interruptible,
                };
                Flow::Wait
            }
            Some(Node::Menu { .. }) => self.menu_enter(name, 0, out),
            Some(Node::Queue {
                queue,
                skills,
                priority,
                hold_music,
                announce,
                max_wait_s,
                announce_every_s,
                ..
            }) => {
                self.typeahead.clear();
                let wait = max_wait_s.map(|s| Duration::from_secs(u64::from(s)));
                out.push(IvrCommand::PlayHold {
                    music: hold_music.clone(),
                    announce: announce.clone(),
                });
                out.push(IvrCommand::RequestAgent {
                    queue: queue.clone(),
                    skills: skills.clone(),
                    priority: *priority,
                });
                self.state = State::Queued {
                    node: name.to_owned(),
                    deadline: wait.map(|w| now.checked_add(w).unwrap_or(now)),
                    announce_at: queue::every(now, *announce_every_s),
                    announcing: false,
                };
                Flow::Wait
            }
            Some(Node::Hangup { cause }) => {
                self.hang_up(cause, out);
                Flow::Wait
            }
            Some(node) => self.enter_other(now, name, node, out),
        }
    }

    fn hang_up(&mut self, cause: &str, out: &mut Vec<IvrCommand>) {
        out.push(IvrCommand::Hangup {
            cause: cause.to_owned(),
        });
        self.state = State::Finished;
    }
}

#[cfg(test)]
mod tests {
    use super::IvrCommand::{PlayHold, RequestAgent, StopPlayback};
    use super::IvrEvent::*;
    use super::*;
    use crate::ivr::script::load_str;
    use proptest::prelude::*;

    const MAIN: &str = include_str!("../../ivr-scripts/main.toml");

    fn main_script() -> Arc<Script> {
        Arc::new(load_str(MAIN, "main.toml", &|_| true).unwrap_or_else(|e| panic!("{e}")))
    }

    fn play(names: &[&str], interruptible: bool) -> IvrCommand {
        IvrCommand::Play {
            prompts: names.iter().map(|s| s.to_string()).collect(),
            interruptible,
        }
    }

    fn hold() -> IvrCommand {
        PlayHold {
            music: "hold".into(),
            announce: vec!["queue".into()],
        }
    }

    fn request() -> IvrCommand {
        RequestAgent {
            queue: "support".into(),
            skills: vec!["support".into()],
            priority: 0,
        }
    }

    fn hangup() -> IvrCommand {
        IvrCommand::Hangup {
            cause: "normal".into(),
        }
    }

    /// A session on the shipped flow, started, with the welcome prompt playing.
    fn started() -> (IvrSession, Instant) {
        let t0 = Instant::now();
        let mut s = IvrSession::new(main_script(), 7);
        assert_eq!(s.handle(t0, Start), vec![play(&["welcome"], true)]);
        (s, t0)
    }

    /// Lets the menu prompt end and its 5 s timeout expire at its deadline.
    fn silent_try(s: &mut IvrSession, now: Instant) -> (Instant, Vec<IvrCommand>) {
        assert_eq!(s.handle(now, PromptDone), vec![]);
        let deadline = s.poll_timeout().expect("menu waits for a digit");
        assert_eq!(deadline, now + Duration::from_millis(5000));
        (deadline, s.handle(deadline, Timeout))
    }

    #[test]
    fn demo_contract_info_then_agent() {
        let (mut s, t) = started();
        assert_eq!(s.handle(t, PromptDone), vec![play(&["menu"], true)]);
        assert_eq!(
            s.handle(t, Digit('1')),
            vec![StopPlayback, play(&["info"], true)]
        );
        assert_eq!(s.handle(t, PromptDone), vec![play(&["menu"], true)]);
        assert_eq!(
            s.handle(t, Digit('0')),
            vec![StopPlayback, hold(), request()]
        );
        assert_eq!(
            s.handle(t, Digit('5')),
            vec![],
            "digits in queue are ignored"
        );
        assert_eq!(s.handle(t, PromptDone), vec![]);
        assert!(!s.is_finished());
        assert_eq!(s.handle(t, AgentFound), vec![StopPlayback]);
        assert!(s.is_finished());
        assert_eq!(s.digits(), "105");
        assert_eq!(s.script_version(), main_script().version);
        assert_eq!(s.contact(), 7);
    }

    #[test]
    fn demo_contract_three_timeouts_say_goodbye_and_hang_up() {
        let (mut s, mut now) = started();
        assert_eq!(s.handle(now, PromptDone), vec![play(&["menu"], true)]);
        for _ in 0..2 {
            let (at, cmds) = silent_try(&mut s, now);
            assert_eq!(cmds, vec![play(&["timeout"], true)]);
            assert_eq!(s.poll_timeout(), None);
            assert_eq!(s.handle(at, PromptDone), vec![play(&["menu"], true)]);
            now = at;
        }
        let (at, cmds) = silent_try(&mut s, now);
        assert_eq!(cmds, vec![play(&["goodbye"], false)]);
        assert_eq!(
            s.handle(at, Digit('1')),
            vec![],
            "goodbye is not interruptible"
        );
        assert_eq!(s.handle(at, PromptDone), vec![hangup()]);
        assert!(s.is_finished());
        assert_eq!(s.handle(at, Start), vec![]);
        assert_eq!(s.handle(at, PromptDone), vec![]);
    }

    #[test]
    fn early_timeout_is_ignored() {
        let (mut s, t) = started();
        s.handle(t, PromptDone);
        s.handle(t, PromptDone);
        let deadline = s.poll_timeout().expect("waiting");
        assert_eq!(
            s.handle(deadline - Duration::from_millis(1), Timeout),
            vec![]
        );
        assert_eq!(s.poll_timeout(), Some(deadline));
    }

    #[test]
    fn invalid_digits_count_as_tries() {
        let (mut s, t) = started();
        s.handle(t, PromptDone);
        assert_eq!(
            s.handle(t, Digit('7')),
            vec![StopPlayback, play(&["invalid"], true)]
        );
        assert_eq!(s.handle(t, PromptDone), vec![play(&["menu"], true)]);
        // A silent try counts with the invalid one.
        let (at, cmds) = silent_try(&mut s, t);
        assert_eq!(cmds, vec![play(&["timeout"], true)]);
        // A digit during the feedback prompt is a try too: the third fails.
        assert_eq!(
            s.handle(at, Digit('9')),
            vec![StopPlayback, play(&["goodbye"], false)]
        );
        assert_eq!(s.handle(at, PromptDone), vec![hangup()]);
        assert_eq!(s.digits(), "79");
    }

    #[test]
    fn digit_after_prompt_selects_without_stop() {
        let (mut s, t) = started();
        s.handle(t, PromptDone);
        s.handle(t, PromptDone);
        assert!(s.poll_timeout().is_some());
        assert_eq!(s.handle(t, Digit('1')), vec![play(&["info"], true)]);
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn barge_in_during_welcome_goes_straight_to_queue() {
        let (mut s, t) = started();
        assert_eq!(
            s.handle(t, Digit('0')),
            vec![StopPlayback, hold(), request()]
        );
        assert_eq!(s.digits(), "0");
    }

    #[test]
    fn queue_timeout_and_no_agents_lead_to_goodbye() {
        for ev in [QueueTimeout, NoAgents] {
            let (mut s, t) = started();
            s.handle(t, Digit('0'));
            assert_eq!(
                s.handle(t, ev),
                vec![StopPlayback, play(&["goodbye"], false)]
            );
            assert_eq!(s.handle(t, PromptDone), vec![hangup()]);
            assert!(s.is_finished());
        }
    }

    #[test]
    fn caller_hangup_finishes_silently() {
        let (mut s, t) = started();
        s.handle(t, Digit('0'));
        assert_eq!(s.handle(t, Hangup), vec![]);
        assert!(s.is_finished());
        assert_eq!(s.handle(t, QueueTimeout), vec![]);
        assert_eq!(s.handle(t, Digit('1')), vec![]);
        assert_eq!(s.digits(), "0", "no digits recorded after the end");
    }

    #[test]
    fn events_before_start_and_bad_digits_are_ignored() {
        let t = Instant::now();
        let mut s = IvrSession::new(main_script(), 1);
        assert_eq!(s.handle(t, PromptDone), vec![]);
        assert_eq!(s.handle(t, Digit('1')), vec![]);
        assert_eq!(s.handle(t, Start), vec![play(&["welcome"], true)]);
        assert_eq!(s.handle(t, Digit('x')), vec![], "not a DTMF key");
        assert_eq!(s.handle(t, Start), vec![], "second Start");
        assert_eq!(s.digits(), "");
    }

    /// welcome (interruptible) -> notice (not interruptible) -> menu.
    const TYPEAHEAD: &str = r#"name = "ta"
start = "welcome"
[nodes.welcome]
type = "play"
prompts = ["welcome"]
next = "notice"
[nodes.notice]
type = "play"
prompts = ["info"]
interruptible = false
next = "menu"
[nodes.menu]
type = "menu"
prompts = ["menu"]
on_fail = "bye"
[nodes.menu.choices]
"1" = "sub"
[nodes.sub]
type = "menu"
prompts = ["menu"]
on_fail = "bye"
[nodes.sub.choices]
"2" = "bye"
[nodes.bye]
type = "hangup"
cause = "done"
"#;

    #[test]
    fn typeahead_survives_non_interruptible_play_and_feeds_menus() {
        let script = Arc::new(load_str(TYPEAHEAD, "ta", &|_| true).unwrap());
        let t = Instant::now();
        let mut s = IvrSession::new(script, 2);
        s.handle(t, Start);
        assert_eq!(
            s.handle(t, Digit('1')),
            vec![StopPlayback, play(&["info"], false)]
        );
        assert_eq!(s.handle(t, Digit('2')), vec![], "kept, prompt not stopped");
        let bye = IvrCommand::Hangup {
            cause: "done".into(),
        };
        assert_eq!(
            s.handle(t, PromptDone),
            vec![bye],
            "menu 1 then sub 2 at once"
        );
        assert_eq!(s.digits(), "12");
    }

    #[test]
    fn script_with_missing_node_hangs_up_instead_of_panicking() {
        let mut script = (*main_script()).clone();
        script.nodes.remove("info");
        let (t, mut s) = (Instant::now(), IvrSession::new(Arc::new(script), 3));
        s.handle(t, Start);
        s.handle(t, PromptDone);
        let cmds = s.handle(t, Digit('1'));
        assert_eq!(
            cmds,
            vec![
                StopPlayback,
                IvrCommand::Hangup {
                    cause: CAUSE_SCRIPT_ERROR.into()
                }
            ]
        );
        assert!(s.is_finished());
    }

    #[test]
    fn unvalidated_empty_play_loop_is_cut() {
        let mut script = (*main_script()).clone();
        let empty = |next: &str| Node::Play {
            prompts: vec![],
            interruptible: true,
            next: next.into(),
        };
        script.nodes.insert("welcome".into(), empty("info"));
        script.nodes.insert("info".into(), empty("welcome"));
        let mut s = IvrSession::new(Arc::new(script), 4);
        let cmds = s.handle(Instant::now(), Start);
        assert_eq!(
            cmds,
            vec![IvrCommand::Hangup {
                cause: CAUSE_SCRIPT_ERROR.into()
            }]
        );
    }

    #[test]
    fn recorded_digits_are_bounded() {
        let (mut s, t) = started();
        s.handle(t, Digit('0'));
        for _ in 0..1000 {
            s.handle(t, Digit('5'));
        }
        assert_eq!(s.digits().len(), MAX_RECORDED_DIGITS);
    }

    fn any_event() -> impl Strategy<Value = IvrEvent> {
        prop_oneof![
            Just(Start),
            prop::sample::select(vec!['0', '1', '2', '9', '*', '#', 'x']).prop_map(Digit),
            Just(PromptDone),
            Just(Timeout),
            Just(QueueTimeout),
            Just(NoAgents),
            Just(AgentFound),
            Just(Hangup),
        ]
    }

    proptest! {
        #[test]
        fn random_events_never_panic_and_the_flow_always_ends(
            events in prop::collection::vec((any_event(), 0u64..8000), 0..60),
        ) {
            let t0 = Instant::now();
            let mut now = t0;
            let mut s = IvrSession::new(main_script(), 9);
            for (ev, advance_ms) in events {
                now += Duration::from_millis(advance_ms);
                let cmds = s.handle(now, ev);
                prop_assert!(cmds.len() <= 4);
                prop_assert!(s.digits().len() <= MAX_RECORDED_DIGITS);
            }
            s.handle(now, Start);
            // Silence, prompts ending and the CTI timing out always end the call.
            let drive = [PromptDone, Timeout, QueueTimeout];
            let mut steps = 0;
            while !s.is_finished() {
                prop_assert!(steps < 100, "session did not finish");
                let ev = drive[steps % drive.len()].clone();
                if ev == Timeout {
                    now = s.poll_timeout().unwrap_or(now);
                }
                s.handle(now, ev);
                steps += 1;
            }
        }
    }
}
