//! Weight-matrix quantization, one mechanism for every group codec: round-to-nearest, or
//! **activation-aware** quantization with GPTQ-style error feedback (Frantar et al. 2022) through
//! the inverse of the damped Hessian `H = XᵀX` of real layer inputs `X` (feature `alloc`).
//!
//! A weight matrix `W` is `rows × cols` row-major (`nn.Linear` layout `[out, in]`, `y = W·x`);
//! each row is cut into **groups** of [`GroupQuantizer::group_len`] consecutive weights along
//! the input dimension. A group quantizer first fits the group's side information (a scale, a
//! sign-free codebook choice, nothing) with [`GroupQuantizer::begin_group`], then quantizes it
//! **unit by unit** ([`GroupQuantizer::unit_len`] weights jointly: 1 for scalar codecs, `d_s`
//! for vector quantizers, the whole group for PVQ) with [`GroupQuantizer::quantize_unit`].
//! The codecs implement only that ([`group`]: uniform per-group integers with f16 scales,
//! Lloyd–Max, MXFP4, NVFP4, plain VQ and SSVQ); [`quantize_matrix`] does the rest, the same for
//! all of them.
//!
//! **Error feedback.** With `U` the upper Cholesky factor of `H⁻¹` (`H⁻¹ = UᵀU`,
//! [`Feedback`]), after a unit `B` of a row is quantized with error `e = w_B − ŵ_B`, the weights
//! not yet quantized move by `w_R −= (e·U_BB⁻¹)·U_BR` — the optimal (OBS) compensation of `e`
//! given that later weights can still change. For `|B| = 1` this is GPTQ's
//! `w_R −= (e/U_jj)·U_jR`; for a vector unit it is the block form (GPTVQ), independent of the
//! order inside the unit. Groups fit their side information on the weights as updated so far.
//! With `H` diagonal, `U` is diagonal and the result equals round-to-nearest exactly.
//!
//! **Outliers** (optional, [`QuantizeConfig::outlier_sigma`]): weights above `t·σ` of the matrix
//! are kept as f16 values in an outlier list (16 bits of value + 32 of position each, counted)
//! and replaced by 0 while their group is fitted and quantized.
//!
//! **Bits** are counted exactly: the per-group bits the quantizer reports (side information and
//! codes), the shared parameters once per matrix ([`GroupQuantizer::shared_bits`]: codebooks),
//! and the outlier list.
//!
//! **Per-row side information** ([`GroupQuantizer::begin_row`]): a codec may fit something to
//! the whole row before its first group (PVQ's row scale); the default is nothing.
//!
//! **Rotations** ([`GroupQuantizer::rotation`]): a codec may work in a rotated basis of the
//! input dimension — PVQ for weights applies a randomized Hadamard `R` to every row
//! ("coherence processing", arXiv 2410.16926) so that its coordinates look Gaussian and
//! outliers spread out. Error feedback composes with it by **rotating the activations too**:
//! `W·x = (W·Rᵀ)·(R·x)`, so quantizing `W_R = W·Rᵀ` with error feedback through
//! `H_R = R·H·Rᵀ` (the Hessian of the rotated inputs, [`Feedback::from_inputs_rotated`])
//! minimises exactly the same output error `‖(W − Ŵ)·X‖` as the unrotated problem, and
//! `Ŵ = Ŵ_R·R` is returned. GPTQ's column order is then the order of the rotated
//! coordinates — the groups the codec quantizes — which is what the feedback needs: the
//! compensation goes to coordinates of later groups, in the codec's own basis. (The
//! alternative, error feedback without the rotation, gives up the coherence processing; a
//! quantizer without rotation, e.g. PVQ with `hadamard: false`, does that.)
//! [`quantize_matrix`] refuses a [`Feedback`] built in another basis than the quantizer's.
//! Outlier lists (below) are taken in the quantizer's basis.
//!
//! PVQ (pyramid VQ, arXiv 2410.16926) plugs in this way: [`group::PvqGroup`], a
//! `GroupQuantizer` whose unit is the whole group (`unit_len = group_len`), with the row scale
//! from `begin_row`, the rotation of its [`PvqWeights`](crate::pvq::weights::PvqWeights), and
//! `quantize_unit` returning the PVQ reconstruction of the group and its exact information
//! bits (`log2 L + log2 V`, fractional: the range coder's).

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::transform::hadamard::RandomizedHadamard;

pub mod group;

/// A codec that quantizes one group of consecutive weights of a matrix row (see the
/// [module docs](self)). Object-safe, so a report can hold many as `&dyn GroupQuantizer`.
pub trait GroupQuantizer {
    /// Weights per group; must divide the row length.
    fn group_len(&self) -> usize;

    /// Weights quantized jointly once the group's side information is fixed; divides
    /// [`group_len`](Self::group_len).
    fn unit_len(&self) -> usize {
        self.group_len()
    }

    /// `f32` words of per-group state [`begin_group`](Self::begin_group) writes.
    fn state_len(&self) -> usize {
        0
    }

    /// Fits the group's side information to `w` (`group_len` weights) into `state`, and returns
    /// the bits stored for the group apart from what [`quantize_unit`](Self::quantize_unit)
    /// returns (side information, and the codes of fixed-rate codecs).
    ///
    /// # Errors
    /// [`Error::NonFinite`] or the codec's errors.
    fn begin_group(&self, w: &[f32], state: &mut [f32]) -> Result<f64>;

    /// Quantizes the unit at offset `pos` of the group (`w` and `out` are `unit_len` long),
    /// writing the reconstruction to `out`; returns the bits of the unit not already counted by
    /// `begin_group` (0 for fixed-rate codecs).
    ///
    /// # Errors
    /// The codec's errors.
    fn quantize_unit(&self, state: &[f32], pos: usize, w: &[f32], out: &mut [f32]) -> Result<f64>;

    /// Bits of parameters shared by the whole matrix (codebooks, a tensor scale); counted once.
    fn shared_bits(&self) -> f64 {
        0.0
    }

    /// Called at the start of every row with the whole row as it stands (in the quantizer's
    /// basis, outliers zeroed; with error feedback no weight of the row has moved yet): fits
    /// per-row side information into `state` (PVQ: the row scale) and returns its bits. The
    /// default stores nothing and returns 0.
    ///
    /// # Errors
    /// The codec's errors.
    fn begin_row(&self, row: &[f32], state: &mut [f32]) -> Result<f64> {
        let _ = (row, state);
        Ok(0.0)
    }

    /// An orthogonal rotation `R` of the input dimension the codec works in (PVQ's randomized
    /// Hadamard "coherence processing"), or `None` (the default). When `Some`,
    /// [`quantize_matrix`] quantizes `W·Rᵀ` (every row `w ↦ R·w`) and returns
    /// `Ŵ = Ŵ_R·R`; its error feedback must then be built in the rotated basis
    /// ([`Feedback::from_inputs_rotated`]: `H_R = R·H·Rᵀ`), see the [module docs](self).
    fn rotation(&self) -> Option<&RandomizedHadamard> {
        None
    }

    /// Round-to-nearest of one group as a row of its own (no rotation):
    /// [`begin_row`](Self::begin_row), [`begin_group`](Self::begin_group), then every unit.
    /// Returns the group's bits (with the row's side information).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `w` or `out` is not `group_len` long; the codec's errors.
    fn quantize_group(&self, w: &[f32], out: &mut [f32]) -> Result<f64> {
        let (g, u) = (self.group_len(), self.unit_len());
        crate::error::check_dim(g, w.len())?;
        crate::error::check_dim(g, out.len())?;
        let mut state = vec![0f32; self.state_len()];
        let mut bits = self.begin_row(w, &mut state)?;
        bits += self.begin_group(w, &mut state)?;
        for (p, (wu, ou)) in w.chunks_exact(u).zip(out.chunks_exact_mut(u)).enumerate() {
            bits += self.quantize_unit(&state, p * u, wu, ou)?;
        }
        Ok(bits)
    }
}

/// The error-feedback factor of one layer: the upper Cholesky factor `U` of `(H + λI)⁻¹`,
/// `H = XᵀX` of the layer inputs, `λ = damp · mean(diag H)` (GPTQ's damping; its default
/// `damp` is 0.01). A column that no input uses (`H_jj = 0`) gets `H_jj = 1` first, as GPTQ.
#[derive(Clone, Debug, PartialEq)]
pub struct Feedback {
    cols: usize,
    /// `cols × cols` row-major, upper triangular.
    u: Vec<f32>,
    /// The basis: `Some(R)` when built from rotated inputs `R·x`.
    rotation: Option<RandomizedHadamard>,
}

impl Feedback {
    /// From `n = x.len() / cols` input rows `x` (row-major, each a `cols`-vector `x` of
    /// `y = W·x`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `x.len()` is not a multiple of `cols`;
    /// [`Error::NonFinite`]; [`Error::InvalidParameter`] for `cols == 0`, `damp` not finite or
    /// negative, or a Hessian that damping does not make positive definite.
    pub fn from_inputs(x: &[f32], cols: usize, damp: f64) -> Result<Self> {
        if cols == 0 {
            return Err(Error::InvalidParameter("feedback: cols must be positive"));
        }
        crate::codec::batch_rows(x.len(), cols)?;
        if !x.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let mut h = vec![0f64; cols * cols];
        let mut xd = vec![0f64; cols];
        for row in x.chunks_exact(cols) {
            for (d, &v) in xd.iter_mut().zip(row) {
                *d = f64::from(v);
            }
            for i in 0..cols {
                let xi = xd[i];
                if xi == 0.0 {
                    continue;
                }
                for (hv, &xj) in h[i * cols..i * cols + i + 1].iter_mut().zip(&xd[..=i]) {
                    *hv += xi * xj;
                }
            }
        }
        for i in 0..cols {
            for j in 0..i {
                h[j * cols + i] = h[i * cols + j];
            }
        }
        Self::from_hessian(h, cols, damp)
    }

    /// As [`from_inputs`](Self::from_inputs) in the basis rotated by `r`: from the inputs
    /// `R·x`, i.e. `H_R = R·H·Rᵀ`, for a quantizer whose [`GroupQuantizer::rotation`] is `r`.
    /// Since `W·x = (W·Rᵀ)·(R·x)`, error feedback on `W·Rᵀ` with `H_R` minimises the same
    /// output error as on `W` with `H`.
    ///
    /// # Errors
    /// As [`from_inputs`](Self::from_inputs); [`Error::DimensionMismatch`] if `r` is not of
    /// dimension `cols`.
    pub fn from_inputs_rotated(x: &[f32], cols: usize, damp: f64, r: &RandomizedHadamard) -> Result<Self> {
        if cols == 0 {
            return Err(Error::InvalidParameter("feedback: cols must be positive"));
        }
        crate::codec::batch_rows(x.len(), cols)?;
        let mut xr = x.to_vec();
        for row in xr.chunks_exact_mut(cols) {
            r.forward_in_place(row)?;
        }
        let mut f = Self::from_inputs(&xr, cols, damp)?;
        f.rotation = Some(*r);
        Ok(f)
    }

    /// The rotation of the basis it was built in (`None`: the inputs as given).
    pub fn rotation(&self) -> Option<&RandomizedHadamard> {
        self.rotation.as_ref()
    }

    /// From a symmetric `cols × cols` matrix `H` (row-major).
    ///
    /// # Errors
    /// As [`from_inputs`](Self::from_inputs).
    pub fn from_hessian(mut h: Vec<f64>, cols: usize, damp: f64) -> Result<Self> {
        if cols == 0 || Some(h.len()) != cols.checked_mul(cols) {
            return Err(Error::InvalidParameter("feedback: H must be cols × cols"));
        }
        if !(damp.is_finite() && damp >= 0.0) {
            return Err(Error::InvalidParameter("feedback: damp must be finite and ≥ 0"));
        }
        for i in 0..cols {
            if h[i * cols + i] == 0.0 {
                h[i * cols + i] = 1.0;
            }
        }
        let mean = (0..cols).map(|i| h[i * cols + i]).sum::<f64>() / cols as f64;
        let lambda = damp * mean;
        for i in 0..cols {
            h[i * cols + i] += lambda;
        }
        let inv = crate::train::linalg::spd_inverse(&h, cols)?;
        let u = crate::train::linalg::cholesky_upper(&inv, cols)?;
        Ok(Feedback { cols, u: u.iter().map(|&v| v as f32).collect(), rotation: None })
    }

    /// The row length it was built for.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `U`, `cols × cols` row-major, upper triangular.
    pub fn factor(&self) -> &[f32] {
        &self.u
    }
}

/// Options of [`quantize_matrix`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuantizeConfig {
    /// Keep weights with `|w| > t·σ` (σ the matrix's RMS) as an f16 outlier list; `None` keeps
    /// none.
    pub outlier_sigma: Option<f32>,
}

/// The result of [`quantize_matrix`].
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    /// `Ŵ`, `rows × cols` row-major.
    pub w_hat: Vec<f32>,
    /// Every bit stored: per-group bits, shared parameters once, and the outlier list.
    pub bits: f64,
    /// Weights kept in the outlier list.
    pub outliers: usize,
}

impl Quantized {
    /// Bits per weight, everything counted.
    pub fn bits_per_weight(&self) -> f64 {
        if self.w_hat.is_empty() { 0.0 } else { self.bits / self.w_hat.len() as f64 }
    }
}

/// Bits of one outlier-list entry: an f16 value and a `u32` position.
pub const OUTLIER_BITS: f64 = 48.0;

fn f16_round(v: f32) -> f32 {
    crate::scalar::float::f16_to_f32(crate::scalar::float::f16_from_f32(v))
}

/// Quantizes the `rows × cols` matrix `w` group by group with `q`: round-to-nearest when
/// `feedback` is `None`, GPTQ-style error feedback through it otherwise (see the
/// [module docs](self)). With a quantizer [`rotation`](GroupQuantizer::rotation) `R`, the
/// rows are rotated first and `Ŵ` is returned in the original basis.
///
/// # Errors
/// [`Error::DimensionMismatch`] if `w.len() != rows·cols`, the feedback was built for another
/// row length, or the rotation is not of dimension `cols`; [`Error::InvalidParameter`] if
/// `group_len` does not divide `cols` or `unit_len` does not divide `group_len`, or the
/// feedback's basis ([`Feedback::rotation`]) is not the quantizer's rotation;
/// [`Error::NonFinite`]; the codec's errors.
pub fn quantize_matrix(
    w: &[f32],
    rows: usize,
    cols: usize,
    q: &dyn GroupQuantizer,
    feedback: Option<&Feedback>,
    cfg: &QuantizeConfig,
) -> Result<Quantized> {
    crate::error::check_dim(rows.checked_mul(cols).ok_or(Error::Overflow)?, w.len())?;
    let (g, u) = (q.group_len(), q.unit_len());
    if g == 0 || u == 0 || !cols.is_multiple_of(g) || !g.is_multiple_of(u) {
        return Err(Error::InvalidParameter("group length must divide the row and the unit the group"));
    }
    if let Some(f) = feedback {
        crate::error::check_dim(cols, f.cols)?;
        if f.rotation.as_ref() != q.rotation() {
            return Err(Error::InvalidParameter(
                "feedback built in another basis than the quantizer's rotation (Feedback::from_inputs_rotated)",
            ));
        }
    }
    if !w.iter().all(|v| v.is_finite()) {
        return Err(Error::NonFinite);
    }
    // In the quantizer's basis: every row w ↦ R·w (W·Rᵀ).
    let rotated;
    let w = match q.rotation() {
        Some(rot) => {
            let mut v = w.to_vec();
            for row in v.chunks_exact_mut(cols) {
                rot.forward_in_place(row)?;
            }
            rotated = v;
            &rotated[..]
        }
        None => w,
    };
    let outlier = match cfg.outlier_sigma {
        Some(t) => {
            let ms = w.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / w.len().max(1) as f64;
            let thr = f64::from(t) * libm::sqrt(ms);
            w.iter().map(|&v| f64::from(v.abs()) > thr).collect::<Vec<bool>>()
        }
        None => Vec::new(),
    };
    let mut w_hat = vec![0f32; w.len()];
    let mut bits = q.shared_bits();
    let mut state = vec![0f32; q.state_len()];
    let mut cur = vec![0f32; cols];
    let mut masked = vec![0f32; g];
    let mut err = vec![0f32; u];
    let mut coef = vec![0f32; u];
    let n_out = outlier.iter().filter(|&&o| o).count();
    bits += OUTLIER_BITS * n_out as f64;
    for r in 0..rows {
        cur.copy_from_slice(&w[r * cols..(r + 1) * cols]);
        let is_out = |j: usize| outlier.get(r * cols + j).copied().unwrap_or(false);
        let out_row = &mut w_hat[r * cols..(r + 1) * cols];
        for (j, o) in out_row.iter_mut().enumerate() {
            *o = if is_out(j) { 0.0 } else { cur[j] };
        }
        bits += q.begin_row(out_row, &mut state)?;
        for g0 in (0..cols).step_by(g) {
            for (k, m) in masked.iter_mut().enumerate() {
                *m = if is_out(g0 + k) { 0.0 } else { cur[g0 + k] };
            }
            bits += q.begin_group(&masked, &mut state)?;
            for p in (0..g).step_by(u) {
                let a = g0 + p;
                for k in 0..u {
                    masked[p + k] = if is_out(a + k) { 0.0 } else { cur[a + k] };
                }
                bits += q.quantize_unit(&state, p, &masked[p..p + u], &mut out_row[a..a + u])?;
                for k in 0..u {
                    if is_out(a + k) {
                        out_row[a + k] = f16_round(cur[a + k]);
                    }
                }
                let Some(f) = feedback else { continue };
                // c·U_BB = e (U_BB upper triangular), then w_R −= c·U_BR.
                for k in 0..u {
                    err[k] = cur[a + k] - out_row[a + k];
                }
                for i in 0..u {
                    let mut s = err[i];
                    for (k, &ck) in coef[..i].iter().enumerate() {
                        s -= ck * f.u[(a + k) * cols + a + i];
                    }
                    let d = f.u[(a + i) * cols + a + i];
                    coef[i] = if d > 0.0 { s / d } else { 0.0 };
                }
                let rest = a + u;
                for (k, &c) in coef.iter().enumerate() {
                    if c == 0.0 {
                        continue;
                    }
                    let urow = &f.u[(a + k) * cols + rest..(a + k + 1) * cols];
                    for (x, &uv) in cur[rest..].iter_mut().zip(urow) {
                        *x -= c * uv;
                    }
                }
            }
        }
    }
    if let Some(rot) = q.rotation() {
        for row in w_hat.chunks_exact_mut(cols) {
            rot.transpose_in_place(row)?;
        }
    }
    if !w_hat.iter().all(|v| v.is_finite()) {
        return Err(Error::NonFinite);
    }
    Ok(Quantized { w_hat, bits, outliers: n_out })
}

/// Relative weight error `‖W − Ŵ‖²_F / ‖W‖²_F` (0 for an all-zero `W` reproduced exactly).
///
/// # Errors
/// [`Error::DimensionMismatch`] if the lengths differ.
pub fn relative_weight_mse(w: &[f32], w_hat: &[f32]) -> Result<f64> {
    crate::error::check_dim(w.len(), w_hat.len())?;
    let (mut num, mut den) = (0f64, 0f64);
    for (&a, &b) in w.iter().zip(w_hat) {
        num += f64::from(a - b) * f64::from(a - b);
        den += f64::from(a) * f64::from(a);
    }
    Ok(if den > 0.0 {
        num / den
    } else if num > 0.0 {
        f64::INFINITY
    } else {
        0.0
    })
}

/// Relative output error `‖(W − Ŵ)·Xᵀ‖_F / ‖W·Xᵀ‖_F` over the `n = x.len() / cols` input rows
/// `x` (each a `cols`-vector; biases cancel), in `f64`.
///
/// # Errors
/// [`Error::DimensionMismatch`] on inconsistent lengths.
pub fn relative_output_error(w: &[f32], w_hat: &[f32], rows: usize, cols: usize, x: &[f32]) -> Result<f64> {
    crate::error::check_dim(rows * cols, w.len())?;
    crate::error::check_dim(rows * cols, w_hat.len())?;
    crate::codec::batch_rows(x.len(), cols)?;
    let (mut num, mut den) = (0f64, 0f64);
    let mut e = vec![0f32; cols];
    for r in 0..rows {
        let wr = &w[r * cols..(r + 1) * cols];
        for ((d, &a), &b) in e.iter_mut().zip(wr).zip(&w_hat[r * cols..(r + 1) * cols]) {
            *d = a - b;
        }
        for xr in x.chunks_exact(cols) {
            let (mut y, mut dy) = (0f64, 0f64);
            for ((&xv, &wv), &ev) in xr.iter().zip(wr).zip(&e) {
                y += f64::from(xv) * f64::from(wv);
                dy += f64::from(xv) * f64::from(ev);
            }
            num += dy * dy;
            den += y * y;
        }
    }
    Ok(if den > 0.0 {
        libm::sqrt(num / den)
    } else if num > 0.0 {
        f64::INFINITY
    } else {
        0.0
    })
}
