//! TurboQuant encode fast paths: `encode_batch` (Rotated, Residual, QJL) gives exactly the
//! codes of row-by-row `encode_into`, on awkward dimensions, and fails on bad rows.
use vector_codecs::Codec;
use vector_codecs::Error;
use vector_codecs::qjl::Qjl;
use vector_codecs::rng::Rng;
use vector_codecs::turbo::{CodebookKind, RotationKind, from_config, turbo_mse, turbo_prod};

fn rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut xs = vec![0.0f32; n * d];
    rng.fill_gaussian(&mut xs);
    for row in xs.chunks_exact_mut(d) {
        let s = (4.0 * rng.next_f64() - 2.0).exp2() as f32;
        row.iter_mut().for_each(|v| *v *= s);
    }
    if n > 3 {
        xs[3 * d..4 * d].fill(0.0); // a zero vector
    }
    xs
}

fn check_batch(c: &dyn Codec, n: usize, seed: u64, what: &str) {
    let d = c.dim();
    let xs = rows(n, d, seed);
    let cl = c.code_len();
    let mut batch = vec![0u8; n * cl];
    c.encode_batch(&xs, &mut batch).unwrap();
    let mut single = vec![0u8; n * cl];
    for (x, code) in xs.chunks_exact(d).zip(single.chunks_exact_mut(cl)) {
        c.encode_into(x, code).unwrap();
    }
    assert_eq!(batch, single, "{what} d={d} n={n}");
    // A non-finite row fails the batch with NonFinite.
    if n > 5 {
        let mut bad = xs.clone();
        bad[5 * d + d / 2] = f32::NAN;
        assert_eq!(c.encode_batch(&bad, &mut batch), Err(Error::NonFinite), "{what} d={d}");
    }
    // Wrong lengths.
    assert!(c.encode_batch(&xs[..n * d - 1], &mut batch).is_err() || d == 1);
    assert!(c.encode_batch(&xs, &mut batch[..n * cl - 1]).is_err());
}

#[test]
fn batch_equals_single_for_turbo_configs() {
    for d in [2usize, 7, 8, 9, 31, 100, 384, 768, 1023] {
        for name in ["tq1", "tq2", "tq2.5", "tq3", "tq3.5", "tq4", "tqp2", "tqp2.5", "tqp3", "tqp4", "tq2-ip"] {
            let n = if d > 500 { 13 } else { 37 };
            match from_config(name, d, 11).unwrap() {
                vector_codecs::turbo::Configured::Mse(c) => check_batch(&c, n, d as u64, name),
                vector_codecs::turbo::Configured::Prod(c) => check_batch(&c, n, d as u64, name),
                vector_codecs::turbo::Configured::Qjl(c) => check_batch(&c, n, d as u64, name),
                vector_codecs::turbo::Configured::MseSplit(c) => check_batch(&c, n, d as u64, name),
                vector_codecs::turbo::Configured::ProdSplit(c) => check_batch(&c, n, d as u64, name),
                vector_codecs::turbo::Configured::MseIp(c) => check_batch(&c, n, d as u64, name),
            }
        }
    }
}

#[test]
fn batch_equals_single_for_gaussian_codebooks_and_qjl() {
    for d in [1usize, 9, 64, 300] {
        for b in 2..=4 {
            if d >= 2 {
                let c = turbo_mse(d, b, 5, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap();
                check_batch(&c, 20, 1, "mse gaussian");
                let c = turbo_prod(d, b, 5, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap();
                check_batch(&c, 20, 2, "prod gaussian");
            }
        }
        for m in [1usize, 8, 13, 256] {
            let q = Qjl::new(d, m, 3).unwrap();
            check_batch(&q, 19, 3, "qjl");
        }
    }
    // Empty batch.
    let c = turbo_prod(64, 3, 1, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap();
    c.encode_batch(&[], &mut []).unwrap();
}
