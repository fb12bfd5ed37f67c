//! Low-precision float formats: f16, bf16, FP8 (E4M3, E5M2), FP4 (E2M1), E8M0 scales, and the
//! block formats MXFP4, MXFP8 and NVFP4 (SPECS §14).
//!
//! # Conversions
//!
//! Every `*_from_f32` rounds to nearest, ties to even. Overflow (a value whose correctly rounded
//! magnitude exceeds the largest finite value of the format) is handled as follows:
//!
//! | format | largest finite | overflow / ±inf input | NaN input | NaN code points |
//! |---|---|---|---|---|
//! | f16 | 65504 | ±inf (IEEE) | quiet NaN, top payload bits kept | exponent all ones, mantissa ≠ 0 |
//! | bf16 | ≈3.39e38 | ±inf (IEEE) | quiet NaN, top payload bits kept | exponent all ones, mantissa ≠ 0 |
//! | E4M3 | 448 | **saturates** to ±448 (the format has no inf) | `S.1111.111` | `S.1111.111` only |
//! | E5M2 | 57344 | ±inf (IEEE-like) | quiet NaN `S.11111.10` | exponent all ones, mantissa ≠ 0 |
//! | E2M1 | 6 | **saturates** to ±6 (no inf) | `+0` (the format has no NaN) | none |
//!
//! Subnormals of every format are produced and decoded exactly. `*_to_f32` is exact (every value
//! of these formats is an `f32`); NaN code points decode to a quiet NaN.
//!
//! # Configuration names (evaluation harness)
//!
//! | name | codec |
//! |---|---|
//! | `f16` | `FloatCodec::new(d, FloatFormat::F16)` |
//! | `bf16` | `FloatCodec::new(d, FloatFormat::Bf16)` |
//! | `fp8e4m3` | `FloatCodec::new(d, FloatFormat::E4M3)` (per-vector scale) |
//! | `fp8e5m2` | `FloatCodec::new(d, FloatFormat::E5M2)` (per-vector scale) |
//! | `fp4e2m1` | `FloatCodec::new(d, FloatFormat::E2M1)` (per-vector scale) |
//! | `mxfp4` | `FloatCodec::new(d, FloatFormat::MxFp4)` |
//! | `mxfp8` | `FloatCodec::new(d, FloatFormat::MxFp8)` |
//! | `nvfp4` | `FloatCodec::new(d, FloatFormat::NvFp4)` |
//!
//! The 8-bit formats decode through 256-entry `const` tables ([`E4M3_TABLE`], [`E5M2_TABLE`]),
//! f16 by bit manipulation.

// ---------------------------------------------------------------------------------------------
// Generic minifloat rounding
// ---------------------------------------------------------------------------------------------

/// Parameters of a small sign/exponent/mantissa format (magnitude part only).
#[derive(Clone, Copy)]
struct Mini {
    /// Mantissa bits.
    m: u32,
    /// Exponent bias.
    bias: i32,
    /// Largest finite magnitude code.
    max_code: u32,
    /// Magnitude code returned when the rounded value exceeds `max_code`.
    overflow_code: u32,
}

const F16: Mini = Mini { m: 10, bias: 15, max_code: 0x7BFF, overflow_code: 0x7C00 };
const E4M3: Mini = Mini { m: 3, bias: 7, max_code: 0x7E, overflow_code: 0x7E };
const E5M2: Mini = Mini { m: 2, bias: 15, max_code: 0x7B, overflow_code: 0x7C };
const E2M1: Mini = Mini { m: 1, bias: 1, max_code: 0x7, overflow_code: 0x7 };

/// `sig / 2^shift` rounded to nearest, ties to even (`shift ≥ 1`).
#[inline(always)]
const fn rne(sig: u32, shift: u32) -> u32 {
    if shift >= 32 {
        return 0;
    }
    let q = sig >> shift;
    let rem = sig & ((1u32 << shift) - 1);
    let half = 1u32 << (shift - 1);
    if rem > half || (rem == half && (q & 1) == 1) { q + 1 } else { q }
}

/// Magnitude code of `|x|` (given as f32 bits with the sign cleared; finite, not NaN; or +inf,
/// which lands on `overflow_code`).
#[inline(always)]
const fn mini_from_abs_bits(abits: u32, f: Mini) -> u32 {
    let exp = (abits >> 23) as i32;
    if exp == 0 {
        // Zero or an f32 subnormal (< 2^-126): far below half the smallest subnormal of any of
        // these formats (≥ 2^-24), so it rounds to zero.
        return 0;
    }
    if exp == 0xFF {
        return f.overflow_code;
    }
    let e = exp - 127;
    let sig = (abits & 0x7F_FFFF) | 0x80_0000;
    let emin = 1 - f.bias;
    let code = if e >= emin {
        // Normal in the target: round the 24-bit significand to m + 1 bits. A carry out of the
        // mantissa (q = 2^(m+1)) increments the exponent field through the addition.
        let q = rne(sig, 23 - f.m);
        ((((e - emin + 1) as u32) << f.m) + q) - (1 << f.m)
    } else {
        // Subnormal in the target: units of 2^(emin − m).
        let shift = (23 - f.m as i32) + (emin - e);
        if shift > 25 { 0 } else { rne(sig, shift as u32) }
    };
    if code > f.max_code { f.overflow_code } else { code }
}

/// Exact value of a magnitude code (no NaN/inf handling).
const fn mini_to_abs(code: u32, f: Mini) -> f32 {
    let field = code >> f.m;
    let mant = code & ((1 << f.m) - 1);
    if field == 0 {
        // Subnormal: mant · 2^(1 − bias − m), exact in f32.
        let p = 1 - f.bias - f.m as i32; // ≥ −24
        mant as f32 * f32::from_bits(((p + 127) as u32) << 23)
    } else {
        let e = field as i32 - f.bias;
        f32::from_bits((((e + 127) as u32) << 23) | (mant << (23 - f.m)))
    }
}

// ---------------------------------------------------------------------------------------------
// f16
// ---------------------------------------------------------------------------------------------

/// Converts an `f32` to IEEE binary16 bits (round to nearest even).
///
/// Overflow (`|x| ≥ 65520`) and ±inf give ±inf (`0x7C00`); NaN gives a quiet NaN keeping the
/// sign and the top 9 payload bits; results below the normal range are exact subnormals
/// (smallest `2^-24`), and values under half of that round to ±0.
#[inline]
pub fn f16_from_f32(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let abits = bits & 0x7FFF_FFFF;
    if abits > 0x7F80_0000 {
        return sign | 0x7E00 | ((abits >> 13) & 0x3FF) as u16;
    }
    sign | mini_from_abs_bits(abits, F16) as u16
}

/// Converts IEEE binary16 bits to `f32` (exact). NaN patterns decode to a quiet NaN keeping
/// sign and payload; ±inf to ±inf.
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    if h & 0x7C00 == 0x7C00 {
        let mant = h & 0x3FF;
        return f32::from_bits(sign | 0x7F80_0000 | (mant << 13) | if mant != 0 { 0x40_0000 } else { 0 });
    }
    // Shift the magnitude into f32 position (bias 127 instead of 15; f16 subnormals become f32
    // subnormals) and rescale by 2^112: exact for every finite f16, and branch-free.
    let mag = f32::from_bits((h & 0x7FFF) << 13) * f32::from_bits((112 + 127) << 23);
    f32::from_bits(sign | mag.to_bits())
}

// ---------------------------------------------------------------------------------------------
// bf16
// ---------------------------------------------------------------------------------------------

/// Converts an `f32` to bfloat16 bits (the upper half of an f32, round to nearest even).
///
/// Overflow (`|x| ≥ 2^128 − 2^119`, i.e. above the midpoint past the largest finite bf16) and
/// ±inf give ±inf; NaN gives a quiet NaN keeping sign and the top payload bits; f32 subnormals
/// round exactly to bf16 subnormals (smallest `2^-133`).
#[inline]
pub fn bf16_from_f32(x: f32) -> u16 {
    let bits = x.to_bits();
    if (bits & 0x7FFF_FFFF) > 0x7F80_0000 {
        return ((bits >> 16) | 0x0040) as u16;
    }
    let lsb = (bits >> 16) & 1;
    (bits.wrapping_add(0x7FFF + lsb) >> 16) as u16
}

/// Converts bfloat16 bits to `f32` (exact: the bits become the upper half of the f32). NaN
/// patterns stay NaN.
#[inline]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

// ---------------------------------------------------------------------------------------------
// FP8 E4M3 / E5M2, FP4 E2M1, E8M0
// ---------------------------------------------------------------------------------------------

/// Converts an `f32` to OCP FP8 E4M3 (bias 7, max 448, no inf; NaN = `S.1111.111`), round to
/// nearest even. Overflow and ±inf **saturate** to ±448 (`0x7E`/`0xFE`); NaN gives `0x7F` with
/// the sign of the input; subnormals (multiples of `2^-9`) are exact.
#[inline]
pub fn e4m3_from_f32(x: f32) -> u8 {
    let bits = x.to_bits();
    let sign = ((bits >> 24) & 0x80) as u8;
    let abits = bits & 0x7FFF_FFFF;
    if abits > 0x7F80_0000 {
        return sign | 0x7F;
    }
    sign | mini_from_abs_bits(abits, E4M3) as u8
}

/// Converts OCP FP8 E4M3 to `f32` (exact, by table lookup); `S.1111.111` decodes to NaN.
#[inline]
pub fn e4m3_to_f32(b: u8) -> f32 {
    E4M3_TABLE[b as usize]
}

/// Converts an `f32` to OCP FP8 E5M2 (bias 15, max 57344, IEEE-like inf/NaN), round to nearest
/// even. Overflow (`|x| ≥ 61440`) and ±inf give ±inf (`0x7C`/`0xFC`); NaN gives the quiet NaN
/// `S.11111.10`; subnormals (multiples of `2^-16`) are exact.
#[inline]
pub fn e5m2_from_f32(x: f32) -> u8 {
    let bits = x.to_bits();
    let sign = ((bits >> 24) & 0x80) as u8;
    let abits = bits & 0x7FFF_FFFF;
    if abits > 0x7F80_0000 {
        return sign | 0x7E;
    }
    sign | mini_from_abs_bits(abits, E5M2) as u8
}

/// Converts OCP FP8 E5M2 to `f32` (exact, by table lookup); inf and NaN patterns decode to inf
/// and NaN.
#[inline]
pub fn e5m2_to_f32(b: u8) -> f32 {
    E5M2_TABLE[b as usize]
}

/// Converts an `f32` to FP4 E2M1 (values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}) in the low 4 bits
/// (`S.EE.M`), round to nearest even. Overflow and ±inf **saturate** to ±6; NaN (which the
/// format cannot represent) gives `+0`.
#[inline]
pub fn e2m1_from_f32(x: f32) -> u8 {
    let bits = x.to_bits();
    let abits = bits & 0x7FFF_FFFF;
    if abits > 0x7F80_0000 {
        return 0;
    }
    let sign = ((bits >> 28) & 0x8) as u8;
    sign | mini_from_abs_bits(abits, E2M1) as u8
}

/// Converts FP4 E2M1 (low 4 bits of `b`; the high bits are ignored) to `f32` (exact).
#[inline]
pub fn e2m1_to_f32(b: u8) -> f32 {
    E2M1_TABLE[(b & 0xF) as usize]
}

/// Converts an E8M0 scale (`2^(e − 127)`, `0xFF` = NaN) to `f32` (exact; `e = 0` is the f32
/// subnormal `2^-127`).
#[inline]
pub fn e8m0_to_f32(e: u8) -> f32 {
    match e {
        0xFF => f32::NAN,
        0 => f32::from_bits(0x0040_0000),
        _ => f32::from_bits((e as u32) << 23),
    }
}

/// The E8M0 code of the power of two `2^k`, with `k` clamped to the representable `−127..=127`.
#[inline]
pub fn e8m0_from_exponent(k: i32) -> u8 {
    (k.clamp(-127, 127) + 127) as u8
}

/// `floor(log2(x))` of a positive finite `f32` (also for subnormals); `None` for `x ≤ 0`, NaN
/// or inf.
#[inline]
pub fn floor_log2(x: f32) -> Option<i32> {
    if !(x > 0.0 && x.is_finite()) {
        return None;
    }
    let bits = x.to_bits();
    let exp = (bits >> 23) as i32;
    if exp == 0 {
        // Subnormal: value = mant · 2^-149.
        let mant = bits & 0x7F_FFFF;
        Some(31 - mant.leading_zeros() as i32 - 149)
    } else {
        Some(exp - 127)
    }
}

const fn build_table(f: Mini, nan_all_ones: bool, ieee: bool) -> [f32; 256] {
    let mut t = [0.0f32; 256];
    let mut i = 0;
    while i < 256 {
        let mag = (i & 0x7F) as u32;
        let v = if nan_all_ones && mag == 0x7F {
            f32::NAN
        } else if ieee && mag >= f.overflow_code {
            if mag == f.overflow_code { f32::INFINITY } else { f32::NAN }
        } else {
            mini_to_abs(mag, f)
        };
        t[i] = if i & 0x80 != 0 { -v } else { v };
        i += 1;
    }
    t
}

/// Decode table of OCP FP8 E4M3: entry `b` is the value of code `b` (`0x7F`/`0xFF` are NaN).
pub const E4M3_TABLE: [f32; 256] = build_table(E4M3, true, false);
/// Decode table of OCP FP8 E5M2: entry `b` is the value of code `b` (inf at `0x7C`/`0xFC`, NaN
/// above).
pub const E5M2_TABLE: [f32; 256] = build_table(E5M2, false, true);
/// Decode table of FP4 E2M1: entry `b` (`0..16`, `S.EE.M`) is its value.
pub const E2M1_TABLE: [f32; 16] =
    [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0];

/// Both E2M1 values of a byte (low nibble first), for decoding two elements per lookup.
const E2M1_PAIRS: [[f32; 2]; 256] = {
    let mut t = [[0.0f32; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [E2M1_TABLE[i & 0xF], E2M1_TABLE[i >> 4]];
        i += 1;
    }
    t
};

/// Branch-free [`f16_to_f32`] (same result for all 65,536 patterns), so slice loops vectorize.
#[inline(always)]
pub(crate) fn f16_to_f32_fast(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let mag = f32::from_bits((h & 0x7FFF) << 13) * f32::from_bits((112 + 127) << 23);
    let mant = h & 0x3FF;
    // inf / NaN (quiet bit set when the mantissa is non-zero).
    let special = 0x7F80_0000 | (mant << 13) | (((mant + 0x3FF) >> 10) << 22);
    let is_special = 0u32.wrapping_sub(((h & 0x7C00) == 0x7C00) as u32);
    f32::from_bits(sign | (mag.to_bits() & !is_special) | (special & is_special))
}

/// Branch-free [`f16_from_f32`] for finite `x` (same result; `|x| ≥ 65520` gives ±inf).
#[inline(always)]
fn f16_from_f32_finite(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = (bits >> 16) & 0x8000;
    let a = bits & 0x7FFF_FFFF;
    // Normal target: rebias (127 → 15), round the 13 dropped bits to nearest even; a carry
    // propagates into the exponent (up to inf = 0x7C00). Clamp larger values to inf.
    let odd = (a >> 13) & 1;
    let normal = (a.wrapping_sub(112 << 23).wrapping_add(0xFFF + odd) >> 13).min(0x7C00);
    // Subnormal target (|x| < 2^-14): adding 0.5 (ulp 2^-24) makes the FPU round to a multiple
    // of the smallest f16 subnormal; the low bits are then the f16 code.
    let sub = (f32::from_bits(a) + 0.5).to_bits().wrapping_sub(0x3F00_0000);
    let m = if a < (113 << 23) { sub } else { normal };
    (sign | m) as u16
}

/// Largest finite magnitude of E4M3.
pub const E4M3_MAX: f32 = 448.0;
/// Largest finite magnitude of E5M2.
pub const E5M2_MAX: f32 = 57344.0;
/// Largest finite magnitude of E2M1.
pub const E2M1_MAX: f32 = 6.0;

// ---------------------------------------------------------------------------------------------
// The codec
// ---------------------------------------------------------------------------------------------

use crate::codec::{Codec, Decode, Estimator, Score, ScoreSymmetric, Symbols};
use crate::error::{Error, Result, check_code, check_dim, check_finite};

/// A float storage format for [`FloatCodec`]. Layouts (all little-endian; scales first, which
/// are the [`Symbols`] side bytes):
///
/// | format | code layout | bits per dim |
/// |---|---|---|
/// | `F16`, `Bf16` | `d` × u16 | 16 |
/// | `E4M3`, `E5M2` | f32 per-vector scale `s`, `d` × u8 | 8 + 32/d |
/// | `E2M1` | f32 per-vector scale `s`, `⌈d/2⌉` bytes (low nibble first) | 4 + 32/d (+4/d if d odd) |
/// | `MxFp4` | `⌈d/32⌉` E8M0 block scales, `⌈d/2⌉` bytes of E2M1 | 4.25 for d a multiple of 32 |
/// | `MxFp8` | `⌈d/32⌉` E8M0 block scales, `d` × E4M3 | 8.25 for d a multiple of 32 |
/// | `NvFp4` | f32 per-vector scale `S`, `⌈d/16⌉` E4M3 block scales, `⌈d/2⌉` bytes of E2M1 | 4.5 + 32/d |
///
/// The per-vector scale of `E4M3`/`E5M2`/`E2M1` maps the vector's absmax to the format's
/// largest finite value (`s = absmax / max`), so small-magnitude embeddings (coordinates ≈ 0.05)
/// use the normal range instead of subnormals. MX block scales are `2^(⌊log2 amax⌋ − emax)`
/// with `emax = 2` (E2M1) or `8` (E4M3), elements saturating at ±6 / ±448. NVFP4's "tensor"
/// scale is per vector here: `S = absmax / (448 · 6)`, block scales `E4M3(amax_b / 6 / S)`. A
/// tail block shorter than the block size gets its own scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatFormat {
    /// IEEE binary16, no scale.
    F16,
    /// bfloat16, no scale.
    Bf16,
    /// OCP FP8 E4M3 with a per-vector f32 scale.
    E4M3,
    /// OCP FP8 E5M2 with a per-vector f32 scale.
    E5M2,
    /// FP4 E2M1 with a per-vector f32 scale.
    E2M1,
    /// OCP MXFP4: blocks of 32 E2M1 with an E8M0 scale.
    MxFp4,
    /// OCP MXFP8: blocks of 32 E4M3 with an E8M0 scale.
    MxFp8,
    /// NVFP4: blocks of 16 E2M1 with an E4M3 scale, plus an f32 scale per vector.
    NvFp4,
}

/// Largest number of elements decoded at a time (one "unit": a block, or 64 elements).
const UNIT: usize = 64;

/// Elements per lookup scan of the block-scaled formats (whole blocks of 16 and 32).
const LUT_CHUNK: usize = 256;

/// Elements per lookup scan of the block-scaled FP4 formats, whose block scales multiply the
/// query in registers (no scaled copy): longer scans, so one call covers a vector of up to
/// 1,024 elements.
const FP4_CHUNK: usize = 1024;

/// A vector codec storing each coordinate in a low-precision float format ([`FloatFormat`]).
///
/// Bits per dimension: see [`FloatFormat`] (all scales are inside the code and counted).
/// Scoring is exact on the reconstruction ([`Estimator::Reconstruction`]); decode is
/// table-based for the 8- and 4-bit formats.
///
/// Encoding rejects NaN/±inf with [`Error::NonFinite`]; for `F16`/`Bf16` a finite value that
/// overflows the format (|x| ≥ 65520 for f16) is also rejected with [`Error::NonFinite`] rather
/// than stored as inf. The scaled formats cannot overflow (elements saturate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloatCodec {
    dim: usize,
    format: FloatFormat,
    code_len: usize,
    side_len: usize,
}

impl FloatCodec {
    /// A codec for `dim`-vectors in `format`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=`[`MAX_DIM`](crate::persist::MAX_DIM).
    pub fn new(dim: usize, format: FloatFormat) -> Result<FloatCodec> {
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(Error::InvalidParameter("dim must be in 1..=65536"));
        }
        let half = dim / 2 + dim % 2;
        let (side, elems) = match format {
            FloatFormat::F16 | FloatFormat::Bf16 => (0, dim.checked_mul(2).ok_or(Error::Overflow)?),
            FloatFormat::E4M3 | FloatFormat::E5M2 => (4, dim),
            FloatFormat::E2M1 => (4, half),
            FloatFormat::MxFp4 => (dim.div_ceil(32), half),
            FloatFormat::MxFp8 => (dim.div_ceil(32), dim),
            FloatFormat::NvFp4 => (4 + dim.div_ceil(16), half),
        };
        let code_len = side.checked_add(elems).ok_or(Error::Overflow)?;
        Ok(FloatCodec { dim, format, code_len, side_len: side })
    }

    /// The format.
    pub fn format(&self) -> FloatFormat {
        self.format
    }

    /// Elements per unit (block size for the block formats).
    fn unit_len(&self) -> usize {
        match self.format {
            FloatFormat::MxFp4 | FloatFormat::MxFp8 => 32,
            FloatFormat::NvFp4 => 16,
            _ => UNIT,
        }
    }

    /// The per-vector scale, which must be finite, `≥ 0` and keep `max · s` finite (`max` the
    /// largest element magnitude it multiplies), so every decoded value is finite.
    fn per_vector_scale(code: &[u8], max: f32) -> Result<f32> {
        let s = f32::from_le_bytes([code[0], code[1], code[2], code[3]]);
        if s >= 0.0 && (s * max).is_finite() { Ok(s) } else { Err(Error::Corrupt("float codec scale")) }
    }

    /// The largest element magnitude a per-vector scale multiplies (`E4M3_MAX · E2M1_MAX` for
    /// NVFP4, whose block scales are E4M3).
    fn scale_bound(&self) -> f32 {
        match self.format {
            FloatFormat::E4M3 => E4M3_MAX,
            FloatFormat::E5M2 => E5M2_MAX,
            FloatFormat::NvFp4 => E4M3_MAX * E2M1_MAX,
            _ => E2M1_MAX,
        }
    }

    /// Decodes unit `j` unscaled into `buf`, returning its length and scale factor.
    fn unit(&self, code: &[u8], j: usize, buf: &mut [f32; UNIT]) -> Result<(usize, f32)> {
        let u = self.unit_len();
        let start = j * u;
        let len = u.min(self.dim - start);
        let side = self.side_len;
        let el = &code[side..];
        let scale = match self.format {
            FloatFormat::F16 | FloatFormat::Bf16 => {
                let src = el[2 * start..2 * (start + len)].chunks_exact(2);
                if self.format == FloatFormat::F16 {
                    for (o, b) in buf[..len].iter_mut().zip(src) {
                        *o = f16_to_f32_fast(u16::from_le_bytes([b[0], b[1]]));
                    }
                } else {
                    for (o, b) in buf[..len].iter_mut().zip(src) {
                        *o = bf16_to_f32(u16::from_le_bytes([b[0], b[1]]));
                    }
                }
                check_elements(&buf[..len])?;
                1.0
            }
            FloatFormat::E4M3 | FloatFormat::E5M2 | FloatFormat::MxFp8 => {
                let t = if self.format == FloatFormat::E5M2 { &E5M2_TABLE } else { &E4M3_TABLE };
                for (o, &b) in buf[..len].iter_mut().zip(&el[start..start + len]) {
                    *o = t[b as usize];
                }
                check_elements(&buf[..len])?;
                if self.format == FloatFormat::MxFp8 {
                    self.block_scale(code, j)?
                } else {
                    Self::per_vector_scale(code, self.scale_bound())?
                }
            }
            FloatFormat::E2M1 | FloatFormat::MxFp4 | FloatFormat::NvFp4 => {
                // Units start at even element indices: two elements per byte, one lookup each.
                let bytes = &el[start / 2..(start + len).div_ceil(2)];
                for (o, &b) in buf.chunks_exact_mut(2).zip(bytes) {
                    o.copy_from_slice(&E2M1_PAIRS[b as usize]);
                }
                match self.format {
                    FloatFormat::E2M1 => Self::per_vector_scale(code, E2M1_MAX)?,
                    _ => self.block_scale(code, j)?,
                }
            }
        };
        Ok((len, scale))
    }

    fn units(&self) -> usize {
        self.dim.div_ceil(self.unit_len())
    }
}

/// [`Error::Corrupt`] if a decoded element is NaN or ±inf (an f16/bf16/FP8 NaN or inf code
/// point: the encoder never writes one).
#[inline(always)]
fn check_elements(v: &[f32]) -> Result<()> {
    let special = v.iter().fold(0u32, |a, x| a | u32::from(x.to_bits() & 0x7F80_0000 == 0x7F80_0000));
    if special != 0 { Err(Error::Corrupt("float codec element is NaN or inf")) } else { Ok(()) }
}

/// The value of an MX block's E8M0 scale `e`, which the encoder writes at most
/// `127 + 127 − emax` (the scale of the largest finite `f32`): larger codes (and the NaN code
/// `0xFF`) are [`Error::Corrupt`], so every decoded element stays finite.
#[inline(always)]
fn mx_scale(e: u8, emax: u8) -> Result<f32> {
    if e > 254 - emax {
        return Err(Error::Corrupt("E8M0 scale is NaN or above the encoder's range"));
    }
    Ok(e8m0_to_f32(e))
}

impl Codec for FloatCodec {
    fn dim(&self) -> usize {
        self.dim
    }

    fn code_len(&self) -> usize {
        self.code_len
    }

    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len, code.len())?;
        check_finite(x)?;
        let (side, el) = code.split_at_mut(self.side_len);
        let put_nib = |el: &mut [u8], i: usize, v: u8| {
            let sh = (i % 2) * 4;
            el[i / 2] = (el[i / 2] & !(0xF << sh)) | (v << sh);
        };
        match self.format {
            FloatFormat::F16 => {
                // `x` is finite: branch-free conversion, overflow flagged once at the end.
                let mut over = 0u16;
                for (&v, o) in x.iter().zip(el.chunks_exact_mut(2)) {
                    let h = f16_from_f32_finite(v);
                    over |= ((h & 0x7C00) == 0x7C00) as u16;
                    o.copy_from_slice(&h.to_le_bytes());
                }
                if over != 0 {
                    return Err(Error::NonFinite);
                }
            }
            FloatFormat::Bf16 => {
                // `x` is finite (no NaN branch needed): RNE on the upper half, overflow flagged once.
                let mut over = 0u16;
                for (&v, o) in x.iter().zip(el.chunks_exact_mut(2)) {
                    let bits = v.to_bits();
                    let h = (bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16) as u16;
                    over |= ((h & 0x7F80) == 0x7F80) as u16;
                    o.copy_from_slice(&h.to_le_bytes());
                }
                if over != 0 {
                    return Err(Error::NonFinite);
                }
            }
            FloatFormat::E4M3 | FloatFormat::E5M2 | FloatFormat::E2M1 => {
                let max = match self.format {
                    FloatFormat::E4M3 => E4M3_MAX,
                    FloatFormat::E5M2 => E5M2_MAX,
                    _ => E2M1_MAX,
                };
                let s = crate::simd::abs_max(x) / max;
                if !(s * max).is_finite() {
                    // The decoder refuses such a scale: `max · s` must stay finite.
                    return Err(Error::NonFinite);
                }
                side.copy_from_slice(&s.to_le_bytes());
                el.fill(0);
                if s > 0.0 {
                    for (i, &v) in x.iter().enumerate() {
                        let y = v / s;
                        match self.format {
                            FloatFormat::E4M3 => el[i] = e4m3_from_f32(y),
                            FloatFormat::E5M2 => el[i] = e5m2_from_f32(y),
                            _ => put_nib(el, i, e2m1_from_f32(y)),
                        }
                    }
                }
            }
            FloatFormat::MxFp4 | FloatFormat::MxFp8 => {
                let emax = if self.format == FloatFormat::MxFp4 { 2 } else { 8 };
                el.fill(0);
                for (j, blk) in x.chunks(32).enumerate() {
                    let amax = crate::simd::abs_max(blk);
                    let e = match floor_log2(amax) {
                        Some(k) => e8m0_from_exponent(k - emax),
                        None => 0,
                    };
                    side[j] = e;
                    let sc = e8m0_to_f32(e);
                    for (k, &v) in blk.iter().enumerate() {
                        let i = j * 32 + k;
                        if self.format == FloatFormat::MxFp4 {
                            put_nib(el, i, e2m1_from_f32(v / sc));
                        } else {
                            el[i] = e4m3_from_f32(v / sc);
                        }
                    }
                }
            }
            FloatFormat::NvFp4 => {
                let big = crate::simd::abs_max(x) / (E4M3_MAX * E2M1_MAX);
                if !(big * (E4M3_MAX * E2M1_MAX)).is_finite() {
                    return Err(Error::NonFinite);
                }
                side[..4].copy_from_slice(&big.to_le_bytes());
                el.fill(0);
                for (j, blk) in x.chunks(16).enumerate() {
                    if big == 0.0 {
                        side[4 + j] = 0;
                        continue;
                    }
                    let amax = crate::simd::abs_max(blk);
                    let sb = e4m3_from_f32(amax / E2M1_MAX / big) & 0x7F;
                    side[4 + j] = sb;
                    let sc = E4M3_TABLE[sb as usize] * big;
                    if !(sc * E2M1_MAX).is_finite() {
                        return Err(Error::NonFinite);
                    }
                    if sc > 0.0 {
                        for (k, &v) in blk.iter().enumerate() {
                            put_nib(el, j * 16 + k, e2m1_from_f32(v / sc));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Decode for FloatCodec {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, out.len())?;
        let mut buf = [0.0f32; UNIT];
        let u = self.unit_len();
        for (j, o) in out.chunks_mut(u).enumerate() {
            let (len, s) = self.unit(code, j, &mut buf)?;
            for (d, &v) in o.iter_mut().zip(&buf[..len]) {
                *d = v * s;
            }
        }
        Ok(())
    }
}

/// A query prepared for [`FloatCodec`]: the query itself (borrowed from the scratch).
#[derive(Debug)]
pub struct FloatQuery<'s> {
    q: &'s [f32],
}

impl Score for FloatCodec {
    type Query<'s> = FloatQuery<'s>;

    fn query_scratch_len(&self) -> usize {
        self.dim
    }

    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }

    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<FloatQuery<'s>> {
        let (s, _) = crate::codec::copy_query(self.dim, q, self.dim, scratch)?;
        Ok(FloatQuery { q: s })
    }

    fn score(&self, q: &FloatQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, q.q.len())?;
        self.score_unchecked(q.q, code)
    }

    /// Same results as [`score`](Score::score) per code (bit for bit); lengths checked once.
    fn score_batch(&self, q: &FloatQuery<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(out.len() * self.code_len, codes.len())?;
        check_dim(self.dim, q.q.len())?;
        for (code, o) in codes.chunks_exact(self.code_len).zip(out.iter_mut()) {
            *o = self.score_unchecked(q.q, code)?;
        }
        Ok(())
    }
}

impl FloatCodec {
    /// `⟨q, decode(code)⟩` unit by unit (lengths already checked).
    #[inline]
    fn score_unchecked(&self, q: &[f32], code: &[u8]) -> Result<f32> {
        // f16 and bf16 convert in registers ([`crate::simd::dot_f16`]); a NaN/inf element makes
        // the sum non-finite, and so does an overflowing sum: both take the checked path below,
        // which tells them apart (`Corrupt` for the element).
        let el = &code[self.side_len..];
        let fast = match self.format {
            FloatFormat::F16 => Some(crate::simd::dot_f16(el, q)),
            FloatFormat::Bf16 => Some(crate::simd::dot_bf16(el, q)),
            _ => None,
        };
        if let Some(r) = fast.filter(|r| r.is_finite()) {
            return Ok(r);
        }
        if let Some(r) = self.score_lut(q, code)? {
            return Ok(r);
        }
        let mut buf = [0.0f32; UNIT];
        let mut acc = 0.0f32;
        for (j, qb) in q.chunks(self.unit_len()).enumerate() {
            let (len, s) = self.unit(code, j, &mut buf)?;
            acc += crate::simd::dot(qb, &buf[..len]) * s;
        }
        Ok(acc)
    }
}

impl FloatCodec {
    /// The float-query scan of the 8- and 4-bit formats without decoding to a buffer: FP8 codes
    /// convert in registers ([`crate::simd::dot_e4m3`], [`crate::simd::dot_e5m2`]: widened to
    /// binary16 patterns, F16C), FP4 codes index the 16 E2M1 values by a register permute
    /// ([`crate::simd::dot_lut_f32`]); the per-vector scale multiplies the sum, block scales are
    /// folded into the query chunk by chunk. `Ok(None)` for the 16-bit formats and whenever the sum is
    /// not finite: the checked path then tells a NaN/inf element code (`Corrupt`) from an
    /// overflowing sum. Corrupt scales are `Err` here as there.
    #[inline]
    fn score_lut(&self, q: &[f32], code: &[u8]) -> Result<Option<f32>> {
        let el = &code[self.side_len..];
        // The element scan of a run of codes against (a block-scaled part of) the query.
        let scan = |codes: &[u8], q: &[f32]| match self.format {
            FloatFormat::E4M3 | FloatFormat::MxFp8 => crate::simd::dot_e4m3(codes, q),
            FloatFormat::E5M2 => crate::simd::dot_e5m2(codes, q),
            _ => crate::simd::dot_lut_f32(codes, 4, &E2M1_TABLE, q),
        };
        let bits = match self.format {
            FloatFormat::E4M3 | FloatFormat::E5M2 | FloatFormat::MxFp8 => 8,
            FloatFormat::E2M1 | FloatFormat::MxFp4 | FloatFormat::NvFp4 => 4,
            FloatFormat::F16 | FloatFormat::Bf16 => return Ok(None),
        };
        let r = match self.format {
            FloatFormat::E4M3 | FloatFormat::E5M2 | FloatFormat::E2M1 => {
                scan(el, q) * Self::per_vector_scale(code, self.scale_bound())?
            }
            _ => {
                // The block scales go into the query: `Σ_b s_b·⟨q_b, T[c_b]⟩ = ⟨q ⊙ s, T[c]⟩`,
                // one lookup scan per chunk of `LUT_CHUNK` elements (`FP4_CHUNK` for FP4; whole
                // blocks of 16 or 32, so chunks start on a byte) instead of one short call per
                // block.
                let u = self.unit_len();
                let chunk = if bits == 4 { FP4_CHUNK } else { LUT_CHUNK };
                let per = chunk / u;
                // NVFP4's per-vector scale, validated once per code.
                let big = if self.format == FloatFormat::NvFp4 {
                    Self::per_vector_scale(code, self.scale_bound())?
                } else {
                    1.0
                };
                // All of a chunk's scales in one branch-free pass; a bad one (rare: corrupt
                // codes) takes the checked per-block path for its exact error.
                let scales = |c: usize, sc: &mut [f32]| -> Result<()> {
                    if !self.block_scales_fast(code, c * per, big, sc) {
                        for (k, s) in sc.iter_mut().enumerate() {
                            *s = self.block_scale_with(code, c * per + k, big)?;
                        }
                    }
                    Ok(())
                };
                let mut sc = [0.0f32; FP4_CHUNK / 16];
                let mut acc = 0.0f32;
                let chunks = q.chunks(chunk).zip(el.chunks(chunk * bits as usize / 8)).enumerate();
                if bits == 4 {
                    // FP4: the block scales multiply the query in registers (the same rounded
                    // products `q_i·s_b` as the MXFP8 path's scaled copy).
                    let shift = u.trailing_zeros();
                    for (c, (qc, ec)) in chunks {
                        let nb = qc.len().div_ceil(u);
                        scales(c, &mut sc[..nb])?;
                        acc += crate::simd::dot_lut_f32_scaled(ec, 4, &E2M1_TABLE, qc, &sc[..nb], shift);
                    }
                    return Ok(acc.is_finite().then_some(acc));
                }
                let mut qs = [0.0f32; LUT_CHUNK];
                for (c, (qc, ec)) in chunks {
                    let nb = qc.len().div_ceil(u);
                    scales(c, &mut sc[..nb])?;
                    if u == 16 {
                        scale_blocks::<16>(qc, &sc[..nb], &mut qs);
                    } else {
                        scale_blocks::<32>(qc, &sc[..nb], &mut qs);
                    }
                    acc += scan(ec, &qs[..qc.len()]);
                }
                acc
            }
        };
        Ok(r.is_finite().then_some(r))
    }

    /// The scale of block `j` of a block-scaled format (MXFP4, MXFP8, NVFP4), validated as
    /// [`unit`](Self::unit) does.
    #[inline]
    fn block_scale(&self, code: &[u8], j: usize) -> Result<f32> {
        let big =
            if self.format == FloatFormat::NvFp4 { Self::per_vector_scale(code, self.scale_bound())? } else { 1.0 };
        self.block_scale_with(code, j, big)
    }

    /// The scales of blocks `first..first + out.len()` as
    /// [`block_scale_with`](Self::block_scale_with) gives them, in one branch-free pass: `true`
    /// when every one is valid (then `out` holds exactly `block_scale_with`'s values), `false`
    /// when one is not (`out` is then unspecified; the caller takes the checked path for the
    /// error).
    #[inline(always)]
    fn block_scales_fast(&self, code: &[u8], first: usize, big: f32, out: &mut [f32]) -> bool {
        match self.format {
            FloatFormat::MxFp8 | FloatFormat::MxFp4 => {
                let top = if self.format == FloatFormat::MxFp8 { 254 - 8 } else { 254 - 2 };
                let Some(es) = code.get(first..first + out.len()) else { return false };
                let mut bad = false;
                for (o, &e) in out.iter_mut().zip(es) {
                    bad |= e > top;
                    // `e8m0_to_f32` for `e ≤ 252`: the exponent field, or 2⁻¹²⁷ for `e = 0`.
                    *o = f32::from_bits(if e == 0 { 0x0040_0000 } else { u32::from(e) << 23 });
                }
                !bad
            }
            _ => {
                let Some(bs) = code.get(4 + first..4 + first + out.len()) else { return false };
                let mut ok = true;
                for (o, &b) in out.iter_mut().zip(bs) {
                    ok &= b & 0x80 == 0 && b != 0x7F;
                    let sc = E4M3_TABLE[usize::from(b)] * big;
                    ok &= (sc * E2M1_MAX).is_finite();
                    *o = sc;
                }
                ok
            }
        }
    }

    /// [`block_scale`](Self::block_scale) given NVFP4's validated per-vector scale `big`
    /// (ignored by the MX formats).
    #[inline(always)]
    fn block_scale_with(&self, code: &[u8], j: usize, big: f32) -> Result<f32> {
        match self.format {
            FloatFormat::MxFp8 => mx_scale(code[j], 8),
            FloatFormat::MxFp4 => mx_scale(code[j], 2),
            _ => {
                let sb = code[4 + j];
                if sb & 0x80 != 0 || sb == 0x7F {
                    return Err(Error::Corrupt("NVFP4 block scale negative or NaN"));
                }
                let sc = E4M3_TABLE[sb as usize] * big;
                if !(sc * E2M1_MAX).is_finite() {
                    return Err(Error::Corrupt("NVFP4 block scale too large"));
                }
                Ok(sc)
            }
        }
    }
}

/// `out[i] = q[i]·scales[i / U]` for `i < q.len()` (blocks of `U` elements; the last may be
/// short).
#[inline(always)]
fn scale_blocks<const U: usize>(q: &[f32], scales: &[f32], out: &mut [f32]) {
    for ((qb, ob), &s) in q.chunks(U).zip(out.chunks_mut(U)).zip(scales) {
        if let (Ok(qb), Ok(ob)) = (<&[f32; U]>::try_from(qb), <&mut [f32; U]>::try_from(&mut *ob)) {
            for (o, &v) in ob.iter_mut().zip(qb) {
                *o = v * s;
            }
        } else {
            for (o, &v) in ob.iter_mut().zip(qb) {
                *o = v * s;
            }
        }
    }
}

impl ScoreSymmetric for FloatCodec {
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32> {
        check_code(self.code_len, a.len())?;
        check_code(self.code_len, b.len())?;
        let (mut ba, mut bb) = ([0.0f32; UNIT], [0.0f32; UNIT]);
        let mut acc = 0.0f32;
        for j in 0..self.units() {
            let (len, sa) = self.unit(a, j, &mut ba)?;
            let (_, sb) = self.unit(b, j, &mut bb)?;
            acc += crate::simd::dot(&ba[..len], &bb[..len]) * (sa * sb);
        }
        Ok(acc)
    }
}

impl Symbols for FloatCodec {
    fn symbols_per_vector(&self) -> usize {
        self.dim
    }

    fn alphabet_size(&self) -> u32 {
        match self.format {
            FloatFormat::F16 | FloatFormat::Bf16 => 65536,
            FloatFormat::E4M3 | FloatFormat::E5M2 | FloatFormat::MxFp8 => 256,
            _ => 16,
        }
    }

    fn side_len(&self) -> usize {
        self.side_len
    }

    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, symbols.len())?;
        check_code(self.side_len, side.len())?;
        let (sd, el) = code.split_at(self.side_len);
        side.copy_from_slice(sd);
        match self.alphabet_size() {
            65536 => {
                for (s, b) in symbols.iter_mut().zip(el.chunks_exact(2)) {
                    *s = u16::from_le_bytes([b[0], b[1]]);
                }
            }
            256 => {
                for (s, &b) in symbols.iter_mut().zip(el) {
                    *s = b as u16;
                }
            }
            _ => {
                for (i, s) in symbols.iter_mut().enumerate() {
                    *s = ((el[i / 2] >> ((i % 2) * 4)) & 0xF) as u16;
                }
            }
        }
        Ok(())
    }

    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, symbols.len())?;
        check_code(self.side_len, side.len())?;
        let alpha = self.alphabet_size();
        if symbols.iter().any(|&s| s as u32 >= alpha) {
            return Err(Error::Corrupt("symbol out of range"));
        }
        let (sd, el) = code.split_at_mut(self.side_len);
        sd.copy_from_slice(side);
        match alpha {
            65536 => {
                for (s, b) in symbols.iter().zip(el.chunks_exact_mut(2)) {
                    b.copy_from_slice(&s.to_le_bytes());
                }
            }
            256 => {
                for (s, b) in symbols.iter().zip(el.iter_mut()) {
                    *b = *s as u8;
                }
            }
            _ => {
                el.fill(0);
                for (i, &s) in symbols.iter().enumerate() {
                    el[i / 2] |= (s as u8) << ((i % 2) * 4);
                }
            }
        }
        Ok(())
    }
}

impl FloatFormat {
    /// Every format, in tag order.
    pub const ALL: [FloatFormat; 8] = [
        FloatFormat::F16,
        FloatFormat::Bf16,
        FloatFormat::E4M3,
        FloatFormat::E5M2,
        FloatFormat::E2M1,
        FloatFormat::MxFp4,
        FloatFormat::MxFp8,
        FloatFormat::NvFp4,
    ];

    /// The tag stored in saved codecs (the index in [`ALL`](FloatFormat::ALL)).
    pub fn tag(self) -> u8 {
        FloatFormat::ALL.iter().position(|&f| f == self).unwrap_or(0) as u8
    }
}

/// Saved as `u32 dim, u8 format tag`.
impl crate::persist::Persist for FloatCodec {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32).u8(self.format.tag());
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, crate::persist::MAX_DIM, "float codec dimension too large")?;
        let tag = usize::from(r.u8()?);
        let format = *FloatFormat::ALL.get(tag).ok_or(Error::Corrupt("unknown float format tag"))?;
        FloatCodec::new(dim, format).map_err(|_| Error::Corrupt("invalid float codec parameters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_fast_decode_matches_scalar_on_all_patterns() {
        for h in 0..=u16::MAX {
            let (a, b) = (f16_to_f32_fast(h), f16_to_f32(h));
            assert_eq!(a.to_bits(), b.to_bits(), "{h:#x}");
        }
    }

    #[test]
    fn f16_fast_encode_matches_scalar() {
        let check = |x: f32| {
            if x.is_finite() {
                assert_eq!(f16_from_f32_finite(x), f16_from_f32(x), "{x:e} ({:#010x})", x.to_bits());
            }
        };
        // Every f16 value, the midpoints between neighbours (ties) and one f32 ulp either side.
        for h in 0..0x7C00u32 {
            let v = f16_to_f32(h as u16);
            let mid = ((v as f64 + f16_to_f32(h as u16 + 1) as f64) / 2.0) as f32;
            for y in [v, mid, f32::from_bits(mid.to_bits() - 1), f32::from_bits(mid.to_bits() + 1)] {
                check(y);
                check(-y);
            }
        }
        // A stride over all f32 bit patterns (subnormals, overflow range, huge values).
        for bits in (0..=u32::MAX).step_by(4099) {
            check(f32::from_bits(bits));
        }
    }
}
