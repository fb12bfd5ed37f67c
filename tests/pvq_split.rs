//! Recursive-split PVQ (`pvq::split::SplitCodec`): round trips, the tree's bit budget and
//! pulse bounds, codebook consistency (a decoded point re-encodes to its own code), an
//! exhaustive small case, hostile input, and the comparison with fixed groups.
mod common;

use vector_codecs::pvq::codec::gaussian_codec;
use vector_codecs::pvq::{Search, SplitCodec};
use vector_codecs::rng::Rng;
use vector_codecs::{Codec, Decode, Error};

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
