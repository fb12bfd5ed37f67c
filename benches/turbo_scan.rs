//! TurboQuant scans at d = 768: `score_batch` of 8,192 codes (a few MB, so the L3-resident rate
//! of the kernels, not DRAM) for `tq2`, `tq4`, `tq2-ip`, `tq4-ip` and `tq2.5`, with the exact
//! float scan (`f32`, `simd::dot_lut_f32`) and, where the codebook allows, the quantized-query
//! fast scan (`i8`, `simd::dot_lut_i8`). Throughput in code bytes.
//!
//! Short sanity run: `cargo bench --bench turbo_scan -- --warm-up-time 1 --measurement-time 2`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::rng::Rng;
use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse, turbo_mse_half, turbo_mse_ip};
use vector_codecs::{Codec, Score};
use vector_codecs::{ScanMode, ScanModes};

const D: usize = 768;
const N: usize = 8192;

fn bench_one<C: Codec + Score>(c: &mut Criterion, name: &str, codec: &C, data: &[f32], q: &[f32]) {
    let mut codes = vec![0u8; N * codec.code_len()];
    codec.encode_batch(data, &mut codes).unwrap();
    let mut scratch = codec.scratch();
    let p = codec.prepare(q, &mut scratch).unwrap();
    let mut scores = vec![0f32; N];
    let mut g = c.benchmark_group("turbo_scan_d768");
    g.throughput(Throughput::Bytes(codes.len() as u64));
    g.bench_function(name, |b| b.iter(|| codec.score_batch(&p, black_box(&codes), &mut scores).unwrap()));
    g.finish();
}

fn scans(c: &mut Criterion) {
    let mut rng = Rng::new(3);
    let data: Vec<f32> = (0..N * D).map(|_| rng.gaussian() as f32).collect();
    let q: Vec<f32> = (0..D).map(|_| rng.gaussian() as f32).collect();
    for name in ["tq2", "tq4", "tq2-ip", "tq4-ip", "tq2.5"] {
        // The factory's codecs of these names (Hadamard rotation, Beta codebook), built directly.
        let (h, beta) = (RotationKind::Hadamard, CodebookKind::Beta);
        let bits = u32::from(name.as_bytes()[2] - b'0');
        for scan in [ScanMode::Float, ScanMode::I8] {
            let label = format!("{name}/{}", if scan == ScanMode::I8 { "i8" } else { "f32" });
            if name.ends_with(".5") {
                let Ok(k) = turbo_mse_half(D, bits, 7, h, beta).and_then(|k| k.with_scan(scan)) else { continue };
                bench_one(c, &label, &k, &data, &q);
            } else if name.ends_with("-ip") {
                let Ok(k) = turbo_mse_ip(D, bits, 7, h, beta).and_then(|k| k.with_scan(scan)) else { continue };
                bench_one(c, &label, &k, &data, &q);
            } else {
                let Ok(k) = turbo_mse(D, bits, 7, h, beta).and_then(|k| k.with_scan(scan)) else { continue };
                bench_one(c, &label, &k, &data, &q);
            }
        }
    }
}

criterion_group!(benches, scans);
criterion_main!(benches);
