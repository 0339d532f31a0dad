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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Voice,
    Video,
    Chat,
    Email,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Voice,
        Channel::Video,
        Channel::Chat,
        Channel::Email,
        Channel::Sms,
    ];

    /// Voice and video: real-time calls, one at a time, shown as the
    /// agent's state; the others are text contacts an agent holds several of.
    pub fn is_call(self) -> bool {
        matches!(self, Channel::Voice | Channel::Video)
    }
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

impl Skill {
    /// Parses a requested skill, `name` or `name:level` (level 1..=255,
    /// the least an agent must hold); a bare name asks for `default_level`.
    /// `None` when the level is not a number in range or the name is empty.
    pub fn parse_with_level(text: &str, default_level: u8) -> Option<(Skill, u8)> {
        let (name, level) = match text.split_once(':') {
            None => (text, default_level),
            Some((name, lvl)) => (name, lvl.parse::<u8>().ok().filter(|l| *l >= 1)?),
        };
        (!name.is_empty()).then(|| (Skill(name.to_owned()), level))
    }
}

impl From<&str> for Skill {
    fn from(s: &str) -> Self {
        Skill(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::Skill;

    #[test]
    fn skill_with_level_parses_name_and_minimum() {
        let sk = |s: &str| Skill(s.to_owned());
        assert_eq!(
            Skill::parse_with_level("support", 1),
            Some((sk("support"), 1))
        );
        assert_eq!(
            Skill::parse_with_level("support:5", 1),
            Some((sk("support"), 5))
        );
        assert_eq!(Skill::parse_with_level("fr:255", 1), Some((sk("fr"), 255)));
        for bad in [
            "support:0",
            "support:256",
            "support:x",
            "support:",
            ":3",
            "",
        ] {
            assert_eq!(Skill::parse_with_level(bad, 1), None, "{bad}");
        }
    }
}
