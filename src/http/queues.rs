//! `GET /api/queues` (issue 6, "estimated wait time ... exposed to the API";
//! docs/api.md "Queues"): per queue the contacts waiting, the longest wait,
//! the estimated wait of a contact joining now, agents free and busy, and
//! the average handling time, and over the last hour the contacts offered,
//! answered and abandoned and the service level. A snapshot the engine task refreshes (at most
//! [`QUEUES_EVERY`] old); this module never touches the CTI core.

use super::HttpState;
use crate::cti::QueueStats;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::time::Duration;

/// How often the engine task refreshes the snapshot.
pub const QUEUES_EVERY: Duration = Duration::from_millis(500);

/// One queue as the API shows it; times in whole seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueView {
    pub name: String,
    pub waiting: usize,
    pub longest_wait_s: u64,
    /// `null` when no available agent could serve a newcomer.
    pub ewt_s: Option<u64>,
    pub agents_free: usize,
    pub agents_busy: usize,
    pub aht_s: u64,
    /// Over the last hour (see docs/api.md "Queues" for the formula).
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub answered_in_sl: u64,
    pub service_level_s: u64,
    /// Percent, one decimal; `null` with nothing answered or abandoned late.
    pub service_level_pct: Option<f64>,
    /// Mean wait of the contacts answered in the last hour.
    pub avg_wait_s: Option<u64>,
}

impl From<&QueueStats> for QueueView {
    fn from(s: &QueueStats) -> Self {
        QueueView {
            name: s.name.0.clone(),
            waiting: s.waiting,
            longest_wait_s: s.longest_wait.as_secs(),
            ewt_s: s.ewt.map(|d| d.as_secs()),
            agents_free: s.agents_free,
            agents_busy: s.agents_busy,
            aht_s: s.aht.as_secs(),
            offered: s.window.offered,
            answered: s.window.answered,
            abandoned: s.window.abandoned,
            short_abandoned: s.window.short_abandoned,
            answered_in_sl: s.window.answered_in_sl,
            service_level_s: s.service_level.as_secs(),
            service_level_pct: s.window.service_level_pct().map(one_decimal),
            avg_wait_s: s.window.avg_answer_wait().map(|d| d.as_secs()),
        }
    }
}

/// `x` rounded to one decimal.
pub fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(super) async fn list(State(s): State<HttpState>) -> Json<Vec<QueueView>> {
    let snapshot = s.queues.read().unwrap_or_else(|p| p.into_inner()).clone();
    Json(snapshot)
}
