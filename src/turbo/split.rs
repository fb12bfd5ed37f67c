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
//! * [`CodebookScalar`]: a fixed 1-D [`Codebook`] applied to every coordinate, no scale; code =
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
//! With equal widths, `Normalized<CodebookScalar>` stores exactly the bytes of
//! [`NormScalar`](super::NormScalar); the integer-rate [`TurboMse`](super::TurboMse) keeps its
//! own monolithic inner codec for its 4-bit fast path.

use super::scan::{I8Levels, I8Query, i8_scratch_words};
use crate::codec::{Codec, Decode, Estimator, ScanMode, ScanModes, Score, check_scratch};
use crate::compose::{Normalized, Residual, Rotated, Split};
use crate::error::{Error, Result, check_code, check_dim};
use crate::qjl::Qjl;
use crate::scalar::lloyd::Codebook;

use super::{CodebookKind, Rotation, RotationKind, coordinate_codebook};

/// A fixed scalar codebook on every coordinate, with no scale: code = the `b = codebook.bits()`
/// bit index of each coordinate's nearest level, packed LSB-first (`⌈d·b/8⌉` bytes).
///
/// Bits per dimension: `b` (plus padding to a whole byte). Decode: `c[idx_i]` (an index beyond
/// the last level, only possible in a corrupt code, reads the last level). Score: `Σ q_i c[idx_i]`,
/// exact on the reconstruction ([`Estimator::Reconstruction`]). The input must already be on the
/// codebook's scale; wrap it in [`Normalized`] (and a rotation) for TurboQuant.
#[derive(Clone, Debug, PartialEq)]
pub struct CodebookScalar {
    dim: usize,
    codebook: Codebook,
    bits: u32,
    i8: Option<I8Levels>,
    /// The codebook's derivation, if [`coordinate_codebook`] made it (saved instead of levels).
    origin: Option<(CodebookKind, usize)>,
}

/// A prepared [`CodebookScalar`] query: the query and the level table padded to `2^b` entries.
#[derive(Clone, Copy, Debug)]
pub struct CodebookScalarQuery<'s> {
    q: &'s [f32],
    table: &'s [f32],
    i8: Option<I8Query<'s>>,
}

impl CodebookScalar {
    /// A codec for `dim` coordinates quantized with `codebook` (`codebook.bits()` ≤ 8 bits each).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=`[`MAX_DIM`](crate::persist::MAX_DIM).
    pub fn new(dim: usize, codebook: Codebook) -> Result<Self> {
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(Error::InvalidParameter("CodebookScalar: dim must be in 1..=65536"));
        }
        let bits = codebook.bits();
        Ok(CodebookScalar { dim, codebook, bits, i8: None, origin: None })
    }

    /// `dim` coordinates of a unit vector in `sphere_dim` dimensions quantized with
    /// [`coordinate_codebook`]`(sphere_dim, bits, kind)`; saved as the codebook's kind, bits and
    /// sphere dimension (re-derived on load).
    ///
    /// # Errors
    /// As [`coordinate_codebook`] and [`new`](CodebookScalar::new).
    pub fn coordinate(dim: usize, sphere_dim: usize, bits: u32, kind: CodebookKind) -> Result<Self> {
        let cb = coordinate_codebook(sphere_dim, bits, kind)?;
        Ok(CodebookScalar { origin: Some((kind, sphere_dim)), ..CodebookScalar::new(dim, cb)? })
    }

    /// The codebook.
    pub fn codebook(&self) -> &Codebook {
        &self.codebook
    }

    /// Bits per index.
    pub fn bits(&self) -> u32 {
        self.bits
    }
}

impl Codec for CodebookScalar {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        (self.dim * self.bits as usize).div_ceil(8)
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf input.
    fn encode_into(&self, y: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, y.len())?;
        check_code(self.code_len(), code.len())?;
        crate::error::check_finite(y)?;
        if self.bits <= 4 {
            // Branch-free threshold counting, 8 coordinates at a time (SIMD where available).
            super::cells_pack(y, 1.0, self.codebook.thresholds(), self.bits, code);
            return Ok(());
        }
        let b = self.bits as usize;
        let mut groups = y.chunks_exact(8);
        let mut out = code.chunks_exact_mut(b);
        for (ys, bytes) in (&mut groups).zip(&mut out) {
            let mut w = 0u64;
            for (j, &v) in ys.iter().enumerate() {
                w |= u64::from(self.codebook.index(v)) << (b * j);
            }
            for (k, o) in bytes.iter_mut().enumerate() {
                *o = (w >> (8 * k)) as u8;
            }
        }
        let base = self.dim - groups.remainder().len();
        let tail = &mut code[base / 8 * b..];
        tail.fill(0);
        for (j, &v) in groups.remainder().iter().enumerate() {
            let bit = j * b;
            let word = u32::from(self.codebook.index(v)) << (bit % 8);
            for k in 0..2 {
                if let Some(c) = tail.get_mut(bit / 8 + k) {
                    *c |= (word >> (8 * k)) as u8;
                }
            }
        }
        Ok(())
    }
}

impl Decode for CodebookScalar {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim, out.len())?;
        crate::simd::lut_expand_f32(code, self.bits, self.codebook.levels(), 1.0, out);
        Ok(())
    }
}

impl Score for CodebookScalar {
    type Query<'s> = CodebookScalarQuery<'s>;

    /// [`ScanMode::Float`]: `dim + 2^b` words (a copy of the query and the padded level table);
    /// [`ScanMode::I8`]: the blocked `i8` query.
    fn query_scratch_len(&self) -> usize {
        match self.i8 {
            None => self.dim + (1usize << self.bits),
            Some(_) => i8_scratch_words(self.code_len(), self.bits),
        }
    }
    /// [`Estimator::Reconstruction`]; [`Estimator::Biased`] with [`ScanMode::I8`].
    fn estimator(&self) -> Estimator {
        if self.i8.is_some() { Estimator::Biased } else { Estimator::Reconstruction }
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim, q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        crate::error::check_finite(q)?;
        if let Some(lv) = self.i8 {
            let i8 = I8Query::prepare(q, lv, self.bits, self.code_len(), scratch)?;
            return Ok(CodebookScalarQuery { q: &[], table: &[], i8: Some(i8) });
        }
        let (qs, rest) = scratch.split_at_mut(self.dim);
        qs.copy_from_slice(q);
        let table = &mut rest[..1usize << self.bits];
        let lv = self.codebook.levels();
        for (i, t) in table.iter_mut().enumerate() {
            *t = lv[i.min(lv.len() - 1)];
        }
        Ok(CodebookScalarQuery { q: qs, table, i8: None })
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        if let Some(i8) = &q.i8 {
            return Ok(i8.score(code));
        }
        check_dim(self.dim, q.q.len())?;
        Ok(crate::simd::dot_lut_f32(code, self.bits, q.table, q.q))
    }
}

/// [`ScanMode::Float`] (exact) and [`ScanMode::I8`] (quantized query, 1-, 2- and 4-bit
/// codebooks only; see [`super::scan`]). Codes are the same in every mode.
impl ScanModes for CodebookScalar {
    fn scan_mode(&self) -> ScanMode {
        I8Levels::scan_of(&self.i8)
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Ok(CodebookScalar { i8: I8Levels::for_scan(mode, &self.codebook)?, ..self })
    }
}

/// Saved as [`NormScalar`](super::NormScalar) is: `u32` dimension, the codebook (derived: kind,
/// bits, sphere dimension; else the levels), `u8` scan mode.
impl crate::persist::Persist for CodebookScalar {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32);
        super::write_codebook(w, &self.codebook, self.origin);
        w.u8(super::scan::scan_tag(self.scan_mode()));
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, crate::persist::MAX_DIM, "TurboQuant: dimension too large")?;
        let (codebook, origin) = super::read_codebook(r)?;
        let mode = super::scan::scan_from_tag(r.u8()?)?;
        let c = CodebookScalar::new(dim, codebook).map_err(|_| Error::Corrupt("TurboQuant: invalid dimension"))?;
        CodebookScalar { origin, ..c }.with_scan(mode).map_err(|_| Error::Corrupt("TurboQuant: scan mode unsupported"))
    }
}

/// TurboQuant-MSE with two codebook widths: rotation, norm, then the first `k` rotated
/// coordinates at one width and the rest at another (see the module docs).
pub type TurboMseSplit = Rotated<Rotation, Normalized<Split<CodebookScalar, CodebookScalar>>>;

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
