//! Uniform integer scalar quantization: error bounds, exact round trips, scoring identities,
//! bad input, parameter serialization and recall on real data.
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)
mod common;

use proptest::prelude::*;
use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::rng::Rng;
use vector_codecs::scalar::uniform::{BlockUniform, PerDim, PerDimUniform, RangeEstimator, ScaleFormat};
use vector_codecs::topk::TopK;
use vector_codecs::{Codec, Decode, Error, Score, ScoreSymmetric, Symbols};

fn gauss(r: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| r.gaussian() as f32 * scale).collect()
}

fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
}

/// Max levels for bits/symmetry (the codec's grid definition).
fn qmax(bits: u32, sym: bool) -> f32 {
    if sym && bits >= 2 { (2 * ((1 << (bits - 1)) - 1)) as f32 } else { ((1 << bits) - 1) as f32 }
}

/// Step of a block's grid, from the data (SPECS §1).
fn block_step(xb: &[f32], bits: u32, sym: bool) -> f32 {
    let lo = xb.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = xb.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if sym {
        let a = lo.abs().max(hi.abs());
        if bits == 1 { 2.0 * a } else { a / (qmax(bits, sym) / 2.0) }
    } else {
        (hi - lo) / qmax(bits, sym)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn block_error_within_half_step(bits in 1u32..=8, bsel in 0usize..5, sym in any::<bool>(),
                                    dim in 1usize..300, seed in any::<u64>(), scale in 0.01f32..100.0,
                                    f16 in any::<bool>()) {
        let block = [None, Some(16), Some(32), Some(64), Some(128)][bsel];
        let fmt = if f16 { ScaleFormat::F16 } else { ScaleFormat::F32 };
        let codec = BlockUniform::with_scales(dim, bits, block, sym, fmt).unwrap();
        let mut r = Rng::new(seed);
        let x = gauss(&mut r, dim, scale);
        let mut code = vec![0u8; codec.code_len()];
        codec.encode_into(&x, &mut code).unwrap();
        let mut y = vec![0f32; dim];
        codec.decode_into(&code, &mut y).unwrap();
        let bs = block.unwrap_or(dim);
        let nb = dim.div_ceil(bs);
        for (k, (xb, yb)) in x.chunks(bs).zip(y.chunks(bs)).enumerate() {
            let mut step = block_step(xb, bits, sym);
            if f16 {
                // The stored (rounded-up) f16 step, read from the code, and within 2^-9 of exact.
                let w = if sym { k } else { 2 * k + 1 };
                let h = u16::from_le_bytes([code[2 * w], code[2 * w + 1]]);
                let stored = vector_codecs::scalar::float::f16_to_f32(h);
                prop_assert!(stored >= step * (1.0 - 1e-6));
                // Rounding the offset down to f16 widens the range by ≤ 2^-10·|lo|.
                let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
                let slack = if sym { 0.0 } else { amax / 1024.0 / qmax(bits, sym) };
                prop_assert!(stored <= (step + slack) * (1.0 + 1.0 / 256.0) + 1e-7, "stored {stored} step {step}");
                step = stored;
            }
            let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (&a, &b) in xb.iter().zip(yb) {
                prop_assert!((a - b).abs() <= step / 2.0 * (1.0 + 1e-4) + 1e-6 * amax,
                    "x {a} x̂ {b} step {step}");
            }
        }
        // bits_per_dim counts the in-code scales.
        let sb = if f16 { 2 } else { 4 };
        let want = (bits as usize * dim).div_ceil(8) + nb * if sym { sb } else { 2 * sb };
        prop_assert_eq!(codec.code_len(), want);
    }

    #[test]
    fn per_dim_error_within_half_step(bits in 1u32..=8, sym in any::<bool>(), dim in 1usize..40,
                                      n in 1usize..30, seed in any::<u64>()) {
        let mut r = Rng::new(seed);
        let data = gauss(&mut r, n * dim, 3.0);
        let codec = PerDim::train(&data, dim, bits, RangeEstimator::MinMax, sym).unwrap();
        let mut code = vec![0u8; codec.code_len()];
        let mut y = vec![0f32; dim];
        for x in data.chunks_exact(dim) {
            codec.encode_into(x, &mut code).unwrap();
            codec.decode_into(&code, &mut y).unwrap();
            for j in 0..dim {
                let step = codec.step()[j];
                prop_assert!((x[j] - y[j]).abs() <= step / 2.0 * (1.0 + 1e-4) + 1e-5,
                    "dim {j}: x {} x̂ {} step {step}", x[j], y[j]);
            }
        }
    }
}

#[test]
fn on_grid_data_round_trips_exactly() {
    let mut r = Rng::new(5);
    for bits in 1..=8u32 {
        for block in [None, Some(16), Some(32), Some(64), Some(128)] {
            let dim = 200;
            let codec = BlockUniform::new(dim, bits, block, false).unwrap();
            let qm = (1u32 << bits) - 1;
            let (lo, step) = (-1.25f32, 0.125f32);
            let bs = block.unwrap_or(dim);
            let mut x = vec![0f32; dim];
            for xb in x.chunks_mut(bs) {
                for v in xb.iter_mut() {
                    *v = lo + (r.below(u64::from(qm) + 1) as f32) * step;
                }
                // Make sure each block spans the full range so the grid is (lo, step).
                xb[0] = lo;
                if xb.len() > 1 {
                    xb[1] = lo + qm as f32 * step;
                }
            }
            let mut code = vec![0u8; codec.code_len()];
            codec.encode_into(&x, &mut code).unwrap();
            let mut y = vec![0f32; dim];
            codec.decode_into(&code, &mut y).unwrap();
            for (j, (&a, &b)) in x.iter().zip(&y).enumerate() {
                // Single-element tail blocks are constant blocks: also exact.
                assert_eq!(a, b, "bits {bits} block {block:?} j {j}");
            }
        }
    }
}

#[test]
fn constant_blocks_are_zero_codes_and_exact() {
    for sym in [false, true] {
        for block in [None, Some(16), Some(32)] {
            let dim = 50;
            let codec = BlockUniform::new(dim, 4, block, sym).unwrap();
            let x = vec![if sym { 0.0 } else { 3.75 }; dim];
            let mut code = vec![0xAAu8; codec.code_len()];
            codec.encode_into(&x, &mut code).unwrap();
            let mut syms = vec![0u16; dim];
            let mut side = vec![0u8; codec.side_len()];
            codec.split_symbols(&code, &mut syms, &mut side).unwrap();
            if !sym {
                assert!(syms.iter().all(|&s| s == 0));
            }
            let mut y = vec![0f32; dim];
            codec.decode_into(&code, &mut y).unwrap();
            assert_eq!(x, y);
        }
    }
    // Per-dimension: a constant dimension decodes exactly.
    let data: Vec<f32> = (0..20).flat_map(|i| [2.5f32, i as f32]).collect();
    let codec = PerDim::train(&data, 2, 4, RangeEstimator::MinMax, false).unwrap();
    let mut code = vec![0u8; codec.code_len()];
    codec.encode_into(&[2.5, 7.0], &mut code).unwrap();
    let mut y = [0f32; 2];
    codec.decode_into(&code, &mut y).unwrap();
    assert_eq!(y[0], 2.5);
    assert_eq!(code[0] & 0xF, 0);
}

#[test]
fn float_scores_equal_reconstruction_dot() {
    let mut r = Rng::new(7);
    let dim = 333;
    let train = gauss(&mut r, 200 * dim, 1.0);
    for bits in 1..=8u32 {
        let pd = PerDim::train(&train, dim, bits, RangeEstimator::MeanStd(3.0), bits % 2 == 0).unwrap();
        let bu = BlockUniform::new(dim, bits, Some(32), bits % 3 == 0).unwrap();
        for _ in 0..5 {
            let x = gauss(&mut r, dim, 1.0);
            let q = gauss(&mut r, dim, 1.0);
            check_float_score(&pd, &x, &q);
            check_float_score(&bu, &x, &q);
        }
    }
}

/// `float_only()` (a `PerDimFloat`) is the codec in float mode bit for bit, whatever scan mode it
/// had: codes, decoding, symbols, scores (single and batch), code × code scores and bad input.
#[test]
fn float_only_equals_float_mode() {
    let mut r = Rng::new(17);
    let dim = 77;
    let train = gauss(&mut r, 100 * dim, 1.0);
    for bits in 1..=8u32 {
        let pd = PerDim::train(&train, dim, bits, RangeEstimator::MinMax, bits % 2 == 1).unwrap();
        let modes: &[ScanMode] =
            if bits == 8 || bits == 4 { &[ScanMode::Float, ScanMode::I8, ScanMode::I16] } else { &[ScanMode::Float] };
        for &mode in modes {
            let f = pd.clone().with_scan(mode).unwrap().float_only();
            assert_eq!(f.inner().scan_mode(), ScanMode::Float);
            assert_eq!(f.estimator(), vector_codecs::Estimator::Reconstruction);
            assert_eq!((f.dim(), f.code_len(), f.query_scratch_len()), (dim, pd.code_len(), dim));
            assert_eq!((f.symbols_per_vector(), f.alphabet_size(), f.side_len()), (dim, pd.alphabet_size(), 0));
            check_float_score(&f, &gauss(&mut r, dim, 1.0), &gauss(&mut r, dim, 1.0));
            let (mut s1, mut s2) = (vec![0f32; dim], vec![0f32; dim]);
            for _ in 0..3 {
                let x = gauss(&mut r, dim, 1.0);
                let q = gauss(&mut r, dim, 1.0);
                let (mut a, mut b) = (vec![0u8; pd.code_len()], vec![0u8; pd.code_len()]);
                pd.encode_into(&x, &mut a).unwrap();
                f.encode_into(&x, &mut b).unwrap();
                assert_eq!(a, b);
                let (mut da, mut db) = (vec![0f32; dim], vec![0f32; dim]);
                pd.decode_into(&a, &mut da).unwrap();
                f.decode_into(&a, &mut db).unwrap();
                assert_eq!(da, db);
                let (pa, pb) = (pd.prepare(&q, &mut s1).unwrap(), f.prepare(&q, &mut s2).unwrap());
                assert_eq!(pd.score(&pa, &a).unwrap().to_bits(), f.score(&pb, &a).unwrap().to_bits());
                assert_eq!(pd.score_codes(&a, &a).unwrap().to_bits(), f.score_codes(&a, &a).unwrap().to_bits());
                let mut syms = vec![0u16; dim];
                f.split_symbols(&a, &mut syms, &mut []).unwrap();
                let mut back = vec![0u8; pd.code_len()];
                f.join_symbols(&syms, &[], &mut back).unwrap();
                assert_eq!(back, a);
                // Bad input is an error, not a panic.
                assert!(f.prepare(&q[1..], &mut s2).is_err());
                assert!(f.prepare(&q, &mut s2[1..]).is_err());
                let pb = f.prepare(&q, &mut s2).unwrap();
                assert!(f.score(&pb, &a[1..]).is_err());
                assert!(f.score_batch(&pb, &a[1..], &mut [0f32; 1]).is_err());
            }
            assert_eq!(f.into_inner(), pd.clone());
        }
    }
}

fn check_float_score<C: Score + Decode + ScoreSymmetric>(c: &C, x: &[f32], q: &[f32]) {
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(x, &mut code).unwrap();
    let mut xh = vec![0f32; c.dim()];
    c.decode_into(&code, &mut xh).unwrap();
    let want = naive_dot(q, &xh);
    let mut scratch = vec![0f32; c.query_scratch_len()];
    let pq = c.prepare(q, &mut scratch).unwrap();
    let got = c.score(&pq, &code).unwrap();
    let tol = 1e-4 * (naive_dot(q, q).sqrt() * naive_dot(&xh, &xh).sqrt()).max(1.0);
    assert!((f64::from(got) - want).abs() <= tol, "score {got} want {want}");
    // Batch equals single.
    let codes: Vec<u8> = code.iter().chain(code.iter()).copied().collect();
    let mut out = [0f32; 2];
    c.score_batch(&pq, &codes, &mut out).unwrap();
    assert_eq!(out, [got, got]);
    // Symmetric: ⟨x̂, x̂⟩.
    let s = c.score_codes(&code, &code).unwrap();
    let w = naive_dot(&xh, &xh);
    assert!((f64::from(s) - w).abs() <= 1e-4 * w.max(1.0), "sym {s} want {w}");
}

#[test]
fn integer_scores_within_rounding_bound() {
    let mut r = Rng::new(11);
    let dim = 385;
    let train = gauss(&mut r, 300 * dim, 0.5);
    for bits in [8u32, 4] {
        let codec = PerDim::train(&train, dim, bits, RangeEstimator::MinMax, false).unwrap();
        for prec in [ScanMode::I8, ScanMode::I16] {
            let sc = codec.clone().with_scan(prec).unwrap();
            assert_eq!(sc.scan_mode(), prec);
            assert_eq!(sc.estimator(), vector_codecs::Estimator::Biased);
            let mut scratch = sc.scratch();
            let mut fscratch = codec.scratch();
            for _ in 0..10 {
                let x = gauss(&mut r, dim, 0.5);
                let q = gauss(&mut r, dim, 1.0);
                let mut code = vec![0u8; codec.code_len()];
                codec.encode_into(&x, &mut code).unwrap();
                // The codes are the same in every scan mode.
                let mut again = vec![0u8; codec.code_len()];
                sc.encode_into(&x, &mut again).unwrap();
                assert_eq!(code, again);
                let mut xh = vec![0f32; dim];
                codec.decode_into(&code, &mut xh).unwrap();
                let want = naive_dot(&q, &xh);
                let pq = sc.prepare(&q, &mut scratch).unwrap();
                let got = sc.score(&pq, &code).unwrap();
                // s = max|q_j Δ_j| / lim; bound (s/2)·Σ levels + float slack.
                let amax = q.iter().zip(codec.step()).map(|(a, b)| (a * b).abs()).fold(0f32, f32::max);
                let lim = if prec == ScanMode::I8 { 127.0 } else { 32767.0 };
                let s = f64::from(amax / lim);
                let mut syms = vec![0u16; dim];
                codec.split_symbols(&code, &mut syms, &mut []).unwrap();
                let lsum: f64 = syms.iter().map(|&v| f64::from(v)).sum();
                let bound = s / 2.0 * lsum + 1e-4 * (1.0 + want.abs());
                assert!(
                    (f64::from(got) - want).abs() <= bound,
                    "bits {bits} {prec:?}: {got} vs {want} (bound {bound})"
                );
                let fq = codec.prepare(&q, &mut fscratch).unwrap();
                let fgot = codec.score(&fq, &code).unwrap();
                assert!((f64::from(fgot) - want).abs() <= 1e-3 * (1.0 + want.abs()));
                let codes: Vec<u8> = [code.clone(), code.clone(), code.clone()].concat();
                let mut out = [0f32; 3];
                sc.score_batch(&pq, &codes, &mut out).unwrap();
                assert_eq!(out, [got; 3]);
            }
        }
    }
    let c3 = PerDim::train(&train, dim, 3, RangeEstimator::MinMax, false).unwrap();
    assert!(c3.clone().with_scan(ScanMode::I8).is_err());
    assert!(c3.clone().with_scan(ScanMode::Bitsliced).is_err());
    assert_eq!(c3.with_scan(ScanMode::Float).unwrap().scan_mode(), ScanMode::Float);
}

#[test]
fn symbols_round_trip() {
    let mut r = Rng::new(3);
    for bits in 1..=8u32 {
        let c = BlockUniform::new(77, bits, Some(16), bits % 2 == 1).unwrap();
        let x = gauss(&mut r, 77, 1.0);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut syms = vec![0u16; c.symbols_per_vector()];
        let mut side = vec![0u8; c.side_len()];
        c.split_symbols(&code, &mut syms, &mut side).unwrap();
        assert!(syms.iter().all(|&s| u32::from(s) < c.alphabet_size()));
        let mut back = vec![0u8; c.code_len()];
        c.join_symbols(&syms, &side, &mut back).unwrap();
        assert_eq!(code, back);
        syms[0] = c.alphabet_size() as u16;
        assert!(matches!(c.join_symbols(&syms, &side, &mut back), Err(Error::Corrupt(_))));
    }
}

#[test]
fn bad_input_is_err() {
    assert!(BlockUniform::new(8, 0, None, false).is_err());
    assert!(BlockUniform::new(8, 9, None, false).is_err());
    assert!(BlockUniform::new(8, 4, Some(24), false).is_err());
    assert!(BlockUniform::new(0, 4, None, false).is_err());
    let c = BlockUniform::new(8, 4, Some(16), false).unwrap();
    let mut code = vec![0u8; c.code_len()];
    assert_eq!(c.encode_into(&[0.0; 8].map(|_| f32::NAN), &mut code), Err(Error::NonFinite));
    let mut x = [1.0f32; 8];
    x[3] = f32::INFINITY;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    assert_eq!(c.encode_into(&[-3e38, 3e38, 0., 0., 0., 0., 0., 0.], &mut code), Err(Error::NonFinite));
    assert!(matches!(c.encode_into(&[0.0; 7], &mut code), Err(Error::DimensionMismatch { .. })));
    assert!(matches!(c.encode_into(&[0.0; 8], &mut code[1..]), Err(Error::CodeLength { .. })));
    // A NaN scale in a code is corrupt.
    code[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
    let mut out = [0f32; 8];
    assert!(matches!(c.decode_into(&code, &mut out), Err(Error::Corrupt(_))));
    let mut scratch = c.scratch();
    let q = c.prepare(&[1.0; 8], &mut scratch).unwrap();
    assert!(matches!(c.score(&q, &code), Err(Error::Corrupt(_))));
    assert!(c.prepare(&[f32::NAN; 8], &mut scratch).is_err());
    assert!(c.prepare(&[1.0; 8], &mut []).is_err());
    let mut out2 = [0f32; 2];
    assert!(c.score_batch(&c.prepare(&[1.0; 8], &mut c.scratch()).unwrap(), &code, &mut out2).is_err());
    // Training.
    assert!(PerDim::train(&[1.0, 2.0, 3.0], 2, 8, RangeEstimator::MinMax, false).is_err());
    assert!(PerDim::train(&[], 2, 8, RangeEstimator::MinMax, false).is_err());
    assert!(PerDim::train(&[1.0, f32::NAN], 2, 8, RangeEstimator::MinMax, false).is_err());
    assert!(PerDim::train(&[1.0, 2.0], 2, 8, RangeEstimator::Quantile(0.7), false).is_err());
    assert!(PerDim::train(&[1.0, 2.0], 2, 8, RangeEstimator::MeanStd(-1.0), false).is_err());
    assert!(PerDimUniform::from_params(8, false, vec![0.0; 3], vec![1.0; 2]).is_err());
    assert!(PerDimUniform::from_params(8, false, vec![0.0; 2], vec![-1.0; 2]).is_err());
    assert!(vector_codecs::factory::build("sq9", 4, vector_codecs::metric::Metric::L2, 0, &[0.0; 4]).is_err());
}

#[test]
fn per_dim_ranges_clip() {
    let mut r = Rng::new(9);
    let dim = 4;
    let mut data = gauss(&mut r, 1000 * dim, 1.0);
    data[0] = 1000.0; // an outlier in dimension 0
    let mm = PerDim::train(&data, dim, 8, RangeEstimator::MinMax, false).unwrap();
    let ms = PerDim::train(&data, dim, 8, RangeEstimator::MeanStd(3.0), false).unwrap();
    let qu = PerDim::train(&data, dim, 8, RangeEstimator::Quantile(0.01), false).unwrap();
    assert!(mm.step()[0] > 3.0);
    assert!(ms.step()[0] < mm.step()[0] / 2.0);
    assert!(qu.step()[0] < 6.0 / 255.0, "{}", qu.step()[0]);
    // Clamped values decode to the range end.
    let mut code = vec![0u8; qu.code_len()];
    qu.encode_into(&[1000.0, 0.0, 0.0, 0.0], &mut code).unwrap();
    assert_eq!(code[0], 255);
}

#[test]
fn params_round_trip_and_reject_corruption() {
    let mut r = Rng::new(13);
    let train = gauss(&mut r, 50 * 10, 1.0);
    let c = PerDim::train(&train, 10, 4, RangeEstimator::MinMax, true).unwrap();
    let bytes = c.to_bytes().unwrap();
    assert_eq!(PerDim::from_bytes(&bytes).unwrap(), c);
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x40;
        assert!(PerDim::from_bytes(&b).is_err(), "flip at {i} accepted");
    }
    for cut in 0..bytes.len() {
        assert!(PerDim::from_bytes(&bytes[..cut]).is_err());
    }
    // The scan mode is saved; an unknown mode tag or an integer mode on 3-bit codes is corrupt.
    let i8c = c.clone().with_scan(ScanMode::I8).unwrap();
    assert_eq!(PerDim::from_bytes(&i8c.to_bytes().unwrap()).unwrap(), i8c);
    let payload = |bits: u8, scan: u8| {
        let mut w = vector_codecs::format::Writer::new(vector_codecs::scalar::uniform::KIND_PER_DIM);
        w.u32(2).u8(bits).u8(0).f32s(&[0.0, 0.0]).f32s(&[1.0, 1.0]).u8(scan);
        w.finish().unwrap()
    };
    assert!(PerDim::from_bytes(&payload(8, 2)).is_ok());
    assert!(matches!(PerDim::from_bytes(&payload(8, 3)), Err(Error::Corrupt(_))));
    assert!(matches!(PerDim::from_bytes(&payload(3, 1)), Err(Error::Corrupt(_))));
}

#[test]
fn named_configs() {
    let mut r = Rng::new(17);
    let train = gauss(&mut r, 64 * 96, 1.0);
    let names =
        ["sq8", "SQ8", "sq8-i8", "sq8-i16", "sq4", "SQ4", "sq4-i8", "sq8-b32", "sq4-b32", "sq4-b32-sym", "sq8-vec"];
    let want = [8.0, 8.0, 8.0, 8.0, 4.0, 4.0, 4.0, 9.0, 5.0, 4.5, 8.0 + 64.0 / 96.0];
    for (name, bpd) in names.iter().zip(want) {
        let c =
            vector_codecs::factory::build(name, 96, vector_codecs::metric::Metric::InnerProduct, 0, &train).unwrap();
        let got = c.bits_per_dim();
        assert!((got - bpd).abs() < 1e-9, "{name}: {got}");
        let biased = name.contains("-i");
        assert_eq!(c.estimator() == vector_codecs::Estimator::Biased, biased, "{name}");
    }
    // Trained names need training rows.
    assert!(matches!(
        vector_codecs::factory::build("sq8", 96, vector_codecs::metric::Metric::InnerProduct, 0, &[]),
        Err(Error::NotEnoughData { .. })
    ));
}

#[test]
fn sq8_recall_on_wordnet() {
    let Some(dir) = common::data_dir("wordnet-minilm-l6") else { return };
    let base = vector_codecs::io::read_fvecs(dir.join("wordnet_base.fvecs")).unwrap();
    let queries = vector_codecs::io::read_fvecs(dir.join("wordnet_query.fvecs")).unwrap();
    let (gk, gt) = vector_codecs::io::read_ivecs(dir.join("wordnet_groundtruth.ivecs")).unwrap();
    let d = base.dim;
    let n = base.data.len() / d;
    assert_eq!(n, 50_000);
    let codec = PerDim::train(&base.data, d, 8, RangeEstimator::MinMax, false).unwrap();
    let mut codes = vec![0u8; n * codec.code_len()];
    codec.encode_batch(&base.data, &mut codes).unwrap();
    let sc = codec.clone().with_scan(ScanMode::I8).unwrap();
    let mut scratch = sc.scratch();
    let mut fscratch = codec.scratch();
    let mut scores = vec![0f32; n];
    let nq = 200;
    let (mut hit_i, mut hit_f) = (0usize, 0usize);
    for qi in 0..nq {
        let q = &queries.data[qi * d..(qi + 1) * d];
        let truth = &gt[qi * gk..qi * gk + 10];
        for int in [true, false] {
            if int {
                let pq = sc.prepare(q, &mut scratch).unwrap();
                sc.score_batch(&pq, &codes, &mut scores).unwrap();
            } else {
                let pq = codec.prepare(q, &mut fscratch).unwrap();
                codec.score_batch(&pq, &codes, &mut scores).unwrap();
            }
            let mut top = TopK::<10>::new(10);
            top.push_batch(&scores, 0);
            let mut out = [(0f32, 0u32); 10];
            let k = top.drain_sorted(&mut out);
            let h = out[..k].iter().filter(|(_, id)| truth.contains(&(*id as i32))).count();
            if int { hit_i += h } else { hit_f += h }
        }
    }
    let (ri, rf) = (hit_i as f64 / (10 * nq) as f64, hit_f as f64 / (10 * nq) as f64);
    eprintln!("sq8 recall@10: int-query {ri:.4}, float-query {rf:.4}");
    assert!(ri >= 0.98, "int recall {ri}");
    assert!(rf >= 0.98, "float recall {rf}");
}

/// Writes the fuzz seed corpus when `VECTOR_CODECS_WRITE_CORPUS` is set (run once by hand).
#[test]
fn write_seed_corpus() {
    if std::env::var_os("VECTOR_CODECS_WRITE_CORPUS").is_none() {
        return;
    }
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scalar_uniform_params");
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = Rng::new(21);
    for (i, (dim, bits, sym)) in [(4usize, 8u32, false), (7, 4, true), (16, 1, false), (9, 3, true)].iter().enumerate()
    {
        let train = gauss(&mut r, 20 * dim, 1.0);
        let c = PerDim::train(&train, *dim, *bits, RangeEstimator::MinMax, *sym).unwrap();
        let scan = [ScanMode::I16, ScanMode::I8, ScanMode::Float, ScanMode::Float][i];
        let b = c.with_scan(scan).unwrap().to_bytes().unwrap();
        std::fs::write(dir.join(format!("valid_{i}")), &b).unwrap();
        let mut bad = b.clone();
        bad[12] = 0xFF; // lying dimension
        std::fs::write(dir.join(format!("lying_dim_{i}")), &bad).unwrap();
    }
    // Valid container, negative step and NaN base (checksum fixed up by re-writing).
    let mut w = vector_codecs::format::Writer::new(vector_codecs::scalar::uniform::KIND_PER_DIM);
    w.u32(2).u8(8).u8(0).f32s(&[0.0, f32::NAN]).f32s(&[1.0, 1.0]).u8(0);
    std::fs::write(dir.join("nan_base"), w.finish().unwrap()).unwrap();
    let mut w = vector_codecs::format::Writer::new(vector_codecs::scalar::uniform::KIND_PER_DIM);
    w.u32(2).u8(8).u8(0).f32s(&[0.0, 0.0]).f32s(&[1.0, -1.0]).u8(0);
    std::fs::write(dir.join("negative_step"), w.finish().unwrap()).unwrap();
    let mut w = vector_codecs::format::Writer::new(vector_codecs::scalar::uniform::KIND_PER_DIM);
    w.u32(2).u8(9).u8(2).f32s(&[0.0, 0.0]).f32s(&[1.0, 1.0]).u8(0);
    std::fs::write(dir.join("bad_bits_flag"), w.finish().unwrap()).unwrap();
    // Hostile block codes: selector byte then NaN/inf scales.
    let mut hostile = vec![0x09u8];
    hostile.extend(std::iter::repeat_n(0xFFu8, 200));
    std::fs::write(dir.join("hostile_block_code"), &hostile).unwrap();
}

#[test]
fn block_uniform_persist() {
    use vector_codecs::format::{Reader, Writer};
    use vector_codecs::persist::Persist;
    let restore = |b: &[u8]| {
        let mut r = Reader::new(b);
        let c = BlockUniform::restore(&mut r)?;
        r.finish()?;
        Ok::<_, Error>(c)
    };
    for (dim, bits, block, sym, sc) in [
        (40, 8, None, false, ScaleFormat::F32),
        (32, 4, None, true, ScaleFormat::F16),
        (32, 4, Some(32), false, ScaleFormat::F16),
        (40, 3, Some(128), true, ScaleFormat::F32),
        (100, 1, Some(16), false, ScaleFormat::F16),
    ] {
        let c = BlockUniform::with_scales(dim, bits, block, sym, sc).unwrap();
        let mut w = Writer::new(0);
        c.persist(&mut w);
        let full = w.finish().unwrap();
        let b = &full[12..full.len() - 4];
        assert_eq!(restore(b).unwrap(), c);
        for cut in 0..b.len() {
            assert!(restore(&b[..cut]).is_err());
        }
    }
    let raw = |dim: u32, bits: u8, block: u32, sym: u8, sc: u8| {
        let mut w = Writer::new(0);
        w.u32(dim).u8(bits).u32(block).u8(sym).u8(sc);
        let full = w.finish().unwrap();
        restore(&full[12..full.len() - 4])
    };
    assert!(raw(40, 8, 32, 0, 1).is_ok());
    assert!(raw(40, 8, 40, 1, 0).is_ok());
    for bad in
        [raw(0, 8, 0, 0, 0), raw(40, 9, 32, 0, 0), raw(40, 8, 33, 0, 0), raw(40, 8, 32, 2, 0), raw(40, 8, 32, 0, 2)]
    {
        assert!(matches!(bad, Err(Error::Corrupt(_))), "{bad:?}");
    }
    assert!(raw(1 << 17, 8, 32, 0, 0).is_err());
}
