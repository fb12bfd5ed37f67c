//! Pyramid VQ: decode throughput at 3 and 3.25 bits per dimension (d = 384) for groups of 8,
//! 16 and 32 with fixed-length and range-coded indexes (the weight report's configurations)
//! and for recursive splitting (`SplitCodec`); encode and score for three of them (range D32,
//! fixed D8, the split codec of `pvq3-split`); in weights
//! (coordinates) per second; plus the raw index decode (`PulseTable::decode`).
//!
//! `cargo bench --bench pvq` (`-- decode` for the decode rows only). The target: decode ≥ 100 M weights/s single thread at
//! 3 bits per weight (see BENCHMARKS.md for the measured numbers).
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::pvq::count::PulseTable;
use vector_codecs::pvq::{GainQuantizer, IndexCoding, PvqCodec, Search, SplitCodec};
use vector_codecs::rng::Rng;
use vector_codecs::{Codec, Decode, Score};

const N: usize = 2000;

fn codes<C: Codec>(codec: &C) -> (Vec<f32>, Vec<u8>) {
    let d = codec.dim();
    let mut rng = Rng::new(1);
    let mut xs = vec![0f32; N * d];
    rng.fill_gaussian(&mut xs);
    let mut codes = vec![0u8; N * codec.code_len()];
    codec.encode_batch(&xs, &mut codes).unwrap();
    (xs, codes)
}

fn run_decode<C: Codec + Decode>(c: &mut Criterion, name: &str, codec: &C) {
    let d = codec.dim();
    let (_, codes) = codes(codec);
    let mut g = c.benchmark_group(format!("pvq/{name}/d{d}"));
    g.throughput(Throughput::Elements((N * d) as u64));
    g.sample_size(10);
    let mut out = vec![0f32; N * d];
    g.bench_function("decode", |b| b.iter(|| codec.decode_batch(black_box(&codes), &mut out).unwrap()));
    g.finish();
}

fn run<C: Decode + Score>(c: &mut Criterion, name: &str, codec: &C) {
    let d = codec.dim();
    let (xs, mut codes) = codes(codec);
    let mut g = c.benchmark_group(format!("pvq/{name}/d{d}"));
    g.throughput(Throughput::Elements((N * d) as u64));
    g.sample_size(10);
    g.bench_function("encode", |b| b.iter(|| codec.encode_batch(black_box(&xs), &mut codes).unwrap()));
    let mut out = vec![0f32; N * d];
    g.bench_function("decode", |b| b.iter(|| codec.decode_batch(black_box(&codes), &mut out).unwrap()));
    let mut scratch = codec.scratch();
    let q = codec.prepare(&xs[..d], &mut scratch).unwrap();
    let mut scores = vec![0f32; N];
    g.bench_function("score", |b| b.iter(|| codec.score_batch(&q, black_box(&codes), &mut scores).unwrap()));
    g.finish();
}

fn index_decode(c: &mut Criterion) {
    // Index decode alone for D = 8, 16, 32 at ~3 bits per coordinate.
    for (n, k) in [(8u32, 10u32), (16, 21), (32, 44)] {
        let mut rng = Rng::new(2);
        let table64 = PulseTable::<u64>::new(n, k).ok();
        let table128 = PulseTable::<u128>::new(n, k).unwrap();
        let mut idx = Vec::new();
        let mut y = vec![0i32; n as usize];
        let mut x = vec![0f32; n as usize];
        for _ in 0..1000 {
            rng.fill_gaussian(&mut x);
            Search::Greedy.run(&x, k, &mut y).unwrap();
            idx.push(table128.index(&y).unwrap());
        }
        let mut g = c.benchmark_group(format!("pvq/cwrsi/N{n}K{k}"));
        g.throughput(Throughput::Elements(1000 * u64::from(n)));
        g.sample_size(10);
        match &table64 {
            Some(t) => g.bench_function("u64", |b| {
                b.iter(|| {
                    for &i in &idx {
                        t.decode(k, i as u64, &mut y).unwrap();
                    }
                })
            }),
            None => g.bench_function("u128", |b| {
                b.iter(|| {
                    for &i in &idx {
                        table128.decode(k, i, &mut y).unwrap();
                    }
                })
            }),
        };
        g.finish();
    }
}

fn benches(c: &mut Criterion) {
    let d = 384;
    run(c, "range-D32", &vector_codecs::pvq::codec::gaussian_codec(d, 3.0).unwrap());
    let gain = GainQuantizer::default_for(2, d, 8).unwrap();
    run(c, "fixed-D8", &PvqCodec::for_rate(d, 8, 3.0, gain, IndexCoding::Fixed, Search::Greedy).unwrap());
    // The factory's pvq3-split: encode, decode and score from the pulses.
    run(c, "split-leaf32-u128", &SplitCodec::new(d, 3.0, 32, 128, Search::Greedy).unwrap());
    for rate in [3.0, 3.25] {
        for group in [8usize, 16, 32] {
            for coding in [IndexCoding::Fixed, IndexCoding::Range] {
                let gain = GainQuantizer::default_for(2, d, group).unwrap();
                let codec = PvqCodec::for_rate(d, group, rate, gain, coding, Search::Greedy).unwrap();
                run_decode(c, &format!("{coding:?}-D{group}-{rate}b"), &codec);
            }
        }
        let split = SplitCodec::new(d, rate, 32, 128, Search::Greedy).unwrap();
        run_decode(c, &format!("split-leaf32-u128-{rate}b"), &split);
    }
    index_decode(c);
}

criterion_group!(group, benches);
criterion_main!(group);
