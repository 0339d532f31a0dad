//! The engine's side of the CTI journal (issue 6 "self-healing";
//! ARCHITECTURE.md "CTI journal"): it turns CTI inputs and outputs into
//! journal entries ([`crate::cti::journal::Entry`]), records each
//! established SIP leg's dialog and forgets it when the call ends, and on
//! start signs the journaled agents in again and sends an in-dialog BYE
//! (RFC 3261 §15.1.1) on every leg the previous process left up. Pure like
//! the rest of the engine: all of it comes out as [`Action::Journal`] and
//! [`Action::Transmit`].

use super::engine::{Action, Engine};
use crate::b2bua::{LegId, LegKind};
use crate::cti::journal::{AgentRecord, Entry, Restore};
use crate::cti::{AgentId, ContactId, Input, Output as CtiOutput};
use crate::journal::{JournalOp, LegRecord};
use crate::sip::dialog::Dialog;
use crate::sip::Method;
use std::time::Instant;

/// A leg's dialog is confirmed: keep it until the call ends (the in-process
/// IVR leg is not kept). A free function so the call tables can stay
/// borrowed where the dialog is made.
pub(super) fn leg_up(contact: ContactId, leg: LegId, d: &Dialog) -> Option<Action> {
    let name = match leg.kind {
        LegKind::Caller => "caller".to_owned(),
        LegKind::Ivr => "ivr".to_owned(),
        LegKind::Agent => format!("agent-{}", leg.attempt),
        LegKind::External => format!("external-{}", leg.attempt),
        LegKind::Hold => format!("hold-{}", leg.attempt),
    };
    LegRecord::of(contact.0, &name, d).map(|rec| Action::Journal(JournalOp::LegUp(rec)))
}

impl Engine {
    fn journal(&mut self, wall_ms: u64, entry: Entry) {
        self.actions.push_back(Action::Journal(JournalOp::Append {
            at_ms: wall_ms,
            entry,
        }));
    }

    /// An input the CTI accepted (`refused` false), as a contact entry.
    pub(super) fn journal_input(&mut self, wall_ms: u64, input: &Input, refused: bool) {
        if refused {
            return;
        }
        if let Some(e) = Entry::of_input(input) {
            self.journal(wall_ms, e);
        }
    }

    /// A CTI output: an agent's transition or a contact's.
    pub(super) fn journal_output(&mut self, wall_ms: u64, out: &CtiOutput) {
        if let CtiOutput::AgentStateChanged {
            agent,
            status,
            state,
        } = out
        {
            let auto = self.auto_signed.contains(&agent.0);
            let e = match self.cti.agent(agent) {
                Some(a) => Entry::Agent(AgentRecord::of(a, status, state, auto)),
                None => Entry::AgentSignedOut {
                    agent: agent.0.clone(),
                },
            };
            self.journal(wall_ms, e);
        } else if let Some(e) = Entry::of_output(out) {
            self.journal(wall_ms, e);
        }
    }

    /// The agent as it is now (a sign-in may change device or skills
    /// without changing status or state).
    pub(super) fn journal_agent(&mut self, wall_ms: u64, agent: &AgentId) {
        let auto = self.auto_signed.contains(&agent.0);
        if let Some(a) = self.cti.agent(agent) {
            let e = Entry::Agent(AgentRecord::of(a, &a.status, &a.state, auto));
            self.journal(wall_ms, e);
        }
    }

    /// The call is over: its legs need no BYE after a restart.
    pub(super) fn journal_legs_down(&mut self, contact: ContactId) {
        self.actions
            .push_back(Action::Journal(JournalOp::LegsDown { contact: contact.0 }));
    }

    /// Start: the journaled agents that are still seats sign in again
    /// (Idle, same device, skills and status); seats their phone had signed
    /// in stay under auto-ready. Call before the first `sync_auto_ready`.
    pub fn restore_agents(&mut self, now: Instant, wall_ms: u64, restore: Restore) {
        for seat in restore.auto {
            if self.cfg.seats.contains_key(&seat) {
                self.auto_signed.insert(seat);
            }
        }
        for input in restore.inputs {
            let seat = match &input {
                Input::SignIn { agent, .. } | Input::SetNotReady { agent, .. } => agent.clone(),
                _ => continue,
            };
            if !self.cfg.seats.contains_key(&seat.0) {
                continue;
            }
            tracing::info!(agent = %seat.0, ?input, "restored from the CTI journal");
            let outputs = self.cti.handle(now, input);
            self.route_cti_outputs(now, wall_ms, outputs);
        }
    }

    /// Start: an in-dialog BYE on every leg the previous process left up
    /// (their relays and dialogs died with it), then forget the legs.
    pub fn reconcile_legs(&mut self, now: Instant, legs: Vec<LegRecord>) {
        let mut contacts: Vec<u64> = Vec::new();
        for leg in legs {
            if !contacts.contains(&leg.contact) {
                contacts.push(leg.contact);
            }
            let mut dialog = match leg.dialog() {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(contact = leg.contact, leg = %leg.leg, error = %e, "live leg unreadable: no BYE");
                    continue;
                }
            };
            let local = self.local_addr(dialog.peer.transport);
            let bye = dialog.request(Method::Bye, &local, &mut self.ids);
            match self.txn.send_request(now, bye, dialog.peer) {
                Ok(_) => tracing::info!(
                    contact = leg.contact, leg = %leg.leg, peer = %dialog.peer,
                    call_id = %leg.call_id, "BYE to a leg left up by the previous process"
                ),
                Err(e) => tracing::warn!(contact = leg.contact, error = %e, "BYE not sent"),
            }
        }
        for c in contacts {
            self.journal_legs_down(ContactId(c));
        }
    }
}
