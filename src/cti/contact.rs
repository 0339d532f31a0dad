//! One contact as the CTI sees it (mission steps 2–10): where it is in the
//! CTI's life cycle, what it asked for, and a bounded history of the CSTA
//! events seen for it. The SoftACD owns the call itself; this is the CTI's
//! half of it.

use super::events::CstaEvent;
use super::queue::QueueKey;
use super::types::{AgentId, Channel, ContactId, QueueName, Skill};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Where the contact is, from the CTI's side.
///
/// ```text
///  Routing --RequestAgent--> Queued --match--> Diverting --answer--> Connected
///     ^                        |  ^                |
///     +----QueueTimeout--------+  +--reject/no-ans-+
///  (ConnectionCleared from any phase removes the contact)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactPhase {
    /// Delivered, routed to the IVR or not yet asking for an agent.
    Routing,
    /// Waiting in the queue named by its request, at this key.
    Queued(QueueKey),
    /// DivertCall sent; the agent is Reserved or Ringing.
    Diverting(AgentId),
    /// The agent answered.
    Connected(AgentId),
}

impl ContactPhase {
    pub fn name(&self) -> &'static str {
        match self {
            ContactPhase::Routing => "Routing",
            ContactPhase::Queued(_) => "Queued",
            ContactPhase::Diverting(_) => "Diverting",
            ContactPhase::Connected(_) => "Connected",
        }
    }

    /// The agent the contact is assigned to, if any.
    pub fn agent(&self) -> Option<&AgentId> {
        match self {
            ContactPhase::Diverting(a) | ContactPhase::Connected(a) => Some(a),
            ContactPhase::Routing | ContactPhase::Queued(_) => None,
        }
    }
}

/// What RequestAgent asked for (step 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRequest {
    pub queue: QueueName,
    pub skills: BTreeMap<Skill, u8>,
    pub priority: u8,
    /// When the queue's maximum wait runs out (kept across requeues).
    pub deadline: Option<Instant>,
    /// When the contact asked (kept across requeues): its wait so far.
    pub since: Instant,
    /// The wait after which the last escalation step was applied (zero: none).
    pub escalated: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub channel: Channel,
    pub dnis: Option<String>,
    pub caller: Option<String>,
    pub request: Option<AgentRequest>,
    pub phase: ContactPhase,
    /// When the agent answered (handling time starts).
    pub answered_at: Option<Instant>,
    /// A callback contact: the number to call and the call it came from.
    pub callback: Option<super::callback::CallbackInfo>,
    /// The place and request a contact had when the IVR took it out of its
    /// queue (LeaveQueue), so a callback registered next keeps that place.
    pub(crate) parked: Option<(QueueKey, AgentRequest)>,
    history: VecDeque<CstaEvent>,
    max_history: usize,
}

impl Contact {
    pub(crate) fn new(id: ContactId, channel: Channel, max_history: usize) -> Self {
        Contact {
            id,
            channel,
            dnis: None,
            caller: None,
            request: None,
            phase: ContactPhase::Routing,
            answered_at: None,
            callback: None,
            parked: None,
            history: VecDeque::new(),
            max_history,
        }
    }

    /// Records an event, dropping the oldest beyond the configured bound.
    pub(crate) fn record(&mut self, event: CstaEvent) {
        if self.max_history == 0 {
            return;
        }
        while self.history.len() >= self.max_history {
            self.history.pop_front();
        }
        self.history.push_back(event);
    }

    /// CSTA events seen for this contact, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &CstaEvent> {
        self.history.iter()
    }

    pub fn history_len(&self) -> usize {
        self.history.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_drops_oldest() {
        let mut c = Contact::new(ContactId(1), Channel::Voice, 2);
        for _ in 0..3 {
            c.record(CstaEvent::RouteEnd {
                contact: ContactId(1),
            });
        }
        c.record(CstaEvent::CallDiverted {
            contact: ContactId(1),
        });
        assert_eq!(c.history_len(), 2);
        let last = c.history().last().cloned();
        assert_eq!(
            last,
            Some(CstaEvent::CallDiverted {
                contact: ContactId(1)
            })
        );
    }
}
