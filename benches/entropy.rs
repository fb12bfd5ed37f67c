//! Entropy coder benchmarks: our rANS (single-state and interleaved) and range coder next to the
//! `constriction` crate's `AnsCoder` and `RangeEncoder` in the same run, on 10 M symbols from a
//! 256-symbol source with entropy ≈ 5 bits and a 16-symbol source with ≈ 2.5 bits; lossless bf16
//! encode/decode of N(0, 0.02) values.
use constriction::stream::model::DefaultContiguousCategoricalEntropyModel;
use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::{Decode as _, Encode as _};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use vector_codecs::entropy::lossless::{FloatKind, LosslessConfig, LosslessFloats, compress};
use vector_codecs::entropy::model::{EncSym, Model, ModelView, fill_tables};
use vector_codecs::entropy::range::{RangeDecoder, RangeEncoder};
use vector_codecs::entropy::rans::rans32;
use vector_codecs::entropy::word::{self, Lanes};
use vector_codecs::rng::Rng;

const N: usize = 10_000_000;

fn probs(k: usize, decay: f64) -> Vec<f64> {
    let w: Vec<f64> = (0..k).map(|i| decay.powi(i as i32)).collect();
    let t: f64 = w.iter().sum();
    w.iter().map(|x| x / t).collect()
}
fn entropy(p: &[f64]) -> f64 {
    p.iter().filter(|&&x| x > 0.0).map(|&x| -x * x.log2()).sum()
}
/// Geometric source over `k` symbols with entropy `h` (bisection on the decay).
fn source(k: usize, h: f64, n: usize, seed: u64) -> (Vec<f64>, Vec<u16>) {
    let (mut lo, mut hi) = (0.01f64, 1.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if entropy(&probs(k, mid)) < h { lo = mid } else { hi = mid }
    }
    let p = probs(k, 0.5 * (lo + hi));
    let mut cdf = Vec::new();
    let mut a = 0.0;
    for &x in &p {
        a += x;
        cdf.push(a);
    }
    let mut rng = Rng::new(seed);
    let s = (0..n)
        .map(|_| {
            let u = rng.next_f64();
            cdf.partition_point(|&c| c <= u).min(k - 1) as u16
        })
        .collect();
    (p, s)
}

fn bench_source(c: &mut Criterion, name: &str, k: usize, h: f64) {
    let (p, data) = source(k, h, N, k as u64);
    // Scale 15 for the 256-symbol source: at 14 the model's rounding alone costs 0.11% over the
    // entropy (every present tail symbol needs a count ≥ 1); at 15, 0.05%.
    let model = Model::from_symbols(&data, k, if k > 16 { 15 } else { 12 }).unwrap();
    let v = [model.view()];
    let ideal = model.view().cost_bits(&data);
    let empirical = {
        let mut h = vec![0f64; k];
        data.iter().for_each(|&s| h[usize::from(s)] += 1.0);
        h.iter().filter(|&&c| c > 0.0).map(|&c| -c * (c / N as f64).log2()).sum::<f64>()
    };
    let mut g = c.benchmark_group(format!("entropy/{name}"));
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    let mut out = vec![0u16; N];

    let mut buf = vec![0u8; rans32::max_encoded_len(N)];
    let len = rans32::encode(&v[0], &data, &mut buf).unwrap();
    eprintln!("{name}: H={h} ideal {:.4} bits/sym; rans32 {:.4}", ideal / N as f64, len as f64 * 8.0 / N as f64);
    g.bench_function("ours_rans32_encode", |b| b.iter(|| rans32::encode(&v[0], black_box(&data), &mut buf).unwrap()));
    g.bench_function("ours_rans32_decode", |b| {
        b.iter(|| rans32::decode(&v[0], black_box(&buf[..len]), &mut out).unwrap())
    });
    // The interleaved coder (32-bit states, 16-bit words): same data and model.
    for lanes in [Lanes::L4, Lanes::L8, Lanes::L32] {
        let mut wb = vec![0u8; word::max_encoded_len(N, lanes)];
        let wl = word::encode(&v[0], lanes, &data, &mut wb).unwrap();
        eprintln!(
            "{name}: word x{} {:.4} bits/sym (over the model cost {:.4}%, over the empirical entropy {:.4} \
             bits/sym {:.4}%)",
            lanes.count(),
            wl as f64 * 8.0 / N as f64,
            (wl as f64 * 8.0 / ideal - 1.0) * 100.0,
            empirical / N as f64,
            (wl as f64 * 8.0 / empirical - 1.0) * 100.0
        );
        g.bench_function(format!("ours_word{}_encode", lanes.count()), |b| {
            b.iter(|| word::encode(&v[0], lanes, black_box(&data), &mut wb).unwrap())
        });
        word::decode(&v[0], lanes, &wb[..wl], &mut out).unwrap();
        assert_eq!(out, data);
        g.bench_function(format!("ours_word{}_decode", lanes.count()), |b| {
            b.iter(|| word::decode(&v[0], lanes, black_box(&wb[..wl]), &mut out).unwrap())
        });
    }
    // The interleaved coder through a plain view (no word side tables: scalar encoder, u64-table
    // decoder): what callers without an allocator get unless they attach `fill_word_tables` output.
    {
        let n = model.scale_bits();
        let mut enc = vec![EncSym::default(); k];
        let mut dec = vec![0u64; 1 << n];
        fill_tables(model.freqs(), n, &mut enc, &mut dec).unwrap();
        let plain = ModelView::new(n, &enc, &dec).unwrap();
        let mut wb = vec![0u8; word::max_encoded_len(N, Lanes::L32)];
        let wl = word::encode(&plain, Lanes::L32, &data, &mut wb).unwrap();
        g.bench_function("ours_word32_plainview_encode", |b| {
            b.iter(|| word::encode(&plain, Lanes::L32, black_box(&data), &mut wb).unwrap())
        });
        word::decode(&plain, Lanes::L32, &wb[..wl], &mut out).unwrap();
        assert_eq!(out, data);
        g.bench_function("ours_word32_plainview_decode", |b| {
            b.iter(|| word::decode(&plain, Lanes::L32, black_box(&wb[..wl]), &mut out).unwrap())
        });
    }
    // Our range coder with a static model (cumulative frequencies, 2^12 total).
    let small = Model::from_symbols(&data, k, 12).unwrap();
    let f = small.freqs().to_vec();
    let cum: Vec<u32> = f
        .iter()
        .scan(0, |a, &x| {
            let s = *a;
            *a += x;
            Some(s)
        })
        .collect();
    let mut slot = vec![0u16; 1 << 12];
    for (s, (&c, &fr)) in cum.iter().zip(&f).enumerate() {
        for j in c..c + fr {
            slot[j as usize] = s as u16;
        }
    }
    let mut rb = vec![0u8; 2 * N];
    let rlen = {
        let mut e = RangeEncoder::new(&mut rb);
        for &s in &data {
            e.encode_bin(cum[s as usize], cum[s as usize] + f[s as usize], 12).unwrap();
        }
        e.finish().unwrap()
    };
    eprintln!("{name}: our range coder {:.4} bits/sym", rlen as f64 * 8.0 / N as f64);
    g.bench_function("ours_range_encode", |b| {
        b.iter(|| {
            let mut e = RangeEncoder::new(&mut rb);
            for &s in black_box(&data) {
                e.encode_bin(cum[s as usize], cum[s as usize] + f[s as usize], 12).unwrap();
            }
            e.finish().unwrap()
        })
    });
    g.bench_function("ours_range_decode", |b| {
        b.iter(|| {
            let mut d = RangeDecoder::new(black_box(&rb[..rlen]));
            for o in out.iter_mut() {
                let v = d.decode_bin(12).unwrap();
                let s = slot[v as usize] as usize;
                d.update(cum[s], cum[s] + f[s], 1 << 12).unwrap();
                *o = s as u16;
            }
        })
    });

    // constriction (crates.io) in the same run.
    let cm = DefaultContiguousCategoricalEntropyModel::from_floating_point_probabilities_fast(&p, None).unwrap();
    let mut coder = DefaultAnsCoder::new();
    coder.encode_iid_symbols_reverse(data.iter().map(|&s| s as usize), &cm).unwrap();
    let compressed = coder.into_compressed().unwrap();
    eprintln!("{name}: constriction ANS {:.4} bits/sym", compressed.len() as f64 * 32.0 / N as f64);
    g.bench_function("constriction_ans_encode", |b| {
        b.iter(|| {
            let mut coder = DefaultAnsCoder::new();
            coder.encode_iid_symbols_reverse(black_box(&data).iter().map(|&s| s as usize), &cm).unwrap();
            coder.into_compressed().unwrap()
        })
    });
    g.bench_function("constriction_ans_decode", |b| {
        b.iter(|| {
            let mut coder = DefaultAnsCoder::from_compressed(compressed.clone()).unwrap();
            for (o, s) in out.iter_mut().zip(coder.decode_iid_symbols(N, &cm)) {
                *o = s.unwrap() as u16;
            }
        })
    });
    let mut enc = DefaultRangeEncoder::new();
    enc.encode_iid_symbols(data.iter().map(|&s| s as usize), &cm).unwrap();
    let rc = enc.into_compressed().unwrap();
    g.bench_function("constriction_range_encode", |b| {
        b.iter(|| {
            let mut enc = DefaultRangeEncoder::new();
            enc.encode_iid_symbols(black_box(&data).iter().map(|&s| s as usize), &cm).unwrap();
            enc.into_compressed().unwrap()
        })
    });
    g.bench_function("constriction_range_decode", |b| {
        b.iter(|| {
            let mut dec = DefaultRangeDecoder::from_compressed(rc.clone()).unwrap();
            for (o, s) in out.iter_mut().zip(dec.decode_iid_symbols(N, &cm)) {
                *o = s.unwrap() as u16;
            }
        })
    });
    g.finish();
}

fn sources(c: &mut Criterion) {
    bench_source(c, "k256_h5", 256, 5.0);
    bench_source(c, "k16_h2.5", 16, 2.5);
}

fn lossless(c: &mut Criterion) {
    let mut rng = Rng::new(4);
    let n = 4 << 20;
    let v: Vec<u16> = (0..n)
        .map(|_| {
            let u = ((rng.gaussian() * 0.02) as f32).to_bits();
            ((u + 0x7fff + ((u >> 16) & 1)) >> 16) as u16
        })
        .collect();
    let cfg = LosslessConfig::default();
    let bytes = compress(FloatKind::Bf16, &v, &cfg).unwrap();
    eprintln!("lossless bf16 N(0,0.02): {:.4} bits/value", bytes.len() as f64 * 8.0 / n as f64);
    let f = LosslessFloats::open(&bytes).unwrap();
    let mut out = vec![0u16; n];
    let mut g = c.benchmark_group("entropy/lossless_bf16");
    g.throughput(Throughput::Bytes(2 * n as u64));
    g.sample_size(10);
    g.bench_function("encode", |b| b.iter(|| compress(FloatKind::Bf16, black_box(&v), &cfg).unwrap()));
    f.decode_all(&mut out).unwrap();
    assert_eq!(out, v);
    g.bench_function("decode", |b| b.iter(|| f.decode_all(&mut out).unwrap()));
    g.finish();
}

criterion_group!(benches, sources, lossless);
criterion_main!(benches);
