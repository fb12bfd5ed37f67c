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
    let exp = (h >> 10) & 0x1F;
    let mant = h & 0x3FF;
    if exp == 0x1F {
        return f32::from_bits(sign | 0x7F80_0000 | (mant << 13) | if mant != 0 { 0x40_0000 } else { 0 });
    }
    if exp == 0 {
        let v = mant as f32 * f32::from_bits(0x3380_0000); // 2^-24
        return f32::from_bits(sign | v.to_bits());
    }
    f32::from_bits(sign | ((exp + 112) << 23) | (mant << 13))
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

/// Largest finite magnitude of E4M3.
pub const E4M3_MAX: f32 = 448.0;
/// Largest finite magnitude of E5M2.
pub const E5M2_MAX: f32 = 57344.0;
/// Largest finite magnitude of E2M1.
pub const E2M1_MAX: f32 = 6.0;
