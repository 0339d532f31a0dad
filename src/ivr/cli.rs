//! `softacd ivr check|simulate|test` (issue 5): validate flows and print
//! `file:line:col: message` per problem, run a flow with no phone and print
//! its trace, and run the flows' `[[test]]` cases. Exit status 0 when all is
//! well, 1 when a flow is invalid or a test fails, 2 on bad arguments.

use super::script::{self, parse_at, Script, ScriptErrors};
use super::session::SessionInfo;
use super::sim::{self, SimInput};
use crate::config::Config;
use clap::Subcommand;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// The `ivr` subcommands.
#[derive(Debug, Subcommand)]
pub enum IvrCli {
    /// Validate flows (default: every *.toml in ivr-scripts/); prints
    /// `file:line:col: message` per problem and exits 1 if any.
    Check {
        files: Vec<PathBuf>,
        /// Directory of prompt files (`NAME.wav`).
        #[arg(long, default_value = "media")]
        media: PathBuf,
        /// Also check queue names against this configuration's `[[queue]]`s.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run one flow with no phone and print what happens.
    Simulate {
        file: PathBuf,
        /// Key groups the caller types at each prompt for input, e.g. "1 0"
        /// or "1234# 0"; `-` is a silent turn.
        #[arg(long, default_value = "")]
        keys: String,
        /// A flow variable, `name=value` (repeatable).
        #[arg(long = "var")]
        vars: Vec<String>,
        /// Wall-clock time of the call: 2026-12-25T10:00[Europe/Paris]
        /// (default: now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long, default_value = "")]
        caller: String,
        #[arg(long, default_value = "")]
        dnis: String,
        /// An INVITE header, `Name: value` (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// A canned answer for http nodes, `URL=JSON` (repeatable); a
        /// request to any other URL fails (its `on_error` is taken).
        #[arg(long = "http")]
        http: Vec<String>,
        /// Transfer targets answer busy (486): transfer nodes take `on_error`.
        #[arg(long)]
        transfer_fails: bool,
        #[arg(long, default_value = "media")]
        media: PathBuf,
    },
    /// Run the `[[test]]` cases of flows (default: ivr-scripts/*.toml).
    Test {
        files: Vec<PathBuf>,
        #[arg(long, default_value = "media")]
        media: PathBuf,
    },
    /// Put the previously live version of a flow back into its file.
    Rollback(super::rollback_cli::RollbackArgs),
}

/// Runs one `ivr` subcommand.
pub fn run(cmd: IvrCli) -> ExitCode {
    match cmd {
        IvrCli::Check {
            files,
            media,
            config,
        } => check(&files, &media, config.as_deref()),
        IvrCli::Simulate {
            file,
            keys,
            vars,
            at,
            caller,
            dnis,
            headers,
            http,
            transfer_fails,
            media,
        } => {
            let args = SimArgs {
                keys,
                vars,
                at,
                caller,
                dnis,
                headers,
                http,
                transfer_fails,
            };
            simulate(&file, &media, args)
        }
        IvrCli::Test { files, media } => test(&files, &media),
        IvrCli::Rollback(args) => super::rollback_cli::run(&args),
    }
}

/// Whether prompt `name` has a media file in `dir`.
/// Any format the prompt loader reads counts (`media::decode::EXTENSIONS`).
pub fn prompt_in(dir: &Path) -> impl Fn(&str) -> bool + '_ {
    move |name: &str| {
        crate::media::decode::EXTENSIONS
            .iter()
            .any(|ext| dir.join(format!("{name}.{ext}")).is_file())
    }
}

/// The files named, or every `*.toml` of `ivr-scripts/`.
fn flow_files(files: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    if !files.is_empty() {
        return Ok(files.to_vec());
    }
    let dir = Path::new("ivr-scripts");
    let list = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = list
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    Ok(out)
}

fn check(files: &[PathBuf], media: &Path, config: Option<&Path>) -> ExitCode {
    let queues: Option<Vec<String>> = match config.map(|c| Config::load(Some(c))) {
        None => None,
        Some(Ok(cfg)) => Some(cfg.queue.iter().map(|q| q.name.clone()).collect()),
        Some(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let files = match flow_files(files) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let known_queue = |q: &str| queues.as_ref().is_some_and(|l| l.iter().any(|n| n == q));
    let queue_check: Option<&dyn Fn(&str) -> bool> = queues.as_ref().map(|_| &known_queue as _);
    let mut bad = 0;
    for file in &files {
        match script::load_file_checked(file, &prompt_in(media), queue_check) {
            Ok(s) => println!(
                "{}: ok ({} nodes, {} tests)",
                file.display(),
                s.nodes.len(),
                s.tests.len()
            ),
            Err(ScriptErrors(list)) => {
                bad += 1;
                for d in list {
                    println!("{d}");
                }
            }
        }
    }
    if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

struct SimArgs {
    keys: String,
    vars: Vec<String>,
    at: Option<String>,
    caller: String,
    dnis: String,
    headers: Vec<String>,
    http: Vec<String>,
    transfer_fails: bool,
}

/// `URL=JSON` pairs: the URL ends at the `=` before the JSON's `{` or `[`.
fn canned(list: &[String]) -> Result<BTreeMap<String, String>, String> {
    list.iter()
        .map(|kv| {
            let at = kv.find("={").or_else(|| kv.find("=["));
            at.map(|i| (kv[..i].trim().to_owned(), kv[i + 1..].trim().to_owned()))
                .ok_or_else(|| format!("--http `{kv}` must look like URL={{json}}"))
        })
        .collect()
}

fn load(file: &Path, media: &Path) -> Result<Arc<Script>, ExitCode> {
    script::load_file(file, &prompt_in(media))
        .map(Arc::new)
        .map_err(|e| {
            println!("{e}");
            ExitCode::from(1)
        })
}

fn pairs(list: &[String], sep: char, what: &str) -> Result<BTreeMap<String, String>, String> {
    list.iter()
        .map(|kv| {
            kv.split_once(sep)
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| format!("{what} `{kv}` must look like name{sep}value"))
        })
        .collect()
}

fn sim_input(args: SimArgs) -> Result<SimInput, String> {
    let wall = match &args.at {
        Some(at) => parse_at(at)?,
        None => jiff::Timestamp::now(),
    };
    Ok(SimInput {
        keys: args.keys,
        vars: pairs(&args.vars, '=', "--var")?,
        http: canned(&args.http)?,
        transfer_fails: args.transfer_fails,
        info: SessionInfo {
            caller: args.caller,
            dnis: args.dnis,
            headers: pairs(&args.headers, ':', "--header")?,
            wall,
        },
    })
}

fn simulate(file: &Path, media: &Path, args: SimArgs) -> ExitCode {
    let flow = match load(file, media) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let input = match sim_input(args) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    for line in sim::simulate(flow, &input, Instant::now()) {
        println!("{line}");
    }
    ExitCode::SUCCESS
}

fn test(files: &[PathBuf], media: &Path) -> ExitCode {
    let files = match flow_files(files) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let flow = match load(file, media) {
            Ok(f) => f,
            Err(_) => {
                failed += 1;
                continue;
            }
        };
        for outcome in sim::run_tests(&flow, Instant::now()) {
            let at = format!("{}:{}", file.display(), outcome.line);
            if outcome.passed() {
                passed += 1;
                println!("{at}: test `{}` ok", outcome.name);
            } else {
                failed += 1;
                println!("{at}: test `{}` FAILED", outcome.name);
                println!("  expected: {:?}", outcome.expected);
                println!("  got:      {:?}", outcome.got);
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
