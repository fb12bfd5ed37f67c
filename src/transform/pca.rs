//! [`Pca`]: a dense orthogonal transform learned from data (`alloc`): the rows of its matrix are
//! the principal axes of the training rows, by decreasing variance (covariance of the rows,
//! Jacobi eigensolver). Used by the transform coders of [`crate::turbo::pca`].

use alloc::vec::Vec;

use super::Transform;
use crate::error::{Error, Result, check_dim};

/// A trained orthogonal transform: the rows of the matrix are the principal axes of the
/// training data, by decreasing variance.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    dim: usize,
    /// Row-major `dim × dim`, orthonormal rows.
    matrix: Vec<f32>,
    /// The variance along each axis (decreasing).
    variances: Vec<f32>,
}

impl Pca {
    /// The principal axes of `data` (`n × dim`, centred on `mean`), from the `f64` covariance by
    /// cyclic Jacobi rotations (at most 30 sweeps; `O(d³)` each). With the `parallel` feature
    /// the covariance (`O(n·d²)`) is accumulated on all cores, bit-identical to one thread; the
    /// eigensolver stays sequential.
    ///
    /// # Errors
    /// [`Error::NotEnoughData`] for fewer than 2 rows; [`Error::NonFinite`] for NaN/inf data.
    pub fn train(data: &[f32], dim: usize, mean: &[f32]) -> Result<Self> {
        check_dim(dim, mean.len())?;
        let n = crate::codec::batch_rows(data.len(), dim)?;
        if n < 2 || dim == 0 {
            return Err(Error::NotEnoughData { needed: 2, got: n });
        }
        crate::error::check_finite(data)?;
        // Lower triangle of Σ r·rᵀ over the centred rows r, each entry summed in row order.
        // Rows are centred a block (about 2 MiB of f64) at a time; pieces of 16 covariance rows
        // are then updated from the whole block independently (in parallel with the `parallel`
        // feature: the same bits, as every entry still adds the rows in order).
        const GRAIN_ROWS: usize = 16;
        let block_rows = ((1usize << 18) / dim).clamp(1, n);
        let mut a = alloc::vec![0.0f64; dim * dim];
        let mut centred = alloc::vec![0.0f64; block_rows * dim];
        for block in data.chunks(block_rows * dim) {
            let cen = &mut centred[..block.len()];
            for (row, r) in block.chunks_exact(dim).zip(cen.chunks_exact_mut(dim)) {
                for ((o, &v), &m) in r.iter_mut().zip(row).zip(mean) {
                    *o = f64::from(v) - f64::from(m);
                }
            }
            let cen = &*cen;
            crate::par::for_each_chunk_mut(&mut a, GRAIN_ROWS * dim, |piece, rows| {
                let i0 = piece * GRAIN_ROWS;
                for r in cen.chunks_exact(dim) {
                    for (ii, arow) in rows.chunks_exact_mut(dim).enumerate() {
                        let i = i0 + ii;
                        let ri = r[i];
                        for (x, &rj) in arow[..=i].iter_mut().zip(&r[..=i]) {
                            *x += ri * rj;
                        }
                    }
                }
                Ok(())
            })?;
        }
        for i in 0..dim {
            for j in 0..=i {
                let v = a[i * dim + j] / n as f64;
                a[i * dim + j] = v;
                a[j * dim + i] = v;
            }
        }
        let (vals, vecs) = jacobi(&mut a, dim);
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&i, &j| vals[j].total_cmp(&vals[i]));
        let mut matrix = Vec::with_capacity(dim * dim);
        let mut variances = Vec::with_capacity(dim);
        for &k in &order {
            // Row k of V is the eigenvector.
            matrix.extend(vecs[k * dim..(k + 1) * dim].iter().map(|&x| x as f32));
            variances.push(vals[k].max(0.0) as f32);
        }
        Ok(Pca { dim, matrix, variances })
    }

    /// The variance of the training data along each axis (decreasing).
    pub fn variances(&self) -> &[f32] {
        &self.variances
    }

    /// Principal axis `k` (unit vector of `dim` floats; axes in decreasing variance), or an
    /// empty slice for `k ≥ dim`.
    pub fn axis(&self, k: usize) -> &[f32] {
        self.matrix.get(k * self.dim..(k + 1) * self.dim).unwrap_or_default()
    }
}

/// Eigen-decomposition of the symmetric `a` (destroyed) by cyclic Jacobi: the eigenvalues and
/// the row-major matrix whose **rows** are the eigenvectors. Stops when the off-diagonal mass is
/// below `1e-14` of the diagonal's (eigenvectors to about 1e-7) or after 30 sweeps. Each rotation
/// updates rows `p` and `q` (contiguous) and mirrors them into the columns.
fn jacobi(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = alloc::vec![0.0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let rotate_rows = |m: &mut [f64], p: usize, q: usize, c: f64, s: f64| {
        let (lo, hi) = m.split_at_mut(q * n);
        let (rp, rq) = (&mut lo[p * n..p * n + n], &mut hi[..n]);
        for (x, y) in rp.iter_mut().zip(rq.iter_mut()) {
            let (xp, xq) = (*x, *y);
            *x = c * xp - s * xq;
            *y = s * xp + c * xq;
        }
    };
    for _ in 0..30 {
        let mut off = 0.0f64;
        let mut diag = 0.0f64;
        for i in 0..n {
            diag += a[i * n + i] * a[i * n + i];
            for j in i + 1..n {
                off += a[i * n + j] * a[i * n + j];
            }
        }
        if off <= 1e-14 * diag {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t =
                    if theta == 0.0 { 1.0 } else { theta.signum() / (theta.abs() + libm::sqrt(theta * theta + 1.0)) };
                let c = 1.0 / libm::sqrt(t * t + 1.0);
                let s = t * c;
                // A ← Jᵀ A J for the rotation J in the (p, q) plane: rows, then mirror to columns.
                rotate_rows(a, p, q, c, s);
                for k in 0..n {
                    a[k * n + p] = a[p * n + k];
                    a[k * n + q] = a[q * n + k];
                }
                a[p * n + p] = app - t * apq;
                a[q * n + q] = aqq + t * apq;
                a[p * n + q] = 0.0;
                a[q * n + p] = 0.0;
                rotate_rows(&mut v, p, q, c, s);
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

impl Transform for Pca {
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
        crate::transform::dense_forward(&self.matrix, self.dim, self.dim, x, out)
    }
    /// 64: a block reads the whole matrix once.
    fn batch_block(&self) -> usize {
        64
    }
    /// One blocked matrix product for the batch ([`crate::simd::matmul_fixed`]), the same bits
    /// as [`forward`](Transform::forward) per row.
    fn forward_batch(&self, xs: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_forward_batch(&self.matrix, self.dim, self.dim, xs, out)
    }
    /// One blocked product for the batch ([`crate::simd::matmul_t`]), the same bits as
    /// [`transpose`](Transform::transpose) per row.
    fn transpose_batch(&self, ys: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_transpose_batch(&self.matrix, self.dim, self.dim, ys, out)
    }
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_transpose(&self.matrix, self.dim, self.dim, y, out)
    }
}

/// Saved as `u32` dimension, the `dim × dim` row-major matrix and the `dim` variances as `f32`.
/// Restore checks the lengths against the bytes left before allocating, that every value is
/// finite, the variances non-negative and every row of unit length (to `1e-3`): the transform
/// reports itself orthogonal. (Full orthogonality is not checked: `O(d³)`; a corrupt matrix
/// gives wrong scores, never a panic.)
impl crate::persist::Persist for Pca {
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32).f32s(&self.matrix).f32s(&self.variances);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, crate::persist::MAX_DIM, "PCA: dimension too large")?;
        if dim == 0 {
            return Err(Error::Corrupt("PCA: zero dimension"));
        }
        let n = dim.checked_mul(dim).ok_or(Error::Corrupt("PCA: dimension too large"))?;
        let matrix = r.finite_f32_vec(n, "PCA: non-finite matrix entry")?;
        let variances = r.finite_f32_vec(dim, "PCA: non-finite variance")?;
        if variances.iter().any(|&v| v < 0.0) {
            return Err(Error::Corrupt("PCA: negative variance"));
        }
        for row in matrix.chunks_exact(dim) {
            let nn: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            if (nn - 1.0).abs() > 1e-3 {
                return Err(Error::Corrupt("PCA: matrix row is not of unit length"));
            }
        }
        Ok(Pca { dim, matrix, variances })
    }
}
