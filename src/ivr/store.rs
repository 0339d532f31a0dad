//! The IVR flow registry (issue 5, "Hot reload"): which version of each flow
//! is live, how a new set goes live, and the archive rollback reads.
//!
//! - [`LiveFlows`] is the shared table the session factory reads when a call
//!   arrives. A call takes the `Arc<Script>` live at that moment and keeps it,
//!   so a call already in a flow finishes on the version it started with
//!   (its CDR's `ivr_script_version` names that version).
//! - [`FlowStore::reload`] re-validates every file of the scripts directory
//!   through [`script::load_dir`] and swaps the whole table at once: all
//!   flows or none; on any error the previous set keeps serving.
//! - Every version that goes live is archived as
//!   `<data-dir>/ivr-versions/<flow>/<seq>-<version>.toml`, with an
//!   append-only `index` (`seq<TAB>version<TAB>unix-ms` per line), so
//!   [`rollback`] can put the previous version's text back into the flow file
//!   (the watcher or the next start then loads it like any edit).
//!
//! No tokio and no clock reads: the caller passes the wall time; only the
//! file system is touched.

mod shared;

pub use shared::{Reloader, Trigger, RELOADS_TOTAL};

use super::script::{self, Script};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The archive directory under the data dir.
pub const ARCHIVE_DIR: &str = "ivr-versions";
/// The index file name inside each flow's archive directory.
pub const INDEX_FILE: &str = "index";
/// Largest index file read (one line per version, ~40 bytes each).
const MAX_INDEX_BYTES: u64 = 4 << 20;

type FlowMap = BTreeMap<String, Arc<Script>>;

/// The live flows, shared by the session factory (reader) and the store
/// (the only writer). Cloning shares the same table.
#[derive(Debug, Clone, Default)]
pub struct LiveFlows(Arc<RwLock<Arc<FlowMap>>>);

impl LiveFlows {
    /// The version of flow `name` live now.
    pub fn get(&self, name: &str) -> Option<Arc<Script>> {
        self.snapshot().get(name).cloned()
    }

    /// The whole table as it is now (later swaps do not change it).
    pub fn snapshot(&self) -> Arc<FlowMap> {
        let guard = self.0.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&guard)
    }

    fn swap(&self, next: FlowMap) {
        let mut guard = self.0.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(next);
    }
}

impl From<FlowMap> for LiveFlows {
    fn from(map: FlowMap) -> Self {
        LiveFlows(Arc::new(RwLock::new(Arc::new(map))))
    }
}

/// One flow after a reload: its live version and whether the reload changed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowStatus {
    pub name: String,
    pub version: String,
    pub changed: bool,
}

/// Why a reload or a rollback failed. `Invalid` carries one
/// `file:line:col: message` per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    #[error("ivr archive {path}: {cause}")]
    Archive { path: PathBuf, cause: String },
    #[error("ivr rollback of `{flow}`: {cause}")]
    Rollback { flow: String, cause: String },
}

impl StoreError {
    /// The problems, one line each (for the 422 JSON body).
    pub fn lines(&self) -> Vec<String> {
        match self {
            StoreError::Invalid(lines) => lines.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// Where the store reads flows and writes the archive.
#[derive(Debug, Clone)]
pub struct StorePaths {
    pub scripts_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl StorePaths {
    fn archive(&self, flow: &str) -> PathBuf {
        self.data_dir.join(ARCHIVE_DIR).join(flow)
    }
}

/// The registry: the live table, the paths, the flows every service needs.
#[derive(Debug)]
pub struct FlowStore {
    live: LiveFlows,
    paths: StorePaths,
    required: Vec<String>,
}

impl FlowStore {
    /// An empty registry; call [`FlowStore::reload`] to load the flows.
    /// `required` names flows that must exist (the `[[service]]` and
    /// `[[trunk]]` scripts, [`crate::config::Config::required_flows`]).
    pub fn new(paths: StorePaths, required: Vec<String>) -> Self {
        FlowStore {
            live: LiveFlows::default(),
            paths,
            required,
        }
    }

    /// The shared table for the session factory.
    pub fn live(&self) -> LiveFlows {
        self.live.clone()
    }

    pub fn paths(&self) -> &StorePaths {
        &self.paths
    }

    /// Every live flow with its version (`changed` is false).
    pub fn list(&self) -> Vec<FlowStatus> {
        self.live
            .snapshot()
            .values()
            .map(|s| FlowStatus {
                name: s.name.clone(),
                version: s.version.clone(),
                changed: false,
            })
            .collect()
    }

    /// Validates every file again and swaps the whole set, or nothing.
    /// New versions are archived before the swap; `now_ms` stamps them.
    pub fn reload(
        &mut self,
        prompt_exists: &dyn Fn(&str) -> bool,
        now_ms: u64,
    ) -> Result<Vec<FlowStatus>, StoreError> {
        let dir = &self.paths.scripts_dir;
        let next = script::load_dir(dir, prompt_exists)
            .map_err(|e| StoreError::Invalid(e.0.iter().map(ToString::to_string).collect()))?;
        self.check_required(&next)?;
        let texts = self.texts_of(&next)?;
        let before = self.live.snapshot();
        let mut status = Vec::with_capacity(next.len());
        for (name, flow) in &next {
            let changed = before.get(name).is_none_or(|b| b.version != flow.version);
            if changed {
                let text = texts.get(name).map_or("", String::as_str);
                archive(&self.paths, flow, text, now_ms)?;
            }
            status.push(FlowStatus {
                name: name.clone(),
                version: flow.version.clone(),
                changed,
            });
        }
        self.live.swap(next);
        Ok(status)
    }

    fn check_required(&self, next: &FlowMap) -> Result<(), StoreError> {
        let missing: Vec<String> = self
            .required
            .iter()
            .filter(|n| !next.contains_key(*n))
            .map(|n| {
                let dir = self.paths.scripts_dir.display();
                format!(
                    "{dir}: a service or trunk names flow `{n}`, which is not in this directory"
                )
            })
            .collect();
        match missing.is_empty() {
            true => Ok(()),
            false => Err(StoreError::Invalid(missing)),
        }
    }

    /// The text of each flow's file, checked against the version just
    /// validated (a file edited between the two reads fails the reload).
    fn texts_of(&self, next: &FlowMap) -> Result<BTreeMap<String, String>, StoreError> {
        let mut texts = BTreeMap::new();
        for (name, flow) in next {
            let path = flow_file(&self.paths.scripts_dir, name);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                StoreError::Invalid(vec![format!("{}: cannot read script: {e}", path.display())])
            })?;
            if version_of(&text) != flow.version {
                let msg = format!("{}: changed while reloading; reload again", path.display());
                return Err(StoreError::Invalid(vec![msg]));
            }
            texts.insert(name.clone(), text);
        }
        Ok(texts)
    }
}

/// `<dir>/<flow>.toml`.
pub fn flow_file(dir: &Path, flow: &str) -> PathBuf {
    dir.join(format!("{flow}.toml"))
}

/// The version id of a flow's text: the first 12 hex digits of its SHA-256,
/// as [`Script::version`] documents.
fn version_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// One line of a flow's archive index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub seq: u64,
    pub version: String,
    pub at_ms: u64,
}

impl Archived {
    fn file_name(&self) -> String {
        format!("{}-{}.toml", self.seq, self.version)
    }
}

impl fmt::Display for Archived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\t{}\t{}", self.seq, self.version, self.at_ms)
    }
}

fn archive_err(path: &Path, cause: impl fmt::Display) -> StoreError {
    StoreError::Archive {
        path: path.to_path_buf(),
        cause: cause.to_string(),
    }
}

/// Reads a flow's index (empty when the flow was never archived).
pub fn read_index(paths: &StorePaths, flow: &str) -> Result<Vec<Archived>, StoreError> {
    use std::io::Read;
    let path = paths.archive(flow).join(INDEX_FILE);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(archive_err(&path, e)),
    };
    let mut text = String::new();
    file.take(MAX_INDEX_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| archive_err(&path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_index_line(l).ok_or_else(|| bad_line(&path, i + 1, l)))
        .collect()
}

fn bad_line(path: &Path, line: usize, text: &str) -> StoreError {
    let shown: String = text.chars().take(60).collect();
    archive_err(
        path,
        format!("line {line}: not `seq version ms`: {shown:?}"),
    )
}

fn parse_index_line(line: &str) -> Option<Archived> {
    let mut parts = line.split('\t');
    let seq = parts.next()?.trim().parse().ok()?;
    let version = parts.next()?.trim().to_owned();
    let at_ms = parts.next()?.trim().parse().ok()?;
    let plain = !version.is_empty() && version.chars().all(|c| c.is_ascii_hexdigit());
    (plain && parts.next().is_none()).then_some(Archived {
        seq,
        version,
        at_ms,
    })
}

/// Writes the version's text and appends its index line, unless it is
/// already the last archived version (a restart with the same files).
fn archive(paths: &StorePaths, flow: &Script, text: &str, now_ms: u64) -> Result<(), StoreError> {
    let index = read_index(paths, &flow.name)?;
    if index.last().is_some_and(|a| a.version == flow.version) {
        return Ok(());
    }
    let entry = Archived {
        seq: index.last().map_or(1, |a| a.seq + 1),
        version: flow.version.clone(),
        at_ms: now_ms,
    };
    let dir = paths.archive(&flow.name);
    std::fs::create_dir_all(&dir).map_err(|e| archive_err(&dir, e))?;
    let file = dir.join(entry.file_name());
    std::fs::write(&file, text).map_err(|e| archive_err(&file, e))?;
    let index_path = dir.join(INDEX_FILE);
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&index_path)
        .map_err(|e| archive_err(&index_path, e))?;
    writeln!(out, "{entry}").map_err(|e| archive_err(&index_path, e))
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    pub flow: String,
    /// The version that was live last (from the index).
    pub from: Archived,
    /// The version whose text is now in the flow file.
    pub to: Archived,
    pub file: PathBuf,
}

/// Puts the text of the version before the last one that went live back
/// into `<scripts_dir>/<flow>.toml` (write to a temporary file, then
/// rename). Once reloaded it goes live and is archived again with a new
/// sequence number, so a second rollback returns to the newer version.
pub fn rollback(paths: &StorePaths, flow: &str) -> Result<RolledBack, StoreError> {
    let fail = |cause: String| StoreError::Rollback {
        flow: flow.to_owned(),
        cause,
    };
    let plain = flow
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
    if !(1..=64).contains(&flow.len()) || !plain {
        return Err(fail("a flow name is 1-64 of A-Z a-z 0-9 _ -".into()));
    }
    let index = read_index(paths, flow)?;
    let Some(last) = index.last().cloned() else {
        let dir = paths.archive(flow);
        return Err(fail(format!("no archived versions in {}", dir.display())));
    };
    let Some(to) = index.iter().rev().find(|a| a.version != last.version) else {
        return Err(fail(format!(
            "only one version was ever live ({} as #{}); nothing to roll back to",
            last.version, last.seq
        )));
    };
    let src = paths.archive(flow).join(to.file_name());
    let text = std::fs::read(&src).map_err(|e| archive_err(&src, e))?;
    let file = flow_file(&paths.scripts_dir, flow);
    let tmp = paths.scripts_dir.join(format!(".{flow}.toml.rollback"));
    std::fs::write(&tmp, &text).map_err(|e| archive_err(&tmp, e))?;
    std::fs::rename(&tmp, &file).map_err(|e| archive_err(&file, e))?;
    Ok(RolledBack {
        flow: flow.to_owned(),
        from: last,
        to: to.clone(),
        file,
    })
}

#[cfg(test)]
mod tests;
