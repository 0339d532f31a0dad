//! The call model's error enum: why a peer's input could not be used, naming
//! the place (which message of which leg) and the cause. Errors never panic
//! the call; the call answers them with a SIP failure and a clearing.

use crate::media::sdp::SdpError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum B2buaError {
    #[error("b2bua: SDP of {place}: {source}")]
    Sdp {
        place: &'static str,
        #[source]
        source: SdpError,
    },
    #[error("b2bua: SDP of {place} is not UTF-8")]
    NotUtf8 { place: &'static str },
    #[error("b2bua: {place} carries no SDP where one is required")]
    MissingSdp { place: &'static str },
    #[error("b2bua: relay mode without relay addresses")]
    NoRelayAddrs,
}

impl B2buaError {
    /// The SIP status for the caller's INVITE refused for this reason.
    pub fn sip_status(&self) -> u16 {
        match self {
            B2buaError::Sdp { source, .. } => source.sip_status(),
            B2buaError::NotUtf8 { .. } => 400,
            B2buaError::MissingSdp { .. } => 502,
            B2buaError::NoRelayAddrs => 500,
        }
    }
}
