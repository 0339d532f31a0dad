//! The session's `callback` node (issue 6, interface B): expands the
//! number template, refuses anything but 3 to 20 digits with an optional
//! leading `+` (`on_error` at once), else emits
//! [`IvrCommand::RequestCallback`] and waits for the SoftACD's verdict:
//! `CallbackRegistered` → `next`, `CallbackRefused` → `on_error`. A
//! fallback deadline ([`CALLBACK_GRACE`]) keeps a lost verdict from
//! stranding the caller. Digits pressed meanwhile are kept.

use super::{Flow, IvrCommand, IvrEvent, IvrSession, State};
use crate::cti::valid_number;
use crate::ivr::script::Node;
use std::time::{Duration, Instant};

/// How long the session waits for the SoftACD's verdict.
pub const CALLBACK_GRACE: Duration = Duration::from_secs(5);

impl IvrSession {
    pub(super) fn callback_enter(
        &mut self,
        now: Instant,
        name: &str,
        number: &str,
        on_error: &str,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let number = self.expand(number);
        if !valid_number(&number) {
            self.note(format!(
                "callback {name}: bad number {number:?} -> {on_error}"
            ));
            return Flow::Goto(on_error.to_owned());
        }
        out.push(IvrCommand::RequestCallback { number });
        self.state = State::Callback {
            node: name.to_owned(),
            deadline: now.checked_add(CALLBACK_GRACE).unwrap_or(now),
        };
        Flow::Wait
    }

    pub(super) fn step_callback(
        &mut self,
        now: Instant,
        node: &str,
        deadline: Instant,
        ev: IvrEvent,
    ) -> Flow {
        let Some(Node::Callback { next, on_error, .. }) = self.script.nodes.get(node).cloned()
        else {
            return Flow::Goto(String::new());
        };
        match ev {
            IvrEvent::CallbackRegistered => Flow::Goto(next),
            IvrEvent::CallbackRefused => {
                self.note(format!("callback {node}: refused -> {on_error}"));
                Flow::Goto(on_error)
            }
            IvrEvent::Timeout if now >= deadline => {
                self.note(format!("callback {node}: no verdict -> {on_error}"));
                Flow::Goto(on_error)
            }
            IvrEvent::Digit(d) => {
                self.keep(d);
                Flow::Wait
            }
            _ => Flow::Wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ivr::script::load_str;
    use crate::ivr::session::{IvrCommand, IvrEvent, IvrSession};
    use std::sync::Arc;
    use std::time::Instant;

    const FLOW: &str = r#"name = "cb"
start = "register"
[nodes.register]
type = "callback"
number = "+${number}"
next = "thanks"
on_error = "sorry"
[nodes.thanks]
type = "play"
prompts = ["thank-you"]
next = "bye"
[nodes.sorry]
type = "play"
prompts = ["invalid"]
next = "bye"
[nodes.bye]
type = "hangup"
cause = "normal"
"#;

    fn session(number: &str) -> IvrSession {
        let script = Arc::new(load_str(FLOW, "cb.toml", &|_| true).unwrap());
        let mut s = IvrSession::new(script, 5);
        s.set_var("number", number);
        s
    }

    fn play(p: &str) -> IvrCommand {
        IvrCommand::Play {
            prompts: vec![p.into()],
            interruptible: true,
        }
    }

    #[test]
    fn a_registered_callback_goes_to_next() {
        let t0 = Instant::now();
        let mut s = session("15551234");
        let cmds = s.handle(t0, IvrEvent::Start);
        let ask = IvrCommand::RequestCallback {
            number: "+15551234".into(),
        };
        assert_eq!(cmds, vec![ask]);
        assert_eq!(
            s.handle(t0, IvrEvent::CallbackRegistered),
            vec![play("thank-you")]
        );
    }

    #[test]
    fn refused_lost_or_malformed_numbers_go_to_on_error() {
        let t0 = Instant::now();
        let mut s = session("15551234");
        s.handle(t0, IvrEvent::Start);
        assert_eq!(
            s.handle(t0, IvrEvent::CallbackRefused),
            vec![play("invalid")]
        );

        let mut s = session("15551234");
        s.handle(t0, IvrEvent::Start);
        let at = s.poll_timeout().expect("fallback deadline");
        assert_eq!(at, t0 + super::CALLBACK_GRACE);
        assert_eq!(s.handle(at, IvrEvent::Timeout), vec![play("invalid")]);

        let mut s = session("12");
        assert_eq!(s.handle(t0, IvrEvent::Start), vec![play("invalid")]);
    }
}
