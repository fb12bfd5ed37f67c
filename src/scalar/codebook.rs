//! Codebooks for the coordinates of a rotated unit vector, and the scalar codec that applies one
//! codebook to every coordinate.
//!
//! * [`coordinate_codebook`] ([`CodebookKind`]): `Gaussian` is the `N(0,1)` Lloyd–Max table
//!   scaled by `1/√d` (b = 1..=4); `Beta` is the exact Lloyd–Max codebook of the coordinate
//!   density `f_d(t) ∝ (1−t²)^{(d−3)/2}` on `[−1, 1]` (b = 1..=8; needs `alloc`).
//! * [`CodebookScalar`]: a fixed 1-D [`Codebook`] applied to every coordinate, no scale; code =
//!   packed indices. TurboQuant's [`NormScalar`](crate::turbo::NormScalar) is
//!   [`Normalized`](crate::compose::Normalized)`<CodebookScalar>`: it adds the norm.
//! * [`cells_pack`]: the branch-free codebook cell search with bit packing both codecs encode with.
//! * [`scan`]: how codes of these codecs are scored ([`ScanMode::Float`], [`ScanMode::I8`]).
//!
//! The codebook block of the saved form is shared by both codecs (see `FORMAT.md`).

pub mod scan;

use crate::codec::{Codec, Decode, Estimator, ScanMode, ScanModes, Score};
use crate::error::{Error, Result, check_code, check_dim};
use crate::scalar::lloyd::Codebook;
use scan::{I8Levels, I8Query, i8_scratch_words};

/// Which 1-D codebook the coordinates use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodebookKind {
    /// Gaussian Lloyd–Max table / √d (b = 1..=4).
    Gaussian,
    /// Exact Lloyd–Max codebook of the Beta-type coordinate density `f_d` (b = 1..=8, `alloc`).
    Beta,
}

/// The codebook for the coordinates of a uniformly random unit vector in `dim` dimensions.
///
/// # Errors
/// [`Error::InvalidParameter`] for unsupported `bits` (Gaussian: 1..=4; Beta: 1..=8) or
/// `dim < 2`, or Beta without `alloc`.
pub fn coordinate_codebook(dim: usize, bits: u32, kind: CodebookKind) -> Result<Codebook> {
    if dim < 2 {
        return Err(Error::InvalidParameter("TurboQuant: dim must be at least 2"));
    }
    match kind {
        CodebookKind::Gaussian => {
            let g = Codebook::gaussian(bits)?;
            let s = 1.0 / libm::sqrtf(dim as f32);
            let mut lv = [0.0f32; 16];
            for (o, &l) in lv.iter_mut().zip(g.levels()) {
                *o = l * s;
            }
            Codebook::new(&lv[..g.len()])
        }
        CodebookKind::Beta => {
            if !(1..=8).contains(&bits) {
                return Err(Error::InvalidParameter("TurboQuant: Beta codebooks for 1..=8 bits"));
            }
            #[cfg(feature = "alloc")]
            {
                let e = (dim as f64 - 3.0) / 2.0;
                // Grid and interval: the density is negligible beyond ±12/√d for d ≥ 16.
                let half = if dim >= 16 { (12.0 / libm::sqrt(dim as f64)).min(1.0) } else { 1.0 };
                let pdf = move |t: f64| {
                    let u = 1.0 - t * t;
                    if u <= 0.0 { 0.0 } else { libm::exp(e * libm::log(u)) }
                };
                Codebook::lloyd_max_density(pdf, -half, half, 1usize << bits, 200_000, 1000)
            }
            #[cfg(not(feature = "alloc"))]
            {
                Err(Error::InvalidParameter("TurboQuant: Beta codebooks need the alloc feature"))
            }
        }
    }
}

/// The saved form of a coordinate codebook: `u8` tag, then for a derived codebook
/// (tag 1 Gaussian, 2 Beta) `u8` bits and `u32` sphere dimension, re-derived on restore; for
/// stored levels (tag 0) `u16` count and the levels as `f32`.
#[cfg(feature = "alloc")]
pub(crate) fn write_codebook(w: &mut crate::format::Writer, cb: &Codebook, origin: Option<(CodebookKind, usize)>) {
    match origin {
        Some((kind, dim)) => {
            w.u8(if kind == CodebookKind::Gaussian { 1 } else { 2 }).u8(cb.bits() as u8).u32(dim as u32);
        }
        None => {
            w.u8(0).u16(cb.len() as u16).f32s(cb.levels());
        }
    }
}

/// Reads a codebook written by [`write_codebook`].
pub(crate) fn read_codebook(r: &mut crate::format::Reader<'_>) -> Result<(Codebook, Option<(CodebookKind, usize)>)> {
    let kind = match r.u8()? {
        0 => {
            let n = usize::from(r.u16()?);
            if !(2..=256).contains(&n) {
                return Err(Error::Corrupt("TurboQuant: codebook size outside 2..=256"));
            }
            let mut lv = [0.0f32; 256];
            r.f32_into(n, &mut lv)?;
            let cb = Codebook::new(&lv[..n]).map_err(|_| Error::Corrupt("TurboQuant: invalid codebook levels"))?;
            return Ok((cb, None));
        }
        1 => CodebookKind::Gaussian,
        2 => CodebookKind::Beta,
        _ => return Err(Error::Corrupt("TurboQuant: unknown codebook tag")),
    };
    let bits = u32::from(r.u8()?);
    let dim = crate::persist::read_dim(r, crate::persist::MAX_DIM, "TurboQuant: codebook dimension too large")?;
    let cb = coordinate_codebook(dim, bits, kind).map_err(|_| Error::Corrupt("TurboQuant: invalid codebook"))?;
    Ok((cb, Some((kind, dim))))
}

/// Codebook cells of `y_i · inv` packed at `bits ≤ 4` bits each, LSB-first, into `out`
/// (`⌈bits·len/8⌉` bytes, all of them written): cell = number of `thresholds` `t ≤ y_i · inv`
/// (`thresholds.len() < 2^bits`, increasing), which is [`Codebook::index`] for finite inputs
/// and also for NaN (cell 0) and ±inf. On x86-64 with AVX2 a binary search over 32 coordinates
/// at a time (all of `y`); else `f32x8` compares on the full groups of 8 and the `< 8` trailing
/// coordinates one by one. Other `bits` or short buffers leave `out` partly unwritten (callers
/// check lengths).
pub fn cells_pack(y: &[f32], inv: f32, thresholds: &[f32], bits: u32, out: &mut [u8]) {
    let b = bits as usize;
    if !(1..=4).contains(&b) || thresholds.len() >= (1 << b) {
        return;
    }
    if !y.is_empty() && crate::simd::cells_pack(y, inv, thresholds, bits, out) == y.len() {
        return;
    }
    let full = match b {
        1 => cells_pack_portable::<1>(y, inv, thresholds, out),
        2 => cells_pack_portable::<2>(y, inv, thresholds, out),
        3 => cells_pack_portable::<3>(y, inv, thresholds, out),
        _ => cells_pack_portable::<4>(y, inv, thresholds, out),
    };
    let Some(rest) = out.get_mut(full / 8 * b..) else { return };
    rest.fill(0);
    for (j, &v) in y[full.min(y.len())..].iter().enumerate() {
        let mut c = 0u32;
        for &t in thresholds {
            c += u32::from(t <= v * inv);
        }
        let bit = j * b;
        let word = c << (bit % 8);
        for k in 0..2 {
            if let Some(o) = rest.get_mut(bit / 8 + k) {
                *o |= (word >> (8 * k)) as u8;
            }
        }
    }
}

/// The `f32x8` kernel of [`cells_pack`] on the full groups of 8; returns the coordinates done.
pub(super) fn cells_pack_portable<const B: usize>(y: &[f32], inv: f32, thresholds: &[f32], out: &mut [u8]) -> usize {
    use wide::{CmpGe, f32x8, i32x8};
    let mut th = [f32x8::ZERO; 15];
    let nt = thresholds.len().min(15);
    for (t, &v) in th.iter_mut().zip(thresholds) {
        *t = f32x8::splat(v);
    }
    let iv = f32x8::splat(inv);
    let mut done = 0;
    for (c, o) in y.chunks_exact(8).zip(out.chunks_exact_mut(B)) {
        let mut a = [0.0f32; 8];
        a.copy_from_slice(c);
        let v = f32x8::from(a) * iv;
        let mut cnt = i32x8::ZERO;
        for t in &th[..nt] {
            cnt -= bytemuck::cast::<f32x8, i32x8>(v.cmp_ge(*t));
        }
        let mut word = 0u32;
        for (k, &ck) in cnt.to_array().iter().enumerate() {
            word |= (ck as u32) << (B * k);
        }
        o.copy_from_slice(&word.to_le_bytes()[..B]);
        done += 8;
    }
    done
}

/// A fixed scalar codebook on every coordinate, with no scale: code = the `b = codebook.bits()`
/// bit index of each coordinate's nearest level, packed LSB-first (`⌈d·b/8⌉` bytes).
///
/// Bits per dimension: `b` (plus padding to a whole byte). Decode: `c[idx_i]` (an index beyond
/// the last level, only possible in a corrupt code, reads the last level). Score: `Σ q_i c[idx_i]`,
/// exact on the reconstruction ([`Estimator::Reconstruction`]). The input must already be on the
/// codebook's scale; wrap it in [`Normalized`](crate::compose::Normalized) (and a rotation) for TurboQuant.
#[derive(Clone, Debug, PartialEq)]
pub struct CodebookScalar {
    pub(super) dim: usize,
    pub(super) codebook: Codebook,
    pub(super) bits: u32,
    pub(super) i8: Option<I8Levels>,
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
        self.encode_scaled_into(y, 1.0, code)
    }

    /// The cells of `s · y_i` (the product rounded to `f32`, as the default would), with the
    /// factor folded into the cell search: no temporary vector.
    ///
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf input.
    /// On x86-64 with AVX2 and `b ≤ 4`: the cell search of row `r − 1` interleaved with the sum of
    /// squares of row `r` (which otherwise waits on its dependency chain), the search tables
    /// built once per call. Same codes as row by row (tested).
    fn encode_normalized_rows(
        &self,
        xs: &[f32],
        codes: &mut [u8],
        stride: usize,
        norm: &mut dyn FnMut(f64, &mut [u8]) -> Result<f32>,
    ) -> Option<Result<()>> {
        crate::simd::norm_cells_rows(xs, self.dim, self.codebook.thresholds(), self.bits, codes, stride, norm)
    }

    fn encode_scaled_into(&self, y: &[f32], s: f32, code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, y.len())?;
        check_code(self.code_len(), code.len())?;
        crate::error::check_finite(y)?;
        if self.bits <= 4 {
            // Branch-free threshold counting, 8 coordinates at a time (SIMD where available).
            cells_pack(y, s, self.codebook.thresholds(), self.bits, code);
            return Ok(());
        }
        let b = self.bits as usize;
        let mut groups = y.chunks_exact(8);
        let mut out = code.chunks_exact_mut(b);
        for (ys, bytes) in (&mut groups).zip(&mut out) {
            let mut w = 0u64;
            for (j, &v) in ys.iter().enumerate() {
                w |= u64::from(self.codebook.index(v * s)) << (b * j);
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
            let word = u32::from(self.codebook.index(v * s)) << (bit % 8);
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
        crate::codec::check_query(self.dim, q, self.query_scratch_len(), scratch.len())?;
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
    /// The float query's code as one segment (not with [`ScanMode::I8`]).
    fn lut_segments<'q>(&self, q: &'q Self::Query<'_>, at: usize, segs: &mut crate::simd::LutSegs<'q>) -> bool {
        q.i8.is_none()
            && q.q.len() == self.dim
            && segs.push(crate::simd::LutSeg { at, len: self.code_len(), bits: self.bits, table: q.table, q: q.q })
    }
    /// The float scan over all codes in one call ([`crate::simd::dot_lut_f32_rows`]: the same
    /// bits as [`score`](Score::score) per code); [`ScanMode::I8`] code by code.
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.score_batch_strided(q, codes, self.code_len(), 0, out)
    }
    /// In place: the codes are read where they are inside the wider codes.
    fn score_batch_strided(
        &self,
        q: &Self::Query<'_>,
        codes: &[u8],
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) -> Result<()> {
        let c = crate::codec::check_strided(self.code_len(), codes.len(), stride, at, out.len())?;
        if out.is_empty() {
            return Ok(());
        }
        if let Some(i8) = &q.i8 {
            for (r, o) in out.iter_mut().enumerate() {
                *o = i8.score(&codes[r * stride + at..r * stride + at + c]);
            }
            return Ok(());
        }
        check_dim(self.dim, q.q.len())?;
        crate::simd::dot_lut_f32_rows(&codes[at..], stride, c, self.bits, q.table, q.q, out);
        Ok(())
    }
}

/// [`ScanMode::Float`] (exact) and [`ScanMode::I8`] (quantized query, 1-, 2- and 4-bit
/// codebooks only; see [`scan`]). Codes are the same in every mode.
impl ScanModes for CodebookScalar {
    fn scan_mode(&self) -> ScanMode {
        I8Levels::scan_of(&self.i8)
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Ok(CodebookScalar { i8: I8Levels::for_scan(mode, &self.codebook)?, ..self })
    }
}

/// Saved (also as the block of [`NormScalar`](crate::turbo::NormScalar)): `u32` dimension, the codebook (derived: kind,
/// bits, sphere dimension; else the levels), `u8` scan mode.
impl crate::persist::Persist for CodebookScalar {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32);
        write_codebook(w, &self.codebook, self.origin);
        w.u8(scan::scan_tag(self.scan_mode()));
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, crate::persist::MAX_DIM, "TurboQuant: dimension too large")?;
        let (codebook, origin) = read_codebook(r)?;
        let mode = scan::scan_from_tag(r.u8()?)?;
        let c = CodebookScalar::new(dim, codebook).map_err(|_| Error::Corrupt("TurboQuant: invalid dimension"))?;
        CodebookScalar { origin, ..c }.with_scan(mode).map_err(|_| Error::Corrupt("TurboQuant: scan mode unsupported"))
    }
}

#[cfg(test)]
mod tests;
