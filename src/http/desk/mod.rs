//! The agent desktop (issue 6; the Huawei CTI seed's interface A): the
//! `/desk` page (HTML, CSS and JS embedded with `include_str!`, no build
//! step) and its WebSocket at `/api/desk` (RFC 6455), speaking the versioned
//! JSON protocol of docs/desk-protocol.md. This is a thin shell: parsing is
//! in [`protocol`], per-connection state in [`session`], passwords in
//! [`password`]; agent commands go to the engine over the same bounded
//! channel as the HTTP agent routes, and the desk follows its agent on the
//! live event bus. A bad message gets a JSON error; the connection stays.

pub mod password;
pub mod protocol;
pub mod session;

use super::agents::{ask, AskError};
use super::{json_error, AgentError, AgentOp, AgentView, HttpState};
use crate::config::Config;
use crate::cti::{AgentId, QueueName, TransferTarget};
use crate::events::{Subscription, MAX_SUBSCRIBERS};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::{error, message, Request, MAX_MESSAGE};
use serde_json::{json, Value};
use session::DeskSession;
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest wait for the desktop to take one frame before it is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a refused sign-in (slows password guessing per connection).
const AUTH_FAIL_DELAY: Duration = Duration::from_millis(500);
/// How long a disposition waits for the call's record to be written.
const RECORD_WAIT: Duration = Duration::from_secs(5);
/// Most contacts in the history list.
const HISTORY_LIMIT: u32 = 100;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("desk.js");
const STYLE: &str = include_str!("desk.css");

/// What the desk needs from the configuration.
#[derive(Debug, Clone, Default)]
pub struct DeskSettings {
    /// Agent id → Argon2 PHC string (`[[seat]] agent_password_hash`).
    pub password_hashes: BTreeMap<String, String>,
    pub break_reasons: Vec<String>,
    pub dispositions: Vec<String>,
}

impl DeskSettings {
    pub fn from_config(cfg: &Config) -> Self {
        DeskSettings {
            password_hashes: cfg
                .seat
                .iter()
                .filter_map(|s| Some((s.user.clone(), s.agent_password_hash.clone()?)))
                .collect(),
            break_reasons: cfg.desk.break_reasons.clone(),
            dispositions: cfg.desk.dispositions.clone(),
        }
    }
}

pub(super) async fn page() -> Response {
    static_file("text/html; charset=utf-8", PAGE)
}

pub(super) async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", SCRIPT)
}

pub(super) async fn style() -> Response {
    static_file("text/css; charset=utf-8", STYLE)
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/desk`: the desk's WebSocket.
pub(super) async fn socket(
    State(s): State<HttpState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => return json_error(r.status(), r.body_text()),
    };
    if s.events.subscribers() >= MAX_SUBSCRIBERS {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("too many WebSocket clients (limit {MAX_SUBSCRIBERS})"),
        );
    }
    let sub = s.events.subscribe();
    ws.max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| run(socket, s, sub))
}

async fn run(mut socket: WebSocket, s: HttpState, mut sub: Subscription) {
    let mut session = DeskSession::default();
    let hello = message(
        "hello",
        None,
        json!({
            "break_reasons": s.desk.break_reasons,
            "dispositions": s.desk.dispositions,
        }),
    );
    if !send(&mut socket, hello).await {
        return;
    }
    loop {
        let out = tokio::select! {
            ev = sub.next() => match ev {
                Some(text) if session.concerns_me(&text) => refresh(&s, &mut session).await,
                Some(_) => continue,
                None => break,
            },
            inbound = socket.recv() => match inbound {
                Some(Ok(Message::Text(text))) => handle(&s, &mut session, text.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    vec![error(None, "bad_message", "binary frames are not part of the protocol")]
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
            },
        };
        for text in out {
            if !send(&mut socket, text).await {
                return;
            }
        }
    }
}

async fn send(socket: &mut WebSocket, text: String) -> bool {
    let frame = socket.send(Message::Text(text.into()));
    matches!(tokio::time::timeout(SEND_TIMEOUT, frame).await, Ok(Ok(())))
}

/// The agent's view from the engine, and what it means for the desktop.
async fn refresh(s: &HttpState, session: &mut DeskSession) -> Vec<String> {
    let Some(agent) = session.agent().map(str::to_string) else {
        return Vec::new();
    };
    match ask(s, agent, AgentOp::Status).await {
        Ok(view) => session.on_view(&view),
        Err(e) => vec![ask_error(None, e)],
    }
}

/// One text frame from the desktop: the replies to send.
async fn handle(s: &HttpState, session: &mut DeskSession, text: &str) -> Vec<String> {
    let parsed = protocol::parse(text);
    let id = parsed.id.as_ref();
    let request = match parsed.request {
        Ok(r) => r,
        Err(e) => return vec![error(id, e.code(), &e.to_string())],
    };
    if let Request::SignIn {
        agent,
        password,
        device,
    } = request
    {
        return sign_in(s, session, id, agent, password, device).await;
    }
    let Some(agent) = session.agent().map(str::to_string) else {
        return vec![error(id, "not_signed_in", "sign in first")];
    };
    match request {
        Request::SignIn { .. } => Vec::new(),
        Request::SignOut => {
            let r = ask(s, agent, AgentOp::SignOut).await;
            if r.is_ok() {
                session.sign_out();
            }
            vec![reply(id, "signed_out", r)]
        }
        Request::Ready => vec![reply(id, "ok", ask(s, agent, AgentOp::Ready).await)],
        Request::Break { reason } => {
            if !s.desk.break_reasons.contains(&reason) {
                let why = format!("unknown break reason {reason:?}");
                return vec![error(id, "bad_reason", &why)];
            }
            let r = ask(s, agent, AgentOp::NotReady { reason }).await;
            vec![reply(id, "ok", r)]
        }
        Request::HangUp => vec![reply(id, "ok", ask(s, agent, AgentOp::HangUp).await)],
        Request::Hold => {
            let op = AgentOp::Hold { hold: true };
            vec![reply(id, "ok", ask(s, agent, op).await)]
        }
        Request::Retrieve => {
            let op = AgentOp::Hold { hold: false };
            vec![reply(id, "ok", ask(s, agent, op).await)]
        }
        Request::Transfer { to } => {
            let op = AgentOp::Transfer { to: target(to) };
            vec![reply(id, "ok", ask(s, agent, op).await)]
        }
        Request::Disposition { contact, code } => {
            disposition(s, session, id, &agent, contact, &code).await
        }
        Request::History => vec![history(s, id, &agent).await],
    }
}

async fn sign_in(
    s: &HttpState,
    session: &mut DeskSession,
    id: Option<&Value>,
    agent: String,
    password: String,
    device: Option<String>,
) -> Vec<String> {
    let hash = s.desk.password_hashes.get(&agent).cloned();
    let ok = match hash {
        Some(hash) => tokio::task::spawn_blocking(move || password::verify(&password, &hash))
            .await
            .unwrap_or(false),
        None => false,
    };
    if !ok {
        tokio::time::sleep(AUTH_FAIL_DELAY).await;
        return vec![error(id, "auth_failed", "wrong agent id or password")];
    }
    let op = AgentOp::SignIn {
        device,
        skills: None,
    };
    match ask(s, agent.clone(), op).await {
        Ok(view) => {
            session.sign_in(&agent);
            let mut out = vec![message("signed_in", id, json!({ "agent": view }))];
            out.extend(session.on_view(&view));
            out.push(history(s, None, &agent).await);
            out
        }
        Err(e) => vec![ask_error(id, e)],
    }
}

/// Store the wrap-up code on the contact's record, end wrap-up, and send
/// the history with it.
async fn disposition(
    s: &HttpState,
    session: &DeskSession,
    id: Option<&Value>,
    agent: &str,
    contact: u64,
    code: &str,
) -> Vec<String> {
    if !s.desk.dispositions.iter().any(|d| d == code) {
        let why = format!("unknown disposition {code:?}");
        return vec![error(id, "bad_disposition", &why)];
    }
    // The record is written when the call is over; a disposition sent
    // right at hang-up may arrive first, so wait a little for it.
    let wait = if session.last_call() == Some(contact) {
        RECORD_WAIT
    } else {
        Duration::ZERO
    };
    let stored = match s
        .cdrs
        .set_disposition_within(contact, agent, code, wait)
        .await
    {
        Ok(stored) => stored,
        Err(e) => return vec![error(id, "store", &e.to_string())],
    };
    if !stored {
        let why = format!("no record of contact {contact} handled by {agent}");
        return vec![error(id, "unknown_contact", &why)];
    }
    // Only the disposition of the call just finished ends the wrap-up (the
    // latest in the history, for a desk reloaded during wrap-up).
    let latest = session.last_call() == Some(contact)
        || matches!(s.cdrs.agent_history(agent, 0, 1).await.as_deref(),
                    Ok([row]) if row.contact_id == contact);
    let wrap = if latest {
        match ask(s, agent.to_string(), AgentOp::WrapUpDone).await {
            Ok(_) | Err(AskError::Refused(AgentError::Conflict(_))) => None,
            Err(e) => Some(ask_error(None, e)),
        }
    } else {
        None
    };
    let mut out = vec![message(
        "ok",
        id,
        json!({ "contact": contact, "disposition": code }),
    )];
    out.extend(wrap);
    out.push(history(s, None, agent).await);
    out
}

async fn history(s: &HttpState, id: Option<&Value>, agent: &str) -> String {
    let since = start_of_today_ms((s.wall_ms)());
    match s.cdrs.agent_history(agent, since, HISTORY_LIMIT).await {
        Ok(calls) => message("history", id, json!({ "since_ms": since, "calls": calls })),
        Err(e) => error(id, "store", &e.to_string()),
    }
}

fn target(to: protocol::TransferTo) -> TransferTarget {
    match to {
        protocol::TransferTo::Agent(a) => TransferTarget::Agent { agent: AgentId(a) },
        protocol::TransferTo::Queue(q) => TransferTarget::Queue {
            queue: QueueName(q),
        },
    }
}

fn reply(id: Option<&Value>, kind: &str, r: Result<AgentView, AskError>) -> String {
    match r {
        Ok(view) => message(kind, id, json!({ "agent": view })),
        Err(e) => ask_error(id, e),
    }
}

fn ask_error(id: Option<&Value>, e: AskError) -> String {
    match e {
        AskError::Unavailable(why) => error(id, "unavailable", &why),
        AskError::Refused(AgentError::NotFound) => error(id, "unknown_agent", "no such agent"),
        AskError::Refused(AgentError::Conflict(why)) => error(id, "refused", &why),
        AskError::Refused(AgentError::Invalid(why)) => error(id, "invalid", &why),
        AskError::Refused(AgentError::Busy(why)) => error(id, "busy", &why),
    }
}

/// Local midnight (the system time zone) of the day containing `wall_ms`;
/// UTC midnight when the zone cannot be read.
fn start_of_today_ms(wall_ms: u64) -> u64 {
    let utc = wall_ms - wall_ms % 86_400_000;
    let Ok(ms) = i64::try_from(wall_ms) else {
        return utc;
    };
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| {
            let tz = jiff::tz::TimeZone::try_system().ok()?;
            t.to_zoned(tz).start_of_day().ok()
        })
        .and_then(|z| u64::try_from(z.timestamp().as_millisecond()).ok())
        .unwrap_or(utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_starts_at_most_a_day_before_now() {
        let now = 1_795_000_000_000;
        let start = start_of_today_ms(now);
        assert!(
            start <= now && now - start < 86_400_000 + 3_600_000,
            "{start}"
        );
    }

    #[test]
    fn settings_take_hashes_and_codes_from_the_config() {
        let mut cfg = Config::default();
        cfg.seat.push(crate::config::SeatConfig {
            user: "1001".into(),
            password: "x".into(),
            skills: vec![],
            auto_ready: false,
            agent_password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        });
        cfg.seat.push(crate::config::SeatConfig {
            user: "1002".into(),
            password: "x".into(),
            skills: vec![],
            auto_ready: false,
            agent_password_hash: None,
        });
        let s = DeskSettings::from_config(&cfg);
        assert_eq!(s.password_hashes.keys().collect::<Vec<_>>(), ["1001"]);
        assert_eq!(s.dispositions, cfg.desk.dispositions);
        assert!(s.break_reasons.contains(&"lunch".to_string()));
    }
}
