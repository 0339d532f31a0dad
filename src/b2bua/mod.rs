//! The B2BUA call model (MISSION.md steps 1–10; docs/design/call-flow.md
//! "The b2bua call model"): one [`Call`] per contact joins the caller leg,
//! the IVR leg and the agent legs. A pure state machine: the engine does
//! the SIP work and feeds [`CallInput`]s to [`Call::handle`], routes the
//! [`CallAction::Cti`] inputs to the CTI and the CTI's outputs for this
//! contact back as [`CallInput::Cti`].
//!
//! Layout: `actions` (the vocabulary), `legs` (leg ids and phases),
//! `sdp_plan` (relay rewriting), `error`, `call` (state, start, clearing),
//! and the rules per side: `caller`, `ivr`, `agent`, `cti_in`, and
//! `transfer` (the IVR's transfer node: an external leg), `callback` (a
//! callback contact: agent first, then the customer), `desk_transfer`
//! (the desk's blind transfer: release the agent, hold leg, requeue),
//! `desk_hold` (the desk's hold and retrieve).

mod actions;
mod agent;
mod call;
mod callback;
mod caller;
mod cti_in;
mod desk_hold;
mod desk_transfer;
mod error;
mod ivr;
mod legs;
pub mod sdp_plan;
mod transfer;

#[cfg(test)]
mod tests;

pub use actions::{
    CallAction, CallInput, CallSetup, CallState, CdrUpdate, CtiToIvr, MediaMode, RelayAddrs,
};
pub use call::Call;
pub use callback::{CallbackSetup, CUSTOMER_NO_ANSWER};
pub use desk_transfer::{MAX_HOLDS, TRANSFER_HOLD_SCRIPT};
pub use error::B2buaError;
pub use ivr::{caller_code, cause_of, IVR_SKILL_LEVEL};
pub use legs::{CallerPhase, LegId, LegKind, LegPhase, MAX_LIVE_LEGS};
