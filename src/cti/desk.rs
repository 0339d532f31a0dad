//! Agent desktop inputs (interface A of the mission): sign in naming any
//! device, sign out, ready / not ready, and the agent state transitions the
//! other rules share (to Idle, into and out of wrap-up). Every change of an
//! agent's status or state emits [`Output::AgentStateChanged`].

use super::agent::{Agent, AgentState, AgentStatus};
use super::config::SKILL_LEVELS;
use super::error::{check_len, check_text, CtiError};
use super::events::Output;
use super::timers::Timer;
use super::types::{AgentId, Skill};
use super::Cti;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

impl Cti {
    pub(super) fn sign_in(
        &mut self,
        now: Instant,
        agent: AgentId,
        device: String,
        skills: BTreeMap<Skill, u8>,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        const IN: &str = "SignIn";
        check_text(IN, "agent", &agent.0, self.cfg.max_text)?;
        check_text(IN, "device", &device, self.cfg.max_text)?;
        self.check_skills(IN, &skills)?;
        if let Some((skill, level)) = skills.iter().find(|(_, l)| !SKILL_LEVELS.contains(l)) {
            return Err(CtiError::SkillLevel {
                input: IN,
                skill: skill.0.clone(),
                level: *level,
            });
        }
        if self.agents.contains_key(&agent) {
            self.update_agent(&agent, out, |a| {
                a.device = device;
                a.skills = skills;
                if a.status == AgentStatus::LoggedOut {
                    a.status = AgentStatus::Available;
                }
            });
            return Ok(());
        }
        if self.agents.len() >= self.cfg.max_agents {
            return Err(CtiError::TooManyAgents {
                input: IN,
                limit: self.cfg.max_agents,
            });
        }
        let a = Agent::new(agent.clone(), device, skills, now);
        push_state(out, &a);
        self.agents.insert(agent.clone(), a);
        self.reindex(&agent);
        Ok(())
    }

    /// Immediate when holding no contact; otherwise the status turns
    /// LoggedOut and the agent leaves once its last contact is over.
    pub(super) fn sign_out(
        &mut self,
        now: Instant,
        agent: &AgentId,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        let a = self.agent_ref("SignOut", agent)?;
        if !a.held.is_empty() {
            self.update_agent(agent, out, |a| a.status = AgentStatus::LoggedOut);
            return Ok(());
        }
        if let Some(a) = self.agents.get_mut(agent) {
            a.status = AgentStatus::LoggedOut;
        }
        self.reindex(agent);
        self.agent_idle(now, agent, out);
        Ok(())
    }

    pub(super) fn set_ready(
        &mut self,
        agent: &AgentId,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        self.agent_ref("SetReady", agent)?;
        self.update_agent(agent, out, |a| {
            a.status = AgentStatus::Available;
            a.missed = 0;
        });
        Ok(())
    }

    pub(super) fn set_not_ready(
        &mut self,
        agent: &AgentId,
        reason: String,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        const IN: &str = "SetNotReady";
        check_text(IN, "reason", &reason, self.cfg.max_text)?;
        self.agent_ref(IN, agent)?;
        self.update_agent(agent, out, |a| a.status = AgentStatus::NotReady { reason });
        Ok(())
    }

    /// The desk ends wrap-up early; refused unless the agent is in wrap-up.
    pub(super) fn wrap_up_done(
        &mut self,
        now: Instant,
        agent: &AgentId,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        const IN: &str = "WrapUpDone";
        let a = self.agent_ref(IN, agent)?;
        if a.state != AgentState::WrapUp {
            return Err(CtiError::NotInWrapUp {
                input: IN,
                agent: agent.clone(),
            });
        }
        self.agent_idle(now, agent, out);
        Ok(())
    }

    pub(super) fn check_skills(
        &self,
        input: &'static str,
        skills: &BTreeMap<Skill, u8>,
    ) -> Result<(), CtiError> {
        check_len(input, "skills", skills.len(), self.cfg.max_skills)?;
        skills
            .keys()
            .try_for_each(|s| check_text(input, "skill", &s.0, self.cfg.max_text))
    }

    fn agent_ref(&self, input: &'static str, agent: &AgentId) -> Result<&Agent, CtiError> {
        self.agents
            .get(agent)
            .ok_or_else(|| CtiError::UnknownAgent {
                input,
                agent: agent.clone(),
            })
    }

    /// Applies `change` and emits AgentStateChanged if status or state moved.
    pub(super) fn update_agent(
        &mut self,
        agent: &AgentId,
        out: &mut Vec<Output>,
        change: impl FnOnce(&mut Agent),
    ) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        let (status, state) = (a.status.clone(), a.state.clone());
        change(a);
        if a.status != status || a.state != state {
            push_state(out, a);
        }
        self.reindex(agent);
    }

    /// Re-files the agent in the routing index after a change.
    pub(super) fn reindex(&mut self, agent: &AgentId) {
        let (cap, mixed) = (&self.cfg.capacity, self.cfg.chat_during_voice);
        self.index
            .sync_agent(agent, self.agents.get(agent), cap, mixed);
    }

    /// The agent's call (or wrap-up) is over: Idle, or gone if signed out
    /// and holding no other contact.
    pub(super) fn agent_idle(&mut self, now: Instant, agent: &AgentId, out: &mut Vec<Output>) {
        self.timers.cancel(&Timer::WrapUp(agent.clone()));
        let signed_out = self
            .agents
            .get(agent)
            .is_some_and(|a| a.status == AgentStatus::LoggedOut && a.held.is_empty());
        if signed_out {
            if let Some(mut a) = self.agents.remove(agent) {
                a.state = AgentState::Idle;
                push_state(out, &a);
            }
            self.reindex(agent);
            return;
        }
        self.update_agent(agent, out, |a| {
            a.state = AgentState::Idle;
            a.idle_since = now;
            a.wrap_up_until = None;
        });
    }

    /// After a call: wrap-up for `wrap_up`, or Idle at once if it is zero or
    /// the agent has signed out meanwhile.
    pub(super) fn start_wrap_up(
        &mut self,
        now: Instant,
        agent: &AgentId,
        wrap_up: Duration,
        out: &mut Vec<Output>,
    ) {
        let signed_out = self
            .agents
            .get(agent)
            .is_some_and(|a| a.status == AgentStatus::LoggedOut);
        if wrap_up.is_zero() || signed_out {
            self.agent_idle(now, agent, out);
            return;
        }
        let until = now + wrap_up;
        self.timers.set(Timer::WrapUp(agent.clone()), until);
        self.update_agent(agent, out, |a| {
            a.state = AgentState::WrapUp;
            a.wrap_up_until = Some(until);
        });
    }

    /// A text contact (chat, email, SMS) left the agent: a signed-out agent
    /// holding nothing more leaves now, even from wrap-up (as a call's
    /// wrap-up is skipped for an agent who signed out).
    pub(super) fn text_released(&mut self, now: Instant, agent: &AgentId, out: &mut Vec<Output>) {
        let gone = self
            .agents
            .get(agent)
            .is_some_and(|a| a.status == AgentStatus::LoggedOut && a.held.is_empty());
        if gone {
            self.agent_idle(now, agent, out);
        }
    }

    /// The wrap-up timer fired.
    pub(super) fn wrap_up_over(&mut self, now: Instant, agent: &AgentId, out: &mut Vec<Output>) {
        let in_wrap_up = self
            .agents
            .get(agent)
            .is_some_and(|a| a.state == AgentState::WrapUp);
        if in_wrap_up {
            self.agent_idle(now, agent, out);
        }
    }
}

fn push_state(out: &mut Vec<Output>, a: &Agent) {
    out.push(Output::AgentStateChanged {
        agent: a.id.clone(),
        status: a.status.clone(),
        state: a.state.clone(),
    });
}
