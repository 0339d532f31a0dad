//! `GET /api/cti/events?after=SEQ&limit=N`: the CTI journal read-only
//! (issue 6 "self-healing"; docs/api.md "CTI journal"), oldest first, so a
//! supervisor or a tool can replay it page by page. Rows come from
//! [`crate::journal::JournalStore`] in the database file the CDRs share.

use super::extract::JsonQuery;
use super::{json_error, HttpState};
use crate::journal::{JournalStore, MAX_PAGE};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// Rows returned when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;

#[derive(Debug, Deserialize)]
pub(super) struct EventsQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

pub(super) async fn list(
    State(s): State<HttpState>,
    JsonQuery(q): JsonQuery<EventsQuery>,
) -> Response {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_PAGE).contains(&limit) {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1..={MAX_PAGE}, got {limit}"),
        );
    }
    let after = q.after.unwrap_or(0);
    if i64::try_from(after).is_err() {
        return json_error(StatusCode::BAD_REQUEST, "after is out of range");
    }
    let rows = match JournalStore::new(s.cdrs.pool().clone()).await {
        Ok(store) => store.page(after, limit).await,
        Err(e) => Err(e),
    };
    match rows {
        Ok(rows) => {
            let next = rows.last().map_or(after, |r| r.seq);
            Json(serde_json::json!({ "events": rows, "next_after": next })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "GET /api/cti/events");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "CTI journal unavailable")
        }
    }
}
