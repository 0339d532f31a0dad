//! `GET /api/calls?limit=N`: the newest call detail records first
//! (docs/design/call-flow.md "CDR"; docs/api.md "Calls"), read from
//! [`crate::cdr::CdrStore`]. `POST /api/calls/{contact}/recording/pause`
//! and `/resume`: a live call's recording (issue 4, "Recording").

use super::extract::JsonQuery;
use super::{json_error, HttpState};
use crate::cdr::MAX_RECENT;
use crate::media::recording::ControlError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// Records returned when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Deserialize)]
pub(super) struct CallsQuery {
    limit: Option<u32>,
}

pub(super) async fn list(
    State(s): State<HttpState>,
    JsonQuery(q): JsonQuery<CallsQuery>,
) -> Response {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_RECENT).contains(&limit) {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1..={MAX_RECENT}, got {limit}"),
        );
    }
    match s.cdrs.recent(limit).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "GET /api/calls");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "call records unavailable",
            )
        }
    }
}

pub(super) async fn pause(State(s): State<HttpState>, Path(contact): Path<String>) -> Response {
    set_paused(&s, &contact, true)
}

pub(super) async fn resume(State(s): State<HttpState>, Path(contact): Path<String>) -> Response {
    set_paused(&s, &contact, false)
}

fn set_paused(s: &HttpState, contact: &str, paused: bool) -> Response {
    let Ok(id) = contact.parse::<u64>() else {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("contact id must be a number, got {contact:?}"),
        );
    };
    match s.recordings.set_paused(id, paused) {
        Ok(()) => Json(serde_json::json!({
            "contact_id": id,
            "recording": if paused { "paused" } else { "recording" },
        }))
        .into_response(),
        Err(e @ ControlError::UnknownContact) => {
            json_error(StatusCode::NOT_FOUND, format!("contact {id}: {e}"))
        }
        Err(e) => json_error(StatusCode::CONFLICT, format!("contact {id}: {e}")),
    }
}
