//! The SIP facade: the only module that knows SIP wire details. The rest of
//! SoftACD uses the types re-exported here. Layers, bottom up:
//! `message`/`parse`/`headers` (RFC 3261 §7, §20, §25), `ingress` (the checks
//! every parser misses), `transaction` (§17, sans-IO), `transport` (§18, the
//! tokio shells for UDP and TCP; TLS and WS, RFC 7118, slot in beside them).

pub mod headers;
pub mod message;
pub mod parse;
pub mod peer;

pub use headers::{response_to, HeaderView};
pub use message::*;
pub use parse::{parse_message, ParseError, ParseErrorKind};
pub mod framing;
pub mod ingress;
pub mod transaction;
pub use peer::{ConnId, Peer, TransportKind};
pub mod dialog;
pub mod uac;
