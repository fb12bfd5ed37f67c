//! RaBitQ encode and scan throughput at d = 384 (Identity rotation, so the rotation's own cost is
//! excluded; the evaluation example reports end-to-end rates with a dense rotation).
//!
//! Short sanity run: `cargo bench --bench rabitq -- --warm-up-time 1 --measurement-time 2`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::rabitq::{QueryMode, RaBitQ};
use vector_codecs::rng::Rng;
use vector_codecs::transform::Identity;
use vector_codecs::{Codec, Score};

const D: usize = 384;
const N: usize = 4096;

fn bench(c: &mut Criterion) {
    let mut rng = Rng::new(1);
    let data: Vec<f32> = (0..N * D).map(|_| rng.gaussian() as f32).collect();
    let q: Vec<f32> = (0..D).map(|_| rng.gaussian() as f32).collect();
    for bits in [1u8, 4] {
        let codec = RaBitQ::new(Identity(D), bits).unwrap();
        let mut codes = vec![0u8; N * codec.code_len()];
        let mut g = c.benchmark_group(format!("rabitq{bits}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("encode", |b| b.iter(|| codec.encode_batch(black_box(&data), &mut codes).unwrap()));
        codec.encode_batch(&data, &mut codes).unwrap();
        let mut out = vec![0f32; N];
        for mode in [QueryMode::Float, QueryMode::Quantized4] {
            let codec = codec.clone().with_query_mode(mode, 3);
            let mut scratch = codec.scratch();
            let p = codec.prepare(&q, &mut scratch).unwrap();
            g.bench_function(format!("scan_{mode:?}"), |b| {
                b.iter(|| codec.score_batch(&p, black_box(&codes), &mut out).unwrap())
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
