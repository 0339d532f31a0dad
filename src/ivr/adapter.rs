//! The adapter between the media server's UA core ([`crate::ivr::ms`]) and
//! the script interpreter ([`IvrSession`]) (MISSION.md steps 5–7,
//! docs/design/call-flow.md): `impl CallSession for IvrSession` is the pair
//! of `match`es between `AppEvent`/`AppCommand` and `IvrEvent`/`IvrCommand`;
//! [`ScriptSessions`] is the [`SessionFactory`] over the loaded scripts.
//!
//! Each call's session is wrapped in a [`ScriptCall`], which adds two things
//! the core's vocabulary lacks:
//! - an announce list longer than one prompt before hold music: the core's
//!   `PlayHold` carries at most one announce, so the list is played with
//!   `Play` and the music starts on its `PromptDone`;
//! - the call's [`IvrReport`] (contact, script, version, digits; the CDR's
//!   IVR columns), sent once when the session ends (it is dropped when the
//!   core forgets the call) through a bounded, non-blocking sink.

use super::ms::{AppCommand, AppEvent, CallSession, HttpResult, SessionFactory};
use super::session::{self, IvrCommand, IvrEvent, IvrSession};
use super::session_info::SessionInfo;
use super::store::LiveFlows;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Instant;

/// What the IVR tells the CDR about one call when it leaves the IVR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrReport {
    pub contact: u64,
    /// The script's name (`X-SoftACD-Script`).
    pub script: String,
    /// The script's version hash.
    pub version: String,
    /// Every DTMF digit pressed, in order.
    pub digits: String,
    /// The voicemail the caller left (a `record` node's WAV path).
    pub voicemail: Option<String>,
}

fn to_ivr_event(ev: AppEvent) -> IvrEvent {
    match ev {
        AppEvent::Start => IvrEvent::Start,
        AppEvent::Digit(d) => IvrEvent::Digit(d),
        AppEvent::PromptDone => IvrEvent::PromptDone,
        AppEvent::Timeout => IvrEvent::Timeout,
        AppEvent::QueueTimeout => IvrEvent::QueueTimeout,
        AppEvent::NoAgents => IvrEvent::NoAgents,
        AppEvent::AgentFound => IvrEvent::AgentFound,
        AppEvent::Hangup => IvrEvent::Hangup,
        AppEvent::Http(HttpResult::Response { id, status, body }) => {
            IvrEvent::HttpResponse { id, status, body }
        }
        AppEvent::Http(HttpResult::Failed { id, reason }) => IvrEvent::HttpFailed { id, reason },
        AppEvent::TransferAnswered => IvrEvent::TransferAnswered,
        AppEvent::TransferFailed { code } => IvrEvent::TransferFailed { code },
        AppEvent::Record(r) => IvrEvent::Record(r),
        AppEvent::QueuePosition { position, ewt_s } => IvrEvent::QueuePosition { position, ewt_s },
        AppEvent::CallbackRegistered => IvrEvent::CallbackRegistered,
        AppEvent::CallbackRefused => IvrEvent::CallbackRefused,
    }
}

/// One command. The core's `PlayHold` carries one announce prompt, so a
/// longer list keeps its first here; [`ScriptCall`] plays the whole list.
fn to_app_command(cmd: IvrCommand) -> AppCommand {
    match cmd {
        IvrCommand::Play {
            prompts,
            interruptible,
        } => AppCommand::Play {
            prompts,
            interruptible,
        },
        IvrCommand::StopPlayback => AppCommand::StopPlayback,
        IvrCommand::PlayHold { music, announce } => AppCommand::PlayHold {
            music,
            announce: announce.into_iter().next(),
        },
        IvrCommand::RequestAgent {
            queue,
            skills,
            priority,
        } => AppCommand::RequestAgent {
            queue,
            skills,
            priority,
        },
        IvrCommand::LeaveQueue => AppCommand::LeaveQueue,
        IvrCommand::QueryPosition => AppCommand::QueryPosition,
        IvrCommand::Hangup { cause } => AppCommand::Hangup { cause },
        IvrCommand::HttpRequest(req) => AppCommand::HttpRequest(req),
        IvrCommand::Transfer { uri, timeout_s } => AppCommand::Transfer { uri, timeout_s },
        IvrCommand::Record(cmd) => AppCommand::Record(cmd),
        IvrCommand::RequestCallback { number } => AppCommand::RequestCallback { number },
    }
}

/// The bare translation (see [`to_app_command`] for the announce limit).
impl CallSession for IvrSession {
    fn handle(&mut self, now: Instant, ev: AppEvent) -> Vec<AppCommand> {
        IvrSession::handle(self, now, to_ivr_event(ev))
            .into_iter()
            .map(to_app_command)
            .collect()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        IvrSession::poll_timeout(self)
    }
}

/// One call's session as the media server runs it: the interpreter, the
/// hold music waiting for a multi-prompt announce, and the report sink.
#[derive(Debug)]
pub struct ScriptCall {
    session: IvrSession,
    script: String,
    /// Music to loop when the announce `Play` ends.
    hold_after: Option<String>,
    reports: Option<SyncSender<IvrReport>>,
    /// Caller, DNIS and X-* headers from the INVITE.
    info: SessionInfo,
}

impl ScriptCall {
    /// The call data the INVITE brought (caller, DNIS, X-* headers).
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// The report this call makes when it ends.
    pub fn report(&self) -> IvrReport {
        IvrReport {
            contact: self.session.contact(),
            script: self.script.clone(),
            version: self.session.script_version().to_owned(),
            digits: self.session.digits().to_owned(),
            voicemail: self.session.voicemail().map(str::to_owned),
        }
    }

    /// Translate, playing a multi-prompt announce with `Play` and holding
    /// its music back until that `Play` is done.
    fn translate(&mut self, cmds: Vec<IvrCommand>) -> Vec<AppCommand> {
        let mut out = Vec::with_capacity(cmds.len());
        for cmd in cmds {
            if !matches!(cmd, IvrCommand::RequestAgent { .. }) {
                self.hold_after = None;
            }
            match cmd {
                IvrCommand::PlayHold { music, announce } if announce.len() > 1 => {
                    out.push(AppCommand::Play {
                        prompts: announce,
                        interruptible: false,
                    });
                    self.hold_after = Some(music);
                }
                other => out.push(to_app_command(other)),
            }
        }
        out
    }
}

impl CallSession for ScriptCall {
    fn handle(&mut self, now: Instant, ev: AppEvent) -> Vec<AppCommand> {
        if ev == AppEvent::PromptDone {
            if let Some(music) = self.hold_after.take() {
                return vec![AppCommand::PlayHold {
                    music,
                    announce: None,
                }];
            }
        }
        let cmds = IvrSession::handle(&mut self.session, now, to_ivr_event(ev));
        for note in self.session.take_notes() {
            tracing::debug!(contact = self.session.contact(), script = %self.script, "ivr: {note}");
        }
        self.translate(cmds)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }
}

impl Drop for ScriptCall {
    fn drop(&mut self) {
        let Some(sink) = self.reports.take() else {
            return;
        };
        let report = self.report();
        match sink.try_send(report) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(r)) => {
                tracing::warn!(
                    contact = r.contact,
                    "ivr: report queue full, report dropped"
                )
            }
        }
    }
}

/// The session factory over the live scripts: script name → a
/// [`ScriptCall`] on the version live now (hot reload swaps the table; a
/// call keeps the `Arc<Script>` it started with); an unknown name gives
/// `None` (the core answers 404).
#[derive(Debug)]
pub struct ScriptSessions {
    scripts: LiveFlows,
    reports: Option<SyncSender<IvrReport>>,
    /// The wall clock read when a call starts (hours and time conditions);
    /// the shell passes the system clock, tests a fixed time.
    clock: fn() -> jiff::Timestamp,
}

impl ScriptSessions {
    /// A factory whose calls report nothing.
    pub fn new(scripts: impl Into<LiveFlows>) -> Self {
        ScriptSessions {
            scripts: scripts.into(),
            reports: None,
            clock: jiff::Timestamp::now,
        }
    }

    /// The same factory with another wall clock.
    pub fn with_clock(mut self, clock: fn() -> jiff::Timestamp) -> Self {
        self.clock = clock;
        self
    }

    /// A factory whose calls send their [`IvrReport`] when they end; the
    /// queue holds `bound` reports (more are dropped with a warning).
    pub fn with_reports(
        scripts: impl Into<LiveFlows>,
        bound: usize,
    ) -> (Self, Receiver<IvrReport>) {
        let (tx, rx) = sync_channel(bound);
        let factory = ScriptSessions {
            scripts: scripts.into(),
            reports: Some(tx),
            clock: jiff::Timestamp::now,
        };
        (factory, rx)
    }
}

impl SessionFactory for ScriptSessions {
    type Session = ScriptCall;

    fn create(&mut self, script: &str, contact: u64) -> Option<ScriptCall> {
        self.create_with_info(script, contact, SessionInfo::default())
    }

    fn create_with_info(
        &mut self,
        script: &str,
        contact: u64,
        info: SessionInfo,
    ) -> Option<ScriptCall> {
        let flow = self.scripts.get(script)?;
        tracing::debug!(
            contact,
            script,
            version = %flow.version,
            caller = %info.caller,
            dnis = %info.dnis,
            headers = ?info.headers,
            "ivr: session starts"
        );
        Some(ScriptCall {
            session: IvrSession::with_info(flow, contact, flow_context(&info, (self.clock)())),
            script: script.to_owned(),
            hold_after: None,
            reports: self.reports.clone(),
            info,
        })
    }
}

/// What the flow may branch on: the call data of the IVR leg's INVITE and
/// the wall clock at the call's start.
fn flow_context(info: &SessionInfo, wall: jiff::Timestamp) -> session::SessionInfo {
    session::SessionInfo {
        caller: info.caller.clone(),
        dnis: info.dnis.clone(),
        headers: info.headers.iter().cloned().collect(),
        wall,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::script::{load_str, Script};
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    const FLOW: &str = r#"
name = "main"
start = "welcome"
[nodes.welcome]
type = "play"
prompts = ["welcome"]
interruptible = true
next = "menu"
[nodes.menu]
type = "menu"
prompts = ["menu"]
timeout_ms = 200
max_tries = 1
on_fail = "bye"
[nodes.menu.choices]
"0" = "agent"
"2" = "agent2"
[nodes.agent]
type = "queue"
queue = "support"
skills = ["support"]
priority = 3
hold_music = "hold"
announce = ["queue"]
on_timeout = "bye"
[nodes.agent2]
type = "queue"
queue = "sales"
skills = []
priority = 0
hold_music = "hold"
announce = ["queue", "info"]
on_timeout = "bye"
[nodes.bye]
type = "hangup"
cause = "normal"
"#;

    fn scripts() -> BTreeMap<String, Arc<Script>> {
        let script = load_str(FLOW, "test", &|_| true).expect("test flow loads");
        BTreeMap::from([("main".to_owned(), Arc::new(script))])
    }

    fn play(names: &[&str], interruptible: bool) -> AppCommand {
        AppCommand::Play {
            prompts: names.iter().map(|n| n.to_string()).collect(),
            interruptible,
        }
    }

    #[test]
    fn ivr_session_translates_events_and_commands() {
        let now = Instant::now();
        let flow = scripts().remove("main").expect("main");
        let mut s = IvrSession::new(flow, 9);
        assert_eq!(
            CallSession::handle(&mut s, now, AppEvent::Start),
            [play(&["welcome"], true)]
        );
        assert_eq!(
            CallSession::handle(&mut s, now, AppEvent::Digit('0')),
            [
                AppCommand::StopPlayback,
                AppCommand::PlayHold {
                    music: "hold".into(),
                    announce: Some("queue".into())
                },
                AppCommand::RequestAgent {
                    queue: "support".into(),
                    skills: vec!["support".into()],
                    priority: 3
                },
            ]
        );
        assert_eq!(
            CallSession::handle(&mut s, now, AppEvent::QueueTimeout),
            [
                AppCommand::StopPlayback,
                AppCommand::Hangup {
                    cause: "normal".into()
                }
            ]
        );
    }

    #[test]
    fn menu_deadline_reaches_poll_timeout_and_timeout_event_fires_it() {
        let now = Instant::now();
        let mut f = ScriptSessions::new(scripts());
        let mut c = f.create("main", 1).expect("main exists");
        c.handle(now, AppEvent::Start);
        c.handle(now, AppEvent::PromptDone);
        assert_eq!(c.handle(now, AppEvent::PromptDone), []);
        let due = c.poll_timeout().expect("menu waits");
        assert_eq!(due, now + Duration::from_millis(200));
        assert_eq!(
            c.handle(due, AppEvent::Timeout),
            [AppCommand::Hangup {
                cause: "normal".into()
            }]
        );
    }

    #[test]
    fn session_keeps_the_call_data_of_its_invite() {
        let mut f = ScriptSessions::new(scripts());
        let info = SessionInfo {
            caller: "5550001".into(),
            caller_name: None,
            dnis: "100".into(),
            headers: vec![("X-Tier".into(), "gold".into())],
        };
        let c = f.create_with_info("main", 3, info.clone()).expect("main");
        assert_eq!(c.info(), &info);
        assert_eq!(
            f.create("main", 4).map(|c| c.info().clone()),
            Some(SessionInfo::default())
        );
    }

    #[test]
    fn unknown_script_gives_none() {
        let mut f = ScriptSessions::new(scripts());
        assert!(f.create("nope", 1).is_none());
        assert!(f.create("main", 1).is_some());
    }

    #[test]
    fn long_announce_plays_first_and_music_starts_on_prompt_done() {
        let now = Instant::now();
        let mut f = ScriptSessions::new(scripts());
        let mut c = f.create("main", 2).expect("main");
        c.handle(now, AppEvent::Start);
        let cmds = c.handle(now, AppEvent::Digit('2'));
        assert!(cmds.contains(&play(&["queue", "info"], false)));
        assert!(cmds
            .iter()
            .any(|c| matches!(c, AppCommand::RequestAgent { queue, .. } if queue == "sales")));
        assert!(!cmds
            .iter()
            .any(|c| matches!(c, AppCommand::PlayHold { .. })));
        assert_eq!(
            c.handle(now, AppEvent::PromptDone),
            [AppCommand::PlayHold {
                music: "hold".into(),
                announce: None
            }]
        );
        assert_eq!(c.handle(now, AppEvent::PromptDone), []);
    }

    #[test]
    fn queue_timeout_during_a_long_announce_cancels_the_music() {
        let now = Instant::now();
        let mut f = ScriptSessions::new(scripts());
        let mut c = f.create("main", 2).expect("main");
        c.handle(now, AppEvent::Start);
        c.handle(now, AppEvent::Digit('2'));
        let cmds = c.handle(now, AppEvent::QueueTimeout);
        assert!(cmds.contains(&AppCommand::Hangup {
            cause: "normal".into()
        }));
        assert_eq!(c.handle(now, AppEvent::PromptDone), []);
    }

    #[test]
    fn ending_call_reports_contact_script_version_and_digits_once() {
        let now = Instant::now();
        let flows = scripts();
        let version = flows.get("main").map(|s| s.version.clone());
        let (mut f, rx) = ScriptSessions::with_reports(flows, 4);
        let mut c = f.create("main", 7).expect("main");
        c.handle(now, AppEvent::Start);
        c.handle(now, AppEvent::Digit('0'));
        c.handle(now, AppEvent::Hangup);
        assert!(rx.try_recv().is_err(), "no report before the call ends");
        drop(c);
        let r = rx.try_recv().expect("one report");
        assert_eq!(r.contact, 7);
        assert_eq!(r.script, "main");
        assert_eq!(Some(r.version), version);
        assert_eq!(r.digits, "0");
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn full_report_queue_drops_without_panic() {
        let (mut f, rx) = ScriptSessions::with_reports(scripts(), 1);
        let a = f.create("main", 1).expect("main");
        let b = f.create("main", 2).expect("main");
        drop(a);
        drop(b);
        assert_eq!(rx.try_recv().map(|r| r.contact).ok(), Some(1));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn the_factory_clock_drives_hours_in_live_calls() {
        const HOURS: &str = r#"
name = "h"
start = "when"
[nodes.when]
type = "hours"
tz = "UTC"
holidays = ["2026-12-25"]
open = "bye"
closed = "closed"
holiday = "holiday"
[nodes.when.weekly]
fri = ["00:00-24:00"]
[nodes.closed]
type = "hangup"
cause = "closed"
[nodes.holiday]
type = "hangup"
cause = "holiday"
[nodes.bye]
type = "hangup"
"#;
        let flow = load_str(HOURS, "h.toml", &|_| true).expect("flow loads");
        let flows = BTreeMap::from([("h".to_owned(), Arc::new(flow))]);
        // Friday 2026-12-25 09:00 UTC, and the Friday before.
        let xmas = || jiff::Timestamp::from_second(1_798_189_200).unwrap_or_default();
        let friday = || jiff::Timestamp::from_second(1_797_584_400).unwrap_or_default();
        let cause = |clock: fn() -> jiff::Timestamp| {
            let mut f = ScriptSessions::new(flows.clone()).with_clock(clock);
            let mut c = f.create("h", 1).expect("h");
            match c.handle(Instant::now(), AppEvent::Start).as_slice() {
                [AppCommand::Hangup { cause }] => cause.clone(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(cause(xmas), "holiday");
        assert_eq!(cause(friday), "normal");
    }
}
