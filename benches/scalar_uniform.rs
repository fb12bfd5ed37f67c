//! Uniform scalar quantization: encode, decode and scan throughput (float and integer query).
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::rng::Rng;
use vector_codecs::scalar::uniform::{BlockUniform, PerDim, RangeEstimator, ScaleFormat};
use vector_codecs::{Codec, Decode, Score};

const N: usize = 20_000;

fn data(d: usize) -> Vec<f32> {
    let mut r = Rng::new(1);
    let mut v = vec![0f32; N * d];
    r.fill_gaussian(&mut v);
    v
}

fn bench_codec<C: Score + Decode>(c: &mut Criterion, name: &str, codec: &C, xs: &[f32]) {
    let d = codec.dim();
    let mut codes = vec![0u8; N * codec.code_len()];
    codec.encode_batch(xs, &mut codes).unwrap();
    let mut g = c.benchmark_group(format!("{name}/d{d}"));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("encode", |b| b.iter(|| codec.encode_batch(black_box(xs), &mut codes).unwrap()));
    let mut out = vec![0f32; N * d];
    g.bench_function("decode", |b| b.iter(|| codec.decode_batch(black_box(&codes), &mut out).unwrap()));
    g.throughput(Throughput::Bytes(codes.len() as u64));
    let mut scratch = vec![0f32; codec.query_scratch_len()];
    let q = codec.prepare(&xs[..d], &mut scratch).unwrap();
    let mut scores = vec![0f32; N];
    g.bench_function("scan_float", |b| b.iter(|| codec.score_batch(&q, black_box(&codes), &mut scores).unwrap()));
    g.finish();
}

fn bench_int(c: &mut Criterion, name: &str, codec: &PerDim, xs: &[f32]) {
    let d = codec.dim();
    let mut codes = vec![0u8; N * codec.code_len()];
    codec.encode_batch(xs, &mut codes).unwrap();
    let mut g = c.benchmark_group(format!("{name}/d{d}"));
    g.throughput(Throughput::Bytes(codes.len() as u64));
    for prec in [ScanMode::I8, ScanMode::I16] {
        let sc = codec.clone().with_scan(prec).unwrap();
        let mut scratch = vec![0f32; sc.query_scratch_len()];
        let q = sc.prepare(&xs[..d], &mut scratch).unwrap();
        let mut scores = vec![0f32; N];
        g.bench_function(format!("scan_int_{prec:?}"), |b| {
            b.iter(|| sc.score_batch(&q, black_box(&codes), &mut scores).unwrap())
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    for d in [384, 768] {
        let xs = data(d);
        for bits in [8u32, 4] {
            let pd = PerDim::train(&xs, d, bits, RangeEstimator::MinMax, false).unwrap();
            bench_codec(c, &format!("sq{bits}"), &pd, &xs);
            bench_int(c, &format!("sq{bits}"), &pd, &xs);
            let b32 = BlockUniform::with_scales(d, bits, Some(32), false, ScaleFormat::F16).unwrap();
            bench_codec(c, &format!("sq{bits}-b32"), &b32, &xs);
        }
    }
}

criterion_group!(uniform, benches);
criterion_main!(uniform);
