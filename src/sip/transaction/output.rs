//! What the transaction layer hands to the shell and the TU (RFC 3261 §17:
//! "pass to the transport", "pass up to the TU"). Drained with
//! [`TransactionLayer::poll_output`](super::TransactionLayer::poll_output).

use super::key::TxKey;
use crate::sip::{Message, Peer, Request, Response};

// Outputs are drained at once; boxing the request would cost an allocation
// on the hot path for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this message to `peer` now (the shell serializes it).
    Transmit { peer: Peer, msg: Message },
    /// A request that started a new server transaction. Answer it with
    /// [`respond`](super::TransactionLayer::respond) and `key`. For a
    /// CANCEL, `cancels` names the INVITE server transaction with the same
    /// branch and sent-by (§9.2), if one is live; otherwise it is `None`
    /// (the TU answers 481). For every other method `cancels` is `None`.
    Request {
        key: TxKey,
        req: Request,
        peer: Peer,
        cancels: Option<TxKey>,
    },
    /// An ACK no transaction absorbed: the ACK for a 2xx (its own branch,
    /// §17.1.1.3), one passed through an INVITE server transaction in the
    /// Accepted state (RFC 6026), or a stray ACK. Never answered.
    Ack { req: Request, peer: Peer },
    /// A response for a client transaction: every provisional, and the
    /// first final only. Retransmitted 2xx finals come as `StrayResponse`.
    Response { key: TxKey, resp: Response },
    /// A response that matched no client transaction, or a 2xx retransmission
    /// (or forked 2xx) absorbed by an INVITE client transaction in the
    /// Accepted state (RFC 6026 §8.4): the UAC core re-sends its ACK.
    StrayResponse { resp: Response, peer: Peer },
    /// Timer B or F (client: act as if 408 arrived) or Timer H (server: the
    /// ACK never came) fired. `Terminated` follows.
    Timeout { key: TxKey },
    /// The transport to the transaction's peer failed (§17.1.4, §17.2.4).
    /// `Terminated` follows.
    TransportError { key: TxKey },
    /// The transaction is gone; its key may be reused.
    Terminated { key: TxKey },
}
