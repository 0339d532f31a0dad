//! Persistence of registrar bindings in SQLite (sqlx, async; the IO shell's
//! side of RFC 3261 §10.3 step 8 "committed"): open or create the database
//! file in WAL mode, apply a batch of [`BindingChange`]s in one transaction,
//! and load every binding back at startup so registrations survive a
//! restart. The pool is shared so other tables (CDRs) can use the same file.

use super::bindings::{Binding, BindingChange};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::Row;
use std::path::Path;
use std::time::Duration;

/// What went wrong in the binding store, and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("binding store: open {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("binding store: create schema: {0}")]
    Schema(sqlx::Error),
    #[error("binding store: apply changes: {0}")]
    Apply(sqlx::Error),
    #[error("binding store: load bindings: {0}")]
    Load(sqlx::Error),
    #[error("binding store: {field} out of range: {value}")]
    Range { field: &'static str, value: String },
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS registrar_bindings (
    aor TEXT NOT NULL,
    contact TEXT NOT NULL,
    user TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    q REAL,
    call_id TEXT NOT NULL,
    cseq INTEGER NOT NULL,
    source TEXT NOT NULL,
    user_agent TEXT,
    registered_at_ms INTEGER NOT NULL,
    PRIMARY KEY (aor, contact)
)";

const UPSERT: &str = "INSERT INTO registrar_bindings
    (aor, contact, user, expires_at_ms, q, call_id, cseq, source, user_agent, registered_at_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (aor, contact) DO UPDATE SET
    user = excluded.user, expires_at_ms = excluded.expires_at_ms, q = excluded.q,
    call_id = excluded.call_id, cseq = excluded.cseq, source = excluded.source,
    user_agent = excluded.user_agent, registered_at_ms = excluded.registered_at_ms";

/// The SQLite file holding the location service.
pub struct BindingStore {
    pool: SqlitePool,
}

impl BindingStore {
    /// Open (creating if missing) the database at `path`, WAL mode, and
    /// create the bindings table if it is not there.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        sqlx::query(SCHEMA)
            .execute(&pool)
            .await
            .map_err(StoreError::Schema)?;
        Ok(BindingStore { pool })
    }

    /// The pool, for other tables that live in the same file.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Apply every change in one transaction: all or none persist.
    pub async fn apply(&self, changes: &[BindingChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(StoreError::Apply)?;
        for change in changes {
            let q = match change {
                BindingChange::Upsert(b) => upsert_query(b)?,
                BindingChange::Remove { aor, contact } => {
                    sqlx::query("DELETE FROM registrar_bindings WHERE aor = ? AND contact = ?")
                        .bind(aor.clone())
                        .bind(contact.clone())
                }
            };
            q.execute(&mut *tx).await.map_err(StoreError::Apply)?;
        }
        tx.commit().await.map_err(StoreError::Apply)
    }

    /// Every stored binding, expired or not (the registrar's `restore`
    /// skips expired ones).
    pub async fn load_all(&self) -> Result<Vec<Binding>, StoreError> {
        let rows = sqlx::query(
            "SELECT aor, contact, user, expires_at_ms, q, call_id, cseq, source, \
             user_agent, registered_at_ms FROM registrar_bindings ORDER BY aor, contact",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::Load)?;
        rows.iter().map(binding_of).collect()
    }

    /// Close the pool, checkpointing the WAL.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn upsert_query(b: &Binding) -> Result<Query<'static>, StoreError> {
    Ok(sqlx::query(UPSERT)
        .bind(b.aor.clone())
        .bind(b.contact.clone())
        .bind(b.user.clone())
        .bind(to_i64("expires_at_ms", b.expires_at_ms)?)
        .bind(b.q.map(f64::from))
        .bind(b.call_id.clone())
        .bind(i64::from(b.cseq))
        .bind(b.source.clone())
        .bind(b.user_agent.clone())
        .bind(to_i64("registered_at_ms", b.registered_at_ms)?))
}

fn to_i64(field: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Range {
        field,
        value: v.to_string(),
    })
}

fn to_u64(field: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Range {
        field,
        value: v.to_string(),
    })
}

fn binding_of(row: &SqliteRow) -> Result<Binding, StoreError> {
    let cseq: i64 = row.try_get("cseq").map_err(StoreError::Load)?;
    let q: Option<f64> = row.try_get("q").map_err(StoreError::Load)?;
    Ok(Binding {
        user: row.try_get("user").map_err(StoreError::Load)?,
        aor: row.try_get("aor").map_err(StoreError::Load)?,
        contact: row.try_get("contact").map_err(StoreError::Load)?,
        expires_at_ms: to_u64(
            "expires_at_ms",
            row.try_get("expires_at_ms").map_err(StoreError::Load)?,
        )?,
        q: q.map(|q| q as f32),
        call_id: row.try_get("call_id").map_err(StoreError::Load)?,
        cseq: u32::try_from(cseq).map_err(|_| StoreError::Range {
            field: "cseq",
            value: cseq.to_string(),
        })?,
        source: row.try_get("source").map_err(StoreError::Load)?,
        user_agent: row.try_get("user_agent").map_err(StoreError::Load)?,
        registered_at_ms: to_u64(
            "registered_at_ms",
            row.try_get("registered_at_ms").map_err(StoreError::Load)?,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(contact: &str, expires_at_ms: u64) -> Binding {
        Binding {
            user: "1001".into(),
            aor: "sip:1001@acd".into(),
            contact: contact.into(),
            expires_at_ms,
            q: Some(0.5),
            call_id: "c1".into(),
            cseq: 7,
            source: "udp:127.0.0.1:5062".into(),
            user_agent: Some("softphone/1.0".into()),
            registered_at_ms: 1_700_000_000_000,
        }
    }

    /// A fresh file under the temp dir, removed (with WAL files) on drop.
    struct TempDb(std::path::PathBuf);

    impl TempDb {
        fn new(tag: &str) -> TempDb {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let name = format!("softacd-{tag}-{}-{nanos}.db", std::process::id());
            TempDb(std::env::temp_dir().join(name))
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = self.0.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }

    #[tokio::test]
    async fn bindings_survive_a_reopen() {
        let db = TempDb::new("reopen");
        let store = BindingStore::open(&db.0).await.unwrap();
        let a = binding("sip:1001@10.0.0.9:5062", 1_700_000_060_000);
        let b = binding("sip:1001@10.0.0.9:5064", 1_700_000_090_000);
        store
            .apply(&[
                BindingChange::Upsert(a.clone()),
                BindingChange::Upsert(b.clone()),
            ])
            .await
            .unwrap();
        let mut a2 = a.clone();
        a2.cseq = 8;
        a2.expires_at_ms += 1000;
        let remove_b = BindingChange::Remove {
            aor: b.aor.clone(),
            contact: b.contact.clone(),
        };
        store
            .apply(&[BindingChange::Upsert(a2.clone()), remove_b])
            .await
            .unwrap();
        store.close().await;

        let store = BindingStore::open(&db.0).await.unwrap();
        assert_eq!(store.load_all().await.unwrap(), vec![a2]);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        store.close().await;
    }

    #[tokio::test]
    async fn a_failing_batch_persists_nothing() {
        let db = TempDb::new("atomic");
        let store = BindingStore::open(&db.0).await.unwrap();
        let ok = binding("sip:1001@10.0.0.9:5062", 1_000);
        let bad = binding("sip:1001@10.0.0.9:5064", u64::MAX);
        let err = store
            .apply(&[BindingChange::Upsert(ok), BindingChange::Upsert(bad)])
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Range {
                field: "expires_at_ms",
                ..
            }
        ));
        assert!(store.load_all().await.unwrap().is_empty());
        store.close().await;
    }
}
