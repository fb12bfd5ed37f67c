//! Sign-split VQ at d = 384: encode, decode, and `score_batch` of 8,192 codes with the
//! sign-aware table (`SSVQ4x8`: 3 bits/dim, `SSVQ2x4`: 3 bits/dim, `SSVQ8x8`: 2 bits/dim), plus
//! the table build (`prepare`); and the weights mechanism: error-feedback quantization of a
//! 384 × 384 matrix with SSVQ and uniform 3-bit groups. Throughput in codes (weights for the
//! last group).
//!
//! Short run: `cargo bench --bench ssvq -- --warm-up-time 1 --measurement-time 2`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::rng::Rng;
use vector_codecs::ssvq::SignSplitVq;
use vector_codecs::train::KMeansConfig;
use vector_codecs::weights::group::UniformGroup;
use vector_codecs::weights::{Feedback, QuantizeConfig, quantize_matrix};
use vector_codecs::{Codec, Decode, Score};

const D: usize = 384;
const N: usize = 8192;

fn codec(c: &mut Criterion) {
    let mut rng = Rng::new(3);
    let data: Vec<f32> = (0..N * D).map(|_| rng.gaussian() as f32).collect();
    let q: Vec<f32> = (0..D).map(|_| rng.gaussian() as f32).collect();
    let cfg = KMeansConfig { niter: 4, ..KMeansConfig::default() };
    for (ds, nbits) in [(4usize, 8u32), (2, 4), (8, 8)] {
        let v = SignSplitVq::train(&data[..1024 * D], D, ds, nbits, &cfg).unwrap();
        let mut codes = vec![0u8; N * v.code_len()];
        let mut g = c.benchmark_group("ssvq_d384");
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function(format!("SSVQ{ds}x{nbits}/encode"), |b| {
            b.iter(|| v.encode_batch(black_box(&data), &mut codes).unwrap())
        });
        let mut out = vec![0f32; N * D];
        g.bench_function(format!("SSVQ{ds}x{nbits}/decode"), |b| {
            b.iter(|| v.decode_batch(black_box(&codes), &mut out).unwrap())
        });
        let mut scratch = v.scratch();
        let mut scores = vec![0f32; N];
        {
            let pq = v.prepare(&q, &mut scratch).unwrap();
            g.bench_function(format!("SSVQ{ds}x{nbits}/score"), |b| {
                b.iter(|| v.score_batch(&pq, black_box(&codes), &mut scores).unwrap())
            });
        }
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("SSVQ{ds}x{nbits}/prepare"), |b| {
            b.iter(|| {
                v.prepare(black_box(&q), &mut scratch).unwrap();
            })
        });
        g.finish();
    }
}

fn weights(c: &mut Criterion) {
    let mut rng = Rng::new(5);
    let (rows, cols) = (384usize, 384usize);
    let w: Vec<f32> = (0..rows * cols).map(|_| rng.gaussian() as f32 * 0.05).collect();
    let x: Vec<f32> = (0..512 * cols).map(|_| rng.gaussian() as f32).collect();
    let fb = Feedback::from_inputs(&x, cols, 0.01).unwrap();
    let cfg = KMeansConfig { niter: 4, ..KMeansConfig::default() };
    let ss = vector_codecs::weights::group::ssvq_for_weights(&w, cols, 4, 8, &cfg).unwrap();
    let un = UniformGroup::new(3, 128).unwrap();
    let mut g = c.benchmark_group("weights_384x384");
    g.throughput(Throughput::Elements((rows * cols) as u64));
    g.sample_size(10);
    let qc = QuantizeConfig::default();
    g.bench_function("ssvq4x8/rtn", |b| b.iter(|| quantize_matrix(black_box(&w), rows, cols, &ss, None, &qc).unwrap()));
    g.bench_function("ssvq4x8/feedback", |b| {
        b.iter(|| quantize_matrix(black_box(&w), rows, cols, &ss, Some(&fb), &qc).unwrap())
    });
    g.bench_function("int3-g128/feedback", |b| {
        b.iter(|| quantize_matrix(black_box(&w), rows, cols, &un, Some(&fb), &qc).unwrap())
    });
    g.finish();
}

criterion_group!(benches, codec, weights);
criterion_main!(benches);
