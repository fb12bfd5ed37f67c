//! Linear transforms applied before quantization: rotations and projections.
//!
//! A [`Transform`] maps `dim_in()` floats to `dim_out()` floats. Orthogonal transforms
//! (`dim_in == dim_out`, `inverse` = transpose) preserve inner products, which is what lets a
//! rotated codec reuse its inner codec's scorer unchanged (see [`crate::codec`]).

use crate::error::{Result, check_dim};

pub mod gaussian;
#[cfg(feature = "alloc")]
pub mod haar;
pub mod hadamard;
#[cfg(feature = "alloc")]
pub mod pca;
pub mod permutation;
pub mod rotation;

pub use gaussian::GaussianProjection;
#[cfg(feature = "alloc")]
pub use haar::HaarRotation;
pub use hadamard::RandomizedHadamard;
#[cfg(feature = "alloc")]
pub use pca::Pca;
pub use permutation::Permutation;
pub use rotation::{MAX_HAAR_RESTORE_DIM, Rotation, RotationKind};

/// `out = M·x` for a row-major `rows × cols` matrix `m` (the stored dense transforms: Haar, a
/// materialized Gaussian projection, PCA, OPQ's transpose). Each entry is
/// [`crate::simd::dot_fixed`] of a row with `x`, computed by [`crate::simd::matmul_fixed`] (the
/// same bits on every backend, and the same as [`dense_forward_batch`] row by row), so encoders
/// write the same codes everywhere.
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] unless `x.len() == cols` and `out.len() == rows`.
#[cfg(feature = "alloc")]
pub(crate) fn dense_forward(m: &[f32], rows: usize, cols: usize, x: &[f32], out: &mut [f32]) -> Result<()> {
    crate::error::check_dim(cols, x.len())?;
    crate::error::check_dim(rows, out.len())?;
    crate::simd::matmul_fixed(m, rows, cols, x, out);
    Ok(())
}

/// [`dense_forward`] of every row of `xs` (`n × cols`, row-major) into `out` (`n × rows`): one
/// blocked matrix product ([`crate::simd::matmul_fixed`]), bit-identical to `n` calls.
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] unless `xs` holds whole rows of `cols` and `out` holds
/// `n · rows` floats.
#[cfg(feature = "alloc")]
pub(crate) fn dense_forward_batch(m: &[f32], rows: usize, cols: usize, xs: &[f32], out: &mut [f32]) -> Result<()> {
    let n = crate::codec::batch_rows(xs.len(), cols)?;
    crate::error::check_dim(n * rows, out.len())?;
    crate::simd::matmul_fixed(m, rows, cols, xs, out);
    Ok(())
}

/// `out = Mᵀ·y` for the `rows × cols` matrix of [`dense_forward`]: the rows scaled by `y_i` and
/// accumulated in row order (unfused, the same bits everywhere).
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] unless `y.len() == rows` and `out.len() == cols`.
#[cfg(feature = "alloc")]
pub(crate) fn dense_transpose(m: &[f32], rows: usize, cols: usize, y: &[f32], out: &mut [f32]) -> Result<()> {
    crate::error::check_dim(rows, y.len())?;
    crate::error::check_dim(cols, out.len())?;
    if cols == 0 {
        return Ok(());
    }
    crate::simd::matvec_t(m, cols, y, out);
    Ok(())
}

/// [`dense_transpose`] of the `n = ys.len() / rows` rows of `ys` into `out` (`n · cols` floats):
/// one blocked product ([`crate::simd::matmul_t`]), the same bits as `n` calls.
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] unless `ys` holds whole rows and `out` holds `n · cols`.
#[cfg(feature = "alloc")]
pub(crate) fn dense_transpose_batch(m: &[f32], rows: usize, cols: usize, ys: &[f32], out: &mut [f32]) -> Result<()> {
    let n = crate::codec::batch_rows(ys.len(), rows)?;
    crate::error::check_dim(n * cols, out.len())?;
    if cols == 0 {
        return Ok(());
    }
    if rows == 0 {
        out.fill(0.0);
        return Ok(());
    }
    crate::simd::matmul_t(m, cols, rows, ys, out);
    Ok(())
}

/// A deterministic linear map, applied without allocation.
pub trait Transform {
    /// Input dimension.
    fn dim_in(&self) -> usize;
    /// Output dimension.
    fn dim_out(&self) -> usize;
    /// Whether `inverse(forward(x)) == x` and `⟨forward(x), forward(y)⟩ == ⟨x, y⟩` (up to
    /// rounding).
    fn is_orthogonal(&self) -> bool;
    /// `out = T·x`.
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] on wrong lengths.
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()>;
    /// `out = Tᵀ·y` (the inverse for orthogonal transforms).
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] on wrong lengths.
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()>;
    /// Rows per block that batch encoders ([`crate::compose::Rotated`]) hand to
    /// [`forward_batch`](Self::forward_batch): 16 by default; the stored dense transforms ask for
    /// 64, since each block reads their whole matrix once.
    fn batch_block(&self) -> usize {
        16
    }
    /// `out_j = Tᵀ·y_j` for the `n = ys.len() / dim_out()` rows `y_j` of `ys` (row-major), into
    /// the `n · dim_in()` floats of `out`: the same bits as `n` calls of
    /// [`transpose`](Self::transpose). Stored dense transforms override it with one blocked
    /// product ([`crate::simd::matmul_t`]): the batch decode of [`crate::compose::Rotated`].
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] unless `ys` holds whole rows and `out` holds
    /// `n · dim_in()` floats.
    fn transpose_batch(&self, ys: &[f32], out: &mut [f32]) -> Result<()> {
        let (d, e) = (self.dim_in(), self.dim_out());
        let n = crate::codec::batch_rows(ys.len(), e)?;
        check_dim(n * d, out.len())?;
        if d == 0 || e == 0 {
            out.fill(0.0);
            return Ok(());
        }
        for (y, x) in ys.chunks_exact(e).zip(out.chunks_exact_mut(d)) {
            self.transpose(y, x)?;
        }
        Ok(())
    }
    /// `out_j = T·x_j` for the `n = xs.len() / dim_in()` rows `x_j` of `xs` (row-major), into the
    /// `n · dim_out()` floats of `out`: the same bits as `n` calls of [`forward`](Self::forward).
    /// Dense transforms override it with a blocked matrix product (see
    /// [`crate::simd::matmul_fixed`]).
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] unless `xs` holds whole rows and `out` holds
    /// `n · dim_out()` floats.
    fn forward_batch(&self, xs: &[f32], out: &mut [f32]) -> Result<()> {
        let (d, e) = (self.dim_in(), self.dim_out());
        let n = crate::codec::batch_rows(xs.len(), d)?;
        check_dim(n * e, out.len())?;
        if d == 0 || e == 0 {
            return Ok(());
        }
        for (x, y) in xs.chunks_exact(d).zip(out.chunks_exact_mut(e)) {
            self.forward(x, y)?;
        }
        Ok(())
    }
}

/// The identity transform of dimension `d` (useful for tests and as a no-op composition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity(pub usize);

impl Transform for Identity {
    fn dim_in(&self) -> usize {
        self.0
    }
    fn dim_out(&self) -> usize {
        self.0
    }
    fn is_orthogonal(&self) -> bool {
        true
    }
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.0, x.len())?;
        check_dim(self.0, out.len())?;
        out.copy_from_slice(x);
        Ok(())
    }
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        self.forward(y, out)
    }
}

/// Saved as `u32` dimension.
impl crate::persist::Persist for Identity {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.0 as u32);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        Ok(Identity(r.u32()? as usize))
    }
}
