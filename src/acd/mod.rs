//! The SoftACD component (MISSION.md, "Components"): the SIP access layer.
//! `Engine` is its pure core: it owns the transaction layer (RFC 3261 §17)
//! and the registrar (§10), acts as the UAS core (§8.2) for everything that
//! is not a call, and hosts the CTI and the B2BUA call model (one
//! `b2bua::Call` per contact): `calls.rs` is the SIP side of the B2BUA,
//! `agents.rs` the desk commands and auto-ready seats, `trunks.rs` which
//! carrier trunk an INVITE's source address belongs to, `journal.rs` the
//! CTI journal's entries, live legs and the restart's restore and BYEs. No IO and no clock:
//! the shell passes `now` (monotonic) and `wall_ms` (unix ms) in and drains
//! [`Action`]s.

mod agents;
mod calls;
mod engine;
mod journal;
pub mod trunks;

pub use calls::callback::CallbackPolicy;
pub use calls::transfer::transfer_target;
pub use engine::{Action, Engine, EngineConfig, IvrToCti, MediaPorts, NoRelay, SeatPolicy};
