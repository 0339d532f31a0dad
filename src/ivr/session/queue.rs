//! The queue node's periodic position announcement (issue 5): every
//! `announce_every_s` the session asks the CTI for the caller's place in
//! line (`QueryPosition`, interface B); the answer (`QueuePosition`) is
//! spoken as "you-are-caller-number" and the number's say fragments, in
//! place of the hold music, which starts again when it ends. One question
//! per period: an unanswered one is simply asked again next period.

use super::{Flow, IvrCommand, IvrEvent, IvrSession, State};
use crate::ivr::say::{say, SayAs};
use crate::ivr::script::Node;
use std::time::{Duration, Instant};

/// The prompt before the position number.
pub const POSITION_PROMPT: &str = "you-are-caller-number";

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
            &IvrEvent::QueuePosition { position }
                if position > 0 && !*announcing && announce_every_s.is_some() =>
            {
                let mut prompts = vec![POSITION_PROMPT.to_owned()];
                prompts.extend(say(SayAs::Number, &position.to_string()).ok()?);
                *announcing = true;
                out.push(IvrCommand::Play {
                    prompts,
                    interruptible: false,
                });
                let line = format!("queue {node}: caller number {position}");
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
