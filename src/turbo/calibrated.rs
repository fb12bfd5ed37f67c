//! Data-calibrated TurboQuant with the inner-product-corrected norm: the codes of
//! [`turbo_mse_ip`](super::turbo_mse_ip) (same bytes per vector), with parameters fitted on a
//! sample of the data.
//!
//! TurboQuant's codebook is optimal for the coordinates of a *uniformly random* unit vector after
//! the rotation. Real embeddings are not: they share a large mean component, and after the
//! rotation their coordinates have unequal spreads. Three calibrations, each a generic
//! composition of the crate ([`Centered`], [`Scaled`]), fix that without adding a byte per vector:
//!
//! 1. **centring** (outer [`Centered`]): code `x − μ` with `μ` the training mean; the score adds
//!    the exact `⟨q, μ⟩`;
//! 2. **per-coordinate calibration** (inner [`Centered`] ∘ [`Scaled`], in the rotated unit
//!    domain): coordinate `j` of `u = Π(x − μ)/‖x − μ‖` is coded as `s_j·(u_j − m_j)` with `m_j`
//!    its sample mean and `s_j = (1/√d)/σ_j` (`σ_j` its sample standard deviation), so that every
//!    coordinate has the spread `1/√d` of the codebook's density; the query is scaled by `1/s_j`
//!    and `⟨q', m⟩` added, so the score stays `⟨q', û⟩`;
//! 3. **trained codebook**: the `2^b` levels are 1-D k-means ([`Codebook::train`], 25
//!    iterations) on the calibrated coordinates of the sample instead of the Beta table.
//!
//! The stored scalar is the ratio-estimator scale of [`IpNormalized`]: `‖x − μ‖/⟨u, û⟩`, with `û`
//! the decoded (un-calibrated) unit direction, so the score is
//! `⟨q, μ⟩ + ‖x − μ‖·⟨Πq, û⟩/⟨u, û⟩` ([`Estimator::Biased`](crate::Estimator::Biased): exact
//! for `q ∥ x − μ`).
//!
//! Bits per dimension: `b + 32/d` (indices + one `f32`), or for [`TurboIpCalSplit`]
//! `(k·(b+1) + (d−k)·b)/d + 32/d` — the form used to spend a byte budget exactly (e.g. 56 bytes
//! at `d = 384`: 32 coordinates at 2 bits, 352 at 1 bit, 4 bytes of scale).
//!
//! Parameters (`d` floats each for `μ`, `m`, `s`, plus the codebook) are per codec, not per
//! vector.
//!
//! The codecs save and load through [`Persist`](crate::persist::Persist) as the compositions
//! they are: `μ`, the rotation (kind, dimension, seed), `m`, `s`, then each
//! [`CodebookScalar`] (the Beta codebook as its derivation, a trained one as its levels). Factory
//! names: `ctqN-ip`, `ctqN-ip-cal`, `ctqN+K-ip`.
//!
//! Measured on `wordnet-minilm-l6` (50,000 × 384, 1,000 queries, recall@10): centring is the gain
//! that matters — `ctq2-ip` 0.8677 vs `tq2-ip` 0.8638, `ctq1-ip` 0.7419 vs `tq1-ip` 0.7374; the
//! per-coordinate calibration (`ctq2-ip-cal` 0.8670) and trained codebooks (0.8667–0.8675) are
//! within run-to-run noise of centring alone, and so was a Haar instead of a Hadamard rotation
//! (0.8632–0.8643). `ctq1+32-ip` ([`train_ip_split`], 32 coordinates at 2 bits, 56 B at
//! `d = 384`) reaches 0.7502. The PCA transform coder of [`super::pca`] does much better at the
//! same sizes.

use alloc::vec::Vec;

use crate::compose::norm_f64;
use crate::compose::{Centered, IpNormalized, Rotated, Scaled, Split};
use crate::error::{Error, Result};
use crate::scalar::codebook::{CodebookKind, CodebookScalar};
use crate::scalar::lloyd::Codebook;
use crate::transform::Transform;
use crate::transform::{Rotation, RotationKind};

/// The calibrated inner codec of the rotated unit direction: `C` on `s ⊙ (u − m)`.
pub type Calibrated<C> = Centered<Scaled<C, Vec<f32>>, Vec<f32>>;

/// Calibrated TurboQuant-IP with one codebook width: `x ↦ Π(x − μ)`, then the ratio-corrected
/// norm and [`Calibrated`]`<`[`CodebookScalar`]`>` on the unit direction.
pub type TurboIpCal = CalibratedIp<CodebookScalar>;

/// As [`TurboIpCal`], with the first `k` rotated coordinates at one width and the rest at another.
pub type TurboIpCalSplit = CalibratedIp<Split<CodebookScalar, CodebookScalar>>;

/// The calibrated TurboQuant-IP stack over any inner codec `C` of the calibrated unit direction.
pub type CalibratedIp<C> = Centered<Rotated<Rotation, IpNormalized<Calibrated<C>>>, Vec<f32>>;

/// What [`train_ip`] fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calibration {
    /// Centre on the training mean (else `μ = 0`).
    pub center: bool,
    /// Per-coordinate mean and spread in the rotated unit domain (else `m = 0`, `s = 1`).
    pub per_coordinate: bool,
    /// Train the codebook levels on the sample (else the Beta Lloyd–Max codebook of `f_d`).
    pub trained_codebook: bool,
    /// The rotation.
    pub rotation: RotationKind,
}

/// At most this many rows of the training data are used for the rotated-domain statistics
/// (evenly strided, so a sorted file is sampled across its whole range).
pub const SAMPLE_ROWS: usize = 8192;

/// Fitted parameters shared by the builders.
struct Fit {
    mean: Vec<f32>,
    rot: Rotation,
    shift: Vec<f32>,
    scale: Vec<f32>,
    /// The calibrated unit coordinates of the sample, row-major (`rows × d`).
    calibrated: Vec<f32>,
}

fn fit(data: &[f32], dim: usize, seed: u64, cal: Calibration) -> Result<Fit> {
    let n = crate::codec::batch_rows(data.len(), dim)?;
    if n < 2 || dim < 2 {
        return Err(Error::NotEnoughData { needed: 2, got: n });
    }
    crate::error::check_finite(data)?;
    let mean = if cal.center { crate::train::column_mean(data, dim) } else { alloc::vec![0.0f32; dim] };
    let rot = Rotation::new(cal.rotation, dim, seed)?;
    let step = n.div_ceil(SAMPLE_ROWS);
    let mut units = Vec::with_capacity(n.div_ceil(step) * dim);
    let (mut r, mut y) = (alloc::vec![0.0f32; dim], alloc::vec![0.0f32; dim]);
    for row in data.chunks_exact(dim).step_by(step) {
        for ((o, &v), &m) in r.iter_mut().zip(row).zip(&mean) {
            *o = v - m;
        }
        rot.forward(&r, &mut y)?;
        let norm = norm_f64(&y) as f32;
        if norm > 0.0 && norm.is_finite() {
            units.extend(y.iter().map(|&v| v / norm));
        }
    }
    let rows = units.len() / dim;
    if rows < 2 {
        return Err(Error::NotEnoughData { needed: 2, got: rows });
    }
    let (mut shift, mut scale) = (alloc::vec![0.0f32; dim], alloc::vec![1.0f32; dim]);
    if cal.per_coordinate {
        let target = 1.0 / libm::sqrt(dim as f64);
        for j in 0..dim {
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for u in units.chunks_exact(dim) {
                let v = f64::from(u[j]);
                s1 += v;
                s2 += v * v;
            }
            let m = s1 / rows as f64;
            let var = (s2 / rows as f64 - m * m).max(0.0);
            let sd = libm::sqrt(var);
            shift[j] = m as f32;
            // A degenerate coordinate keeps scale 1; others are clamped to a factor of 8.
            scale[j] = if sd > 0.0 { (target / sd).clamp(0.125, 8.0) as f32 } else { 1.0 };
        }
        for u in units.chunks_exact_mut(dim) {
            for ((v, &m), &s) in u.iter_mut().zip(&shift).zip(&scale) {
                *v = (*v - m) * s;
            }
        }
    }
    Ok(Fit { mean, rot, shift, scale, calibrated: units })
}

/// The scalar codec of coordinates `cols`: the Beta coordinate codebook of `dim` dimensions
/// (saved as its derivation), or levels trained on the calibrated sample (saved as levels).
fn scalar(f: &Fit, dim: usize, cols: core::ops::Range<usize>, bits: u32, cal: Calibration) -> Result<CodebookScalar> {
    if !cal.trained_codebook {
        return CodebookScalar::coordinate(cols.len(), dim, bits, CodebookKind::Beta);
    }
    let mut s = Vec::new();
    for u in f.calibrated.chunks_exact(dim) {
        s.extend_from_slice(&u[cols.clone()]);
    }
    CodebookScalar::new(cols.len(), Codebook::train(&s, 1usize << bits, 25)?)
}

fn assemble<C: crate::codec::Decode>(f: Fit, inner: C) -> Result<CalibratedIp<C>> {
    let cal = Centered::new(Scaled::new(inner, f.scale)?, f.shift)?;
    Centered::new(Rotated::new(f.rot, IpNormalized::new(cal))?, f.mean)
}

/// Trains [`TurboIpCal`] at `bits` bits per coordinate on the rows of `data` (`n × dim`), with
/// the randomized Hadamard rotation seeded by `seed`.
///
/// # Errors
/// [`Error::NotEnoughData`] for fewer than 2 rows (or 2 nonzero centred rows);
/// [`Error::NonFinite`] on NaN/inf data; [`Error::InvalidParameter`] for `bits ∉ 1..=8` or
/// `dim < 2`; as [`Codebook::train`].
pub fn train_ip(data: &[f32], dim: usize, bits: u32, seed: u64, cal: Calibration) -> Result<TurboIpCal> {
    if !(1..=8).contains(&bits) {
        return Err(Error::InvalidParameter("calibrated TurboQuant: bits must be in 1..=8"));
    }
    let f = fit(data, dim, seed, cal)?;
    let inner = scalar(&f, dim, 0..dim, bits, cal)?;
    assemble(f, inner)
}

/// Trains [`TurboIpCalSplit`]: the first `k` rotated coordinates at `bits + 1` bits, the other
/// `dim − k` at `bits`.
///
/// # Errors
/// As [`train_ip`]; [`Error::InvalidParameter`] unless `0 < k < dim` and `bits ≤ 7`.
pub fn train_ip_split(
    data: &[f32],
    dim: usize,
    k: usize,
    bits: u32,
    seed: u64,
    cal: Calibration,
) -> Result<TurboIpCalSplit> {
    if !(1..=7).contains(&bits) || k == 0 || k >= dim {
        return Err(Error::InvalidParameter("calibrated TurboQuant split: need 1 ≤ bits ≤ 7, 0 < k < dim"));
    }
    let f = fit(data, dim, seed, cal)?;
    let a = scalar(&f, dim, 0..k, bits + 1, cal)?;
    let b = scalar(&f, dim, k..dim, bits, cal)?;
    assemble(f, Split::new(a, b)?)
}
