//! How TurboQuant's codebook scalar codes are scored against a float query ([`ScanMode`]), and the
//! quantized-query fast scan shared by [`NormScalar`](crate::turbo::NormScalar) and
//! [`CodebookScalar`](super::CodebookScalar).
//!
//! * [`ScanMode::Float`] (default): `Σ q_i·c[idx_i]` in `f32` with the codebook in registers
//!   ([`crate::simd::dot_lut_f32`]) — exact on the reconstruction.
//! * [`ScanMode::I8`] (1-, 2- and 4-bit codebooks): the query is rounded to `i8` with one scale
//!   (`q_i ≈ s_q·q8_i`, `s_q = max|q|/127`) and the levels to 7 bits (`c_k ≈ c_min + Δ·u_k`,
//!   `Δ = (c_max − c_min)/127`); the score is `s_q·(Δ·Σ q8_i·u[idx_i] + c_min·Σ q8_i)` with the
//!   integer sum from [`crate::simd::dot_lut_i8`] (`vpshufb` + `vpmaddubsw`, 32 code bytes per
//!   step). The extra error is one rounding of the query (relative `≲ 1/254` per coordinate) and
//!   of the levels (`≤ Δ/2`), small next to 2–4-bit quantization error; the estimator is reported
//!   as [`Estimator::Biased`](crate::Estimator::Biased).
//!
//! The other modes of [`ScanMode`] are [`Error::InvalidParameter`] for these codecs.

use crate::codec::ScanMode;
use crate::error::{Error, Result};
use crate::simd::reference::lut_i8_slot;

/// The 7-bit level table of an `I8` scan: `c_k ≈ base + delta·lut[k]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct I8Levels {
    lut: [u8; 16],
    base: f32,
    delta: f32,
}

impl I8Levels {
    /// The table a codec with `codebook` needs for `scan` (`None` for [`ScanMode::Float`]).
    pub(crate) fn for_scan(scan: ScanMode, codebook: &crate::scalar::lloyd::Codebook) -> Result<Option<Self>> {
        match scan {
            ScanMode::Float => Ok(None),
            ScanMode::I8 => Self::new(codebook.levels(), codebook.bits()).map(Some),
            ScanMode::I16 | ScanMode::Bitsliced => {
                Err(Error::InvalidParameter("TurboQuant codebook scans: Float or I8 only"))
            }
        }
    }

    /// The mode a codec holding `table` scores with.
    pub(crate) fn scan_of(table: &Option<Self>) -> ScanMode {
        if table.is_some() { ScanMode::I8 } else { ScanMode::Float }
    }

    /// Rounds `levels` (ascending, at most 16) to 7 bits; `Err` for widths other than 1, 2, 4.
    pub(crate) fn new(levels: &[f32], bits: u32) -> Result<Self> {
        if !matches!(bits, 1 | 2 | 4) || levels.is_empty() || levels.len() > 16 {
            return Err(Error::InvalidParameter("ScanMode::I8 needs a 1-, 2- or 4-bit codebook"));
        }
        let base = levels[0];
        let top = levels[levels.len() - 1];
        let delta = (top - base) / 127.0;
        let mut lut = [0u8; 16];
        for (k, l) in lut.iter_mut().enumerate() {
            // Indices past the last level read the last level (as `Codebook::level`).
            let c = levels[k.min(levels.len() - 1)];
            *l = if delta > 0.0 { libm::roundf((c - base) / delta).clamp(0.0, 127.0) as u8 } else { 0 };
        }
        Ok(I8Levels { lut, base, delta })
    }
}

/// Query bytes (as `f32` words of scratch) an `I8` scan of `code_bytes`-byte codes needs.
pub(crate) fn i8_scratch_words(code_bytes: usize, bits: u32) -> usize {
    let per = (8 / bits.clamp(1, 8)) as usize;
    (code_bytes.div_ceil(32) * 32 * per).div_ceil(4)
}

/// A prepared `I8` query.
#[derive(Clone, Copy, Debug)]
pub struct I8Query<'s> {
    q8: &'s [i8],
    scale: f32,
    qsum: i64,
    levels: I8Levels,
    bits: u32,
}

impl<'s> I8Query<'s> {
    /// Quantizes `q` (finite) into the blocked layout inside `scratch`
    /// (`i8_scratch_words(code_bytes, bits)` words or more).
    pub(crate) fn prepare(
        q: &[f32],
        levels: I8Levels,
        bits: u32,
        code_bytes: usize,
        scratch: &'s mut [f32],
    ) -> Result<Self> {
        let words = i8_scratch_words(code_bytes, bits);
        let got = scratch.len();
        let s = scratch.get_mut(..words).ok_or(Error::BufferTooSmall { needed: words, got })?;
        let q8: &mut [i8] = bytemuck::cast_slice_mut(s);
        q8.fill(0);
        let amax = crate::simd::abs_max(q);
        let scale = if amax > 0.0 { amax / 127.0 } else { 0.0 };
        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        let mut qsum = 0i64;
        for (c, &v) in q.iter().enumerate() {
            let r = libm::roundf(v * inv).clamp(-127.0, 127.0) as i8;
            if let Some(slot) = q8.get_mut(lut_i8_slot(c, bits)) {
                *slot = r;
                qsum += i64::from(r);
            }
        }
        Ok(I8Query { q8, scale, qsum, levels, bits })
    }

    /// `≈ Σ q_i·c[idx_i]` over the indices in `idx` (the code bytes without any trailer).
    #[inline]
    pub(crate) fn score(&self, idx: &[u8]) -> f32 {
        let s = crate::simd::dot_lut_i8(idx, self.bits, &self.levels.lut, self.q8);
        self.scale * (self.levels.delta * s as f32 + self.levels.base * self.qsum as f32)
    }
}

/// The saved tag of a scan mode of these codecs (0 = `Float`, 1 = `I8`).
#[cfg(feature = "alloc")]
pub(crate) fn scan_tag(mode: ScanMode) -> u8 {
    u8::from(mode == ScanMode::I8)
}

/// The scan mode of a saved tag.
pub(crate) fn scan_from_tag(tag: u8) -> Result<ScanMode> {
    match tag {
        0 => Ok(ScanMode::Float),
        1 => Ok(ScanMode::I8),
        _ => Err(Error::Corrupt("TurboQuant: unknown scan mode tag")),
    }
}
