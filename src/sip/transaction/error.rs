//! The transaction layer's one error enum (RFC 3261 §17): each variant names
//! the call that failed and why.

use super::key::TxKey;
use crate::sip::Method;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// A header the transaction key needs is missing or malformed.
    #[error("{place}: bad {header} header: {detail}")]
    BadHeader {
        place: &'static str,
        header: &'static str,
        detail: String,
    },
    /// A client transaction needs an RFC 3261 branch (§8.1.1.7).
    #[error("send_request: top Via branch {branch:?} lacks the z9hG4bK magic cookie")]
    MissingBranch { branch: Option<String> },
    /// ACK is never a client transaction (§17.1.1.3, §13.2.2.4).
    #[error("send_request: ACK is not a transaction; use send_stateless")]
    AckIsNotATransaction,
    #[error("send_request: CSeq method {cseq} differs from request method {method}")]
    CSeqMethodMismatch { method: Method, cseq: Method },
    #[error("send_request: transaction {0} already exists")]
    Duplicate(TxKey),
    #[error("send_request: transaction table full ({0} live transactions)")]
    Capacity(usize),
    #[error("respond: no server transaction {0}")]
    Unknown(TxKey),
    #[error("respond: {0} is a client transaction")]
    NotServer(TxKey),
    #[error("respond: transaction {key} already sent a final response (code {code} refused)")]
    AlreadyFinal { key: TxKey, code: u16 },
    #[error("respond: status code {0} is outside 100..=699")]
    BadStatus(u16),
}
