//! Q.24 acceptance figures, each on a grid of generated vectors: all 16
//! keys, several start phases against the 5 ms analysis hop, both signs
//! of every deviation. Each test prints its accept rate and asserts 100 %
//! (or 0 %) on the grid. Tones pass through G.711 µ-law as on the wire.

use super::*;
use crate::media::wav;

const KEYS_ALL: &str = "123A456B789C*0#D";
/// A sine of this amplitude (full scale 1.0) is 0 dBm0 in G.711.
const DBM0_AMPLITUDE: f64 = 0.69;
/// Start phases against the hop (samples of leading silence).
const ALIGNMENTS: [usize; 8] = [0, 5, 11, 17, 23, 29, 34, 39];

#[derive(Clone, Copy)]
struct Tone {
    key: char,
    ms: usize,
    low_dev: f64,
    high_dev: f64,
    /// dBm0 of the low tone; the high tone is this plus `twist_db`.
    level_dbm0: f64,
    twist_db: f64,
}

impl Tone {
    fn new(key: char, ms: usize) -> Tone {
        Tone {
            key,
            ms,
            low_dev: 0.0,
            high_dev: 0.0,
            level_dbm0: -7.0,
            twist_db: 0.0,
        }
    }

    fn samples(self, phase: f64) -> Vec<i16> {
        let Some((lo, hi)) = key_frequencies(self.key) else {
            return Vec::new();
        };
        let (lo, hi) = (
            f64::from(lo) * (1.0 + self.low_dev),
            f64::from(hi) * (1.0 + self.high_dev),
        );
        let a_lo = DBM0_AMPLITUDE * 10f64.powf(self.level_dbm0 / 20.0);
        let a_hi = a_lo * 10f64.powf(self.twist_db / 20.0);
        let n = self.ms * 8;
        (0..n)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let tau = std::f64::consts::TAU;
                let v = a_lo * (tau * lo * t + phase).sin() + a_hi * (tau * hi * t).sin();
                (v * 32767.0).clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }
}

fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 8]
}

/// Through G.711 µ-law and back, then into a fresh detector.
fn detect(pcm: &[i16]) -> Vec<char> {
    let mut coded = vec![0u8; pcm.len()];
    let n = g711::encode(Codec::Pcmu, pcm, &mut coded);
    let mut d = InbandDetector::new();
    let mut out = Vec::new();
    for packet in coded[..n].chunks(160) {
        d.push_g711(Codec::Pcmu, packet, &mut out);
    }
    out.iter().map(|d| d.key).collect()
}

/// Every key × alignment: the share of vectors whose detection is
/// exactly `[key]` (accepted) — printed, returned.
fn accept_rate(name: &str, make: impl Fn(char) -> Vec<Tone>) -> f64 {
    let (mut accepted, mut total) = (0usize, 0usize);
    let mut wrong = Vec::new();
    for key in KEYS_ALL.chars() {
        for tone in make(key) {
            for (i, &lead) in ALIGNMENTS.iter().enumerate() {
                let mut pcm = silence(0);
                pcm.resize(lead, 0);
                pcm.extend(tone.samples(i as f64 * 0.7));
                pcm.extend(silence(60));
                let got = detect(&pcm);
                total += 1;
                if got == [key] {
                    accepted += 1;
                } else if !got.is_empty() {
                    wrong.push((key, got));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{name}: wrong keys {wrong:?}");
    let rate = accepted as f64 / total as f64;
    println!(
        "Q.24 {name}: accepted {accepted}/{total} = {:.1} %",
        rate * 100.0
    );
    rate
}

fn deviations(key: char, ms: usize, d: f64) -> Vec<Tone> {
    [
        (d, 0.0),
        (-d, 0.0),
        (0.0, d),
        (0.0, -d),
        (d, d),
        (-d, -d),
        (d, -d),
        (-d, d),
    ]
    .into_iter()
    .map(|(low_dev, high_dev)| Tone {
        low_dev,
        high_dev,
        ..Tone::new(key, ms)
    })
    .collect()
}

#[test]
fn nominal_tones_of_every_key_are_accepted() {
    assert_eq!(
        accept_rate("nominal 50 ms", |k| vec![Tone::new(k, 50)]),
        1.0
    );
}

#[test]
fn deviation_of_1_5_percent_is_accepted() {
    let rate = accept_rate("±1.5 % deviation, 50 ms", |k| deviations(k, 50, 0.015));
    assert_eq!(rate, 1.0);
}

#[test]
fn deviation_of_3_5_percent_is_rejected() {
    let rate = accept_rate("±3.5 % deviation, 50 ms", |k| deviations(k, 50, 0.035));
    assert_eq!(rate, 0.0);
}

#[test]
fn tones_of_40_ms_are_accepted_even_off_frequency() {
    assert_eq!(accept_rate("40 ms", |k| vec![Tone::new(k, 40)]), 1.0);
    let rate = accept_rate("40 ms at ±1.5 %", |k| deviations(k, 40, 0.015));
    assert_eq!(rate, 1.0);
}

#[test]
fn tones_of_23_ms_or_less_are_rejected() {
    for ms in [10, 15, 20, 23] {
        let rate = accept_rate(&format!("{ms} ms"), |k| vec![Tone::new(k, ms)]);
        assert_eq!(rate, 0.0, "{ms} ms tones");
    }
}

#[test]
fn twist_within_q24_limits_is_accepted() {
    for twist_db in [4.0, -8.0] {
        let rate = accept_rate(&format!("twist {twist_db:+} dB"), |k| {
            vec![Tone {
                twist_db,
                ..Tone::new(k, 50)
            }]
        });
        assert_eq!(rate, 1.0, "twist {twist_db}");
    }
}

#[test]
fn twist_beyond_the_limits_is_rejected() {
    for twist_db in [6.0, 8.0, -10.0, -12.0] {
        let rate = accept_rate(&format!("twist {twist_db:+} dB"), |k| {
            vec![Tone {
                twist_db,
                ..Tone::new(k, 50)
            }]
        });
        assert_eq!(rate, 0.0, "twist {twist_db}");
    }
}

#[test]
fn levels_from_minus_25_to_0_dbm0_are_accepted_and_minus_40_is_not() {
    for level_dbm0 in [0.0, -10.0, -20.0, -25.0] {
        let rate = accept_rate(&format!("level {level_dbm0} dBm0"), |k| {
            vec![Tone {
                level_dbm0,
                ..Tone::new(k, 50)
            }]
        });
        assert_eq!(rate, 1.0, "{level_dbm0} dBm0");
    }
    let quiet = accept_rate("level -40 dBm0", |k| {
        vec![Tone {
            level_dbm0: -40.0,
            ..Tone::new(k, 50)
        }]
    });
    assert_eq!(quiet, 0.0);
}

#[test]
fn a_40_ms_pause_separates_two_presses() {
    let (mut ok, mut total) = (0, 0);
    for first in KEYS_ALL.chars() {
        for second in [first, '5'] {
            for &lead in &ALIGNMENTS {
                let mut pcm = silence(0);
                pcm.resize(lead, 0);
                pcm.extend(Tone::new(first, 40).samples(0.0));
                pcm.extend(silence(40));
                pcm.extend(Tone::new(second, 40).samples(1.0));
                pcm.extend(silence(60));
                total += 1;
                if detect(&pcm) == [first, second] {
                    ok += 1;
                }
            }
        }
    }
    println!("Q.24 40 ms pause: two digits in {ok}/{total}");
    assert_eq!(ok, total);
}

#[test]
fn a_long_press_is_one_digit_and_its_time_is_reported() {
    let mut pcm = silence(100);
    pcm.extend(Tone::new('7', 2000).samples(0.0));
    pcm.extend(silence(100));
    let mut coded = vec![0u8; pcm.len()];
    g711::encode(Codec::Pcma, &pcm, &mut coded);
    let mut d = InbandDetector::new();
    let mut out = Vec::new();
    d.push_g711(Codec::Pcma, &coded, &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].key, '7');
    // Confirmed between 30 and 45 ms into the tone (after 100 ms silence).
    assert!((1040..=1160).contains(&out[0].at_sample), "{out:?}");
}

#[test]
fn reset_forgets_a_tone_in_progress() {
    let tone = Tone::new('9', 30).samples(0.0);
    let mut d = InbandDetector::new();
    let mut out = Vec::new();
    d.push(&tone, &mut out);
    d.reset();
    d.push(&tone, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

fn talk_off_files() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("tests/data/dtmf"), root.join("media")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "wav") {
                    files.push(e.path());
                }
            }
        }
    }
    files.sort();
    files
}

#[test]
fn speech_and_music_give_no_digit() {
    let files = talk_off_files();
    let talk_off: Vec<_> = files
        .iter()
        .filter(|p| p.to_string_lossy().contains("tests/data/dtmf"))
        .collect();
    assert!(talk_off.len() >= 2, "talk-off corpus missing: {files:?}");
    let mut seconds = 0.0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap_or_default();
        let Ok(pcm) = wav::read_pcm16_mono_8k(&bytes) else {
            // Prompts in formats this reader does not take are not speech
            // we can test here; the corpus files must read.
            assert!(!talk_off.contains(&path), "{} unreadable", path.display());
            continue;
        };
        seconds += pcm.len() as f64 / 8000.0;
        let got = detect(&pcm);
        assert!(got.is_empty(), "talk-off in {}: {got:?}", path.display());
    }
    println!("Q.24 talk-off: 0 digits in {seconds:.1} s of speech and music");
    assert!(seconds > 20.0, "too little talk-off audio: {seconds} s");
}
