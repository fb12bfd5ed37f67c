//! Small dense linear algebra in `f64` for OPQ: a one-sided Jacobi SVD, the orthogonal
//! Procrustes solution built on it, and a seeded random orthogonal matrix.
//!
//! Matrices are row-major `Vec<f64>`. Every loop runs in a fixed order (no SIMD reductions), so
//! results are bit-identical on every target.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::rng::Rng;

/// A thin singular value decomposition `A = U·diag(s)·Vᵀ` of a `rows × cols` matrix
/// (`rows ≥ cols`).
#[derive(Clone, Debug, PartialEq)]
pub struct Svd {
    /// `rows × cols`, orthonormal columns (completed to an orthonormal set where `s` is 0).
    pub u: Vec<f64>,
    /// `cols` singular values, descending, `≥ 0`.
    pub s: Vec<f64>,
    /// `cols × cols`, orthogonal.
    pub v: Vec<f64>,
    /// Jacobi sweeps used.
    pub sweeps: usize,
}

/// Largest number of Jacobi sweeps (convergence is quadratic; 10–15 is typical).
pub const MAX_SWEEPS: usize = 60;

/// `Σ a_i b_i` with four partial sums (term `i` to sum `i mod 4`), added as `(s0 + s1) + (s2 +
/// s3)` then the tail in order: a fixed order (the same bits everywhere) without the latency
/// chain of one running sum.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            s[l] += x[l] * y[l];
        }
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

/// The SVD of `a` (`rows × cols`, row-major) by one-sided (Hestenes) Jacobi rotations: pairs of
/// columns are rotated until all are mutually orthogonal (relative tolerance `1e-13`), the
/// rotations accumulate in `V`, and the column norms are the singular values.
///
/// # Errors
/// [`Error::InvalidParameter`] if `rows < cols`, `cols == 0` or `a.len() != rows·cols`;
/// [`Error::NonFinite`] for NaN/inf entries.
pub fn svd(a: &[f64], rows: usize, cols: usize) -> Result<Svd> {
    svd_from(a, rows, cols, None)
}

/// [`svd`] hot-started from an approximate right basis `v0` (`cols × cols`, orthogonal, e.g.
/// the `v` of a nearby matrix's SVD): the rotations run on `A·V₀`, whose columns are then
/// already nearly orthogonal, and accumulate into `V₀` — a few sweeps instead of a dozen.
///
/// # Errors
/// As [`svd`]; [`Error::InvalidParameter`] if `v0` has the wrong length; [`Error::NonFinite`]
/// for NaN/inf in `v0`.
pub fn svd_from(a: &[f64], rows: usize, cols: usize, v0: Option<&[f64]>) -> Result<Svd> {
    if cols == 0 || rows < cols || rows.checked_mul(cols) != Some(a.len()) {
        return Err(Error::InvalidParameter("svd: need rows ≥ cols ≥ 1 and rows·cols entries"));
    }
    if v0.is_some_and(|v| v.len() != cols * cols) {
        return Err(Error::InvalidParameter("svd: v0 must be cols × cols"));
    }
    if !a.iter().all(|v| v.is_finite()) || v0.is_some_and(|v| !v.iter().all(|x| x.is_finite())) {
        return Err(Error::NonFinite);
    }
    // Column-major working copies: W = A·V₀ (or A), V column-major (column j of V at j·cols).
    let mut w = vec![0f64; rows * cols];
    let mut v = vec![0f64; cols * cols];
    match v0 {
        None => {
            for i in 0..rows {
                for j in 0..cols {
                    w[j * rows + i] = a[i * cols + j];
                }
            }
            for j in 0..cols {
                v[j * cols + j] = 1.0;
            }
        }
        Some(v0) => {
            for i in 0..cols {
                for j in 0..cols {
                    v[j * cols + i] = v0[i * cols + j];
                }
            }
            // Column j of W = Σ_k A[:, k]·V₀[k][j], accumulated over k in order.
            let mut at = vec![0f64; rows * cols];
            for i in 0..rows {
                for k in 0..cols {
                    at[k * rows + i] = a[i * cols + k];
                }
            }
            for j in 0..cols {
                let wj = &mut w[j * rows..(j + 1) * rows];
                for k in 0..cols {
                    let f = v0[k * cols + j];
                    for (x, &y) in wj.iter_mut().zip(&at[k * rows..(k + 1) * rows]) {
                        *x += f * y;
                    }
                }
            }
        }
    }
    let mut norms = vec![0f64; cols];
    let mut sweeps = 0;
    while sweeps < MAX_SWEEPS {
        sweeps += 1;
        for j in 0..cols {
            let c = &w[j * rows..(j + 1) * rows];
            norms[j] = dot(c, c);
        }
        let mut rotated = false;
        for p in 0..cols {
            for q in p + 1..cols {
                let (alpha, beta) = (norms[p], norms[q]);
                let (head, tail) = w.split_at_mut(q * rows);
                let (cp, cq) = (&mut head[p * rows..(p + 1) * rows], &mut tail[..rows]);
                let gamma = dot(cp, cq);
                if gamma == 0.0 || gamma.abs() <= 1e-13 * libm::sqrt(alpha * beta) {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + libm::sqrt(1.0 + zeta * zeta));
                let c = 1.0 / libm::sqrt(1.0 + t * t);
                let s = c * t;
                for (x, y) in cp.iter_mut().zip(cq.iter_mut()) {
                    let (a, b) = (*x, *y);
                    *x = c * a - s * b;
                    *y = s * a + c * b;
                }
                norms[p] = alpha - t * gamma;
                norms[q] = beta + t * gamma;
                let (vh, vt) = v.split_at_mut(q * cols);
                for (x, y) in vh[p * cols..(p + 1) * cols].iter_mut().zip(vt[..cols].iter_mut()) {
                    let (a, b) = (*x, *y);
                    *x = c * a - s * b;
                    *y = s * a + c * b;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    // Singular values and left vectors, sorted by descending value (stable, index ties).
    let sig: Vec<f64> =
        (0..cols).map(|j| libm::sqrt(dot(&w[j * rows..(j + 1) * rows], &w[j * rows..(j + 1) * rows]))).collect();
    let mut order: Vec<usize> = (0..cols).collect();
    order.sort_by(|&i, &j| sig[j].total_cmp(&sig[i]).then(i.cmp(&j)));
    let smax = sig[order[0]];
    let mut u = vec![0f64; rows * cols]; // column-major while building
    let mut s = vec![0f64; cols];
    let mut vv = vec![0f64; cols * cols];
    let mut missing = Vec::new();
    for (k, &j) in order.iter().enumerate() {
        s[k] = sig[j];
        for i in 0..cols {
            vv[i * cols + k] = v[j * cols + i];
        }
        if sig[j] > smax * 1e-13 && sig[j] > 0.0 {
            for i in 0..rows {
                u[k * rows + i] = w[j * rows + i] / sig[j];
            }
        } else {
            missing.push(k);
        }
    }
    // Complete U's columns for (numerically) zero singular values: Gram–Schmidt of unit
    // vectors against the columns already present.
    let mut e = 0;
    for &k in &missing {
        loop {
            let mut col = vec![0f64; rows];
            if e >= rows {
                return Err(Error::InvalidParameter("svd: cannot complete the basis"));
            }
            col[e] = 1.0;
            e += 1;
            for _ in 0..2 {
                for kk in 0..cols {
                    if kk == k || (missing.contains(&kk) && u[kk * rows..(kk + 1) * rows].iter().all(|&x| x == 0.0)) {
                        continue;
                    }
                    let uk = &u[kk * rows..(kk + 1) * rows];
                    let pr = dot(&col, uk);
                    for (x, &y) in col.iter_mut().zip(uk) {
                        *x -= pr * y;
                    }
                }
            }
            let nn = libm::sqrt(dot(&col, &col));
            if nn > 1e-6 {
                for (i, x) in col.iter().enumerate() {
                    u[k * rows + i] = x / nn;
                }
                break;
            }
        }
    }
    let mut ur = vec![0f64; rows * cols];
    for i in 0..rows {
        for k in 0..cols {
            ur[i * cols + k] = u[k * rows + i];
        }
    }
    Ok(Svd { u: ur, s, v: vv, sweeps })
}

/// The matrix `R` (`rows × cols`, orthonormal columns) maximising `trace(Rᵀ·M)` —
/// equivalently minimising `‖X·R − Y‖_F` for `M = Xᵀ·Y` — which is `U·Vᵀ` for the thin SVD
/// `M = U·Σ·Vᵀ` (orthogonal Procrustes; square `M` gives an orthogonal `R`).
///
/// # Errors
/// As [`svd`].
pub fn procrustes(m: &[f64], rows: usize, cols: usize) -> Result<Vec<f64>> {
    procrustes_from(m, rows, cols, None).map(|(r, _)| r)
}

/// [`procrustes`] through [`svd_from`] hot-started at `v0`; also returns the SVD's `V` (to
/// start the next call from).
///
/// # Errors
/// As [`svd_from`].
pub fn procrustes_from(m: &[f64], rows: usize, cols: usize, v0: Option<&[f64]>) -> Result<(Vec<f64>, Vec<f64>)> {
    let Svd { u, v, .. } = svd_from(m, rows, cols, v0)?;
    let mut r = vec![0f64; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            let mut acc = 0f64;
            for k in 0..cols {
                acc += u[i * cols + k] * v[j * cols + k];
            }
            r[i * cols + j] = acc;
        }
    }
    Ok((r, v))
}

/// A seeded random orthogonal `d × d` matrix: modified Gram–Schmidt (twice) on the rows of a
/// Gaussian matrix drawn from [`Rng`] with `seed`.
pub fn random_orthogonal(d: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut m: Vec<f64> = (0..d * d).map(|_| rng.gaussian()).collect();
    for i in 0..d {
        for _ in 0..2 {
            for j in 0..i {
                let pr = dot(&m[i * d..(i + 1) * d], &m[j * d..(j + 1) * d]);
                let (head, tail) = m.split_at_mut(i * d);
                for (x, &y) in tail[..d].iter_mut().zip(&head[j * d..(j + 1) * d]) {
                    *x -= pr * y;
                }
            }
        }
        let row = &mut m[i * d..(i + 1) * d];
        let nn = libm::sqrt(dot(row, row));
        for x in row {
            *x /= nn;
        }
    }
    m
}

/// `max |(RᵀR − I)_ij|` of a `d × d` matrix (a test of orthogonality).
pub fn orthogonality_error(r: &[f64], d: usize) -> f64 {
    let mut worst = 0f64;
    for i in 0..d {
        for j in 0..d {
            let mut acc = 0f64;
            for k in 0..d {
                acc += r[k * d + i] * r[k * d + j];
            }
            let want = if i == j { 1.0 } else { 0.0 };
            worst = worst.max((acc - want).abs());
        }
    }
    worst
}

/// The Cholesky factor of a symmetric positive-definite `n × n` matrix: lower-triangular `L`
/// with `A = L·Lᵀ` (row-major; the strict upper triangle is 0). Only the lower triangle of `a`
/// is read. Cost `n³/3` multiply–adds, in a fixed order.
///
/// # Errors
/// [`Error::InvalidParameter`] if `a.len() != n²` or `A` is not positive definite (a pivot
/// `≤ 0`); [`Error::NonFinite`] for NaN/inf entries.
pub fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>> {
    if Some(a.len()) != n.checked_mul(n) {
        return Err(Error::InvalidParameter("cholesky: matrix must be n × n"));
    }
    if !a.iter().all(|v| v.is_finite()) {
        return Err(Error::NonFinite);
    }
    let mut l = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s = a[i * n + j] - dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return Err(Error::InvalidParameter("cholesky: matrix is not positive definite"));
                }
                l[i * n + i] = libm::sqrt(s);
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Ok(l)
}

/// The inverse of a symmetric positive-definite `n × n` matrix through its Cholesky factor:
/// `A⁻¹ = L⁻ᵀ·L⁻¹` (symmetric, row-major).
///
/// # Errors
/// As [`cholesky`].
pub fn spd_inverse(a: &[f64], n: usize) -> Result<Vec<f64>> {
    let l = cholesky(a, n)?;
    // Y = L⁻¹ (lower triangular), row by row of the identity solved by forward substitution;
    // stored transposed (yt[j][i] = Y[i][j]) so that both loops below read contiguous rows.
    let mut yt = vec![0f64; n * n];
    for j in 0..n {
        // Column j of Y: solve L y = e_j; y_i = 0 for i < j.
        yt[j * n + j] = 1.0 / l[j * n + j];
        for i in j + 1..n {
            let s = dot(&l[i * n + j..i * n + i], &yt[j * n + j..j * n + i]);
            yt[j * n + i] = -s / l[i * n + i];
        }
    }
    // A⁻¹[i][j] = Σ_k Y[k][i]·Y[k][j] = ⟨yt[i], yt[j]⟩ over k ≥ max(i, j).
    let mut inv = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = dot(&yt[i * n + i..(i + 1) * n], &yt[j * n + i..(j + 1) * n]);
            inv[i * n + j] = v;
            inv[j * n + i] = v;
        }
    }
    Ok(inv)
}

/// The upper-triangular Cholesky factor `U` of a symmetric positive-definite matrix: `A = Uᵀ·U`
/// (row-major; `U = Lᵀ` of [`cholesky`]).
///
/// # Errors
/// As [`cholesky`].
pub fn cholesky_upper(a: &[f64], n: usize) -> Result<Vec<f64>> {
    let l = cholesky(a, n)?;
    let mut u = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            u[j * n + i] = l[i * n + j];
        }
    }
    Ok(u)
}
