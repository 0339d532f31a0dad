//! SoftACD: an IP contact-center core. See ARCHITECTURE.md for the map from
//! modules to the mission's components (SoftACD, CTI, IVR/MS, agent desktop).
//!
//! - [`sip`]: the SIP facade (parse, ingress checks, transactions, transports).
//! - [`registrar`]: RFC 3261 §10 registrar with digest authentication.
//! - [`cti`]: the queue-and-routing engine (pure state machine).
//! - [`media`]: RTP, G.711, RFC 4733 and prompt pieces.
//! - [`config`], [`telemetry`]: configuration and observability.

pub mod config;
pub mod cti;
pub mod media;
pub mod registrar;
pub mod sip;
pub mod telemetry;
