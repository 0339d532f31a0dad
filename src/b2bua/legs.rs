//! The legs of one call (mission steps 4, 8, 10): the caller leg (we are its
//! UAS), the IVR leg and the agent legs (we are their UAC). Each UAC leg's
//! phase follows its INVITE transaction and dialog (RFC 3261 §13, §15):
//! Calling → Early → Up, or Cancelling once we sent CANCEL. A leg leaves the
//! table when its INVITE failed or when its dialog is closed by BYE, so the
//! table holds exactly the legs still alive. The table is bounded.

use std::collections::BTreeMap;

/// Most IVR/agent legs alive at once (one agent ringing plus a few that
/// were cancelled and have not answered the CANCEL yet).
pub const MAX_LIVE_LEGS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LegKind {
    Caller,
    Ivr,
    Agent,
    /// A transfer target outside the contact center (IVR `transfer` node).
    External,
    /// An IVR leg playing hold music to a caller an agent transferred
    /// (the desk's blind transfer; script [`super::TRANSFER_HOLD_SCRIPT`]).
    Hold,
}

/// One leg of a call. `attempt` counts agent legs from 1; caller and IVR use 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LegId {
    pub kind: LegKind,
    pub attempt: u32,
}

impl LegId {
    pub const CALLER: LegId = LegId {
        kind: LegKind::Caller,
        attempt: 0,
    };
    pub const IVR: LegId = LegId {
        kind: LegKind::Ivr,
        attempt: 0,
    };

    pub fn agent(attempt: u32) -> LegId {
        LegId {
            kind: LegKind::Agent,
            attempt,
        }
    }

    /// The `attempt`-th hold leg of a call (from 1).
    pub fn hold(attempt: u32) -> LegId {
        LegId {
            kind: LegKind::Hold,
            attempt,
        }
    }

    /// The `attempt`-th transfer leg of a call (from 1).
    pub fn external(attempt: u32) -> LegId {
        LegId {
            kind: LegKind::External,
            attempt,
        }
    }
}

/// Where a UAC leg (IVR or agent) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegPhase {
    /// INVITE sent, no provisional response yet.
    Calling,
    /// A 1xx arrived.
    Early,
    /// 2xx arrived; our ACK waits for the caller's answer (late offer).
    AwaitingAck,
    /// 2xx arrived and was ACKed.
    Up,
    /// We sent CANCEL; a final response (487, or a racing 2xx) is due.
    Cancelling,
}

/// The caller leg (we are its UAS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerPhase {
    /// INVITE received, no final response sent.
    Invited,
    /// Our 2xx sent, its ACK not yet here.
    Answered,
    Confirmed,
    /// Our re-INVITE to the caller is in progress.
    ReInviting,
    Gone,
}

/// The live IVR/agent legs, bounded by [`MAX_LIVE_LEGS`].
#[derive(Debug, Clone, Default)]
pub struct LegTable {
    legs: BTreeMap<LegId, LegPhase>,
}

impl LegTable {
    /// Adds a leg in Calling; `false` when the table is full.
    pub fn open(&mut self, leg: LegId) -> bool {
        if self.legs.len() >= MAX_LIVE_LEGS && !self.legs.contains_key(&leg) {
            return false;
        }
        self.legs.insert(leg, LegPhase::Calling);
        true
    }

    pub fn phase(&self, leg: LegId) -> Option<LegPhase> {
        self.legs.get(&leg).copied()
    }

    /// Sets the phase of a live leg (no-op for an unknown one).
    pub fn set(&mut self, leg: LegId, phase: LegPhase) {
        if let Some(p) = self.legs.get_mut(&leg) {
            *p = phase;
        }
    }

    pub fn close(&mut self, leg: LegId) -> Option<LegPhase> {
        self.legs.remove(&leg)
    }

    pub fn ids(&self) -> Vec<LegId> {
        self.legs.keys().copied().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.legs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_bounded_and_forgets_closed_legs() {
        let mut t = LegTable::default();
        for i in 0..MAX_LIVE_LEGS as u32 {
            assert!(t.open(LegId::agent(i + 1)));
        }
        assert!(!t.open(LegId::agent(99)));
        assert_eq!(t.close(LegId::agent(1)), Some(LegPhase::Calling));
        assert!(t.open(LegId::agent(99)));
        assert_eq!(t.ids().len(), MAX_LIVE_LEGS);
        assert_eq!(t.phase(LegId::agent(1)), None);
    }

    #[test]
    fn set_changes_only_live_legs() {
        let mut t = LegTable::default();
        t.set(LegId::IVR, LegPhase::Up);
        assert_eq!(t.phase(LegId::IVR), None);
        t.open(LegId::IVR);
        t.set(LegId::IVR, LegPhase::Up);
        assert_eq!(t.phase(LegId::IVR), Some(LegPhase::Up));
    }
}
