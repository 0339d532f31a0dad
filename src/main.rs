//! The `softacd` command: `run` starts the server (embedded defaults when no
//! config is given), `check-config` validates a config file and prints one
//! `file:line:col: message` per problem, `hash-password` prints an agent
//! password's Argon2 hash.

use clap::{Parser, Subcommand, ValueEnum};
use softacd::config::{Config, LogFormat};
use softacd::{server, telemetry};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "softacd",
    version,
    about = "SoftACD: an open-source IP contact-center core"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SIP, HTTP, SQLite). With no --config, the embedded
    /// demo configuration is used (loopback only).
    Run {
        /// TOML configuration file (see config/softacd.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Overrides `[storage] data_dir`.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Overrides `[log] format`.
        #[arg(long, value_enum)]
        log_format: Option<CliLogFormat>,
    },
    /// Validate a configuration file and exit (0 when valid).
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Print an Argon2 PHC hash of the password read from the first line of
    /// stdin, for `[[seat]] agent_password_hash` (the agent desktop's login).
    HashPassword,
    /// IVR flows: check, simulate, test.
    #[command(subcommand)]
    Ivr(softacd::ivr::cli::IvrCli),
}

#[derive(Clone, Copy, ValueEnum)]
enum CliLogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => match Config::load(Some(&file)) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Ivr(cmd) => softacd::ivr::cli::run(cmd),
        Command::HashPassword => hash_password(),
        Command::Run {
            config,
            data_dir,
            log_format,
        } => run(config, data_dir, log_format),
    }
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("hash-password: cannot read stdin: {e}");
        return ExitCode::from(2);
    }
    let password = line.trim_end_matches(['\r', '\n']);
    match softacd::http::desk::password::hash(password) {
        Ok(phc) => {
            println!("{phc}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hash-password: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    log_format: Option<CliLogFormat>,
) -> ExitCode {
    let mut cfg = match Config::load(config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(d) = data_dir {
        cfg.storage.data_dir = d;
    }
    if let Some(f) = log_format {
        cfg.log.format = match f {
            CliLogFormat::Text => LogFormat::Text,
            CliLogFormat::Json => LogFormat::Json,
        };
    }
    if let Err(e) = telemetry::init_tracing(&cfg.log.level, cfg.log.format) {
        eprintln!("softacd: logging: {e}");
        return ExitCode::from(2);
    }
    let metrics = match telemetry::install_metrics() {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("softacd: metrics: {e}");
            None
        }
    };
    let origin = config
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "embedded default config".into());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("softacd: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(server::run(cfg, metrics, shutdown_signal(), |l| {
        for a in &l.udp {
            println!("softacd listening sip/udp {a}");
        }
        for a in &l.tcp {
            println!("softacd listening sip/tcp {a}");
        }
        println!("softacd listening http {}", l.http);
        println!(
            "softacd data dir {} (database {})",
            l.data_dir.display(),
            l.database.display()
        );
        println!("softacd config {origin}");
        println!("softacd ready");
    }));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("softacd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
