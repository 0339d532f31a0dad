//! The IP-IVR / media server (MISSION.md steps 4–7; "scripts editable without
//! code"): the script format and its loader ([`script`]), the pure interpreter
//! of one call ([`session`]), and [`ms`], the SIP user agent the SoftACD
//! invites (one dialog and one media stream per call, one session per call).
//! [`adapter`] plugs the sessions into [`ms`]; [`shell`] is the tokio task
//! that runs it against the SoftACD's channels and the media runtime.

pub mod adapter;
pub mod cli;
pub mod http_client;
pub mod ms;
pub mod rollback_cli;
pub mod say;
pub mod script;
pub mod session;
pub mod session_info;
pub mod shell;
pub mod sim;
pub mod store;
