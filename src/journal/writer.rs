//! The journal writer task: the engine's journal operations arrive on a
//! bounded queue (`JOURNAL_QUEUE`); the task writes them in batches of up to
//! [`BATCH`] in one transaction each, keeps its own [`Replay`] of what it
//! wrote, and compacts (a snapshot row, older rows deleted) every
//! [`COMPACT_EVERY`] entries. The engine never waits: a full queue drops
//! the operation, logs it and counts it (`softacd_journal_dropped_total`).

use super::{JournalStore, LegRecord};
use crate::cti::journal::{Entry, Replay};
use tokio::sync::mpsc;

/// Journal operations waiting to be written.
pub const JOURNAL_QUEUE: usize = 8192;
/// Most operations written in one transaction.
pub const BATCH: usize = 256;
/// Entries between two compactions.
pub const COMPACT_EVERY: u64 = 10_000;

/// One thing the engine asks the journal to do.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalOp {
    /// Append a CTI transition written at `at_ms` (unix ms).
    Append { at_ms: u64, entry: Entry },
    /// A leg's dialog is established (or changed).
    LegUp(LegRecord),
    /// A contact's call is over: forget its legs.
    LegsDown { contact: u64 },
}

/// Runs until every sender is gone and the queue is empty.
pub async fn run(
    store: JournalStore,
    mut rx: mpsc::Receiver<JournalOp>,
    mut fold: Replay,
    mut since_snapshot: u64,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        if let Err(e) = store.write(&batch).await {
            tracing::error!(error = %e, ops = batch.len(), "cti journal: batch not written");
        }
        let mut last_at = 0;
        for op in batch.drain(..) {
            if let JournalOp::Append { at_ms, entry } = op {
                fold.apply(at_ms, &entry);
                since_snapshot += 1;
                last_at = at_ms;
            }
        }
        if since_snapshot >= COMPACT_EVERY {
            match store.compact(last_at, &fold.snapshot()).await {
                Ok(()) => since_snapshot = 0,
                Err(e) => tracing::error!(error = %e, "cti journal: compaction failed"),
            }
        }
    }
}
