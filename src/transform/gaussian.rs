//! Seeded Gaussian projection `S ∈ ℝ^{m×d}`, `S_ij ~ N(0, 1)` i.i.d. (not scaled).
//!
//! The entries are the outputs of [`Rng::gaussian`](crate::rng::Rng::gaussian) of
//! `Rng::new(seed)` in row-major order: `S_ij` is sample number `i·d + j`. By default the matrix
//! is **not stored**: [`forward`](Transform::forward) and [`transpose`](Transform::transpose)
//! regenerate it on the fly (`m·d` Gaussian samples per call, no allocation). Under `alloc`,
//! [`GaussianProjection::materialize`] stores it (`m·d` floats) and makes every call a plain
//! matrix–vector product; the results are bit-identical.

use crate::error::{Error, Result, check_dim};
use crate::rng::Rng;
use crate::transform::Transform;

/// Largest `m · d` accepted (2²⁴ entries: [`GaussianProjection::materialize`] stores at most
/// 64 MiB, and an unstored call generates at most 2²⁴ samples).
pub const MAX_ENTRIES: usize = 1 << 24;

/// A seeded Gaussian projection from `d` to `m` dimensions (see the module docs). Not
/// orthogonal: `E[SᵀS] = m·I`.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianProjection {
    rows: usize,
    cols: usize,
    seed: u64,
    #[cfg(feature = "alloc")]
    stored: Option<crate::buf::AlignedVec>,
}

impl GaussianProjection {
    /// An `m × d` projection generated from `seed`, not stored.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `m == 0`, `d == 0` or `m·d > MAX_ENTRIES`.
    pub fn new(m: usize, d: usize, seed: u64) -> Result<Self> {
        if m == 0 || d == 0 || m.checked_mul(d).is_none_or(|e| e > MAX_ENTRIES) {
            return Err(Error::InvalidParameter("Gaussian projection: need 1 <= m, d and m*d <= 2^24"));
        }
        Ok(GaussianProjection {
            rows: m,
            cols: d,
            seed,
            #[cfg(feature = "alloc")]
            stored: None,
        })
    }

    /// Generates and stores the matrix (`m·d` floats), making `forward`/`transpose` fast.
    #[cfg(feature = "alloc")]
    pub fn materialize(mut self) -> Self {
        // Cache-line aligned: the batched QJL sign kernel streams its rows as 32-byte vectors.
        let mut s = crate::buf::AlignedVec::zeroed(self.rows * self.cols);
        Rng::new(self.seed).fill_gaussian(s.as_mut_slice());
        self.stored = Some(s);
        self
    }

    /// Whether the matrix is stored.
    pub fn is_materialized(&self) -> bool {
        #[cfg(feature = "alloc")]
        {
            self.stored.is_some()
        }
        #[cfg(not(feature = "alloc"))]
        {
            false
        }
    }

    /// The stored matrix (row-major `m × d`), if [`materialize`](Self::materialize)d.
    #[cfg(feature = "alloc")]
    pub fn matrix(&self) -> Option<&[f32]> {
        self.stored.as_ref().map(crate::buf::AlignedVec::as_slice)
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Row `i` of `S` written into `out` (`d` floats), generated from the seed.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `out.len() != d`; [`Error::InvalidParameter`] if `i ≥ m`.
    pub fn row_into(&self, i: usize, out: &mut [f32]) -> Result<()> {
        check_dim(self.cols, out.len())?;
        if i >= self.rows {
            return Err(Error::InvalidParameter("Gaussian projection: row index out of range"));
        }
        #[cfg(feature = "alloc")]
        if let Some(s) = self.matrix() {
            out.copy_from_slice(&s[i * self.cols..(i + 1) * self.cols]);
            return Ok(());
        }
        let mut rng = Rng::new(self.seed);
        for _ in 0..i * self.cols {
            rng.gaussian();
        }
        rng.fill_gaussian(out);
        Ok(())
    }
}

impl Transform for GaussianProjection {
    fn dim_in(&self) -> usize {
        self.cols
    }
    fn dim_out(&self) -> usize {
        self.rows
    }
    fn is_orthogonal(&self) -> bool {
        false
    }
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.cols, x.len())?;
        check_dim(self.rows, out.len())?;
        #[cfg(feature = "alloc")]
        if let Some(s) = self.matrix() {
            return super::dense_forward(s, self.rows, self.cols, x, out);
        }
        let mut rng = Rng::new(self.seed);
        for o in out.iter_mut() {
            let mut acc = 0.0f32;
            for &xj in x {
                acc += rng.gaussian() as f32 * xj;
            }
            *o = acc;
        }
        Ok(())
    }
    /// 64 with a stored matrix (a block reads it once), else 16.
    fn batch_block(&self) -> usize {
        if self.is_materialized() { 64 } else { 16 }
    }
    /// With a stored matrix, one blocked matrix product for the batch
    /// ([`crate::simd::matmul_fixed`], the same bits as [`forward`](Transform::forward) per
    /// row); otherwise row by row.
    fn forward_batch(&self, xs: &[f32], out: &mut [f32]) -> Result<()> {
        #[cfg(feature = "alloc")]
        if let Some(s) = self.matrix() {
            return super::dense_forward_batch(s, self.rows, self.cols, xs, out);
        }
        let n = crate::codec::batch_rows(xs.len(), self.cols)?;
        check_dim(n * self.rows, out.len())?;
        for (x, y) in xs.chunks_exact(self.cols).zip(out.chunks_exact_mut(self.rows)) {
            self.forward(x, y)?;
        }
        Ok(())
    }
    /// With a stored matrix, one blocked product for the batch ([`crate::simd::matmul_t`], the
    /// same bits as [`transpose`](Transform::transpose) per row); otherwise row by row.
    fn transpose_batch(&self, ys: &[f32], out: &mut [f32]) -> Result<()> {
        #[cfg(feature = "alloc")]
        if let Some(s) = self.matrix() {
            return super::dense_transpose_batch(s, self.rows, self.cols, ys, out);
        }
        let n = crate::codec::batch_rows(ys.len(), self.rows)?;
        check_dim(n * self.cols, out.len())?;
        for (y, x) in ys.chunks_exact(self.rows).zip(out.chunks_exact_mut(self.cols)) {
            self.transpose(y, x)?;
        }
        Ok(())
    }
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.rows, y.len())?;
        check_dim(self.cols, out.len())?;
        #[cfg(feature = "alloc")]
        if let Some(s) = self.matrix() {
            return super::dense_transpose(s, self.rows, self.cols, y, out);
        }
        out.fill(0.0);
        let mut rng = Rng::new(self.seed);
        for &yi in y {
            for o in out.iter_mut() {
                *o += yi * rng.gaussian() as f32;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn stored_gaussian_projection_is_aligned_and_equals_generated_rows() {
        let (m, d) = (5usize, 13usize);
        let g = GaussianProjection::new(m, d, 9).unwrap();
        let s = g.clone().materialize();
        let mat = s.matrix().unwrap();
        assert_eq!(mat.len(), m * d);
        assert_eq!(mat.as_ptr() as usize % 64, 0);
        let mut row = [0.0f32; 13];
        for i in 0..m {
            g.row_into(i, &mut row).unwrap();
            assert_eq!(&mat[i * d..(i + 1) * d], &row[..], "row {i}");
        }
        assert_eq!(s.clone(), s);
        assert_ne!(s, g);
    }
}
