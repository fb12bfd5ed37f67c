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

use crate::error::{Error, Result, check_dim};
use crate::rng::Rng;
use crate::transform::Transform;

/// Largest dimension accepted by [`HaarRotation::new`] (the matrix is `d²` floats).
pub const MAX_DIM: usize = 8192;

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
            return Err(Error::InvalidParameter("Haar rotation: dim must be in 1..=8192"));
        }
        let d = dim;
        let mut rng = Rng::new(seed);
        // a: row-major d×d Gaussian, overwritten by R (upper part) during the factorization.
        let mut a: Vec<f64> = (0..d * d).map(|_| rng.gaussian()).collect();
        // Householder vectors, stored per column k in v[k*d + k..].
        let mut vs = vec![0.0f64; d * d];
        let mut rdiag_sign = vec![1.0f64; d];
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
                // a[k.., k..] -= 2 v (vᵀ a)
                for j in k..d {
                    let mut s = 0.0;
                    for i in k..d {
                        s += v[i] * a[i * d + j];
                    }
                    s *= 2.0;
                    for i in k..d {
                        a[i * d + j] -= s * v[i];
                    }
                }
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
            for j in 0..d {
                let mut s = 0.0;
                for i in k..d {
                    s += v[i] * q[i * d + j];
                }
                s *= 2.0;
                for i in k..d {
                    q[i * d + j] -= s * v[i];
                }
            }
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
        check_dim(self.dim, x.len())?;
        check_dim(self.dim, out.len())?;
        crate::transform::dense_forward(&self.q, x, out);
        Ok(())
    }
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.dim, y.len())?;
        check_dim(self.dim, out.len())?;
        crate::transform::dense_transpose(&self.q, y, out);
        Ok(())
    }
}
