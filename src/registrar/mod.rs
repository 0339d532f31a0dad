//! The registrar (RFC 3261 §10.3) with digest authentication (RFC 3261 §22,
//! RFC 7616): a pure core fed REGISTERs with `now` (monotonic, for nonces)
//! and `wall_ms` (unix ms, for binding expiry that survives restarts), and an
//! SQLite store the shell applies the returned [`BindingChange`]s to. Agents'
//! softphones register here; the B2BUA calls [`Registrar::lookup`] to ring a
//! seat's phone (mission: "agents sign in with any phone").
//!
//! Layout: `digest` (credentials, hashes), `nonce` (stateless nonces and the
//! bounded nonce-count table), `auth` (the reusable request check),
//! `bindings` (the location table, §10.3 steps 6–8), `register` (the REGISTER
//! procedure), `store` (sqlx SQLite persistence).

mod auth;
mod bindings;
pub mod digest;
mod nonce;
mod register;
pub mod store;

#[cfg(test)]
mod register_tests;

pub use bindings::{Binding, BindingChange};
pub use store::{BindingStore, StoreError};

use crate::sip::Response;
use bindings::BindingTable;
use nonce::Nonces;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Registrar policy. `domain`: when `Some`, the To host of a REGISTER must be
/// this domain, `localhost`, a loopback address, or the IP literal the
/// Request-URI names (a phone configured with our address as its domain);
/// anything else gets 404. When `None`, any host is accepted and the AOR
/// keeps the To host. Users and passwords live in `users`.
#[derive(Clone)]
pub struct RegistrarConfig {
    pub realm: String,
    pub domain: Option<String>,
    /// user → password.
    pub users: BTreeMap<String, String>,
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
    pub nonce_ttl: Duration,
    pub max_bindings_per_aor: usize,
    /// Digest algorithms offered, most preferred first (RFC 7616 §3.7).
    /// Credentials using an algorithm not listed here are re-challenged.
    pub algorithms: Vec<digest::Algorithm>,
}

impl fmt::Debug for RegistrarConfig {
    /// Passwords never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrarConfig")
            .field("realm", &self.realm)
            .field("domain", &self.domain)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("min_expires", &self.min_expires)
            .field("max_expires", &self.max_expires)
            .field("default_expires", &self.default_expires)
            .field("nonce_ttl", &self.nonce_ttl)
            .field("algorithms", &self.algorithms)
            .field("max_bindings_per_aor", &self.max_bindings_per_aor)
            .finish()
    }
}

/// What one REGISTER did, for logs and metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum RegisterEvent {
    /// Answered 401 with a fresh nonce.
    Challenged {
        stale: bool,
    },
    /// The AOR now has these contacts.
    Registered {
        user: String,
        contacts: Vec<String>,
    },
    /// The AOR has no contacts left.
    Unregistered {
        user: String,
    },
    /// No Contact: the bindings were listed.
    Queried {
        user: String,
    },
    /// Wrong password or unknown user; `user` is as claimed (log only).
    AuthFailed {
        user: String,
    },
    Rejected {
        code: u16,
        why: String,
    },
}

/// The answer to send, the changes to persist, and what happened.
#[derive(Debug, Clone)]
pub struct RegisterOutcome {
    pub response: Response,
    pub changes: Vec<BindingChange>,
    pub event: RegisterEvent,
}

/// The verdict of [`Registrar::check_auth`] on any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResult {
    Authenticated {
        user: String,
    },
    /// Answer 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`), one
    /// header line per value: SHA-256 first, then MD5 (RFC 7616 §3.7).
    Challenge {
        headers: Vec<String>,
        stale: bool,
    },
    /// Answer 403: wrong password and unknown user look the same.
    Forbidden {
        claimed_user: String,
    },
    /// Answer 400: unreadable credentials or a `uri` naming another target.
    BadRequest {
        why: String,
    },
}

/// The registrar core. See the module doc.
pub struct Registrar {
    cfg: RegistrarConfig,
    nonces: Nonces,
    table: BindingTable,
    /// Key for To tags, derived from the secret.
    tag_key: [u8; 32],
}

impl Registrar {
    /// `secret` comes from the shell's getrandom; nonces and To tags derive
    /// from it. Expiry bounds are put in order (min ≤ default ≤ max).
    pub fn new(mut cfg: RegistrarConfig, secret: [u8; 32]) -> Self {
        cfg.max_expires = cfg.max_expires.max(cfg.min_expires);
        cfg.default_expires = cfg.default_expires.clamp(cfg.min_expires, cfg.max_expires);
        cfg.max_bindings_per_aor = cfg.max_bindings_per_aor.max(1);
        Registrar {
            nonces: Nonces::new(secret, cfg.nonce_ttl),
            table: BindingTable::new(cfg.max_bindings_per_aor),
            tag_key: nonce::hmac_sha256(&secret, b"to-tag"),
            cfg,
        }
    }

    /// Drop expired bindings; the shell persists the removals.
    pub fn expire(&mut self, wall_ms: u64) -> Vec<BindingChange> {
        self.table.expire(wall_ms)
    }

    /// When the next binding expires (wall ms), for the shell's timer.
    pub fn next_expiry(&self) -> Option<u64> {
        self.table.next_expiry()
    }

    /// Load bindings from the store at startup. Expired ones, ones of users
    /// no longer configured, and ones beyond the per-AOR bound are skipped.
    pub fn restore(&mut self, bindings: Vec<Binding>, wall_ms: u64) {
        for b in bindings {
            if b.expires_at_ms > wall_ms && self.cfg.users.contains_key(&b.user) {
                self.table.restore(b);
            }
        }
    }

    /// Contacts of a user, best q first (absent q ranks as 1.0), then the
    /// most recently registered.
    pub fn lookup(&self, user: &str) -> Vec<&Binding> {
        self.table.lookup(user)
    }

    pub fn bindings(&self) -> impl Iterator<Item = &Binding> {
        self.table.iter()
    }
}
