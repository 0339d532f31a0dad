//! Agents on the engine side (the Huawei CTI-middleware seed; MISSION.md
//! "Agents sign in with any phone"): desk commands from the HTTP API
//! (interface A) become CTI inputs, and seats with `auto_ready` are signed in
//! on the contact they register and signed out when their last binding goes.

use super::engine::Engine;
use crate::cti::{AgentId, AgentState, AgentStatus, Input, Output as CtiOutput, Skill};
use crate::http::{AgentError, AgentOp, AgentView};
use std::collections::BTreeMap;
use std::time::Instant;

impl Engine {
    /// One desk command; answers with the agent's view or why not.
    pub fn agent_command(
        &mut self,
        now: Instant,
        wall_ms: u64,
        agent: &str,
        op: AgentOp,
    ) -> Result<AgentView, AgentError> {
        let Some(seat) = self.cfg.seats.get(agent).cloned() else {
            return Err(AgentError::NotFound);
        };
        let id = AgentId(agent.to_string());
        let input = match op {
            AgentOp::SignIn { device, skills } => {
                let device = match device {
                    Some(d) if !is_sip_uri(&d) => Some(self.seat_device(&d)?),
                    other => other,
                };
                let device = match device.or_else(|| self.registered_device(agent)) {
                    Some(d) => d,
                    None => {
                        return Err(AgentError::Invalid(format!(
                            "seat {agent} has no registered phone: register one or name a device"
                        )))
                    }
                };
                self.auto_signed.remove(agent);
                let skills = skills.unwrap_or(seat.skills);
                Input::SignIn {
                    agent: id.clone(),
                    device,
                    skills: skills_of(&skills),
                }
            }
            AgentOp::SignOut => {
                self.auto_signed.remove(agent);
                Input::SignOut { agent: id.clone() }
            }
            AgentOp::Ready => Input::SetReady { agent: id.clone() },
            AgentOp::NotReady { reason } => Input::SetNotReady {
                agent: id.clone(),
                reason,
            },
            AgentOp::Status => return Ok(self.agent_view(&id)),
            AgentOp::WrapUpDone => Input::WrapUpDone { agent: id.clone() },
            AgentOp::HangUp => return self.agent_hang_up(now, wall_ms, &id),
            AgentOp::Hold { hold } => return self.agent_hold(now, wall_ms, &id, hold),
            AgentOp::Transfer { to } => Input::Transfer {
                agent: id.clone(),
                to,
            },
        };
        let sign_in = matches!(input, Input::SignIn { .. });
        let outputs = self.cti.handle(now, input);
        if let Some(CtiOutput::Refused { error }) = outputs
            .iter()
            .find(|o| matches!(o, CtiOutput::Refused { .. }))
        {
            return Err(AgentError::from(error.clone()));
        }
        let silent = outputs.is_empty();
        self.route_cti_outputs(now, wall_ms, outputs);
        if sign_in && silent {
            self.journal_agent(wall_ms, &id);
        }
        Ok(self.agent_view(&id))
    }

    /// The desk's hang up: end the agent's contact (ringing or talking).
    fn agent_hang_up(
        &mut self,
        now: Instant,
        wall_ms: u64,
        id: &AgentId,
    ) -> Result<AgentView, AgentError> {
        let contact = self
            .cti
            .agent(id)
            .and_then(|a| a.contact())
            .ok_or_else(|| AgentError::Conflict(format!("{} has no contact to hang up", id.0)))?;
        if !self.desk_hang_up(now, wall_ms, contact) {
            return Err(AgentError::Conflict(format!(
                "{contact} is not a live call"
            )));
        }
        Ok(self.agent_view(id))
    }

    /// The desk's hold (`hold`) or retrieve: refused unless the agent is
    /// talking and the call's hold state changed.
    fn agent_hold(
        &mut self,
        now: Instant,
        wall_ms: u64,
        id: &AgentId,
        hold: bool,
    ) -> Result<AgentView, AgentError> {
        let contact = match self.cti.agent(id).map(|a| a.state.clone()) {
            Some(AgentState::InCall { contact }) => contact,
            _ => return Err(AgentError::Conflict(format!("{} is not in a call", id.0))),
        };
        if !self.desk_hold(now, wall_ms, contact, hold) {
            let what = if hold {
                "cannot be held"
            } else {
                "is not held"
            };
            return Err(AgentError::Conflict(format!("{contact} {what}")));
        }
        Ok(self.agent_view(id))
    }

    /// A device named as a seat (`1002`): that seat's registered phone.
    fn seat_device(&self, seat: &str) -> Result<String, AgentError> {
        if !self.cfg.seats.contains_key(seat) {
            return Err(AgentError::Invalid(format!(
                "device {seat:?} is neither a sip: URI nor a seat"
            )));
        }
        self.registered_device(seat)
            .ok_or_else(|| AgentError::Invalid(format!("seat {seat} has no registered phone")))
    }

    /// The agent as the desk sees it; a signed-out agent has no CTI entry.
    pub fn agent_view(&self, id: &AgentId) -> AgentView {
        match self.cti.agent(id) {
            Some(a) => {
                let mut view = AgentView::from(a);
                view.contact = a.contact().and_then(|c| self.contact_card(c));
                view
            }
            None => AgentView {
                id: id.0.clone(),
                status: AgentStatus::LoggedOut,
                state: AgentState::Idle,
                device: String::new(),
                skills: BTreeMap::new(),
                contact: None,
                load: BTreeMap::new(),
            },
        }
    }

    /// Every queue's live figures (for `GET /api/queues`).
    pub fn queue_views(&self, now: Instant) -> Vec<crate::http::QueueView> {
        let stats = self.cti.queue_stats(now);
        stats.iter().map(crate::http::QueueView::from).collect()
    }

    /// Every queue's last hour by minute (for `GET /api/stats/history`).
    pub fn stats_history(&self, now: Instant, wall_ms: u64) -> Vec<crate::http::QueueHistoryView> {
        let history = self.cti.stats_history(now, crate::cti::WINDOW_MINUTES);
        history
            .iter()
            .map(|h| crate::http::QueueHistoryView::new(h, now, wall_ms))
            .collect()
    }

    /// Every seat, signed in or not (for `GET /api/agents`).
    pub fn agent_views(&self) -> Vec<AgentView> {
        self.cfg
            .seats
            .keys()
            .map(|s| self.agent_view(&AgentId(s.clone())))
            .collect()
    }

    /// Sign auto-ready seats in on their registered contact, follow contact
    /// changes, and sign them out when their last binding is gone.
    pub fn sync_auto_ready(&mut self, now: Instant, wall_ms: u64) {
        let seats: Vec<(String, BTreeMap<String, u8>)> = self
            .cfg
            .seats
            .iter()
            .filter(|(_, p)| p.auto_ready)
            .map(|(s, p)| (s.clone(), p.skills.clone()))
            .collect();
        for (user, skills) in seats {
            let id = AgentId(user.clone());
            let device = self.registered_device(&user);
            let signed_in = self.cti.agent(&id);
            let input = match (device, signed_in) {
                (Some(device), None) => Some(Input::SignIn {
                    agent: id,
                    device,
                    skills: skills_of(&skills),
                }),
                (Some(device), Some(a))
                    if self.auto_signed.contains(&user) && a.device != device =>
                {
                    Some(Input::SignIn {
                        agent: id,
                        device,
                        skills: skills_of(&skills),
                    })
                }
                (None, Some(_)) if self.auto_signed.contains(&user) => {
                    self.auto_signed.remove(&user);
                    Some(Input::SignOut { agent: id })
                }
                _ => None,
            };
            let Some(input) = input else { continue };
            if matches!(input, Input::SignIn { .. }) {
                self.auto_signed.insert(user.clone());
            }
            tracing::info!(seat = %user, ?input, "auto-ready seat");
            let sign_in = matches!(input, Input::SignIn { .. });
            let outputs = self.cti.handle(now, input);
            let silent = outputs.is_empty();
            self.route_cti_outputs(now, wall_ms, outputs);
            if sign_in && silent {
                self.journal_agent(wall_ms, &AgentId(user.clone()));
            }
        }
    }

    /// The best registered contact of a seat, if any.
    fn registered_device(&self, user: &str) -> Option<String> {
        self.registrar
            .lookup(user)
            .first()
            .map(|b| b.contact.clone())
    }
}

fn is_sip_uri(device: &str) -> bool {
    let lower = device.to_ascii_lowercase();
    lower.starts_with("sip:") || lower.starts_with("sips:")
}

fn skills_of(skills: &BTreeMap<String, u8>) -> BTreeMap<Skill, u8> {
    skills.iter().map(|(s, l)| (Skill(s.clone()), *l)).collect()
}
