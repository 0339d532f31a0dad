//! Media pieces for the IP-IVR / media server (mission step 4: the IVR plays
//! prompts and reads DTMF). Everything here is pure: no sockets, no clock
//! reads, no global RNG. The tokio RTP shell and the media tick live elsewhere
//! and call into these pieces.
//!
//! - [`g711`]: ITU-T G.711 µ-law (PCMU) and A-law (PCMA) codecs.
//! - [`rtp`]: RFC 3550 §5.1 header parse/write and the [`rtp::RtpSender`] state.
//! - [`goertzel`] and [`dtmf_inband`]: the in-band DTMF receiver (Q.24).
//! - [`rfc4733`]: telephone-event payloads, [`rfc4733::DtmfReceiver`] and
//!   [`rfc4733::DtmfSender`].
//! - [`sdp`]: RFC 4566 parsing and RFC 3264 offer/answer for the audio leg.
//! - [`wav`] and [`prompt`]: the project's WAV reader and the cache of
//!   prompts pre-encoded into 20 ms frames per codec.
//! - [`decode`]: any prompt file (WAV, MP3, Ogg Vorbis, FLAC) to PCM, and
//!   resampling; [`frames`]: the contiguous per-codec frame cache.
//! - [`codec`]: G.722 and Opus encoders for prompts; [`pcm`]: any codec's
//!   RTP payload back to 8 kHz linear PCM.

pub mod codec;
pub mod decode;
pub mod dtmf_inband;
pub mod frames;
pub mod g711;
pub mod goertzel;
pub mod pcm;
pub mod player;
pub mod prompt;
pub mod recording;
pub mod relay;
pub mod rfc4733;
pub mod rtcp;
pub mod rtp;
pub mod runtime;
pub mod sdp;
pub mod voicemail;
pub mod wav;

/// The audio codecs the IVR speaks: G.711 µ-law and A-law (RFC 3551
/// §4.5.14, static payload types 0 and 8), G.722 (RFC 3551 §4.5.2, static
/// payload type 9, 16 kHz audio on an 8000 Hz RTP clock) and Opus (RFC 7587,
/// dynamic payload type, 48000 Hz RTP clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, RTP payload type 0.
    Pcmu,
    /// G.711 A-law, RTP payload type 8.
    Pcma,
    /// G.722 at 64 kbit/s, RTP payload type 9.
    G722,
    /// Opus, mono, 20 ms frames; dynamic payload type.
    Opus,
}

/// The payload type we give Opus in our own offers (RFC 3551 §3 dynamic
/// range).
pub const OPUS_PAYLOAD_TYPE: u8 = 111;

impl Codec {
    /// The G.711 pair every SIP peer speaks, in our order of preference:
    /// what the B2BUA relay offers when it knows no codec yet.
    pub const ALL: [Codec; 2] = [Codec::Pcmu, Codec::Pcma];

    /// Every codec the IVR can send and decode.
    pub const SUPPORTED: [Codec; 4] = [Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Opus];

    /// The payload type we use for it: static (RFC 3551 table 4) or, for
    /// Opus, [`OPUS_PAYLOAD_TYPE`].
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
            Codec::G722 => 9,
            Codec::Opus => OPUS_PAYLOAD_TYPE,
        }
    }

    /// The encoding name used in `a=rtpmap` (RFC 3551 §6, RFC 7587 §7) and
    /// in `[media] codecs`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Opus => "opus",
        }
    }

    /// The RTP clock rate (RFC 3551 §4.5.2: G.722's is 8000 though it
    /// samples at 16 kHz; RFC 7587 §4.1: Opus always 48000).
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            _ => SAMPLE_RATE,
        }
    }

    /// The `a=rtpmap` value after the payload type, e.g. `PCMU/8000`
    /// (Opus is always signalled with two channels, RFC 7587 §7).
    pub fn rtpmap(self) -> String {
        match self {
            Codec::Opus => "opus/48000/2".to_string(),
            c => format!("{}/{}", c.encoding_name(), c.clock_rate()),
        }
    }

    /// RTP timestamp units in one 20 ms frame.
    pub fn timestamp_step(self) -> u32 {
        self.clock_rate() / 50
    }

    /// The audio rate we encode prompts from: 8 kHz for G.711, 16 kHz
    /// (wideband) for G.722 and Opus.
    pub fn audio_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => SAMPLE_RATE,
            Codec::G722 | Codec::Opus => WIDEBAND_RATE,
        }
    }

    /// The codec with this static payload type, if any.
    pub fn from_static_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            9 => Some(Codec::G722),
            _ => None,
        }
    }

    /// The codec with this `a=rtpmap` encoding name (case-insensitive, RFC
    /// 4566 §6) at its RTP clock rate, if any.
    pub fn from_rtpmap(encoding_name: &str, clock_rate: u32) -> Option<Codec> {
        Codec::SUPPORTED
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(encoding_name))
            .filter(|c| c.clock_rate() == clock_rate)
    }

    /// The codec a `[media] codecs` entry names (case-insensitive).
    pub fn from_name(name: &str) -> Option<Codec> {
        Codec::SUPPORTED
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(name))
    }
}

/// The wideband audio rate G.722 and Opus prompts are encoded from.
pub const WIDEBAND_RATE: u32 = 16_000;

/// The G.711 sampling rate in Hz, which is also its RTP clock rate.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples (and G.711 bytes) in one 20 ms frame, the packetization we send.
pub const FRAME_SAMPLES: usize = 160;

/// Which DTMF paths are on (`[media] dtmf` in the configuration); all
/// three feed the same digit stream of an IVR call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPaths {
    /// RFC 4733 telephone-events in RTP.
    pub rfc4733: bool,
    /// Tones in the G.711 audio ([`dtmf_inband`], ITU-T Q.24).
    pub inband: bool,
    /// SIP INFO, application/dtmf-relay and application/dtmf.
    pub info: bool,
}

impl Default for DtmfPaths {
    fn default() -> Self {
        DtmfPaths {
            rfc4733: true,
            inband: true,
            info: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_payload_types_and_names_round_trip() {
        for c in Codec::SUPPORTED {
            assert_eq!(
                Codec::from_rtpmap(c.encoding_name(), c.clock_rate()),
                Some(c)
            );
            assert_eq!(Codec::from_name(c.encoding_name()), Some(c));
        }
        for c in [Codec::Pcmu, Codec::Pcma, Codec::G722] {
            assert_eq!(Codec::from_static_payload_type(c.payload_type()), Some(c));
            assert_eq!(c.timestamp_step(), 160);
        }
        assert_eq!(Codec::from_rtpmap("pcmu", 8000), Some(Codec::Pcmu));
        assert_eq!(Codec::from_rtpmap("PCMU", 16000), None);
        assert_eq!(
            Codec::from_rtpmap("G722", 16000),
            None,
            "G.722's RTP clock is 8000"
        );
        assert_eq!(Codec::from_rtpmap("OPUS", 48000), Some(Codec::Opus));
        assert_eq!(Codec::from_rtpmap("opus", 8000), None);
        assert_eq!(Codec::Opus.timestamp_step(), 960);
        assert_eq!(Codec::Opus.rtpmap(), "opus/48000/2");
        assert_eq!(Codec::G722.rtpmap(), "G722/8000");
        assert_eq!(Codec::from_static_payload_type(18), None);
        assert_eq!(Codec::from_name("g729"), None);
    }
}
