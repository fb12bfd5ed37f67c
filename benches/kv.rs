//! KV-cache attention from codes against decode-then-dot, in the same run: 2,048 keys (16
//! blocks of 128 tokens) of one head at d = 32 and d = 128, keys `ChannelKeys` at 3 code bits
//! (f16 block parameters), values `TokenValues` at 3 bits (symmetric, one f16 scale per 32
//! channels).
//!
//! * `logits/codes` — `TokenBlock::logits` per block (`q·k̂_t` from the codes);
//! * `logits/decode` — `decode_into` per block into a reused buffer, then `simd::dot` per key;
//! * `attend/codes` and `attend/decode` — the same for `Σ_t p_t·v̂_t`;
//! * `entropy/…` (d = 32 only): `EntropyBlock` keys at 3.5 stored bits/dim, 8 queries per block:
//!   `logits_batch` (range decoding once, then integer-index dot products) against
//!   `decode_into` + `simd::dot`, and `encode` of the 16 blocks (step search).
//!
//! `cargo bench --bench kv -- --warm-up-time 1 --measurement-time 2`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::kv::{ChannelKeys, EntropyBlock, TokenBlock, TokenValues};
use vector_codecs::rng::Rng;
use vector_codecs::scalar::side::SideFormat;
use vector_codecs::{Codec, Decode};

const N: usize = 2048;
const B: usize = 128;

fn group(c: &mut Criterion, d: usize) {
    let mut rng = Rng::new(5);
    let mut x = vec![0f32; N * d];
    rng.fill_gaussian(&mut x);
    for (i, v) in x.iter_mut().enumerate() {
        *v = *v * (0.5 + (i % d) as f32 / d as f32) + (i % 7) as f32 * 0.1;
    }
    let mut q = vec![0f32; d];
    rng.fill_gaussian(&mut q);
    let p: Vec<f32> = (0..N).map(|i| 1.0 / N as f32 + (i % 3) as f32 * 1e-6).collect();
    let keys = ChannelKeys::new(d, B, 3.0, SideFormat::F16).unwrap();
    let values = TokenValues::new(d, B, 3, 32, true, SideFormat::F16).unwrap();
    let mut kc = vec![0u8; N / B * keys.code_len()];
    keys.encode_batch(&x, &mut kc).unwrap();
    let mut vc = vec![0u8; N / B * values.code_len()];
    values.encode_batch(&x, &mut vc).unwrap();
    let mut out = vec![0f32; N];
    let mut buf = vec![0f32; B * d];
    let mut o = vec![0f32; d];
    let mut g = c.benchmark_group(format!("kv_d{d}"));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("logits/codes", |b| {
        b.iter(|| {
            for (code, o) in black_box(&kc).chunks_exact(keys.code_len()).zip(out.chunks_exact_mut(B)) {
                keys.logits(&q, code, o).unwrap();
            }
        })
    });
    g.bench_function("logits/decode", |b| {
        b.iter(|| {
            for (code, o) in black_box(&kc).chunks_exact(keys.code_len()).zip(out.chunks_exact_mut(B)) {
                keys.decode_into(code, &mut buf).unwrap();
                for (k, l) in buf.chunks_exact(d).zip(o.iter_mut()) {
                    *l = vector_codecs::simd::dot(&q, k);
                }
            }
        })
    });
    g.bench_function("attend/codes", |b| {
        b.iter(|| {
            o.fill(0.0);
            for (code, pb) in black_box(&vc).chunks_exact(values.code_len()).zip(p.chunks_exact(B)) {
                values.attend(pb, code, &mut o).unwrap();
            }
        })
    });
    g.bench_function("attend/decode", |b| {
        b.iter(|| {
            o.fill(0.0);
            for (code, pb) in black_box(&vc).chunks_exact(values.code_len()).zip(p.chunks_exact(B)) {
                values.decode_into(code, &mut buf).unwrap();
                for (v, &pt) in buf.chunks_exact(d).zip(pb) {
                    o.iter_mut().zip(v).for_each(|(o, &x)| *o += pt * x);
                }
            }
        })
    });
    if d == 32 {
        let ek = EntropyBlock::new(d, B, 3.5).unwrap().calibrate(&x[..B * d], Some(&x[B * d..2 * B * d])).unwrap();
        let mut ec = vec![0u8; N / B * ek.code_len()];
        ek.encode_batch(&x, &mut ec).unwrap();
        let mut qs = vec![0f32; 8 * d];
        rng.fill_gaussian(&mut qs);
        let mut out8 = vec![0f32; 8 * B];
        g.bench_function("entropy/logits-8q/codes", |b| {
            b.iter(|| {
                for code in black_box(&ec).chunks_exact(ek.code_len()) {
                    ek.logits_batch(&qs, code, &mut out8).unwrap();
                }
            })
        });
        g.bench_function("entropy/logits-8q/decode", |b| {
            b.iter(|| {
                for code in black_box(&ec).chunks_exact(ek.code_len()) {
                    ek.decode_into(code, &mut buf).unwrap();
                    for (qv, o) in qs.chunks_exact(d).zip(out8.chunks_exact_mut(B)) {
                        for (k, l) in buf.chunks_exact(d).zip(o.iter_mut()) {
                            *l = vector_codecs::simd::dot(qv, k);
                        }
                    }
                }
            })
        });
        g.bench_function("entropy/encode", |b| b.iter(|| ek.encode_batch(black_box(&x), &mut ec).unwrap()));
        // One layer's step shared by 6 heads (MiniLM-L6's head count), one block of `B` tokens
        // each, against the same 6 blocks each at its own step.
        let heads: Vec<&EntropyBlock> = vec![&ek; 6];
        let blocks: Vec<&[f32]> = x.chunks_exact(B * d).take(6).collect();
        let budget = 6 * (7 * B * d / 16);
        let mut sc = vec![0u8; 6 * ek.code_len()];
        g.bench_function("entropy/encode-shared-step-6-blocks", |b| {
            b.iter(|| vector_codecs::kv::encode_shared_step(black_box(&heads), &blocks, budget, &mut sc).unwrap())
        });
        g.bench_function("entropy/encode-own-step-6-blocks", |b| {
            b.iter(|| ek.encode_batch(black_box(&x[..6 * B * d]), &mut sc).unwrap())
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    group(c, 32);
    group(c, 128);
}

criterion_group!(kv, benches);
criterion_main!(kv);
