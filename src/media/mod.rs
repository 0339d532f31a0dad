//! Media pieces for the IP-IVR / media server (mission step 4: the IVR plays
//! prompts and reads DTMF). Everything here is pure: no sockets, no clock
//! reads, no global RNG. The tokio RTP shell and the media tick live elsewhere
//! and call into these pieces.
//!
//! - [`g711`]: ITU-T G.711 µ-law (PCMU) and A-law (PCMA) codecs.
//! - [`rtp`]: RFC 3550 §5.1 header parse/write and the [`rtp::RtpSender`] state.
//! - [`rfc4733`]: telephone-event payloads, [`rfc4733::DtmfReceiver`] and
//!   [`rfc4733::DtmfSender`].
//! - [`sdp`]: RFC 4566 parsing and RFC 3264 offer/answer for the audio leg.
//! - [`wav`] and [`prompt`]: the project's WAV reader and the cache of
//!   prompts pre-encoded into 20 ms frames per codec.

pub mod g711;
pub mod player;
pub mod prompt;
pub mod relay;
pub mod rfc4733;
pub mod rtcp;
pub mod rtp;
pub mod runtime;
pub mod sdp;
pub mod wav;

/// The narrowband audio codecs the IVR speaks (RFC 3551 §4.5.14, static
/// payload types 0 and 8, 8 kHz, one byte per sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, RTP payload type 0.
    Pcmu,
    /// G.711 A-law, RTP payload type 8.
    Pcma,
}

impl Codec {
    /// Both codecs, in our own order of preference when we make an offer.
    pub const ALL: [Codec; 2] = [Codec::Pcmu, Codec::Pcma];

    /// The static RTP payload type (RFC 3551 table 4).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The encoding name used in `a=rtpmap` (RFC 3551 §6).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The codec with this static payload type, if any.
    pub fn from_static_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The codec with this `a=rtpmap` encoding name (case-insensitive, RFC
    /// 4566 §6) at 8000 Hz, if any.
    pub fn from_rtpmap(encoding_name: &str, clock_rate: u32) -> Option<Codec> {
        if clock_rate != SAMPLE_RATE {
            return None;
        }
        Codec::ALL
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(encoding_name))
    }
}

/// The G.711 sampling rate in Hz, which is also its RTP clock rate.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples (and G.711 bytes) in one 20 ms frame, the packetization we send.
pub const FRAME_SAMPLES: usize = 160;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_payload_types_and_names_round_trip() {
        for c in Codec::ALL {
            assert_eq!(Codec::from_static_payload_type(c.payload_type()), Some(c));
            assert_eq!(Codec::from_rtpmap(c.encoding_name(), 8000), Some(c));
        }
        assert_eq!(Codec::from_rtpmap("pcmu", 8000), Some(Codec::Pcmu));
        assert_eq!(Codec::from_rtpmap("PCMU", 16000), None);
        assert_eq!(Codec::from_static_payload_type(18), None);
    }
}
