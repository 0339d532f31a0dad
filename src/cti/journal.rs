//! The CTI journal's vocabulary and its replay (issue 6 "self-healing"):
//! every agent-level and contact-level transition as an [`Entry`], and
//! [`Replay`], the pure fold that rebuilds agents and the contacts still
//! open from a journal read back in sequence order. Nothing here touches
//! SQLite or a clock: the shell (`crate::journal`) stores the entries with
//! their wall time and hands them back; `now` for the rebuilt agents is an
//! argument.
//!
//! What we journal are *transitions*, not the CTI's inputs: an agent entry
//! is the whole agent after the change (device, skills, status, state), so
//! replay is "last entry wins" and does not depend on re-running routing
//! with recorded times. Restore policy (ARCHITECTURE.md "CTI journal"):
//! a contact cannot survive a restart of the B2BUA, so every rebuilt agent
//! comes back Idle with its chosen status (available, or not ready with its
//! reason); an agent whose sign-out was pending is signed out; wrap-up is
//! not resumed.

use super::agent::{Agent, AgentState, AgentStatus};
use super::events::{ClearCause, Input, Output};
use super::types::{AgentId, Media, Skill};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most open contacts the fold keeps (the CTI's own bound is lower); past
/// it the oldest is forgotten, so a corrupt journal cannot grow memory.
pub const MAX_OPEN: usize = 20_000;
/// Most agents the fold keeps.
pub const MAX_AGENTS: usize = 20_000;

/// An agent's chosen status, as journaled (mirrors [`AgentStatus`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StatusRecord {
    LoggedOut,
    Available,
    NotReady { reason: String },
}

impl From<&AgentStatus> for StatusRecord {
    fn from(s: &AgentStatus) -> Self {
        match s {
            AgentStatus::LoggedOut => StatusRecord::LoggedOut,
            AgentStatus::Available => StatusRecord::Available,
            AgentStatus::NotReady { reason } => StatusRecord::NotReady {
                reason: reason.clone(),
            },
        }
    }
}

/// One agent after a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub agent: String,
    pub device: String,
    pub skills: BTreeMap<String, u8>,
    pub status: StatusRecord,
    /// `idle`, `reserved`, `ringing`, `in_call` or `wrap_up`.
    pub state: String,
    /// The contact the agent is reserved for, ringing for or talking to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<u64>,
    /// Signed in by its phone registering (`auto_ready`), not by the desk.
    #[serde(default)]
    pub auto: bool,
}

impl AgentRecord {
    /// The record of `a` as it is now (`status`/`state` from the output
    /// that reported the change, so a batch of outputs keeps its order).
    pub fn of(a: &Agent, status: &AgentStatus, state: &AgentState, auto: bool) -> Self {
        AgentRecord {
            agent: a.id.0.clone(),
            device: a.device.clone(),
            skills: a.skills.iter().map(|(s, l)| (s.0.clone(), *l)).collect(),
            status: status.into(),
            state: state_name(state).to_owned(),
            contact: contact_of(state),
            auto,
        }
    }
}

fn state_name(s: &AgentState) -> &'static str {
    match s {
        AgentState::Idle => "idle",
        AgentState::Reserved { .. } => "reserved",
        AgentState::Ringing { .. } => "ringing",
        AgentState::InCall { .. } => "in_call",
        AgentState::WrapUp => "wrap_up",
    }
}

fn contact_of(s: &AgentState) -> Option<u64> {
    match s {
        AgentState::Reserved { contact }
        | AgentState::Ringing { contact }
        | AgentState::InCall { contact } => Some(contact.0),
        AgentState::Idle | AgentState::WrapUp => None,
    }
}

/// A contact still open at the last entry: what its CDR needs if the
/// process died under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OpenContact {
    pub contact: u64,
    pub arrived_ms: u64,
    pub caller: String,
    pub dnis: String,
    pub media: String,
    /// The carrier trunk it came in on (`[[trunk]]`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
    pub queue: Option<String>,
    pub queued_ms: Option<u64>,
    pub agent: Option<String>,
    pub answered_ms: Option<u64>,
}

/// One journal entry. Serialized with a `kind` tag (the `kind` column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// Signed in, status or state changed, device or skills changed.
    Agent(AgentRecord),
    /// Signed out (no longer in the CTI).
    AgentSignedOut { agent: String },
    /// A contact entered routing (RouteRequest).
    ContactArrived {
        contact: u64,
        caller: String,
        dnis: String,
        media: String,
        /// Absent in entries of calls not from a trunk (and in older files).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trunk: Option<String>,
    },
    /// Queued for an agent (RequestAgent accepted, or back after a failed offer).
    ContactQueued { contact: u64, queue: String },
    /// Left its queue without an agent (LeaveQueue, queue timeout).
    ContactDequeued { contact: u64 },
    /// DivertCall: the agent is reserved for it and its phone is rung.
    ContactDiverted { contact: u64, agent: String },
    /// The agent answered.
    ContactAnswered { contact: u64, agent: String },
    /// The offer failed (rejected, not answered, ring timeout): back in line.
    ContactRequeued { contact: u64 },
    /// The contact is gone (ConnectionCleared), with the cause.
    ContactCleared { contact: u64, cause: String },
    /// Compaction: the whole state at this point; older rows are deleted.
    Snapshot {
        agents: Vec<AgentRecord>,
        open: Vec<OpenContact>,
        max_contact: u64,
    },
    /// The process started again; these contacts were closed with cause
    /// `server_restart`.
    Restarted { closed: Vec<u64> },
}

impl Entry {
    /// The `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Agent(_) => "agent",
            Entry::AgentSignedOut { .. } => "agent_signed_out",
            Entry::ContactArrived { .. } => "contact_arrived",
            Entry::ContactQueued { .. } => "contact_queued",
            Entry::ContactDequeued { .. } => "contact_dequeued",
            Entry::ContactDiverted { .. } => "contact_diverted",
            Entry::ContactAnswered { .. } => "contact_answered",
            Entry::ContactRequeued { .. } => "contact_requeued",
            Entry::ContactCleared { .. } => "contact_cleared",
            Entry::Snapshot { .. } => "snapshot",
            Entry::Restarted { .. } => "restarted",
        }
    }

    /// The contact-level entry an input to the CTI stands for, if any.
    pub fn of_input(input: &Input) -> Option<Entry> {
        match input {
            Input::RouteRequest {
                contact,
                dnis,
                caller,
                media,
                trunk,
            } => Some(Entry::ContactArrived {
                contact: contact.0,
                caller: caller.clone(),
                dnis: dnis.clone(),
                media: media_name(*media).to_owned(),
                trunk: trunk.clone(),
            }),
            Input::RequestAgent { contact, queue, .. } => Some(Entry::ContactQueued {
                contact: contact.0,
                queue: queue.0.clone(),
            }),
            Input::LeaveQueue { contact } => Some(Entry::ContactDequeued { contact: contact.0 }),
            Input::AgentRejected { contact } | Input::AgentNoAnswer { contact } => {
                Some(Entry::ContactRequeued { contact: contact.0 })
            }
            Input::ConnectionCleared { contact, cause } => Some(Entry::ContactCleared {
                contact: contact.0,
                cause: cause_name(*cause),
            }),
            _ => None,
        }
    }

    /// The contact-level entry a CTI output stands for, if any.
    pub fn of_output(output: &Output) -> Option<Entry> {
        match output {
            Output::DivertCall { contact, agent, .. } => Some(Entry::ContactDiverted {
                contact: contact.0,
                agent: agent.0.clone(),
            }),
            Output::Established { contact, agent } => Some(Entry::ContactAnswered {
                contact: contact.0,
                agent: agent.0.clone(),
            }),
            Output::CancelDivert { contact, .. } => {
                Some(Entry::ContactRequeued { contact: contact.0 })
            }
            Output::QueueTimeout { contact, .. }
            | Output::QueueFull { contact, .. }
            | Output::NoAgents { contact, .. } => {
                Some(Entry::ContactDequeued { contact: contact.0 })
            }
            _ => None,
        }
    }
}

fn media_name(m: Media) -> &'static str {
    match m {
        Media::Audio => "audio",
        Media::Video => "video",
    }
}

fn cause_name(c: ClearCause) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{c:?}"))
}

/// The fold over the journal: agents by id, open contacts by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    agents: BTreeMap<String, AgentRecord>,
    open: BTreeMap<u64, OpenContact>,
    max_contact: u64,
}

/// What a restart does with the fold: inputs that sign the agents in again
/// (in order), the seats signed in by their phone, and the contacts to close.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Restore {
    pub inputs: Vec<Input>,
    pub auto: Vec<String>,
    pub interrupted: Vec<OpenContact>,
}

impl Replay {
    /// Applies one entry written at `at_ms` (unix ms).
    pub fn apply(&mut self, at_ms: u64, entry: &Entry) {
        match entry {
            Entry::Agent(rec) => self.put_agent(rec.clone()),
            Entry::AgentSignedOut { agent } => {
                self.agents.remove(agent);
            }
            Entry::Snapshot {
                agents,
                open,
                max_contact,
            } => {
                *self = Replay::default();
                self.max_contact = *max_contact;
                agents.iter().for_each(|a| self.put_agent(a.clone()));
                open.iter().for_each(|c| self.put_open(c.clone()));
            }
            Entry::Restarted { .. } => self.open.clear(),
            _ => self.apply_contact(at_ms, entry),
        }
    }

    fn apply_contact(&mut self, at_ms: u64, entry: &Entry) {
        match entry {
            Entry::ContactArrived {
                contact,
                caller,
                dnis,
                media,
                trunk,
            } => self.put_open(OpenContact {
                contact: *contact,
                arrived_ms: at_ms,
                caller: caller.clone(),
                dnis: dnis.clone(),
                media: media.clone(),
                trunk: trunk.clone(),
                ..OpenContact::default()
            }),
            Entry::ContactQueued { contact, queue } => self.with_open(*contact, |c| {
                c.queue = Some(queue.clone());
                c.queued_ms.get_or_insert(at_ms);
            }),
            Entry::ContactDiverted { contact, agent } => {
                self.with_open(*contact, |c| c.agent = Some(agent.clone()))
            }
            Entry::ContactRequeued { contact } => self.with_open(*contact, |c| c.agent = None),
            Entry::ContactAnswered { contact, agent } => self.with_open(*contact, |c| {
                c.agent = Some(agent.clone());
                c.answered_ms = Some(at_ms);
            }),
            Entry::ContactCleared { contact, .. } => {
                self.open.remove(contact);
            }
            _ => {}
        }
    }

    fn put_agent(&mut self, rec: AgentRecord) {
        if self.agents.len() >= MAX_AGENTS && !self.agents.contains_key(&rec.agent) {
            return;
        }
        self.agents.insert(rec.agent.clone(), rec);
    }

    fn put_open(&mut self, c: OpenContact) {
        self.max_contact = self.max_contact.max(c.contact);
        while self.open.len() >= MAX_OPEN {
            self.open.pop_first();
        }
        self.open.insert(c.contact, c);
    }

    fn with_open(&mut self, contact: u64, f: impl FnOnce(&mut OpenContact)) {
        self.max_contact = self.max_contact.max(contact);
        if let Some(c) = self.open.get_mut(&contact) {
            f(c);
        }
    }

    pub fn agents(&self) -> impl Iterator<Item = &AgentRecord> {
        self.agents.values()
    }

    pub fn open_contacts(&self) -> impl Iterator<Item = &OpenContact> {
        self.open.values()
    }

    /// The highest contact id the journal names (new ids go above it).
    pub fn max_contact(&self) -> u64 {
        self.max_contact
    }

    /// The compaction entry for the state so far.
    pub fn snapshot(&self) -> Entry {
        Entry::Snapshot {
            agents: self.agents.values().cloned().collect(),
            open: self.open.values().cloned().collect(),
            max_contact: self.max_contact,
        }
    }

    /// What a restart does (module doc): agents of `keep` (the configured
    /// seats) that were signed in come back Idle with their status; a
    /// pending sign-out (status logged out) is carried out; every open
    /// contact is interrupted.
    pub fn restore(&self, keep: impl Fn(&str) -> bool) -> Restore {
        let mut r = Restore::default();
        for a in self.agents.values().filter(|a| keep(&a.agent)) {
            if a.status == StatusRecord::LoggedOut {
                continue;
            }
            let agent = AgentId(a.agent.clone());
            r.inputs.push(Input::SignIn {
                agent: agent.clone(),
                device: a.device.clone(),
                skills: a
                    .skills
                    .iter()
                    .map(|(s, l)| (Skill(s.clone()), *l))
                    .collect(),
            });
            if let StatusRecord::NotReady { reason } = &a.status {
                r.inputs.push(Input::SetNotReady {
                    agent,
                    reason: reason.clone(),
                });
            }
            if a.auto {
                r.auto.push(a.agent.clone());
            }
        }
        r.interrupted = self.open.values().cloned().collect();
        r
    }
}

#[cfg(test)]
mod tests;
