//! Encode / decode / scan throughput of the float-format and Lloyd–Max codecs at d = 384, 768.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::rng::Rng;
use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
use vector_codecs::scalar::lloyd::{LloydCodec, TrainedLloydCodec};
use vector_codecs::{Codec, Decode, Score};

const N: usize = 2000;

fn run<C: Score + Decode>(c: &mut Criterion, name: &str, codec: &C) {
    let d = codec.dim();
    let mut rng = Rng::new(1);
    let mut xs = vec![0f32; N * d];
    rng.fill_gaussian(&mut xs);
    let mut codes = vec![0u8; N * codec.code_len()];
    codec.encode_batch(&xs, &mut codes).unwrap();
    let mut g = c.benchmark_group(format!("{name}/d{d}"));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("encode", |b| b.iter(|| codec.encode_batch(black_box(&xs), &mut codes).unwrap()));
    let mut out = vec![0f32; N * d];
    g.bench_function("decode", |b| b.iter(|| codec.decode_batch(black_box(&codes), &mut out).unwrap()));
    let mut scratch = codec.scratch();
    let q = codec.prepare(&xs[..d], &mut scratch).unwrap();
    let mut scores = vec![0f32; N];
    g.bench_function("scan", |b| b.iter(|| codec.score_batch(&q, black_box(&codes), &mut scores).unwrap()));
    g.finish();
}

fn benches(c: &mut Criterion) {
    for d in [384usize, 768] {
        for (name, f) in [
            ("f16", FloatFormat::F16),
            ("bf16", FloatFormat::Bf16),
            ("e4m3", FloatFormat::E4M3),
            ("nvfp4", FloatFormat::NvFp4),
            ("mxfp4", FloatFormat::MxFp4),
        ] {
            run(c, name, &FloatCodec::new(d, f).unwrap());
        }
        run(c, "lloyd4", &LloydCodec::gaussian(d, 4).unwrap());
        trained_per_dim(c, d);
    }
}

/// Trained per-dimension codebooks: the byte-table scan (`query_scratch_len`) against the
/// per-dimension table it replaced (`compact_query_scratch_len`), same codes, same run.
fn trained_per_dim(c: &mut Criterion, d: usize) {
    let mut rng = Rng::new(2);
    let mut xs = vec![0f32; N * d];
    rng.fill_gaussian(&mut xs);
    for b in [2u32, 4] {
        let codec = TrainedLloydCodec::train(d, b, true, &xs, 10).unwrap();
        run(c, &format!("lloyd{b}-trained-dim"), &codec);
        let mut codes = vec![0u8; N * codec.code_len()];
        codec.encode_batch(&xs, &mut codes).unwrap();
        let mut scratch = vec![0f32; codec.compact_query_scratch_len()];
        let q = codec.prepare(&xs[..d], &mut scratch).unwrap();
        let mut scores = vec![0f32; N];
        let mut g = c.benchmark_group(format!("lloyd{b}-trained-dim/d{d}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("scan-compact-table", |bn| {
            bn.iter(|| codec.score_batch(&q, black_box(&codes), &mut scores).unwrap())
        });
        g.finish();
    }
}

criterion_group!(group, benches);
criterion_main!(group);
