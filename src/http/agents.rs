//! The agent desktop's HTTP side (MISSION.md interface A, "Agents sign in
//! with any phone"; docs/api.md "Agents"): a snapshot list of agents, and
//! sign-in, sign-out, ready and not-ready commands. Each command crosses a
//! bounded channel to the engine task as an [`AgentCommand`] and waits (up to
//! a timeout) for the engine's answer; this module never touches the CTI core.

use super::extract::OptionalJsonBody;
use super::{json_error, HttpState};
use crate::cti::{Agent, AgentState, AgentStatus, Channel, CtiError};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;

/// Agent commands waiting for the engine; more is 503 "busy".
pub const AGENT_QUEUE: usize = 64;
/// How long a command waits for the engine's answer before 503.
pub const AGENT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

const MAX_ID: usize = 64;
const MAX_DEVICE: usize = 256;
const MAX_SKILLS: usize = 32;
const MAX_SKILL_NAME: usize = 64;
const MAX_REASON: usize = 64;

/// One agent as the API shows it; the engine keeps a snapshot list of these.
/// `status` and `state` serialize as in the `AgentStateChanged` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentView {
    pub id: String,
    pub status: AgentStatus,
    pub state: AgentState,
    pub device: String,
    pub skills: BTreeMap<String, u8>,
    /// The contact the agent is reserved for, ringing or talking with, as
    /// the desk's popup shows it; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactCard>,
    /// Contacts held per channel (`{"chat": 2}`); absent when none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub load: BTreeMap<Channel, u32>,
}

/// Caller data for the agent's popup (issue 6): who calls, what number they
/// dialled, the queue, and the call data the IVR was given (the caller's
/// `X-*` headers, the caller's display name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactCard {
    pub contact: u64,
    pub caller: String,
    pub dnis: String,
    pub queue: Option<String>,
    pub data: BTreeMap<String, String>,
    /// The desk holds the caller (`hold`; `retrieve` ends it).
    #[serde(default)]
    pub held: bool,
}

impl From<&Agent> for AgentView {
    fn from(a: &Agent) -> Self {
        AgentView {
            id: a.id.0.clone(),
            status: a.status.clone(),
            state: a.state.clone(),
            device: a.device.clone(),
            skills: a.skills.iter().map(|(s, l)| (s.0.clone(), *l)).collect(),
            contact: None,
            load: a.load(),
        }
    }
}

/// What the agent asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentOp {
    /// `device: None` means the seat's registered contact (the engine
    /// resolves it); `skills: None` keeps the configured skills.
    SignIn {
        device: Option<String>,
        skills: Option<BTreeMap<String, u8>>,
    },
    SignOut,
    Ready,
    NotReady {
        reason: String,
    },
    /// No change: the agent's current view (with its contact card).
    Status,
    /// End wrap-up now (the desk sent a disposition).
    WrapUpDone,
    /// End the agent's current contact (the B2BUA hangs up every leg).
    HangUp,
    /// Blind transfer of the agent's current contact (the desk's `transfer`).
    Transfer {
        to: crate::cti::TransferTarget,
    },
    /// Hold the agent's caller (hold music), or take it back.
    Hold {
        hold: bool,
    },
}

/// Why the engine refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// No such agent (404).
    #[error("unknown agent")]
    NotFound,
    /// Not allowed in the agent's current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is unacceptable (422), e.g. no registered device.
    #[error("{0}")]
    Invalid(String),
    /// The agent named as a transfer target is not Available and Idle (409).
    #[error("{0}")]
    Busy(String),
}

impl From<CtiError> for AgentError {
    fn from(e: CtiError) -> Self {
        match e {
            CtiError::UnknownAgent { .. } => AgentError::NotFound,
            CtiError::TooLarge { .. }
            | CtiError::TooManyAgents { .. }
            | CtiError::SkillLevel { .. } => AgentError::Invalid(e.to_string()),
            CtiError::AgentBusy { .. } => AgentError::Busy(e.to_string()),
            _ => AgentError::Conflict(e.to_string()),
        }
    }
}

/// One command for the engine task, answered on `reply`.
#[derive(Debug)]
pub struct AgentCommand {
    pub agent: String,
    pub op: AgentOp,
    pub reply: oneshot::Sender<Result<AgentView, AgentError>>,
}

/// `POST /api/agents/{id}/sign-in` body; both fields optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignInBody {
    device: Option<String>,
    skills: Option<BTreeMap<String, u8>>,
}

/// `POST /api/agents/{id}/not-ready` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NotReadyBody {
    #[serde(default)]
    reason: String,
}

/// An empty object, for commands that take no fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoBody {}

pub(super) async fn list(State(s): State<HttpState>) -> Response {
    let guard = s.agents.read().unwrap_or_else(|p| p.into_inner());
    Json(guard.clone()).into_response()
}

pub(super) async fn sign_in(
    State(s): State<HttpState>,
    AgentPath(id): AgentPath,
    OptionalJsonBody(body): OptionalJsonBody<SignInBody>,
) -> Response {
    if let Err(why) = check_sign_in(&body) {
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, why);
    }
    let op = AgentOp::SignIn {
        device: body.device,
        skills: body.skills,
    };
    command(&s, id, op).await
}

pub(super) async fn sign_out(
    State(s): State<HttpState>,
    AgentPath(id): AgentPath,
    OptionalJsonBody(_): OptionalJsonBody<NoBody>,
) -> Response {
    command(&s, id, AgentOp::SignOut).await
}

pub(super) async fn ready(
    State(s): State<HttpState>,
    AgentPath(id): AgentPath,
    OptionalJsonBody(_): OptionalJsonBody<NoBody>,
) -> Response {
    command(&s, id, AgentOp::Ready).await
}

pub(super) async fn not_ready(
    State(s): State<HttpState>,
    AgentPath(id): AgentPath,
    OptionalJsonBody(body): OptionalJsonBody<NotReadyBody>,
) -> Response {
    if let Err(why) = check_text("reason", &body.reason, MAX_REASON) {
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, why);
    }
    let op = AgentOp::NotReady {
        reason: body.reason,
    };
    command(&s, id, op).await
}

/// Send `op` to the engine and turn its answer into a response.
async fn command(s: &HttpState, agent: String, op: AgentOp) -> Response {
    match ask(s, agent.clone(), op).await {
        Ok(view) => Json(view).into_response(),
        Err(AskError::Unavailable(why)) => json_error(StatusCode::SERVICE_UNAVAILABLE, why),
        Err(AskError::Refused(e)) => refused(&agent, e),
    }
}

/// Why the engine gave no view.
#[derive(Debug)]
pub(super) enum AskError {
    /// The engine is busy, gone or too slow (503).
    Unavailable(String),
    /// The engine refused the command.
    Refused(AgentError),
}

/// Send `op` for `agent` to the engine task and wait for its answer (the
/// one path from HTTP and the desk's WebSocket to the engine).
pub(super) async fn ask(s: &HttpState, agent: String, op: AgentOp) -> Result<AgentView, AskError> {
    let (tx, rx) = oneshot::channel();
    let cmd = AgentCommand {
        agent,
        op,
        reply: tx,
    };
    match s.agent_commands.try_send(cmd) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err(AskError::Unavailable("engine busy: try again".into()))
        }
        Err(TrySendError::Closed(_)) => {
            return Err(AskError::Unavailable("engine is not running".into()))
        }
    }
    match tokio::time::timeout(s.agent_timeout, rx).await {
        Err(_) => Err(AskError::Unavailable(format!(
            "engine did not answer within {:?}",
            s.agent_timeout
        ))),
        Ok(Err(_)) => Err(AskError::Unavailable("engine dropped the request".into())),
        Ok(Ok(r)) => r.map_err(AskError::Refused),
    }
}

fn refused(agent: &str, e: AgentError) -> Response {
    match e {
        AgentError::NotFound => json_error(StatusCode::NOT_FOUND, format!("no agent {agent:?}")),
        AgentError::Conflict(why) | AgentError::Busy(why) => json_error(StatusCode::CONFLICT, why),
        AgentError::Invalid(why) => json_error(StatusCode::UNPROCESSABLE_ENTITY, why),
    }
}

/// The `{id}` path segment, checked: 1..=64 bytes, no control characters.
pub(super) struct AgentPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AgentPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|r| json_error(r.status(), r.body_text()))?;
        check_agent_id(&id).map_err(|why| json_error(StatusCode::BAD_REQUEST, why))?;
        Ok(AgentPath(id))
    }
}

fn check_agent_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID || id.chars().any(char::is_control) {
        return Err(format!(
            "agent id must be 1..={MAX_ID} bytes without control characters"
        ));
    }
    Ok(())
}

fn check_sign_in(body: &SignInBody) -> Result<(), String> {
    if let Some(device) = &body.device {
        check_text("device", device, MAX_DEVICE)?;
        let lower = device.to_ascii_lowercase();
        if !(lower.starts_with("sip:") || lower.starts_with("sips:")) {
            return Err(format!(
                "device must be a sip: or sips: URI, got {device:?}"
            ));
        }
    }
    if let Some(skills) = &body.skills {
        if skills.len() > MAX_SKILLS {
            return Err(format!("at most {MAX_SKILLS} skills"));
        }
        for name in skills.keys() {
            if name.is_empty() {
                return Err("skill names must not be empty".into());
            }
            check_text("skill name", name, MAX_SKILL_NAME)?;
        }
    }
    Ok(())
}

fn check_text(field: &str, text: &str, limit: usize) -> Result<(), String> {
    if text.len() > limit {
        return Err(format!("{field} longer than {limit} bytes"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cti::{AgentId, ContactId, QueueName, Skill};
    use std::time::Instant;

    #[test]
    fn view_of_agent_serializes_like_the_event_stream() {
        let mut a = Agent {
            id: AgentId::from("alice"),
            device: "sip:alice@10.0.0.9:5062".into(),
            skills: [(Skill::from("support"), 5)].into_iter().collect(),
            status: AgentStatus::Available,
            state: AgentState::InCall {
                contact: ContactId(12),
            },
            idle_since: Instant::now(),
            wrap_up_until: None,
            missed: 0,
            handled: 0,
            held: [
                (ContactId(12), Channel::Voice),
                (ContactId(13), Channel::Chat),
            ]
            .into(),
        };
        a.status = AgentStatus::NotReady {
            reason: "break".into(),
        };
        let json = serde_json::to_value(AgentView::from(&a)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id":"alice","status":{"status":"not_ready","reason":"break"},
                "state":{"state":"in_call","contact":12},"device":"sip:alice@10.0.0.9:5062",
                "skills":{"support":5},"load":{"voice":1,"chat":1}})
        );
    }

    #[test]
    fn cti_errors_map_to_agent_error_kinds() {
        let unknown = CtiError::UnknownAgent {
            input: "SetReady",
            agent: AgentId::from("x"),
        };
        assert_eq!(AgentError::from(unknown), AgentError::NotFound);
        let big = CtiError::TooLarge {
            input: "SignIn",
            field: "device",
            len: 900,
            limit: 256,
        };
        assert!(matches!(AgentError::from(big), AgentError::Invalid(m) if m.contains("device")));
        let unknown_queue = CtiError::UnknownQueue {
            input: "RequestAgent",
            queue: QueueName::from("q"),
        };
        assert!(matches!(
            AgentError::from(unknown_queue),
            AgentError::Conflict(_)
        ));
    }

    #[test]
    fn sign_in_checks_device_and_skills() {
        let ok = SignInBody {
            device: Some("SIP:bob@10.0.0.5".into()),
            skills: Some([("sales".to_string(), 3)].into_iter().collect()),
        };
        assert!(check_sign_in(&ok).is_ok());
        assert!(check_sign_in(&SignInBody::default()).is_ok());
        let tel = SignInBody {
            device: Some("tel:+15551234".into()),
            skills: None,
        };
        assert!(check_sign_in(&tel).unwrap_err().contains("sip:"));
        let many = SignInBody {
            device: None,
            skills: Some((0..40).map(|i| (format!("s{i}"), 1)).collect()),
        };
        assert!(check_sign_in(&many).unwrap_err().contains("at most"));
        let empty_name = SignInBody {
            device: None,
            skills: Some([(String::new(), 1)].into_iter().collect()),
        };
        assert!(check_sign_in(&empty_name).is_err());
    }

    #[test]
    fn agent_id_is_bounded() {
        assert!(check_agent_id("alice").is_ok());
        assert!(check_agent_id(&"a".repeat(64)).is_ok());
        assert!(check_agent_id(&"a".repeat(65)).is_err());
        assert!(check_agent_id("a\nb").is_err());
        assert!(check_agent_id("").is_err());
    }
}
