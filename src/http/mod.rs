//! The HTTP shell (axum): health, Prometheus metrics and the JSON API
//! (registrations, agents, call records and recording control, the live
//! event stream) the agent desktop (`/desk`, `/api/desk`) and the supervisor wall (`/wall`). Every error
//! a client can cause is a 4xx with a JSON body `{"error": …, "status": …}`;
//! routes are documented in docs/api.md, events in docs/events.md.

mod agents;
pub mod auth;
mod calls;
pub mod desk;
pub mod extract;
mod ivr;
mod journal;
mod queues;
mod stats;
mod wall;
mod ws;

pub use agents::{
    AgentCommand, AgentError, AgentOp, AgentView, ContactCard, AGENT_QUEUE, AGENT_REPLY_TIMEOUT,
};
pub use queues::{QueueView, QUEUES_EVERY};
pub use stats::{MinuteView, QueueHistoryView};

use crate::cdr::CdrStore;
use crate::events::EventBus;
use crate::media::recording::Recordings;
use crate::registrar::Binding;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the HTTP handlers read. The engine task writes the snapshots and
/// answers the agent commands.
#[derive(Clone)]
pub struct HttpState {
    pub bindings: Arc<RwLock<Vec<Binding>>>,
    pub metrics: Option<PrometheusHandle>,
    pub draining: Arc<AtomicBool>,
    /// Unix ms, for `expires_in` in the registrations list.
    pub wall_ms: fn() -> u64,
    /// Snapshot for `GET /api/agents`, replaced by the engine.
    pub agents: Arc<RwLock<Vec<AgentView>>>,
    /// To the engine task (bounded: [`AGENT_QUEUE`]).
    pub agent_commands: mpsc::Sender<AgentCommand>,
    /// How long an agent command waits for the engine ([`AGENT_REPLY_TIMEOUT`]).
    pub agent_timeout: Duration,
    pub cdrs: CdrStore,
    pub events: EventBus,
    /// The IVR flow registry (`/api/ivr/*`); `None` when no IVR runs.
    pub ivr_flows: Option<crate::ivr::store::Reloader>,
    /// Live calls' recordings (pause/resume).
    pub recordings: Recordings,
    /// The agent desktop's passwords and codes (`/api/desk`).
    pub desk: Arc<desk::DeskSettings>,
    /// Snapshot for `GET /api/queues`, replaced by the engine.
    pub queues: Arc<RwLock<Vec<QueueView>>>,
    /// Snapshot for `GET /api/stats/history`, replaced by the engine.
    pub history: Arc<RwLock<Vec<QueueHistoryView>>>,
    /// Admin token, supervisors' sessions, login throttling.
    pub auth: Arc<auth::Auth>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/registrations", get(registrations))
        .route("/api/agents", get(agents::list))
        .route("/api/agents/{id}/sign-in", post(agents::sign_in))
        .route("/api/agents/{id}/sign-out", post(agents::sign_out))
        .route("/api/agents/{id}/ready", post(agents::ready))
        .route("/api/agents/{id}/not-ready", post(agents::not_ready))
        .route("/api/calls", get(calls::list))
        .route("/api/calls/{contact}/recording/pause", post(calls::pause))
        .route("/api/calls/{contact}/recording/resume", post(calls::resume))
        .route("/api/events", get(ws::events))
        .route("/api/ivr/flows", get(ivr::flows))
        .route("/api/ivr/reload", post(ivr::reload))
        .route("/desk", get(desk::page))
        .route("/desk/desk.js", get(desk::script))
        .route("/desk/desk.css", get(desk::style))
        .route("/api/desk", get(desk::socket))
        .route("/api/queues", get(queues::list))
        .route("/api/cti/events", get(journal::list))
        .route("/api/stats/history", get(stats::history))
        .route("/api/openapi.json", get(openapi))
        .route("/wall", get(wall::page))
        .route("/wall/wall.js", get(wall::script))
        .route("/wall/wall.css", get(wall::style))
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/session", get(auth::session))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// A JSON error body with its status.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": message.into(), "status": status.as_u16() })),
    )
        .into_response()
}

async fn healthz(State(s): State<HttpState>) -> Response {
    if s.draining.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "draining"})),
        )
            .into_response();
    }
    Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn metrics(State(s): State<HttpState>) -> Response {
    match &s.metrics {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => json_error(
            StatusCode::NOT_FOUND,
            "metrics are not enabled in this process",
        ),
    }
}

#[derive(Serialize)]
struct RegistrationView<'a> {
    #[serde(flatten)]
    binding: &'a Binding,
    expires_in: u64,
}

async fn registrations(State(s): State<HttpState>) -> Response {
    let now = (s.wall_ms)();
    let guard = s.bindings.read().unwrap_or_else(|p| p.into_inner());
    let list: Vec<RegistrationView> = guard
        .iter()
        .filter(|b| b.expires_at_ms > now)
        .map(|b| RegistrationView {
            binding: b,
            expires_in: (b.expires_at_ms - now).div_ceil(1000),
        })
        .collect();
    Json(list).into_response()
}

/// The OpenAPI 3.1 description of every route (hand-written, checked
/// against the router by tests/http_api.rs).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found(req: Request) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        format!("no such resource: {}", req.uri().path()),
    )
}

async fn method_not_allowed(req: Request) -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {} not allowed on {}",
            req.method(),
            req.uri().path()
        ),
    )
}
