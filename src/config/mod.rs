//! SoftACD configuration: loading `softacd.toml`, strictly. Owns the file
//! format an admin edits (mission: "contact-center admins"; demo contract:
//! seats 1001–1003 on loopback) and its error reporting.
//!
//! Parsing is in three passes over the text, each reporting `file:line:col`:
//! 1. TOML syntax (every syntax error the parser can recover from);
//! 2. shape: unknown keys and wrong types (`deny_unknown_fields`), with
//!    bad listen addresses collected from the raw document first;
//! 3. semantic rules ([`validate`]), all of them collected.
//!
//! The default configuration, `config/softacd.toml`, is embedded in the
//! binary so `softacd run` works without a file.

mod schema;
mod span;
mod trunks;
mod validate;

#[cfg(test)]
mod tests;

pub use schema::{
    CapacitySection, Config, CtiSection, DeskSection, EscalateStep, HttpConfig, IvrConfig,
    LogConfig, LogFormat, MediaConfig, MediaModeConfig, NoAgentsPolicy, QueueSection,
    RecordingConfig, RecordingMode, RegistrarSection, SeatConfig, ServiceSection, SipConfig,
    SipTimers, StorageConfig, StrategyConfig, SupervisorConfig, SupervisorRole, TrunkSection,
};

use span::{line_col, Locator};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use validate::Finding;

/// The default configuration file, as shipped (demo seats on loopback).
pub const DEFAULT_CONFIG: &str = include_str!("../../config/softacd.toml");

/// The origin named in messages about [`DEFAULT_CONFIG`].
pub const DEFAULT_ORIGIN: &str = "<embedded default>";

/// One problem in a configuration file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub origin: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.origin, self.line, self.col, self.message
        )
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// One or more problems; `Display` prints one `file:line:col: message` per line.
    #[error("{}", lines(.0))]
    Invalid(Vec<Diagnostic>),
}

fn lines(diags: &[Diagnostic]) -> String {
    let all: Vec<String> = diags.iter().map(Diagnostic::to_string).collect();
    all.join("\n")
}

impl Config {
    /// Parses and validates configuration text; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let at = |span: Range<usize>, message: String| {
            let (line, col) = line_col(text, span.start);
            let origin = origin.to_owned();
            Diagnostic {
                origin,
                line,
                col,
                message,
            }
        };
        let (doc, syntax) = toml::de::DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            let diags = syntax.into_iter().map(|e| at(span_of(&e), message_of(&e)));
            return Err(ConfigError::Invalid(diags.collect()));
        }
        let loc = Locator::new(doc.get_ref());
        let mut findings = validate::addresses(&loc);
        let parsed = toml::from_str::<Config>(text)
            .map_err(|e| push_unless_reported(&mut findings, &e))
            .ok();
        match parsed {
            Some(cfg) if findings.is_empty() => {
                findings = validate::semantic(&cfg, &loc);
                if findings.is_empty() {
                    return Ok(cfg);
                }
            }
            _ => {}
        }
        let diags = findings.into_iter().map(|f| at(f.span, f.message));
        Err(ConfigError::Invalid(diags.collect()))
    }

    /// Loads the file at `path`, or the embedded default when `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Config::from_toml(DEFAULT_CONFIG, DEFAULT_ORIGIN);
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text, &path.display().to_string())
    }

    /// The database file: `storage.data_dir` joined with `storage.database`.
    pub fn database_path(&self) -> PathBuf {
        self.storage.data_dir.join(&self.storage.database)
    }
}

/// Adds the deserialiser's error unless it repeats an address already reported.
fn push_unless_reported(findings: &mut Vec<Finding>, e: &toml::de::Error) {
    let span = span_of(e);
    let repeated = findings
        .iter()
        .any(|f| f.span.start <= span.start && span.start < f.span.end.max(f.span.start + 1));
    if !repeated {
        findings.push(Finding {
            span,
            message: message_of(e),
        });
    }
}

fn span_of(e: &toml::de::Error) -> Range<usize> {
    e.span().unwrap_or(0..0)
}

fn message_of(e: &toml::de::Error) -> String {
    e.message().trim_end().to_owned()
}
