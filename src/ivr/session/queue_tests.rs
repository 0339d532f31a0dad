//! The queue node's extensions, driven with injected time: `max_wait_s`
//! leaves the CTI queue for `on_overflow` at its deadline, `callback_key`
//! leaves it for `on_callback`, other keys and early timeouts do nothing,
//! an agent found first ends the IVR's part as before, and
//! `announce_every_s` asks the CTI for the place in line and speaks it.

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
    session_of(FLOW)
}

fn session_of(flow: &str) -> (IvrSession, Instant) {
    let script = load_str(flow, "q.toml", &|_| true).unwrap_or_else(|e| panic!("{e}"));
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

fn with_announcements() -> (IvrSession, Instant) {
    let flow = FLOW.replacen(
        "max_wait_s = 30\n",
        "max_wait_s = 30\nannounce_every_s = 20\n",
        1,
    );
    assert_ne!(flow, FLOW);
    session_of(&flow)
}

fn hold() -> IvrCommand {
    PlayHold {
        music: "hold".into(),
        announce: vec![],
    }
}

#[test]
fn every_period_the_place_in_line_is_asked_then_spoken_then_hold_resumes() {
    let (mut s, t0) = with_announcements();
    assert_eq!(
        s.poll_timeout(),
        Some(secs(t0, 20)),
        "announcement before max wait"
    );
    assert_eq!(
        s.handle(secs(t0, 20), Timeout),
        vec![IvrCommand::QueryPosition]
    );
    assert_eq!(s.poll_timeout(), Some(secs(t0, 30)), "then the max wait");
    let spoken = s.handle(
        secs(t0, 21),
        QueuePosition {
            position: 3,
            ewt_s: None,
        },
    );
    let prompts = vec!["you-are-caller-number".to_owned(), "n3".to_owned()];
    assert_eq!(
        spoken,
        vec![IvrCommand::Play {
            prompts,
            interruptible: false
        }]
    );
    assert_eq!(
        s.handle(
            secs(t0, 22),
            QueuePosition {
                position: 2,
                ewt_s: None
            }
        ),
        vec![],
        "one announcement at a time"
    );
    assert_eq!(s.take_notes(), vec!["queue first: caller number 3"]);
    assert_eq!(s.handle(secs(t0, 23), PromptDone), vec![hold()]);
    assert_eq!(s.handle(secs(t0, 24), PromptDone), vec![], "hold's own end");
    assert_eq!(
        s.handle(
            secs(t0, 25),
            QueuePosition {
                position: 0,
                ewt_s: None
            }
        ),
        vec![],
        "not waiting"
    );
}

#[test]
fn callback_key_during_the_announcement_still_leaves() {
    let (mut s, t0) = with_announcements();
    s.handle(secs(t0, 20), Timeout);
    s.handle(
        secs(t0, 20),
        QueuePosition {
            position: 12,
            ewt_s: None,
        },
    );
    let out = s.handle(secs(t0, 21), Digit('1'));
    assert_eq!(out[..2], [StopPlayback, LeaveQueue]);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_position_without_announcements_configured_is_ignored() {
    let (mut s, t0) = session();
    assert_eq!(
        s.handle(
            secs(t0, 1),
            QueuePosition {
                position: 4,
                ewt_s: None
            }
        ),
        vec![]
    );
}

#[test]
fn max_wait_wins_over_an_announcement_due_at_the_same_instant() {
    let flow = FLOW.replacen(
        "max_wait_s = 30\n",
        "max_wait_s = 30\nannounce_every_s = 15\n",
        1,
    );
    let (mut s, t0) = session_of(&flow);
    assert_eq!(
        s.handle(secs(t0, 15), Timeout),
        vec![IvrCommand::QueryPosition]
    );
    assert_eq!(s.poll_timeout(), Some(secs(t0, 30)));
    let out = s.handle(secs(t0, 30), Timeout);
    assert_eq!(out[..2], [StopPlayback, LeaveQueue]);
}

#[test]
fn an_estimated_wait_follows_the_place_in_line_in_whole_minutes_rounded_up() {
    let (mut s, t0) = with_announcements();
    s.handle(secs(t0, 20), Timeout);
    let spoken = s.handle(
        secs(t0, 20),
        QueuePosition {
            position: 4,
            ewt_s: Some(125),
        },
    );
    let prompts: Vec<String> = [
        "you-are-caller-number",
        "n4",
        "estimated-wait",
        "n3",
        "minutes",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        spoken,
        vec![IvrCommand::Play {
            prompts,
            interruptible: false
        }]
    );
    assert_eq!(
        s.take_notes(),
        vec!["queue first: caller number 4, estimated wait 3 min"]
    );
}

#[test]
fn a_short_estimated_wait_is_one_minute_singular() {
    let (mut s, t0) = with_announcements();
    s.handle(secs(t0, 20), Timeout);
    let spoken = s.handle(
        secs(t0, 20),
        QueuePosition {
            position: 1,
            ewt_s: Some(0),
        },
    );
    let Some(IvrCommand::Play { prompts, .. }) = spoken.first() else {
        panic!("nothing spoken: {spoken:?}");
    };
    assert_eq!(prompts[2..], ["estimated-wait", "n1", "minute"]);
}
