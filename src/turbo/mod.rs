//! TurboQuant (arXiv 2504.19874), written as compositions of the crate's parts.
//!
//! * [`TurboMse`] = [`Rotated`]`<`[`Rotation`]`, `[`NormScalar`]`>` (`NormScalar` =
//!   [`Normalized`]`<`[`CodebookScalar`]`>`): a random rotation, then every
//!   coordinate of the unit vector `Πx/‖x‖` is quantized to the nearest of `2^b` levels of a
//!   1-D [`Codebook`] for the coordinate distribution, plus `‖x‖` as `f32`.
//!   Bits per dimension: `b + 32/d`. Estimator: [`Estimator::Reconstruction`].
//! * [`TurboProd`] = [`Residual`]`<TurboMse at b−1 bits, `[`Qjl`]` with m = d>`: the residual
//!   `r = x − x̃_mse` is sketched by QJL together with `γ = ‖r‖`. Bits per dimension:
//!   `(b−1) + 32/d + 1 + 32/d`. Estimator: [`Estimator::Unbiased`].
//!
//! Codebooks ([`CodebookKind`]): `Gaussian` is the `N(0,1)` Lloyd–Max table scaled by `1/√d`
//! (b = 1..=4); `Beta` is the exact Lloyd–Max codebook of the coordinate density
//! `f_d(t) ∝ (1−t²)^{(d−3)/2}` on `[−1, 1]` (b = 1..=8; needs `alloc`).
//!
//! * Fractional rates `b + ½` (2.5, 3.5, …): [`split`] — half the rotated coordinates at `b + 1`
//!   bits and half at `b`, one norm ([`TurboMseSplit`], [`TurboProdSplit`]).
//!
//! * Trained on data (`alloc`): [`calibrated`] — the `tqN-ip` codes centred on the training mean,
//!   optionally with a per-coordinate shift/scale and a trained codebook; [`pca`] — transform
//!   coding: PCA rotation, a 4/3/2/1-bit allocation over the principal coordinates and the
//!   ratio-corrected norm, at the bytes per vector of `tqN-ip`.
//!
//! Every codec of the module, trained ones included, saves and loads through
//! [`Persist`](crate::persist::Persist): [`Rotation`] stores its kind, dimension and seed (and
//! is re-derived), the scalar codecs their dimension, codebook (kind, bits and sphere dimension
//! when derived by [`coordinate_codebook`], else the levels) and scan mode; the compositions
//! persist as their parts. Configuration names (`tq4`, `tqp3.5`, `ctq2-ip`, …) are parsed by
//! [`crate::factory`] only.
//!
//! Scoring a code against a float query is a table lookup per coordinate
//! ([`crate::simd::dot_lut_f32`]: the codebook lives in registers, `vpermps` on AVX2) — exact on
//! the reconstruction, bit-identical on every backend. [`ScanMode::I8`] trades that exactness for a
//! quantized-query `vpshufb` scan about 4× faster.
//!
//! Encoding speed (x86-64 with AVX2, `b ≤ 4`): [`Codec::encode_batch`] rotates blocks of rows
//! (the first Hadamard pass reads the input directly), then per row the norm ([`norm_f64`]:
//! 8 `f64` lanes) and the codebook search of `Πx_i · (1/‖x‖)` folded into one pass
//! ([`Codec::encode_scaled_into`]: a branch-free binary search over permute tables, 32
//! coordinates at a time, SIMD bit packing). Codes are bit-identical to the plain definition
//! (sequential passes, `Codebook::index`, `bits::pack`; tested on awkward dimensions and real
//! data).

#[cfg(feature = "alloc")]
pub mod calibrated;
#[cfg(feature = "alloc")]
pub mod pca;
pub mod split;

use crate::compose::{Normalized, Residual, Rotated};
use crate::error::{Error, Result};
use crate::qjl::Qjl;
use crate::qjl::ortho::OrthoQjl;
use crate::scalar::lloyd::Codebook;
#[cfg(doc)]
use crate::{
    codec::{Codec, Estimator, ScanMode},
    compose::norm_f64,
    scalar::codebook::coordinate_codebook,
};

// The building blocks TurboQuant is written with, re-exported so that its type aliases and
// constructors read in one place: the rotation and its kind, the codebook kind, and the two
// scalar codecs of the aliases. They live with their kind (`transform`, `scalar`).
pub use crate::scalar::codebook::{CodebookKind, CodebookScalar};
pub use crate::transform::rotation::{Rotation, RotationKind};
pub use split::{
    TurboMseH16, TurboMseIp, TurboMseSplit, TurboProdSplit, turbo_mse_h16, turbo_mse_half, turbo_mse_ip,
    turbo_mse_split, turbo_prod_half,
};

/// TurboQuant-MSE's inner codec: one coordinate codebook on every coordinate of the direction
/// `y/‖y‖`, plus `‖y‖` as `f32` — norm factoring ([`Normalized`]) over the plain codebook codec
/// ([`CodebookScalar`]), nothing more.
///
/// Code: `b`-bit indices of `y_i/‖y‖` (packed LSB-first, `⌈b·d/8⌉` bytes) ‖ `‖y‖` (4 bytes);
/// bits per dimension `b + 32/d`. Decode: `‖y‖ · c[idx_i]`. Score: `⟨q, ŷ⟩` exactly
/// ([`Estimator::Reconstruction`]; [`Estimator::Biased`] with [`ScanMode::I8`]). Saved as its
/// [`CodebookScalar`].
pub type NormScalar = Normalized<CodebookScalar>;

/// [`NormScalar`] for `dim`-vectors with `codebook`.
///
/// # Errors
/// [`Error::InvalidParameter`] if `dim ∉ 1..=`[`MAX_DIM`](crate::persist::MAX_DIM).
pub fn norm_scalar(dim: usize, codebook: Codebook) -> Result<NormScalar> {
    Ok(Normalized::new(CodebookScalar::new(dim, codebook)?))
}

/// [`NormScalar`] with [`coordinate_codebook`]`(dim, bits, kind)`, saved as its kind, bits and
/// dimension (re-derived on load): TurboQuant-MSE's inner codec.
///
/// # Errors
/// As [`coordinate_codebook`].
pub fn norm_scalar_coordinate(dim: usize, bits: u32, kind: CodebookKind) -> Result<NormScalar> {
    Ok(Normalized::new(CodebookScalar::coordinate(dim, dim, bits, kind)?))
}

/// TurboQuant-MSE: rotation ∘ per-coordinate Lloyd–Max codec + norm.
pub type TurboMse = Rotated<Rotation, NormScalar>;

/// TurboQuant-prod: TurboQuant-MSE at `b − 1` bits plus QJL (`m = d`) on the residual.
pub type TurboProd = Residual<TurboMse, Qjl>;

/// Builds TurboQuant-MSE for `dim`-vectors at `bits` bits per coordinate.
///
/// # Errors
/// [`Error::InvalidParameter`] for `dim < 2`, unsupported `bits` for the codebook kind, or a
/// Haar rotation without `alloc`.
pub fn turbo_mse(dim: usize, bits: u32, seed: u64, rotation: RotationKind, codebook: CodebookKind) -> Result<TurboMse> {
    let inner = norm_scalar_coordinate(dim, bits, codebook)?;
    Rotated::new(Rotation::new(rotation, dim, seed)?, inner)
}

/// Builds TurboQuant-prod at `bits` total bits per coordinate (`bits ≥ 2`): MSE at `bits − 1`
/// (rotation seeded with `seed`) and QJL with `m = dim` (seeded with `seed + 1`).
///
/// # Errors
/// As [`turbo_mse`], and [`Error::InvalidParameter`] if `bits < 2`.
pub fn turbo_prod(
    dim: usize,
    bits: u32,
    seed: u64,
    rotation: RotationKind,
    codebook: CodebookKind,
) -> Result<TurboProd> {
    if bits < 2 {
        return Err(Error::InvalidParameter("TurboQuant-prod needs at least 2 bits"));
    }
    let mse = turbo_mse(dim, bits - 1, seed, rotation, codebook)?;
    Residual::new(mse, Qjl::new(dim, dim, seed.wrapping_add(1))?)
}

/// TurboQuant-prod with the orthogonal QJL residual stage ([`crate::qjl::ortho::OrthoQjl`]):
/// same code layout and size as [`TurboProd`].
pub type TurboProdOrtho = Residual<TurboMse, OrthoQjl>;

/// Builds TurboQuant-prod at `bits` bits per coordinate with the orthogonal QJL residual stage:
/// MSE at `bits − 1` (rotation of kind `rotation`, seeded with `seed`) and the sign sketch of
/// the residual through an independent rotation of kind `qjl_rotation` (seeded with `seed + 1`).
/// Bits per dimension `(b−1) + 32/d + 1 + 32/d`, as [`turbo_prod`]. With `qjl_rotation` Haar
/// the estimator is exactly unbiased, with a lower variance than [`turbo_prod`]'s Gaussian QJL;
/// with Hadamard it is `O(d log d)` to encode but biased on spiky residuals.
///
/// # Errors
/// As [`turbo_prod`].
pub fn turbo_prod_ortho(
    dim: usize,
    bits: u32,
    seed: u64,
    rotation: RotationKind,
    codebook: CodebookKind,
    qjl_rotation: RotationKind,
) -> Result<TurboProdOrtho> {
    if bits < 2 {
        return Err(Error::InvalidParameter("TurboQuant-prod needs at least 2 bits"));
    }
    let mse = turbo_mse(dim, bits - 1, seed, rotation, codebook)?;
    Residual::new(mse, OrthoQjl::new(dim, qjl_rotation, seed.wrapping_add(1))?)
}
