//! The queue node's periodic position announcement (issue 5): every
//! `announce_every_s` the session asks the CTI for the caller's place in
//! line (`QueryPosition`, interface B); the answer (`QueuePosition`) is
//! spoken as "you-are-caller-number" and the number's say fragments, in
//! place of the hold music, which starts again when it ends. When the CTI
//! also gives an estimated wait (`ewt_s`, issue 6) it follows as
//! "estimated-wait" and whole minutes, rounded up ("n3 minutes"). One
//! question per period: an unanswered one is simply asked again next period.

use super::{Flow, IvrCommand, IvrEvent, IvrSession, State};
use crate::ivr::say::{say, SayAs};
use crate::ivr::script::Node;
use std::time::{Duration, Instant};

/// The prompt before the position number.
pub const POSITION_PROMPT: &str = "you-are-caller-number";
/// The prompt before the estimated wait in minutes.
pub const ESTIMATE_PROMPT: &str = "estimated-wait";

/// Whole minutes of an estimated wait, rounded up, at least one.
pub(super) fn ewt_minutes(ewt_s: u32) -> u32 {
    ewt_s.div_ceil(60).max(1)
}

/// "estimated-wait" then the minutes: `n1 minute`, `n3 minutes`.
fn estimate_prompts(ewt_s: u32) -> Option<Vec<String>> {
    let minutes = ewt_minutes(ewt_s);
    let mut prompts = vec![ESTIMATE_PROMPT.to_owned()];
    prompts.extend(say(SayAs::Number, &minutes.to_string()).ok()?);
    prompts.push(if minutes == 1 { "minute" } else { "minutes" }.to_owned());
    Some(prompts)
}

/// The next announcement instant `every_s` seconds after `now`.
pub(super) fn every(now: Instant, every_s: Option<u32>) -> Option<Instant> {
    let period = Duration::from_secs(u64::from(every_s?));
    Some(now.checked_add(period).unwrap_or(now))
}

impl IvrSession {
    fn noted(&mut self, line: String) -> Flow {
        self.note(line);
        Flow::Wait
    }

    /// Handles the announcement's part of a queued event; `None` when the
    /// event is not about it (the queue's other rules then apply).
    pub(super) fn queue_announce(
        &mut self,
        now: Instant,
        node: &str,
        ev: &IvrEvent,
        out: &mut Vec<IvrCommand>,
    ) -> Option<Flow> {
        let State::Queued {
            announce_at,
            announcing,
            ..
        } = &mut self.state
        else {
            return None;
        };
        let Some(Node::Queue {
            hold_music,
            announce_every_s,
            ..
        }) = self.script.nodes.get(node)
        else {
            return None;
        };
        match ev {
            IvrEvent::Timeout if announce_at.is_some_and(|at| now >= at) => {
                *announce_at = every(now, *announce_every_s);
                out.push(IvrCommand::QueryPosition);
                Some(Flow::Wait)
            }
            &IvrEvent::QueuePosition { position, ewt_s }
                if position > 0 && !*announcing && announce_every_s.is_some() =>
            {
                let mut prompts = vec![POSITION_PROMPT.to_owned()];
                prompts.extend(say(SayAs::Number, &position.to_string()).ok()?);
                let mut line = format!("queue {node}: caller number {position}");
                if let Some(ewt_s) = ewt_s {
                    prompts.extend(estimate_prompts(ewt_s)?);
                    let minutes = ewt_minutes(ewt_s);
                    line.push_str(&format!(", estimated wait {minutes} min"));
                }
                *announcing = true;
                out.push(IvrCommand::Play {
                    prompts,
                    interruptible: false,
                });
                Some(self.noted(line))
            }
            IvrEvent::PromptDone if *announcing => {
                *announcing = false;
                out.push(IvrCommand::PlayHold {
                    music: hold_music.clone(),
                    announce: Vec::new(),
                });
                Some(Flow::Wait)
            }
            _ => None,
        }
    }
}
