//! TurboQuant: D_mse vs the Beta-optimal values (d = 128), TurboQuant-prod inner-product
//! distortion vs (π/2)·D_mse(b−1)·‖y‖²/d, unbiasedness, bad input.
use vector_codecs::compose::Residual;
use vector_codecs::qjl::Qjl;
use vector_codecs::rng::Rng;
use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse, turbo_prod};
use vector_codecs::{Codec, Decode, Estimator, Score};

fn unit(d: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; d];
    Rng::new(seed).fill_gaussian(&mut v);
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

#[test]
fn d_mse_matches_beta_optimal_d128() {
    let d = 128;
    let want = [0.36089, 0.11600, 0.033966, 0.0093148];
    for b in 1..=4u32 {
        let c = turbo_mse(d, b, 9, RotationKind::Haar, CodebookKind::Beta).unwrap();
        assert!((c.bits_per_dim() - (b as f64 + 32.0 / d as f64)).abs() < 1e-12);
        let n = 3000;
        let mut code = vec![0u8; c.code_len()];
        let mut y = vec![0.0; d];
        let mut tot = 0.0f64;
        for s in 0..n {
            let x = unit(d, 1000 + s);
            c.encode_into(&x, &mut code).unwrap();
            c.decode_into(&code, &mut y).unwrap();
            tot += x.iter().zip(&y).map(|(a, b)| f64::from((a - b) * (a - b))).sum::<f64>();
        }
        let dm = tot / n as f64;
        assert!((dm / want[b as usize - 1] - 1.0).abs() < 0.01, "b={b}: D_mse {dm}");
    }
}

#[test]
fn gaussian_codebook_close_and_hadamard_close() {
    let d = 128;
    let want = [0.36089, 0.11600, 0.033966, 0.0093148];
    for b in 1..=4u32 {
        let c = turbo_mse(d, b, 3, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap();
        let mut code = vec![0u8; c.code_len()];
        let mut y = vec![0.0; d];
        let mut tot = 0.0f64;
        let n = 1000;
        for s in 0..n {
            let x = unit(d, 5000 + s);
            c.encode_into(&x, &mut code).unwrap();
            c.decode_into(&code, &mut y).unwrap();
            tot += x.iter().zip(&y).map(|(a, b)| f64::from((a - b) * (a - b))).sum::<f64>();
        }
        let dm = tot / n as f64;
        assert!((dm / want[b as usize - 1] - 1.0).abs() < 0.04, "b={b}: D_mse {dm}");
    }
}

#[test]
fn mse_score_equals_reconstruction_inner_product() {
    let d = 100;
    let c = turbo_mse(d, 3, 1, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
    assert_eq!(c.estimator(), Estimator::Reconstruction);
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
    assert!((s - r).abs() < 1e-4, "{s} vs {r}");
    let mut out = [0.0f32; 2];
    let mut two = code.clone();
    two.extend_from_slice(&code);
    c.score_batch(&pq, &two, &mut out).unwrap();
    assert!((out[0] - s).abs() < 1e-6 && (out[1] - s).abs() < 1e-6);
}

#[test]
fn prod_distortion_and_unbiasedness() {
    let d = 128;
    // (π/2)·D_mse(b−1) for b = 2..4 (SPECS §8).
    let want = [0.5708, 0.1846, 0.0543];
    let y = unit(d, 77);
    for b in 2..=4u32 {
        let n = 1500u64;
        let (mut bias, mut sq) = (0.0f64, 0.0f64);
        // One MSE stage (its codebook solve is the slow part), a fresh QJL seed per sample.
        let base = turbo_prod(d, b, 10_000, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
        for s in 0..n {
            let c = Residual::new(base.first.clone(), Qjl::new(d, d, 30_000 + s).unwrap()).unwrap();
            if s == 0 {
                assert_eq!(c.estimator(), Estimator::Unbiased);
            }
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
        let w = want[b as usize - 2];
        assert!((dp / w - 1.0).abs() < 0.05 + 3.0 * (2.0 / n as f64).sqrt(), "b={b}: D_prod·d {dp} vs {w}");
        let se = (w / d as f64 / n as f64).sqrt();
        assert!((bias / n as f64).abs() < 4.0 * se, "b={b}: bias {}", bias / n as f64);
    }
}

#[test]
fn configs_and_bad_input() {
    use vector_codecs::factory;
    use vector_codecs::metric::Metric;
    for name in ["tq1", "tq2", "tq3", "tq4", "tq8", "tqp2", "tqp3", "tqp4", "qjl", "tq4-i8", "tq2-ip-i8"] {
        assert!(factory::build(name, 384, Metric::InnerProduct, 1, &[]).is_ok(), "{name}");
    }
    for name in ["tq9", "tq0", "tqp1", "tq3-i8", "tq8-ip-i8", "nope"] {
        assert!(factory::build(name, 384, Metric::InnerProduct, 1, &[]).is_err(), "{name}");
    }
    assert!(turbo_mse(1, 2, 0, RotationKind::Hadamard, CodebookKind::Gaussian).is_err());
    assert!(turbo_mse(16, 5, 0, RotationKind::Hadamard, CodebookKind::Gaussian).is_err());
    assert!(turbo_mse(16, 8, 0, RotationKind::Hadamard, CodebookKind::Beta).is_ok());
    let c = turbo_mse(16, 2, 0, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
    let mut code = vec![0u8; c.code_len()];
    let mut x = [0.5f32; 16];
    x[3] = f32::NAN;
    assert!(c.encode_into(&x, &mut code).is_err());
    assert!(c.encode_into(&[0.0; 15], &mut code).is_err());
    c.encode_into(&[0.0; 16], &mut code).unwrap();
    let mut out = [1.0f32; 16];
    c.decode_into(&code, &mut out).unwrap();
    assert!(out.iter().all(|v| *v == 0.0));
    let l = code.len();
    code[l - 4..].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert!(c.decode_into(&code, &mut out).is_err());
    assert!(c.decode_into(&code[1..], &mut out).is_err());
}
