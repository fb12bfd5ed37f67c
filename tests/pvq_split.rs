//! Recursive-split PVQ (`pvq::split::SplitCodec`): round trips, the tree's bit budget and
//! pulse bounds, codebook consistency (a decoded point re-encodes to its own code), an
//! exhaustive small case, hostile input, and the comparison with fixed groups.
mod common;

use vector_codecs::metric::Metric;
use vector_codecs::persist::Persist;
use vector_codecs::pvq::codec::gaussian_codec;
use vector_codecs::pvq::{Search, SplitCodec};
use vector_codecs::rng::Rng;
use vector_codecs::{Codec, Decode, Error, Score, factory};

fn gaussian(n: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0f32; n];
    Rng::new(seed).fill_gaussian(&mut v);
    v
}

fn rel_mse(c: &dyn Fn(&[f32]) -> Vec<f32>, data: &[f32]) -> f64 {
    let h = c(data);
    let e: f64 = data.iter().zip(&h).map(|(a, b)| f64::from(a - b).powi(2)).sum();
    e / data.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>()
}

fn roundtrip<C: Codec + Decode>(c: &C, data: &[f32]) -> Vec<f32> {
    let mut codes = vec![0u8; data.len() / c.dim() * c.code_len()];
    c.encode_batch(data, &mut codes).unwrap();
    let mut out = vec![0f32; data.len()];
    c.decode_batch(&codes, &mut out).unwrap();
    out
}

#[test]
fn budget_pulses_and_leaves_are_bounded() {
    for (d, rate, leaf) in [(384usize, 3.0, 32usize), (256, 2.25, 16), (100, 4.0, 8), (7, 8.0, 2), (1000, 3.25, 64)] {
        let c = SplitCodec::new(d, rate, leaf, 64, Search::Greedy).unwrap();
        assert_eq!(c.code_len(), (rate * d as f64 / 8.0).floor() as usize);
        let data = gaussian(d * 20, 1);
        let mut code = vec![0u8; c.code_len()];
        for x in data.chunks_exact(d) {
            c.encode_into(x, &mut code).unwrap();
            let (splits, leaves, info) = c.tree_stats(&code).unwrap();
            assert!(info <= c.budget_eighths() as f64 / 8.0 + 1e-9, "{d} {rate}: {info} bits");
            assert!(leaves >= 1 && splits < d, "{splits} splits");
            let mut covered = vec![false; d];
            c.decode_leaves(&code, |r, y, scale| {
                assert!(r.len() <= leaf && !r.is_empty());
                let k: u32 = y.iter().map(|v| v.unsigned_abs()).sum();
                assert!(k >= 1 && k <= c.kcap(), "K = {k}");
                assert!(scale.is_finite() && scale >= 0.0);
                for i in r {
                    assert!(!covered[i], "leaves overlap");
                    covered[i] = true;
                }
            })
            .unwrap();
        }
    }
}

/// A decoded point is in the codebook, so encoding it again gives the same stream (the
/// angles are on the grid and the leaf search returns the pulses it is given).
#[test]
fn decoded_points_reencode_to_their_code() {
    for (d, rate, leaf) in [(64usize, 3.0, 16usize), (384, 3.0, 32), (33, 4.0, 8)] {
        let c = SplitCodec::new(d, rate, leaf, 64, Search::Greedy).unwrap();
        let data = gaussian(d * 50, 2);
        let (mut code, mut again) = (vec![0u8; c.code_len()], vec![0u8; c.code_len()]);
        let mut x_hat = vec![0f32; d];
        let mut same = 0;
        for x in data.chunks_exact(d) {
            c.encode_into(x, &mut code).unwrap();
            c.decode_into(&code, &mut x_hat).unwrap();
            c.encode_into(&x_hat, &mut again).unwrap();
            // The scale may round differently when a half got no bits; compare the streams.
            if code[2..] == again[2..] {
                same += 1;
            }
        }
        assert!(same >= 48, "({d}, {rate}, {leaf}): {same}/50 re-encode to their code");
    }
}

/// Every value of the first two stream bytes of a small codec (the rest zero): each decodes
/// to finite values or is an error, and every decoded point re-encodes to a code that decodes
/// to the same point.
#[test]
fn exhaustive_small_codes() {
    let c = SplitCodec::new(4, 12.0, 2, 32, Search::Greedy).unwrap();
    assert_eq!(c.code_len(), 6);
    let mut out = vec![0f32; 4];
    let mut back = vec![0f32; 4];
    let mut code2 = vec![0u8; 6];
    let (mut ok, mut points) = (0usize, Vec::<[u32; 4]>::new());
    for v in 0..=u16::MAX {
        let mut code = [0x80u8, 0x3f, 0, 0, 0, 0]; // s = 1.0
        code[2..4].copy_from_slice(&v.to_le_bytes());
        if c.decode_into(&code, &mut out).is_err() {
            continue;
        }
        ok += 1;
        assert!(out.iter().all(|v| v.is_finite()));
        c.encode_into(&out, &mut code2).unwrap();
        c.decode_into(&code2, &mut back).unwrap();
        for (a, b) in out.iter().zip(&back) {
            assert!((a - b).abs() <= 1e-2, "{out:?} -> {back:?}");
        }
        points.push(core::array::from_fn(|i| out[i].to_bits()));
    }
    points.sort_unstable();
    points.dedup();
    assert!(ok > 0 && points.len() > 100, "{ok} valid streams, {} points", points.len());
}

#[test]
fn hostile_input_is_an_error() {
    let c = SplitCodec::new(96, 3.0, 16, 32, Search::Greedy).unwrap();
    let mut out = vec![0f32; 96];
    // Wrong lengths.
    assert!(c.decode_into(&vec![0u8; c.code_len() - 1], &mut out).is_err());
    assert!(c.decode_into(&vec![0u8; c.code_len()], &mut out[..95]).is_err());
    assert!(c.encode_into(&out[..95], &mut vec![0u8; c.code_len()]).is_err());
    // NaN / negative scale.
    let mut code = vec![0u8; c.code_len()];
    code[..2].copy_from_slice(&0x7fc0u16.to_le_bytes());
    assert!(matches!(c.decode_into(&code, &mut out), Err(Error::Corrupt(_))));
    code[..2].copy_from_slice(&0xbf80u16.to_le_bytes());
    assert!(matches!(c.decode_into(&code, &mut out), Err(Error::Corrupt(_))));
    // NaN input.
    let mut x = gaussian(96, 3);
    x[5] = f32::NAN;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    // Random bytes: Ok with finite values or Err, never a panic.
    let mut rng = Rng::new(4);
    let mut errs = 0;
    for _ in 0..3000 {
        for b in code.iter_mut() {
            *b = rng.next_u32() as u8;
        }
        code[..2].copy_from_slice(&0x3f80u16.to_le_bytes());
        match c.decode_into(&code, &mut out) {
            Ok(()) => assert!(out.iter().all(|v| v.is_finite())),
            Err(_) => errs += 1,
        }
    }
    assert!(errs > 0, "no random stream was rejected");
    // Parameters.
    assert!(SplitCodec::new(0, 3.0, 16, 64, Search::Greedy).is_err());
    assert!(SplitCodec::new(64, 3.0, 1, 64, Search::Greedy).is_err());
    assert!(SplitCodec::new(64, 3.0, 65, 64, Search::Greedy).is_err());
    assert!(SplitCodec::new(64, f64::NAN, 16, 64, Search::Greedy).is_err());
    assert!(SplitCodec::new(64, 0.2, 16, 64, Search::Greedy).is_err());
    assert!(SplitCodec::new(64, 3.0, 16, 48, Search::Greedy).is_err());
}

/// Score from the pulses: equals decode-then-dot within float rounding on several trees, and
/// exactly `x̂_j` for the query `e_j` (the other leaves add `scale·0`).
#[test]
fn score_equals_decode_then_dot() {
    for (d, rate, leaf, bits) in
        [(96usize, 3.0, 32usize, 128u32), (256, 2.25, 16, 64), (100, 4.0, 8, 32), (384, 3.25, 32, 128), (7, 8.0, 2, 32)]
    {
        let c = SplitCodec::new(d, rate, leaf, bits, Search::Greedy).unwrap();
        let data = gaussian(d * 20, 11);
        let queries = gaussian(d * 5, 12);
        let mut code = vec![0u8; c.code_len()];
        let mut x_hat = vec![0f32; d];
        let mut scratch = vec![0f32; c.query_scratch_len()];
        for x in data.chunks_exact(d) {
            c.encode_into(x, &mut code).unwrap();
            c.decode_into(&code, &mut x_hat).unwrap();
            for q in queries.chunks_exact(d) {
                let pq = c.prepare(q, &mut scratch).unwrap();
                let got = c.score(&pq, &code).unwrap();
                let want: f64 = q.iter().zip(&x_hat).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                let mag: f64 = q.iter().zip(&x_hat).map(|(a, b)| f64::from((a * b).abs())).sum();
                assert!(
                    (f64::from(got) - want).abs() <= 1e-5 * mag + 1e-6,
                    "({d}, {rate}): score {got} vs decode-then-dot {want}"
                );
            }
            for j in [0, d / 2, d - 1] {
                let mut e = vec![0f32; d];
                e[j] = 1.0;
                let pq = c.prepare(&e, &mut scratch).unwrap();
                assert_eq!(c.score(&pq, &code).unwrap(), x_hat[j], "({d}, {rate}) e_{j}");
            }
        }
        // A bad code is an error, not a score.
        let pq = c.prepare(&queries[..d], &mut scratch).unwrap();
        assert!(c.score(&pq, &code[1..]).is_err());
        code[..2].copy_from_slice(&0x7fc0u16.to_le_bytes());
        assert!(matches!(c.score(&pq, &code), Err(Error::Corrupt(_))));
    }
}

/// `to_bytes`/`from_bytes` give the same codec (same codes); every truncation, a changed
/// sub-tag, out-of-range fields and random byte flips are errors or valid codecs, never panics.
#[test]
fn persist_round_trip_and_hostile_bytes() {
    let data = gaussian(96 * 10, 13);
    for (d, rate, leaf, bits, search) in [
        (96usize, 3.0, 32usize, 128u32, Search::Greedy),
        (96, 2.25, 16, 64, Search::Refined),
        (1, 40.0, 2, 32, Search::Greedy),
    ] {
        let c = SplitCodec::new(d, rate, leaf, bits, search).unwrap();
        let bytes = c.to_bytes().unwrap();
        let back = SplitCodec::from_bytes(&bytes).unwrap();
        assert_eq!(back, c);
        let xs = &data[..d * 10];
        let (mut a, mut b) = (vec![0u8; xs.len() / d * c.code_len()], vec![0u8; xs.len() / d * c.code_len()]);
        c.encode_batch(xs, &mut a).unwrap();
        back.encode_batch(xs, &mut b).unwrap();
        assert_eq!(a, b);
        for cut in 0..bytes.len() {
            assert!(SplitCodec::from_bytes(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut rng = Rng::new(14);
        for _ in 0..2000 {
            let mut m = bytes.clone();
            let i = rng.next_u32() as usize % m.len();
            m[i] ^= 1 << (rng.next_u32() % 8);
            if let Ok(c2) = SplitCodec::from_bytes(&m) {
                assert!(c2.dim() <= 1 << 16 && c2.code_len() <= 8 * c2.dim());
            }
        }
    }
    // Fields out of range, through the Persist body (the container's checksum would hide them).
    let body = |dim: u32, len: u32, leaf: u8, bits: u8, search: u8| {
        let mut v = Vec::new();
        v.extend_from_slice(&dim.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&[leaf, bits, search]);
        v
    };
    let restore = |b: &[u8]| SplitCodec::restore(&mut vector_codecs::format::Reader::new(b));
    assert!(restore(&body(96, 36, 32, 128, 0)).is_ok());
    for (bad, why) in [
        (body(0, 36, 32, 128, 0), "dim 0"),
        (body(1 << 17, 36, 32, 128, 0), "dim too large"),
        (body(u32::MAX, 36, 32, 128, 0), "dim u32::MAX"),
        (body(96, 8 * 96 + 1, 32, 128, 0), "over 64 bits per dimension"),
        (body(96, u32::MAX, 32, 128, 0), "code_len u32::MAX"),
        (body(96, 4, 32, 128, 0), "rate too low"),
        (body(96, 36, 1, 128, 0), "leaf 1"),
        (body(96, 36, 65, 128, 0), "leaf 65"),
        (body(96, 36, 32, 48, 0), "leaf bits 48"),
        (body(96, 36, 32, 128, 2), "search tag"),
    ] {
        assert!(matches!(restore(&bad), Err(Error::Corrupt(_))), "{why}");
    }
    assert!(matches!(restore(&body(96, 36, 32, 128, 0)[..10]), Err(Error::Truncated)));
    // Another codec's parameters under the PVQ kind: a different sub-tag.
    let groups = gaussian_codec(96, 3.0).unwrap().to_bytes().unwrap();
    assert!(matches!(SplitCodec::from_bytes(&groups), Err(Error::Corrupt(_))));
    assert_eq!(vector_codecs::pvq::PvqCodec::from_bytes(&groups).unwrap(), gaussian_codec(96, 3.0).unwrap());
}

/// The factory names `pvq{N}-split` / `pvq{N}.{N}-split`: the same codes as the codec built
/// directly (leaf 32, u128, greedy), every metric, save/load through bytes.
#[test]
fn factory_split_names() {
    let d = 96;
    let data = gaussian(d * 40, 15);
    for (name, rate) in [("pvq3-split", 3.0), ("pvq3.25-split", 3.25), ("pvq2-split", 2.0)] {
        let direct = SplitCodec::new(d, rate, 32, 128, Search::Greedy).unwrap();
        for metric in [Metric::InnerProduct, Metric::L2, Metric::Cosine] {
            let c = factory::build(name, d, metric, 1, &[]).unwrap();
            assert_eq!(c.name(), name);
            let mut codes = vec![0u8; 40 * c.code_len()];
            c.encode_batch(&data, &mut codes).unwrap();
            if metric == Metric::InnerProduct {
                assert_eq!(c.code_len(), (rate * d as f64 / 8.0).floor() as usize);
                let mut want = vec![0u8; codes.len()];
                direct.encode_batch(&data, &mut want).unwrap();
                assert_eq!(codes, want, "{name}");
                let mut scratch = vec![0f32; direct.query_scratch_len()];
                let pq = direct.prepare(&data[..d], &mut scratch).unwrap();
                let mut want_s = vec![0f32; 40];
                direct.score_batch(&pq, &want, &mut want_s).unwrap();
                let mut got_s = vec![0f32; 40];
                c.scan(&data[..d], &codes, &mut got_s).unwrap();
                assert_eq!(got_s, want_s);
            }
            let saved = c.save().unwrap();
            let loaded = factory::load(&saved).unwrap();
            let mut again = vec![0u8; codes.len()];
            loaded.encode_batch(&data, &mut again).unwrap();
            assert_eq!(codes, again, "{name} {metric:?}");
            // The saved parameters fix the rate: pvq4-split's differ.
            let other = factory::build("pvq4-split", d, metric, 1, &[]).unwrap().save().unwrap();
            assert_ne!(other, saved);
        }
    }
    assert!(factory::build("pvq0-split", d, Metric::InnerProduct, 1, &[]).is_err());
    assert!(factory::build("pvq1-split", 8, Metric::InnerProduct, 1, &[]).is_err(), "rate too low for d = 8");
}

/// Gaussian data at 3 bits per dimension: the split codec against fixed groups of 32
/// (`gaussian_codec`, 2 fitted gain bits, range coded) at the same code length.
#[test]
fn gaussian_against_fixed_groups() {
    for (d, rate) in [(256usize, 3.0), (1024, 3.0), (384, 3.25)] {
        let data = gaussian(d * 200, 5);
        let fixed = gaussian_codec(d, rate).unwrap();
        let ef = rel_mse(&|x| roundtrip(&fixed, x), &data);
        for (leaf, bits) in [(16, 64), (32, 64), (32, 128), (64, 128)] {
            let split = SplitCodec::new(d, rate, leaf, bits, Search::Greedy).unwrap();
            assert!(split.code_len() >= fixed.code_len());
            let es = rel_mse(&|x| roundtrip(&split, x), &data);
            println!(
                "d={d} {rate} bits: fixed groups {ef:.5} ({} B), split leaf {leaf} u{bits} {es:.5} ({} B), {:+.2} dB",
                fixed.code_len(),
                split.code_len(),
                10.0 * (es / ef).log10()
            );
            assert!(es < 0.05 && es < 1.3 * ef, "split {es} fixed {ef}");
        }
    }
}

/// Real weights (Hadamard-rotated rows as in `pvq::weights`): relative weight MSE of the split
/// codec per row against the fixed-group configuration of the weight report, at equal bits.
/// `cargo test --release --test pvq_split -- --ignored --nocapture`.
#[test]
#[ignore]
fn report_real_weights() {
    use vector_codecs::pvq::weights::{PvqWeights, WeightConfig, quantize_rows};
    let Some(dir) = common::data_dir("weights-minilm-l6") else { return };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".fvecs") && !n.contains("bias"))
        .collect();
    names.sort();
    for (rate, leaf, leaf_bits, had) in
        [(2.25, 32, 128, true), (3.0, 32, 128, true), (3.25, 32, 128, true), (3.0, 16, 64, true), (3.0, 32, 128, false)]
    {
        let (mut ef, mut es, mut n2, mut bf, mut bs, mut nw) = (0.0, 0.0, 0.0, 0u64, 0u64, 0usize);
        for name in &names {
            let m = common::read_fvecs(dir.join(name));
            let (rows, cols) = (m.data.len() / m.dim, m.dim);
            let cfg = WeightConfig { hadamard: had, ..WeightConfig::new(rate) };
            let (h, bits) = quantize_rows(&m.data, rows, cols, &cfg).unwrap();
            ef += m.data.iter().zip(&h).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
            n2 += m.data.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>();
            bf += bits;
            nw += m.data.len();
            // Split: the same rotation, one tree per row at the fixed-group codec's bits.
            let q = PvqWeights::fit(&m.data, rows, cols, &cfg).unwrap();
            let mut rot = m.data.clone();
            q.rotate_rows(&mut rot).unwrap();
            let split =
                SplitCodec::new(cols, bits as f64 / (rows * cols) as f64, leaf, leaf_bits, Search::Greedy).unwrap();
            let dec = roundtrip(&split, &rot);
            es += rot.iter().zip(&dec).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
            bs += (8 * split.code_len() * rows) as u64;
        }
        println!(
            "{rate} bpw, Hadamard {had}: fixed groups {:.5} ({:.3} bpw), split leaf {leaf} u{leaf_bits} {:.5} ({:.3} bpw)",
            ef / n2,
            bf as f64 / nw as f64,
            es / n2,
            bs as f64 / nw as f64
        );
    }
}
