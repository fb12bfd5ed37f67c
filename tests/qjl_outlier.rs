//! QJL with exact outlier channels: unbiasedness over projection seeds, variance equal to the
//! closed form `[(π/2)‖q‖²‖r‖² − ⟨q,r⟩²]/m` of the remainder `r` (and far below plain QJL's on
//! keys with outlier channels), exactness of the stored channels, bad input.
use vector_codecs::qjl::Qjl;
use vector_codecs::qjl::outlier::{MAX_OUTLIERS, QjlOutlier, group_outlier};
use vector_codecs::rng::Rng;
use vector_codecs::{Codec, Decode, Error, Estimator, Score};

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
}

/// Mean and variance over `n` seeds of a codec's score of `k` against `q`.
fn stats<C: Score>(build: impl Fn(u64) -> C, k: &[f32], q: &[f32], n: u64) -> (f64, f64) {
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for seed in 0..n {
        let c = build(seed);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(k, &mut code).unwrap();
        let mut scratch = c.scratch();
        let p = c.prepare(q, &mut scratch).unwrap();
        let s = f64::from(c.score(&p, &code).unwrap());
        s1 += s;
        s2 += s * s;
    }
    let mean = s1 / n as f64;
    (mean, s2 / n as f64 - mean * mean)
}

#[test]
fn unbiased_and_lower_variance_on_outlier_channels() {
    let (d, m, o) = (32usize, 64usize, 4usize);
    let mut rng = Rng::new(42);
    let mut k: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
    for (i, v) in [(3usize, 20.0f32), (9, -15.0), (17, 25.0), (30, -18.0)] {
        k[i] = v;
    }
    let q: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
    let mut r = k.clone();
    for i in [3, 9, 17, 30] {
        r[i] = 0.0;
    }
    let half_pi = std::f64::consts::FRAC_PI_2;
    let var = |v: &[f32]| (half_pi * dot(&q, &q) * dot(v, v) - dot(&q, v).powi(2)) / m as f64;
    let (vp, vo) = (var(&k), var(&r));
    let truth = dot(&q, &k);
    let n = 4000u64;
    let (mo, so) = stats(|s| QjlOutlier::new(d, m, s, o).unwrap(), &k, &q, n);
    let (mp, sp) = stats(|s| Qjl::new(d, m, s).unwrap(), &k, &q, n);
    eprintln!(
        "truth {truth:.3}; outlier mean {mo:.3} var {so:.3} (closed form {vo:.3}); plain mean {mp:.3} var {sp:.3} (closed form {vp:.3})"
    );
    // Means within 4 standard errors of the truth.
    assert!((mo - truth).abs() < 4.0 * (vo / n as f64).sqrt(), "outlier mean {mo} vs {truth}");
    assert!((mp - truth).abs() < 4.0 * (vp / n as f64).sqrt(), "plain mean {mp} vs {truth}");
    // Variances match the closed forms (±15%) and the split is far better here.
    assert!((so / vo - 1.0).abs() < 0.15, "outlier variance {so} vs closed form {vo}");
    assert!((sp / vp - 1.0).abs() < 0.15, "plain variance {sp} vs closed form {vp}");
    assert!(so < 0.1 * sp, "outlier variance {so} not far below plain {sp}");
    let c = QjlOutlier::new(d, m, 0, o).unwrap();
    assert_eq!(c.estimator(), Estimator::Unbiased);
    assert_eq!(c.code_len(), 6 * o + m / 8 + 4);
}

#[test]
fn without_outliers_it_is_plain_qjl() {
    let (d, m) = (20usize, 48usize);
    let x: Vec<f32> = (0..d).map(|i| (i as f32 * 0.3).sin()).collect();
    let a = QjlOutlier::new(d, m, 7, 0).unwrap();
    let b = Qjl::new(d, m, 7).unwrap();
    let (mut ca, mut cb) = (vec![0u8; a.code_len()], vec![0u8; b.code_len()]);
    a.encode_into(&x, &mut ca).unwrap();
    b.encode_into(&x, &mut cb).unwrap();
    assert_eq!(ca, cb);
    let (mut sa, mut sb) = (a.scratch(), b.scratch());
    let (pa, pb) = (a.prepare(&x, &mut sa).unwrap(), b.prepare(&x, &mut sb).unwrap());
    assert_eq!(a.score(&pa, &ca).unwrap(), b.score(&pb, &cb).unwrap());
}

#[test]
fn decode_keeps_outliers_exact_on_top_of_the_sketch() {
    let (d, m, o) = (16usize, 32usize, 2usize);
    let mut x = vec![0.1f32; d];
    x[5] = 100.0;
    x[11] = -50.0;
    let c = QjlOutlier::new(d, m, 3, o).unwrap();
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    // The remainder's QJL reconstruction, added to the exact channels.
    let mut rec = vec![0f32; d];
    c.sketch().decode_into(&code[6 * o..], &mut rec).unwrap();
    let mut y = vec![0f32; d];
    c.decode_into(&code, &mut y).unwrap();
    for i in 0..d {
        let exact = if i == 5 {
            100.0
        } else if i == 11 {
            -50.0
        } else {
            0.0
        };
        assert!((y[i] - (rec[i] + exact)).abs() < 1e-5, "channel {i}");
    }
    // Stored remainder norm: ‖x‖ without the two outliers.
    let n = f32::from_le_bytes(code[c.code_len() - 4..].try_into().unwrap());
    assert!((n - (14.0f32 * 0.01).sqrt()).abs() < 1e-6);
}

#[test]
fn bad_input_is_an_error() {
    assert!(matches!(QjlOutlier::new(8, 8, 1, MAX_OUTLIERS + 1), Err(Error::InvalidParameter(_))));
    assert!(matches!(QjlOutlier::new(8, 8, 1, 9), Err(Error::InvalidParameter(_))));
    assert!(matches!(QjlOutlier::new(70000, 1, 1, 1), Err(Error::InvalidParameter(_))));
    assert!(QjlOutlier::new(8, 0, 1, 1).is_err());
    let c = QjlOutlier::new(8, 16, 1, 2).unwrap();
    let x = [1.0f32, -4.0, 0.5, 2.0, 0.0, 3.0, -1.0, 0.25];
    let mut code = vec![0u8; c.code_len()];
    assert!(matches!(c.encode_into(&x[..7], &mut code), Err(Error::DimensionMismatch { .. })));
    assert!(matches!(c.encode_into(&x, &mut code[1..]), Err(Error::CodeLength { .. })));
    let mut nan = x;
    nan[3] = f32::NAN;
    assert_eq!(c.encode_into(&nan, &mut code), Err(Error::NonFinite));
    c.encode_into(&x, &mut code).unwrap();
    let mut y = [0f32; 8];
    let mut s = c.scratch();
    let p = c.prepare(&x, &mut s).unwrap();
    assert!(c.score(&p, &code).unwrap().is_finite());
    assert!(matches!(c.decode_into(&code[..code.len() - 1], &mut y), Err(Error::CodeLength { .. })));
    assert!(matches!(c.score(&p, &code[1..]), Err(Error::CodeLength { .. })));
    let corrupt = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = code.clone();
        f(&mut b);
        let mut y = [0f32; 8];
        assert!(matches!(c.decode_into(&b, &mut y), Err(Error::Corrupt(_))));
        assert!(matches!(c.score(&p, &b), Err(Error::Corrupt(_))));
    };
    corrupt(&|b| b[0..2].copy_from_slice(&8u16.to_le_bytes())); // index ≥ dim
    corrupt(&|b| {
        let first = [b[0], b[1]];
        b[2..4].copy_from_slice(&first); // repeated index
    });
    corrupt(&|b| b[4..8].copy_from_slice(&f32::INFINITY.to_le_bytes())); // value
    corrupt(&|b| {
        let n = b.len();
        b[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes()); // remainder norm
    });
    let mut q = x;
    q[0] = f32::INFINITY;
    assert_eq!(c.prepare(&q, &mut s).map(|_| ()), Err(Error::NonFinite));
}

/// The group variant: outlier channels chosen from a group of keys that share them (a
/// prefill sample), stored as f16 without per-vector indices. Over sketch seeds the score's
/// mean is the truth up to the f16 rounding of the outliers, its variance is the closed form of
/// the sketched remainder (the other `d − o` channels, `m` rows), and it is far below plain
/// QJL's at the same stored size.
#[test]
fn group_outliers_unbiased_up_to_f16_and_low_variance() {
    let (d, m, o) = (32usize, 64usize, 4usize);
    let mut rng = Rng::new(43);
    let outl = [(3usize, 20.0f32), (9, -15.0), (17, 25.0), (30, -18.0)];
    // A group of 64 keys sharing the outlier channels (values jittered), then one key of it.
    let mut group = vec![0f32; 64 * d];
    for row in group.chunks_exact_mut(d) {
        for v in row.iter_mut() {
            *v = rng.gaussian() as f32;
        }
        for &(i, v) in &outl {
            row[i] = v * (1.0 + 0.1 * rng.gaussian() as f32);
        }
    }
    let k = group[..d].to_vec();
    let q: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
    let c = group_outlier(&group, d, m, 0, o).unwrap();
    assert_eq!(c.transform.as_slice()[..o], [3, 9, 17, 30]);
    assert_eq!(c.code_len(), 2 * o + m / 8 + 4);
    assert_eq!(c.estimator(), Estimator::Biased);
    // Exact part as stored (f16), remainder r over the other channels.
    let f16 = |v: f32| {
        let c =
            vector_codecs::scalar::float::FloatCodec::new(1, vector_codecs::scalar::float::FloatFormat::F16).unwrap();
        let mut b = vec![0u8; c.code_len()];
        c.encode_into(&[v], &mut b).unwrap();
        let mut out = [0f32];
        c.decode_into(&b, &mut out).unwrap();
        out[0]
    };
    let exact: f64 = outl.iter().map(|&(i, _)| f64::from(q[i]) * f64::from(f16(k[i]))).sum();
    let mut r = k.clone();
    let mut qr = q.clone();
    for &(i, _) in &outl {
        r[i] = 0.0;
        qr[i] = 0.0;
    }
    let truth_r = dot(&qr, &r);
    let half_pi = std::f64::consts::FRAC_PI_2;
    let var_r = (half_pi * dot(&qr, &qr) * dot(&r, &r) - truth_r.powi(2)) / m as f64;
    let n = 4000u64;
    let (mg, sg) = stats(|s| group_outlier(&group, d, m, s, o).unwrap(), &k, &q, n);
    assert!((mg - exact - truth_r).abs() < 4.0 * (var_r / n as f64).sqrt(), "group mean {mg} vs {}", exact + truth_r);
    assert!((sg / var_r - 1.0).abs() < 0.15, "group variance {sg} vs closed form {var_r}");
    // Plain QJL with the same code size (2o bytes more sketch: m + 16·o rows).
    let mp = m + 16 * o;
    let (_, sp) = stats(|s| Qjl::new(d, mp, s).unwrap(), &k, &q, n);
    assert!(sg < 0.2 * sp, "group variance {sg} not far below plain QJL's {sp} at equal size");
    // Bad configurations.
    assert!(group_outlier(&group, d, m, 0, 0).is_err());
    assert!(group_outlier(&group, d, m, 0, d).is_err());
    assert!(group_outlier(&group[..d + 1], d, m, 0, o).is_err());
}
