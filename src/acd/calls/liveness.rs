//! Leg liveness (issue 6, self-healing): every `[sip] leg_probe_s` each
//! live call's SIP dialogs on the network — the caller leg and the agent
//! or external legs, never the in-process IVR leg — get an in-dialog
//! OPTIONS (RFC 3261 §11, built per §12.2.1.1: same Call-ID and tags, the
//! next local CSeq, the route set, the remote target). Any final response
//! means the peer still holds the dialog, except 481 (Call/Transaction Does
//! Not Exist, §12.2.2) and 408 or no answer at all (Timer F, §17.1.2.2), or
//! a transport failure: then the leg is lost, and the call handles it
//! exactly as a BYE from that leg (`CallInput::LegLost`, cause `leg_lost`),
//! so an agent never stays in call after a lost BYE.
//!
//! [`Probes`] is the pure bookkeeping: one deadline per call (an ordered
//! set, like the transfer timers, so nothing scans all calls), and at most
//! one probe in flight per leg. Both are bounded by the live calls.

use super::Engine;
use crate::b2bua::{CallInput, CallState, LegId, LegKind};
use crate::cti::ContactId;
use crate::sip::transaction::TxKey;
use crate::sip::{Method, Response, TransportKind};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

/// Probe deadlines and probes in flight.
#[derive(Default)]
pub(in crate::acd) struct Probes {
    deadlines: BTreeSet<(Instant, ContactId)>,
    armed: HashMap<ContactId, Instant>,
    in_flight: HashMap<TxKey, (ContactId, LegId)>,
    busy: HashSet<(ContactId, LegId)>,
}

impl Probes {
    /// Sets the call's next probe at `at` unless one is already set.
    pub(super) fn arm(&mut self, contact: ContactId, at: Instant) {
        if self.armed.contains_key(&contact) {
            return;
        }
        self.armed.insert(contact, at);
        self.deadlines.insert((at, contact));
    }

    /// Forgets the call: its deadline and its probes in flight.
    pub(super) fn disarm(&mut self, contact: ContactId) {
        if let Some(at) = self.armed.remove(&contact) {
            self.deadlines.remove(&(at, contact));
        }
        if self.busy.iter().any(|(c, _)| *c == contact) {
            self.in_flight.retain(|_, (c, _)| *c != contact);
            self.busy.retain(|(c, _)| *c != contact);
        }
    }

    /// Takes the calls whose deadline has come.
    pub(super) fn due(&mut self, now: Instant) -> Vec<ContactId> {
        let mut due = Vec::new();
        while let Some(&(at, contact)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.remove(&(at, contact));
            self.armed.remove(&contact);
            due.push(contact);
        }
        due
    }

    pub(super) fn next(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    pub(super) fn is_busy(&self, contact: ContactId, leg: LegId) -> bool {
        self.busy.contains(&(contact, leg))
    }

    pub(super) fn start(&mut self, key: TxKey, contact: ContactId, leg: LegId) {
        self.busy.insert((contact, leg));
        self.in_flight.insert(key, (contact, leg));
    }

    /// Whether `key` is one of our probes.
    pub(super) fn owns(&self, key: &TxKey) -> bool {
        self.in_flight.contains_key(key)
    }

    /// The probe `key` is over: the leg it was for.
    pub(super) fn finish(&mut self, key: &TxKey) -> Option<(ContactId, LegId)> {
        let found = self.in_flight.remove(key)?;
        self.busy.remove(&found);
        Some(found)
    }

    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

/// A final response to a probe that says the peer lost the dialog.
pub(super) fn is_dead(code: u16) -> bool {
    matches!(code, 408 | 481)
}

/// Legs that are SIP dialogs on the network (not the in-process IVR,
/// whether it runs the call's flow or the desk's hold music).
fn probed(kind: LegKind, transport: TransportKind) -> bool {
    !matches!(kind, LegKind::Ivr | LegKind::Hold) && transport != TransportKind::Local
}

impl Engine {
    /// After every input to a call: arm its next probe if it has a dialog
    /// to probe, forget it once it is clearing or gone.
    pub(super) fn arm_probe(&mut self, now: Instant, contact: ContactId) {
        let Some(every) = self.cfg.leg_probe else {
            return;
        };
        let live = self.calls.calls.get(&contact).is_some_and(|ctx| {
            !matches!(ctx.call.state(), CallState::Clearing | CallState::Done)
                && (ctx.caller.dialog.is_some() || ctx.legs.values().any(|l| l.dialog.is_some()))
        });
        if live {
            self.calls.probes.arm(contact, now + every);
        } else {
            self.calls.probes.disarm(contact);
        }
    }

    /// Sends the probes that are due and sets each call's next deadline.
    pub(crate) fn fire_probes(&mut self, now: Instant) {
        for contact in self.calls.probes.due(now) {
            self.probe_call(now, contact);
            self.arm_probe(now, contact);
        }
    }

    pub(super) fn probe_timeout(&self) -> Option<Instant> {
        self.calls.probes.next()
    }

    /// One OPTIONS on each probed leg of the call with none in flight.
    fn probe_call(&mut self, now: Instant, contact: ContactId) {
        let Some(caller_transport) = self
            .calls
            .calls
            .get(&contact)
            .map(|c| c.caller.peer.transport)
        else {
            return;
        };
        let local = self.local_addr(caller_transport);
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let mut requests = Vec::new();
        if let Some(d) = ctx.caller.dialog.as_mut() {
            if probed(LegKind::Caller, caller_transport)
                && !self.calls.probes.is_busy(contact, LegId::CALLER)
            {
                let req = d.request(Method::Options, &local, &mut self.ids);
                requests.push((LegId::CALLER, req, d.peer));
            }
        }
        for (leg, uac) in ctx.legs.iter_mut() {
            let Some(d) = uac.dialog.as_mut() else {
                continue;
            };
            if probed(leg.kind, d.peer.transport) && !self.calls.probes.is_busy(contact, *leg) {
                let req = d.request(Method::Options, &uac.local, &mut self.ids);
                requests.push((*leg, req, d.peer));
            }
        }
        for (leg, req, peer) in requests {
            match self.txn.send_request(now, req, peer) {
                Ok(key) => self.calls.probes.start(key, contact, leg),
                Err(e) => tracing::debug!(%contact, ?leg, error = %e, "probe not sent"),
            }
        }
    }

    /// A response to one of our probes; false if `key` is not a probe.
    pub(super) fn on_probe_response(
        &mut self,
        now: Instant,
        wall_ms: u64,
        key: &TxKey,
        resp: &Response,
    ) -> bool {
        if !self.calls.probes.owns(key) {
            return false;
        }
        if !resp.is_final() {
            return true;
        }
        if let Some((contact, leg)) = self.calls.probes.finish(key) {
            if is_dead(resp.code) {
                self.leg_lost(now, wall_ms, contact, leg, resp.code);
            }
        }
        true
    }

    /// Timer F or a transport failure on a probe: the leg is lost.
    pub(super) fn on_probe_failure(
        &mut self,
        now: Instant,
        wall_ms: u64,
        key: &TxKey,
        code: u16,
    ) -> bool {
        let Some((contact, leg)) = self.calls.probes.finish(key) else {
            return false;
        };
        self.leg_lost(now, wall_ms, contact, leg, code);
        true
    }

    fn leg_lost(&mut self, now: Instant, wall_ms: u64, contact: ContactId, leg: LegId, code: u16) {
        let Some(ctx) = self.calls.calls.get(&contact) else {
            return;
        };
        let dialog = if leg == LegId::CALLER {
            ctx.caller.dialog.as_ref()
        } else {
            ctx.legs.get(&leg).and_then(|l| l.dialog.as_ref())
        };
        if let Some(id) = dialog.map(|d| d.id.clone()) {
            self.calls.by_dialog.remove(&id);
        }
        tracing::info!(%contact, ?leg, code, "leg lost: probe failed");
        self.feed(now, wall_ms, contact, CallInput::LegLost { leg });
    }
}

#[cfg(test)]
mod tests;
