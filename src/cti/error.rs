//! The CTI layer's one error enum. Each variant names the input that failed
//! (the place) and the cause. A peer's bad input becomes
//! [`super::Output::Refused`], never a panic.

use super::types::{AgentId, ContactId, QueueName};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum CtiError {
    #[error("{input}: unknown {contact}")]
    UnknownContact {
        input: &'static str,
        contact: ContactId,
    },
    #[error("{input}: {contact} already exists")]
    ContactExists {
        input: &'static str,
        contact: ContactId,
    },
    #[error("{input}: unknown {agent}")]
    UnknownAgent { input: &'static str, agent: AgentId },
    #[error("{input}: {agent} is not in wrap-up")]
    NotInWrapUp { input: &'static str, agent: AgentId },
    #[error("{input}: unknown {queue}")]
    UnknownQueue {
        input: &'static str,
        queue: QueueName,
    },
    #[error("{input}: {contact} is {phase}, expected {expected}")]
    WrongPhase {
        input: &'static str,
        contact: ContactId,
        phase: &'static str,
        expected: &'static str,
    },
    #[error("{input}: {agent} is not in a call")]
    NotInCall { input: &'static str, agent: AgentId },
    #[error("{input}: {agent} is not available and idle")]
    AgentBusy { input: &'static str, agent: AgentId },
    #[error("{input}: {queue} is full")]
    QueueFull {
        input: &'static str,
        queue: QueueName,
    },
    #[error("{input}: contact table full ({limit})")]
    TooManyContacts { input: &'static str, limit: usize },
    #[error("{input}: agent table full ({limit})")]
    TooManyAgents { input: &'static str, limit: usize },
    #[error("{input}: skill {skill:?} at level {level}, outside 1..=10")]
    SkillLevel {
        input: &'static str,
        skill: String,
        level: u8,
    },
    #[error(
        "{input}: callback number {number:?} is not 3 to 20 digits with an optional leading +"
    )]
    CallbackNumber { input: &'static str, number: String },
    #[error("{input}: callback table full ({limit})")]
    TooManyCallbacks { input: &'static str, limit: usize },
    #[error("{input}: {field} too large ({len} > {limit})")]
    TooLarge {
        input: &'static str,
        field: &'static str,
        len: usize,
        limit: usize,
    },
}

/// Refuses a peer-supplied string longer than `limit` bytes.
pub(crate) fn check_text(
    input: &'static str,
    field: &'static str,
    text: &str,
    limit: usize,
) -> Result<(), CtiError> {
    check_len(input, field, text.len(), limit)
}

/// Refuses a peer-supplied collection or string of `len` above `limit`.
pub(crate) fn check_len(
    input: &'static str,
    field: &'static str,
    len: usize,
    limit: usize,
) -> Result<(), CtiError> {
    if len > limit {
        return Err(CtiError::TooLarge {
            input,
            field,
            len,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_text_refuses_over_limit_and_names_field() {
        assert_eq!(check_text("SignIn", "device", "abc", 3), Ok(()));
        let err = check_text("SignIn", "device", "abcd", 3).unwrap_err();
        assert_eq!(err.to_string(), "SignIn: device too large (4 > 3)");
    }
}
