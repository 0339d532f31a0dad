//! The session's `record` node (issue 5, voicemail): play the prompts and
//! the beep, ask the shell to record ([`RecordCommand::Start`]), and end the
//! recording on the terminator key or at `max_s` ([`RecordCommand::Stop`]);
//! the shell's writer ends it on silence by itself. The shell reports
//! [`RecordResult`]s: `Started` (the file exists: its path is the call's
//! voicemail from then on, so a caller who hangs up mid-message still has it
//! in the CDR), `Done` (kept → variable `into` and `next`; too short and
//! deleted → `on_empty`) or `Failed` (→ `on_error`). Each wait has a
//! deadline, so a lost answer never leaves the caller in silence.

use super::{Flow, IvrCommand, IvrEvent, IvrSession, State};
use crate::ivr::script::{Node, RecordNode};
use std::time::{Duration, Instant};

/// How long the session waits for `Started` and, after `Stop`, for `Done`.
pub const RECORD_GRACE: Duration = Duration::from_secs(3);

/// What the session asks the shell's recorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordCommand {
    /// Record the caller to `<data_dir>/voicemail/<file>`; answer `Started`
    /// or `Failed`, later `Done`.
    Start {
        id: u64,
        /// `<contact>-<unix_ms>.wav`.
        file: String,
        max_s: u32,
        silence_s: u32,
        min_s: u32,
    },
    /// End recording `id` (terminator key, `max_s`); `Done` follows.
    Stop { id: u64 },
}

/// What the shell's recorder reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordResult {
    Started {
        id: u64,
        path: String,
    },
    Done {
        id: u64,
        path: String,
        /// False: shorter than `min_s`, deleted.
        kept: bool,
        length_ms: u64,
        /// silence, max-length or stopped.
        reason: String,
    },
    Failed {
        id: u64,
        reason: String,
    },
}

impl RecordResult {
    fn id(&self) -> u64 {
        match self {
            RecordResult::Started { id, .. }
            | RecordResult::Done { id, .. }
            | RecordResult::Failed { id, .. } => *id,
        }
    }
}

/// Where a record node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RecordPhase {
    /// The prompts and the beep are playing.
    Prompt,
    /// `Start` sent; waiting for `Started` until the deadline.
    Starting { deadline: Instant },
    /// Recording since `since`; stopped by the session at `deadline` (max_s).
    Recording { since: Instant, deadline: Instant },
    /// `Stop` sent; waiting for `Done` until the deadline. `long_enough`:
    /// the recording had lasted `min_s` when stopped.
    Stopping {
        deadline: Instant,
        long_enough: bool,
    },
}

impl RecordPhase {
    pub(super) fn deadline(self) -> Option<Instant> {
        match self {
            RecordPhase::Prompt => None,
            RecordPhase::Starting { deadline }
            | RecordPhase::Recording { deadline, .. }
            | RecordPhase::Stopping { deadline, .. } => Some(deadline),
        }
    }
}

/// Whether a recording from `since` to `now` lasted `min_s`.
fn lasted(since: Instant, now: Instant, min_s: u32) -> bool {
    now.saturating_duration_since(since) >= Duration::from_secs(u64::from(min_s))
}

fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

impl IvrSession {
    fn record_node(&self, node: &str) -> Option<RecordNode> {
        match self.script.nodes.get(node) {
            Some(Node::Record(r)) => Some(r.clone()),
            _ => None,
        }
    }

    fn set_record(&mut self, node: &str, id: u64, phase: RecordPhase) {
        self.state = State::Record {
            node: node.to_owned(),
            id,
            phase,
        };
    }

    /// Entering a record node: prompts and beep first, else record at once.
    pub(super) fn record_enter(
        &mut self,
        now: Instant,
        name: &str,
        r: &RecordNode,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        self.typeahead.clear();
        let mut prompts = r.prompts.clone();
        if r.beep {
            prompts.push(crate::ivr::script::BEEP_PROMPT.to_owned());
        }
        if prompts.is_empty() {
            return self.record_start(now, name, r, out);
        }
        out.push(IvrCommand::Play {
            prompts,
            interruptible: false,
        });
        self.set_record(name, 0, RecordPhase::Prompt);
        Flow::Wait
    }

    fn record_start(
        &mut self,
        now: Instant,
        name: &str,
        r: &RecordNode,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        self.record_seq = self.record_seq.wrapping_add(1);
        let id = self.record_seq;
        let unix_ms = self.wall(now).as_millisecond().max(0);
        out.push(IvrCommand::Record(RecordCommand::Start {
            id,
            file: format!("{}-{unix_ms}.wav", self.contact),
            max_s: r.max_s,
            silence_s: r.silence_s,
            min_s: r.min_s,
        }));
        let deadline = later(now, RECORD_GRACE);
        self.set_record(name, id, RecordPhase::Starting { deadline });
        Flow::Wait
    }

    pub(super) fn step_record(
        &mut self,
        now: Instant,
        node: &str,
        id: u64,
        phase: RecordPhase,
        ev: IvrEvent,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let Some(r) = self.record_node(node) else {
            return Flow::Goto(String::new());
        };
        match (phase, ev) {
            (RecordPhase::Prompt, IvrEvent::PromptDone) => self.record_start(now, node, &r, out),
            (
                RecordPhase::Starting { .. },
                IvrEvent::Record(RecordResult::Started { id: i, path }),
            ) if i == id => {
                self.voicemail = Some(path);
                let deadline = later(now, Duration::from_secs(u64::from(r.max_s)));
                let since = now;
                self.set_record(node, id, RecordPhase::Recording { since, deadline });
                Flow::Wait
            }
            (RecordPhase::Recording { since, .. }, IvrEvent::Digit(d))
                if Some(d) == r.terminator =>
            {
                self.record_stop(now, node, id, since, &r, out)
            }
            (RecordPhase::Recording { since, deadline }, IvrEvent::Timeout) if now >= deadline => {
                self.record_stop(now, node, id, since, &r, out)
            }
            (
                RecordPhase::Starting { deadline } | RecordPhase::Stopping { deadline, .. },
                IvrEvent::Timeout,
            ) if now >= deadline => {
                self.note(format!(
                    "record {node}: the recorder did not answer -> {}",
                    r.on_error
                ));
                Flow::Goto(r.on_error)
            }
            (_, IvrEvent::Record(res)) if res.id() == id && phase != RecordPhase::Prompt => {
                self.record_result(node, &r, res)
            }
            _ => Flow::Wait,
        }
    }

    fn record_stop(
        &mut self,
        now: Instant,
        node: &str,
        id: u64,
        since: Instant,
        r: &RecordNode,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        out.push(IvrCommand::Record(RecordCommand::Stop { id }));
        let deadline = later(now, RECORD_GRACE);
        let long_enough = lasted(since, now, r.min_s);
        let phase = RecordPhase::Stopping {
            deadline,
            long_enough,
        };
        self.set_record(node, id, phase);
        Flow::Wait
    }

    fn record_result(&mut self, node: &str, r: &RecordNode, res: RecordResult) -> Flow {
        match res {
            RecordResult::Done {
                path, kept: true, ..
            } => {
                self.note(format!("record {node} -> {}={path}", r.into));
                self.put_var(&r.into, &path);
                self.voicemail = Some(path);
                Flow::Goto(r.next.clone())
            }
            RecordResult::Done { length_ms, .. } => {
                self.voicemail = None;
                let to = &r.on_empty;
                self.note(format!("record {node}: empty ({length_ms} ms) -> {to}"));
                Flow::Goto(to.clone())
            }
            RecordResult::Failed { reason, .. } => {
                self.voicemail = None;
                let to = &r.on_error;
                self.note(format!("record {node}: failed ({reason}) -> {to}"));
                Flow::Goto(to.clone())
            }
            RecordResult::Started { .. } => Flow::Wait,
        }
    }

    /// The caller hung up: a recording shorter than `min_s` so far will be
    /// deleted by the recorder, so the call keeps no voicemail.
    pub(super) fn record_hangup(&mut self, now: Instant) {
        let State::Record { node, phase, .. } = &self.state else {
            return;
        };
        let min_s = self.record_node(node).map_or(0, |r| r.min_s);
        let long_enough = match *phase {
            RecordPhase::Recording { since, .. } => lasted(since, now, min_s),
            RecordPhase::Stopping { long_enough, .. } => long_enough,
            RecordPhase::Prompt | RecordPhase::Starting { .. } => false,
        };
        if !long_enough {
            self.voicemail = None;
        }
    }
}
