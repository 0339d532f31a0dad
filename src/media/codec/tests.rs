use super::*;
use crate::media::pcm::{rms, tone_share, PcmDecoder};

fn tone(rate: u32, freq: f64, amplitude: f64, seconds: f64) -> Vec<i16> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
        })
        .collect()
}

/// Encode a 1 kHz tone with `codec` from `rate`-Hz audio, decode every
/// frame back to 8 kHz and check the tone survives at its level.
fn round_trip(codec: Codec, rate: u32) -> (FrameCache, Vec<i16>) {
    let input = tone(rate, 1000.0, 12_000.0, 0.5);
    let frames = encode_prompt(codec, &input, rate).unwrap();
    assert_eq!(frames.len(), 25, "{codec:?}: 500 ms is 25 frames");
    let mut d = PcmDecoder::new(codec).unwrap();
    let mut out = Vec::new();
    for i in 0..frames.len() {
        let n = d.decode(frames.get(i).unwrap(), &mut out).unwrap();
        assert_eq!(n, 160, "{codec:?}: 20 ms at 8 kHz");
    }
    // Skip the codecs' start-up (filter and look-ahead delay).
    let steady = &out[800..3600];
    let share = tone_share(steady, 8000, 1000.0);
    assert!(share > 0.9, "{codec:?} from {rate} Hz: tone share {share}");
    let level = rms(steady);
    let expected = 12_000.0 / 2f64.sqrt();
    assert!(
        (level / expected - 1.0).abs() < 0.25,
        "{codec:?} from {rate} Hz: rms {level}, want about {expected}"
    );
    (frames, out)
}

#[test]
fn g722_carries_a_tone_from_wideband_and_narrowband_audio() {
    let (frames, _) = round_trip(Codec::G722, 16_000);
    assert_eq!(frames.max_frame_len(), 160);
    assert_eq!(frames.byte_len(), 25 * 160, "64 kbit/s: 160 octets a frame");
    round_trip(Codec::G722, 8000);
}

#[test]
fn opus_carries_a_tone_within_the_frame_cap() {
    let (frames, _) = round_trip(Codec::Opus, 16_000);
    assert!(frames.max_frame_len() <= MAX_FRAME_BYTES);
    assert!(frames.max_frame_len() > 10, "not DTX/empty frames");
    round_trip(Codec::Opus, 8000);
}

#[test]
fn g711_frames_are_table_encoded() {
    round_trip(Codec::Pcmu, 8000);
    round_trip(Codec::Pcma, 8000);
}

#[test]
fn a_wrong_input_rate_is_refused() {
    assert_eq!(
        encode_prompt(Codec::Pcmu, &[0; 320], 16_000),
        Err(CodecError::Rate {
            codec: Codec::Pcmu,
            rate: 16_000
        })
    );
    assert!(encode_prompt(Codec::Opus, &[0; 441], 44_100).is_err());
}

#[test]
fn the_last_frame_is_padded_to_a_whole_frame() {
    let frames = encode_prompt(Codec::G722, &[1000; 400], 16_000).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames.get(1).map(<[u8]>::len), Some(160));
}
