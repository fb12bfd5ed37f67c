//! Exhaustive tests of the float-format conversions (SPECS §14) and the float codecs.
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)
mod common;

use vector_codecs::rng::Rng;
use vector_codecs::scalar::float::*;

/// Naive reference rounding in f64: nearest value in `grid` (sorted non-negative (value, code)
/// pairs, including a pseudo-level past the max for IEEE overflow), ties to the even code.
fn reference(grid: &[(f64, u32)], a: f64) -> u32 {
    let i = grid.partition_point(|&(v, _)| v < a);
    if i == 0 {
        return grid[0].1;
    }
    if i == grid.len() {
        return grid[grid.len() - 1].1;
    }
    let (lo, lc) = grid[i - 1];
    let (hi, hc) = grid[i];
    if a - lo < hi - a {
        lc
    } else if a - lo > hi - a {
        hc
    } else if lc & 1 == 0 {
        lc
    } else {
        hc
    }
}

/// Grid of a format: non-negative finite codes (by value), plus `inf_code` at value `next`.
fn grid(decode: impl Fn(u32) -> f32, codes: std::ops::Range<u32>, extra: Option<(f64, u32)>) -> Vec<(f64, u32)> {
    let mut g: Vec<(f64, u32)> =
        codes.map(|c| (decode(c) as f64, c)).filter(|(v, _)| v.is_finite() && *v >= 0.0).collect();
    if let Some(e) = extra {
        g.push(e);
    }
    g.sort_by(|a, b| a.partial_cmp(b).unwrap());
    g.dedup_by(|a, b| a.0 == b.0);
    g
}

fn random_f32s(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        v.push(match i % 3 {
            // Uniformly random bit patterns (all exponents).
            0 => f32::from_bits(rng.next_u32()),
            // Moderate exponents: around the formats' ranges.
            1 => {
                let e = (rng.below(60) as i32) - 30;
                let m = rng.next_u32() & 0x7F_FFFF;
                let s = rng.next_u32() & 0x8000_0000;
                f32::from_bits(s | (((e + 127) as u32) << 23) | m)
            }
            // Short mantissas: many exact ties.
            _ => {
                let e = (rng.below(60) as i32) - 30;
                let m = (rng.next_u32() & 0x7F_FFFF) & !((1u32 << (rng.below(20) as u32 + 3)) - 1);
                f32::from_bits((((e + 127) as u32) << 23) | m)
            }
        });
    }
    v
}

fn check_against_reference(
    name: &str,
    from: impl Fn(f32) -> u32,
    g: &[(f64, u32)],
    sign_bit: u32,
    nan_ok: impl Fn(u32) -> bool,
) {
    for x in random_f32s(300_000, 7).into_iter().chain([0.0, -0.0, f32::MAX, f32::MIN_POSITIVE, 1e-45]) {
        let got = from(x);
        if x.is_nan() {
            assert!(nan_ok(got), "{name}: NaN input {x:?} gave {got:#x}");
            continue;
        }
        let want = reference(g, (x as f64).abs()) | if x.is_sign_negative() { sign_bit } else { 0 };
        assert_eq!(got, want, "{name}: x = {x:e} ({:#010x})", x.to_bits());
    }
}

#[test]
fn f16_exhaustive_round_trip() {
    for h in 0..=u16::MAX {
        let x = f16_to_f32(h);
        let exp = (h >> 10) & 0x1F;
        let mant = h & 0x3FF;
        if exp == 0x1F && mant != 0 {
            assert!(x.is_nan());
            // Quiet NaN preserved (quiet bit set, sign kept).
            let back = f16_from_f32(x);
            assert_eq!(back, h | 0x200, "{h:#x}");
            continue;
        }
        // Spec formula.
        let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let want = if exp == 0x1F {
            s * f64::INFINITY
        } else if exp == 0 {
            s * mant as f64 * 2f64.powi(-24)
        } else {
            s * (1.0 + mant as f64 / 1024.0) * 2f64.powi(exp as i32 - 15)
        };
        assert_eq!(x as f64, want, "{h:#x}");
        assert_eq!(f16_from_f32(x), h, "{h:#x}");
    }
    assert_eq!(f16_to_f32(0x7BFF), 65504.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
}

#[test]
fn f16_matches_reference_rounding() {
    let g = grid(|c| f16_to_f32(c as u16), 0..0x7C00, Some((65536.0, 0x7C00)));
    check_against_reference(
        "f16",
        |x| f16_from_f32(x) as u32,
        &g,
        0x8000,
        |c| (c & 0x7C00) == 0x7C00 && (c & 0x3FF) != 0,
    );
    // Overflow boundary: 65519.99 → max, 65520 → inf (tie to even = inf).
    assert_eq!(f16_from_f32(65519.0), 0x7BFF);
    assert_eq!(f16_from_f32(65520.0), 0x7C00);
    assert_eq!(f16_from_f32(-1e10), 0xFC00);
    assert_eq!(f16_from_f32(f32::INFINITY), 0x7C00);
    // Below half the smallest subnormal → 0; exactly half → 0 (even); just above → 1.
    assert_eq!(f16_from_f32(2f32.powi(-25)), 0);
    assert_eq!(f16_from_f32(2f32.powi(-25) * 1.0001), 1);
    assert_eq!(f16_from_f32(3.0 * 2f32.powi(-25)), 2);
}

#[test]
fn bf16_exhaustive_round_trip() {
    for h in 0..=u16::MAX {
        let x = bf16_to_f32(h);
        let exp = (h >> 7) & 0xFF;
        let mant = h & 0x7F;
        if exp == 0xFF && mant != 0 {
            assert!(x.is_nan());
            assert_eq!(bf16_from_f32(x), h | 0x40, "{h:#x}");
            continue;
        }
        let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let want = if exp == 0xFF {
            s * f64::INFINITY
        } else if exp == 0 {
            s * mant as f64 * 2f64.powi(-133)
        } else {
            s * (1.0 + mant as f64 / 128.0) * 2f64.powi(exp as i32 - 127)
        };
        assert_eq!(x as f64, want, "{h:#x}");
        assert_eq!(bf16_from_f32(x), h, "{h:#x}");
    }
}

#[test]
fn bf16_matches_reference_rounding() {
    let g = grid(|c| bf16_to_f32(c as u16), 0..0x7F80, Some((2f64.powi(128), 0x7F80)));
    check_against_reference(
        "bf16",
        |x| bf16_from_f32(x) as u32,
        &g,
        0x8000,
        |c| (c & 0x7F80) == 0x7F80 && (c & 0x7F) != 0,
    );
    assert_eq!(bf16_from_f32(f32::MAX), 0x7F80);
    assert_eq!(bf16_from_f32(f32::NEG_INFINITY), 0xFF80);
}

/// Spec value of an 8-bit minifloat code (finite codes only).
fn spec_value(code: u32, m: u32, bias: i32) -> f64 {
    let s = if code & 0x80 != 0 { -1.0 } else { 1.0 };
    let mag = code & 0x7F;
    let e = (mag >> m) as i32;
    let f = (mag & ((1 << m) - 1)) as f64 / (1u32 << m) as f64;
    if e == 0 { s * f * 2f64.powi(1 - bias) } else { s * (1.0 + f) * 2f64.powi(e - bias) }
}

#[test]
fn e4m3_all_code_points() {
    for c in 0..=255u32 {
        let x = e4m3_to_f32(c as u8);
        if c & 0x7F == 0x7F {
            assert!(x.is_nan());
            assert_eq!(e4m3_from_f32(x) as u32, c);
            continue;
        }
        assert_eq!(x as f64, spec_value(c, 3, 7), "{c:#x}");
        assert_eq!(e4m3_from_f32(x) as u32, c, "{c:#x}");
    }
    assert_eq!(e4m3_to_f32(0x7E), 448.0);
    assert_eq!(e4m3_to_f32(0x01), 2f32.powi(-9));
    assert_eq!(e4m3_to_f32(0x08), 2f32.powi(-6));
    // Saturation.
    assert_eq!(e4m3_from_f32(464.0), 0x7E);
    assert_eq!(e4m3_from_f32(1e9), 0x7E);
    assert_eq!(e4m3_from_f32(f32::NEG_INFINITY), 0xFE);
    // Midpoints tie to even: between 1.0 (0x38) and 1.125 (0x39) → 0x38; 1.125..1.25 → 0x3A.
    assert_eq!(e4m3_from_f32(1.0625), 0x38);
    assert_eq!(e4m3_from_f32(1.1875), 0x3A);
    assert_eq!(e4m3_from_f32(2f32.powi(-10)), 0x00);
    assert_eq!(e4m3_from_f32(3.0 * 2f32.powi(-10)), 0x02);
    let g = grid(|c| e4m3_to_f32(c as u8), 0..0x7F, None);
    check_against_reference("e4m3", |x| e4m3_from_f32(x) as u32, &g, 0x80, |c| c & 0x7F == 0x7F);
}

#[test]
fn e5m2_all_code_points() {
    for c in 0..=255u32 {
        let x = e5m2_to_f32(c as u8);
        let mag = c & 0x7F;
        if mag > 0x7C {
            assert!(x.is_nan());
            continue;
        }
        if mag == 0x7C {
            assert!(x.is_infinite());
            assert_eq!(e5m2_from_f32(x) as u32, c);
            continue;
        }
        assert_eq!(x as f64, spec_value(c, 2, 15), "{c:#x}");
        assert_eq!(e5m2_from_f32(x) as u32, c, "{c:#x}");
    }
    assert_eq!(e5m2_to_f32(0x7B), 57344.0);
    assert_eq!(e5m2_from_f32(61439.0), 0x7B);
    assert_eq!(e5m2_from_f32(61440.0), 0x7C);
    assert_eq!(e5m2_from_f32(f32::NAN) & 0x7F, 0x7E);
    let g = grid(|c| e5m2_to_f32(c as u8), 0..0x7C, Some((65536.0, 0x7C)));
    check_against_reference("e5m2", |x| e5m2_from_f32(x) as u32, &g, 0x80, |c| c & 0x7F > 0x7C);
}

#[test]
fn e2m1_all_code_points() {
    let want = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];
    for c in 0..16u8 {
        let v = e2m1_to_f32(c);
        let w = if c & 8 != 0 { -want[(c & 7) as usize] } else { want[(c & 7) as usize] };
        assert_eq!(v, w);
        assert_eq!(e2m1_from_f32(v), c);
    }
    // Ties to even: 0.25→0, 0.75→1.0, 1.25→1.0, 1.75→2.0, 2.5→2.0, 3.5→4.0, 5.0→4.0; saturate.
    for (x, c) in [(0.25, 0), (0.75, 2), (1.25, 2), (1.75, 4), (2.5, 4), (3.5, 6), (5.0, 6), (7.0, 7), (1e30, 7)] {
        assert_eq!(e2m1_from_f32(x), c, "{x}");
        assert_eq!(e2m1_from_f32(-x), c | 8, "-{x}");
    }
    let g = grid(|c| e2m1_to_f32(c as u8), 0..8, None);
    check_against_reference("e2m1", |x| e2m1_from_f32(x) as u32, &g, 8, |c| c == 0);
}

#[test]
fn e8m0_and_floor_log2() {
    assert_eq!(e8m0_to_f32(127), 1.0);
    assert_eq!(e8m0_to_f32(0), 2f32.powi(-127));
    assert_eq!(e8m0_to_f32(254), 2f32.powi(127));
    assert!(e8m0_to_f32(255).is_nan());
    assert_eq!(floor_log2(1.0), Some(0));
    assert_eq!(floor_log2(6.0), Some(2));
    assert_eq!(floor_log2(0.1), Some(-4));
    assert_eq!(floor_log2(f32::from_bits(1)), Some(-149));
    assert_eq!(floor_log2(0.0), None);
    assert_eq!(e8m0_from_exponent(-500), 0);
}

use vector_codecs::{Codec, Decode, Score, ScoreSymmetric, Symbols};

const ALL: [FloatFormat; 8] = FloatFormat::ALL;

#[test]
fn codec_sizes_and_bits() {
    let bpd = |f| FloatCodec::new(384, f).unwrap().bits_per_dim();
    assert_eq!(bpd(FloatFormat::F16), 16.0);
    assert_eq!(bpd(FloatFormat::MxFp4), 4.25);
    assert_eq!(bpd(FloatFormat::MxFp8), 8.25);
    assert_eq!(bpd(FloatFormat::NvFp4), 4.5 + 32.0 / 384.0);
    assert_eq!(bpd(FloatFormat::E4M3), 8.0 + 32.0 / 384.0);
    assert!(FloatCodec::new(0, FloatFormat::F16).is_err());
}

#[test]
fn codec_round_trip_score_symbols() {
    let mut rng = Rng::new(11);
    for f in ALL {
        for d in [1usize, 7, 16, 31, 33, 100] {
            let c = FloatCodec::new(d, f).unwrap();
            let x: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
            let q: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
            let mut code = vec![0u8; c.code_len()];
            c.encode_into(&x, &mut code).unwrap();
            let mut xh = vec![0f32; d];
            c.decode_into(&code, &mut xh).unwrap();
            // Relative error bound by format precision.
            let tol = match f {
                FloatFormat::F16 => 1e-3,
                FloatFormat::Bf16 => 8e-3,
                FloatFormat::E4M3 => 0.07,
                // MX: amax/X can reach 512 > 448 and saturates (OCP rule), up to 12.5% error.
                FloatFormat::E5M2 | FloatFormat::MxFp8 => 0.13,
                _ => 0.35,
            };
            let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
            for (a, b) in x.iter().zip(&xh) {
                assert!((a - b).abs() <= tol * a.abs().max(amax * 0.25) + 1e-6, "{f:?} d={d}: {a} vs {b}");
            }
            // Re-encoding the reconstruction is a fixed point.
            let mut code2 = vec![0u8; c.code_len()];
            c.encode_into(&xh, &mut code2).unwrap();
            let mut xh2 = vec![0f32; d];
            c.decode_into(&code2, &mut xh2).unwrap();
            if f == FloatFormat::NvFp4 {
                // The per-vector f32 scale is recomputed from x̂'s absmax: equal up to f32 rounding.
                for (a, b) in xh.iter().zip(&xh2) {
                    assert!((a - b).abs() <= 1e-6 * a.abs(), "{f:?}: {a} vs {b}");
                }
            } else {
                assert_eq!(xh, xh2, "{f:?}");
            }
            // Score = <q, x̂>.
            let mut s = c.scratch();
            let pq = c.prepare(&q, &mut s).unwrap();
            let want: f64 = q.iter().zip(&xh).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            let got = c.score(&pq, &code).unwrap();
            assert!((got as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()), "{f:?}: {got} vs {want}");
            let sym: f64 = xh.iter().map(|a| (*a as f64) * (*a as f64)).sum();
            assert!((c.score_codes(&code, &code).unwrap() as f64 - sym).abs() <= 1e-4 * (1.0 + sym));
            // Symbols round trip.
            let mut syms = vec![0u16; c.symbols_per_vector()];
            let mut side = vec![0u8; c.side_len()];
            c.split_symbols(&code, &mut syms, &mut side).unwrap();
            assert!(syms.iter().all(|&s| (s as u32) < c.alphabet_size()));
            let mut back = vec![0u8; c.code_len()];
            c.join_symbols(&syms, &side, &mut back).unwrap();
            assert_eq!(back, code);
            // Errors.
            let mut bad = x.clone();
            bad[0] = f32::NAN;
            assert!(c.encode_into(&bad, &mut code).is_err());
            assert!(c.encode_into(&x[..d - 1], &mut code).is_err());
            assert!(c.decode_into(&code[1..], &mut xh).is_err());
        }
    }
}

#[test]
fn block_scale_selection() {
    // MXFP4: all zeros.
    let c = FloatCodec::new(32, FloatFormat::MxFp4).unwrap();
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&[0.0; 32], &mut code).unwrap();
    assert!(code[1..].iter().all(|&b| b == 0));
    // One huge outlier: scale = floor(log2(1000)) - 2 = 7; outlier saturates to 6·2^7 = 768,
    // small values flush to 0.
    let mut x = [0.01f32; 32];
    x[5] = 1000.0;
    c.encode_into(&x, &mut code).unwrap();
    assert_eq!(code[0], 127 + 7);
    let mut out = [0f32; 32];
    c.decode_into(&code, &mut out).unwrap();
    assert_eq!(out[5], 768.0);
    assert_eq!(out[0], 0.0);
    // Exactly representable block round-trips: 6·2^-3 etc.
    let y: Vec<f32> = (0..32).map(|i| [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0][i % 8] * 0.125).collect();
    c.encode_into(&y, &mut code).unwrap();
    c.decode_into(&code, &mut out).unwrap();
    assert_eq!(&out[..], &y[..]);
    // Subnormal range of f32.
    let z: Vec<f32> = (0..32).map(|i| (i as f32) * 1e-40).collect();
    c.encode_into(&z, &mut code).unwrap();
    c.decode_into(&code, &mut out).unwrap();
    assert_eq!(code[0], 0); // exponent clamps to -127
    for (a, b) in z.iter().zip(&out) {
        assert!((a - b).abs() <= 0.25 * 2f32.powi(-127) + 1e-45, "{a} {b}");
    }
    // MXFP8: shared exponent floor(log2 amax) − 8; on-grid E4M3 values round-trip.
    let c8 = FloatCodec::new(32, FloatFormat::MxFp8).unwrap();
    let mut code8 = vec![0u8; c8.code_len()];
    let y: Vec<f32> = (0..32).map(|i| e4m3_to_f32(i as u8 * 3 + 1) * 0.5).collect();
    c8.encode_into(&y, &mut code8).unwrap();
    let amax = y.iter().fold(0f32, |a, v| a.max(v.abs()));
    assert_eq!(code8[0] as i32 - 127, floor_log2(amax).unwrap() - 8);
    let mut out8 = [0f32; 32];
    c8.decode_into(&code8, &mut out8).unwrap();
    assert_eq!(&out8[..], &y[..]);
    // NVFP4: global scale maps absmax to 448·6; on-grid block decodes exactly.
    let cn = FloatCodec::new(32, FloatFormat::NvFp4).unwrap();
    let mut coden = vec![0u8; cn.code_len()];
    let mut y = [0f32; 32];
    for (i, v) in y.iter_mut().enumerate() {
        *v = [0.0, 0.5, 1.0, -1.5, 2.0, 3.0, -4.0, 6.0][i % 8];
    }
    cn.encode_into(&y, &mut coden).unwrap();
    assert_eq!(f32::from_le_bytes(coden[..4].try_into().unwrap()), 6.0 / 2688.0);
    assert_eq!(coden[4], 0x7E);
    let mut outn = [0f32; 32];
    cn.decode_into(&coden, &mut outn).unwrap();
    for (a, b) in y.iter().zip(&outn) {
        assert!((a - b).abs() <= 1e-6 * a.abs(), "{a} {b}");
    }
    // Corrupt scales are errors, not panics.
    code[0] = 0xFF;
    assert!(c.decode_into(&code, &mut out).is_err());
    coden[4] = 0x7F;
    assert!(cn.decode_into(&coden, &mut outn).is_err());
    coden[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(cn.decode_into(&coden, &mut outn).is_err());
}

#[test]
fn f16_overflow_is_an_error() {
    let c = FloatCodec::new(2, FloatFormat::F16).unwrap();
    let mut code = [0u8; 4];
    assert!(c.encode_into(&[1.0, 70000.0], &mut code).is_err());
    assert!(c.encode_into(&[1.0, 65504.0], &mut code).is_ok());
}

#[test]
fn e4m3_recall_on_wordnet() {
    use vector_codecs::io::{read_fvecs, read_ivecs};
    use vector_codecs::topk::TopK;
    let Some(dir) = common::data_dir("wordnet-minilm-l6") else { return };
    let base = dir.join("wordnet_base.fvecs");
    if !base.exists() {
        eprintln!("SKIPPED: {} missing", base.display());
        return;
    }
    let bm = read_fvecs(&base).unwrap();
    let (base, d) = (bm.data, bm.dim);
    let queries = read_fvecs(dir.join("wordnet_query.fvecs")).unwrap().data;
    let (k_gt, gt) = read_ivecs(dir.join("wordnet_groundtruth.ivecs")).unwrap();
    let n = base.len() / d;
    for (f, bar) in [(FloatFormat::E4M3, 0.97)] {
        let c = FloatCodec::new(d, f).unwrap();
        let mut codes = vec![0u8; n * c.code_len()];
        c.encode_batch(&base, &mut codes).unwrap();
        let mut scores = vec![0f32; n];
        let mut s = c.scratch();
        let (mut hit, mut tot) = (0usize, 0usize);
        for qi in 0..200 {
            let q = &queries[qi * d..(qi + 1) * d];
            let pq = c.prepare(q, &mut s).unwrap();
            c.score_batch(&pq, &codes, &mut scores).unwrap();
            let mut top = TopK::<10>::new(10);
            top.push_batch(&scores, 0);
            let mut res = [(0f32, 0u32); 10];
            let m = top.drain_sorted(&mut res);
            let truth = &gt[qi * k_gt..qi * k_gt + 10];
            hit += res[..m].iter().filter(|(_, id)| truth.contains(&(*id as i32))).count();
            tot += 10;
        }
        let recall = hit as f64 / tot as f64;
        eprintln!("{f:?}: recall@10 = {recall:.4}");
        assert!(recall >= bar, "{f:?}: recall@10 {recall} < {bar}");
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// f16/bf16/E4M3 conversions are within half an ulp of the input inside the normal range,
        /// and monotone (x ≤ y ⇒ value(x) ≤ value(y)).
        #[test]
        fn conversions_half_ulp_and_monotone(a in -60000f32..60000.0, b in -60000f32..60000.0) {
            let (x, y) = if a <= b { (a, b) } else { (b, a) };
            let h = f16_to_f32(f16_from_f32(x));
            if x.abs() >= 2f32.powi(-14) {
                prop_assert!((h - x).abs() <= x.abs() * 2f32.powi(-11) * 1.0001);
            }
            prop_assert!(h <= f16_to_f32(f16_from_f32(y)));
            let bf = bf16_to_f32(bf16_from_f32(x));
            prop_assert!((bf - x).abs() <= x.abs() * 2f32.powi(-8) * 1.0001);
            prop_assert!(bf <= bf16_to_f32(bf16_from_f32(y)));
            let (xs, ys) = (x / 200.0, y / 200.0);
            let e = e4m3_to_f32(e4m3_from_f32(xs));
            if xs.abs() >= 2f32.powi(-6) {
                prop_assert!((e - xs).abs() <= xs.abs() * 2f32.powi(-4) * 1.0001);
            }
            prop_assert!(e <= e4m3_to_f32(e4m3_from_f32(ys)));
            prop_assert!(e2m1_to_f32(e2m1_from_f32(x)) <= e2m1_to_f32(e2m1_from_f32(y)));
        }

        /// Per-vector-scaled E4M3: every reconstructed coordinate is within half an E4M3 step
        /// (relative 2^-4, or the subnormal step 2^-9 · s) of the input.
        #[test]
        fn e4m3_codec_error_bound(x in proptest::collection::vec(-100f32..100.0, 1..80)) {
            let c = FloatCodec::new(x.len(), FloatFormat::E4M3).unwrap();
            let mut code = vec![0u8; c.code_len()];
            c.encode_into(&x, &mut code).unwrap();
            let mut out = vec![0f32; x.len()];
            c.decode_into(&code, &mut out).unwrap();
            let s = f32::from_le_bytes(code[..4].try_into().unwrap());
            for (a, b) in x.iter().zip(&out) {
                prop_assert!((a - b).abs() <= (a.abs() * 2f32.powi(-4)).max(s * 2f32.powi(-10)) * 1.001 + 1e-30);
            }
        }
    }
}

/// `score_batch` equals per-code `score` bit for bit, and both match `⟨q, decode(code)⟩` within
/// float rounding, for every format on awkward dimensions.
#[test]
fn score_batch_matches_score_and_decode() {
    for f in FloatFormat::ALL {
        for d in [1usize, 7, 31, 33, 100, 384] {
            let codec = FloatCodec::new(d, f).unwrap();
            let n = 9;
            let mut rng = Rng::new(d as u64 + 17);
            let mut xs = vec![0f32; n * d];
            rng.fill_gaussian(&mut xs);
            let mut codes = vec![0u8; n * codec.code_len()];
            codec.encode_batch(&xs, &mut codes).unwrap();
            let mut q = vec![0f32; d];
            rng.fill_gaussian(&mut q);
            let mut scratch = vec![0f32; codec.query_scratch_len()];
            let pq = codec.prepare(&q, &mut scratch).unwrap();
            let mut batch = vec![0f32; n];
            codec.score_batch(&pq, &codes, &mut batch).unwrap();
            let mut dec = vec![0f32; d];
            for (i, code) in codes.chunks_exact(codec.code_len()).enumerate() {
                let one = codec.score(&pq, code).unwrap();
                assert_eq!(batch[i].to_bits(), one.to_bits(), "{f:?} d={d} i={i}");
                codec.decode_into(code, &mut dec).unwrap();
                let exact: f64 = q.iter().zip(&dec).map(|(&a, &b)| a as f64 * b as f64).sum();
                let mag: f64 = q.iter().zip(&dec).map(|(&a, &b)| (a as f64 * b as f64).abs()).sum();
                assert!((one as f64 - exact).abs() <= 1e-5 * mag + 1e-30, "{f:?} d={d}: {one} vs {exact}");
            }
            // Wrong lengths are errors, not panics.
            assert!(codec.score_batch(&pq, &codes[1..], &mut batch).is_err());
        }
    }
}
