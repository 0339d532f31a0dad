//! Call detail records (docs/design/call-flow.md "CDR"; MISSION.md step 10:
//! the contact is cleared and its record written). One row per contact in the
//! SQLite table `cdr`, on the same pool (and file) as the registrar's
//! [`crate::registrar::BindingStore`]. Times are unix milliseconds. A contact
//! id is written once: a second insert for it is an error, never an overwrite.
//! `recording` (the call's WAV path, issue 4) was added later: opening an
//! older database adds the column ([`CdrStore::new`]); so was `voicemail`
//! (the WAV path of a message left in an IVR `record` node, issue 5), and
//! `trunk` (the `[[trunk]]` the call came in on, issue 5), and
//! `callback` (issue 6: `requested:<id>` on the call where the caller left
//! a number, `of:<id>` on the callback contact's own row).

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Most rows [`CdrStore::recent`] returns, whatever the caller asks.
pub const MAX_RECENT: u32 = 1000;

/// One finished contact.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Cdr {
    pub contact_id: u64,
    pub caller: String,
    pub dnis: String,
    /// `"audio"` or `"video"`.
    pub media: String,
    pub arrival_ms: u64,
    pub ivr_answer_ms: Option<u64>,
    pub queued_ms: Option<u64>,
    pub agent_answer_ms: Option<u64>,
    pub end_ms: u64,
    pub agent: Option<String>,
    pub queue: Option<String>,
    pub end_cause: String,
    pub digits: String,
    pub ivr_script: Option<String>,
    pub ivr_script_version: Option<String>,
    /// The call's recording (a WAV file path), when it was recorded.
    #[serde(default)]
    pub recording: Option<String>,
    /// The voicemail the caller left (a WAV file path), if any.
    #[serde(default)]
    pub voicemail: Option<String>,
    /// The carrier trunk the call came in on (`[[trunk]]`), if any.
    #[serde(default)]
    pub trunk: Option<String>,
    /// `requested:<callback id>` when the caller left a number for a
    /// callback; `of:<inbound id>` on the callback contact's row.
    #[serde(default)]
    pub callback: Option<String>,
    /// Every agent who answered the contact, in order, comma-separated
    /// (`1001,1002` after a desk transfer); `agent` is the last of them.
    #[serde(default)]
    pub agents: Option<String>,
}

/// What went wrong in the CDR store, and where.
#[derive(Debug, thiserror::Error)]
pub enum CdrError {
    #[error("cdr store: create schema: {0}")]
    Schema(sqlx::Error),
    #[error("cdr store: insert contact {contact_id}: a record for it already exists")]
    Duplicate { contact_id: u64 },
    #[error("cdr store: insert contact {contact_id}: {source}")]
    Insert {
        contact_id: u64,
        source: sqlx::Error,
    },
    #[error("cdr store: add column {column}: {source}")]
    Migrate {
        column: &'static str,
        source: sqlx::Error,
    },
    #[error("cdr store: set disposition of contact {contact_id}: {source}")]
    Disposition {
        contact_id: u64,
        source: sqlx::Error,
    },
    #[error("cdr store: read recent records: {0}")]
    Read(sqlx::Error),
    #[error("cdr store: {field} out of range: {value}")]
    Range { field: &'static str, value: String },
}

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS cdr (
    contact_id INTEGER PRIMARY KEY NOT NULL,
    caller TEXT NOT NULL,
    dnis TEXT NOT NULL,
    media TEXT NOT NULL,
    arrival_ms INTEGER NOT NULL,
    ivr_answer_ms INTEGER,
    queued_ms INTEGER,
    agent_answer_ms INTEGER,
    end_ms INTEGER NOT NULL,
    agent TEXT,
    queue TEXT,
    end_cause TEXT NOT NULL,
    digits TEXT NOT NULL,
    ivr_script TEXT,
    ivr_script_version TEXT
)",
    "CREATE INDEX IF NOT EXISTS cdr_end_ms ON cdr (end_ms)",
];

const INSERT: &str = "INSERT INTO cdr
    (contact_id, caller, dnis, media, arrival_ms, ivr_answer_ms, queued_ms, agent_answer_ms,
     end_ms, agent, queue, end_cause, digits, ivr_script, ivr_script_version, recording,
     voicemail, trunk, callback, agents)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Columns added after the first schema: (name, type), added when missing.
const ADDED_COLUMNS: [(&str, &str); 6] = [
    ("recording", "TEXT"),
    ("voicemail", "TEXT"),
    ("disposition", "TEXT"),
    ("trunk", "TEXT"),
    ("callback", "TEXT"),
    ("agents", "TEXT"),
];

/// An agent handled a contact when it is the row's `agent` or is listed in
/// `agents` (it answered, then transferred the call on).
const SET_DISPOSITION: &str = "UPDATE cdr SET disposition = ?1 WHERE contact_id = ?2 AND \
    (agent = ?3 OR instr(',' || IFNULL(agents, '') || ',', ',' || ?3 || ',') > 0)";

const AGENT_HISTORY: &str = "SELECT contact_id, caller, dnis, queue, agent_answer_ms, end_ms,
    end_cause, disposition FROM cdr WHERE end_ms >= ?2 AND
    (agent = ?1 OR instr(',' || IFNULL(agents, '') || ',', ',' || ?1 || ',') > 0)
    ORDER BY end_ms DESC, contact_id DESC LIMIT ?3";

/// One contact in an agent's history (the desk's "today" list).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AgentHistoryRow {
    pub contact_id: u64,
    pub caller: String,
    pub dnis: String,
    pub queue: Option<String>,
    pub agent_answer_ms: Option<u64>,
    pub end_ms: u64,
    pub end_cause: String,
    /// The wrap-up code the agent picked, once picked.
    pub disposition: Option<String>,
}

const RECENT: &str = "SELECT contact_id, caller, dnis, media, arrival_ms, ivr_answer_ms,
    queued_ms, agent_answer_ms, end_ms, agent, queue, end_cause, digits, ivr_script,
    ivr_script_version, recording, voicemail, trunk, callback, agents FROM cdr
    ORDER BY end_ms DESC, contact_id DESC LIMIT ?";

/// The `cdr` table. Cloning shares the pool and the "a row was written"
/// notification that [`CdrStore::set_disposition_within`] waits on.
#[derive(Clone, Debug)]
pub struct CdrStore {
    pool: SqlitePool,
    written: Arc<Notify>,
}

impl CdrStore {
    /// Use `pool` (normally `BindingStore::pool().clone()`), creating the
    /// table and its `end_ms` index if missing.
    pub async fn new(pool: SqlitePool) -> Result<Self, CdrError> {
        for stmt in SCHEMA {
            sqlx::query(stmt)
                .execute(&pool)
                .await
                .map_err(CdrError::Schema)?;
        }
        migrate(&pool).await?;
        Ok(CdrStore {
            pool,
            written: Arc::new(Notify::new()),
        })
    }

    /// The pool, for other tables in the same file (the CTI journal).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The highest contact id recorded (0 when none): new contacts are
    /// numbered after it, so ids stay unique across restarts.
    pub async fn max_contact_id(&self) -> Result<u64, CdrError> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(contact_id) FROM cdr")
            .fetch_one(&self.pool)
            .await
            .map_err(CdrError::Read)?;
        to_u64("contact_id", max.unwrap_or(0))
    }

    /// Write one record. A second record for the same contact id is
    /// [`CdrError::Duplicate`] and leaves the first untouched.
    pub async fn insert(&self, cdr: &Cdr) -> Result<(), CdrError> {
        let id = cdr.contact_id;
        sqlx::query(INSERT)
            .bind(to_i64("contact_id", cdr.contact_id)?)
            .bind(&cdr.caller)
            .bind(&cdr.dnis)
            .bind(&cdr.media)
            .bind(to_i64("arrival_ms", cdr.arrival_ms)?)
            .bind(opt_i64("ivr_answer_ms", cdr.ivr_answer_ms)?)
            .bind(opt_i64("queued_ms", cdr.queued_ms)?)
            .bind(opt_i64("agent_answer_ms", cdr.agent_answer_ms)?)
            .bind(to_i64("end_ms", cdr.end_ms)?)
            .bind(&cdr.agent)
            .bind(&cdr.queue)
            .bind(&cdr.end_cause)
            .bind(&cdr.digits)
            .bind(&cdr.ivr_script)
            .bind(&cdr.ivr_script_version)
            .bind(&cdr.recording)
            .bind(&cdr.voicemail)
            .bind(&cdr.trunk)
            .bind(&cdr.callback)
            .bind(&cdr.agents)
            .execute(&self.pool)
            .await
            .map_err(|source| {
                let unique = source
                    .as_database_error()
                    .is_some_and(|d| d.is_unique_violation());
                if unique {
                    CdrError::Duplicate { contact_id: id }
                } else {
                    CdrError::Insert {
                        contact_id: id,
                        source,
                    }
                }
            })?;
        self.written.notify_waiters();
        Ok(())
    }

    /// Up to `limit` records (at most [`MAX_RECENT`]), latest `end_ms` first.
    pub async fn recent(&self, limit: u32) -> Result<Vec<Cdr>, CdrError> {
        let limit = limit.min(MAX_RECENT);
        let rows = sqlx::query(RECENT)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(CdrError::Read)?;
        rows.iter().map(from_row).collect()
    }

    /// Record the agent's wrap-up code on the contact's row. `Ok(false)`
    /// when there is no row for that contact handled by that agent (yet:
    /// the record is written when the call is over).
    pub async fn set_disposition(
        &self,
        contact_id: u64,
        agent: &str,
        code: &str,
    ) -> Result<bool, CdrError> {
        let done = sqlx::query(SET_DISPOSITION)
            .bind(code)
            .bind(to_i64("contact_id", contact_id)?)
            .bind(agent)
            .execute(&self.pool)
            .await
            .map_err(|source| CdrError::Disposition { contact_id, source })?;
        Ok(done.rows_affected() > 0)
    }

    /// [`CdrStore::set_disposition`], but when the row is not there yet wait
    /// up to `wait` for it: each written record wakes the waiter, which
    /// tries again (a disposition sent right at hang-up can arrive before
    /// the call's record). `Ok(false)` when no row came in time.
    pub async fn set_disposition_within(
        &self,
        contact_id: u64,
        agent: &str,
        code: &str,
        wait: Duration,
    ) -> Result<bool, CdrError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before the try, so a write in between still wakes us.
            let written = self.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if self.set_disposition(contact_id, agent, code).await? {
                return Ok(true);
            }
            if tokio::time::timeout_at(deadline, written).await.is_err() {
                return Ok(false);
            }
        }
    }

    /// The agent's contacts that ended at or after `since_ms`, latest first,
    /// at most `limit` (capped at [`MAX_RECENT`]).
    pub async fn agent_history(
        &self,
        agent: &str,
        since_ms: u64,
        limit: u32,
    ) -> Result<Vec<AgentHistoryRow>, CdrError> {
        let rows = sqlx::query(AGENT_HISTORY)
            .bind(agent)
            .bind(to_i64("since_ms", since_ms)?)
            .bind(i64::from(limit.min(MAX_RECENT)))
            .fetch_all(&self.pool)
            .await
            .map_err(CdrError::Read)?;
        rows.iter()
            .map(|row| {
                Ok(AgentHistoryRow {
                    contact_id: get_u64(row, "contact_id")?,
                    caller: get_text(row, "caller")?,
                    dnis: get_text(row, "dnis")?,
                    queue: get_text(row, "queue")?,
                    agent_answer_ms: get_opt_u64(row, "agent_answer_ms")?,
                    end_ms: get_u64(row, "end_ms")?,
                    end_cause: get_text(row, "end_cause")?,
                    disposition: get_text(row, "disposition")?,
                })
            })
            .collect()
    }
}

/// Add the [`ADDED_COLUMNS`] an older database lacks.
async fn migrate(pool: &SqlitePool) -> Result<(), CdrError> {
    let have: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('cdr')")
        .fetch_all(pool)
        .await
        .map_err(CdrError::Schema)?;
    for (column, kind) in ADDED_COLUMNS {
        if have.iter().any(|h| h == column) {
            continue;
        }
        sqlx::query(&format!("ALTER TABLE cdr ADD COLUMN {column} {kind}"))
            .execute(pool)
            .await
            .map_err(|source| CdrError::Migrate { column, source })?;
    }
    Ok(())
}

fn to_i64(field: &'static str, v: u64) -> Result<i64, CdrError> {
    i64::try_from(v).map_err(|_| CdrError::Range {
        field,
        value: v.to_string(),
    })
}

fn opt_i64(field: &'static str, v: Option<u64>) -> Result<Option<i64>, CdrError> {
    v.map(|v| to_i64(field, v)).transpose()
}

fn to_u64(field: &'static str, v: i64) -> Result<u64, CdrError> {
    u64::try_from(v).map_err(|_| CdrError::Range {
        field,
        value: v.to_string(),
    })
}

fn get_u64(row: &SqliteRow, field: &'static str) -> Result<u64, CdrError> {
    to_u64(field, row.try_get(field).map_err(CdrError::Read)?)
}

fn get_opt_u64(row: &SqliteRow, field: &'static str) -> Result<Option<u64>, CdrError> {
    let v: Option<i64> = row.try_get(field).map_err(CdrError::Read)?;
    v.map(|v| to_u64(field, v)).transpose()
}

fn get_text<T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
    row: &SqliteRow,
    field: &'static str,
) -> Result<T, CdrError> {
    row.try_get(field).map_err(CdrError::Read)
}

fn from_row(row: &SqliteRow) -> Result<Cdr, CdrError> {
    Ok(Cdr {
        contact_id: get_u64(row, "contact_id")?,
        caller: get_text(row, "caller")?,
        dnis: get_text(row, "dnis")?,
        media: get_text(row, "media")?,
        arrival_ms: get_u64(row, "arrival_ms")?,
        ivr_answer_ms: get_opt_u64(row, "ivr_answer_ms")?,
        queued_ms: get_opt_u64(row, "queued_ms")?,
        agent_answer_ms: get_opt_u64(row, "agent_answer_ms")?,
        end_ms: get_u64(row, "end_ms")?,
        agent: get_text(row, "agent")?,
        queue: get_text(row, "queue")?,
        end_cause: get_text(row, "end_cause")?,
        digits: get_text(row, "digits")?,
        ivr_script: get_text(row, "ivr_script")?,
        ivr_script_version: get_text(row, "ivr_script_version")?,
        recording: get_text(row, "recording")?,
        voicemail: get_text(row, "voicemail")?,
        trunk: get_text(row, "trunk")?,
        callback: get_text(row, "callback")?,
        agents: get_text(row, "agents")?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::registrar::BindingStore;
    use std::path::PathBuf;

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> Self {
            let mut r = [0u8; 8];
            getrandom::fill(&mut r).unwrap();
            let p = std::env::temp_dir().join(format!(
                "softacd-{tag}-{}-{:016x}",
                std::process::id(),
                u64::from_le_bytes(r)
            ));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub(crate) fn sample(id: u64, end_ms: u64) -> Cdr {
        Cdr {
            contact_id: id,
            caller: "sip:alice@example.com".into(),
            dnis: "800".into(),
            media: "video".into(),
            arrival_ms: end_ms - 60_000,
            ivr_answer_ms: Some(end_ms - 59_000),
            queued_ms: Some(end_ms - 40_000),
            agent_answer_ms: Some(end_ms - 30_000),
            end_ms,
            agent: Some("bob".into()),
            queue: Some("support".into()),
            end_cause: "normal_clearing".into(),
            digits: "12#".into(),
            ivr_script: Some("welcome".into()),
            ivr_script_version: Some("3".into()),
            recording: Some("/var/lib/softacd/recordings/1-1.wav".into()),
            voicemail: Some("/var/lib/softacd/voicemail/1-1.wav".into()),
            trunk: Some("carrier".into()),
            callback: Some("requested:7".into()),
            agents: Some("bob".into()),
        }
    }

    async fn open(dir: &TempDir) -> (BindingStore, CdrStore) {
        let bindings = BindingStore::open(&dir.0.join("softacd.db")).await.unwrap();
        let cdrs = CdrStore::new(bindings.pool().clone()).await.unwrap();
        (bindings, cdrs)
    }

    #[tokio::test]
    async fn insert_then_recent_round_trips_every_field() {
        let dir = TempDir::new("cdr-rt");
        let (_b, store) = open(&dir).await;
        let c = sample(1, 1_795_000_000_000);
        store.insert(&c).await.unwrap();
        let mut bare = sample(2, 1_795_000_100_000);
        bare.ivr_answer_ms = None;
        bare.queued_ms = None;
        bare.agent_answer_ms = None;
        bare.agent = None;
        bare.queue = None;
        bare.ivr_script = None;
        bare.ivr_script_version = None;
        bare.digits = String::new();
        bare.recording = None;
        store.insert(&bare).await.unwrap();
        let got = store.recent(10).await.unwrap();
        assert_eq!(got, vec![bare, c]);
    }

    #[tokio::test]
    async fn disposition_is_set_on_the_agents_row_and_shown_in_history() {
        let dir = TempDir::new("cdr-disp");
        let (_b, store) = open(&dir).await;
        store.insert(&sample(5, 9_000_000)).await.unwrap();
        store.insert(&sample(6, 1_000_000)).await.unwrap();
        assert!(!store
            .set_disposition(5, "mallory", "resolved")
            .await
            .unwrap());
        assert!(!store.set_disposition(99, "bob", "resolved").await.unwrap());
        assert!(store.set_disposition(5, "bob", "resolved").await.unwrap());
        let today = store.agent_history("bob", 2_000_000, 10).await.unwrap();
        assert_eq!(
            today.len(),
            1,
            "the row that ended before since_ms is left out"
        );
        assert_eq!(today[0].contact_id, 5);
        assert_eq!(today[0].disposition.as_deref(), Some("resolved"));
        assert_eq!(today[0].queue.as_deref(), Some("support"));
        assert!(store
            .agent_history("alice", 0, 10)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn an_agent_who_transferred_the_call_finds_it_and_may_dispose_of_it() {
        let dir = TempDir::new("cdr-xfer");
        let (_b, store) = open(&dir).await;
        let mut c = sample(7, 9_000_000);
        c.agent = Some("1002".into());
        c.agents = Some("1001,1002".into());
        store.insert(&c).await.unwrap();
        for agent in ["1001", "1002"] {
            let rows = store.agent_history(agent, 0, 10).await.unwrap();
            assert_eq!(rows.len(), 1, "{agent} handled it");
        }
        assert!(store.agent_history("100", 0, 10).await.unwrap().is_empty());
        assert!(!store.set_disposition(7, "100", "resolved").await.unwrap());
        assert!(store.set_disposition(7, "1001", "escalated").await.unwrap());
        let rows = store.agent_history("1001", 0, 10).await.unwrap();
        assert_eq!(rows[0].disposition.as_deref(), Some("escalated"));
    }

    #[tokio::test]
    async fn a_disposition_sent_before_the_record_waits_for_its_write() {
        let dir = TempDir::new("cdr-disp-wait");
        let (_b, store) = open(&dir).await;
        let wait = std::time::Duration::from_secs(30);
        let early = store.set_disposition_within(7, "bob", "resolved", wait);
        let writer = async {
            // A record of another contact wakes the waiter, which must keep
            // waiting; then the contact's own record lets it through.
            store.insert(&sample(6, 1_000_000)).await.unwrap();
            store.insert(&sample(7, 2_000_000)).await.unwrap();
        };
        let (stored, ()) = tokio::join!(early, writer);
        assert!(stored.unwrap());
        let rows = store.agent_history("bob", 0, 10).await.unwrap();
        let row7 = rows.iter().find(|r| r.contact_id == 7).unwrap();
        assert_eq!(row7.disposition.as_deref(), Some("resolved"));
        let row6 = rows.iter().find(|r| r.contact_id == 6).unwrap();
        assert_eq!(row6.disposition, None);
        let none = std::time::Duration::ZERO;
        assert!(!store
            .set_disposition_within(99, "bob", "resolved", none)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn recent_is_newest_first_and_limited() {
        let dir = TempDir::new("cdr-order");
        let (_b, store) = open(&dir).await;
        for (id, end) in [(10, 5_000_000), (11, 9_000_000), (12, 7_000_000)] {
            store.insert(&sample(id, end)).await.unwrap();
        }
        let ids: Vec<u64> = store
            .recent(2)
            .await
            .unwrap()
            .iter()
            .map(|c| c.contact_id)
            .collect();
        assert_eq!(ids, vec![11, 12]);
        assert!(store.recent(0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn duplicate_contact_is_an_error_and_keeps_the_first() {
        let dir = TempDir::new("cdr-dup");
        let (_b, store) = open(&dir).await;
        store.insert(&sample(7, 2_000_000)).await.unwrap();
        let mut again = sample(7, 3_000_000);
        again.caller = "sip:mallory@example.com".into();
        let err = store.insert(&again).await.unwrap_err();
        assert!(
            matches!(err, CdrError::Duplicate { contact_id: 7 }),
            "{err}"
        );
        let got = store.recent(10).await.unwrap();
        assert_eq!(got, vec![sample(7, 2_000_000)]);
    }

    #[tokio::test]
    async fn out_of_range_time_is_refused() {
        let dir = TempDir::new("cdr-range");
        let (_b, store) = open(&dir).await;
        let mut c = sample(1, 2_000_000);
        c.end_ms = u64::MAX;
        let err = store.insert(&c).await.unwrap_err();
        assert!(
            matches!(
                err,
                CdrError::Range {
                    field: "end_ms",
                    ..
                }
            ),
            "{err}"
        );
        assert!(store.recent(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn records_survive_reopening_the_file() {
        let dir = TempDir::new("cdr-reopen");
        {
            let (b, store) = open(&dir).await;
            store.insert(&sample(3, 4_000_000)).await.unwrap();
            b.close().await;
        }
        let (_b, store) = open(&dir).await;
        assert_eq!(store.recent(5).await.unwrap(), vec![sample(3, 4_000_000)]);
    }

    #[tokio::test]
    async fn an_old_database_gains_the_recording_column() {
        let dir = TempDir::new("cdr-migrate");
        let bindings = BindingStore::open(&dir.0.join("softacd.db")).await.unwrap();
        let pool = bindings.pool().clone();
        let old = SCHEMA[0].replace(
            ",\n    ivr_script_version TEXT\n)",
            ",\n    ivr_script_version TEXT)",
        );
        sqlx::query(&old).execute(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO cdr (contact_id, caller, dnis, media, arrival_ms, end_ms, end_cause, digits)
             VALUES (4, 'sip:a@b', '100', 'audio', 1, 2, 'normal_clearing', '')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let store = CdrStore::new(pool).await.unwrap();
        let old_row = store.recent(1).await.unwrap();
        assert_eq!(old_row[0].recording, None);
        assert_eq!(old_row[0].voicemail, None);
        assert_eq!(old_row[0].trunk, None);
        store.insert(&sample(5, 4_000_000)).await.unwrap();
        assert_eq!(store.recent(1).await.unwrap(), vec![sample(5, 4_000_000)]);
        assert_eq!(store.max_contact_id().await.unwrap(), 5);
        // Opening again is a no-op for the migration.
        CdrStore::new(bindings.pool().clone()).await.unwrap();
    }

    #[tokio::test]
    async fn max_contact_id_of_an_empty_table_is_zero() {
        let dir = TempDir::new("cdr-max");
        let (_b, store) = open(&dir).await;
        assert_eq!(store.max_contact_id().await.unwrap(), 0);
        store.insert(&sample(41, 4_000_000)).await.unwrap();
        store.insert(&sample(7, 5_000_000)).await.unwrap();
        assert_eq!(store.max_contact_id().await.unwrap(), 41);
    }

    #[test]
    fn api_doc_example_is_a_cdr() {
        let docs = include_str!("../docs/api.md");
        let block = docs
            .split("```json")
            .filter_map(|b| b.split("```").next())
            .find(|b| b.contains("\"contact_id\""))
            .expect("a CDR example in docs/api.md");
        let list: Vec<Cdr> = serde_json::from_str(block.trim()).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].contact_id, 42);
        assert!(list[0].arrival_ms < list[0].end_ms);
    }
}
