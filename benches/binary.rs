//! Binary codes: encode, Hamming scan, float-query scan and 4-bit-query scan at d = 384 and 768
//! over 200,000 codes (top-10, single thread). Throughput is reported in bytes of codes scanned
//! (bytes of f32 input for encode). The 1,000,000-code measurement against memory bandwidth is
//! `cargo bench --bench binary_scan`.

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use vector_codecs::binary::{BinaryCodec, hamming_scan_topk};
use vector_codecs::rng::Rng;
use vector_codecs::topk::TopK;
use vector_codecs::{Codec, Score};

const N: usize = 200_000;

fn data(d: usize, n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n * d).map(|_| r.gaussian() as f32).collect()
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("binary/encode");
    for d in [384usize, 768] {
        let xs = data(d, 1000, 1);
        g.throughput(Throughput::Bytes((xs.len() * 4) as u64));
        for (name, codec) in [("bin1", BinaryCodec::sign(d).unwrap()), ("bin4", BinaryCodec::residual(d, 4).unwrap())] {
            let mut codes = vec![0u8; 1000 * codec.code_len()];
            g.bench_function(BenchmarkId::new(name, d), |b| {
                b.iter(|| codec.encode_batch(black_box(&xs), &mut codes).unwrap())
            });
        }
    }
    g.finish();
}

fn bench_scans(c: &mut Criterion) {
    let mut g = c.benchmark_group("binary/scan");
    g.sample_size(20);
    for d in [384usize, 768] {
        let q = data(d, 1, 2);
        for (name, codec) in [("bin1", BinaryCodec::sign(d).unwrap()), ("bin4", BinaryCodec::residual(d, 4).unwrap())] {
            let len = codec.code_len();
            let mut r = Rng::new(3);
            // Random bytes are valid codes once padding and scales are fixed up; use real encodes
            // for the scales (cheap: encode a few vectors and tile them with random planes).
            let xs = data(d, 64, 4);
            let mut codes = vec![0u8; N * len];
            for (i, code) in codes.chunks_exact_mut(len).enumerate() {
                codec.encode_into(&xs[(i % 64) * d..(i % 64 + 1) * d], code).unwrap();
                for b in &mut code[..codec.bits_len()] {
                    *b = r.next_u32() as u8;
                }
            }
            g.throughput(Throughput::Bytes(codes.len() as u64));
            if codec.stages() == 1 {
                let mut qc = vec![0u8; len];
                codec.encode_into(&q, &mut qc).unwrap();
                g.bench_function(BenchmarkId::new(format!("hamming-top10/{name}"), d), |b| {
                    b.iter(|| {
                        let mut t = TopK::<16>::new(10);
                        hamming_scan_topk(black_box(&qc), &codes, 0, &mut t).unwrap();
                        t.len()
                    })
                });
            }
            let mut scratch = codec.scratch();
            let fq = codec.prepare(&q, &mut scratch).unwrap();
            g.bench_function(BenchmarkId::new(format!("float-query-top10/{name}"), d), |b| {
                b.iter(|| {
                    let mut t = TopK::<16>::new(10);
                    codec.scan_topk(&fq, black_box(&codes), 0, &mut t).unwrap();
                    t.len()
                })
            });
            let s = codec.bitsliced();
            let mut bscratch = s.scratch();
            let bq = s.prepare(&q, &mut bscratch).unwrap();
            g.bench_function(BenchmarkId::new(format!("4bit-query-top10/{name}"), d), |b| {
                b.iter(|| {
                    let mut t = TopK::<16>::new(10);
                    s.scan_topk(&bq, black_box(&codes), 0, &mut t).unwrap();
                    t.len()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_encode, bench_scans);
criterion_main!(benches);
