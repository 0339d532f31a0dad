//! Identifiers and small value types of the CTI core (MISSION.md, "CTI": one
//! queue and one router for every contact, whatever its channel). Nothing here
//! knows SIP: a contact is a number the SoftACD call model hands in.

use serde::Serialize;
use std::fmt;

/// One customer contact (a call, a chat, an email, an SMS), named by the
/// SoftACD or the gateway that brought it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ContactId(pub u64);

/// The agent's sign-in name (interface A of the mission).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AgentId(pub String);

/// A queue name, as configured in [`super::CtiConfig::queues`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct QueueName(pub String);

/// A skill name; agents hold a level per skill, requests ask for a minimum.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Skill(pub String);

/// The channel a contact arrived on; all of them wait in the same queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Voice,
    Video,
    Chat,
    Email,
    Sms,
}

/// Media of a real-time call (mission step 2: video if the SDP has a video
/// m-line, audio otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Audio,
    Video,
}

impl Media {
    /// The queueing channel a call with this media belongs to.
    pub fn channel(self) -> Channel {
        match self {
            Media::Audio => Channel::Voice,
            Media::Video => Channel::Video,
        }
    }
}

/// Which leg of a SoftACD call an event is about (caller, IVR/MS, agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    Caller,
    Ivr,
    Agent,
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "contact#{}", self.0)
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "agent {:?}", self.0)
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "queue {:?}", self.0)
    }
}

impl From<&str> for AgentId {
    fn from(s: &str) -> Self {
        AgentId(s.to_owned())
    }
}

impl From<&str> for QueueName {
    fn from(s: &str) -> Self {
        QueueName(s.to_owned())
    }
}

impl From<&str> for Skill {
    fn from(s: &str) -> Self {
        Skill(s.to_owned())
    }
}
