//! QJL: unbiasedness and the exact variance [(π/2)‖q‖²‖k‖² − ⟨q,k⟩²]/m over seeds.
use vector_codecs::qjl::Qjl;
use vector_codecs::rng::Rng;
use vector_codecs::{Codec, Decode, Estimator, Score};

fn gauss(n: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; n];
    Rng::new(seed).fill_gaussian(&mut v);
    v
}

#[test]
fn unbiased_with_predicted_variance() {
    let (d, m, n) = (16usize, 32usize, 4000u64);
    let q = gauss(d, 1);
    let k = gauss(d, 2);
    let dot: f64 = q.iter().zip(&k).map(|(a, b)| f64::from(a * b)).sum();
    let nq: f64 = q.iter().map(|a| f64::from(a * a)).sum();
    let nk: f64 = k.iter().map(|a| f64::from(a * a)).sum();
    let var = (core::f64::consts::FRAC_PI_2 * nq * nk - dot * dot) / m as f64;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for seed in 0..n {
        let c = Qjl::new(d, m, seed).unwrap();
        assert_eq!(c.estimator(), Estimator::Unbiased);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&k, &mut code).unwrap();
        let mut sc = c.scratch();
        let pq = c.prepare(&q, &mut sc).unwrap();
        let e = f64::from(c.score(&pq, &code).unwrap());
        s1 += e;
        s2 += (e - dot) * (e - dot);
    }
    let mean = s1 / n as f64;
    let mvar = s2 / n as f64;
    // Mean within 4 standard errors; variance within 10% (its relative s.e. here is ≈ 2.5%).
    assert!((mean - dot).abs() < 4.0 * (var / n as f64).sqrt(), "mean {mean} vs {dot}");
    assert!((mvar / var - 1.0).abs() < 0.1, "variance {mvar} vs predicted {var}");
}

#[test]
fn decode_is_unbiased_and_score_matches_decode() {
    let (d, m) = (8usize, 16usize);
    let k = gauss(d, 5);
    let q = gauss(d, 6);
    let mut acc = vec![0.0f64; d];
    let n = 3000;
    for seed in 0..n {
        let c = Qjl::new(d, m, 1000 + seed).unwrap();
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&k, &mut code).unwrap();
        let mut x = vec![0.0; d];
        c.decode_into(&code, &mut x).unwrap();
        for (a, v) in acc.iter_mut().zip(&x) {
            *a += f64::from(*v);
        }
        let mut sc = c.scratch();
        let pq = c.prepare(&q, &mut sc).unwrap();
        let s = c.score(&pq, &code).unwrap();
        let r: f32 = q.iter().zip(&x).map(|(a, b)| a * b).sum();
        assert!((s - r).abs() < 1e-3 * (1.0 + r.abs()));
    }
    let nk: f64 = k.iter().map(|a| f64::from(a * a)).sum();
    for (a, &kv) in acc.iter().zip(&k) {
        // Var of one coordinate ≤ (π/2)‖k‖²/m; 5 standard errors.
        let tol = 5.0 * (core::f64::consts::FRAC_PI_2 * nk / m as f64 / n as f64).sqrt();
        assert!((a / n as f64 - f64::from(kv)).abs() < tol);
    }
}

#[test]
fn zero_vector_scores_zero_and_bad_input_errors() {
    let c = Qjl::new(4, 8, 1).unwrap();
    assert_eq!(c.code_len(), 1 + 4);
    assert!((c.bits_per_dim() - 10.0).abs() < 1e-12);
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&[0.0; 4], &mut code).unwrap();
    let mut sc = c.scratch();
    let pq = c.prepare(&[1.0, 2.0, 3.0, 4.0], &mut sc).unwrap();
    assert_eq!(c.score(&pq, &code).unwrap(), 0.0);
    assert!(c.encode_into(&[f32::NAN, 0.0, 0.0, 0.0], &mut code).is_err());
    assert!(c.encode_into(&[0.0; 3], &mut code).is_err());
    assert!(c.score(&pq, &code[..3]).is_err());
    let mut bad = code.clone();
    bad[1..5].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(c.score(&pq, &bad).is_err());
    let mut small = [0.0f32; 3];
    assert!(c.prepare(&[1.0; 4], &mut small).is_err());
    assert!(Qjl::new(0, 8, 1).is_err());
    assert!(Qjl::new(4, 0, 1).is_err());
}
