//! Transforms: orthogonality, inverse, norm preservation, determinism.
use vector_codecs::rng::Rng;
use vector_codecs::transform::{GaussianProjection, HaarRotation, RandomizedHadamard, Transform};

fn gauss(n: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; n];
    Rng::new(seed).fill_gaussian(&mut v);
    v
}

/// Builds the matrix of `t` column by column and checks QᵀQ = I within `tol`.
fn check_orthogonal<T: Transform>(t: &T, tol: f32) {
    let d = t.dim_in();
    let mut cols = vec![0.0f32; d * d];
    let mut e = vec![0.0f32; d];
    for j in 0..d {
        e.fill(0.0);
        e[j] = 1.0;
        t.forward(&e, &mut cols[j * d..(j + 1) * d]).unwrap();
    }
    for i in 0..d {
        for j in 0..d {
            let g: f32 = (0..d).map(|k| cols[i * d + k] * cols[j * d + k]).sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((g - want).abs() < tol, "QtQ[{i},{j}] = {g}");
        }
    }
}

fn check_inverse_and_norm<T: Transform>(t: &T) {
    let d = t.dim_in();
    for s in 0..5 {
        let x = gauss(d, 100 + s);
        let mut y = vec![0.0; d];
        let mut z = vec![0.0; d];
        t.forward(&x, &mut y).unwrap();
        t.transpose(&y, &mut z).unwrap();
        let nx: f32 = x.iter().map(|v| v * v).sum();
        let ny: f32 = y.iter().map(|v| v * v).sum();
        assert!((nx - ny).abs() <= 1e-4 * nx, "norm {nx} vs {ny}");
        for (a, b) in x.iter().zip(&z) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}

#[test]
fn hadamard_orthogonal_all_small_dims() {
    for d in [1usize, 2, 3, 5, 7, 8, 12, 16, 24, 33, 64, 100, 128] {
        let t = RandomizedHadamard::new(d, 7).unwrap();
        check_orthogonal(&t, 1e-5);
        check_inverse_and_norm(&t);
    }
}

#[test]
fn hadamard_large_dims_inverse() {
    for d in [384usize, 768, 1024, 1536] {
        check_inverse_and_norm(&RandomizedHadamard::new(d, 3).unwrap());
    }
}

#[test]
fn hadamard_matches_naive_definition() {
    // d = 8: T = H D with H the Sylvester Hadamard / √8.
    let t = RandomizedHadamard::new(8, 42).unwrap();
    let mut rng = Rng::new(42);
    let bits = rng.next_u64();
    let x = gauss(8, 1);
    let mut y = vec![0.0; 8];
    t.forward(&x, &mut y).unwrap();
    for (i, &yi) in y.iter().enumerate() {
        let mut acc = 0.0f32;
        for (j, &xj) in x.iter().enumerate() {
            let h = if (i & j).count_ones() % 2 == 0 { 1.0 } else { -1.0 };
            let s = if (bits >> j) & 1 == 1 { -1.0 } else { 1.0 };
            acc += h * s * xj;
        }
        assert!((acc / 8f32.sqrt() - yi).abs() < 1e-5);
    }
}

#[test]
fn hadamard_mixes_every_coordinate_non_power_of_two() {
    // Every output depends on every input: column j of the matrix has no zero entry.
    let d = 12;
    let t = RandomizedHadamard::new(d, 9).unwrap();
    for j in 0..d {
        let mut e = vec![0.0; d];
        e[j] = 1.0;
        let mut y = vec![0.0; d];
        t.forward(&e, &mut y).unwrap();
        // No output coordinate keeps the whole input mass, and most coordinates are hit
        // (individual entries may cancel exactly to zero in the second and third passes).
        assert!(y.iter().all(|v| v.abs() < 0.75), "column {j}: {y:?}");
        assert!(y.iter().filter(|v| v.abs() > 1e-6).count() >= d / 2, "column {j}: {y:?}");
    }
}

#[test]
fn haar_orthogonal_and_inverse() {
    for d in [1usize, 2, 5, 16, 33] {
        let t = HaarRotation::new(d, 11).unwrap();
        check_orthogonal(&t, 1e-5);
        check_inverse_and_norm(&t);
    }
    check_inverse_and_norm(&HaarRotation::new(128, 5).unwrap());
}

#[test]
fn haar_is_haar_distributed_roughly() {
    // For Haar Q of size d, Q_00 has mean 0 and variance 1/d.
    let d = 8;
    let n = 2000;
    let (mut m, mut v) = (0.0f64, 0.0f64);
    for s in 0..n {
        let q = HaarRotation::new(d, s).unwrap().matrix()[0] as f64;
        m += q;
        v += q * q;
    }
    m /= n as f64;
    v /= n as f64;
    assert!(m.abs() < 4.0 * (1.0 / (d * n as usize) as f64).sqrt(), "mean {m}");
    assert!((v - 1.0 / d as f64).abs() < 0.01, "var {v}");
}

#[test]
fn gaussian_projection_stored_matches_on_the_fly() {
    let p = GaussianProjection::new(7, 13, 99).unwrap();
    let ps = p.clone().materialize();
    let x = gauss(13, 4);
    let (mut a, mut b) = (vec![0.0; 7], vec![0.0; 7]);
    p.forward(&x, &mut a).unwrap();
    ps.forward(&x, &mut b).unwrap();
    for (u, v) in a.iter().zip(&b) {
        assert!((u - v).abs() < 1e-4);
    }
    let y = gauss(7, 5);
    let (mut c, mut e) = (vec![0.0; 13], vec![0.0; 13]);
    p.transpose(&y, &mut c).unwrap();
    ps.transpose(&y, &mut e).unwrap();
    for (u, v) in c.iter().zip(&e) {
        assert!((u - v).abs() < 1e-4);
    }
    // ⟨S x, y⟩ = ⟨x, Sᵀ y⟩
    let l: f32 = a.iter().zip(&y).map(|(u, v)| u * v).sum();
    let r: f32 = x.iter().zip(&c).map(|(u, v)| u * v).sum();
    assert!((l - r).abs() < 1e-3 * l.abs().max(1.0));
    let mut row = vec![0.0; 13];
    p.row_into(2, &mut row).unwrap();
    assert_eq!(&row[..], &ps.materialize_row(2)[..]);
}

trait RowHelper {
    fn materialize_row(&self, i: usize) -> Vec<f32>;
}
impl RowHelper for GaussianProjection {
    fn materialize_row(&self, i: usize) -> Vec<f32> {
        let mut r = vec![0.0; self.dim_in()];
        self.row_into(i, &mut r).unwrap();
        r
    }
}

#[test]
fn determinism_fixed_values() {
    let t = RandomizedHadamard::new(8, 1).unwrap();
    let x: Vec<f32> = (0..8).map(|i| i as f32).collect();
    let mut y = vec![0.0; 8];
    t.forward(&x, &mut y).unwrap();
    println!("hadamard {:?}", &y[..4]);
    let h = HaarRotation::new(4, 1).unwrap();
    println!("haar {:?}", &h.matrix()[..4]);
    let p = GaussianProjection::new(2, 4, 1).unwrap();
    let mut r = vec![0.0; 4];
    p.row_into(0, &mut r).unwrap();
    println!("gauss {:?}", r);
    let exp_h: [f32; 4] = HADAMARD;
    let exp_q: [f32; 4] = HAAR;
    let exp_g: [f32; 4] = GAUSS;
    for (a, b) in y.iter().zip(&exp_h).chain(h.matrix().iter().zip(&exp_q)).chain(r.iter().zip(&exp_g)) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}
const HADAMARD: [f32; 4] = [-0.70710677, -2.1213202, 7.7781744, 0.70710677];
const HAAR: [f32; 4] = [-0.61864096, -0.72411615, 0.2966651, -0.07020639];
const GAUSS: [f32; 4] = [-1.5452229, -1.0136477, 0.95829713, -0.28180978];

#[test]
fn bad_input_errors() {
    assert!(RandomizedHadamard::new(0, 1).is_err());
    assert!(HaarRotation::new(0, 1).is_err());
    assert!(GaussianProjection::new(0, 3, 1).is_err());
    assert!(GaussianProjection::new(usize::MAX, 3, 1).is_err());
    let t = RandomizedHadamard::new(8, 1).unwrap();
    let mut o = vec![0.0; 8];
    assert!(t.forward(&[0.0; 7], &mut o).is_err());
    assert!(t.transpose(&[0.0; 8], &mut o[..5]).is_err());
    let p = GaussianProjection::new(3, 4, 1).unwrap();
    assert!(p.row_into(3, &mut [0.0; 4]).is_err());
}

/// `forward_batch` (one blocked matrix product for the stored dense transforms) is bit-identical
/// to `forward` row by row, for odd dimensions and every batch size 0..=37, and rejects bad
/// lengths.
#[test]
fn forward_batch_is_forward_per_row_bit_for_bit() {
    for d in [1usize, 7, 9, 17, 33, 100] {
        let haar = HaarRotation::new(d, 3).unwrap();
        let lazy = GaussianProjection::new(d + 3, d, 5).unwrap();
        let stored = lazy.clone().materialize();
        let had = RandomizedHadamard::new(d, 8).unwrap();
        let train = gauss(40 * d, 9);
        let mean = vec![0.0f32; d];
        let pca = vector_codecs::transform::Pca::train(&train, d, &mean).unwrap();
        let ts: [&dyn Transform; 5] = [&haar, &lazy, &stored, &had, &pca];
        for (ti, t) in ts.iter().enumerate() {
            let e = t.dim_out();
            for n in 0..=37usize {
                let xs = gauss(n * d, (d * 100 + n) as u64);
                let mut want = vec![0.0f32; n * e];
                for (x, y) in xs.chunks_exact(d).zip(want.chunks_exact_mut(e)) {
                    t.forward(x, y).unwrap();
                }
                let mut got = vec![f32::NAN; n * e];
                t.forward_batch(&xs, &mut got).unwrap();
                assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "transform {ti} d {d} n {n}");
            }
            let xs = gauss(3 * d, 1);
            assert!(t.forward_batch(&xs[..3 * d - 1], &mut vec![0.0; 3 * e]).is_err() || d == 1);
            assert!(t.forward_batch(&xs, &mut vec![0.0; 3 * e + 1]).is_err());
        }
    }
}

/// Every factory codec with a dense rotation or projection (`pcaN-ip`, `tqpN-orth`, `qjl`,
/// `qjl-orth`, `tqpN`, `ctqN-ip`) writes the same codes through `encode_batch` (blocked
/// transforms) as one row at a time, on odd dimensions (PCA: 64) and batch sizes 1..=70; a
/// non-finite row gives the row-by-row error.
#[test]
fn dense_codecs_batch_encode_equals_encode_into() {
    use vector_codecs::factory;
    use vector_codecs::metric::Metric;
    for d in [17usize, 64, 100] {
        let train = gauss(300 * d, 4);
        for name in ["pca2-ip", "pca4-ip", "pca1+-ip", "tqp3-orth", "qjl", "qjl-orth", "tqp3", "ctq2-ip"] {
            // PCA TurboQuant needs d a multiple of 8, at least 32.
            let c = match factory::build(name, d, Metric::InnerProduct, 11, &train) {
                Ok(c) => c,
                Err(e) => {
                    assert!(name.starts_with("pca") && d % 8 != 0, "{name} d {d}: {e}");
                    continue;
                }
            };
            let cl = c.code_len();
            for n in [1usize, 2, 5, 6, 7, 13, 37, 70] {
                let xs = gauss(n * d, (n * 7 + d) as u64);
                let mut batch = vec![0u8; n * cl];
                c.encode_batch(&xs, &mut batch).unwrap();
                let mut rows = vec![0u8; n * cl];
                for (x, code) in xs.chunks_exact(d).zip(rows.chunks_exact_mut(cl)) {
                    c.encode_batch(x, code).unwrap();
                }
                assert_eq!(batch, rows, "{name} d {d} n {n}");
            }
            let mut xs = gauss(20 * d, 3);
            xs[13 * d + 2] = f32::NAN;
            let mut codes = vec![0u8; 20 * cl];
            assert!(c.encode_batch(&xs, &mut codes).is_err(), "{name}");
        }
    }
}
