//! SoftACD: an IP contact-center core. See ARCHITECTURE.md for the map from
//! modules to the mission's components (SoftACD, CTI, IVR/MS, agent desktop).
//!
//! - [`sip`]: the SIP facade (parse, ingress checks, transactions, transports).
//! - [`registrar`]: RFC 3261 §10 registrar with digest authentication.
//! - [`cti`]: the queue-and-routing engine (pure state machine).
//! - [`media`]: RTP, G.711, RFC 4733, SDP, prompts, the media runtime and relay.
//! - [`ivr`]: the IVR/MS: script format, session interpreter, SIP user agent.
//! - [`acd`]: the SoftACD engine (UAS core; later the B2BUA call model).
//! - [`b2bua`]: the B2BUA call model, one pure state machine per contact.
//! - [`transport`], [`http`], [`server`]: the tokio shells.
//! - [`cdr`], [`events`]: call detail records (SQLite) and the live event bus.
//! - [`journal`]: the CTI journal and live SIP legs (SQLite), replayed on start.
//! - [`config`], [`telemetry`]: configuration and observability.

pub mod acd;
pub mod b2bua;
pub mod cdr;
pub mod config;
pub mod cti;
pub mod events;
pub mod http;
pub mod ivr;
pub mod journal;
pub mod media;
pub mod registrar;
pub mod server;
pub mod sip;
pub mod telemetry;
pub mod transport;
