//! `softacd ivr rollback FLOW` (issue 5): puts the text of the version that
//! was live before the last one back into `<scripts>/<FLOW>.toml`, from the
//! archive in `<data-dir>/ivr-versions/` ([`crate::ivr::store::rollback`]).
//! A running server's watcher then loads it like any edit (it is validated
//! again); a stopped server loads it at the next start.

use crate::config::Config;
use crate::ivr::store::{self, StorePaths};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `softacd ivr rollback`.
#[derive(Debug, Clone, clap::Args)]
pub struct RollbackArgs {
    /// The flow's name (its file stem, e.g. `main`).
    pub flow: String,
    /// The server's configuration (for `[storage] data_dir` and
    /// `[ivr] scripts_dir`); the embedded defaults when absent.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Overrides `[storage] data_dir` (where `ivr-versions/` lives).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Overrides `[ivr] scripts_dir` (where the flow file is written).
    #[arg(long)]
    pub scripts: Option<PathBuf>,
}

/// The paths from the config, with the command line's overrides.
fn paths(args: &RollbackArgs) -> Result<StorePaths, String> {
    let cfg = Config::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    Ok(StorePaths {
        scripts_dir: args.scripts.clone().unwrap_or(cfg.ivr.scripts_dir),
        data_dir: args.data_dir.clone().unwrap_or(cfg.storage.data_dir),
    })
}

/// Runs the command; prints what it did, or the error (exit 2).
pub fn run(args: &RollbackArgs) -> ExitCode {
    let done = paths(args).and_then(|p| store::rollback(&p, &args.flow).map_err(|e| e.to_string()));
    match done {
        Ok(r) => {
            println!(
                "{}: rolled back from {} (#{}) to {} (#{}); wrote {}",
                r.flow,
                r.from.version,
                r.from.seq,
                r.to.version,
                r.to.seq,
                r.file.display()
            );
            println!("a running server loads it within a second; otherwise the next start does");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("softacd ivr rollback: {e}");
            ExitCode::from(2)
        }
    }
}
