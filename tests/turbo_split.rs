//! TurboQuant at fractional rates (`turbo::split`): D_mse of the mixed-width codecs vs the
//! channel-weighted average of the Beta-optimal values (SPECS §8, d = 128), score = ⟨q, x̂⟩,
//! TurboQuant-prod at b+½ (distortion ≈ (π/2)·D_mse(b−½)/d, unbiased), the generic `Split` /
//! `Normalized` wrappers against naive references, and bad input.
use proptest::prelude::*;
use vector_codecs::compose::{Normalized, Residual, Split};
use vector_codecs::qjl::Qjl;
use vector_codecs::rng::Rng;
use vector_codecs::scalar::codebook::coordinate_codebook;
use vector_codecs::scalar::lloyd::Codebook;
use vector_codecs::turbo::{
    CodebookKind, CodebookScalar, NormScalar, RotationKind, turbo_mse_half, turbo_mse_split, turbo_prod_half,
};
use vector_codecs::{Codec, Decode, Error, Estimator, Score};

/// Beta-optimal D_mse at d = 128 for b = 1..=4 (SPECS §8).
const D128: [f64; 4] = [0.36089, 0.11600, 0.033966, 0.0093148];

fn unit(d: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; d];
    Rng::new(seed).fill_gaussian(&mut v);
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn d_mse<C: Decode>(c: &C, n: u64, seed: u64) -> f64 {
    let d = c.dim();
    let mut code = vec![0u8; c.code_len()];
    let mut y = vec![0.0; d];
    let mut tot = 0.0f64;
    for s in 0..n {
        let x = unit(d, seed + s);
        c.encode_into(&x, &mut code).unwrap();
        c.decode_into(&code, &mut y).unwrap();
        tot += x.iter().zip(&y).map(|(a, b)| f64::from((a - b) * (a - b))).sum::<f64>();
    }
    tot / n as f64
}

#[test]
fn d_mse_of_half_rates_is_the_channel_weighted_average_d128() {
    let d = 128;
    for (b, lo, hi) in [(1u32, D128[1], D128[0]), (2, D128[2], D128[1]), (3, D128[3], D128[2])] {
        let c = turbo_mse_half(d, b, 9, RotationKind::Haar, CodebookKind::Beta).unwrap();
        // 64 coordinates at b+1 bits, 64 at b, one f32 norm: exactly b + ½ + 32/d.
        assert_eq!(c.code_len(), (64 * (b as usize + 1) + 64 * b as usize) / 8 + 4);
        assert!((c.bits_per_dim() - (f64::from(b) + 0.5 + 32.0 / d as f64)).abs() < 1e-12);
        assert_eq!(c.estimator(), Estimator::Reconstruction);
        let dm = d_mse(&c, 3000, 1000);
        let want = 0.5 * (lo + hi);
        eprintln!("tq{b}.5, d = 128: D_mse {dm:.5} (channel-weighted Beta-optimal {want:.5})");
        assert!(dm > lo && dm < hi, "b={b}.5: D_mse {dm} not between {lo} and {hi}");
        assert!((dm / want - 1.0).abs() < 0.02, "b={b}.5: D_mse {dm} vs {want}");
    }
}

#[test]
fn uneven_split_and_hadamard_gaussian() {
    // 96 coordinates at 3 bits, 32 at 2 bits: D = (96·D(3) + 32·D(2))/128, Hadamard + Gaussian
    // table (within 4%, as the integer-rate Gaussian codebooks).
    let d = 128;
    let c = turbo_mse_split(d, 96, 3, 2, 5, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap();
    assert_eq!(c.code_len(), 36 + 8 + 4);
    let want = (96.0 * D128[2] + 32.0 * D128[1]) / 128.0;
    let dm = d_mse(&c, 1500, 7000);
    assert!((dm / want - 1.0).abs() < 0.04, "D_mse {dm} vs {want}");
}

#[test]
fn score_equals_inner_product_with_decoded_vector() {
    // d = 100 (Hadamard on a non-power of two, groups with a remainder: 50·3 and 50·2 bits).
    for (d, b) in [(100usize, 2u32), (100, 3), (37, 1), (384, 3)] {
        let c = turbo_mse_half(d, b, 1, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
        let x: Vec<f32> = unit(d, 1).iter().map(|v| v * 3.0).collect();
        let q = unit(d, 2);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut xr = vec![0.0; d];
        c.decode_into(&code, &mut xr).unwrap();
        let mut sc = c.scratch();
        let pq = c.prepare(&q, &mut sc).unwrap();
        let s = c.score(&pq, &code).unwrap();
        let r: f32 = q.iter().zip(&xr).map(|(a, b)| a * b).sum();
        assert!((s - r).abs() < 1e-4, "d={d} b={b}: {s} vs {r}");
        let mut two = code.clone();
        two.extend_from_slice(&code);
        let mut out = [0.0f32; 2];
        c.score_batch(&pq, &two, &mut out).unwrap();
        assert!(out.iter().all(|v| (v - s).abs() < 1e-6));
        // The reconstruction is close: relative error ≈ √D_mse.
        let err: f32 = x.iter().zip(&xr).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / 9.0;
        assert!(err < 0.3, "d={d} b={b}: relative squared error {err}");
    }
}

#[test]
fn prod_half_distortion_and_unbiasedness() {
    let d = 128;
    let y = unit(d, 77);
    // tqp2.5 = MSE 1.5 + QJL, tqp3.5 = MSE 2.5 + QJL; D_prod·d ≈ (π/2 − 1/d)·D_mse(b−½).
    for (b, dm) in [(2u32, 0.5 * (D128[0] + D128[1])), (3, 0.5 * (D128[1] + D128[2]))] {
        let w = (std::f64::consts::FRAC_PI_2 - 1.0 / d as f64) * dm;
        let base = turbo_prod_half(d, b, 10_000, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
        assert_eq!(base.estimator(), Estimator::Unbiased);
        assert!((base.bits_per_dim() - (f64::from(b) + 0.5 + 64.0 / d as f64)).abs() < 1e-12);
        let n = 1500u64;
        let (mut bias, mut sq) = (0.0f64, 0.0f64);
        for s in 0..n {
            let c = Residual::new(base.first.clone(), Qjl::new(d, d, 30_000 + s).unwrap()).unwrap();
            let x = unit(d, 20_000 + s);
            let mut code = vec![0u8; c.code_len()];
            c.encode_into(&x, &mut code).unwrap();
            let mut sc = c.scratch();
            let pq = c.prepare(&y, &mut sc).unwrap();
            let e = f64::from(c.score(&pq, &code).unwrap());
            let t: f64 = x.iter().zip(&y).map(|(a, b)| f64::from(a * b)).sum();
            bias += e - t;
            sq += (e - t) * (e - t);
        }
        let dp = sq / n as f64 * d as f64;
        assert!((dp / w - 1.0).abs() < 0.05 + 3.0 * (2.0 / n as f64).sqrt(), "b={b}.5: D_prod·d {dp} vs {w}");
        let se = (w / d as f64 / n as f64).sqrt();
        assert!((bias / n as f64).abs() < 4.0 * se, "b={b}.5: bias {}", bias / n as f64);
    }
}

#[test]
fn split_with_equal_codebooks_is_byte_identical_to_norm_scalar() {
    for (d, b) in [(64usize, 2u32), (30, 3), (33, 4)] {
        let cb = coordinate_codebook(d, b, CodebookKind::Gaussian).unwrap();
        let k = 8 * (d / 16);
        let a = Normalized::new(
            Split::new(CodebookScalar::new(k, cb.clone()).unwrap(), CodebookScalar::new(d - k, cb.clone()).unwrap())
                .unwrap(),
        );
        let r: NormScalar = vector_codecs::turbo::norm_scalar(d, cb).unwrap();
        assert_eq!(a.code_len(), r.code_len());
        let (mut ca, mut cr) = (vec![0u8; a.code_len()], vec![0u8; r.code_len()]);
        for s in 0..20 {
            let x: Vec<f32> = unit(d, s).iter().map(|v| v * (1.0 + s as f32)).collect();
            a.encode_into(&x, &mut ca).unwrap();
            r.encode_into(&x, &mut cr).unwrap();
            assert_eq!(ca, cr, "d={d} b={b} s={s}");
        }
    }
}

#[test]
fn configs_and_bad_input() {
    use vector_codecs::factory;
    use vector_codecs::metric::Metric;
    for name in ["tq1.5", "tq2.5", "tq3.5", "tq7.5", "tqp2.5", "tqp3.5", "tqp4.5"] {
        let c = factory::build(name, 384, Metric::InnerProduct, 1, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rate: f64 = name.trim_start_matches("tqp").trim_start_matches("tq").parse().unwrap();
        let bpd = if name.starts_with("tqp") { c.bits_per_dim() - 32.0 / 384.0 } else { c.bits_per_dim() };
        assert!((bpd - rate - 32.0 / 384.0).abs() < 1e-9, "{name}: {bpd}");
    }
    for name in ["tq0.5", "tq8.5", "tqp1.5", "tq2.25", "tq.5", "tqp.5", "tq2.5x"] {
        assert!(factory::build(name, 384, Metric::InnerProduct, 1, &[]).is_err(), "{name}");
    }
    assert!(turbo_mse_half(1, 2, 0, RotationKind::Hadamard, CodebookKind::Beta).is_err());
    assert!(turbo_mse_half(16, 4, 0, RotationKind::Hadamard, CodebookKind::Gaussian).is_err());
    assert!(turbo_mse_split(16, 0, 3, 2, 0, RotationKind::Hadamard, CodebookKind::Gaussian).is_err());
    assert!(turbo_mse_split(16, 16, 3, 2, 0, RotationKind::Hadamard, CodebookKind::Gaussian).is_err());
    let c = turbo_mse_half(20, 2, 0, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
    let mut code = vec![0u8; c.code_len()];
    let mut x = [0.5f32; 20];
    x[3] = f32::NAN;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    x[3] = f32::INFINITY;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    assert!(c.encode_into(&[0.0; 19], &mut code).is_err());
    assert!(c.encode_into(&[0.0; 20], &mut code[1..]).is_err());
    // Overflowing norm.
    assert!(c.encode_into(&[3e38; 20], &mut code).is_err());
    c.encode_into(&[0.0; 20], &mut code).unwrap();
    let mut out = [1.0f32; 20];
    c.decode_into(&code, &mut out).unwrap();
    assert!(out.iter().all(|v| *v == 0.0));
    let mut sc = c.scratch();
    assert!(c.prepare(&[f32::NAN; 20], &mut sc).is_err());
    assert!(c.prepare(&[0.0; 21], &mut sc).is_err());
    let mut small = vec![0.0; c.query_scratch_len() - 1];
    assert!(c.prepare(&[0.0; 20], &mut small).is_err());
    let pq = c.prepare(&[1.0; 20], &mut sc).unwrap();
    assert_eq!(c.score(&pq, &code).unwrap(), 0.0);
    let l = code.len();
    for bad in [f32::INFINITY, f32::NAN, -1.0] {
        code[l - 4..].copy_from_slice(&bad.to_le_bytes());
        assert!(matches!(c.decode_into(&code, &mut out), Err(Error::Corrupt(_))));
        assert!(matches!(c.score(&pq, &code), Err(Error::Corrupt(_))));
    }
    assert!(c.decode_into(&code[1..], &mut out).is_err());
    assert!(c.score(&pq, &code[1..]).is_err());
    assert!(c.decode_into(&code, &mut out[1..]).is_err());
    // A codebook with fewer levels than 2^b: out-of-range indices read the last level.
    let cs = CodebookScalar::new(9, Codebook::new(&[-1.0, 0.0, 1.0]).unwrap()).unwrap();
    assert_eq!(cs.code_len(), 3);
    let mut o = [0.0f32; 9];
    cs.decode_into(&[0xFF; 3], &mut o).unwrap();
    assert!(o.iter().all(|v| *v == 1.0));
    let mut sc = cs.scratch();
    let pq = cs.prepare(&[1.0; 9], &mut sc).unwrap();
    assert_eq!(cs.score(&pq, &[0xFF; 3]).unwrap(), 9.0);
    assert!(Split::new(cs.clone(), CodebookScalar::new(1, Codebook::gaussian(1).unwrap()).unwrap()).is_ok());
    assert!(CodebookScalar::new(0, Codebook::gaussian(1).unwrap()).is_err());
}

fn naive_index(levels: &[f32], v: f32) -> usize {
    // Nearest level, ties to the upper one (as the midpoint thresholds).
    let mut best = 0;
    for (i, &l) in levels.iter().enumerate() {
        if (v - l).abs() <= (v - levels[best]).abs() {
            best = i;
        }
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// `Split<CodebookScalar, CodebookScalar>` against a naive per-coordinate reference: decode
    /// is each part's nearest level, score is `Σ q_i x̂_i`, and the code is the parts' codes
    /// concatenated.
    #[test]
    fn split_matches_naive_reference(
        k in 1usize..40, rest in 1usize..40, b1 in 1u32..=8, b2 in 1u32..=4,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let lv = |bits: u32, rng: &mut Rng| {
            let n = 1usize << bits;
            let mut v: Vec<f32> = (0..n).map(|i| i as f32 - n as f32 / 2.0 + 0.25 * rng.next_f32()).collect();
            v.sort_by(f32::total_cmp);
            v
        };
        let (l1, l2) = (lv(b1, &mut rng), lv(b2, &mut rng));
        let a = CodebookScalar::new(k, Codebook::new(&l1).unwrap()).unwrap();
        let bb = CodebookScalar::new(rest, Codebook::new(&l2).unwrap()).unwrap();
        let c = Split::new(a.clone(), bb.clone()).unwrap();
        prop_assert_eq!(c.dim(), k + rest);
        prop_assert_eq!(c.code_len(), (k * b1 as usize).div_ceil(8) + (rest * b2 as usize).div_ceil(8));
        let d = k + rest;
        let mut x = vec![0.0f32; d];
        let mut q = vec![0.0f32; d];
        rng.fill_gaussian(&mut x);
        rng.fill_gaussian(&mut q);
        x.iter_mut().for_each(|v| *v *= 4.0);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut ca = vec![0u8; a.code_len()];
        a.encode_into(&x[..k], &mut ca).unwrap();
        prop_assert_eq!(&code[..a.code_len()], &ca[..]);
        let mut y = vec![0.0f32; d];
        c.decode_into(&code, &mut y).unwrap();
        let mut want = 0.0f64;
        for i in 0..d {
            let levels = if i < k { &l1 } else { &l2 };
            let r = levels[naive_index(levels, x[i])];
            prop_assert_eq!(y[i], r, "coordinate {}", i);
            want += f64::from(q[i]) * f64::from(r);
        }
        let mut sc = c.scratch();
        let pq = c.prepare(&q, &mut sc).unwrap();
        let s = f64::from(c.score(&pq, &code).unwrap());
        prop_assert!((s - want).abs() < 1e-4 * (1.0 + want.abs()) * d as f64, "{} vs {}", s, want);
        prop_assert_eq!(c.estimator(), Estimator::Reconstruction);
    }
}

/// `tqN-ip`: the same index bytes as `tqN`, the stored scalar `‖x‖/⟨u, û⟩`, an exact score for
/// `q = x`, and a lower inner-product error than `tqN` on random queries at 2 bits.
#[test]
fn ip_corrected_norm() {
    use vector_codecs::turbo::{turbo_mse, turbo_mse_ip};
    let d = 128;
    let plain = turbo_mse(d, 2, 9, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
    let ip = turbo_mse_ip(d, 2, 9, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
    assert_eq!(ip.code_len(), plain.code_len());
    assert_eq!(Score::estimator(&ip), Estimator::Biased);
    let mut rng = Rng::new(4);
    let (mut e_plain, mut e_ip, mut truth) = (0.0f64, 0.0f64, 0.0f64);
    let (mut cp, mut ci) = (vec![0u8; plain.code_len()], vec![0u8; ip.code_len()]);
    let (mut sp, mut si) = (plain.scratch(), ip.scratch());
    for _ in 0..200 {
        let mut x = vec![0f32; d];
        rng.fill_gaussian(&mut x);
        plain.encode_into(&x, &mut cp).unwrap();
        ip.encode_into(&x, &mut ci).unwrap();
        let nb = cp.len() - 4;
        assert_eq!(cp[..nb], ci[..nb], "same indices");
        let norm = f32::from_le_bytes(cp[nb..].try_into().unwrap());
        let s = f32::from_le_bytes(ci[nb..].try_into().unwrap());
        assert!(s > norm, "the quantized direction is shorter along x: s {s} norm {norm}");
        let xx: f32 = x.iter().map(|v| v * v).sum();
        let qx = ip.prepare(&x, &mut si).unwrap();
        let self_score = ip.score(&qx, &ci).unwrap();
        assert!((self_score - xx).abs() <= 1e-3 * xx, "q = x is exact: {self_score} vs {xx}");
        let mut q = vec![0f32; d];
        rng.fill_gaussian(&mut q);
        for (qi, xi) in q.iter_mut().zip(&x) {
            *qi += 2.0 * xi; // correlated queries, as in search
        }
        let t: f32 = q.iter().zip(&x).map(|(a, b)| a * b).sum();
        let pp = plain.prepare(&q, &mut sp).unwrap();
        let pi = ip.prepare(&q, &mut si).unwrap();
        e_plain += f64::from(plain.score(&pp, &cp).unwrap() - t).powi(2);
        e_ip += f64::from(ip.score(&pi, &ci).unwrap() - t).powi(2);
        truth += f64::from(t).powi(2);
    }
    let (rp, ri) = ((e_plain / truth).sqrt(), (e_ip / truth).sqrt());
    assert!(ri < 0.8 * rp, "ip-corrected error {ri} vs plain {rp}");
}
