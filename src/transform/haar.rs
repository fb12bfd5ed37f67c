//! Haar-random (uniformly distributed) orthogonal rotation, stored as a dense `d × d` matrix.
//!
//! Construction (deterministic from the seed): fill a `d × d` matrix `G` row-major with
//! [`Rng::gaussian`](crate::rng::Rng::gaussian) samples of `Rng::new(seed)`, compute its
//! Householder QR `G = Q R` in `f64`, and multiply column `j` of `Q` by `sign(R_jj)` (sign(0) =
//! +1). This correction makes `Q` exactly Haar-distributed. The stored matrix is `Q` rounded to
//! `f32`, row-major; `forward(x) = Q x`, `transpose(y) = Qᵀ y`. Building costs `O(d³)`;
//! applying costs `O(d²)` and needs no allocation.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::transform::Transform;

/// Largest dimension accepted by [`HaarRotation::new`] (2048). Building needs `28·d²` bytes at
/// its peak (three `f64` work matrices and the stored `f32` matrix: 112 MiB at 2048; `4·d²`
/// bytes, 16 MiB, are kept) and `≈ 4d³` floating-point operations (measured in an optimized
/// build on one loaded core: 2.5 s at 1024, 20 s at 2048). Untrusted bytes may ask for less: see
/// [`MAX_HAAR_RESTORE_DIM`](super::MAX_HAAR_RESTORE_DIM).
pub const MAX_DIM: usize = 2048;

/// A Haar-random orthogonal `d × d` matrix `Q` (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct HaarRotation {
    dim: usize,
    seed: u64,
    q: Vec<f32>,
}

impl HaarRotation {
    /// Builds the rotation of dimension `dim` from `seed` (`O(d³)` time, `d²` floats stored).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim == 0` or `dim > MAX_DIM`.
    pub fn new(dim: usize, seed: u64) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::InvalidParameter("Haar rotation: dim must be in 1..=2048"));
        }
        let d = dim;
        let mut rng = Rng::new(seed);
        // a: row-major d×d Gaussian, overwritten by R (upper part) during the factorization.
        let mut a: Vec<f64> = (0..d * d).map(|_| rng.gaussian()).collect();
        // Householder vectors, stored per column k in v[k*d + k..].
        let mut vs = vec![0.0f64; d * d];
        let mut rdiag_sign = vec![1.0f64; d];
        let mut w = vec![0.0f64; d];
        for k in 0..d {
            // x = a[k.., k]
            let mut norm2 = 0.0;
            for i in k..d {
                norm2 += a[i * d + k] * a[i * d + k];
            }
            let norm = libm::sqrt(norm2);
            let x0 = a[k * d + k];
            let alpha = if x0 >= 0.0 { -norm } else { norm };
            // v = x - alpha e1
            let v = &mut vs[k * d..(k + 1) * d];
            for i in k..d {
                v[i] = a[i * d + k];
            }
            v[k] -= alpha;
            let vnorm2: f64 = v[k..].iter().map(|t| t * t).sum();
            if vnorm2 > 0.0 {
                let inv = 1.0 / libm::sqrt(vnorm2);
                for t in v[k..].iter_mut() {
                    *t *= inv;
                }
                // a[k.., k..] -= 2 v (vᵀ a), row by row (cache friendly; every sum keeps the
                // order i = k, k+1, …, so the result is bit-identical to the column loop).
                reflect(&v[k..], &mut a[k * d..], d, k, &mut w);
            }
            rdiag_sign[k] = if a[k * d + k] < 0.0 { -1.0 } else { 1.0 };
        }
        // Q = H_0 H_1 … H_{d−1}: apply to the identity from the last reflector to the first.
        let mut q = vec![0.0f64; d * d];
        for i in 0..d {
            q[i * d + i] = 1.0;
        }
        for k in (0..d).rev() {
            let v = &vs[k * d..(k + 1) * d];
            if v[k..].iter().all(|&t| t == 0.0) {
                continue;
            }
            reflect(&v[k..], &mut q[k * d..], d, 0, &mut w);
        }
        // Column sign correction Q ← Q · diag(sign(R_jj)).
        let q = (0..d * d).map(|idx| (q[idx] * rdiag_sign[idx % d]) as f32).collect();
        Ok(HaarRotation { dim, seed, q })
    }

    /// The seed the matrix was generated from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The matrix `Q`, row-major (`d²` floats).
    pub fn matrix(&self) -> &[f32] {
        &self.q
    }
}

/// `rows[i][j0..] -= 2 v_i (vᵀ rows)[j]` for the `v.len()` rows of width `d` in `rows`
/// (row-major), `w` scratch of `d` entries. Each column sum runs over the rows in order.
fn reflect(v: &[f64], rows: &mut [f64], d: usize, j0: usize, w: &mut [f64]) {
    let w = &mut w[j0..d];
    w.fill(0.0);
    for (&vi, row) in v.iter().zip(rows.chunks_exact(d)) {
        for (s, &x) in w.iter_mut().zip(&row[j0..]) {
            *s += vi * x;
        }
    }
    for s in w.iter_mut() {
        *s *= 2.0;
    }
    for (&vi, row) in v.iter().zip(rows.chunks_exact_mut(d)) {
        for (x, &s) in row[j0..].iter_mut().zip(w.iter()) {
            *x -= s * vi;
        }
    }
}

impl Transform for HaarRotation {
    fn dim_in(&self) -> usize {
        self.dim
    }
    fn dim_out(&self) -> usize {
        self.dim
    }
    fn is_orthogonal(&self) -> bool {
        true
    }
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_forward(&self.q, self.dim, self.dim, x, out)
    }
    /// 64: a block reads the whole matrix once.
    fn batch_block(&self) -> usize {
        64
    }
    /// One blocked matrix product for the batch ([`crate::simd::matmul_fixed`]), the same bits
    /// as [`forward`](Transform::forward) per row.
    fn forward_batch(&self, xs: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_forward_batch(&self.q, self.dim, self.dim, xs, out)
    }
    /// One blocked product for the batch ([`crate::simd::matmul_t`]), the same bits as
    /// [`transpose`](Transform::transpose) per row.
    fn transpose_batch(&self, ys: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_transpose_batch(&self.q, self.dim, self.dim, ys, out)
    }
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_transpose(&self.q, self.dim, self.dim, y, out)
    }
}
