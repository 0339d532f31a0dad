//! The session's `transfer` node (issue 5, interface B): expands the URI
//! template from the call's variables, emits [`IvrCommand::Transfer`] and
//! waits for the SoftACD's verdict. `TransferAnswered` ends the flow (the
//! SoftACD releases the IVR leg); `TransferFailed` goes to `on_error`. The
//! SoftACD owns the ring timeout; the session only keeps a fallback
//! deadline (`timeout_s` + [`TRANSFER_GRACE`]) so a lost verdict cannot
//! strand the caller. Digits pressed meanwhile are kept for `on_error`.

use super::{Flow, IvrCommand, IvrEvent, IvrSession, State};
use crate::ivr::script::Node;
use std::time::{Duration, Instant};

/// How long after the ring time the session stops waiting for a verdict.
pub const TRANSFER_GRACE: Duration = Duration::from_secs(10);

impl IvrSession {
    pub(super) fn transfer_enter(
        &mut self,
        now: Instant,
        name: &str,
        uri: &str,
        timeout_s: u32,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let uri = self.expand(uri);
        self.note(format!("transfer {uri}"));
        out.push(IvrCommand::Transfer { uri, timeout_s });
        let wait = Duration::from_secs(u64::from(timeout_s)) + TRANSFER_GRACE;
        self.state = State::Transfer {
            node: name.to_owned(),
            deadline: now.checked_add(wait).unwrap_or(now),
        };
        Flow::Wait
    }

    pub(super) fn step_transfer(
        &mut self,
        now: Instant,
        node: &str,
        deadline: Instant,
        ev: IvrEvent,
    ) -> Flow {
        let Some(Node::Transfer { on_error, .. }) = self.script.nodes.get(node).cloned() else {
            return Flow::Goto(String::new());
        };
        match ev {
            IvrEvent::TransferAnswered => {
                self.state = State::Finished;
                Flow::Wait
            }
            IvrEvent::TransferFailed { code } => {
                self.note(format!("transfer {node}: failed {code} -> {on_error}"));
                Flow::Goto(on_error)
            }
            IvrEvent::Timeout if now >= deadline => {
                self.note(format!("transfer {node}: no verdict -> {on_error}"));
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
    use std::time::{Duration, Instant};

    const FLOW: &str = r#"name = "xfer"
start = "set"
[nodes.set]
type = "set"
vars = { ext = "desk" }
next = "out"
[nodes.out]
type = "transfer"
uri = "sip:${ext}@127.0.0.1:5090"
timeout_s = 20
on_error = "sorry"
[nodes.sorry]
type = "play"
prompts = ["goodbye"]
interruptible = false
next = "bye"
[nodes.bye]
type = "hangup"
cause = "transfer-failed"
"#;

    fn started() -> (IvrSession, Instant) {
        let script = Arc::new(load_str(FLOW, "xfer.toml", &|_| true).unwrap());
        let t0 = Instant::now();
        let mut s = IvrSession::new(script, 5);
        let cmds = s.handle(t0, IvrEvent::Start);
        assert_eq!(
            cmds,
            vec![IvrCommand::Transfer {
                uri: "sip:desk@127.0.0.1:5090".into(),
                timeout_s: 20
            }]
        );
        (s, t0)
    }

    #[test]
    fn answered_transfer_ends_the_flow() {
        let (mut s, t0) = started();
        assert_eq!(s.handle(t0, IvrEvent::TransferAnswered), vec![]);
        assert!(s.is_finished());
    }

    #[test]
    fn failed_transfer_follows_on_error() {
        let (mut s, t0) = started();
        let cmds = s.handle(t0, IvrEvent::TransferFailed { code: 486 });
        assert_eq!(
            cmds,
            vec![IvrCommand::Play {
                prompts: vec!["goodbye".into()],
                interruptible: false
            }]
        );
        assert_eq!(
            s.handle(t0, IvrEvent::PromptDone),
            vec![IvrCommand::Hangup {
                cause: "transfer-failed".into()
            }]
        );
    }

    #[test]
    fn a_lost_verdict_falls_back_after_the_ring_time_and_grace() {
        let (mut s, t0) = started();
        let at = s.poll_timeout().expect("fallback deadline");
        assert_eq!(at, t0 + Duration::from_secs(20) + super::TRANSFER_GRACE);
        assert_eq!(
            s.handle(at - Duration::from_millis(1), IvrEvent::Timeout),
            vec![]
        );
        let cmds = s.handle(at, IvrEvent::Timeout);
        assert!(matches!(cmds.first(), Some(IvrCommand::Play { .. })));
    }
}
