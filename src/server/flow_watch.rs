//! The IVR flow watcher (issue 5, "Hot reload on file change"): every
//! [`POLL`] it lists `*.toml` in the scripts directory with their size and
//! modification time; when that listing differs from the last one, it asks
//! the registry to reload (on a blocking thread: validation reads files).
//! A refused edit is not retried until the files change again.

use crate::ivr::store::{Reloader, Trigger};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the scripts directory is listed.
pub const POLL: Duration = Duration::from_millis(500);
/// Most entries looked at per listing (well above `script::MAX_SCRIPTS`).
const MAX_ENTRIES: usize = 4096;

/// What the watcher compares: (file, size, modified) of each `*.toml`.
pub type Listing = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// The `*.toml` files of `dir` with size and mtime, sorted (empty if unreadable).
pub fn listing(dir: &Path) -> Listing {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Listing = entries
        .take(MAX_ENTRIES)
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            meta.is_file()
                .then(|| (p, meta.len(), meta.modified().ok()))
        })
        .collect();
    out.sort();
    out
}

/// Runs until `stop` turns true. `first` is the listing taken before the
/// flows were loaded, so an edit made during start-up is not missed.
pub fn spawn(
    dir: PathBuf,
    first: Listing,
    flows: Reloader,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = first;
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
                _ = tick.tick() => {
                    let now = listing(&dir);
                    if now != last {
                        last = now;
                        let f = flows.clone();
                        let run = move || f.reload(Trigger::FileChange, super::wall_ms());
                        if let Err(e) = tokio::task::spawn_blocking(run).await {
                            tracing::error!(error = %e, "ivr: reload task failed");
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_sees_toml_files_and_their_changes_only() {
        let dir = std::env::temp_dir().join(format!("softacd-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("main.toml"), "a").expect("write");
        std::fs::write(dir.join("notes.txt"), "x").expect("write");
        let first = listing(&dir);
        assert_eq!(first.len(), 1);
        std::fs::write(dir.join("notes.txt"), "xyz").expect("write");
        assert_eq!(listing(&dir), first, "non-toml files are ignored");
        std::fs::write(dir.join("main.toml"), "ab").expect("write");
        assert_ne!(listing(&dir), first, "a size change is seen");
        std::fs::write(dir.join("other.toml"), "b").expect("write");
        assert_eq!(listing(&dir).len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(listing(&dir).is_empty(), "a missing dir lists nothing");
    }
}
