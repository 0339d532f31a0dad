//! In-band DTMF detector throughput (criterion): one second of G.711
//! µ-law audio (speech-like noise with a key press in it) through
//! `InbandDetector::push_g711` in 20 ms packets, as the media runtime
//! feeds it. Streams per core = samples per second ÷ 8000 (see
//! docs/benchmarks.md for the figure and the command).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use softacd::media::dtmf_inband::{key_frequencies, InbandDetector};
use softacd::media::{g711, Codec};

/// One second of audio: 500 ms of pseudo-random noise, key 5 for 100 ms,
/// then noise again (a fixed LCG: deterministic).
fn second_of_audio() -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let mut pcm: Vec<i16> = (0..8000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 16) as i16) / 16
        })
        .collect();
    let (lo, hi) = key_frequencies('5').unwrap_or((770.0, 1336.0));
    for (i, s) in pcm[4000..4800].iter_mut().enumerate() {
        let t = i as f32 / 8000.0;
        let tau = std::f32::consts::TAU;
        *s = (9000.0 * ((tau * lo * t).sin() + (tau * hi * t).sin())) as i16;
    }
    let mut coded = vec![0u8; pcm.len()];
    g711::encode(Codec::Pcmu, &pcm, &mut coded);
    coded
}

fn inband(c: &mut Criterion) {
    let audio = second_of_audio();
    let mut group = c.benchmark_group("dtmf_inband");
    group.throughput(Throughput::Elements(audio.len() as u64));
    group.bench_function("one_second_pcmu_20ms_packets", |b| {
        let mut d = InbandDetector::new();
        let mut out = Vec::with_capacity(4);
        b.iter(|| {
            for packet in audio.chunks(160) {
                d.push_g711(Codec::Pcmu, black_box(packet), &mut out);
            }
            out.clear();
        })
    });
    group.finish();
}

criterion_group!(benches, inband);
criterion_main!(benches);
