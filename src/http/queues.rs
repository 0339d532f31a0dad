//! `GET /api/queues` (issue 6, "estimated wait time ... exposed to the API";
//! docs/api.md "Queues"): per queue the contacts waiting, the longest wait,
//! the estimated wait of a contact joining now, agents free and busy, and
//! the average handling time. A snapshot the engine task refreshes (at most
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueView {
    pub name: String,
    pub waiting: usize,
    pub longest_wait_s: u64,
    /// `null` when no available agent could serve a newcomer.
    pub ewt_s: Option<u64>,
    pub agents_free: usize,
    pub agents_busy: usize,
    pub aht_s: u64,
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
        }
    }
}

pub(super) async fn list(State(s): State<HttpState>) -> Json<Vec<QueueView>> {
    let snapshot = s.queues.read().unwrap_or_else(|p| p.into_inner()).clone();
    Json(snapshot)
}
