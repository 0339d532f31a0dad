//! The flow simulator behind `softacd ivr simulate` and `softacd ivr test`
//! (issue 5: "try a flow without a phone"): drives an [`IvrSession`] with a
//! scripted caller and prints what the caller would hear and where the call
//! goes, one trace line per step. Pure: the start `Instant` and the wall
//! clock are arguments.
//!
//! The caller model: prompts always play to the end; when the flow waits for
//! input, the caller types the next key group (`"1"`, `"1234#"`), or stays
//! silent for `-` or when no keys are left. After a group, if the flow still
//! waits (a collect without terminator), the caller pauses until it gives up
//! waiting. In a queue the next group is pressed during the hold music; `-`
//! lets time run to the node's next timer (a position announcement, where
//! the caller is always first in line, or `max_wait_s`); with no group left
//! (or no timer) an agent answers and the run ends. A transfer node's
//! target answers (`transfer answered`, the run ends) unless the input says
//! `transfer_fails`, when it is busy (486) and the flow takes `on_error`.
//! A callback node's number is always registered (`callback N registered`).
//! At a `record` node the
//! recording gets the fake path `sim/voicemail/<contact>-<unix_ms>.wav`; a
//! key group is a message followed by those keys (a message the caller ends
//! without the terminator ends on silence); `-` or no group left is a caller
//! who says nothing (the recording is too short: `on_empty`).

use super::script::{FlowTest, Script};
use super::session::{
    HttpRequest, IvrCommand, IvrEvent, IvrSession, RecordCommand, RecordResult, SessionInfo,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// The simulated caller's place in line, told to position announcements.
pub const SIM_POSITION: u32 = 1;
/// The simulated caller's estimated wait in seconds (spoken as 3 minutes).
pub const SIM_EWT_S: u32 = 150;

/// Most events fed in one run; a flow still running then is reported.
pub const MAX_SIM_STEPS: usize = 1000;

/// What the simulated caller brings to the call.
#[derive(Debug, Clone, Default)]
pub struct SimInput {
    /// Space-separated key groups; `-` is a silent turn.
    pub keys: String,
    pub vars: BTreeMap<String, String>,
    pub info: SessionInfo,
    /// URL → canned JSON answer for http nodes (`--http`, `[[test]] http`).
    pub http: BTreeMap<String, String>,
    /// Transfer targets answer busy (`--transfer-fails`, `[[test]] transfer_fails`).
    pub transfer_fails: bool,
}

impl SimInput {
    /// The input a `[[test]]` case describes (`at` parsed by the checker).
    pub fn of_test(t: &FlowTest) -> Result<SimInput, String> {
        let wall = match &t.at {
            Some(at) => super::script::parse_at(at)?,
            None => jiff::Timestamp::UNIX_EPOCH,
        };
        Ok(SimInput {
            keys: t.keys.clone(),
            vars: t.vars.clone(),
            http: t.http.clone(),
            transfer_fails: t.transfer_fails,
            info: SessionInfo {
                caller: t.caller.clone(),
                dnis: t.dnis.clone(),
                headers: t.headers.clone(),
                wall,
            },
        })
    }
}

struct Run {
    session: IvrSession,
    trace: Vec<String>,
    playing: bool,
    queued: bool,
    /// The flow asked the CTI for its place in line.
    asked: bool,
    now: Instant,
    /// The http node's request waiting for its canned answer.
    http: Option<HttpRequest>,
    /// URL → canned JSON answer (status 200); other URLs fail.
    canned: BTreeMap<String, String>,
    /// A transfer waits for the target's verdict.
    transfer: bool,
    /// A callback node waits for the SoftACD's verdict on this number.
    callback: Option<String>,
    transfer_fails: bool,
    /// The recording asked for: id, fake path, whether `Started` was told.
    recording: Option<(u64, String, bool)>,
    /// The flow asked to stop the recording (its terminator key).
    record_stop: bool,
}

impl Run {
    fn feed(&mut self, ev: IvrEvent) {
        let cmds = self.session.handle(self.now, ev);
        self.trace.extend(self.session.take_notes());
        for cmd in cmds {
            self.show(cmd);
        }
    }

    fn show(&mut self, cmd: IvrCommand) {
        match cmd {
            IvrCommand::Play { prompts, .. } => {
                self.playing = true;
                self.trace.push(format!("play {}", prompts.join(" ")));
            }
            IvrCommand::StopPlayback => self.playing = false,
            IvrCommand::PlayHold { music, announce } => {
                let mut line = format!("hold {music}");
                if !announce.is_empty() {
                    line.push_str(&format!(" after {}", announce.join(" ")));
                }
                self.trace.push(line);
            }
            IvrCommand::RequestAgent {
                queue,
                skills,
                priority,
            } => {
                self.queued = true;
                let skills = skills.join(",");
                self.trace
                    .push(format!("queue {queue} skills={skills} priority={priority}"));
            }
            IvrCommand::LeaveQueue => self.queued = false,
            IvrCommand::QueryPosition => self.asked = true,
            IvrCommand::Hangup { cause } => self.trace.push(format!("hangup {cause}")),
            IvrCommand::HttpRequest(req) => self.http = Some(req),
            IvrCommand::Transfer { .. } => self.transfer = true,
            IvrCommand::RequestCallback { number } => self.callback = Some(number),
            IvrCommand::Record(RecordCommand::Start { id, file, .. }) => {
                self.trace.push(format!("record {file}"));
                self.recording = Some((id, format!("sim/voicemail/{file}"), false));
                self.record_stop = false;
            }
            IvrCommand::Record(RecordCommand::Stop { .. }) => self.record_stop = true,
        }
    }

    /// The SoftACD's verdict on a callback: always registered.
    fn answer_callback(&mut self, number: String) {
        self.trace.push(format!("callback {number} registered"));
        self.feed(IvrEvent::CallbackRegistered);
    }

    /// The transfer target's turn: busy when the input says so, else it answers.
    fn answer_transfer(&mut self) {
        if self.transfer_fails {
            self.trace.push("transfer busy (486)".to_owned());
            self.feed(IvrEvent::TransferFailed { code: 486 });
        } else {
            self.trace.push("transfer answered".to_owned());
            self.feed(IvrEvent::TransferAnswered);
        }
    }

    /// The caller's turn while recording: a message then the group's keys,
    /// or nothing said (`-`, no group left).
    fn on_recording(&mut self, id: u64, path: String, group: Option<String>) {
        self.recording = None;
        let kept = match group.filter(|g| g != "-") {
            Some(keys) => {
                self.trace.push(format!("message, press {keys}"));
                for d in keys.chars() {
                    self.feed(IvrEvent::Digit(d));
                }
                true
            }
            None => false,
        };
        if !self.record_stop {
            self.trace.push("silence".to_owned());
        }
        self.feed(IvrEvent::Record(RecordResult::Done {
            id,
            path,
            kept,
            length_ms: 0,
            reason: "simulated".to_owned(),
        }));
    }

    /// The application server's turn: the canned answer for the URL, or
    /// a failure when there is none.
    fn answer_http(&mut self, req: HttpRequest) {
        match self.canned.get(&req.url).cloned() {
            Some(body) => {
                self.trace.push("http answer 200 (canned)".to_owned());
                self.feed(IvrEvent::HttpResponse {
                    id: req.id,
                    status: 200,
                    body,
                });
            }
            None => {
                self.trace
                    .push("http no answer (nothing canned for this URL)".to_owned());
                self.feed(IvrEvent::HttpFailed {
                    id: req.id,
                    reason: "no canned answer".to_owned(),
                });
            }
        }
    }

    /// The caller's turn on hold: no group left, an agent answers; `-`
    /// lets time run to the queue's next timer (a position announcement,
    /// answered with [`SIM_POSITION`] and [`SIM_EWT_S`], or `max_wait_s`; an agent answers
    /// when it has none); a key group is pressed during the hold music.
    fn on_hold(&mut self, group: Option<String>) {
        match (group.as_deref(), self.session.poll_timeout()) {
            (None, _) | (Some("-"), None) => {
                self.queued = false;
                self.trace.push("agent answers".to_owned());
                self.feed(IvrEvent::AgentFound);
            }
            (Some("-"), Some(at)) => {
                self.trace.push("wait".to_owned());
                self.now = self.now.max(at);
                self.feed(IvrEvent::Timeout);
                if std::mem::take(&mut self.asked) {
                    self.feed(IvrEvent::QueuePosition {
                        position: SIM_POSITION,
                        ewt_s: Some(SIM_EWT_S),
                    });
                }
            }
            (Some(keys), _) => {
                self.trace.push(format!("press {keys}"));
                for d in keys.chars() {
                    self.feed(IvrEvent::Digit(d));
                }
            }
        }
    }

    /// The caller's turn at a wait for input.
    fn answer(&mut self, group: Option<String>, deadline: Instant) {
        match group.filter(|g| g != "-") {
            Some(keys) => {
                self.trace.push(format!("press {keys}"));
                for d in keys.chars() {
                    self.feed(IvrEvent::Digit(d));
                }
                let busy = self.playing || self.transfer || self.callback.is_some();
                if let (false, Some(at)) = (busy, self.session.poll_timeout()) {
                    self.now = self.now.max(at);
                    self.feed(IvrEvent::Timeout);
                }
            }
            None => {
                self.trace.push("silence".to_owned());
                self.now = self.now.max(deadline);
                self.feed(IvrEvent::Timeout);
            }
        }
    }
}

/// Runs `script` for the caller `input` from `t0`; returns the trace.
pub fn simulate(script: Arc<Script>, input: &SimInput, t0: Instant) -> Vec<String> {
    let mut session = IvrSession::with_info(script, 0, input.info.clone());
    for (k, v) in &input.vars {
        session.set_var(k, v);
    }
    let mut run = Run {
        session,
        trace: Vec::new(),
        playing: false,
        queued: false,
        asked: false,
        now: t0,
        http: None,
        canned: input.http.clone(),
        transfer: false,
        callback: None,
        transfer_fails: input.transfer_fails,
        recording: None,
        record_stop: false,
    };
    let mut keys: VecDeque<String> = input.keys.split_whitespace().map(str::to_owned).collect();
    run.feed(IvrEvent::Start);
    for _ in 0..MAX_SIM_STEPS {
        if run.session.is_finished() {
            return run.trace;
        }
        if let Some(req) = run.http.take() {
            run.answer_http(req);
        } else if std::mem::take(&mut run.transfer) {
            run.answer_transfer();
        } else if let Some(number) = run.callback.take() {
            run.answer_callback(number);
        } else if let Some((id, path, false)) = run.recording.clone() {
            run.recording = Some((id, path.clone(), true));
            run.feed(IvrEvent::Record(RecordResult::Started { id, path }));
        } else if let Some((id, path, true)) = run.recording.clone() {
            run.on_recording(id, path, keys.pop_front());
        } else if run.playing {
            run.playing = false;
            run.feed(IvrEvent::PromptDone);
        } else if run.queued {
            run.on_hold(keys.pop_front());
        } else if let Some(deadline) = run.session.poll_timeout() {
            run.answer(keys.pop_front(), deadline);
        } else {
            run.trace
                .push("stuck: the flow waits for nothing".to_owned());
            return run.trace;
        }
    }
    run.trace
        .push(format!("still running after {MAX_SIM_STEPS} steps"));
    run.trace
}

/// One `[[test]]` case's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    pub name: String,
    pub line: usize,
    pub expected: Vec<String>,
    pub got: Vec<String>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.expected == self.got
    }
}

/// Runs every `[[test]]` case of `script`.
pub fn run_tests(script: &Arc<Script>, t0: Instant) -> Vec<TestOutcome> {
    script
        .tests
        .iter()
        .map(|t| {
            let got = match SimInput::of_test(t) {
                Ok(input) => simulate(Arc::clone(script), &input, t0),
                Err(e) => vec![e],
            };
            TestOutcome {
                name: t.name.clone(),
                line: t.line,
                expected: t.expect.clone(),
                got,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::script::load_str;

    const MAIN: &str = include_str!("../../ivr-scripts/main.toml");

    fn main_flow() -> Arc<Script> {
        Arc::new(load_str(MAIN, "main.toml", &|_| true).unwrap_or_else(|e| panic!("{e}")))
    }

    fn keys(k: &str) -> SimInput {
        SimInput {
            keys: k.to_owned(),
            ..SimInput::default()
        }
    }

    #[test]
    fn info_then_agent() {
        let trace = simulate(main_flow(), &keys("1 0"), Instant::now());
        assert_eq!(
            trace,
            [
                "play welcome",
                "play menu",
                "press 1",
                "play info",
                "play menu",
                "press 0",
                "hold hold after queue",
                "queue support skills=support priority=0",
                "agent answers",
            ]
        );
    }

    #[test]
    fn silence_three_times_says_goodbye() {
        let trace = simulate(main_flow(), &keys(""), Instant::now());
        assert_eq!(
            trace,
            [
                "play welcome",
                "play menu",
                "silence",
                "play timeout",
                "play menu",
                "silence",
                "play timeout",
                "play menu",
                "silence",
                "play goodbye",
                "hangup normal",
            ]
        );
    }
}

#[cfg(test)]
mod random_callers {
    use super::*;
    use crate::ivr::script::load_str;
    use proptest::prelude::*;

    const FLOWS: [&str; 4] = [
        include_str!("../../ivr-scripts/main.toml"),
        include_str!("../../ivr-scripts/after-hours.toml"),
        include_str!("../../ivr-scripts/vip.toml"),
        include_str!("../../ivr-scripts/partner.toml"),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Any keys at any time of year, transfers answered or busy: the
        /// run ends in a hangup, with an agent or with a transfer, never
        /// stuck and never panicking.
        #[test]
        fn every_caller_run_ends(
            which in 0usize..4,
            transfer_fails in any::<bool>(),
            keys in "[0-9*#A-D -]{0,40}",
            secs in 1_700_000_000i64..1_900_000_000,
        ) {
            let flow = load_str(FLOWS[which], "f.toml", &|_| true)
                .unwrap_or_else(|e| panic!("{e}"));
            let input = SimInput {
                keys,
                vars: BTreeMap::new(),
                http: BTreeMap::new(),
                transfer_fails,
                info: SessionInfo {
                    wall: jiff::Timestamp::from_second(secs).unwrap_or_default(),
                    ..SessionInfo::default()
                },
            };
            let trace = simulate(Arc::new(flow), &input, Instant::now());
            let last = trace.last().cloned().unwrap_or_default();
            prop_assert!(
                last == "agent answers"
                    || last == "transfer answered"
                    || last.starts_with("hangup "),
                "ended with {last:?}: {trace:?}"
            );
        }
    }
}
