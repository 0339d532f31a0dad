//! The media server's one error enum: why an INVITE was refused, each
//! mapped to the SIP status the refusal is answered with.

use crate::media::sdp::SdpError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MsError {
    #[error("ms invite: missing X-SoftACD-Contact header")]
    MissingContactId,
    #[error("ms invite: X-SoftACD-Contact {0:?} is not a u64")]
    BadContactId(String),
    #[error("ms invite: no Contact header (needed as the dialog's remote target)")]
    NoSipContact,
    #[error("ms invite: missing or malformed {0} header")]
    BadHeader(&'static str),
    #[error("ms invite: unknown script {0:?}")]
    UnknownScript(String),
    #[error("ms invite: {0}")]
    Sdp(#[from] SdpError),
    #[error("ms invite: {0} calls up (max_calls)")]
    TooManyCalls(usize),
    #[error("ms: request does not match any call")]
    NoSuchCall,
    #[error("ms info: bad DTMF body: {0}")]
    InfoBody(String),
    #[error("ms info: Content-Type {0:?} is not application/dtmf-relay or application/dtmf")]
    InfoType(String),
    #[error("ms info: DTMF by INFO is off ([media] dtmf has no \"info\")")]
    InfoOff,
}

impl MsError {
    /// The response the refused request gets.
    pub fn sip_status(&self) -> u16 {
        match self {
            MsError::MissingContactId
            | MsError::BadContactId(_)
            | MsError::NoSipContact
            | MsError::BadHeader(_) => 400,
            MsError::UnknownScript(_) => 404,
            MsError::Sdp(e) => e.sip_status(),
            MsError::TooManyCalls(_) => 503,
            MsError::NoSuchCall => 481,
            MsError::InfoBody(_) => 400,
            MsError::InfoType(_) | MsError::InfoOff => 415,
        }
    }
}
