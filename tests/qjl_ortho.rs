//! Orthogonal QJL (`qjl::ortho`) and TurboQuant-prod with it: the constant `c_d`, exact
//! unbiasedness with a Haar rotation (mean over independent seeds, tolerance from the sample
//! variance), the variance reduction against plain QJL, the Hadamard variant's documented bias on
//! a spiky vector, and bad input.
use vector_codecs::codec::{Codec, Decode, Estimator, Score};
use vector_codecs::qjl::Qjl;
use vector_codecs::qjl::ortho::{OrthoQjl, OrthoQjlBlocks, mean_abs_coordinate};
use vector_codecs::rng::Rng;
use vector_codecs::turbo::{CodebookKind, RotationKind, TurboProdOrtho, turbo_prod, turbo_prod_ortho};

fn score<C: Score>(c: &C, q: &[f32], x: &[f32]) -> f64 {
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(x, &mut code).unwrap();
    let mut scratch = vec![0.0f32; c.query_scratch_len()];
    let p = c.prepare(q, &mut scratch).unwrap();
    f64::from(c.score(&p, &code).unwrap())
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0))
}

/// A pair with cos(q, k) ≈ 0.5.
fn pair(d: usize, seed: u64) -> (Vec<f32>, Vec<f32>, f64) {
    let mut rng = Rng::new(seed);
    let mut k = vec![0.0f32; d];
    let mut e = vec![0.0f32; d];
    rng.fill_gaussian(&mut k);
    rng.fill_gaussian(&mut e);
    let q: Vec<f32> = k.iter().zip(&e).map(|(&a, &b)| 0.6 * a + 0.9 * b).collect();
    let ip = q.iter().zip(&k).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
    (q, k, ip)
}

fn sq(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
}

#[test]
fn mean_abs_coordinate_closed_forms() {
    assert!((mean_abs_coordinate(1) - 1.0).abs() < 1e-12);
    assert!((mean_abs_coordinate(2) - 2.0 / std::f64::consts::PI).abs() < 1e-12);
    assert!((mean_abs_coordinate(3) - 0.5).abs() < 1e-12);
    // c_4 = Γ(2)/(√π Γ(5/2)) = 4/(3π).
    assert!((mean_abs_coordinate(4) - 4.0 / (3.0 * std::f64::consts::PI)).abs() < 1e-12);
    // Large d: c_d √(π d / 2) → 1 (1 + 1/(4d) + …).
    for d in [128usize, 384, 4096] {
        let r = mean_abs_coordinate(d) * (std::f64::consts::PI * d as f64 / 2.0).sqrt();
        assert!((r - 1.0 - 1.0 / (4.0 * d as f64)).abs() < 2.0 / (d * d) as f64, "d {d}: {r}");
    }
}

#[test]
fn haar_sketch_is_unbiased_with_lower_variance_than_qjl() {
    let d = 64;
    let (q, k, ip) = pair(d, 5);
    let trials = 800u64;
    let (mut o, mut g) = (Vec::new(), Vec::new());
    for s in 0..trials {
        let c = OrthoQjl::new(d, RotationKind::Haar, 1000 + s).unwrap();
        assert_eq!(c.estimator(), Estimator::Unbiased);
        assert_eq!(c.code_len(), Qjl::new(d, d, 0).unwrap().code_len());
        o.push(score(&c, &q, &k));
        g.push(score(&Qjl::new(d, d, 1000 + s).unwrap(), &q, &k));
    }
    let (mo, vo) = mean_var(&o);
    let (mg, vg) = mean_var(&g);
    // Unbiased: the mean is within 4 standard errors of ⟨q, k⟩ (f32 norm and codebook
    // rounding are far below that).
    assert!((mo - ip).abs() < 4.0 * (vo / trials as f64).sqrt(), "orth mean {mo} vs {ip}");
    assert!((mg - ip).abs() < 4.0 * (vg / trials as f64).sqrt(), "qjl mean {mg} vs {ip}");
    // Plain QJL matches its closed-form variance [(π/2)‖q‖²‖k‖² − ⟨q,k⟩²]/m within sampling
    // error (±15% at 800 trials); the orthogonal sketch is well below it.
    let formula = (std::f64::consts::FRAC_PI_2 * sq(&q) * sq(&k) - ip * ip) / d as f64;
    assert!((vg / formula - 1.0).abs() < 0.15, "qjl var {vg} vs {formula}");
    assert!(vo < 0.6 * formula, "orth var {vo} vs qjl formula {formula}");
}

#[test]
fn prod_with_haar_sketch_is_unbiased_and_tighter() {
    let d = 64;
    let (q, k, ip) = pair(d, 9);
    let trials = 400u64;
    let (mut o, mut g) = (Vec::new(), Vec::new());
    for s in 0..trials {
        let seed = 77 + 2 * s;
        let c = turbo_prod_ortho(d, 2, seed, RotationKind::Haar, CodebookKind::Beta, RotationKind::Haar).unwrap();
        assert_eq!(c.estimator(), Estimator::Unbiased);
        o.push(score(&c, &q, &k));
        let p = turbo_prod(d, 2, seed, RotationKind::Haar, CodebookKind::Beta).unwrap();
        assert_eq!(p.code_len(), c.code_len());
        g.push(score(&p, &q, &k));
    }
    let (mo, vo) = mean_var(&o);
    let (mg, vg) = mean_var(&g);
    assert!((mo - ip).abs() < 4.0 * (vo / trials as f64).sqrt(), "orth prod mean {mo} vs {ip}");
    assert!((mg - ip).abs() < 4.0 * (vg / trials as f64).sqrt(), "prod mean {mg} vs {ip}");
    assert!(vo < 0.75 * vg, "orth prod var {vo} vs gaussian prod var {vg}");
}

#[test]
fn hadamard_sketch_is_reported_biased_and_is_on_a_spiky_vector() {
    // k = q = e₁ at d = 64 (one Hadamard pass): every coordinate of Π e₁ is ±1/8, so the
    // estimate is 1/(√d c_d) for every seed, not 1.
    let d = 64;
    let mut e1 = vec![0.0f32; d];
    e1[0] = 1.0;
    let want = 1.0 / ((d as f64).sqrt() * mean_abs_coordinate(d));
    assert!((want - 1.2484).abs() < 1e-3, "{want}");
    for s in 0..5 {
        let c = OrthoQjl::new(d, RotationKind::Hadamard, s).unwrap();
        assert_eq!(c.estimator(), Estimator::Biased);
        assert!((score(&c, &e1, &e1) - want).abs() < 1e-5);
    }
    // A Haar rotation has no such fixed point: the mean over seeds of the same pair is 1.
    let v: Vec<f64> = (0..400).map(|s| score(&OrthoQjl::new(d, RotationKind::Haar, s).unwrap(), &e1, &e1)).collect();
    let (m, var) = mean_var(&v);
    assert!((m - 1.0).abs() < 4.0 * (var / 400.0).sqrt(), "haar e1 mean {m}");
}

#[test]
fn decode_is_the_scored_reconstruction_and_bad_input_errs() {
    let d = 48;
    let c = OrthoQjl::new(d, RotationKind::Haar, 3).unwrap();
    let (q, k, _) = pair(d, 2);
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&k, &mut code).unwrap();
    let mut rec = vec![0.0f32; d];
    c.decode_into(&code, &mut rec).unwrap();
    let direct: f64 = q.iter().zip(&rec).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
    assert!((direct - score(&c, &q, &k)).abs() < 1e-3 * direct.abs().max(1.0));
    // The reconstruction's norm is ‖k‖·√d/(d c_d) ≈ ‖k‖·√(π/2).
    let ratio = (sq(&rec) / sq(&k)).sqrt();
    assert!((ratio - 1.0 / ((d as f64).sqrt() * mean_abs_coordinate(d))).abs() < 1e-4, "{ratio}");
    let mut bad = k.clone();
    bad[3] = f32::NAN;
    assert!(c.encode_into(&bad, &mut code).is_err());
    assert!(c.encode_into(&k[..d - 1], &mut code).is_err());
    assert!(c.encode_into(&k, &mut code[..c.code_len() - 1]).is_err());
    assert!(c.decode_into(&code[..3], &mut rec).is_err());
    let mut nan_norm = code.clone();
    let n = nan_norm.len();
    nan_norm[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(c.decode_into(&nan_norm, &mut rec).is_err());
    assert!(OrthoQjl::new(1, RotationKind::Haar, 0).is_err());
    assert!(OrthoQjl::new(0, RotationKind::Hadamard, 0).is_err());
}

/// Saved parameters through [`Persist`]: the restored codec equals the original and scores
/// identically; 13 bytes for the sketch (kind, dim, seed).
#[test]
fn parameters_round_trip() {
    use vector_codecs::format::{HEADER_LEN, Reader, Writer};
    use vector_codecs::persist::Persist;
    fn save<C: Persist>(c: &C) -> Vec<u8> {
        let mut w = Writer::new(0);
        c.persist(&mut w);
        let b = w.finish().unwrap();
        b[HEADER_LEN..b.len() - 4].to_vec()
    }
    fn load<C: Persist>(b: &[u8]) -> vector_codecs::Result<C> {
        let mut r = Reader::new(b);
        let c = C::restore(&mut r)?;
        r.finish()?;
        Ok(c)
    }
    for (d, kind) in [(24usize, RotationKind::Hadamard), (13, RotationKind::Haar), (384, RotationKind::Hadamard)] {
        let c = OrthoQjl::new(d, kind, 42).unwrap();
        let b = save(&c);
        assert_eq!(b.len(), 13);
        let back: OrthoQjl = load(&b).unwrap();
        assert_eq!(back, c);
        assert_eq!((back.rotation_kind(), back.seed()), (kind, 42));
        let (q, k, _) = pair(d, 1);
        assert_eq!(score(&back, &q, &k), score(&c, &q, &k));
    }
    for (d, bits, r, s) in [
        (16usize, 3u32, RotationKind::Hadamard, RotationKind::Haar),
        (20, 2, RotationKind::Haar, RotationKind::Hadamard),
    ] {
        let c = turbo_prod_ortho(d, bits, 5, r, CodebookKind::Beta, s).unwrap();
        let b = save(&c);
        let back: TurboProdOrtho = load(&b).unwrap();
        assert_eq!(back, c);
        // A prod's parameters are not a sketch's and vice versa.
        assert!(load::<OrthoQjl>(&b).is_err());
        assert!(load::<TurboProdOrtho>(&save(&OrthoQjl::new(d, s, 1).unwrap())).is_err());
    }
    assert!(turbo_prod_ortho(16, 1, 0, RotationKind::Hadamard, CodebookKind::Beta, RotationKind::Haar).is_err());
}

#[test]
fn blocks_average_unbiased_sketches() {
    let d = 32;
    let (q, k, ip) = pair(d, 13);
    let trials = 300u64;
    let (mut one, mut three) = (Vec::new(), Vec::new());
    for s in 0..trials {
        let c1 = OrthoQjlBlocks::new(d, 1, RotationKind::Haar, 10 * s).unwrap();
        let c3 = OrthoQjlBlocks::new(d, 3, RotationKind::Haar, 10 * s).unwrap();
        assert_eq!(c3.code_len(), Qjl::new(d, 3 * d, 0).unwrap().code_len());
        assert_eq!(c3.estimator(), Estimator::Unbiased);
        // One block is exactly `OrthoQjl` with the same seed.
        let single = OrthoQjl::new(d, RotationKind::Haar, 10 * s).unwrap();
        assert_eq!(score(&c1, &q, &k), score(&single, &q, &k));
        one.push(score(&c1, &q, &k));
        three.push(score(&c3, &q, &k));
    }
    let (m1, v1) = mean_var(&one);
    let (m3, v3) = mean_var(&three);
    assert!((m1 - ip).abs() < 4.0 * (v1 / trials as f64).sqrt(), "r=1 mean {m1} vs {ip}");
    assert!((m3 - ip).abs() < 4.0 * (v3 / trials as f64).sqrt(), "r=3 mean {m3} vs {ip}");
    // Independent blocks: the variance is a third (±35%: 3σ of the sampling error at 300 trials).
    assert!((v3 * 3.0 / v1 - 1.0).abs() < 0.35, "var ratio {}", v3 * 3.0 / v1);
    // Decode is the mean of the blocks' reconstructions, consistent with the score.
    let c = OrthoQjlBlocks::new(d, 2, RotationKind::Hadamard, 5).unwrap();
    assert_eq!(c.estimator(), Estimator::Biased);
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&k, &mut code).unwrap();
    let mut rec = vec![0.0f32; d];
    c.decode_into(&code, &mut rec).unwrap();
    let direct: f64 = q.iter().zip(&rec).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
    assert!((direct - score(&c, &q, &k)).abs() < 1e-3 * direct.abs().max(1.0));
    // A block code longer than the 64-byte stack scratch (d = 600): the mean of the blocks.
    let (qb, kb, _) = pair(600, 4);
    let big = OrthoQjlBlocks::new(600, 2, RotationKind::Hadamard, 3).unwrap();
    let parts = [3u64, 4].map(|s| score(&OrthoQjl::new(600, RotationKind::Hadamard, s).unwrap(), &qb, &kb));
    let want = (parts[0] + parts[1]) / 2.0;
    assert!((score(&big, &qb, &kb) - want).abs() < 1e-4 * want.abs().max(1.0));
    // Bad input.
    assert!(OrthoQjlBlocks::new(d, 0, RotationKind::Haar, 0).is_err());
    assert!(OrthoQjlBlocks::new(d, 65, RotationKind::Haar, 0).is_err());
    assert!(c.decode_into(&code[1..], &mut rec).is_err());
    let mut bad = code.clone();
    let n = bad.len();
    bad[n - 4..].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert!(c.decode_into(&bad, &mut rec).is_err());
    let mut scratch = c.scratch();
    let p = c.prepare(&q, &mut scratch).unwrap();
    assert!(c.score(&p, &bad).is_err());
    assert!(c.score(&p, &code[..n - 1]).is_err());
    let mut nan = k.clone();
    nan[0] = f32::NAN;
    assert!(c.encode_into(&nan, &mut code).is_err());
}
