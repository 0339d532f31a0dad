//! `GET /api/calls?limit=N`: the newest call detail records first
//! (docs/design/call-flow.md "CDR"; docs/api.md "Calls"), read from
//! [`crate::cdr::CdrStore`].

use super::extract::JsonQuery;
use super::{json_error, HttpState};
use crate::cdr::MAX_RECENT;
use axum::extract::State;
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
