//! ITU-T G.722 (7 kHz audio at 64 kbit/s, mode 1) through the `ezk-g722`
//! crate's port of the public-domain spandsp coder. RTP framing follows RFC
//! 3551 §4.5.2: one octet per two 16 kHz samples, so a 20 ms frame is 160
//! octets and advances the (8000 Hz) RTP clock by 160.

use ezk_g722::libg722::{decoder, encoder, Bitrate};

/// A G.722 encoder fed 16 kHz linear PCM.
pub struct Encoder {
    inner: encoder::Encoder,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder {
            inner: encoder::Encoder::new(Bitrate::Mode1_64000, false, false),
        }
    }

    /// Encode one frame into `out`; returns the octets written (at most
    /// `out.len()`).
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> usize {
        let coded = self.inner.encode(pcm);
        let n = coded.len().min(out.len());
        out[..n].copy_from_slice(&coded[..n]);
        n
    }
}

/// A G.722 decoder producing 8 kHz linear PCM (the lower sub-band, which is
/// what in-band DTMF detection and narrowband recording need).
pub struct Decoder {
    inner: decoder::Decoder,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            inner: decoder::Decoder::new(Bitrate::Mode1_64000, false, true),
        }
    }

    /// Decode one payload, appending 8 kHz samples to `out`; returns how
    /// many were appended.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> usize {
        let pcm = self.inner.decode(payload);
        out.extend_from_slice(&pcm);
        pcm.len()
    }
}
