//! OPQ (optimized product quantization, Ge et al. 2013; FAISS `OPQMatrix`): an orthogonal
//! rotation `R` learned together with the PQ codebooks, composed as
//! [`Rotated`]`<`[`Rotation`]`, `[`ProductQuantizer`]`>` ([`Opq`]).
//!
//! Training ([`train_opq`]) alternates, on at most `max_train_points` rows `X` (a seeded random
//! subset): rotate `X·R`; train (first iteration from scratch with `niter_pq_0` k-means
//! iterations, then hot-started with `niter_pq`) a PQ on the rotated rows; reconstruct `Y`;
//! and set `R` to the orthogonal Procrustes solution `argmin_R ‖X·R − Y‖` (the SVD of `Xᵀ·Y`,
//! [`crate::train::linalg::procrustes`]). `R` starts as a seeded random rotation (as in FAISS).
//! The final PQ is then trained from scratch (FAISS's defaults) on all rows rotated by `R`.
//!
//! Because `R` is orthogonal, inner products and distances are preserved, so the composition
//! scores with the PQ's own tables (IP or native L2) on the rotated query.

use alloc::vec;
use alloc::vec::Vec;

use super::ProductQuantizer;
use crate::compose::Rotated;
use crate::error::{Error, Result};
use crate::format::{Reader, Writer};
use crate::persist::{MAX_DIM, Persist};
use crate::rng::Rng;
use crate::train::KMeansConfig;
use crate::train::linalg::{procrustes_from, random_orthogonal};
use crate::transform::Transform;

/// OPQ: a learned rotation, then product quantization.
pub type Opq = Rotated<Rotation, ProductQuantizer>;

/// A stored dense matrix `R` (`d_in × d_out`, `d_out ≤ d_in`, orthonormal columns) applied to
/// row vectors: `forward(x) = x·R`, `transpose(y) = y·Rᵀ`. Square: a rotation (orthogonal);
/// `d_out < d_in`: an orthonormal projection (FAISS's `OPQ{M}_{D}` with `D < d`).
///
/// Both directions sum in a fixed order (forward: rows of `R` accumulated in order, lane-wise;
/// transpose: per output an 8-lane sum with a fixed reduction tree), so results are identical on
/// every backend.
#[derive(Clone, Debug, PartialEq)]
pub struct Rotation {
    d_in: usize,
    d_out: usize,
    r: Vec<f32>,
}

impl Rotation {
    /// The map with row-major matrix `r` (`d_in × d_out`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for dimensions outside `1..=65536`, `d_out > d_in` or a wrong
    /// length, or if a row's norm exceeds 1 by more than `1e-3` (or, square, is not within `1e-3`
    /// of 1: a cheap orthogonality check); [`Error::NonFinite`] for NaN/inf entries.
    pub fn new(d_in: usize, d_out: usize, r: Vec<f32>) -> Result<Self> {
        if d_in == 0 || d_in > MAX_DIM || d_out == 0 || d_out > d_in || d_in.checked_mul(d_out) != Some(r.len()) {
            return Err(Error::InvalidParameter("rotation: need d_in·d_out entries, 1 ≤ d_out ≤ d_in ≤ 65536"));
        }
        if !r.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        for row in r.chunks_exact(d_out) {
            let n: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            if n > 1.0 + 1e-3 || (d_in == d_out && n < 1.0 - 1e-3) {
                return Err(Error::InvalidParameter("rotation: rows must have unit norm"));
            }
        }
        Ok(Rotation { d_in, d_out, r })
    }
    /// The identity of dimension `d`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn identity(d: usize) -> Result<Self> {
        let mut r = vec![0f32; d.checked_mul(d).ok_or(Error::Overflow)?];
        for i in 0..d {
            r[i * d + i] = 1.0;
        }
        Self::new(d, d, r)
    }
    /// The row-major `d_in × d_out` matrix.
    pub fn matrix(&self) -> &[f32] {
        &self.r
    }
}

impl Transform for Rotation {
    fn dim_in(&self) -> usize {
        self.d_in
    }
    fn dim_out(&self) -> usize {
        self.d_out
    }
    fn is_orthogonal(&self) -> bool {
        self.d_in == self.d_out
    }
    /// `out = Rᵀx` for the stored `d_in × d_out` matrix `R` (rows accumulated in order).
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_transpose(&self.r, self.d_in, self.d_out, x, out)
    }
    /// `out = R·y`, each entry the fixed-order dot of a row with `y`.
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        crate::transform::dense_forward(&self.r, self.d_in, self.d_out, y, out)
    }
}

/// Fields: `u32` d_in, `u32` d_out, then `d_in·d_out` `f32` (row-major).
impl Persist for Rotation {
    fn persist(&self, w: &mut Writer) {
        w.u32(self.d_in as u32).u32(self.d_out as u32).f32s(&self.r);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let (d_in, d_out) = (r.u32()? as usize, r.u32()? as usize);
        if d_in == 0 || d_in > MAX_DIM || d_out == 0 || d_out > d_in {
            return Err(Error::Corrupt("rotation: dimensions outside 1 ≤ d_out ≤ d_in ≤ 65536"));
        }
        let m = r.finite_f32_vec(d_in * d_out, "rotation: non-finite entry")?;
        Rotation::new(d_in, d_out, m).map_err(|_| Error::Corrupt("rotation: rows are not unit vectors"))
    }
}

/// Configuration of [`train_opq`]; [`Default`] gives FAISS's `OPQMatrix` defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpqConfig {
    /// Alternations of PQ training and Procrustes (FAISS: 50).
    pub niter: usize,
    /// k-means iterations of the first PQ training (FAISS: 40).
    pub niter_pq_0: usize,
    /// k-means iterations of the hot-started PQ trainings (FAISS: 4).
    pub niter_pq: usize,
    /// Rows used to learn the rotation (FAISS: 256·256).
    pub max_train_points: usize,
    /// k-means configuration of the final PQ (its `niter`, seed, …).
    pub kmeans: KMeansConfig,
}

impl Default for OpqConfig {
    fn default() -> Self {
        OpqConfig {
            niter: 50,
            niter_pq_0: 40,
            niter_pq: 4,
            max_train_points: 256 * 256,
            kmeans: KMeansConfig::default(),
        }
    }
}

/// `out = X·R` for row-major `x` (`n × d_in`) into `out` (`n × d_out`).
fn rotate_rows(rot: &Rotation, x: &[f32], out: &mut [f32]) -> Result<()> {
    for (xi, oi) in x.chunks_exact(rot.d_in).zip(out.chunks_exact_mut(rot.d_out)) {
        rot.forward(xi, oi)?;
    }
    Ok(())
}

/// Learns an OPQ rotation and trains the PQ after it (see the module docs). Also returns the
/// mean squared error of the PQ reconstruction in the rotated space at each alternation
/// (non-increasing in practice; it is what OPQ minimises).
///
/// # Errors
/// As [`ProductQuantizer::train`]; [`Error::InvalidParameter`] for `niter == 0`.
pub fn train_opq(
    data: &[f32],
    dim: usize,
    d_out: usize,
    m: usize,
    nbits: u32,
    cfg: &OpqConfig,
) -> Result<(Opq, Vec<f64>)> {
    if cfg.niter == 0 || cfg.niter_pq_0 == 0 || cfg.niter_pq == 0 || cfg.max_train_points == 0 {
        return Err(Error::InvalidParameter("OPQ: iteration counts and max_train_points must be positive"));
    }
    if dim == 0 || dim > MAX_DIM || d_out == 0 || d_out > dim {
        return Err(Error::InvalidParameter("OPQ: need 1 ≤ output dimension ≤ dimension ≤ 65536"));
    }
    let n = crate::codec::batch_rows(data.len(), dim)?;
    if !data.iter().all(|v| v.is_finite()) {
        return Err(Error::NonFinite);
    }
    if n < (1usize << nbits.min(16)) {
        return Err(Error::NotEnoughData { needed: 1 << nbits.min(16), got: n });
    }
    // Subsample the rows that learn the rotation.
    let owned;
    let x: &[f32] = if n > cfg.max_train_points {
        let mut perm: Vec<u32> = (0..n as u32).collect();
        Rng::new(cfg.kmeans.seed ^ 0x0F0F).shuffle(&mut perm);
        perm.truncate(cfg.max_train_points);
        perm.sort_unstable();
        owned = perm
            .iter()
            .flat_map(|&i| data[i as usize * dim..(i as usize + 1) * dim].iter().copied())
            .collect::<Vec<f32>>();
        &owned
    } else {
        data
    };
    let nx = x.len() / dim;
    // R₀: the first d_out columns of a random orthogonal matrix (transposed rows).
    let q = random_orthogonal(dim, cfg.kmeans.seed);
    let r0: Vec<f32> = (0..dim * d_out).map(|i| q[(i % d_out) * dim + i / d_out] as f32).collect();
    let mut rot = Rotation::new(dim, d_out, r0)?;
    let mut xr = vec![0f32; nx * d_out];
    let mut y = vec![0f32; d_out];
    let mut code = vec![0u8; 0];
    let mut pq: Option<ProductQuantizer> = None;
    let mut mses = Vec::with_capacity(cfg.niter);
    let mut v_prev: Option<Vec<f64>> = None;
    for _ in 0..cfg.niter {
        rotate_rows(&rot, x, &mut xr)?;
        let next = match &pq {
            None => {
                ProductQuantizer::train(&xr, d_out, m, nbits, &KMeansConfig { niter: cfg.niter_pq_0, ..cfg.kmeans })?
            }
            Some(p) => p.train_from(&xr, &KMeansConfig { niter: cfg.niter_pq, ..cfg.kmeans })?,
        };
        use crate::{Codec, Decode};
        // M = Xᵀ·Y (d × d_out) in f64: every entry summed over the rows in order. Rows go in
        // chunks of 256 (their reconstructions kept as f64), and each chunk updates M in bands
        // of 8 rows of M, which stay in L1 while the chunk streams past.
        const CHUNK: usize = 256;
        let mut mm = vec![0f64; dim * d_out];
        let mut yc = vec![0f64; CHUNK * d_out];
        let mut err = 0f64;
        for (xs, xrs) in x.chunks(CHUNK * dim).zip(xr.chunks(CHUNK * d_out)) {
            let rows = xs.len() / dim;
            code.resize(rows * next.code_len(), 0);
            next.encode_batch(xrs, &mut code)?;
            for ((xri, yr), cd) in
                xrs.chunks_exact(d_out).zip(yc.chunks_exact_mut(d_out)).zip(code.chunks_exact(next.code_len()))
            {
                next.decode_into(cd, &mut y)?;
                err += xri.iter().zip(&y).map(|(a, b)| f64::from(a - b) * f64::from(a - b)).sum::<f64>();
                for (o, &v) in yr.iter_mut().zip(&y) {
                    *o = f64::from(v);
                }
            }
            for ib in (0..dim).step_by(8) {
                let ie = (ib + 8).min(dim);
                let band = &mut mm[ib * d_out..ie * d_out];
                for (xrow, yr) in xs.chunks_exact(dim).zip(yc.chunks_exact(d_out)).take(rows) {
                    for (row, &xv) in band.chunks_exact_mut(d_out).zip(&xrow[ib..ie]) {
                        crate::simd::pq::axpy_f64(row, f64::from(xv), yr);
                    }
                }
            }
        }
        mses.push(err / nx as f64);
        pq = Some(next);
        let (r, v) = procrustes_from(&mm, dim, d_out, v_prev.as_deref())?;
        v_prev = Some(v);
        rot = Rotation::new(dim, d_out, r.iter().map(|&v| v as f32).collect())?;
    }
    // The final PQ, on all rows rotated by the learned R.
    let mut all = vec![0f32; n * d_out];
    rotate_rows(&rot, data, &mut all)?;
    let pq = ProductQuantizer::train(&all, d_out, m, nbits, &cfg.kmeans)?;
    Ok((Rotated::new(rot, pq)?, mses))
}
