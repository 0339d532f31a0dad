//! One agent (a seat): the agent's chosen *status* kept apart from the
//! system's *state*, as the trade does it (mission "Agents sign in with any
//! phone"; DESIGN.md on mod_callcenter). The device is whatever the agent
//! named at sign-in; the phone is never wired into the ACD.

use super::config::Capacity;
use super::types::{AgentId, Channel, ContactId, Skill};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// What the agent chose. `LoggedOut` while a call is still up means the
/// sign-out is pending: it takes effect when the agent is next Idle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AgentStatus {
    LoggedOut,
    Available,
    NotReady { reason: String },
}

/// What the system is doing with the agent's call (voice or video); text
/// contacts (chat, email, SMS) do not move it: they show in [`Agent::load`].
///
/// ```text
///  Idle --DivertCall--> Reserved --AgentRinging--> Ringing
///   ^                      |  \__________AgentAnswered____|___> InCall
///   |<--reject/no-answer---+--------------------------<---+       |
///   |<--ConnectionCleared (never answered)                        |
///   |<------------- WrapUp <------- ConnectionCleared ------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentState {
    Idle,
    Reserved { contact: ContactId },
    Ringing { contact: ContactId },
    InCall { contact: ContactId },
    WrapUp,
}

/// A signed-in agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    /// The URI the SoftACD rings for this agent.
    pub device: String,
    /// Skill → level (higher is better).
    pub skills: BTreeMap<Skill, u8>,
    pub status: AgentStatus,
    pub state: AgentState,
    /// When the agent last became Idle; longest-idle routing picks the oldest.
    pub idle_since: Instant,
    /// Set while in WrapUp.
    pub wrap_up_until: Option<Instant>,
    /// Consecutive rejected or unanswered offers.
    pub missed: u32,
    /// Contacts answered since signing in (the fewest-contacts strategy).
    pub handled: u64,
    /// Every contact the agent holds (offered or connected), by channel;
    /// a call among them is also the one `state` names.
    pub held: BTreeMap<ContactId, Channel>,
}

impl Agent {
    pub(crate) fn new(
        id: AgentId,
        device: String,
        skills: BTreeMap<Skill, u8>,
        now: Instant,
    ) -> Self {
        Agent {
            id,
            device,
            skills,
            status: AgentStatus::Available,
            state: AgentState::Idle,
            idle_since: now,
            wrap_up_until: None,
            missed: 0,
            handled: 0,
            held: BTreeMap::new(),
        }
    }

    /// Available and Idle: a contact may be offered now.
    pub fn is_free(&self) -> bool {
        self.status == AgentStatus::Available && self.state == AgentState::Idle
    }

    /// Holds every required skill at least at the required level.
    pub fn has_skills(&self, required: &BTreeMap<Skill, u8>) -> bool {
        required
            .iter()
            .all(|(skill, min)| self.skills.get(skill).is_some_and(|lvl| lvl >= min))
    }

    /// Contacts held per channel (channels holding none left out).
    pub fn load(&self) -> BTreeMap<Channel, u32> {
        let mut load = BTreeMap::new();
        for ch in self.held.values() {
            *load.entry(*ch).or_insert(0u32) += 1;
        }
        load
    }

    fn holds(&self, pred: impl Fn(Channel) -> bool) -> usize {
        self.held.values().filter(|c| pred(**c)).count()
    }

    /// A contact of `channel` may be offered now: Available, spare capacity
    /// on the channel; a call only when Idle (and, unless `mixed`, holding no
    /// text contact); a text contact only outside wrap-up and (unless
    /// `mixed`) outside a call.
    pub fn can_take(&self, channel: Channel, cap: &Capacity, mixed: bool) -> bool {
        if self.status != AgentStatus::Available {
            return false;
        }
        let spare = (self.holds(|c| c == channel) as u64) < u64::from(cap.of(channel));
        if channel.is_call() {
            let text = self.holds(|c| !c.is_call());
            return spare && self.state == AgentState::Idle && (mixed || text == 0);
        }
        let calm = match self.state {
            AgentState::Idle => true,
            AgentState::WrapUp => false,
            _ => mixed,
        };
        spare && calm
    }

    /// The contact the agent is reserved for, ringing for or talking to.
    pub fn contact(&self) -> Option<ContactId> {
        match self.state {
            AgentState::Reserved { contact }
            | AgentState::Ringing { contact }
            | AgentState::InCall { contact } => Some(contact),
            AgentState::Idle | AgentState::WrapUp => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(skills: &[(&str, u8)]) -> Agent {
        let skills = skills.iter().map(|(s, l)| (Skill::from(*s), *l)).collect();
        Agent::new(AgentId::from("a"), "sip:a@x".into(), skills, Instant::now())
    }

    #[test]
    fn has_skills_needs_every_skill_at_level() {
        let a = agent(&[("sales", 3), ("fr", 1)]);
        let want = |v: &[(&str, u8)]| v.iter().map(|(s, l)| (Skill::from(*s), *l)).collect();
        assert!(a.has_skills(&want(&[])));
        assert!(a.has_skills(&want(&[("sales", 3)])));
        assert!(a.has_skills(&want(&[("sales", 2), ("fr", 1)])));
        assert!(!a.has_skills(&want(&[("sales", 4)])));
        assert!(!a.has_skills(&want(&[("sales", 1), ("de", 0)])));
    }

    #[test]
    fn free_means_available_and_idle() {
        let mut a = agent(&[]);
        assert!(a.is_free());
        a.status = AgentStatus::NotReady {
            reason: "break".into(),
        };
        assert!(!a.is_free());
        a.status = AgentStatus::Available;
        a.state = AgentState::WrapUp;
        assert!(!a.is_free());
        a.state = AgentState::Ringing {
            contact: ContactId(1),
        };
        assert_eq!(a.contact(), Some(ContactId(1)));
    }
}
