//! The queue node's extensions, driven with injected time: `max_wait_s`
//! leaves the CTI queue for `on_overflow` at its deadline, `callback_key`
//! leaves it for `on_callback`, other keys and early timeouts do nothing,
//! and an agent found first ends the IVR's part as before.

use super::IvrCommand::{self, LeaveQueue, PlayHold, RequestAgent, StopPlayback};
use super::IvrEvent::*;
use super::*;
use crate::ivr::script::load_str;

const FLOW: &str = r#"name = "q"
start = "first"
[nodes.first]
type = "queue"
queue = "support"
skills = ["support:5", "fr"]
priority = 2
hold_music = "hold"
on_timeout = "bye"
max_wait_s = 30
on_overflow = "second"
callback_key = "1"
on_callback = "thanks"
[nodes.second]
type = "queue"
queue = "sales"
hold_music = "hold"
on_timeout = "bye"
[nodes.thanks]
type = "play"
prompts = ["thank-you"]
next = "bye"
[nodes.bye]
type = "hangup"
"#;

fn session() -> (IvrSession, Instant) {
    let script = load_str(FLOW, "q.toml", &|_| true).unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    let mut s = IvrSession::new(Arc::new(script), 3);
    let first = s.handle(t0, Start);
    assert_eq!(
        first,
        vec![
            PlayHold {
                music: "hold".into(),
                announce: vec![],
            },
            RequestAgent {
                queue: "support".into(),
                skills: vec!["support:5".into(), "fr".into()],
                priority: 2,
            },
        ]
    );
    (s, t0)
}

fn secs(t0: Instant, s: u64) -> Instant {
    t0 + Duration::from_secs(s)
}

fn request_sales() -> IvrCommand {
    RequestAgent {
        queue: "sales".into(),
        skills: vec![],
        priority: 0,
    }
}

#[test]
fn max_wait_leaves_the_queue_for_the_overflow_at_the_deadline() {
    let (mut s, t0) = session();
    assert_eq!(s.poll_timeout(), Some(secs(t0, 30)));
    assert_eq!(s.handle(secs(t0, 29), Timeout), vec![], "early timeout");
    let out = s.handle(secs(t0, 30), Timeout);
    let hold = PlayHold {
        music: "hold".into(),
        announce: vec![],
    };
    assert_eq!(out, vec![StopPlayback, LeaveQueue, hold, request_sales()]);
    assert_eq!(s.poll_timeout(), None, "the overflow queue has no max wait");
    assert_eq!(s.take_notes(), vec!["queue first: leave -> second"]);
}

#[test]
fn callback_key_leaves_the_queue_other_keys_do_nothing() {
    let (mut s, t0) = session();
    assert_eq!(s.handle(secs(t0, 3), Digit('5')), vec![]);
    let out = s.handle(secs(t0, 4), Digit('1'));
    assert_eq!(
        out,
        vec![
            StopPlayback,
            LeaveQueue,
            IvrCommand::Play {
                prompts: vec!["thank-you".into()],
                interruptible: true,
            },
        ]
    );
    assert_eq!(s.digits(), "51");
    assert_eq!(
        s.handle(secs(t0, 40), Timeout),
        vec![],
        "no max wait any more"
    );
}

#[test]
fn agent_found_before_the_deadline_ends_the_ivr_part() {
    let (mut s, t0) = session();
    assert_eq!(s.handle(secs(t0, 10), AgentFound), vec![StopPlayback]);
    assert!(s.is_finished());
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.handle(secs(t0, 30), Timeout), vec![]);
}

#[test]
fn cti_queue_timeout_still_goes_to_on_timeout() {
    let (mut s, t0) = session();
    let out = s.handle(secs(t0, 5), QueueTimeout);
    assert_eq!(
        out,
        vec![
            StopPlayback,
            IvrCommand::Hangup {
                cause: "normal".into()
            }
        ]
    );
}
