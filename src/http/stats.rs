//! `GET /api/stats/history?minutes=N` (issue 6, "charts over the last
//! hour"; docs/api.md "Stats"): per queue, one entry per minute of the last
//! `N` (1..=60, default 60) with the most contacts waiting in the minute,
//! contacts offered, answered and abandoned, and the minute's service level,
//! so `/wall` can draw its charts after a reload. A snapshot the engine task
//! refreshes with the queue figures; this module never touches the CTI core.

use super::extract::JsonQuery;
use super::queues::one_decimal;
use super::{json_error, HttpState};
use crate::cti::{QueueHistory, WINDOW_MINUTES};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// One minute of one queue; times in Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinuteView {
    /// When the minute began.
    pub start_ms: u64,
    pub waiting: usize,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// `null` when nothing was answered or abandoned late in the minute.
    pub service_level_pct: Option<f64>,
}

/// One queue's last hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueHistoryView {
    pub name: String,
    pub service_level_s: u64,
    /// Oldest first; the last entry is the minute in progress.
    pub minutes: Vec<MinuteView>,
}

impl QueueHistoryView {
    /// The view of `h` taken at `now`, which is `wall_ms` on the wall clock.
    pub fn new(h: &QueueHistory, now: Instant, wall_ms: u64) -> Self {
        let to_wall = |at: Instant| {
            let ago = u64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(0);
            wall_ms.saturating_sub(ago)
        };
        QueueHistoryView {
            name: h.name.0.clone(),
            service_level_s: h.service_level.as_secs(),
            minutes: h
                .minutes
                .iter()
                .map(|m| MinuteView {
                    start_ms: to_wall(m.start),
                    waiting: m.waiting,
                    offered: m.counts.offered,
                    answered: m.counts.answered,
                    abandoned: m.counts.abandoned,
                    service_level_pct: m.counts.service_level_pct().map(one_decimal),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    minutes: Option<u64>,
}

pub(super) async fn history(
    State(s): State<HttpState>,
    JsonQuery(q): JsonQuery<HistoryQuery>,
) -> Response {
    let minutes = q.minutes.unwrap_or(WINDOW_MINUTES);
    if !(1..=WINDOW_MINUTES).contains(&minutes) {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("minutes must be 1..={WINDOW_MINUTES}, got {minutes}"),
        );
    }
    let snapshot = s.history.read().unwrap_or_else(|p| p.into_inner()).clone();
    let keep = usize::try_from(minutes).unwrap_or(usize::MAX);
    let queues: Vec<QueueHistoryView> = snapshot
        .into_iter()
        .map(|mut q| {
            let skip = q.minutes.len().saturating_sub(keep);
            q.minutes.drain(..skip);
            q
        })
        .collect();
    Json(serde_json::json!({ "minutes": minutes, "queues": queues })).into_response()
}
