//! TurboQuant at fractional rates (2.5, 3.5, … bits per coordinate), written as a composition.
//!
//! After the random rotation `Π` the coordinates of `Πx/‖x‖` are exchangeable: each has the
//! same density `f_d` (SPECS §8). So the rotated unit vector can be cut into two groups of
//! coordinates, each quantized with the Lloyd–Max codebook of `f_d` at its own width, with one
//! norm for the whole vector. With `⌈d/2⌉` coordinates at `b + 1` bits and `⌊d/2⌋` at `b` bits the
//! rate is `b + ½` bits per coordinate (2.5 = 3 + 2, 3.5 = 4 + 3), and the distortion is the
//! coordinate-weighted average of the two widths' `D_mse`, e.g. at `d = 128`:
//! `D_mse(2.5) = (0.11600 + 0.033966)/2 = 0.07498`, `D_mse(3.5) = (0.033966 + 0.0093148)/2 = 0.02164`.
//!
//! The types are the crate's generic wrappers around one small codec:
//!
//! * [`CodebookScalar`]: a fixed 1-D [`Codebook`](crate::scalar::lloyd::Codebook) applied to every coordinate, no scale; code =
//!   packed indices (it expects inputs already on the codebook's scale).
//! * [`TurboMseSplit`] = [`Rotated`]`<`[`Rotation`]`, `[`Normalized`]`<`[`Split`]`<CodebookScalar,
//!   CodebookScalar>>>`: rotate, factor out the norm, split the coordinates between two widths.
//!   Code: `⌈k·b_1/8⌉` bytes of indices of the first `k` rotated coordinates, `⌈(d−k)·b_2/8⌉` bytes
//!   for the rest, then `‖x‖` as `f32`. Bits per dimension: `(k·b_1 + (d−k)·b_2)/d + 32/d` plus
//!   at most 14 bits of byte padding per vector. Score: exact on the reconstruction
//!   ([`Estimator::Reconstruction`]), the sum of the two groups' inner products times the norm.
//! * [`TurboProdSplit`] = [`Residual`]`<TurboMseSplit, `[`Qjl`]`>`: TurboQuant-prod at `b + ½`
//!   bits is MSE at `b − ½` bits plus a QJL sketch (`m = d`, 1 bit per coordinate + `γ` as `f32`)
//!   of the residual. Unbiased ([`Estimator::Unbiased`]).
//!
//! The integer-rate inner codec [`NormScalar`](super::NormScalar) is the same composition
//! without the split (`Normalized<CodebookScalar>`): with two equal codebooks and a first group
//! of whole bytes, a split stores exactly its bytes (tested).

#[cfg(doc)]
use crate::codec::Estimator;
use crate::compose::{Normalized, Residual, Rotated, Split};
use crate::error::{Error, Result};
use crate::qjl::Qjl;
use crate::scalar::codebook::{CodebookKind, CodebookScalar};
use crate::transform::{Rotation, RotationKind};

/// TurboQuant-MSE with two codebook widths: rotation, norm, then the first `k` rotated
/// coordinates at one width and the rest at another (see the module docs).
pub type TurboMseSplit = Rotated<Rotation, Normalized<Split<CodebookScalar, CodebookScalar>>>;

/// TurboQuant-MSE with an `f16` norm: rotation ∘ [`Normalized`]`<CodebookScalar, NormF16>`. The
/// codes of [`turbo_mse`](super::turbo_mse) (same rotation, same codebook cells) followed by a
/// 2-byte norm instead of 4: `bits + 16/d` bits per dimension (0.5 bit less at `d = 32`), the
/// reconstruction and scores scaled by the norm's `f16` rounding (relative ≤ 2⁻¹¹). Norms above
/// 65504 are [`Error::Overflow`] at encoding.
pub type TurboMseH16 = Rotated<Rotation, Normalized<CodebookScalar, crate::compose::NormF16>>;

/// Builds [`TurboMseH16`] for `dim`-vectors at `bits` bits per coordinate.
///
/// # Errors
/// As [`turbo_mse`](super::turbo_mse).
pub fn turbo_mse_h16(
    dim: usize,
    bits: u32,
    seed: u64,
    rotation: RotationKind,
    codebook: CodebookKind,
) -> Result<TurboMseH16> {
    let inner = CodebookScalar::coordinate(dim, dim, bits, codebook)?;
    Rotated::new(Rotation::new(rotation, dim, seed)?, Normalized::with_norm(inner))
}

/// TurboQuant-prod over [`TurboMseSplit`]: the mixed-width MSE stage plus QJL (`m = d`) on the
/// residual.
pub type TurboProdSplit = Residual<TurboMseSplit, Qjl>;

/// Builds TurboQuant-MSE for `dim`-vectors with the first `k` rotated coordinates at `bits_first`
/// bits and the other `dim − k` at `bits_second`, both with the `dim`-dimensional coordinate
/// codebook of `codebook` kind (the coordinates are those of a unit vector in `dim` dimensions,
/// whichever group they fall in). Rate: `(k·bits_first + (dim−k)·bits_second)/dim + 32/dim`
/// bits per dimension (plus byte padding of each group).
///
/// # Errors
/// [`Error::InvalidParameter`] for `dim < 2`, `k ∉ 1..dim`, unsupported widths for the
/// codebook kind, or a Haar rotation without `alloc`.
pub fn turbo_mse_split(
    dim: usize,
    k: usize,
    bits_first: u32,
    bits_second: u32,
    seed: u64,
    rotation: RotationKind,
    codebook: CodebookKind,
) -> Result<TurboMseSplit> {
    if k == 0 || k >= dim {
        return Err(Error::InvalidParameter("TurboQuant split: need 0 < k < dim"));
    }
    let first = CodebookScalar::coordinate(k, dim, bits_first, codebook)?;
    let second = CodebookScalar::coordinate(dim - k, dim, bits_second, codebook)?;
    let rot = Rotation::new(rotation, dim, seed)?;
    Rotated::new(rot, Normalized::new(Split::new(first, second)?))
}

/// TurboQuant-MSE at `bits + ½` bits per coordinate: `⌈dim/2⌉` rotated coordinates at
/// `bits + 1` bits, `⌊dim/2⌋` at `bits` (`tq2.5` is `bits = 2`). For odd `dim` the rate is
/// slightly above `bits + ½`.
///
/// # Errors
/// As [`turbo_mse_split`]; [`Error::InvalidParameter`] if `bits == 0` or `bits + 1` is not
/// supported by the codebook kind (Gaussian: `bits ≤ 3`; Beta: `bits ≤ 7`).
pub fn turbo_mse_half(
    dim: usize,
    bits: u32,
    seed: u64,
    rotation: RotationKind,
    codebook: CodebookKind,
) -> Result<TurboMseSplit> {
    if bits == 0 || bits >= 8 {
        return Err(Error::InvalidParameter("TurboQuant b+½: need 1 ≤ b ≤ 7"));
    }
    if dim < 2 {
        return Err(Error::InvalidParameter("TurboQuant: dim must be at least 2"));
    }
    turbo_mse_split(dim, dim.div_ceil(2), bits + 1, bits, seed, rotation, codebook)
}

/// TurboQuant-prod at `bits + ½` bits per coordinate (`tqp3.5` is `bits = 3`): MSE at
/// `bits − ½` ([`turbo_mse_half`] with `bits − 1`, rotation seeded with `seed`) plus QJL with
/// `m = dim` (seeded with `seed + 1`). Rate: `bits + ½ + 64/dim` bits per dimension plus padding.
///
/// # Errors
/// As [`turbo_mse_half`]; [`Error::InvalidParameter`] if `bits < 2`.
pub fn turbo_prod_half(
    dim: usize,
    bits: u32,
    seed: u64,
    rotation: RotationKind,
    codebook: CodebookKind,
) -> Result<TurboProdSplit> {
    if bits < 2 {
        return Err(Error::InvalidParameter("TurboQuant-prod b+½ needs b ≥ 2"));
    }
    let mse = turbo_mse_half(dim, bits - 1, seed, rotation, codebook)?;
    Residual::new(mse, Qjl::new(dim, dim, seed.wrapping_add(1))?)
}

/// TurboQuant-MSE codes scored with the inner-product-corrected norm (see
/// [`IpNormalized`](crate::compose::IpNormalized)): rotation ∘ `IpNormalized<CodebookScalar>`.
pub type TurboMseIp = Rotated<Rotation, crate::compose::IpNormalized<CodebookScalar>>;

/// TurboQuant-MSE at `bits` bits per coordinate whose stored scalar is `‖x‖/⟨u, û⟩` instead of
/// `‖x‖` (`u` the rotated unit direction, `û` its quantized levels): the same code size and scan
/// cost as [`turbo_mse`](super::turbo_mse), a RaBitQ-style ratio estimator of `⟨q, x⟩`
/// ([`Estimator::Biased`]) that ranks better at low rates, and a
/// reconstruction whose norm is inflated by `1/⟨u, û⟩` (higher MSE). Config names `tq1-ip` …
/// `tq8-ip`.
///
/// # Errors
/// As [`turbo_mse`](super::turbo_mse).
pub fn turbo_mse_ip(
    dim: usize,
    bits: u32,
    seed: u64,
    rotation: RotationKind,
    codebook: CodebookKind,
) -> Result<TurboMseIp> {
    let inner = CodebookScalar::coordinate(dim, dim, bits, codebook)?;
    Rotated::new(Rotation::new(rotation, dim, seed)?, crate::compose::IpNormalized::new(inner))
}
