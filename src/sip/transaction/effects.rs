//! What a transaction state machine asks of its layer (RFC 3261 §17: "pass to
//! the transport", "pass up to the TU", "start timer"). The state machines
//! never see keys, peers or queues; the layer turns each [`Effect`] into an
//! [`Output`](super::Output) or a queued deadline.

use super::timer::TimerKind;
use crate::sip::{Message, Request, Response};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Send this message to the transaction's peer.
    Transmit(Message),
    /// Pass a response up to the TU (client transactions).
    Response(Response),
    /// Pass a 2xx retransmission up to the TU as a stray (RFC 6026 Accepted).
    Stray(Response),
    /// Pass an ACK up to the TU (INVITE server in Accepted, RFC 6026 §8.7).
    Ack(Request),
    /// Timer B, F or H fired: the TU should act as if a 408 arrived.
    Timeout,
    /// The transport failed (§17.1.4, §17.2.4).
    TransportError,
    /// Queue a deadline for this transaction.
    Arm(TimerKind, Instant),
}

/// The ordered effects of one input to one transaction.
#[derive(Debug, Default)]
pub(crate) struct Effects(Vec<Effect>);

impl Effects {
    pub fn push(&mut self, e: Effect) {
        self.0.push(e);
    }

    pub fn transmit(&mut self, msg: Message) {
        self.0.push(Effect::Transmit(msg));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    #[cfg(test)]
    pub fn as_slice(&self) -> &[Effect] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<Effect> {
        self.0
    }
}
