//! Prompt and codec benchmark (criterion; issue 4 "Prompts", "Codecs"):
//! - `prompt_load/*`: one file decoded (symphonia), resampled to 8 and
//!   16 kHz (rubato) and encoded in all four codecs: the shipped 2.4 s
//!   `media/welcome.wav`, and a 2.4 s 44.1 kHz stereo MP3 made with
//!   sox + lame at bench start (skipped, with a note, if they are missing).
//! - `encode/*`: encoding the 2.4 s welcome (120 frames) per codec.
//! - `player_tick/*`: one 20 ms packet sent from the frame cache (header
//!   written, frame copied): the playback hot path, frames/s = 1/time.
//! - `pcm_decode/*`: one received 20 ms payload to 8 kHz PCM.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use softacd::media::codec::encode_prompt;
use softacd::media::decode::{decode, resample_to_i16};
use softacd::media::pcm::PcmDecoder;
use softacd::media::player::{Player, PACKET_LEN};
use softacd::media::prompt::Prompt;
use softacd::media::Codec;

fn welcome() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("media/welcome.wav")
}

/// A 2.4 s 44.1 kHz stereo MP3 in the temp dir, if sox and lame exist.
fn mp3() -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("softacd-bench-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let wav = dir.join("tone.wav");
    let mp3 = dir.join("tone.mp3");
    let sox = Command::new("sox")
        .args(["-n", "-r", "44100", "-c", "2", "-b", "16"])
        .arg(&wav)
        .args(["synth", "2.4", "sine", "1000", "gain", "-6"])
        .status()
        .ok()?;
    let lame = Command::new("lame")
        .args(["--quiet", "-b", "128"])
        .arg(&wav)
        .arg(&mp3)
        .status()
        .ok()?;
    (sox.success() && lame.success()).then_some(mp3)
}

fn prompt_load(c: &mut Criterion) {
    let mut g = c.benchmark_group("prompt_load");
    g.sample_size(10);
    let mut files = vec![("welcome_wav_8k", welcome())];
    match mp3() {
        Some(f) => files.push(("tone_mp3_44k_stereo", f)),
        None => eprintln!("prompt_load: sox or lame missing, MP3 case skipped"),
    }
    for (name, file) in files {
        g.bench_function(name, |b| {
            b.iter(|| Prompt::load(black_box(&file)).expect("loads"));
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let bytes = std::fs::read(welcome()).expect("media/welcome.wav");
    let audio = decode(bytes, "wav").expect("decodes");
    let narrow = resample_to_i16(&audio, 8000).expect("8 kHz");
    let wide = resample_to_i16(&audio, 16_000).expect("16 kHz");
    let mut g = c.benchmark_group("encode");
    g.sample_size(10);
    g.throughput(Throughput::Elements(narrow.len().div_ceil(160) as u64));
    for codec in Codec::SUPPORTED {
        let (pcm, rate) = match codec {
            Codec::Pcmu | Codec::Pcma => (&narrow, 8000),
            _ => (&wide, 16_000),
        };
        g.bench_function(codec.encoding_name(), |b| {
            b.iter(|| encode_prompt(codec, black_box(pcm), rate).expect("encodes"));
        });
    }
    g.bench_function("resample_8k_to_16k", |b| {
        b.iter(|| resample_to_i16(black_box(&audio), 16_000).expect("resamples"));
    });
    g.finish();
}

fn player_tick(c: &mut Criterion) {
    let prompt = Arc::new(Prompt::load(&welcome()).expect("welcome loads"));
    let mut g = c.benchmark_group("player_tick");
    g.throughput(Throughput::Elements(1));
    for codec in Codec::SUPPORTED {
        let mut p = Player::new(codec, codec.payload_type(), 7, 0, 0);
        p.play_loop(prompt.clone()).expect("not empty");
        let mut buf = [0u8; PACKET_LEN];
        g.bench_function(codec.encoding_name(), |b| {
            b.iter(|| p.tick(black_box(&mut buf)).expect("ticks"));
        });
    }
    g.finish();
}

fn pcm_decode(c: &mut Criterion) {
    let prompt = Prompt::load(&welcome()).expect("welcome loads");
    let mut g = c.benchmark_group("pcm_decode");
    g.throughput(Throughput::Elements(1));
    for codec in Codec::SUPPORTED {
        let frames = prompt.frames(codec);
        let mut d = PcmDecoder::new(codec).expect("decoder");
        let mut out = Vec::with_capacity(2048);
        let mut i = 0;
        g.bench_function(codec.encoding_name(), |b| {
            b.iter(|| {
                out.clear();
                let f = frames.get(i % frames.len()).expect("frame");
                i += 1;
                d.decode(black_box(f), &mut out).expect("decodes")
            });
        });
    }
    g.finish();
}

criterion_group!(benches, prompt_load, encode, player_tick, pcm_decode);
criterion_main!(benches);
