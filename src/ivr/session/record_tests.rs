//! The `record` node's stop rules in the session, with injected time.

use super::IvrCommand::{Play, Record as Rec};
use super::IvrEvent::*;
use super::*;
use crate::ivr::script::load_str;

const FLOW: &str = r#"name = "vm"
start = "rec"
[nodes.rec]
type = "record"
prompts = ["leave-message"]
max_s = 30
silence_s = 4
min_s = 2
next = "thanks"
on_empty = "nothing"
on_error = "sorry"
[nodes.thanks]
type = "hangup"
cause = "kept"
[nodes.nothing]
type = "hangup"
cause = "empty"
[nodes.sorry]
type = "hangup"
cause = "error"
"#;

fn session() -> (IvrSession, Instant) {
    let script = Arc::new(load_str(FLOW, "vm.toml", &|_| true).unwrap_or_else(|e| panic!("{e}")));
    let t0 = Instant::now();
    let info = SessionInfo {
        wall: jiff::Timestamp::from_millisecond(1_764_700_000_000).unwrap(),
        ..SessionInfo::default()
    };
    let mut s = IvrSession::with_info(script, 42, info);
    assert_eq!(
        s.handle(t0, Start),
        vec![Play {
            prompts: vec!["leave-message".into(), "beep".into()],
            interruptible: false
        }]
    );
    (s, t0)
}

fn hangup(cause: &str) -> IvrCommand {
    IvrCommand::Hangup {
        cause: cause.into(),
    }
}

/// Prompt and beep end 1 s after start; the recorder starts.
fn recording(s: &mut IvrSession, t0: Instant) -> Instant {
    let t = t0 + Duration::from_secs(1);
    assert_eq!(
        s.handle(t, PromptDone),
        vec![Rec(RecordCommand::Start {
            id: 1,
            file: "42-1764700001000.wav".into(),
            max_s: 30,
            silence_s: 4,
            min_s: 2,
        })]
    );
    let started = RecordResult::Started {
        id: 1,
        path: "/d/voicemail/42-1764700001000.wav".into(),
    };
    assert_eq!(s.handle(t, Record(started)), vec![]);
    assert_eq!(s.voicemail(), Some("/d/voicemail/42-1764700001000.wav"));
    t
}

fn done(kept: bool) -> IvrEvent {
    Record(RecordResult::Done {
        id: 1,
        path: "/d/voicemail/42-1764700001000.wav".into(),
        kept,
        length_ms: 5000,
        reason: "stopped".into(),
    })
}

#[test]
fn the_terminator_stops_and_a_kept_message_goes_to_next_with_its_path() {
    let (mut s, t0) = session();
    let t = recording(&mut s, t0);
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(30)));
    assert_eq!(s.handle(t, Digit('5')), vec![], "other keys do not stop it");
    let t = t + Duration::from_secs(5);
    assert_eq!(
        s.handle(t, Digit('#')),
        vec![Rec(RecordCommand::Stop { id: 1 })]
    );
    assert_eq!(s.poll_timeout(), Some(t + RECORD_GRACE));
    assert_eq!(s.handle(t, done(true)), vec![hangup("kept")]);
    assert_eq!(
        s.var("voicemail").as_deref(),
        Some("/d/voicemail/42-1764700001000.wav")
    );
    assert_eq!(s.voicemail(), Some("/d/voicemail/42-1764700001000.wav"));
}

#[test]
fn max_s_stops_the_recording_at_its_deadline_not_before() {
    let (mut s, t0) = session();
    let t = recording(&mut s, t0);
    let max = t + Duration::from_secs(30);
    assert_eq!(s.handle(max - Duration::from_millis(1), Timeout), vec![]);
    assert_eq!(
        s.handle(max, Timeout),
        vec![Rec(RecordCommand::Stop { id: 1 })]
    );
}

#[test]
fn a_silence_stop_by_the_recorder_needs_no_stop_command() {
    let (mut s, t0) = session();
    let t = recording(&mut s, t0);
    assert_eq!(
        s.handle(t + Duration::from_secs(9), done(true)),
        vec![hangup("kept")]
    );
}

#[test]
fn an_empty_recording_goes_to_on_empty_and_leaves_no_voicemail() {
    let (mut s, t0) = session();
    let t = recording(&mut s, t0);
    assert_eq!(s.handle(t, done(false)), vec![hangup("empty")]);
    assert_eq!(s.voicemail(), None);
    assert_eq!(s.var("voicemail"), None);
}

#[test]
fn a_refused_recording_goes_to_on_error() {
    let (mut s, t0) = session();
    let t = t0 + Duration::from_secs(1);
    s.handle(t, PromptDone);
    let failed = RecordResult::Failed {
        id: 1,
        reason: "recording needs G.711".into(),
    };
    assert_eq!(s.handle(t, Record(failed)), vec![hangup("error")]);
    assert_eq!(s.voicemail(), None);
}

#[test]
fn a_recorder_that_never_answers_ends_in_on_error_after_the_grace() {
    let (mut s, t0) = session();
    let t = t0 + Duration::from_secs(1);
    s.handle(t, PromptDone);
    assert_eq!(s.poll_timeout(), Some(t + RECORD_GRACE));
    assert_eq!(s.handle(t + RECORD_GRACE, Timeout), vec![hangup("error")]);
}

#[test]
fn stale_or_foreign_results_are_ignored() {
    let (mut s, t0) = session();
    let t = recording(&mut s, t0);
    let other = RecordResult::Done {
        id: 9,
        path: "/x.wav".into(),
        kept: true,
        length_ms: 1,
        reason: "stopped".into(),
    };
    assert_eq!(s.handle(t, Record(other)), vec![]);
    assert!(!s.is_finished());
}

#[test]
fn hanging_up_after_min_s_keeps_the_voicemail_for_the_cdr() {
    let (mut s, t0) = session();
    let t = recording(&mut s, t0);
    assert_eq!(s.handle(t + Duration::from_secs(2), Hangup), vec![]);
    assert!(s.is_finished());
    assert_eq!(s.voicemail(), Some("/d/voicemail/42-1764700001000.wav"));
}

#[test]
fn hanging_up_before_min_s_leaves_no_voicemail() {
    let (mut s, t0) = session();
    let t = recording(&mut s, t0);
    s.handle(t + Duration::from_millis(1999), Hangup);
    assert_eq!(s.voicemail(), None);
}

#[test]
fn hanging_up_during_the_greeting_leaves_no_voicemail() {
    let (mut s, t0) = session();
    s.handle(t0, Hangup);
    assert_eq!(s.voicemail(), None);
}

#[test]
fn keys_during_the_greeting_neither_stop_it_nor_the_recording() {
    let (mut s, t0) = session();
    assert_eq!(s.handle(t0, Digit('#')), vec![]);
    let t = recording(&mut s, t0);
    assert!(!s.is_finished());
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(30)));
}
