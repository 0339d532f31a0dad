//! One desk connection's state, without IO: which agent signed in on it,
//! which event-stream messages concern that agent, and what to tell the
//! desktop when the agent's view changes (an `agent` update always, an
//! `offer` popup once per new contact). The shell in `mod.rs` feeds it the
//! bus's JSON and the engine's [`AgentView`]s.

use super::protocol::message;
use crate::cti::AgentState;
use crate::http::AgentView;
use serde_json::{json, Value};

/// What one connection knows.
#[derive(Debug, Default)]
pub struct DeskSession {
    agent: Option<String>,
    /// The contact last offered (popup shown), so it is offered once.
    offered: Option<u64>,
    /// The contact the agent last talked with: the one a disposition is for.
    last_call: Option<u64>,
}

impl DeskSession {
    pub fn agent(&self) -> Option<&str> {
        self.agent.as_deref()
    }

    pub fn sign_in(&mut self, agent: &str) {
        if self.agent.as_deref() != Some(agent) {
            *self = DeskSession::default();
        }
        self.agent = Some(agent.to_string());
    }

    pub fn sign_out(&mut self) {
        *self = DeskSession::default();
    }

    /// The contact a disposition may name without a history look-up.
    pub fn last_call(&self) -> Option<u64> {
        self.last_call
    }

    /// True when an event-stream message is about this connection's agent
    /// (its state changed, or one of its contacts): the shell then asks the
    /// engine for a fresh view.
    pub fn concerns_me(&self, event: &str) -> bool {
        let Some(me) = &self.agent else {
            return false;
        };
        let Ok(v) = serde_json::from_str::<Value>(event) else {
            return false;
        };
        match v.get("event").and_then(Value::as_str) {
            Some("AgentStateChanged") | Some("DivertCall") | Some("Established") => {
                v.get("agent").and_then(Value::as_str) == Some(me.as_str())
            }
            Some("lagged") => true,
            _ => false,
        }
    }

    /// The messages a fresh view of the agent calls for.
    pub fn on_view(&mut self, view: &AgentView) -> Vec<String> {
        let mut out = vec![message("agent", None, json!({ "agent": view }))];
        let contact = match &view.state {
            AgentState::Reserved { contact }
            | AgentState::Ringing { contact }
            | AgentState::InCall { contact } => Some(contact.0),
            AgentState::Idle | AgentState::WrapUp => None,
        };
        if matches!(view.state, AgentState::InCall { .. }) {
            self.last_call = contact;
        }
        if let (Some(c), Some(card)) = (contact, &view.contact) {
            if self.offered != Some(c) {
                self.offered = Some(c);
                out.push(message("offer", None, json!({ "contact": card })));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cti::{AgentStatus, ContactId};
    use crate::http::ContactCard;
    use std::collections::BTreeMap;

    fn view(state: AgentState, card: bool) -> AgentView {
        let contact = match &state {
            AgentState::Reserved { contact }
            | AgentState::Ringing { contact }
            | AgentState::InCall { contact } => Some(contact.0),
            _ => None,
        };
        AgentView {
            id: "1001".into(),
            status: AgentStatus::Available,
            state,
            device: "sip:1001@127.0.0.1:5070".into(),
            skills: BTreeMap::new(),
            contact: contact.filter(|_| card).map(|c| ContactCard {
                contact: c,
                caller: "sip:alice@127.0.0.1".into(),
                dnis: "100".into(),
                queue: Some("support".into()),
                data: BTreeMap::new(),
                held: false,
            }),
            load: BTreeMap::new(),
        }
    }

    fn types(msgs: &[String]) -> Vec<String> {
        msgs.iter()
            .map(|m| {
                let v: Value = serde_json::from_str(m).unwrap();
                v["type"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn only_my_agents_events_concern_me() {
        let mut s = DeskSession::default();
        let mine = r#"{"event":"AgentStateChanged","agent":"1001","seq":3}"#;
        assert!(!s.concerns_me(mine), "nobody signed in yet");
        s.sign_in("1001");
        assert!(s.concerns_me(mine));
        assert!(s.concerns_me(r#"{"event":"DivertCall","agent":"1001","contact":4}"#));
        assert!(!s.concerns_me(r#"{"event":"AgentStateChanged","agent":"1002"}"#));
        assert!(!s.concerns_me(r#"{"event":"RouteEnd","contact":4}"#));
        assert!(s.concerns_me(r#"{"event":"lagged","missed":3}"#));
        assert!(!s.concerns_me("garbage"));
        s.sign_out();
        assert!(!s.concerns_me(mine));
    }

    #[test]
    fn a_contact_is_offered_once_then_remembered_for_the_disposition() {
        let mut s = DeskSession::default();
        s.sign_in("1001");
        assert_eq!(types(&s.on_view(&view(AgentState::Idle, false))), ["agent"]);
        let c = ContactId(9);
        let ringing = s.on_view(&view(AgentState::Ringing { contact: c }, true));
        assert_eq!(types(&ringing), ["agent", "offer"]);
        let offer: Value = serde_json::from_str(&ringing[1]).unwrap();
        assert_eq!(offer["contact"]["caller"], "sip:alice@127.0.0.1");
        assert_eq!(offer["contact"]["contact"], 9);
        assert_eq!(s.last_call(), None, "not talking yet");
        let talking = s.on_view(&view(AgentState::InCall { contact: c }, true));
        assert_eq!(types(&talking), ["agent"], "no second popup");
        assert_eq!(s.last_call(), Some(9));
        s.on_view(&view(AgentState::WrapUp, false));
        assert_eq!(s.last_call(), Some(9));
        let next = s.on_view(&view(
            AgentState::Reserved {
                contact: ContactId(10),
            },
            true,
        ));
        assert_eq!(types(&next), ["agent", "offer"]);
    }

    #[test]
    fn signing_in_as_someone_else_forgets_the_last_agents_calls() {
        let mut s = DeskSession::default();
        s.sign_in("1001");
        s.on_view(&view(
            AgentState::InCall {
                contact: ContactId(3),
            },
            true,
        ));
        s.sign_in("1001");
        assert_eq!(s.last_call(), Some(3));
        s.sign_in("1002");
        assert_eq!(s.last_call(), None);
    }
}
