//! Uniform integer scalar quantization, `b ∈ 1..=8` bits per coordinate (SPECS §1).
//!
//! Every coordinate `x` of a group (a block, a whole vector, or one dimension across the data
//! set) is mapped to a level `q ∈ 0..=qmax` on a uniform grid `x̂ = base + q·Δ`:
//!
//! * **asymmetric** (min/max): `base = lo`, `Δ = (hi − lo)/(2^b − 1)`, `qmax = 2^b − 1`;
//! * **symmetric** (absmax, signed levels): for `b ≥ 2`, `m = 2^(b−1) − 1`, `Δ = amax/m`,
//!   signed levels `−m..=m` stored as `q = s + m` (so `qmax = 2m`, `base = −m·Δ = −amax`); for
//!   `b = 1` the two levels are `±amax/2`… precisely `base = −amax`, `Δ = 2·amax`, `qmax = 1`.
//!
//! Encoding rounds to nearest (`q = clamp(⌊(x − base)/Δ + ½⌋, 0, qmax)`), so every coordinate
//! inside the group's range is reconstructed within `Δ/2`. A constant group (`Δ = 0`) codes as
//! all zero levels and decodes exactly to the constant. Levels are packed LSB-first with
//! [`crate::bits`].
//!
//! # Granularities
//!
//! * [`BlockUniform`] — scale (and offset) *in the code*: per vector (one group = the whole
//!   vector) or per block of 16, 32, 64 or 128 coordinates; a tail block shorter than the block
//!   size gets its own scale. Code layout: all block scales first (asymmetric: `lo` then `Δ`,
//!   symmetric: `Δ`; each an `f32` or f16 little-endian, see [`ScaleFormat`]), then the packed
//!   levels of the whole vector. With f16 scales a constant block decodes exactly only when its
//!   value is an f16 value.
//!   `bits_per_dim` counts the scales: e.g. 4-bit, block 32, asymmetric f32 scales →
//!   `4 + 64/32 = 6` bits per dimension.
//! * [`PerDimUniform`] — one `(base, Δ)` per dimension, trained on data under `alloc`
//!   ([`PerDimUniform::train`], ranges [`RangeEstimator`]: min/max, mean ± k·std, quantile
//!   clipping) and shared by all codes; the code is only the packed levels (`b` bits/dim).
//!   Coordinates outside the trained range are clamped to it.
//!
//! # Non-finite input
//!
//! NaN or ±∞ in a vector to encode, a query, or training data returns [`Error::NonFinite`]; so
//! does a finite group whose range overflows `f32` (`hi − lo = ∞`).
//!
//! # Scoring
//!
//! * Float query ([`Score`], [`Estimator::Reconstruction`]): `prepare` folds the scales into
//!   the query, so a score is `const + Σ w_j·q_j` — exactly `⟨q, x̂⟩` up to float rounding.
//! * Integer query ([`ScanMode::I8`] / [`ScanMode::I16`] through [`ScanModes::with_scan`],
//!   [`Estimator::Biased`], 8- and 4-bit [`PerDimUniform`] only): the folded query `w` is
//!   quantized to `i8` (or `i16`) with one scale `s = max|w|/127` (`/32767`), and the score is
//!   `const + s·Σ ŵ_j·q_j` from an exact integer dot ([`crate::simd::dot_u8_i8`] /
//!   [`crate::simd::dot_u8_i16`]). Its only error against `⟨q, x̂⟩` is the query rounding:
//!   `|score − ⟨q, x̂⟩| ≤ (s/2)·Σ_j q_j ≤ (s/2)·qmax·d`. The codes are the same in every mode.
//! * Code × code ([`ScoreSymmetric`]): `⟨x̂, ŷ⟩` of two reconstructions.
//!
//! # Saved parameters
//!
//! Both codecs implement [`Persist`]: [`BlockUniform`] stores `u32 dim, u8 bits, u32 block,
//! u8 symmetric, u8 scale format` (0 = f32, 1 = f16); [`PerDim`] stores `u32 dim, u8 bits,
//! u8 symmetric, f32 base[dim], f32 step[dim], u8 scan mode` (0 = float, 1 = i8, 2 = i16), the
//! payload of its own container as well ([`PerDimUniform::to_bytes`]). The configuration names
//! (`sq8`, `SQ8`, `sq4-b32`, `sq8-i8`, …) are parsed by [`crate::factory`] only.
//!
//! ```
//! use vector_codecs::{Codec, Decode};
//! use vector_codecs::scalar::uniform::BlockUniform;
//! let codec = BlockUniform::new(4, 8, None, false).unwrap();
//! let mut code = [0u8; 12];
//! codec.encode_into(&[0.0, 1.0, 2.0, 2.55], &mut code).unwrap();
//! let mut out = [0f32; 4];
//! codec.decode_into(&code, &mut out).unwrap();
//! assert!((out[1] - 1.0).abs() <= 2.55 / 255.0 / 2.0 + 1e-6);
//! ```

use crate::bits;
use crate::codec::{Codec, Decode, Estimator, ScanMode, ScanModes, Score, ScoreSymmetric, Symbols, check_scratch};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::persist::Persist;

/// Levels unpacked at a time (a multiple of 8, so every chunk starts on a byte boundary).
const CHUNK: usize = 128;

/// Allowed block sizes of [`BlockUniform`].
pub const BLOCK_SIZES: [usize; 4] = [16, 32, 64, 128];

fn check_bits(bits: u32) -> Result<()> {
    if (1..=8).contains(&bits) { Ok(()) } else { Err(Error::InvalidParameter("bits must be in 1..=8")) }
}

/// Largest level for `bits` and symmetry.
#[inline]
fn qmax(bits: u32, symmetric: bool) -> u32 {
    if symmetric && bits >= 2 { 2 * ((1 << (bits - 1)) - 1) } else { (1 << bits) - 1 }
}

/// `(base, Δ)` of a grid for the range `lo..=hi` (asymmetric) or `±amax` (symmetric).
///
/// # Errors
/// [`Error::NonFinite`] when the range overflows `f32`.
fn grid(lo: f32, hi: f32, bits: u32, symmetric: bool) -> Result<(f32, f32)> {
    let qm = qmax(bits, symmetric) as f32;
    let (base, step) = if symmetric {
        let amax = lo.abs().max(hi.abs());
        if bits == 1 { (-amax, 2.0 * amax) } else { (-amax, amax / (qm / 2.0)) }
    } else {
        (lo, (hi - lo) / qm)
    };
    if base.is_finite() && step.is_finite() { Ok((base, step)) } else { Err(Error::NonFinite) }
}

/// Base of a symmetric grid from its step.
#[inline]
fn sym_base(step: f32, bits: u32) -> f32 {
    if bits == 1 { -0.5 * step } else { -step * ((1u32 << (bits - 1)) - 1) as f32 }
}

/// Quantizes `x` onto the grid: `clamp(⌊(x − base)·inv + ½⌋, 0, qmax)`; `inv = 0` for a constant
/// group gives level 0.
#[inline(always)]
fn level(x: f32, base: f32, inv: f32, qm: f32) -> u8 {
    let v = ((x - base) * inv).clamp(0.0, qm);
    (v + 0.5) as u8
}

/// Quantizes `x[j]` onto per-coordinate grids `(base[j], step[j])` into `out[j]`
/// ([`crate::simd::quantize_u8`]): `clamp((x − base)/step, 0, qmax)` rounded half up; level 0
/// where `step == 0`. Same result as [`level`] with an exact division.
///
/// # Errors
/// [`Error::NonFinite`] if some `x[j]` is NaN or infinite (`out` then holds unspecified levels).
#[inline]
fn encode_levels(x: &[f32], base: &[f32], step: &[f32], qm: f32, out: &mut [u8]) -> Result<()> {
    if crate::simd::quantize_u8(x, base, step, qm, out) { Ok(()) } else { Err(Error::NonFinite) }
}

/// Whether every level `0..=top` decodes finite on the grid `(base, step)`: `base + l·step`
/// lies between `base` and `base + top·step`, so checking those suffices.
#[inline]
fn grid_finite(base: f32, step: f32, top: f32) -> bool {
    let span = top * step;
    // `&`, not `&&`: branch-free, so that loops over many grids vectorize.
    (step >= 0.0) & base.is_finite() & span.is_finite() & (base + span).is_finite()
}

#[inline]
fn inv_step(step: f32) -> f32 {
    if step > 0.0 { 1.0 / step } else { 0.0 }
}

/// Byte range of the packed levels `start .. start + len` (`start` a multiple of 8).
#[inline]
fn packed_range(start: usize, len: usize, bits: u32) -> core::ops::Range<usize> {
    let s = start * bits as usize / 8;
    s..s + bits::packed_len(len, bits)
}

/// Unpacks levels `start .. start + out.len()` (start a multiple of 8) from `packed`.
#[inline]
fn unpack_at(packed: &[u8], bits: u32, start: usize, out: &mut [u8]) -> Result<()> {
    let r = packed_range(start, out.len(), bits);
    let src = packed.get(r).ok_or(Error::CodeLength { expected: 0, got: packed.len() })?;
    bits::unpack(src, bits, out)
}

/// Quantizes `x[j]` with per-coordinate grids `(base_of(j), inv_of(j))` and packs the levels of
/// `x` (starting at coordinate `start`, a multiple of 8) into `packed`.
fn pack_at(packed: &mut [u8], bits: u32, start: usize, levels: &[u8]) -> Result<()> {
    let r = packed_range(start, levels.len(), bits);
    let len = packed.len();
    let dst = packed.get_mut(r).ok_or(Error::CodeLength { expected: 0, got: len })?;
    bits::pack(levels, bits, dst)
}

// ---------------------------------------------------------------------------------------------
// Per-vector / per-block codec
// ---------------------------------------------------------------------------------------------

/// Uniform `b`-bit quantization with the scale (and offset) stored in each code, per vector or
/// per block of 16/32/64/128 coordinates (see the [module docs](self) for the layout).
///
/// Bits per dimension: `b + 32·s·nblocks/d` with `s = 2` (asymmetric: `lo`, `Δ`) or `s = 1`
/// (symmetric: `Δ`). Score estimator: [`Estimator::Reconstruction`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockUniform {
    dim: usize,
    bits: u32,
    block: usize,
    symmetric: bool,
    scales: ScaleFormat,
}

/// Storage format of the in-code scales of [`BlockUniform`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScaleFormat {
    /// `f32` little-endian, 32 bits per scale.
    F32,
    /// IEEE binary16 little-endian, 16 bits per scale (via [`crate::scalar::float::f16_from_f32`]).
    /// The encoder rounds the offset *down* and the step *up* to f16 values so that the block's
    /// range stays covered and the `Δ/2` bound holds for the stored `Δ`. Ranges beyond f16's
    /// (|lo| or `Δ` above 65504) return [`Error::InvalidParameter`].
    F16,
}

impl ScaleFormat {
    fn bytes(self) -> usize {
        match self {
            ScaleFormat::F32 => 4,
            ScaleFormat::F16 => 2,
        }
    }
}

/// Next f16 value towards −∞ (for finite `h`).
fn f16_next_down(h: u16) -> u16 {
    if h & 0x8000 != 0 {
        h + 1
    } else if h == 0 {
        0x8001
    } else {
        h - 1
    }
}

impl BlockUniform {
    /// A codec for `dim`-vectors, `bits ∈ 1..=8`, `block = None` (one scale per vector) or
    /// `Some(16 | 32 | 64 | 128)`; `symmetric` selects absmax (signed levels) over min/max.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bit width outside `1..=8`, another block size, or
    /// `dim ∉ 1..=`[`MAX_DIM`](crate::persist::MAX_DIM).
    pub fn new(dim: usize, bits: u32, block: Option<usize>, symmetric: bool) -> Result<Self> {
        Self::with_scales(dim, bits, block, symmetric, ScaleFormat::F32)
    }

    /// As [`new`](BlockUniform::new) with the in-code scales stored as `scales` (f16 halves the
    /// scale overhead: 4-bit, block 32, asymmetric → 5 bits per dimension).
    ///
    /// # Errors
    /// As [`new`](BlockUniform::new).
    pub fn with_scales(
        dim: usize,
        bits: u32,
        block: Option<usize>,
        symmetric: bool,
        scales: ScaleFormat,
    ) -> Result<Self> {
        check_bits(bits)?;
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(Error::InvalidParameter("dim must be in 1..=65536"));
        }
        let block = match block {
            None => dim,
            Some(b) if BLOCK_SIZES.contains(&b) => b,
            Some(_) => return Err(Error::InvalidParameter("block size must be 16, 32, 64 or 128")),
        };
        Ok(BlockUniform { dim, bits, block, symmetric, scales })
    }

    /// Bits per level.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Coordinates per block (`dim` for per-vector scales).
    pub fn block(&self) -> usize {
        self.block
    }

    /// Whether the grid is symmetric (absmax).
    pub fn symmetric(&self) -> bool {
        self.symmetric
    }

    /// Number of blocks (the last may be shorter).
    pub fn blocks(&self) -> usize {
        self.dim.div_ceil(self.block)
    }

    fn scale_words(&self) -> usize {
        if self.symmetric { 1 } else { 2 }
    }

    /// The storage format of the in-code scales.
    pub fn scale_format(&self) -> ScaleFormat {
        self.scales
    }

    /// Bytes of in-code scales at the front of each code.
    pub fn scale_len(&self) -> usize {
        self.blocks() * self.scale_words() * self.scales.bytes()
    }

    /// Writes scale word `i`.
    fn write_scale(&self, scales: &mut [u8], i: usize, v: f32) {
        match self.scales {
            ScaleFormat::F32 => scales[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes()),
            ScaleFormat::F16 => {
                let h = crate::scalar::float::f16_from_f32(v);
                scales[2 * i..2 * i + 2].copy_from_slice(&h.to_le_bytes());
            }
        }
    }

    /// The stored `(base, Δ)` for a block range: exact for f32 scales; for f16 the base is
    /// rounded down and the step up to f16 values so that `base ≤ lo` and `base + qmax·Δ ≥ hi`.
    fn stored_grid(&self, lo: f32, hi: f32) -> Result<(f32, f32)> {
        let (base, step) = grid(lo, hi, self.bits, self.symmetric)?;
        if self.scales == ScaleFormat::F32 {
            return Ok((base, step));
        }
        use crate::scalar::float::{f16_from_f32, f16_to_f32};
        let too_big = Error::InvalidParameter("block range exceeds the f16 scale range");
        let qm = qmax(self.bits, self.symmetric) as f32;
        let up = |v: f32| -> Result<f32> {
            let mut h = f16_from_f32(v);
            if f16_to_f32(h) < v {
                h += 1;
            }
            let r = f16_to_f32(h);
            if r.is_finite() { Ok(r) } else { Err(too_big) }
        };
        if self.symmetric {
            let step = up(step)?;
            let b = sym_base(step, self.bits);
            // Re-check coverage of ±amax after rounding (the symmetric base is derived).
            let amax = lo.abs().max(hi.abs());
            if b + qm * step < amax { Ok((b, up(f32::from_bits(step.to_bits() + 1))?)) } else { Ok((b, step)) }
        } else {
            let mut hb = f16_from_f32(base);
            if f16_to_f32(hb) > base {
                hb = f16_next_down(hb);
            }
            let b = f16_to_f32(hb);
            if !b.is_finite() {
                return Err(too_big);
            }
            let mut st = up((hi - b) / qm)?;
            if b + qm * st < hi {
                st = up(f32::from_bits(st.to_bits() + 1))?;
            }
            Ok((b, st))
        }
    }

    /// `(base, Δ)` of block `k` read from a code ([`group_grids`](Self::group_grids) of one
    /// block).
    fn block_grid(&self, code: &[u8], k: usize) -> Result<(f32, f32)> {
        let (mut base, mut step) = ([0f32], [0f32]);
        self.group_grids(code, k, &mut base, &mut step)?;
        Ok((base[0], step[0]))
    }

    /// The grids `(base, Δ)` of blocks `k0 .. k0 + bases.len()` (`bases.len() == steps.len()
    /// ≤ 64`), read in one branch-free pass over the scale words (the scan's per-block work);
    /// `Truncated` if the code is too short, `Corrupt` if any grid is not finite.
    #[inline]
    fn group_grids(&self, code: &[u8], k0: usize, bases: &mut [f32], steps: &mut [f32]) -> Result<()> {
        debug_assert!(bases.len() <= 64 && bases.len() == steps.len());
        let words = self.scale_words();
        let wb = self.scales.bytes();
        let first = k0 * words * wb;
        let scales = code.get(first..first + bases.len() * words * wb).ok_or(Error::Truncated)?;
        let top = qmax(self.bits, self.symmetric) as f32;
        let ok = match self.scales {
            ScaleFormat::F32 => {
                self.grids_with(scales, top, bases, steps, |c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            }
            ScaleFormat::F16 => self.grids_with(scales, top, bases, steps, |c| {
                crate::scalar::float::f16_to_f32_fast(u16::from_le_bytes([c[0], c[1]]))
            }),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Corrupt("non-finite or negative block scale, or a grid that overflows f32"))
        }
    }

    /// The loop of [`group_grids`](Self::group_grids) for one scale format (`read` turns a
    /// scale word's bytes into its value; at most 64 blocks); whether every grid is finite.
    /// The words are converted in one flat loop first (vectorized by the compiler), then
    /// paired into grids.
    #[inline(always)]
    fn grids_with(
        &self,
        scales: &[u8],
        top: f32,
        bases: &mut [f32],
        steps: &mut [f32],
        read: impl Fn(&[u8]) -> f32,
    ) -> bool {
        let mut words = [0f32; 2 * 64];
        let n = (bases.len() * self.scale_words()).min(words.len());
        for (w, c) in words[..n].iter_mut().zip(scales.chunks_exact(self.scales.bytes())) {
            *w = read(c);
        }
        let mut ok = true;
        if self.symmetric {
            for ((b, st), &step) in bases.iter_mut().zip(steps.iter_mut()).zip(&words[..n]) {
                let base = sym_base(step, self.bits);
                ok &= grid_finite(base, step, top);
                *b = base;
                *st = step;
            }
        } else {
            for ((b, st), w) in bases.iter_mut().zip(steps.iter_mut()).zip(words[..n].chunks_exact(2)) {
                ok &= grid_finite(w[0], w[1], top);
                *b = w[0];
                *st = w[1];
            }
        }
        ok
    }

    /// [`Error::Corrupt`] for a level above the grid: the unused top code of a symmetric grid
    /// (`2^bits − 1` for `bits ≥ 2`), which the encoder never writes.
    #[inline]
    fn check_levels(&self, levels: &[u8]) -> Result<()> {
        let qm = qmax(self.bits, self.symmetric);
        if qm < (1 << self.bits) - 1 && u32::from(levels.iter().fold(0u8, |a, &l| a.max(l))) > qm {
            return Err(Error::Corrupt("level above the symmetric grid"));
        }
        Ok(())
    }

    /// [`check_levels`](Self::check_levels) on packed 8- or 4-bit levels.
    #[inline]
    fn check_packed(&self, packed: &[u8]) -> Result<()> {
        if !self.symmetric {
            return Ok(());
        }
        let bad = match self.bits {
            8 => packed.iter().fold(false, |a, &b| a | (b == 0xFF)),
            _ => packed.iter().fold(false, |a, &b| a | (b & 0xF == 0xF) | (b >> 4 == 0xF)),
        };
        if bad { Err(Error::Corrupt("level above the symmetric grid")) } else { Ok(()) }
    }

    /// Calls `f(start, len, base, step)` for each group of at most [`CHUNK`] coordinates.
    fn for_chunks(&self, code: &[u8], mut f: impl FnMut(usize, usize, f32, f32) -> Result<()>) -> Result<()> {
        for k in 0..self.blocks() {
            let (base, step) = self.block_grid(code, k)?;
            let start = k * self.block;
            let end = (start + self.block).min(self.dim);
            let mut s = start;
            while s < end {
                let len = (end - s).min(CHUNK);
                f(s, len, base, step)?;
                s += len;
            }
        }
        Ok(())
    }
}

impl Codec for BlockUniform {
    fn dim(&self) -> usize {
        self.dim
    }

    fn code_len(&self) -> usize {
        self.scale_len() + bits::packed_len(self.dim, self.bits)
    }

    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len(), code.len())?;
        check_finite(x)?;
        let (scales, packed) = code.split_at_mut(self.scale_len());
        let qm = qmax(self.bits, self.symmetric) as f32;
        let mut levels = [0u8; CHUNK];
        for (k, xb) in x.chunks(self.block).enumerate() {
            let (lo, hi) = crate::simd::min_max(xb);
            let (base, step) = self.stored_grid(lo, hi)?;
            if self.symmetric {
                self.write_scale(scales, k, step);
            } else {
                self.write_scale(scales, 2 * k, base);
                self.write_scale(scales, 2 * k + 1, step);
            }
            let base = if self.symmetric { sym_base(step, self.bits) } else { base };
            if !grid_finite(base, step, qm) {
                // The decoder refuses grids whose top level overflows f32.
                return Err(Error::NonFinite);
            }
            let inv = inv_step(step);
            for (c, xc) in xb.chunks(CHUNK).enumerate() {
                let lv = &mut levels[..xc.len()];
                for (l, &v) in lv.iter_mut().zip(xc) {
                    *l = level(v, base, inv, qm);
                }
                pack_at(packed, self.bits, k * self.block + c * CHUNK, lv)?;
            }
        }
        Ok(())
    }
}

impl Decode for BlockUniform {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim, out.len())?;
        let packed = &code[self.scale_len()..];
        let mut levels = [0u8; CHUNK];
        self.for_chunks(code, |s, len, base, step| {
            unpack_at(packed, self.bits, s, &mut levels[..len])?;
            self.check_levels(&levels[..len])?;
            for (o, &l) in out[s..s + len].iter_mut().zip(&levels[..len]) {
                *o = base + f32::from(l) * step;
            }
            Ok(())
        })
    }
}

/// A prepared float query of [`BlockUniform`]: the query and its per-block sums.
#[derive(Clone, Copy, Debug)]
pub struct BlockQuery<'s> {
    q: &'s [f32],
    block_sums: &'s [f32],
}

impl Score for BlockUniform {
    type Query<'s> = BlockQuery<'s>;

    fn query_scratch_len(&self) -> usize {
        self.dim + self.blocks()
    }

    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }

    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<BlockQuery<'s>> {
        let (qs, rest) = crate::codec::copy_query(self.dim, q, self.query_scratch_len(), scratch)?;
        let sums = &mut rest[..self.blocks()];
        for (s, qb) in sums.iter_mut().zip(q.chunks(self.block)) {
            *s = crate::simd::sum(qb);
        }
        Ok(BlockQuery { q: qs, block_sums: sums })
    }

    /// 8- and 4-bit levels: the block-scaled kernels ([`crate::simd::dot_u8_f32_blocks`]) over
    /// groups of up to 64 blocks, steps applied in the kernel; other widths unpack chunks.
    fn score(&self, q: &BlockQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let packed = &code[self.scale_len()..];
        if matches!(self.bits, 8 | 4) && self.block.is_multiple_of(16) {
            const GROUP: usize = 64;
            let (mut bases, mut steps) = ([0f32; GROUP], [0f32; GROUP]);
            let mut total = 0.0f32;
            let blocks = self.blocks();
            let mut k0 = 0;
            while k0 < blocks {
                let nb = (blocks - k0).min(GROUP);
                self.group_grids(code, k0, &mut bases[..nb], &mut steps[..nb])?;
                let sums = q
                    .block_sums
                    .get(k0..k0 + nb)
                    .ok_or(Error::DimensionMismatch { expected: self.blocks(), got: q.block_sums.len() })?;
                for (&base, &sum) in bases[..nb].iter().zip(sums) {
                    total += base * sum;
                }
                let s = k0 * self.block;
                let e = ((k0 + nb) * self.block).min(self.dim);
                let src = packed.get(packed_range(s, e - s, self.bits)).ok_or(Error::Truncated)?;
                self.check_packed(src)?;
                let qs = q.q.get(s..e).ok_or(Error::DimensionMismatch { expected: self.dim, got: q.q.len() })?;
                total += if self.bits == 8 {
                    crate::simd::dot_u8_f32_blocks(src, qs, self.block, &steps[..nb])
                } else {
                    crate::simd::dot_u4_f32_blocks(src, qs, self.block, &steps[..nb])
                };
                k0 += nb;
            }
            return Ok(total);
        }
        let mut levels = [0u8; CHUNK];
        let mut total = 0.0f32;
        let mut k_prev = usize::MAX;
        self.for_chunks(code, |s, len, base, step| {
            let k = s / self.block;
            if k != k_prev {
                total += base * q.block_sums.get(k).copied().unwrap_or(0.0);
                k_prev = k;
            }
            let qs = &q.q[s..s + len];
            let d = match self.bits {
                // Chunks start on multiples of 8 levels, so on byte boundaries.
                8 | 4 => {
                    let r = packed_range(s, len, self.bits);
                    let src = packed.get(r).ok_or(Error::CodeLength { expected: 0, got: packed.len() })?;
                    self.check_packed(src)?;
                    if self.bits == 8 { crate::simd::dot_u8_f32(src, qs) } else { crate::simd::dot_u4_f32(src, qs) }
                }
                _ => {
                    unpack_at(packed, self.bits, s, &mut levels[..len])?;
                    self.check_levels(&levels[..len])?;
                    crate::simd::dot_u8_f32(&levels[..len], qs)
                }
            };
            total += step * d;
            Ok(())
        })?;
        Ok(total)
    }
}

impl ScoreSymmetric for BlockUniform {
    /// `⟨x̂, ŷ⟩` of the two reconstructions, block by block from exact integer sums:
    /// `n·a·c + a·Δy·Σq_y + c·Δx·Σq_x + Δx·Δy·Σq_x q_y` (with bases `a`, `c`).
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32> {
        check_code(self.code_len(), a.len())?;
        check_code(self.code_len(), b.len())?;
        let (pa, pb) = (&a[self.scale_len()..], &b[self.scale_len()..]);
        let (mut la, mut lb) = ([0u8; CHUNK], [0u8; CHUNK]);
        let mut total = 0.0f64;
        for k in 0..self.blocks() {
            let (ba, sa) = self.block_grid(a, k)?;
            let (bb, sb) = self.block_grid(b, k)?;
            let start = k * self.block;
            let end = (start + self.block).min(self.dim);
            let (mut n, mut suma, mut sumb, mut sumab) = (0u64, 0u64, 0u64, 0u64);
            let mut s = start;
            while s < end {
                let len = (end - s).min(CHUNK);
                unpack_at(pa, self.bits, s, &mut la[..len])?;
                unpack_at(pb, self.bits, s, &mut lb[..len])?;
                self.check_levels(&la[..len])?;
                self.check_levels(&lb[..len])?;
                for (&x, &y) in la[..len].iter().zip(&lb[..len]) {
                    suma += u64::from(x);
                    sumb += u64::from(y);
                    sumab += u64::from(x) * u64::from(y);
                }
                n += len as u64;
                s += len;
            }
            let (ba, sa, bb, sb) = (f64::from(ba), f64::from(sa), f64::from(bb), f64::from(sb));
            total += n as f64 * ba * bb + ba * sb * sumb as f64 + bb * sa * suma as f64 + sa * sb * sumab as f64;
        }
        Ok(total as f32)
    }
}

impl Symbols for BlockUniform {
    fn symbols_per_vector(&self) -> usize {
        self.dim
    }

    fn alphabet_size(&self) -> u32 {
        qmax(self.bits, self.symmetric) + 1
    }

    fn side_len(&self) -> usize {
        self.scale_len()
    }

    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        split_levels(&code[self.scale_len()..], self.bits, self.alphabet_size(), symbols, self.dim)?;
        check_code(self.scale_len(), side.len())?;
        side.copy_from_slice(&code[..self.scale_len()]);
        Ok(())
    }

    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_code(self.scale_len(), side.len())?;
        let (sc, packed) = code.split_at_mut(self.scale_len());
        join_levels(symbols, self.bits, self.alphabet_size(), packed, self.dim)?;
        sc.copy_from_slice(side);
        Ok(())
    }
}

/// Reads the `u8` symmetric flag (0 or 1).
fn read_flag(r: &mut crate::format::Reader<'_>) -> Result<bool> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::Corrupt("symmetric flag")),
    }
}

impl Persist for BlockUniform {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        let scales = match self.scales {
            ScaleFormat::F32 => 0,
            ScaleFormat::F16 => 1,
        };
        w.u32(self.dim as u32).u8(self.bits as u8).u32(self.block as u32);
        w.u8(u8::from(self.symmetric)).u8(scales);
    }

    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, crate::persist::MAX_DIM, "block uniform dimension too large")?;
        let bits = u32::from(r.u8()?);
        let block = r.u32()? as usize;
        let symmetric = read_flag(r)?;
        let scales = match r.u8()? {
            0 => ScaleFormat::F32,
            1 => ScaleFormat::F16,
            _ => return Err(Error::Corrupt("unknown scale format")),
        };
        // A per-vector codec stores its dimension as the block size.
        let block = if block == dim { None } else { Some(block) };
        BlockUniform::with_scales(dim, bits, block, symmetric, scales)
            .map_err(|_| Error::Corrupt("invalid block uniform parameters"))
    }
}

/// Unpacks the levels as symbols; a level `≥ alphabet` (the unused top code of a symmetric
/// grid) is [`Error::Corrupt`].
fn split_levels(packed: &[u8], bits: u32, alphabet: u32, symbols: &mut [u16], dim: usize) -> Result<()> {
    check_dim(dim, symbols.len())?;
    let mut lv = [0u8; CHUNK];
    for (c, sy) in symbols.chunks_mut(CHUNK).enumerate() {
        let n = sy.len();
        unpack_at(packed, bits, c * CHUNK, &mut lv[..n])?;
        for (s, &l) in sy.iter_mut().zip(&lv[..n]) {
            *s = u16::from(l);
        }
        if lv[..n].iter().any(|&l| u32::from(l) >= alphabet) {
            return Err(Error::Corrupt("level above the symmetric grid"));
        }
    }
    Ok(())
}

fn join_levels(symbols: &[u16], bits: u32, alphabet: u32, packed: &mut [u8], dim: usize) -> Result<()> {
    check_dim(dim, symbols.len())?;
    let mut lv = [0u8; CHUNK];
    for (c, sy) in symbols.chunks(CHUNK).enumerate() {
        for (l, &s) in lv.iter_mut().zip(sy) {
            if u32::from(s) >= alphabet {
                return Err(Error::Corrupt("symbol out of range"));
            }
            *l = s as u8;
        }
        pack_at(packed, bits, c * CHUNK, &lv[..sy.len()])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Per-dimension codec
// ---------------------------------------------------------------------------------------------

/// How [`PerDimUniform::train`] estimates each dimension's range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RangeEstimator {
    /// The observed minimum and maximum (every training value is then within `Δ/2`).
    MinMax,
    /// `mean ± k·std`, intersected with the observed min/max (values outside are clamped).
    MeanStd(f32),
    /// The `p` and `1 − p` quantiles (`p ∈ [0, 0.5)`), clipping outliers.
    Quantile(f32),
}

/// Uniform `b`-bit quantization with one trained grid `(base_j, Δ_j)` per dimension, shared by
/// all codes (not stored in them): the code is the `d` packed levels, exactly `b` bits per
/// dimension. `P` holds the parameters (`Vec<f32>` when trained, or borrowed slices for a
/// `no_std` user who stores them elsewhere).
///
/// Scoring follows the codec's [`ScanMode`] (set with [`ScanModes::with_scan`]; the codes are
/// the same in every mode): [`ScanMode::Float`] (the default) is exact on the reconstruction
/// ([`Estimator::Reconstruction`]); [`ScanMode::I8`] and [`ScanMode::I16`] (8- and 4-bit codes)
/// round the folded query to integers and scan with an exact integer dot
/// ([`Estimator::Biased`], see the [module docs](self#scoring)).
#[derive(Clone, Debug, PartialEq)]
pub struct PerDimUniform<P: AsRef<[f32]>> {
    bits: u32,
    symmetric: bool,
    base: P,
    step: P,
    scan: ScanMode,
}

/// A trained per-dimension codec owning its parameters.
#[cfg(feature = "alloc")]
pub type PerDim = PerDimUniform<alloc::vec::Vec<f32>>;

/// Kind tag of serialized [`PerDimUniform`] parameters.
pub const KIND_PER_DIM: u16 = crate::format::kind::SCALAR + 1;

/// The saved tag of a scan mode of [`PerDimUniform`].
#[cfg(feature = "alloc")]
fn scan_tag(mode: ScanMode) -> u8 {
    match mode {
        ScanMode::I8 => 1,
        ScanMode::I16 => 2,
        // `with_scan` refuses Bitsliced, so only Float is left.
        _ => 0,
    }
}

impl<P: AsRef<[f32]>> PerDimUniform<P> {
    /// A codec from explicit grids: coordinate `j` decodes as `base[j] + q·step[j]`. It scores
    /// in [`ScanMode::Float`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for bits outside `1..=8`, empty, unequal or longer than
    /// [`MAX_DIM`](crate::persist::MAX_DIM) parameter slices, non-finite values, a negative step,
    /// or a grid whose top packed level `base + (2^bits − 1)·step` overflows `f32` (so every code
    /// decodes finite).
    pub fn from_params(bits: u32, symmetric: bool, base: P, step: P) -> Result<Self> {
        check_bits(bits)?;
        let (b, s) = (base.as_ref(), step.as_ref());
        if b.is_empty() || b.len() != s.len() || b.len() > crate::persist::MAX_DIM {
            return Err(Error::InvalidParameter("base and step must have the same length in 1..=65536"));
        }
        let top = ((1u32 << bits) - 1) as f32;
        if !b.iter().zip(s).all(|(&bj, &sj)| grid_finite(bj, sj, top)) {
            return Err(Error::InvalidParameter("grid parameters must be finite, steps non-negative"));
        }
        Ok(PerDimUniform { bits, symmetric, base, step, scan: ScanMode::Float })
    }

    /// Bits per level.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Whether the grids are symmetric (absmax).
    pub fn symmetric(&self) -> bool {
        self.symmetric
    }

    /// The per-dimension bases (the value of level 0).
    pub fn base(&self) -> &[f32] {
        self.base.as_ref()
    }

    /// The per-dimension steps `Δ_j`.
    pub fn step(&self) -> &[f32] {
        self.step.as_ref()
    }

    /// Integer query coefficients: `dim` for 8-bit codes, `2·⌈dim/2⌉` (even then odd
    /// coordinates) for 4-bit codes.
    fn int_len(&self) -> usize {
        let d = self.dim();
        if self.bits == 8 { d } else { 2 * d.div_ceil(2) }
    }

    /// Rounds the folded query `w_j = q_j·Δ_j` to integers (`i8` or `i16` by the scan mode) in
    /// `scratch`, placed for [`int_dot`](Self::int_dot).
    fn prepare_int<'s>(&self, q: &[f32], c: f32, scratch: &'s mut [f32]) -> PerDimQuery<'s> {
        let step = self.step();
        let amax = q.iter().zip(step).fold(0f32, |m, (&v, &s)| m.max((v * s).abs()));
        let lim = if self.scan == ScanMode::I8 { 127.0 } else { 32767.0 };
        let s = if amax > 0.0 { amax / lim } else { 0.0 };
        let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
        let (qlen, eight) = (self.int_len(), self.bits == 8);
        let half = qlen / 2;
        // Position of coordinate j in the coefficient array.
        let pos = |j: usize| if eight { j } else { (j % 2) * half + j / 2 };
        let round = |v: f32| -> f32 {
            let t = (v * inv).clamp(-lim, lim);
            if t >= 0.0 { (t + 0.5) as i32 as f32 } else { -((-t + 0.5) as i32 as f32) }
        };
        // Coefficient `pos(j)` of the integer query: `round(q_j·Δ_j / s)`.
        fn fill<T: Default + Copy>(
            b: &mut [T],
            q: &[f32],
            step: &[f32],
            pos: impl Fn(usize) -> usize,
            f: impl Fn(f32) -> T,
        ) {
            b.fill(T::default());
            for (j, (&v, &st)) in q.iter().zip(step).enumerate() {
                b[pos(j)] = f(v * st);
            }
        }
        let sc = &mut scratch[..self.query_scratch_len()];
        let mut query = PerDimQuery { c, s, w: &[], q8: &[], q16: &[] };
        if self.scan == ScanMode::I8 {
            let b: &mut [i8] = bytemuck::cast_slice_mut(sc);
            fill(b, q, step, pos, |v| round(v) as i8);
            query.q8 = &b[..qlen];
        } else {
            let b: &mut [i16] = bytemuck::cast_slice_mut(sc);
            fill(b, q, step, pos, |v| round(v) as i16);
            query.q16 = &b[..qlen];
        }
        query
    }

    /// The exact integer dot `Σ ŵ_j·level_j` of an integer query with one code. 4-bit codes are
    /// split into their low and high nibbles (even and odd coordinates) and dotted with the
    /// de-interleaved query.
    fn int_dot(&self, q: &PerDimQuery<'_>, code: &[u8]) -> i64 {
        let i8_query = self.scan == ScanMode::I8;
        if self.bits == 8 {
            return if i8_query { crate::simd::dot_u8_i8(code, q.q8) } else { crate::simd::dot_u8_i16(code, q.q16) };
        }
        let half = code.len();
        // Integer sums are exact: the chunk length only bounds the stack (256 B here).
        let mut lo = [0u8; CHUNK];
        let mut hi = [0u8; CHUNK];
        let mut total = 0i64;
        for (c, bytes) in code.chunks(CHUNK).enumerate() {
            let n = bytes.len();
            for ((l, h), &b) in lo.iter_mut().zip(hi.iter_mut()).zip(bytes) {
                *l = b & 0xF;
                *h = b >> 4;
            }
            let r = c * CHUNK..c * CHUNK + n;
            let r2 = half + c * CHUNK..half + c * CHUNK + n;
            total += if i8_query {
                let (a, b) = (q.q8.get(r).unwrap_or(&[]), q.q8.get(r2).unwrap_or(&[]));
                crate::simd::dot_u8_i8(&lo[..n], a) + crate::simd::dot_u8_i8(&hi[..n], b)
            } else {
                let (a, b) = (q.q16.get(r).unwrap_or(&[]), q.q16.get(r2).unwrap_or(&[]));
                crate::simd::dot_u8_i16(&lo[..n], a) + crate::simd::dot_u8_i16(&hi[..n], b)
            };
        }
        total
    }

    /// Writes the parameters (see the [module docs](self#saved-parameters)).
    #[cfg(feature = "alloc")]
    fn write_fields(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim() as u32).u8(self.bits as u8).u8(u8::from(self.symmetric));
        w.f32s(self.base()).f32s(self.step()).u8(scan_tag(self.scan));
    }

    /// Serializes the parameters in a container of kind [`KIND_PER_DIM`]: the [`Persist`]
    /// fields (see the [module docs](self#saved-parameters)).
    ///
    /// # Errors
    /// [`Error::Overflow`] if the payload exceeds `u32`.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        let mut w = crate::format::Writer::new(KIND_PER_DIM);
        self.write_fields(&mut w);
        w.finish()
    }
}

#[cfg(feature = "alloc")]
impl PerDim {
    /// Trains per-dimension grids on `data` (`n × dim`, row-major) with `range`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for bad `bits`/`dim`/`range`; [`Error::DimensionMismatch`] if
    /// `data.len()` is not a multiple of `dim`; [`Error::NotEnoughData`] for no rows;
    /// [`Error::NonFinite`] for NaN/∞ data or an overflowing range.
    pub fn train(data: &[f32], dim: usize, bits: u32, range: RangeEstimator, symmetric: bool) -> Result<Self> {
        use alloc::vec::Vec;
        check_bits(bits)?;
        if dim == 0 {
            return Err(Error::InvalidParameter("dim must be positive"));
        }
        let n = crate::codec::batch_rows(data.len(), dim)?;
        if n == 0 {
            return Err(Error::NotEnoughData { needed: 1, got: 0 });
        }
        check_finite(data)?;
        let mut lo = alloc::vec![f32::INFINITY; dim];
        let mut hi = alloc::vec![f32::NEG_INFINITY; dim];
        for row in data.chunks_exact(dim) {
            for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                *l = l.min(v);
                *h = h.max(v);
            }
        }
        match range {
            RangeEstimator::MinMax => {}
            RangeEstimator::MeanStd(k) => {
                if !(k.is_finite() && k > 0.0) {
                    return Err(Error::InvalidParameter("MeanStd k must be positive"));
                }
                let mut mean = alloc::vec![0f64; dim];
                let mut sq = alloc::vec![0f64; dim];
                for row in data.chunks_exact(dim) {
                    for ((m, s), &v) in mean.iter_mut().zip(sq.iter_mut()).zip(row) {
                        *m += f64::from(v);
                        *s += f64::from(v) * f64::from(v);
                    }
                }
                for j in 0..dim {
                    let m = mean[j] / n as f64;
                    let sd = libm::sqrt((sq[j] / n as f64 - m * m).max(0.0));
                    lo[j] = lo[j].max((m - f64::from(k) * sd) as f32);
                    hi[j] = hi[j].min((m + f64::from(k) * sd) as f32);
                    if lo[j] > hi[j] {
                        let c = m as f32;
                        lo[j] = c;
                        hi[j] = c;
                    }
                }
            }
            RangeEstimator::Quantile(p) => {
                if !(0.0..0.5).contains(&p) {
                    return Err(Error::InvalidParameter("quantile p must be in [0, 0.5)"));
                }
                let mut col: Vec<f32> = Vec::with_capacity(n);
                for j in 0..dim {
                    col.clear();
                    col.extend(data.chunks_exact(dim).map(|r| r[j]));
                    col.sort_unstable_by(f32::total_cmp);
                    let k = ((p * (n - 1) as f32) + 0.5) as usize;
                    lo[j] = col[k.min(n - 1)];
                    hi[j] = col[(n - 1).saturating_sub(k)];
                }
            }
        }
        let mut base = Vec::with_capacity(dim);
        let mut step = Vec::with_capacity(dim);
        for (&l, &h) in lo.iter().zip(&hi) {
            let (b, s) = grid(l, h, bits, symmetric)?;
            base.push(b);
            step.push(s);
        }
        Ok(PerDimUniform { bits, symmetric, base, step, scan: ScanMode::Float })
    }

    /// Reads parameters written by [`to_bytes`](PerDimUniform::to_bytes), validating every field
    /// (as [`Persist::restore`]). A thin layer over [`PerDimUniform::from_bytes_in`]: same
    /// validation, same errors, the parameters then copied into `Vec`s.
    ///
    /// # Errors
    /// Container errors from [`crate::format::open`]; [`Error::Corrupt`] for a bad dimension, bit
    /// width, flag, scan mode, non-finite or negative parameters, or trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = crate::format::open(bytes, KIND_PER_DIM)?;
        let c = Self::restore(&mut r)?;
        r.finish()?;
        Ok(c)
    }
}

#[cfg(feature = "alloc")]
impl Persist for PerDim {
    fn persist(&self, w: &mut crate::format::Writer) {
        self.write_fields(w);
    }

    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        // Storage for exactly what the fields declare (bounded by the bytes left), then the
        // no-heap reader.
        let n = PerDimUniform::<&[f32]>::storage_len(r)?;
        let mut storage = alloc::vec![0f32; n];
        let (bits, symmetric, scan, d) = {
            let c = PerDimUniform::restore_in(r, &mut storage)?;
            (c.bits, c.symmetric, c.scan, c.dim())
        };
        let (base, step) = storage.split_at(d);
        Ok(PerDimUniform { bits, symmetric, base: base.to_vec(), step: step.to_vec(), scan })
    }
}

impl<'a> PerDimUniform<&'a [f32]> {
    /// Reads the `u32` dimension of saved per-dimension parameters at the reader's position (not
    /// consuming it), bounded as [`restore_in`](Self::restore_in) bounds it.
    fn peek_dim(r: &crate::format::Reader<'_>) -> Result<usize> {
        let mut p = r.clone();
        p.count(p.remaining().min(8 * crate::persist::MAX_DIM) / 8, "per-dimension uniform dimension")
    }

    /// Floats of caller storage that [`restore_in`](Self::restore_in) needs for the parameters at
    /// the reader's position: `2·dim` (the bases, then the steps). Reads without consuming.
    ///
    /// # Errors
    /// [`Error::Truncated`], or [`Error::Corrupt`] for a dimension the bytes left cannot hold.
    pub fn storage_len(r: &crate::format::Reader<'_>) -> Result<usize> {
        Ok(2 * Self::peek_dim(r)?)
    }

    /// Reads the [`Persist`] fields of a per-dimension codec without an allocator: the `2·dim`
    /// parameters are copied (little-endian `f32`, any alignment of `r`'s bytes) into the front
    /// of `storage` (bases then steps) and the codec borrows them. Validation and errors are
    /// those of the owned [`Persist::restore`] (which is a thin layer over this).
    ///
    /// # Errors
    /// [`Error::Truncated`]; [`Error::Corrupt`] for a bad dimension, bit width, flag, scan mode,
    /// non-finite or negative parameters; [`Error::BufferTooSmall`] if `storage` holds fewer
    /// than [`storage_len`](Self::storage_len) floats.
    pub fn restore_in(r: &mut crate::format::Reader<'_>, storage: &'a mut [f32]) -> Result<Self> {
        let (dim, bits, symmetric) = Self::read_head(r)?;
        let mut st = storage;
        let base = crate::persist::take_f32s(&mut st, dim)?;
        let step = crate::persist::take_f32s(&mut st, dim)?;
        r.finite_f32_into(dim, base, "non-finite base")?;
        r.finite_f32_into(dim, step, "non-finite step")?;
        Self::read_tail(r, bits, symmetric, base, step)
    }

    /// The fields before the parameter arrays: `(dim, bits, symmetric)`, validated.
    fn read_head(r: &mut crate::format::Reader<'_>) -> Result<(usize, u32, bool)> {
        let dim = Self::peek_dim(r)?;
        r.u32()?;
        let bits = u32::from(r.u8()?);
        let symmetric = read_flag(r)?;
        if dim == 0 || check_bits(bits).is_err() {
            return Err(Error::Corrupt("dimension or bit width"));
        }
        Ok((dim, bits, symmetric))
    }

    /// The scan mode after the arrays, and the checked codec over them.
    fn read_tail(
        r: &mut crate::format::Reader<'_>,
        bits: u32,
        symmetric: bool,
        base: &'a [f32],
        step: &'a [f32],
    ) -> Result<Self> {
        let scan = match r.u8()? {
            0 => ScanMode::Float,
            1 => ScanMode::I8,
            2 => ScanMode::I16,
            _ => return Err(Error::Corrupt("unknown scan mode")),
        };
        PerDimUniform::from_params(bits, symmetric, base, step)
            .and_then(|c| c.with_scan(scan))
            .map_err(|_| Error::Corrupt("invalid per-dimension uniform parameters"))
    }

    /// Byte offset of the first parameter float (the bases) in a container written by
    /// [`to_bytes`](PerDimUniform::to_bytes): the 12-byte container header, `u32` dimension, bit
    /// width and flag. A zero-copy view ([`view_from_bytes`](Self::view_from_bytes)) needs the
    /// container placed at an address `≡ −VIEW_FLOATS_AT (mod 4)` (here 2 mod 4).
    pub const VIEW_FLOATS_AT: usize = crate::format::HEADER_LEN + 6;

    /// Reads the [`Persist`] fields of a per-dimension codec as a zero-copy view: the `2·dim`
    /// parameters are borrowed in place from the reader's bytes (flash, a memory-mapped file)
    /// instead of copied, so loading needs no RAM for them. Validation and errors are those of
    /// [`restore_in`](Self::restore_in) (and the owned [`Persist::restore`]) for the same bytes,
    /// plus the two requirements of a view.
    ///
    /// # Errors
    /// As [`restore_in`](Self::restore_in) (without [`Error::BufferTooSmall`]);
    /// [`Error::InvalidParameter`] if the floats are not 4-byte aligned in memory (see
    /// [`VIEW_FLOATS_AT`](Self::VIEW_FLOATS_AT)) or the target is big-endian: the bytes are
    /// valid, load them with [`restore_in`](Self::restore_in) then.
    pub fn view_in(r: &mut crate::format::Reader<'a>) -> Result<Self> {
        let (dim, bits, symmetric) = Self::read_head(r)?;
        let base = r.finite_f32_view(dim, "non-finite base")?;
        let step = r.finite_f32_view(dim, "non-finite step")?;
        Self::read_tail(r, bits, symmetric, base, step)
    }

    /// Parses a container written by [`to_bytes`](PerDimUniform::to_bytes) as a zero-copy view
    /// (see [`view_in`](Self::view_in)): no storage, the codec borrows `bytes`.
    ///
    /// # Errors
    /// As [`PerDim::from_bytes`], and [`Error::InvalidParameter`] for floats not 4-byte aligned
    /// in memory or a big-endian target.
    pub fn view_from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let mut r = crate::format::open(bytes, KIND_PER_DIM)?;
        let c = Self::view_in(&mut r)?;
        r.finish()?;
        Ok(c)
    }

    /// Parses a container written by [`to_bytes`](PerDimUniform::to_bytes) without an allocator,
    /// the parameters copied into `storage` (at least `2·dim` floats; see
    /// [`restore_in`](Self::restore_in)).
    ///
    /// # Errors
    /// As [`PerDim::from_bytes`], and [`Error::BufferTooSmall`].
    pub fn from_bytes_in(bytes: &[u8], storage: &'a mut [f32]) -> Result<Self> {
        let mut r = crate::format::open(bytes, KIND_PER_DIM)?;
        let c = Self::restore_in(&mut r, storage)?;
        r.finish()?;
        Ok(c)
    }
}

impl<P: AsRef<[f32]>> Codec for PerDimUniform<P> {
    fn dim(&self) -> usize {
        self.base.as_ref().len()
    }

    fn code_len(&self) -> usize {
        bits::packed_len(self.dim(), self.bits)
    }

    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        // Finiteness is checked by the quantization kernel itself (one pass over `x`).
        let qm = qmax(self.bits, self.symmetric) as f32;
        let (base, step) = (self.base(), self.step());
        if self.bits == 8 {
            return encode_levels(x, base, step, qm, code);
        }
        let mut levels = [0u8; CHUNK];
        for (c, xc) in x.chunks(CHUNK).enumerate() {
            let s0 = c * CHUNK;
            let r = s0..s0 + xc.len();
            let lv = &mut levels[..xc.len()];
            encode_levels(xc, &base[r.clone()], &step[r], qm, lv)?;
            pack_at(code, self.bits, s0, lv)?;
        }
        Ok(())
    }
}

impl<P: AsRef<[f32]>> Decode for PerDimUniform<P> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        let (base, step) = (self.base(), self.step());
        let mut levels = [0u8; CHUNK];
        for (c, oc) in out.chunks_mut(CHUNK).enumerate() {
            let s0 = c * CHUNK;
            unpack_at(code, self.bits, s0, &mut levels[..oc.len()])?;
            for (j, (o, &l)) in oc.iter_mut().zip(&levels).enumerate() {
                *o = base[s0 + j] + f32::from(l) * step[s0 + j];
            }
        }
        Ok(())
    }
}

/// A prepared query of [`PerDimUniform`]: the folded query `w_j = q_j·Δ_j` (float mode) or its
/// integer rounding `ŵ_j = round(w_j/s)` (integer modes), and `c = Σ q_j·base_j`, so the score
/// of a code is `c + Σ w_j·level_j` (or `c + s·Σ ŵ_j·level_j`).
#[derive(Clone, Copy, Debug)]
pub struct PerDimQuery<'s> {
    c: f32,
    s: f32,
    w: &'s [f32],
    q8: &'s [i8],
    q16: &'s [i16],
}

impl<P: AsRef<[f32]>> ScanModes for PerDimUniform<P> {
    fn scan_mode(&self) -> ScanMode {
        self.scan
    }

    /// [`ScanMode::Float`] always; [`ScanMode::I8`] and [`ScanMode::I16`] for 8- and 4-bit codes.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an integer mode on other bit widths, or
    /// [`ScanMode::Bitsliced`].
    fn with_scan(mut self, mode: ScanMode) -> Result<Self> {
        match mode {
            ScanMode::Float => {}
            ScanMode::I8 | ScanMode::I16 if self.bits == 8 || self.bits == 4 => {}
            ScanMode::I8 | ScanMode::I16 => {
                return Err(Error::InvalidParameter("integer scoring needs 8- or 4-bit codes"));
            }
            ScanMode::Bitsliced => return Err(Error::InvalidParameter("no bitsliced scorer for uniform codes")),
        }
        self.scan = mode;
        Ok(self)
    }
}

impl<P: AsRef<[f32]>> Score for PerDimUniform<P> {
    type Query<'s>
        = PerDimQuery<'s>
    where
        P: 's;

    /// `dim` words for the float query; the `i8`/`i16` coefficients of an integer query live in
    /// the `f32` scratch, reinterpreted (`⌈len/4⌉` or `⌈len/2⌉` words).
    fn query_scratch_len(&self) -> usize {
        match self.scan {
            ScanMode::I8 => self.int_len().div_ceil(4),
            ScanMode::I16 => self.int_len().div_ceil(2),
            _ => self.dim(),
        }
    }

    fn estimator(&self) -> Estimator {
        if self.scan == ScanMode::Float { Estimator::Reconstruction } else { Estimator::Biased }
    }

    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<PerDimQuery<'s>> {
        check_dim(self.dim(), q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        check_finite(q)?;
        let c = crate::simd::dot(q, self.base());
        if self.scan != ScanMode::Float {
            return Ok(self.prepare_int(q, c, scratch));
        }
        Ok(self.prepare_float(q, c, scratch))
    }

    fn score(&self, q: &PerDimQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        if self.scan != ScanMode::Float {
            return Ok(q.c + q.s * self.int_dot(q, code) as f32);
        }
        self.score_float(q, code)
    }

    /// 8- and 4-bit codes are scored several at a time in float mode
    /// ([`crate::simd::dot_u8_f32_rows`], [`crate::simd::dot_u4_f32_rows`]), sharing the query
    /// loads; the scores equal [`score`](Score::score)'s bit for bit in every mode.
    fn score_batch(&self, q: &PerDimQuery<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let cl = self.code_len();
        check_code(out.len() * cl, codes.len())?;
        match (self.scan, self.bits) {
            (ScanMode::Float, 8) => crate::simd::dot_u8_f32_rows(codes, cl, q.w, out),
            (ScanMode::Float, 4) => crate::simd::dot_u4_f32_rows(codes, cl, q.w, out),
            _ => {
                for (code, o) in codes.chunks_exact(cl).zip(out.iter_mut()) {
                    *o = self.score(q, code)?;
                }
                return Ok(());
            }
        }
        for o in out.iter_mut() {
            *o += q.c;
        }
        Ok(())
    }
}

impl<P: AsRef<[f32]>> PerDimUniform<P> {
    /// The float query `w_j = q_j·Δ_j` in `scratch` (checked by the caller), `c = ⟨q, base⟩`.
    fn prepare_float<'s>(&self, q: &[f32], c: f32, scratch: &'s mut [f32]) -> PerDimQuery<'s> {
        let w = &mut scratch[..self.dim()];
        for ((o, &v), &s) in w.iter_mut().zip(q).zip(self.step()) {
            *o = v * s;
        }
        PerDimQuery { c, s: 0.0, w, q8: &[], q16: &[] }
    }

    /// The float-mode score of a code (length checked by the caller).
    fn score_float(&self, q: &PerDimQuery<'_>, code: &[u8]) -> Result<f32> {
        match self.bits {
            8 => Ok(q.c + crate::simd::dot_u8_f32(code, q.w)),
            4 => Ok(q.c + crate::simd::dot_u4_f32(code, q.w)),
            _ => {
                let mut levels = [0u8; CHUNK];
                let mut total = q.c;
                for (c, wc) in q.w.chunks(CHUNK).enumerate() {
                    unpack_at(code, self.bits, c * CHUNK, &mut levels[..wc.len()])?;
                    total += crate::simd::dot_u8_f32(&levels[..wc.len()], wc);
                }
                Ok(total)
            }
        }
    }
}

impl<P: AsRef<[f32]>> ScoreSymmetric for PerDimUniform<P> {
    /// `⟨x̂, ŷ⟩` of the two reconstructions, accumulated in `f64`.
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32> {
        check_code(self.code_len(), a.len())?;
        check_code(self.code_len(), b.len())?;
        let (base, step) = (self.base(), self.step());
        let (mut la, mut lb) = ([0u8; CHUNK], [0u8; CHUNK]);
        let mut total = 0.0f64;
        let mut s0 = 0;
        while s0 < self.dim() {
            let len = (self.dim() - s0).min(CHUNK);
            unpack_at(a, self.bits, s0, &mut la[..len])?;
            unpack_at(b, self.bits, s0, &mut lb[..len])?;
            for j in 0..len {
                let (bj, sj) = (base[s0 + j], step[s0 + j]);
                let x = bj + f32::from(la[j]) * sj;
                let y = bj + f32::from(lb[j]) * sj;
                total += f64::from(x) * f64::from(y);
            }
            s0 += len;
        }
        Ok(total as f32)
    }
}

impl<P: AsRef<[f32]>> Symbols for PerDimUniform<P> {
    fn symbols_per_vector(&self) -> usize {
        self.dim()
    }

    fn alphabet_size(&self) -> u32 {
        qmax(self.bits, self.symmetric) + 1
    }

    fn side_len(&self) -> usize {
        0
    }

    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_code(0, side.len())?;
        split_levels(code, self.bits, self.alphabet_size(), symbols, self.dim())
    }

    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_code(0, side.len())?;
        join_levels(symbols, self.bits, self.alphabet_size(), code, self.dim())
    }
}

/// A [`PerDimUniform`] that scores float queries only ([`ScanMode::Float`], whatever scan mode
/// the codec was loaded with), made by [`PerDimUniform::float_only`]. Codes, decoding, symbols
/// and float scores are exactly the codec's; the type only leaves the integer-query scan code
/// (the `i8`/`i16` query rounding and integer dots) out of programs that never score in an
/// integer mode, which saves flash on microcontrollers.
#[derive(Clone, Debug, PartialEq)]
pub struct PerDimFloat<P: AsRef<[f32]>>(PerDimUniform<P>);

impl<P: AsRef<[f32]>> PerDimUniform<P> {
    /// This codec scoring float queries only (see [`PerDimFloat`]): its [`ScanMode`] becomes
    /// [`ScanMode::Float`] (the codes are the same in every mode).
    pub fn float_only(self) -> PerDimFloat<P> {
        PerDimFloat(PerDimUniform { scan: ScanMode::Float, ..self })
    }
}

impl<P: AsRef<[f32]>> PerDimFloat<P> {
    /// The codec itself (in [`ScanMode::Float`]).
    pub fn inner(&self) -> &PerDimUniform<P> {
        &self.0
    }

    /// The codec itself (in [`ScanMode::Float`]).
    pub fn into_inner(self) -> PerDimUniform<P> {
        self.0
    }
}

impl<P: AsRef<[f32]>> Codec for PerDimFloat<P> {
    crate::codec::forward_codec!(0);
}

impl<P: AsRef<[f32]>> Decode for PerDimFloat<P> {
    crate::codec::forward_decode!(0);
}

impl<P: AsRef<[f32]>> Score for PerDimFloat<P> {
    type Query<'s>
        = PerDimQuery<'s>
    where
        P: 's;

    /// `dim` words.
    fn query_scratch_len(&self) -> usize {
        self.0.dim()
    }

    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }

    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<PerDimQuery<'s>> {
        let c = &self.0;
        check_dim(c.dim(), q.len())?;
        check_scratch(c.dim(), scratch.len())?;
        check_finite(q)?;
        Ok(c.prepare_float(q, crate::simd::dot(q, c.base()), scratch))
    }

    fn score(&self, q: &PerDimQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.0.code_len(), code.len())?;
        self.0.score_float(q, code)
    }

    /// As [`PerDimUniform`]'s in [`ScanMode::Float`] (the same bits as [`score`](Score::score)).
    fn score_batch(&self, q: &PerDimQuery<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let cl = self.0.code_len();
        check_code(out.len().checked_mul(cl).ok_or(Error::Overflow)?, codes.len())?;
        for (code, o) in codes.chunks_exact(cl).zip(out.iter_mut()) {
            *o = self.0.score_float(q, code)?;
        }
        Ok(())
    }
}

impl<P: AsRef<[f32]>> ScoreSymmetric for PerDimFloat<P> {
    /// As [`PerDimUniform`]'s.
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32> {
        self.0.score_codes(a, b)
    }
}

impl<P: AsRef<[f32]>> Symbols for PerDimFloat<P> {
    fn symbols_per_vector(&self) -> usize {
        self.0.symbols_per_vector()
    }

    fn alphabet_size(&self) -> u32 {
        self.0.alphabet_size()
    }

    fn side_len(&self) -> usize {
        self.0.side_len()
    }

    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        self.0.split_symbols(code, symbols, side)
    }

    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        self.0.join_symbols(symbols, side, code)
    }
}
