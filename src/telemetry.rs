//! Observability: the tracing subscriber (text or JSON lines on stderr) and
//! the Prometheus metrics recorder, plus the catalogue of SoftACD's metric
//! names ([`names`]) and typed helpers to record them. Follows DESIGN.md §2
//! ("thin IO shells: … metrics") — the lead serves `handle.render()` at
//! `GET /metrics`; no HTTP listener is opened here.
//!
//! Label values that a peer controls (SIP method, status code) are mapped to a
//! fixed set before use, so a peer cannot grow the number of time series.

use crate::config::LogFormat;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry: log filter from {origin} `{filter}` is invalid: {source}")]
    Filter {
        /// `log.level` or `RUST_LOG`.
        origin: &'static str,
        filter: String,
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("telemetry: a tracing subscriber is already installed: {0}")]
    AlreadyInitialized(String),
    #[error("telemetry: cannot install the Prometheus recorder: {0}")]
    Metrics(#[from] BuildError),
}

/// Installs the global tracing subscriber: `format` lines on stderr, filtered
/// by `level` (EnvFilter syntax) unless a non-empty `RUST_LOG` overrides it.
/// A second call returns [`TelemetryError::AlreadyInitialized`].
pub fn init_tracing(level: &str, format: LogFormat) -> Result<(), TelemetryError> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = build_filter(level, rust_log.as_deref())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| TelemetryError::AlreadyInitialized(e.to_string()))
}

/// The filter in force: `rust_log` when set and non-empty, else `level`.
pub fn build_filter(level: &str, rust_log: Option<&str>) -> Result<EnvFilter, TelemetryError> {
    let (origin, filter) = match rust_log.map(str::trim) {
        Some(env) if !env.is_empty() => ("RUST_LOG", env),
        _ => ("log.level", level),
    };
    EnvFilter::builder()
        .parse(filter)
        .map_err(|source| TelemetryError::Filter {
            origin,
            filter: filter.to_owned(),
            source,
        })
}

/// Installs the global Prometheus recorder (no listener) and describes every
/// metric in [`names`]. Render the returned handle at `GET /metrics`.
pub fn install_metrics() -> Result<PrometheusHandle, TelemetryError> {
    let handle = PrometheusBuilder::new().install_recorder()?;
    names::describe_all();
    Ok(handle)
}

/// Whether a SIP message was received or sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => names::DIRECTION_IN,
            Direction::Out => names::DIRECTION_OUT,
        }
    }
}

/// Outcome of one REGISTER at the registrar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterResult {
    /// 200 OK: bindings updated.
    Ok,
    /// 401 with a fresh challenge (the normal first round).
    Challenged,
    /// Credentials presented but wrong (403, or 401 after a bad response).
    Failed,
    /// Refused for policy or syntax (400, 404, 423, …).
    Rejected,
}

impl RegisterResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RegisterResult::Ok => names::REGISTER_OK,
            RegisterResult::Challenged => names::REGISTER_CHALLENGED,
            RegisterResult::Failed => names::REGISTER_FAILED,
            RegisterResult::Rejected => names::REGISTER_REJECTED,
        }
    }
}

/// Counts one SIP request (`softacd_sip_requests_total`).
pub fn count_sip_request(method: &str, direction: Direction) {
    metrics::counter!(
        names::SIP_REQUESTS_TOTAL,
        names::LABEL_METHOD => method_label(method),
        names::LABEL_DIRECTION => direction.as_str(),
    )
    .increment(1);
}

/// Counts one SIP response (`softacd_sip_responses_total`); `method` is the
/// CSeq method of the request it answers.
pub fn count_sip_response(code: u16, method: &str, direction: Direction) {
    metrics::counter!(
        names::SIP_RESPONSES_TOTAL,
        names::LABEL_CODE => code_label(code),
        names::LABEL_METHOD => method_label(method),
        names::LABEL_DIRECTION => direction.as_str(),
    )
    .increment(1);
}

/// Sets the number of live SIP transactions (`softacd_sip_transactions`).
pub fn set_sip_transactions(live: usize) {
    metrics::gauge!(names::SIP_TRANSACTIONS).set(live as f64);
}

/// Sets the number of registered contact bindings (`softacd_registrations`).
pub fn set_registrations(bindings: usize) {
    metrics::gauge!(names::REGISTRATIONS).set(bindings as f64);
}

/// Records the time from DivertCall to the moment the agent's media can flow
/// (`softacd_divert_to_media_seconds`, MISSION.md steps 8–10).
pub fn observe_divert_to_media(seconds: f64) {
    metrics::histogram!(names::DIVERT_TO_MEDIA).record(seconds);
}

/// Counts one REGISTER outcome (`softacd_register_total`).
pub fn count_register(result: RegisterResult) {
    metrics::counter!(names::REGISTER_TOTAL, names::LABEL_RESULT => result.as_str()).increment(1);
}

/// Counts one dropped SIP message (`softacd_sip_dropped_total`); `reason` is
/// a short fixed word chosen by the caller, e.g. `"parse"`, `"overload"`.
pub fn count_sip_dropped(reason: &'static str) {
    metrics::counter!(names::SIP_DROPPED_TOTAL, names::LABEL_REASON => reason).increment(1);
}

/// The label for a method: the RFC 3261/3262/3265/3311/3428/3515/3903/6086
/// methods by name, anything else `other`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 14] = [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

/// The label for a status code: the code itself for 100–699, else `other`.
pub fn code_label(code: u16) -> String {
    if (100..=699).contains(&code) {
        code.to_string()
    } else {
        "other".to_owned()
    }
}

/// Metric names, label keys and fixed label values, and their descriptions.
pub mod names {
    /// Counter, labels `method`, `direction`.
    pub const SIP_REQUESTS_TOTAL: &str = "softacd_sip_requests_total";
    /// Counter, labels `code`, `method`, `direction`.
    pub const SIP_RESPONSES_TOTAL: &str = "softacd_sip_responses_total";
    /// Gauge: live SIP transactions.
    pub const SIP_TRANSACTIONS: &str = "softacd_sip_transactions";
    /// Gauge: registered contact bindings.
    pub const REGISTRATIONS: &str = "softacd_registrations";
    /// Counter, label `result`.
    pub const REGISTER_TOTAL: &str = "softacd_register_total";
    /// Counter, label `reason`.
    pub const SIP_DROPPED_TOTAL: &str = "softacd_sip_dropped_total";
    pub const DIVERT_TO_MEDIA: &str = "softacd_divert_to_media_seconds";

    pub const LABEL_METHOD: &str = "method";
    pub const LABEL_CODE: &str = "code";
    pub const LABEL_DIRECTION: &str = "direction";
    pub const LABEL_RESULT: &str = "result";
    pub const LABEL_REASON: &str = "reason";

    pub const DIRECTION_IN: &str = "in";
    pub const DIRECTION_OUT: &str = "out";

    pub const REGISTER_OK: &str = "ok";
    pub const REGISTER_CHALLENGED: &str = "challenged";
    pub const REGISTER_FAILED: &str = "failed";
    pub const REGISTER_REJECTED: &str = "rejected";

    /// Every metric name, for checks and documentation.
    pub const ALL: [&str; 6] = [
        SIP_REQUESTS_TOTAL,
        SIP_RESPONSES_TOTAL,
        SIP_TRANSACTIONS,
        REGISTRATIONS,
        REGISTER_TOTAL,
        SIP_DROPPED_TOTAL,
    ];

    /// Registers the help text of every metric with the current recorder.
    pub fn describe_all() {
        use metrics::{describe_counter, describe_gauge, describe_histogram};
        describe_histogram!(
            DIVERT_TO_MEDIA,
            metrics::Unit::Seconds,
            "From DivertCall to the agent's media flowing (relay: agent 200 OK; direct: caller's 2xx to the re-INVITE)"
        );
        describe_counter!(
            SIP_REQUESTS_TOTAL,
            "SIP requests by method and direction (in|out)"
        );
        describe_counter!(
            SIP_RESPONSES_TOTAL,
            "SIP responses by status code, CSeq method and direction (in|out)"
        );
        describe_gauge!(
            SIP_TRANSACTIONS,
            "Live SIP transactions (client and server)"
        );
        describe_gauge!(
            REGISTRATIONS,
            "Registered contact bindings at the registrar"
        );
        describe_counter!(
            REGISTER_TOTAL,
            "REGISTER outcomes: ok, challenged, failed, rejected"
        );
        describe_counter!(SIP_DROPPED_TOTAL, "SIP messages dropped, by reason");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` against a private recorder and returns the rendered text.
    fn render_with(f: impl FnOnce()) -> String {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, f);
        handle.render()
    }

    #[test]
    fn described_and_recorded_metrics_render_with_help_and_labels() {
        let text = render_with(|| {
            names::describe_all();
            count_sip_request("INVITE", Direction::In);
            count_sip_request("INVITE", Direction::In);
            count_sip_response(180, "INVITE", Direction::Out);
            set_sip_transactions(7);
            set_registrations(3);
            count_register(RegisterResult::Challenged);
            count_sip_dropped("parse");
        });
        for name in names::ALL {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} help in:\n{text}"
            );
        }
        let expected = [
            r#"softacd_sip_requests_total{method="INVITE",direction="in"} 2"#,
            r#"softacd_sip_responses_total{code="180",method="INVITE",direction="out"} 1"#,
            "softacd_sip_transactions 7",
            "softacd_registrations 3",
            r#"softacd_register_total{result="challenged"} 1"#,
            r#"softacd_sip_dropped_total{reason="parse"} 1"#,
        ];
        for line in expected {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
    }

    #[test]
    fn peer_controlled_labels_are_bounded() {
        assert_eq!(method_label("REGISTER"), "REGISTER");
        assert_eq!(method_label("XYZZY"), "other");
        assert_eq!(method_label("invite"), "other");
        assert_eq!(code_label(486), "486");
        assert_eq!(code_label(99), "other");
        assert_eq!(code_label(700), "other");
        let text = render_with(|| {
            count_sip_request("FOO", Direction::In);
            count_sip_request("BAR", Direction::In);
        });
        assert!(text.contains(r#"softacd_sip_requests_total{method="other",direction="in"} 2"#));
    }

    #[test]
    fn filter_prefers_non_empty_rust_log() {
        assert!(build_filter("info", None).is_ok());
        let from_env = build_filter("info", Some("softacd=trace")).unwrap();
        assert_eq!(from_env.to_string(), "softacd=trace");
        let blank_env = build_filter("warn", Some("  ")).unwrap();
        assert_eq!(blank_env.to_string(), "warn");
    }

    #[test]
    fn invalid_filters_name_their_origin() {
        let err = build_filter("softacd=loud", None).unwrap_err();
        assert!(matches!(
            err,
            TelemetryError::Filter {
                origin: "log.level",
                ..
            }
        ));
        let err = build_filter("info", Some("x=[")).unwrap_err();
        assert!(err.to_string().contains("RUST_LOG"), "{err}");
    }

    #[test]
    fn second_tracing_init_is_an_error_not_a_panic() {
        let _first = init_tracing("info", LogFormat::Text);
        let second = init_tracing("info", LogFormat::Json);
        assert!(
            matches!(second, Err(TelemetryError::AlreadyInitialized(_))),
            "{second:?}"
        );
    }

    #[test]
    fn install_metrics_installs_a_global_recorder_once() {
        let handle = install_metrics().expect("first install");
        count_register(RegisterResult::Ok);
        let text = handle.render();
        // Other tests may record through the global recorder too: check presence.
        assert!(
            text.contains(r#"softacd_register_total{result="ok"} "#),
            "{text}"
        );
        assert!(text.contains("# HELP softacd_register_total"), "{text}");
        assert!(matches!(install_metrics(), Err(TelemetryError::Metrics(_))));
    }
}
