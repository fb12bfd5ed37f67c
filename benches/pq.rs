//! Product quantization at d = 384 (the MiniLM embedding size): encode, and `score_batch` of
//! 8,192 codes with the float table (`PQ48x8`, `PQ96x8`, `PQ96x4`; for 8-bit codes also
//! `f32-one-pass`, the ADC kernel without its L1-sized sub-quantizer passes, an A/B in one run), the quantized `u8` table (`PQ48x8/i8`)
//! and the 4-bit fast scan (`PQ96x4/fs`, flat codes re-laid per 32; `PQ96x4/fs-blocks`, codes
//! stored in the block layout); plus the k-means assignment kernel. Throughput in codes.
//!
//! `pq_fs_queries`: the top-10 of 65,536 fast-scan codes (3 MB at `PQ96x4fs`, beyond L2) for 8
//! queries, one query per pass (`scan_layout_topk_into` ×8) against the batch path
//! (`scan_layout_topk_many_into`: 8 queries prepared, two kernel passes of 4 per piece); and the
//! same for 8-bit float ADC codes (`PQ48x8`), whose batch path is the one-query default.
//! Throughput in codes × queries. `PQ96x4/fs-blocks-4q`: the 4-query kernel on 8,192 codes.
//!
//! Short run: `cargo bench --bench pq -- --warm-up-time 1 --measurement-time 2`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::dynamic::MANY_QUERIES;
use vector_codecs::metric::Metric;
use vector_codecs::pq::ProductQuantizer;
use vector_codecs::pq::fastscan::{pack_blocks, scan_blocks};
use vector_codecs::rng::Rng;
use vector_codecs::simd::pq::adc_scan_u8_passes;
use vector_codecs::topk::TopK;
use vector_codecs::train::KMeansConfig;
use vector_codecs::{Codec, Score};

const D: usize = 384;
const N: usize = 8192;

fn scans(c: &mut Criterion) {
    let mut rng = Rng::new(3);
    let data: Vec<f32> = (0..N * D).map(|_| rng.gaussian() as f32).collect();
    let q: Vec<f32> = (0..D).map(|_| rng.gaussian() as f32).collect();
    let cfg = KMeansConfig { niter: 4, ..KMeansConfig::default() };
    for (m, nbits) in [(48usize, 8u32), (96, 8), (96, 4)] {
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
            if nbits == 8 && mode == ScanMode::Float {
                // The previous kernel (four codes, byte loads) for an A/B in the same run.
                let lut = pq.table();
                g.bench_function(format!("PQ{m}x{nbits}/f32-previous-4codes"), |b| {
                    b.iter(|| adc_4codes(lut, m, black_box(&codes), &mut scores))
                });
                g.bench_function(format!("PQ{m}x{nbits}/f32-one-pass"), |b| {
                    b.iter(|| adc_scan_u8_passes(lut, m, black_box(&codes), false, &mut scores, usize::MAX))
                });
            }
            if nbits == 4 && mode == ScanMode::I8 {
                let blocks = pack_blocks(&codes, m).unwrap();
                g.bench_function(format!("PQ{m}x{nbits}/fs-blocks"), |b| {
                    b.iter(|| scan_blocks(&p, &pq, black_box(&blocks), &mut scores).unwrap())
                });
                // Four queries per pass over the blocks (throughput: codes × queries).
                let qs: Vec<f32> = (0..4 * D).map(|_| rng.gaussian() as f32).collect();
                let mut sc: Vec<Vec<f32>> = (0..4).map(|_| p.scratch()).collect();
                let prep: Vec<_> =
                    qs.chunks_exact(D).zip(sc.iter_mut()).map(|(q, s)| p.prepare(q, s).unwrap()).collect();
                let refs: Vec<_> = prep.iter().collect();
                let mut many = vec![0f32; 4 * N];
                g.throughput(Throughput::Elements((4 * N) as u64));
                g.bench_function(format!("PQ{m}x{nbits}/fs-blocks-4q"), |b| {
                    b.iter(|| p.score_layout_many(&refs, black_box(&blocks), N, &mut many).unwrap())
                });
                g.throughput(Throughput::Elements(N as u64));
            }
        }
        g.finish();
    }
}

/// The 8-bit float ADC kernel before the `u64`-word version: four codes at a time, each index
/// loaded as a byte (the same sums).
fn adc_4codes(lut: &[f32], m: usize, codes: &[u8], out: &mut [f32]) {
    for (o, cs) in out.chunks_exact_mut(4).zip(codes.chunks_exact(4 * m)) {
        let mut s = [0f32; 4];
        for (i, row) in lut.chunks_exact(256).take(m).enumerate() {
            for (l, sl) in s.iter_mut().enumerate() {
                *sl += row[usize::from(cs[l * m + i])];
            }
        }
        o.copy_from_slice(&s);
    }
}

fn queries(c: &mut Criterion) {
    const NQ: usize = 8;
    const TILE: usize = 8;
    let mut rng = Rng::new(5);
    let data: Vec<f32> = (0..N * D).map(|_| rng.gaussian() as f32).collect();
    let qs: Vec<f32> = (0..NQ * D).map(|_| rng.gaussian() as f32).collect();
    let mut g = c.benchmark_group("pq_fs_queries");
    g.throughput(Throughput::Elements((TILE * N * NQ) as u64));
    for name in ["PQ96x4fs", "PQ48x8"] {
        let codec = vector_codecs::factory::build(name, D, Metric::InnerProduct, 1, &data[..4096 * D]).unwrap();
        let mut codes = vec![0u8; N * codec.code_len()];
        codec.encode_batch(&data, &mut codes).unwrap();
        let codes = codes.repeat(TILE);
        let n = TILE * N;
        let layout = codec.layout(&codes).unwrap();
        let mut scratch = vec![0f32; MANY_QUERIES * codec.query_scratch_len()];
        g.bench_function(format!("{name}/top10-1q-per-pass"), |b| {
            b.iter(|| {
                for q in qs.chunks_exact(D) {
                    let mut top = TopK::<16>::new(10);
                    codec.scan_layout_topk_into(q, &mut scratch, black_box(&layout), n, &mut top).unwrap();
                    black_box(&top);
                }
            })
        });
        g.bench_function(format!("{name}/top10-batch"), |b| {
            b.iter(|| {
                let mut tops: Vec<TopK<16>> = (0..NQ).map(|_| TopK::new(10)).collect();
                codec.scan_layout_topk_many_into(&qs, &mut scratch, black_box(&layout), n, &mut tops).unwrap();
                black_box(&tops);
            })
        });
    }
    g.finish();
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

criterion_group!(benches, scans, queries, assign);
criterion_main!(benches);
