//! IVR flow administration over HTTP (issue 5, "Hot reload"):
//! `POST /api/ivr/reload` re-validates every flow and swaps them all at once
//! (200 `{"flows":[{name,version,changed}]}`), or refuses the whole set with
//! 422 `{"error","status","errors":["file:line:col: message",…]}` while the
//! previous flows keep serving; `GET /api/ivr/flows` lists the live flows
//! and their versions. The reload is an admin route (`http::auth`).

use super::{json_error, HttpState};
use crate::ivr::store::Trigger;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

fn no_ivr() -> Response {
    json_error(StatusCode::NOT_FOUND, "no IVR runs in this process")
}

pub async fn flows(State(s): State<HttpState>) -> Response {
    match &s.ivr_flows {
        Some(flows) => Json(serde_json::json!({ "flows": flows.list() })).into_response(),
        None => no_ivr(),
    }
}

pub async fn reload(State(s): State<HttpState>) -> Response {
    let Some(flows) = s.ivr_flows.clone() else {
        return no_ivr();
    };
    let now = (s.wall_ms)();
    let run = move || flows.reload(Trigger::Api, now);
    match tokio::task::spawn_blocking(run).await {
        Ok(Ok(list)) => Json(serde_json::json!({ "flows": list })).into_response(),
        Ok(Err(e)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let body = serde_json::json!({
                "error": "IVR flows refused; the previous versions keep serving",
                "status": status.as_u16(),
                "errors": e.lines(),
            });
            (status, Json(body)).into_response()
        }
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload task failed: {e}"),
        ),
    }
}
