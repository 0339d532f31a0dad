//! CTI configuration: the DNIS → IVR-script map (mission steps 2–3), the
//! queues with their size bound, maximum wait, wrap-up time and no-agents
//! policy (step 7, wrap-up after step 10), the no-answer rules (step 8) and
//! the bounds on everything a peer can grow; per queue the routing strategy
//! and the time-based escalation steps; per channel the contacts an agent
//! may hold at once (issue 6); per carrier trunk its own numbers and
//! catch-all flow (issue 5, [`CtiConfig::flow_for`]).

use super::types::{Channel, QueueName};
use std::collections::BTreeMap;
use std::time::Duration;

/// What RequestAgent does when no signed-in agent has the skills asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAgents {
    /// Queue anyway; an agent may sign in later.
    Wait,
    /// Answer [`super::Output::NoAgents`] at once; the contact is not queued.
    Reject,
}

/// How a queue picks among the free agents able to serve its next contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoutingStrategy {
    /// The agent idle the longest (ties: smallest id).
    #[default]
    LongestIdle,
    /// The next agent (by id) after the one this queue offered last, wrapping.
    RoundRobin,
    /// The agent who answered the fewest contacts since signing in (ties:
    /// longest idle, then smallest id).
    FewestContacts,
}

/// One time-based escalation step of a queue: once a contact has waited
/// `after` since asking, widen its required levels to at most `min_level`
/// and/or move it to `queue` (keeping its priority and place by arrival).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub after: Duration,
    pub min_level: Option<u8>,
    pub queue: Option<QueueName>,
}

/// Skill levels an agent may hold (issue 6: "skills with levels (1–10)").
pub const SKILL_LEVELS: std::ops::RangeInclusive<u8> = 1..=10;

/// One queue's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Contacts waiting or being diverted from this queue, at most.
    pub max_size: usize,
    /// Maximum wait before [`super::Output::QueueTimeout`]; `None` waits forever.
    pub max_wait: Option<Duration>,
    /// Wrap-up time an agent gets after a call from this queue.
    pub wrap_up: Duration,
    pub no_agents: NoAgents,
    /// Average handling time assumed until contacts of this queue finish
    /// (seeds the moving average behind estimated wait times).
    pub default_aht: Duration,
    pub strategy: RoutingStrategy,
    /// Escalation steps, `after` strictly increasing.
    pub escalate: Vec<Escalation>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_size: 100,
            max_wait: Some(Duration::from_secs(600)),
            wrap_up: Duration::from_secs(10),
            no_agents: NoAgents::Wait,
            default_aht: Duration::from_secs(180),
            strategy: RoutingStrategy::LongestIdle,
            escalate: Vec::new(),
        }
    }
}

/// Contacts one agent may hold at once, per channel (issue 6: "per-channel
/// capacity (e.g. voice 1, chat 3, email 5)"). Voice and video are calls:
/// 0 or 1 each, and an agent holds one call at most, of either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub voice: u32,
    pub video: u32,
    pub chat: u32,
    pub email: u32,
    pub sms: u32,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            voice: 1,
            video: 1,
            chat: 3,
            email: 5,
            sms: 5,
        }
    }
}

impl Capacity {
    pub fn of(&self, channel: Channel) -> u32 {
        match channel {
            Channel::Voice => self.voice,
            Channel::Video => self.video,
            Channel::Chat => self.chat,
            Channel::Email => self.email,
            Channel::Sms => self.sms,
        }
    }
}

/// The whole CTI configuration. Queues are fixed at start: a peer cannot
/// create one by naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtiConfig {
    /// Dialed number (DNIS) → IVR script name. Unknown DNIS is rejected.
    pub dnis_scripts: BTreeMap<String, String>,
    /// Trunk name → its routing (`[[trunk]]`); see [`CtiConfig::flow_for`].
    pub trunks: BTreeMap<String, TrunkRoutes>,
    pub queues: BTreeMap<QueueName, QueueConfig>,
    /// How long an agent's phone may stay Reserved/Ringing before the CTI
    /// itself declares no-answer and cancels the divert.
    pub ring_timeout: Duration,
    /// Consecutive misses (reject or no-answer) after which an Available
    /// agent is made NotReady. 0 disables the rule.
    pub max_no_answer: u32,
    pub max_agents: usize,
    pub max_contacts: usize,
    /// CSTA events kept per contact (oldest dropped first).
    pub max_history: usize,
    /// Longest string (device, DNIS, caller, reason, skill name) accepted.
    pub max_text: usize,
    /// Most skills one agent may hold or one request may ask for.
    pub max_skills: usize,
    /// Contacts an agent may hold at once per channel.
    pub capacity: Capacity,
    /// Text contacts (chat, email, SMS) may be offered to an agent in a
    /// call, and a call to an agent holding text contacts; off: one or the other.
    pub chat_during_voice: bool,
    /// Callback contacts waiting or being served, at most (`callback`).
    pub max_callbacks: usize,
    /// A callback not served this long after it was requested expires.
    pub callback_max_age: Duration,
}

impl Default for CtiConfig {
    fn default() -> Self {
        CtiConfig {
            dnis_scripts: BTreeMap::new(),
            trunks: BTreeMap::new(),
            queues: BTreeMap::new(),
            ring_timeout: Duration::from_secs(20),
            max_no_answer: 3,
            max_agents: 1_000,
            max_contacts: 10_000,
            max_history: 32,
            max_text: 256,
            max_skills: 32,
            capacity: Capacity::default(),
            chat_during_voice: false,
            max_callbacks: 1_000,
            callback_max_age: Duration::from_secs(3_600),
        }
    }
}

/// One trunk's routing: its own numbers, then a catch-all flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrunkRoutes {
    /// This trunk's numbers → IVR script, tried before `dnis_scripts`.
    pub services: BTreeMap<String, String>,
    /// The flow for a number neither map knows; `None` rejects it.
    pub script: Option<String>,
}

impl CtiConfig {
    /// The flow for a call to `dnis` from `trunk` (`None`: not from a
    /// trunk, or from one this configuration does not know). Lookup order:
    /// the trunk's `services`, the global `dnis_scripts`, the trunk's
    /// `script`; `None` means reject (unknown DNIS).
    pub fn flow_for(&self, trunk: Option<&str>, dnis: &str) -> Option<&str> {
        let routes = trunk.and_then(|t| self.trunks.get(t));
        routes
            .and_then(|r| r.services.get(dnis))
            .or_else(|| self.dnis_scripts.get(dnis))
            .or_else(|| routes.and_then(|r| r.script.as_ref()))
            .map(String::as_str)
    }
}
