//! RaBitQ: closed forms, unbiasedness over random rotations, the error bound, round trips, the
//! rescale search against exhaustive enumeration, and bad input.

use proptest::prelude::*;
use vector_codecs::compose::Centered;
use vector_codecs::rabitq::{CenteredRaBitQ, EPS0, QueryMode, RaBitQ, rescale};
use vector_codecs::rng::Rng;
use vector_codecs::transform::Identity;
use vector_codecs::transform::haar::HaarRotation;
use vector_codecs::{Codec, Decode, Error, Estimator, Score};

/// The crate's seeded Haar-random rotation (Householder QR of a Gaussian matrix).
fn haar(d: usize, seed: u64) -> HaarRotation {
    HaarRotation::new(d, seed).unwrap()
}

fn gaussian(rng: &mut Rng, d: usize) -> Vec<f32> {
    (0..d).map(|_| rng.gaussian() as f32).collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

/// Code layout and bits per dimension, factors included.
#[test]
fn code_length_counts_factors() {
    for bits in 1..=8u8 {
        let c = RaBitQ::new(Identity(384), bits).unwrap();
        let extra = 8;
        assert_eq!(c.code_len(), bits as usize * 48 + extra);
        assert!((c.bits_per_dim() - (bits as f64 + 8.0 * extra as f64 / 384.0)).abs() < 1e-12);
        assert_eq!(c.estimator(), Estimator::Unbiased);
    }
    // A dimension that is not a multiple of 8: planes are rounded up to whole bytes.
    let c = RaBitQ::new(Identity(37), 3).unwrap();
    assert_eq!(c.code_len(), 3 * 5 + 8);
}

/// For every B, the decode is the projection `r·x0·ō` of `o` on the code direction, so
/// `‖o − x̂‖² = r²(1 − x0²)` exactly; x0 grows with B and matches the Gaussian uniform-grid
/// distortion (1-bit: x0 → √(2/π)).
#[test]
fn round_trip_is_projection_and_x0_matches_theory() {
    let d = 256;
    let mut rng = Rng::new(5);
    // Upper bounds on the mean relative distortion 1 − x0² for Gaussian data: the optimal
    // uniform 2^B-level quantizer of N(0,1) has 0.3634 (B=1), 0.1188, 0.03744, 0.01154, 0.00349,
    // 0.00101, 0.000289, 0.0000815 (B=8); the per-vector cosine-optimal scale does at least as
    // well up to finite-d noise.
    let theory = [0.3634, 0.1188, 0.03744, 0.01154, 0.00349, 0.00101, 0.000289, 0.0000815];
    let mut prev = 0.0;
    for bits in 1..=8u8 {
        let c = RaBitQ::new(Identity(d), bits).unwrap();
        let mut code = vec![0u8; c.code_len()];
        let mut out = vec![0f32; d];
        let mut dist = 0.0;
        let n = 60;
        for _ in 0..n {
            let x = gaussian(&mut rng, d);
            c.encode_into(&x, &mut code).unwrap();
            c.decode_into(&code, &mut out).unwrap();
            let (r, x0, _) = c.factors(&code).unwrap();
            let r2 = dot(&x, &x);
            assert!((f64::from(r) - r2.sqrt()).abs() < 1e-4 * r2.sqrt());
            let err: f64 = x.iter().zip(&out).map(|(a, b)| f64::from(a - b).powi(2)).sum();
            let want = r2 * (1.0 - f64::from(x0).powi(2));
            assert!((err - want).abs() < 1e-4 * r2 + 1e-3 * want, "B={bits}: {err} vs {want}");
            dist += 1.0 - f64::from(x0).powi(2);
        }
        dist /= n as f64;
        let t = theory[bits as usize - 1];
        assert!(dist < t * 1.02, "B={bits}: mean 1 − x0² = {dist}, theory {t}");
        assert!(dist > t * 0.5, "B={bits}: mean 1 − x0² = {dist} implausibly small vs {t}");
        if bits == 1 {
            // E[x0] = √(2/π)·(1 + O(1/d)) for Gaussian data.
            assert!((dist - (1.0 - 2.0 / std::f64::consts::PI)).abs() < 0.01, "{dist}");
        }
        assert!(dist < 1.0 - prev || bits == 1);
        prev = 1.0 - dist;
    }
}

/// The float-query score equals the closed form `⟨c,q⟩ + (⟨q, x̂⟩ − ⟨c,q⟩)/x0²` (x̂ = decode).
#[test]
fn score_matches_naive_reference() {
    let d = 96;
    let mut rng = Rng::new(11);
    let data: Vec<f32> = (0..20 * d).map(|i| rng.gaussian() as f32 + (i % d) as f32 * 0.05).collect();
    for bits in [1u8, 2, 4, 7] {
        for centroid in [false, true] {
            // The centred codec is `Centered<RaBitQ>`; without a centroid its mean is 0.
            let mean = if centroid { None } else { Some(vec![0.0f32; d]) };
            let c: CenteredRaBitQ<HaarRotation> = match mean {
                None => Centered::train_mean(RaBitQ::new(haar(d, 3), bits).unwrap(), &data).unwrap(),
                Some(m) => Centered::new(RaBitQ::new(haar(d, 3), bits).unwrap(), m).unwrap(),
            };
            let cvec = c.mean().to_vec();
            let mut code = vec![0u8; c.code_len()];
            let mut xh = vec![0f32; d];
            let mut scratch = c.scratch();
            for row in data.chunks_exact(d).take(5) {
                let q = gaussian(&mut rng, d);
                c.encode_into(row, &mut code).unwrap();
                c.decode_into(&code, &mut xh).unwrap();
                let (_, x0, _) = c.inner.factors(&code).unwrap();
                let cq = dot(&cvec, &q);
                let want = cq + (dot(&q, &xh) - cq) / f64::from(x0).powi(2);
                let prep = c.prepare(&q, &mut scratch).unwrap();
                let got = f64::from(c.score(&prep, &code).unwrap());
                assert!((got - want).abs() < 1e-3 * (1.0 + want.abs()), "B={bits} c={centroid}: {got} vs {want}");
            }
        }
    }
}

/// Unbiasedness over random rotations: fixed o and q, N Haar seeds; the mean estimate is within
/// 4 standard errors of ⟨o, q⟩, with σ² from the closed form
/// r²(‖q‖² − ⟨o−c,q⟩²/r²)·(1 − x0²)/x0² / (D − 1) averaged over the seeds.
#[test]
fn unbiased_over_random_rotations() {
    let d = 48;
    let mut rng = Rng::new(2024);
    let o = gaussian(&mut rng, d);
    // A query correlated with o, so the true value is far from 0.
    let q: Vec<f32> = o.iter().map(|v| 0.6 * v + rng.gaussian() as f32).collect();
    let truth = dot(&o, &q);
    let (r2, q2) = (dot(&o, &o), dot(&q, &q));
    for bits in [1u8, 2, 4] {
        for quantized in [false, true] {
            let n = 300;
            let (mut sum, mut var_pred) = (0.0f64, 0.0f64);
            for seed in 0..n {
                let c = RaBitQ::new(haar(d, 1000 + seed), bits).unwrap();
                let mut code = vec![0u8; c.code_len()];
                c.encode_into(&o, &mut code).unwrap();
                let mut s = c.scratch();
                let prep = if quantized {
                    c.prepare_quantized(&q, seed, &mut s).unwrap()
                } else {
                    c.prepare_float(&q, &mut s).unwrap()
                };
                sum += f64::from(c.score(&prep, &code).unwrap());
                let (_, x0, _) = c.factors(&code).unwrap();
                let x0 = f64::from(x0);
                var_pred += (r2 * q2 - truth * truth) * (1.0 - x0 * x0) / (x0 * x0) / (d - 1) as f64;
            }
            let mean = sum / n as f64;
            // Quantized queries add rounding variance: allow it with a factor 1.5 on σ.
            let se = (var_pred / n as f64).sqrt() / (n as f64).sqrt() * if quantized { 1.5 } else { 1.0 };
            assert!(
                (mean - truth).abs() < 4.0 * se,
                "B={bits} quantized={quantized}: mean {mean} truth {truth} se {se}"
            );
        }
    }
}

/// The standardized error z = (est − truth)·x0·√(D−1) / (√(r²‖q‖² − ⟨o,q⟩²)·√(1 − x0²)) has mean
/// 0 and variance 1 (module docs), and the bound with ε0 = 1.9 holds as often as
/// P(|N(0,1)| ≤ 1.9) ≈ 0.943; with ε0 = 4 it essentially always holds.
#[test]
fn error_bound_holds_with_high_probability() {
    let d = 128;
    let mut rng = Rng::new(77);
    for bits in [1u8, 3, 4] {
        let c = RaBitQ::new(Identity(d), bits).unwrap();
        let mut code = vec![0u8; c.code_len()];
        let mut s = c.scratch();
        let n = 4000;
        let (mut z1, mut z2, mut in19, mut in4) = (0.0f64, 0.0f64, 0, 0);
        for _ in 0..n {
            let o = gaussian(&mut rng, d);
            let q = gaussian(&mut rng, d);
            c.encode_into(&o, &mut code).unwrap();
            let prep = c.prepare(&q, &mut s).unwrap();
            let est = f64::from(c.score(&prep, &code).unwrap());
            let truth = dot(&o, &q);
            let qn = dot(&q, &q).sqrt() as f32;
            let err = (est - truth).abs();
            if err <= f64::from(c.error_bound(&code, qn, EPS0).unwrap()) {
                in19 += 1;
            }
            if err <= f64::from(c.error_bound(&code, qn, 4.0).unwrap()) {
                in4 += 1;
            }
            let (_, x0, _) = c.factors(&code).unwrap();
            let x0 = f64::from(x0);
            let scale = (dot(&o, &o) * dot(&q, &q) - truth * truth).sqrt() * (1.0 - x0 * x0).sqrt() / x0;
            let z = (est - truth) / scale * ((d - 1) as f64).sqrt();
            z1 += z;
            z2 += z * z;
        }
        let (mean, var) = (z1 / n as f64, z2 / n as f64 - (z1 / n as f64).powi(2));
        // Standard errors: 1/√n = 0.016 for the mean, √(2/n) = 0.022 for the variance.
        assert!(mean.abs() < 0.07, "B={bits}: mean z {mean}");
        assert!((var - 1.0).abs() < 0.1, "B={bits}: var z {var}");
        let f19 = in19 as f64 / n as f64;
        assert!(f19 > 0.925, "B={bits}: bound(1.9) held in {f19}");
        assert!(in4 >= n - 2, "B={bits}: bound(4) held in {in4}/{n}");
    }
}

/// The quantized query is unbiased over its rounding: averaged over seeds it converges to the
/// float score, and single draws stay within the rounding error Δ/2·‖scaled code‖·4.
#[test]
fn quantized_query_unbiased_over_rounding() {
    let d = 200;
    let mut rng = Rng::new(9);
    for bits in [1u8, 4, 8] {
        let c = RaBitQ::new(Identity(d), bits).unwrap();
        let o = gaussian(&mut rng, d);
        let q = gaussian(&mut rng, d);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&o, &mut code).unwrap();
        let mut s = c.scratch();
        let fl = f64::from(c.score(&c.prepare_float(&q, &mut s).unwrap(), &code).unwrap());
        let (r, x0, _) = c.factors(&code).unwrap();
        let (lo, hi) = q.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let delta = f64::from(hi - lo) / 15.0;
        // Per coordinate the rounding error has variance ≤ Δ²/4; the code direction has unit
        // norm and the score scales it by r/x0.
        let sd = f64::from(r / x0) * delta / 2.0;
        let n = 400;
        let mut sum = 0.0;
        for seed in 0..n {
            let v = f64::from(c.score(&c.prepare_quantized(&q, seed, &mut s).unwrap(), &code).unwrap());
            assert!((v - fl).abs() < 5.0 * sd, "B={bits}: {v} vs {fl} (sd {sd})");
            sum += v;
        }
        let mean = sum / n as f64;
        assert!((mean - fl).abs() < 4.0 * sd / (n as f64).sqrt(), "B={bits}: mean {mean} vs {fl}");
    }
}

/// The grid-and-zoom rescale search reaches the exact optimum over all breakpoints k/a_i to
/// within 1e-4 of the cosine (and never exceeds it); measured worst gap 2e-5 at d = 384.
#[test]
fn rescale_search_close_to_exhaustive_optimum() {
    let mut rng = Rng::new(4);
    for ex in 1..=4u32 {
        for d in [16usize, 64, 256] {
            let a: Vec<f32> = {
                let g = gaussian(&mut rng, d);
                let n = dot(&g, &g).sqrt() as f32;
                g.iter().map(|v| v / n).collect()
            };
            let max = (1u32 << ex) - 1;
            let mut best = rescale::cosine(&a, ex, 0.0);
            for &v in &a {
                for k in 1..=max {
                    let t = k as f32 / v.abs() * (1.0 + 1e-6);
                    best = best.max(rescale::cosine(&a, ex, t));
                }
            }
            let t = rescale::best_scale(&a, ex);
            let got = rescale::cosine(&a, ex, t);
            assert!(got <= best + 1e-6);
            assert!(got > best - 1e-4, "ex={ex} d={d}: {got} vs exhaustive {best}");
        }
    }
}

/// Zero vectors (and vectors equal to the centroid) encode with r = 0, x0 = 0.8 (fallback)
/// and score exactly ⟨c, q⟩.
#[test]
fn zero_residual_scores_centroid() {
    let d = 16;
    let c = Centered::new(RaBitQ::new(Identity(d), 4).unwrap(), vec![0.5; d]).unwrap();
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&[0.5; 16], &mut code).unwrap();
    let (r, x0, _) = c.inner.factors(&code).unwrap();
    assert_eq!((r, x0), (0.0, 0.8));
    let q: Vec<f32> = (0..d).map(|i| i as f32).collect();
    let mut s = c.scratch();
    let p = c.prepare(&q, &mut s).unwrap();
    assert_eq!(c.score(&p, &code).unwrap(), 0.5 * 120.0);
    let mut out = vec![0f32; d];
    c.decode_into(&code, &mut out).unwrap();
    assert_eq!(out, vec![0.5; d]);
}

#[test]
fn bad_input_is_err() {
    assert!(matches!(RaBitQ::new(Identity(8), 0), Err(Error::InvalidParameter(_))));
    assert!(matches!(RaBitQ::new(Identity(8), 9), Err(Error::InvalidParameter(_))));
    assert!(matches!(RaBitQ::new(Identity(0), 1), Err(Error::InvalidParameter(_))));
    assert!(matches!(RaBitQ::new(Identity(1), 1), Err(Error::InvalidParameter(_))));
    let c = RaBitQ::new(Identity(8), 2).unwrap();
    let mut code = vec![0u8; c.code_len()];
    assert_eq!(c.encode_into(&[0.0; 7], &mut code), Err(Error::DimensionMismatch { expected: 8, got: 7 }));
    assert!(matches!(c.encode_into(&[0.0; 8], &mut code[1..]), Err(Error::CodeLength { .. })));
    let mut x = [1.0f32; 8];
    x[3] = f32::NAN;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    x[3] = f32::INFINITY;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    // Overflowing norm.
    assert_eq!(c.encode_into(&[f32::MAX; 8], &mut code), Err(Error::NonFinite));
    c.encode_into(&[1.0, -2.0, 3.0, 0.5, 0.0, -1.0, 2.0, 1.0], &mut code).unwrap();
    let mut s = c.scratch();
    assert!(matches!(c.prepare(&[0.0; 8], &mut s[..3]), Err(Error::BufferTooSmall { .. })));
    assert_eq!(c.prepare(&[f32::NAN; 8], &mut s).unwrap_err(), Error::NonFinite);
    // Corrupt factors: NaN / negative norm, zero / NaN / infinite second factor, and a second
    // factor implying x0 > 1: rejected by decode and score alike.
    let base = 2;
    for (off, val, score_err) in [
        (0, f32::NAN, true),
        (0, -1.0, true),
        (4, 0.0, true),
        (4, f32::NAN, true),
        (4, f32::INFINITY, true),
        (4, 1e6, true),
    ] {
        let mut bad = code.clone();
        bad[base + off..base + off + 4].copy_from_slice(&val.to_le_bytes());
        let mut out = [0f32; 8];
        assert!(matches!(c.decode_into(&bad, &mut out), Err(Error::Corrupt(_))), "{off} {val}");
        let p = c.prepare(&[1.0; 8], &mut s).unwrap();
        assert_eq!(matches!(c.score(&p, &bad), Err(Error::Corrupt(_))), score_err);
    }
    let mut s2 = c.scratch();
    let p = c.prepare(&[1.0; 8], &mut s2).unwrap();
    assert!(matches!(c.score(&p, &code[..5]), Err(Error::CodeLength { .. })));
    let mut out = [0f32; 7];
    assert!(c.decode_into(&code, &mut out).is_err());
    assert!(Centered::new(c.clone(), vec![0.0; 7]).is_err());
    assert!(Centered::new(c.clone(), vec![f32::NAN; 8]).is_err());
    assert!(Centered::train_mean(RaBitQ::new(Identity(8), 1).unwrap(), &[0.0; 12]).is_err());
    assert!(Centered::train_mean(RaBitQ::new(Identity(8), 1).unwrap(), &[]).is_err());
}

#[test]
fn parameters_round_trip_and_reject_corruption() {
    let d = 12;
    let c = RaBitQ::new(Identity(d), 3).unwrap().with_query_mode(QueryMode::Quantized4, 42);
    let bytes = c.to_bytes().unwrap();
    let back = RaBitQ::from_bytes(&bytes, Identity(d)).unwrap();
    assert_eq!(back.bits(), 3);
    assert_eq!(back.query_mode(), QueryMode::Quantized4);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    // Same codes and scores from the restored codec.
    let x: Vec<f32> = (0..d).map(|i| (i as f32).sin()).collect();
    let (mut a, mut b) = (vec![0u8; c.code_len()], vec![0u8; c.code_len()]);
    c.encode_into(&x, &mut a).unwrap();
    back.encode_into(&x, &mut b).unwrap();
    assert_eq!(a, b);
    let (mut s1, mut s2) = (c.scratch(), back.scratch());
    let (p1, p2) = (c.prepare(&x, &mut s1).unwrap(), back.prepare(&x, &mut s2).unwrap());
    assert_eq!(c.score(&p1, &a).unwrap(), back.score(&p2, &b).unwrap());
    assert!(p1.is_quantized());
    // Wrong transform dims, every truncation, every bit flip.
    assert!(RaBitQ::from_bytes(&bytes, Identity(d + 1)).is_err());
    for cut in 0..bytes.len() {
        assert!(RaBitQ::from_bytes(&bytes[..cut], Identity(d)).is_err());
    }
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        assert!(RaBitQ::from_bytes(&b, Identity(d)).is_err(), "flip at {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any finite vector encodes; its code decodes to the projection with ‖o − x̂‖² = r²(1 − x0²)
    /// and scores are finite; any code bytes decode or score to Ok or Err, never a panic.
    #[test]
    fn prop_round_trip(bits in 1u8..=8, x in proptest::collection::vec(-1e3f32..1e3, 9), garbage in proptest::collection::vec(any::<u8>(), 0..64)) {
        let c = RaBitQ::new(Identity(9), bits).unwrap();
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut out = vec![0f32; 9];
        c.decode_into(&code, &mut out).unwrap();
        let (r, x0, _) = c.factors(&code).unwrap();
        let err: f64 = x.iter().zip(&out).map(|(a, b)| f64::from(a - b).powi(2)).sum();
        let want = f64::from(r).powi(2) * (1.0 - f64::from(x0).powi(2)).max(0.0);
        prop_assert!((err - want).abs() <= 1e-4 * f64::from(r).powi(2) + 1e-6);
        let mut s = c.scratch();
        let p = c.prepare(&x, &mut s).unwrap();
        prop_assert!(c.score(&p, &code).unwrap().is_finite());
        let mut g = garbage.clone();
        g.resize(c.code_len(), 0);
        let _ = c.score(&p, &g);
        let _ = c.decode_into(&g, &mut out);
        let _ = c.score(&p, &garbage);
    }
}

#[test]
fn named_configs() {
    use vector_codecs::rabitq::{CONFIGS, from_config};
    let data: Vec<f32> = (0..64).map(|i| (i as f32).sin()).collect();
    for &(name, bits, mode) in CONFIGS {
        let c = from_config(name, Identity(16), &data, 1).unwrap();
        assert_eq!((c.inner.bits(), c.inner.query_mode()), (bits, mode));
        let mean: Vec<f32> = (0..16).map(|j| (data[j] + data[16 + j] + data[32 + j] + data[48 + j]) / 4.0).collect();
        assert!(c.mean().iter().zip(&mean).all(|(a, b)| (a - b).abs() < 1e-6));
    }
    assert!(from_config("rabitq9", Identity(16), &data, 1).is_err());
}

/// Subnormal and huge (but finite) inputs encode to valid codes.
#[test]
fn extreme_magnitudes() {
    for bits in [1u8, 4] {
        let c = RaBitQ::new(Identity(8), bits).unwrap();
        let mut code = vec![0u8; c.code_len()];
        for x in [[1e-45f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1e-45], [1e30, -1e30, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]] {
            c.encode_into(&x, &mut code).unwrap();
            let (r, x0, _) = c.factors(&code).unwrap();
            // x0 of these sparse vectors: 1-bit ≤ 0.71, 4-bit well above.
            assert!(r > 0.0 && (0.49..=1.0).contains(&x0), "{r} {x0}");
            let mut out = [0f32; 8];
            c.decode_into(&code, &mut out).unwrap();
            assert!(out.iter().all(|v| v.is_finite()));
        }
    }
}

/// With the crate's randomized Hadamard rotation (not Haar), the bias over its seeds is below
/// the resolution of 400 seeds (4 standard errors), at a power-of-two and a non-power-of-two d.
#[test]
fn unbiased_over_hadamard_seeds() {
    use vector_codecs::transform::RandomizedHadamard;
    for d in [64usize, 48] {
        let mut rng = Rng::new(99 + d as u64);
        let o = gaussian(&mut rng, d);
        let q: Vec<f32> = o.iter().map(|v| 0.6 * v + rng.gaussian() as f32).collect();
        let truth = dot(&o, &q);
        for bits in [1u8, 4] {
            let n = 400;
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for seed in 0..n {
                let c = RaBitQ::new(RandomizedHadamard::new(d, 7000 + seed).unwrap(), bits).unwrap();
                let mut code = vec![0u8; c.code_len()];
                c.encode_into(&o, &mut code).unwrap();
                let mut s = c.scratch();
                let v = f64::from(c.score(&c.prepare(&q, &mut s).unwrap(), &code).unwrap());
                s1 += v;
                s2 += v * v;
            }
            let mean = s1 / n as f64;
            let se = ((s2 / n as f64 - mean * mean) / n as f64).sqrt();
            assert!((mean - truth).abs() < 4.0 * se, "d={d} B={bits}: mean {mean} truth {truth} se {se}");
        }
    }
}

/// The batch float-query scan (multi-row bit-plane kernel, blocks of 64 codes) gives exactly the
/// per-code scores, for every B, dimensions with and without a partial 64-coordinate block, and
/// batch sizes around the kernel's 4-row groups and the 64-code blocks.
#[test]
fn batch_float_scores_equal_per_code_scores() {
    let mut rng = Rng::new(99);
    for d in [37usize, 64, 100, 384] {
        for bits in [1u8, 2, 4, 8] {
            let c = RaBitQ::new(haar(d, 5), bits).unwrap();
            let n = 131;
            let xs: Vec<f32> = gaussian(&mut rng, n * d);
            let mut codes = vec![0u8; n * c.code_len()];
            c.encode_batch(&xs, &mut codes).unwrap();
            let q = gaussian(&mut rng, d);
            let mut scratch = c.scratch();
            let p = c.prepare(&q, &mut scratch).unwrap();
            for m in [0usize, 1, 3, 4, 63, 64, 65, 131] {
                let mut batch = vec![0f32; m];
                c.score_batch(&p, &codes[..m * c.code_len()], &mut batch).unwrap();
                for (i, code) in codes.chunks_exact(c.code_len()).take(m).enumerate() {
                    let one = c.score(&p, code).unwrap();
                    assert_eq!(batch[i].to_bits(), one.to_bits(), "d {d} B {bits} row {i} of {m}");
                }
            }
        }
    }
}
