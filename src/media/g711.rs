//! ITU-T G.711 companding: µ-law (PCMU) and A-law (PCMA) between 16-bit
//! linear PCM and 8-bit codes. Encoding follows the segment/mantissa layout of
//! G.711 tables 1a and 2a (the 16-bit linear input is scaled the usual way:
//! µ-law works on 14 significant bits, A-law on 13). Decoding uses 256-entry
//! tables computed at compile time, so the hot path is one load per sample.

use super::Codec;

/// µ-law bias added before the segment search (33 in 14-bit units, times 4).
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude µ-law can represent before the bias would overflow.
const ULAW_CLIP: i32 = 32635;

/// Encode one linear sample as µ-law.
pub const fn ulaw_encode(sample: i16) -> u8 {
    let mut x = sample as i32;
    let sign: u8 = if x < 0 { 0x80 } else { 0x00 };
    if x < 0 {
        x = -x;
    }
    if x > ULAW_CLIP {
        x = ULAW_CLIP;
    }
    x += ULAW_BIAS;
    // x is in [0x84, 0x7FFF]: its top bit is bit 7..=14, segment 0..=7.
    let top_bit = 31 - x.leading_zeros() as i32;
    let segment = top_bit - 7;
    let mantissa = (x >> (segment + 3)) & 0x0F;
    !(sign | ((segment as u8) << 4) | mantissa as u8)
}

/// Decode one µ-law code to a linear sample (compile-time table lookup).
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[code as usize]
}

const fn ulaw_decode_slow(code: u8) -> i16 {
    let c = !code;
    let segment = ((c >> 4) & 0x07) as i32;
    let mantissa = (c & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << segment) - ULAW_BIAS;
    if c & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encode one linear sample as A-law.
pub const fn alaw_encode(sample: i16) -> u8 {
    // A-law works on 13 significant bits.
    let mut x = (sample as i32) >> 3;
    let mask: u8 = if x >= 0 { 0xD5 } else { 0x55 };
    if x < 0 {
        x = -x - 1;
    }
    if x > 0x0FFF {
        return 0x7F ^ mask;
    }
    let segment = if x < 32 {
        0
    } else {
        (31 - x.leading_zeros() as i32) - 4
    };
    let shift = if segment < 2 { 1 } else { segment };
    let mantissa = (x >> shift) & 0x0F;
    (((segment as u8) << 4) | mantissa as u8) ^ mask
}

/// Decode one A-law code to a linear sample (compile-time table lookup).
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

const fn alaw_decode_slow(code: u8) -> i16 {
    let a = code ^ 0x55;
    let segment = ((a & 0x70) >> 4) as i32;
    let mut magnitude = ((a & 0x0F) as i32) << 4;
    magnitude += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        magnitude <<= segment - 1;
    }
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// Which law a compile-time decode table is built for.
#[derive(Clone, Copy)]
enum Law {
    Mu,
    A,
}

const fn build_table(law: Law) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match law {
            Law::Mu => ulaw_decode_slow(i as u8),
            Law::A => alaw_decode_slow(i as u8),
        };
        i += 1;
    }
    table
}

static ULAW_TABLE: [i16; 256] = build_table(Law::Mu);
static ALAW_TABLE: [i16; 256] = build_table(Law::A);

/// Encode `pcm` into `out` with `codec`; encodes `min(pcm.len(), out.len())`
/// samples and returns that count (0 for a codec that is not G.711: see
/// [`crate::media::codec`]). Never allocates.
pub fn encode(codec: Codec, pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    let enc = match codec {
        Codec::Pcmu => ulaw_encode,
        Codec::Pcma => alaw_encode,
        Codec::G722 | Codec::Opus => return 0,
    };
    for (o, s) in out.iter_mut().zip(pcm) {
        *o = enc(*s);
    }
    n
}

/// Decode `codes` into `out` with `codec`; decodes `min(codes.len(),
/// out.len())` samples and returns that count (0 for a codec that is not
/// G.711: see [`crate::media::pcm::PcmDecoder`]). Never allocates.
pub fn decode(codec: Codec, codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    let table = match codec {
        Codec::Pcmu => &ULAW_TABLE,
        Codec::Pcma => &ALAW_TABLE,
        Codec::G722 | Codec::Opus => return 0,
    };
    for (o, c) in out.iter_mut().zip(codes) {
        *o = table[*c as usize];
    }
    n
}

/// The code for digital silence (linear 0) in `codec`; 0 for a codec
/// that is not G.711 (whose frames have no single silence byte).
pub const fn silence(codec: Codec) -> u8 {
    match codec {
        Codec::Pcmu => ulaw_encode(0),
        Codec::Pcma => alaw_encode(0),
        Codec::G722 | Codec::Opus => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_from_g711() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(silence(Codec::Pcmu), 0xFF);
        assert_eq!(silence(Codec::Pcma), 0xD5);
    }

    #[test]
    fn tables_match_the_formula() {
        for c in 0..=255u8 {
            assert_eq!(ulaw_decode(c), ulaw_decode_slow(c));
            assert_eq!(alaw_decode(c), alaw_decode_slow(c));
        }
    }

    /// Every code decodes to a value that encodes back to the same code
    /// (except µ-law's negative zero 0x7F, which is the same value as 0xFF).
    #[test]
    fn decode_then_encode_is_identity_on_codes() {
        for c in 0..=255u8 {
            if c != 0x7F {
                assert_eq!(ulaw_encode(ulaw_decode(c)), c, "ulaw {c:#04x}");
            }
            assert_eq!(alaw_encode(alaw_decode(c)), c, "alaw {c:#04x}");
        }
    }

    /// Quantisation error stays within half a step of the segment: at most
    /// 1/16 of the magnitude plus a small floor (exhaustive over i16).
    #[test]
    fn round_trip_error_is_bounded() {
        for s in i16::MIN..=i16::MAX {
            let x = s as i32;
            let bound = x.abs() / 16 + 16;
            let u = ulaw_decode(ulaw_encode(s)) as i32;
            let a = alaw_decode(alaw_encode(s)) as i32;
            assert!((u - x).abs() <= bound, "ulaw {s} -> {u}");
            assert!((a - x).abs() <= bound, "alaw {s} -> {a}");
        }
    }

    #[test]
    fn companding_is_monotonic() {
        let mut prev_u = i32::MIN;
        let mut prev_a = i32::MIN;
        for s in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(s)) as i32;
            let a = alaw_decode(alaw_encode(s)) as i32;
            assert!(u >= prev_u, "ulaw not monotonic at {s}");
            assert!(a >= prev_a, "alaw not monotonic at {s}");
            prev_u = u;
            prev_a = a;
        }
    }

    #[test]
    fn slice_helpers_stop_at_the_shorter_buffer() {
        let pcm = [0i16, 1000, -1000, 32000];
        let mut codes = [0u8; 3];
        assert_eq!(encode(Codec::Pcma, &pcm, &mut codes), 3);
        assert_eq!(codes[0], 0xD5);
        let mut back = [0i16; 8];
        assert_eq!(decode(Codec::Pcma, &codes, &mut back), 3);
        assert!((back[1] - 1000).abs() <= 32);
        assert!((back[2] + 1000).abs() <= 32);
        assert_eq!(back[3], 0);
    }
}
