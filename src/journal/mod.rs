//! The CTI journal in SQLite (issue 6 "self-healing"; ARCHITECTURE.md "CTI
//! journal"): table `cti_journal(seq, at_ms, kind, json)` holds every
//! [`Entry`] of the CTI in order, and table `live_legs` the dialog of every
//! established SIP leg (RFC 3261 §12.1: Call-ID, tags, remote target, route
//! set, CSeq, transport address) until its call ends. On start the journal
//! is folded into a [`Replay`] (agents come back, open contacts are closed)
//! and each leg still listed gets an in-dialog BYE (§15.1.1). Writes happen
//! on the writer task ([`writer`]), fed by a bounded queue; this file is the
//! store: schema, batched writes, compaction, reads.

pub mod legs;
pub mod writer;

pub use legs::LegRecord;
pub use writer::JournalOp;

use crate::cti::journal::{Entry, Replay};
use serde::Serialize;
use sqlx::sqlite::SqlitePool;
use sqlx::Row;

/// Most rows `GET /api/cti/events` returns at once.
pub const MAX_PAGE: u32 = 1000;

/// What went wrong in the journal store, and where.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cti journal: create schema: {0}")]
    Schema(sqlx::Error),
    #[error("cti journal: write: {0}")]
    Write(sqlx::Error),
    #[error("cti journal: read: {0}")]
    Read(sqlx::Error),
    #[error("cti journal: encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("cti journal: {field} out of range: {value}")]
    Range { field: &'static str, value: u64 },
}

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS cti_journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        json TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS live_legs (
        contact INTEGER NOT NULL,
        leg TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (contact, leg)
    )",
];

/// One journal row as `GET /api/cti/events` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JournalRow {
    pub seq: u64,
    pub at_ms: u64,
    pub kind: String,
    pub entry: serde_json::Value,
}

/// What a start finds in the store.
#[derive(Debug, Default)]
pub struct Loaded {
    pub replay: Replay,
    /// Entries after the last snapshot (drives the next compaction).
    pub since_snapshot: u64,
    pub legs: Vec<LegRecord>,
    /// Rows that did not parse (logged and skipped).
    pub skipped: u64,
}

/// The two journal tables. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct JournalStore {
    pool: SqlitePool,
}

fn to_i64(field: &'static str, v: u64) -> Result<i64, JournalError> {
    i64::try_from(v).map_err(|_| JournalError::Range { field, value: v })
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl JournalStore {
    /// Uses `pool` (the database of the registrar and the CDRs), creating
    /// the tables if missing.
    pub async fn new(pool: SqlitePool) -> Result<Self, JournalError> {
        for stmt in SCHEMA {
            sqlx::query(stmt)
                .execute(&pool)
                .await
                .map_err(JournalError::Schema)?;
        }
        Ok(JournalStore { pool })
    }

    /// A reader on `pool` whose tables exist already (the HTTP side).
    pub fn reader(pool: SqlitePool) -> Self {
        JournalStore { pool }
    }

    /// Folds the whole journal (compaction keeps it short) and lists the
    /// legs still recorded.
    pub async fn load(&self) -> Result<Loaded, JournalError> {
        let rows = sqlx::query("SELECT at_ms, json FROM cti_journal ORDER BY seq")
            .fetch_all(&self.pool)
            .await
            .map_err(JournalError::Read)?;
        let mut loaded = Loaded::default();
        for row in rows {
            let at: i64 = row.try_get("at_ms").map_err(JournalError::Read)?;
            let json: String = row.try_get("json").map_err(JournalError::Read)?;
            match serde_json::from_str::<Entry>(&json) {
                Ok(e) => {
                    loaded.since_snapshot = match e {
                        Entry::Snapshot { .. } => 0,
                        _ => loaded.since_snapshot + 1,
                    };
                    loaded.replay.apply(to_u64(at), &e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cti journal: unreadable row skipped");
                    loaded.skipped += 1;
                }
            }
        }
        let legs = sqlx::query("SELECT json FROM live_legs ORDER BY contact, leg")
            .fetch_all(&self.pool)
            .await
            .map_err(JournalError::Read)?;
        for row in legs {
            let json: String = row.try_get("json").map_err(JournalError::Read)?;
            match serde_json::from_str::<LegRecord>(&json) {
                Ok(l) => loaded.legs.push(l),
                Err(e) => tracing::warn!(error = %e, "live_legs: unreadable row skipped"),
            }
        }
        Ok(loaded)
    }

    /// Writes a batch in one transaction, in order.
    pub async fn write(&self, batch: &[JournalOp]) -> Result<(), JournalError> {
        let mut tx = self.pool.begin().await.map_err(JournalError::Write)?;
        for op in batch {
            match op {
                JournalOp::Append { at_ms, entry } => {
                    let json =
                        serde_json::to_string(entry).map_err(|source| JournalError::Encode {
                            what: "entry",
                            source,
                        })?;
                    sqlx::query("INSERT INTO cti_journal (at_ms, kind, json) VALUES (?, ?, ?)")
                        .bind(to_i64("at_ms", *at_ms)?)
                        .bind(entry.kind())
                        .bind(json)
                        .execute(&mut *tx)
                        .await
                        .map_err(JournalError::Write)?;
                }
                JournalOp::LegUp(leg) => {
                    let json =
                        serde_json::to_string(leg).map_err(|source| JournalError::Encode {
                            what: "leg",
                            source,
                        })?;
                    sqlx::query(
                        "INSERT INTO live_legs (contact, leg, json) VALUES (?, ?, ?)
                         ON CONFLICT (contact, leg) DO UPDATE SET json = excluded.json",
                    )
                    .bind(to_i64("contact", leg.contact)?)
                    .bind(&leg.leg)
                    .bind(json)
                    .execute(&mut *tx)
                    .await
                    .map_err(JournalError::Write)?;
                }
                JournalOp::LegsDown { contact } => {
                    sqlx::query("DELETE FROM live_legs WHERE contact = ?")
                        .bind(to_i64("contact", *contact)?)
                        .execute(&mut *tx)
                        .await
                        .map_err(JournalError::Write)?;
                }
            }
        }
        tx.commit().await.map_err(JournalError::Write)
    }

    /// Compaction: writes `snapshot` and deletes every older row.
    pub async fn compact(&self, at_ms: u64, snapshot: &Entry) -> Result<(), JournalError> {
        let json = serde_json::to_string(snapshot).map_err(|source| JournalError::Encode {
            what: "snapshot",
            source,
        })?;
        let mut tx = self.pool.begin().await.map_err(JournalError::Write)?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO cti_journal (at_ms, kind, json) VALUES (?, ?, ?) RETURNING seq",
        )
        .bind(to_i64("at_ms", at_ms)?)
        .bind(snapshot.kind())
        .bind(json)
        .fetch_one(&mut *tx)
        .await
        .map_err(JournalError::Write)?;
        sqlx::query("DELETE FROM cti_journal WHERE seq < ?")
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(JournalError::Write)?;
        tx.commit().await.map_err(JournalError::Write)
    }

    /// Up to `limit` rows (at most [`MAX_PAGE`]) with `seq > after`, oldest first.
    pub async fn page(&self, after: u64, limit: u32) -> Result<Vec<JournalRow>, JournalError> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, json FROM cti_journal WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(to_i64("after", after)?)
        .bind(i64::from(limit.min(MAX_PAGE)))
        .fetch_all(&self.pool)
        .await
        .map_err(JournalError::Read)?;
        rows.iter()
            .map(|row| {
                let json: String = row.try_get("json").map_err(JournalError::Read)?;
                Ok(JournalRow {
                    seq: to_u64(row.try_get("seq").map_err(JournalError::Read)?),
                    at_ms: to_u64(row.try_get("at_ms").map_err(JournalError::Read)?),
                    kind: row.try_get("kind").map_err(JournalError::Read)?,
                    entry: serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }

    /// Rows in the journal table (for tests and the compaction check).
    pub async fn count(&self) -> Result<u64, JournalError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cti_journal")
            .fetch_one(&self.pool)
            .await
            .map_err(JournalError::Read)?;
        Ok(to_u64(n))
    }
}

/// CDR `end_cause` of a contact the process died under.
pub const SERVER_RESTART: &str = "server_restart";

/// The record of a contact that was open when the process died: closed at
/// `end_ms` (the restart) with cause [`SERVER_RESTART`].
pub fn interrupted_cdr(c: &crate::cti::journal::OpenContact, end_ms: u64) -> crate::cdr::Cdr {
    crate::cdr::Cdr {
        contact_id: c.contact,
        caller: c.caller.clone(),
        dnis: c.dnis.clone(),
        media: c.media.clone(),
        arrival_ms: c.arrived_ms,
        ivr_answer_ms: None,
        queued_ms: c.queued_ms,
        agent_answer_ms: c.answered_ms,
        end_ms: end_ms.max(c.arrived_ms),
        agent: c.agent.clone(),
        queue: c.queue.clone(),
        end_cause: SERVER_RESTART.to_owned(),
        digits: String::new(),
        ivr_script: None,
        ivr_script_version: None,
        recording: None,
        voicemail: None,
        trunk: c.trunk.clone(),
        callback: None,
        agents: c.agent.clone(),
    }
}

#[cfg(test)]
mod tests;
