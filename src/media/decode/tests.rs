//! Every format decodes to the audio it holds: each fixture is a 1 kHz
//! tone at -6 dBFS made at test time with sox (and lame for MP3) in a
//! temporary directory; the test checks rate, length, that the tone is
//! still at 1 kHz and its level after resampling to 8 and 16 kHz.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::media::pcm::{rms, tone_share};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("softacd-decode-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (run scripts/install-deps.sh)"));
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

/// A 0.5 s 1 kHz tone at -6 dBFS in `file`, with sox's format `args`.
fn sox_tone(file: &Path, args: &[&str]) {
    run(Command::new("sox")
        .args(["-n"])
        .args(args)
        .arg(file)
        .args(["synth", "0.5", "sine", "1000", "gain", "-6"]));
}

/// Decode `file`, check its native rate and length, then the tone at 8
/// and 16 kHz.
fn check_tone(file: &Path, rate: u32) {
    let ext = file.extension().and_then(|e| e.to_str()).unwrap();
    let audio = decode(std::fs::read(file).unwrap(), ext).unwrap();
    assert_eq!(audio.rate, rate, "{}", file.display());
    let secs = audio.samples.len() as f64 / f64::from(rate);
    // MP3 adds encoder delay and padding (a frame or two).
    assert!((0.49..0.6).contains(&secs), "{}: {secs} s", file.display());
    for to in [8000, 16_000] {
        let pcm = resample_to_i16(&audio, to).unwrap();
        let want = audio.samples.len() as u64 * u64::from(to) / u64::from(rate);
        assert_eq!(pcm.len() as u64, want, "{} at {to}", file.display());
        let n = pcm.len();
        let middle = &pcm[n / 5..n * 4 / 5];
        let share = tone_share(middle, to, 1000.0);
        assert!(
            share > 0.95,
            "{} at {to} Hz: tone share {share}",
            file.display()
        );
        // -6 dBFS sine: peak 0.5, rms 0.354 of full scale.
        let level = rms(middle) / 32767.0;
        assert!(
            (0.30..0.40).contains(&level),
            "{} at {to} Hz: rms {level}",
            file.display()
        );
    }
}

#[test]
fn wav_pcm_of_any_depth_rate_and_channels_decodes() {
    let dir = temp_dir("wav");
    let cases: [(&str, &[&str], u32); 4] = [
        (
            "s16_44k_stereo.wav",
            &["-r", "44100", "-c", "2", "-b", "16"],
            44_100,
        ),
        (
            "u8_8k.wav",
            &["-r", "8000", "-c", "1", "-b", "8", "-e", "unsigned-integer"],
            8000,
        ),
        (
            "s24_48k.wav",
            &["-r", "48000", "-c", "1", "-b", "24"],
            48_000,
        ),
        (
            "s16_16k.wav",
            &["-r", "16000", "-c", "1", "-b", "16"],
            16_000,
        ),
    ];
    for (name, args, rate) in cases {
        let file = dir.join(name);
        sox_tone(&file, args);
        check_tone(&file, rate);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wav_mu_law_and_a_law_decode() {
    let dir = temp_dir("g711");
    for (name, enc) in [("ulaw.wav", "u-law"), ("alaw.wav", "a-law")] {
        let file = dir.join(name);
        sox_tone(&file, &["-r", "8000", "-c", "1", "-e", enc]);
        check_tone(&file, 8000);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn flac_and_ogg_vorbis_decode() {
    let dir = temp_dir("xiph");
    let flac = dir.join("tone.flac");
    sox_tone(&flac, &["-r", "16000", "-c", "1", "-b", "16"]);
    check_tone(&flac, 16_000);
    let ogg = dir.join("tone.ogg");
    sox_tone(&ogg, &["-r", "22050", "-c", "2"]);
    check_tone(&ogg, 22_050);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mp3_decodes() {
    let dir = temp_dir("mp3");
    let wav = dir.join("tone.wav");
    sox_tone(&wav, &["-r", "44100", "-c", "1", "-b", "16"]);
    let mp3 = dir.join("tone.mp3");
    run(Command::new("lame")
        .args(["--quiet", "-b", "64"])
        .arg(&wav)
        .arg(&mp3));
    check_tone(&mp3, 44_100);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn junk_and_truncated_files_are_errors_not_panics() {
    assert!(matches!(
        decode(b"this is not audio".to_vec(), "wav"),
        Err(DecodeError::Unsupported(_))
    ));
    assert!(decode(Vec::new(), "mp3").is_err());
    let dir = temp_dir("junk");
    let flac = dir.join("tone.flac");
    sox_tone(&flac, &["-r", "8000", "-c", "1"]);
    let bytes = std::fs::read(&flac).unwrap();
    for cut in [4, 20, 60] {
        assert!(
            decode(bytes[..cut].to_vec(), "flac").is_err(),
            "cut at {cut}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resampling_keeps_length_and_clips_instead_of_wrapping() {
    let loud = Decoded {
        rate: 8000,
        samples: vec![1.5, -1.5, 0.25],
    };
    assert_eq!(resample_to_i16(&loud, 8000).unwrap(), [32767, -32768, 8192]);
    let silence = Decoded {
        rate: 11_025,
        samples: vec![0.0; 11_025],
    };
    let out = resample_to_i16(&silence, 8000).unwrap();
    assert_eq!(out.len(), 8000);
    assert!(out.iter().all(|s| *s == 0));
}
