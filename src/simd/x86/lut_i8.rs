//! x86-64 AVX2 kernel of [`crate::simd::dot_lut_i8`]: integer table-lookup scan of packed 1-,
//! 2- and 4-bit indices against an `i8` query in the blocked layout (32 code bytes per block;
//! field `j` of byte `k` meets query slot `32·j + k`).
//!
//! Per block: one 32-byte load of codes; per field `j`, a shift and mask give the 32 indices,
//! `vpshufb` maps them through the 16-entry table (levels `≤ 127`), `vpmaddubsw` multiplies with
//! the 32 query bytes (pairs stay `≤ 2·127·127 < 2^15`, so no saturation) and `vpmaddwd` widens to
//! `i32`. Lanes spill to `i64` every `SPILL` blocks. The partial last block is copied into a
//! zeroed buffer. Exact: equals the portable kernel.

use core::arch::x86_64::*;

use super::{feature, has};

/// Blocks accumulated in `i32` before spilling: each adds at most `8·2·2·127·127` per lane.
const SPILL: usize = 4096;

/// Arch `dot_lut_i8`, if an arch kernel exists for this CPU (`None` otherwise): `bits ∈ {1, 2, 4}`,
/// every level `≤ 127`, and `q` long enough for every block.
#[inline]
pub fn dot_lut_i8(codes: &[u8], bits: u32, lut: &[u8; 16], q: &[i8]) -> Option<i64> {
    let per = match bits {
        1 => 8,
        2 => 4,
        4 => 2,
        _ => return None,
    };
    if !has(feature::AVX2) || lut.iter().any(|&l| l > 127) || q.len() < codes.len().div_ceil(32) * 32 * per {
        return None;
    }
    // SAFETY: AVX2 was detected; `q` covers every block (checked above).
    Some(unsafe {
        match bits {
            1 => scan::<1>(codes, lut, q),
            2 => scan::<2>(codes, lut, q),
            _ => scan::<4>(codes, lut, q),
        }
    })
}

/// # Safety
/// AVX2 available; `q.len() ≥ ⌈codes.len()/32⌉·32·(8/B)`.
#[target_feature(enable = "avx2")]
unsafe fn scan<const B: usize>(codes: &[u8], lut: &[u8; 16], q: &[i8]) -> i64 {
    let per = 8 / B;
    // SAFETY: `lut` holds 16 bytes.
    let l128 = unsafe { _mm_loadu_si128(lut.as_ptr().cast()) };
    let lutv = _mm256_broadcastsi128_si256(l128);
    let mask = _mm256_set1_epi8(((1u16 << B) - 1) as i8);
    let ones = _mm256_set1_epi16(1);
    let mut total = 0i64;
    let mut acc = _mm256_setzero_si256();
    let full = codes.len() / 32;
    // Field `j` of the 32 bytes `x`, through the table, times the query slots at `qp` (`keep`
    // zeroes the levels of padding bytes).
    let step = |x: __m256i, keep: __m256i, j: usize, qp: *const i8| {
        let f = _mm256_and_si256(_mm256_srl_epi16(x, _mm_cvtsi32_si128((B * j) as i32)), mask);
        let u = _mm256_and_si256(_mm256_shuffle_epi8(lutv, f), keep);
        // SAFETY: the caller passes a pointer to 32 readable query bytes.
        let qv = unsafe { _mm256_loadu_si256(qp.cast()) };
        _mm256_madd_epi16(_mm256_maddubs_epi16(u, qv), ones)
    };
    let all = _mm256_set1_epi8(-1);
    for blk in 0..full {
        // SAFETY: bytes 32·blk .. 32·blk + 32 are inside `codes` (blk < ⌊len/32⌋).
        let x = unsafe { _mm256_loadu_si256(codes.as_ptr().add(32 * blk).cast()) };
        for j in 0..per {
            // SAFETY: slots 32·per·blk + 32j .. + 32 are inside `q` (the caller's length bound).
            acc = _mm256_add_epi32(acc, step(x, all, j, unsafe { q.as_ptr().add(32 * per * blk + 32 * j) }));
        }
        if (blk + 1) % SPILL == 0 {
            total += hsum(acc);
            acc = _mm256_setzero_si256();
        }
    }
    let rest = &codes[32 * full..];
    if !rest.is_empty() {
        let mut tail = [0u8; 32];
        tail[..rest.len()].copy_from_slice(rest);
        // SAFETY: `tail` holds 32 bytes.
        let x = unsafe { _mm256_loadu_si256(tail.as_ptr().cast()) };
        let iota = _mm256_setr_epi8(
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
            29, 30, 31,
        );
        let keep = _mm256_cmpgt_epi8(_mm256_set1_epi8(rest.len() as i8), iota);
        for j in 0..per {
            // SAFETY: the last block's slots are inside `q` (the caller's length bound).
            acc = _mm256_add_epi32(acc, step(x, keep, j, unsafe { q.as_ptr().add(32 * per * full + 32 * j) }));
        }
    }
    total + hsum(acc)
}

#[target_feature(enable = "avx2")]
fn hsum(v: __m256i) -> i64 {
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds 8 i32.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), v) };
    lanes.iter().map(|&l| i64::from(l)).sum()
}
