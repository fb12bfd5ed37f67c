//! TurboQuant encode fast paths: `encode_batch` (Rotated, Residual, QJL) gives exactly the
//! codes of row-by-row `encode_into`, on awkward dimensions, and fails on bad rows.
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)
mod common;
use vector_codecs::Codec;
use vector_codecs::Error;
use vector_codecs::qjl::Qjl;
use vector_codecs::rng::Rng;
use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse, turbo_prod};

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

/// The configurations of the factory's turbo names at dimension `d` (seed 11), built directly.
fn configs(d: usize) -> Vec<(&'static str, Box<dyn Codec>)> {
    use vector_codecs::qjl::ortho::OrthoQjl;
    use vector_codecs::turbo::{turbo_mse_half, turbo_mse_ip, turbo_prod_half, turbo_prod_ortho};
    let (h, haar, beta) = (RotationKind::Hadamard, RotationKind::Haar, CodebookKind::Beta);
    let mut v: Vec<(&'static str, Box<dyn Codec>)> = Vec::new();
    for (name, b) in [("tq1", 1), ("tq2", 2), ("tq3", 3), ("tq4", 4)] {
        v.push((name, Box::new(turbo_mse(d, b, 11, h, beta).unwrap())));
    }
    for (name, b) in [("tq2.5", 2), ("tq3.5", 3)] {
        v.push((name, Box::new(turbo_mse_half(d, b, 11, h, beta).unwrap())));
    }
    for (name, b) in [("tqp2", 2), ("tqp3", 3), ("tqp4", 4)] {
        v.push((name, Box::new(turbo_prod(d, b, 11, h, beta).unwrap())));
    }
    v.push(("tqp2.5", Box::new(turbo_prod_half(d, 2, 11, h, beta).unwrap())));
    v.push(("tq2-ip", Box::new(turbo_mse_ip(d, 2, 11, h, beta).unwrap())));
    v.push(("tqp3-orth", Box::new(turbo_prod_ortho(d, 3, 11, h, beta, haar).unwrap())));
    v.push(("tqp2-orth-h", Box::new(turbo_prod_ortho(d, 2, 11, h, beta, h).unwrap())));
    v.push(("qjl-orth", Box::new(OrthoQjl::new(d, haar, 11).unwrap())));
    v
}

#[test]
fn batch_equals_single_for_turbo_configs() {
    for d in [2usize, 7, 8, 9, 31, 100, 384, 768, 1023] {
        for (name, c) in configs(d) {
            let n = if d > 500 { 13 } else { 37 };
            check_batch(c.as_ref(), n, d as u64, name);
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

/// The plain definition of a TurboQuant-MSE code (randomized Hadamard, then the norm-scalar
/// code), independent of the SIMD kernels: signs regenerated from the seed, each pass through
/// the portable Hadamard kernel (tested bit-identical to the stage-by-stage scalar
/// definition), the `f64` sum of squares in 8 lanes (lane `i mod 8`, combined
/// `((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7))`, tail in order), `Codebook::index` per coordinate
/// and `bits::pack`.
fn mse_reference(c: &vector_codecs::turbo::TurboMse, x: &[f32]) -> Vec<u8> {
    use vector_codecs::transform::hadamard::pass;
    let vector_codecs::turbo::Rotation::Hadamard(h) = &c.transform else { panic!("hadamard only") };
    let d = x.len();
    let (n, passes) = (h.block(), h.passes());
    let words = n.div_ceil(64);
    let mut rng = Rng::new(h.seed());
    let all: Vec<u64> = (0..passes * words).map(|_| rng.next_u64()).collect();
    let mut y = x.to_vec();
    for p in 0..passes {
        let off = if p == 1 { d - n } else { 0 };
        let blk = &mut y[off..off + n];
        for (j, v) in blk.iter_mut().enumerate() {
            if (all[p * words + j / 64] >> (j % 64)) & 1 == 1 {
                *v = -*v;
            }
        }
        if n >= 2 {
            pass(blk, None, 1.0 / (n as f32).sqrt());
        }
    }
    let mut lanes = [0.0f64; 8];
    let full = d / 8 * 8;
    for (i, &v) in y[..full].iter().enumerate() {
        lanes[i % 8] += f64::from(v) * f64::from(v);
    }
    let mut ss = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &v in &y[full..] {
        ss += f64::from(v) * f64::from(v);
    }
    let norm = ss.sqrt() as f32;
    let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    let cb = c.inner.inner.codebook();
    let idx: Vec<u8> = y.iter().map(|&v| cb.index(v * inv)).collect();
    let mut out = vec![0u8; (d * cb.bits() as usize).div_ceil(8)];
    vector_codecs::bits::pack(&idx, cb.bits(), &mut out).unwrap();
    out.extend_from_slice(&norm.to_le_bytes());
    out
}

fn check_reference(c: &vector_codecs::turbo::TurboMse, xs: &[f32], what: &str) {
    let (d, cl) = (c.dim(), c.code_len());
    let n = xs.len() / d;
    let mut batch = vec![0u8; n * cl];
    c.encode_batch(xs, &mut batch).unwrap();
    let mut one = vec![0u8; cl];
    for (i, (x, code)) in xs.chunks_exact(d).zip(batch.chunks_exact(cl)).enumerate() {
        let want = mse_reference(c, x);
        assert_eq!(code, &want[..], "{what} d={d} row {i} (batch)");
        c.encode_into(x, &mut one).unwrap();
        assert_eq!(one, want, "{what} d={d} row {i} (encode_into)");
    }
}

#[test]
fn mse_codes_equal_plain_definition_on_awkward_dims() {
    for d in [1usize, 2, 7, 8, 31, 100, 384, 768, 1000, 1024] {
        for bits in 1..=5u32 {
            for kind in [CodebookKind::Gaussian, CodebookKind::Beta] {
                if kind == CodebookKind::Gaussian && bits > 4 || d < 2 && kind == CodebookKind::Beta {
                    continue;
                }
                let Ok(c) = turbo_mse(d, bits, 3 + d as u64, RotationKind::Hadamard, kind) else { continue };
                check_reference(&c, &rows(if d > 500 { 9 } else { 21 }, d, bits as u64), "random");
            }
        }
    }
}

#[test]
fn mse_codes_equal_plain_definition_on_real_data() {
    let Some(dir) = common::data_dir("wordnet-minilm-l6") else { return };
    let m = vector_codecs::io::read_fvecs(dir.join("wordnet_base.fvecs")).unwrap();
    let d = m.dim;
    let xs = &m.data[..200 * d];
    for bits in 1..=4u32 {
        let c = turbo_mse(d, bits, 7, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
        check_reference(&c, xs, "wordnet");
    }
    // d = 768 from pairs of embeddings.
    let c = turbo_mse(2 * d, 4, 7, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
    check_reference(&c, xs, "wordnet pairs");
    let Some(dir) = common::data_dir("weights-minilm-l6") else { return };
    let w = vector_codecs::io::read_fvecs(dir.join("L0_ffn_out.fvecs")).unwrap();
    let c = turbo_mse(w.dim, 4, 9, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
    check_reference(&c, &w.data[..40 * w.dim], "ffn_out weights");
}
