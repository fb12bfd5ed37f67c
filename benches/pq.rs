//! Product quantization at d = 384 (the MiniLM embedding size): encode, and `score_batch` of
//! 8,192 codes with the float table (`PQ48x8`, `PQ96x4`), the quantized `u8` table (`PQ48x8/i8`)
//! and the 4-bit fast scan (`PQ96x4/fs`, flat codes re-laid per 32; `PQ96x4/fs-blocks`, codes
//! stored in the block layout); plus the k-means assignment kernel. Throughput in codes.
//!
//! Short run: `cargo bench --bench pq -- --warm-up-time 1 --measurement-time 2`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::pq::ProductQuantizer;
use vector_codecs::pq::fastscan::{pack_blocks, scan_blocks};
use vector_codecs::rng::Rng;
use vector_codecs::train::KMeansConfig;
use vector_codecs::{Codec, Score};

const D: usize = 384;
const N: usize = 8192;

fn scans(c: &mut Criterion) {
    let mut rng = Rng::new(3);
    let data: Vec<f32> = (0..N * D).map(|_| rng.gaussian() as f32).collect();
    let q: Vec<f32> = (0..D).map(|_| rng.gaussian() as f32).collect();
    let cfg = KMeansConfig { niter: 4, ..KMeansConfig::default() };
    for (m, nbits) in [(48usize, 8u32), (96, 4)] {
        let fl = ProductQuantizer::train(&data[..4096 * D], D, m, nbits, &cfg).unwrap();
        let mut codes = vec![0u8; N * fl.code_len()];
        let mut g = c.benchmark_group("pq_d384");
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function(format!("PQ{m}x{nbits}/encode"), |b| {
            b.iter(|| fl.encode_batch(black_box(&data), &mut codes).unwrap())
        });
        g.bench_function(format!("PQ{m}x{nbits}/encode_into"), |b| {
            b.iter(|| {
                for (x, code) in black_box(&data).chunks_exact(D).zip(codes.chunks_exact_mut(fl.code_len())) {
                    fl.encode_into(x, code).unwrap();
                }
            })
        });
        let mut scores = vec![0f32; N];
        for mode in [ScanMode::Float, ScanMode::I8] {
            let p = fl.clone().with_scan(mode).unwrap();
            let mut scratch = p.scratch();
            let pq = p.prepare(&q, &mut scratch).unwrap();
            let label = match (mode, nbits) {
                (ScanMode::Float, _) => "f32",
                (_, 4) => "fs",
                _ => "i8",
            };
            g.bench_function(format!("PQ{m}x{nbits}/{label}"), |b| {
                b.iter(|| p.score_batch(&pq, black_box(&codes), &mut scores).unwrap())
            });
            if nbits == 4 && mode == ScanMode::I8 {
                let blocks = pack_blocks(&codes, m).unwrap();
                g.bench_function(format!("PQ{m}x{nbits}/fs-blocks"), |b| {
                    b.iter(|| scan_blocks(&p, &pq, black_box(&blocks), &mut scores).unwrap())
                });
            }
        }
        g.finish();
    }
}

fn assign(c: &mut Criterion) {
    let mut rng = Rng::new(4);
    let (d, k, n) = (8usize, 256usize, 4096usize);
    let x: Vec<f32> = (0..n * d).map(|_| rng.gaussian() as f32).collect();
    let cents: Vec<f32> = (0..k * d).map(|_| rng.gaussian() as f32).collect();
    let mut blocks = vec![0f32; k * d];
    vector_codecs::simd::pq::transpose_blocks(&cents, k, d, &mut blocks);
    let mut g = c.benchmark_group("kmeans_assign");
    g.throughput(Throughput::Elements((n * k) as u64));
    g.bench_function("d8_k256", |b| {
        b.iter(|| {
            let mut s = 0usize;
            for p in x.chunks_exact(d) {
                s += vector_codecs::simd::pq::nearest(black_box(p), &blocks, k).0;
            }
            s
        })
    });
    g.finish();
}

criterion_group!(benches, scans, assign);
criterion_main!(benches);
