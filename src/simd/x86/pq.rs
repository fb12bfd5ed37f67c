//! x86-64 kernels of the 4-bit PQ fast scan ([`crate::simd::pq::fastscan_accumulate`]).
//!
//! Per pair of sub-quantizers, the two 16-entry `u8` tables sit in the two 128-bit lanes of one
//! register (rows `2p` and `2p + 1` of the table are adjacent, so one 32-byte load), and the 32
//! code bytes of the pair (16 bytes per sub-quantizer, SPECS §4 layout) in another: `vpshufb`
//! on the low and on the high nibbles looks up 64 table entries at once. Bytes are widened to
//! `u16` by interleaving with zero and accumulated; the `u16` lanes are spilled to `u32` every
//! 128 pairs (each pair adds at most 2·255 per lane, so no lane wraps). AVX-512 BW handles two
//! pairs per step. Integer-exact: equal to the portable kernel.

use core::arch::x86_64::*;

use super::{feature, has};
use crate::simd::pq::PERM0;

/// Pairs accumulated in `u16` before spilling (128 · 510 < 65536).
const SPILL: usize = 128;

/// Arch fast-scan accumulation, if a kernel exists for this CPU.
#[inline]
pub fn fastscan_accumulate(lut: &[u8], codes: &[u8], npairs: usize, out: &mut [u32]) -> Option<()> {
    if npairs == 0 || lut.len() < 32 * npairs {
        return None;
    }
    let nblocks = (codes.len() / (32 * npairs)).min(out.len() / 32);
    if has(feature::AVX512) {
        // SAFETY: AVX-512 F/BW were detected; the lengths are checked above (`nblocks` whole
        // blocks of codes and of `out`, `2·npairs` table rows).
        unsafe { scan_avx512(lut, codes, npairs, nblocks, out) };
        return Some(());
    }
    if has(feature::AVX2) {
        // SAFETY: AVX2 was detected; lengths as above.
        unsafe { scan_avx2(lut, codes, npairs, nblocks, out) };
        return Some(());
    }
    None
}

/// Adds the four `u16` accumulators of one block (as stored arrays of `n` lanes, `n/8` 128-bit
/// quarters, one sub-quantizer per quarter) into `acc` in vector order.
#[inline(always)]
fn spill(a: &[[u16; 32]; 4], quarters: usize, acc: &mut [u32; 32]) {
    for q in 0..quarters {
        for i in 0..8 {
            let (lo, hi) = (PERM0[i], PERM0[8 + i]);
            acc[lo] += u32::from(a[0][8 * q + i]);
            acc[hi] += u32::from(a[1][8 * q + i]);
            acc[lo + 16] += u32::from(a[2][8 * q + i]);
            acc[hi + 16] += u32::from(a[3][8 * q + i]);
        }
    }
}

/// # Safety
/// AVX2 available; `lut.len() ≥ 32·npairs`, `codes.len() ≥ nblocks·npairs·32`,
/// `out.len() ≥ 32·nblocks`.
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(lut: &[u8], codes: &[u8], npairs: usize, nblocks: usize, out: &mut [u32]) {
    let mask = _mm256_set1_epi8(0x0f);
    let zero = _mm256_setzero_si256();
    for b in 0..nblocks {
        let mut acc = [0u32; 32];
        let mut p = 0;
        while p < npairs {
            let end = (p + SPILL).min(npairs);
            let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
            for q in p..end {
                // SAFETY: row pair `q < npairs` lies in `lut` (32·npairs bytes), and pair `q` of
                // block `b < nblocks` in `codes` (the caller's length bounds).
                let (t, c) = unsafe {
                    (
                        _mm256_loadu_si256(lut.as_ptr().add(32 * q).cast()),
                        _mm256_loadu_si256(codes.as_ptr().add((b * npairs + q) * 32).cast()),
                    )
                };
                let lo = _mm256_and_si256(c, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), mask);
                let rl = _mm256_shuffle_epi8(t, lo);
                let rh = _mm256_shuffle_epi8(t, hi);
                a0 = _mm256_add_epi16(a0, _mm256_unpacklo_epi8(rl, zero));
                a1 = _mm256_add_epi16(a1, _mm256_unpackhi_epi8(rl, zero));
                a2 = _mm256_add_epi16(a2, _mm256_unpacklo_epi8(rh, zero));
                a3 = _mm256_add_epi16(a3, _mm256_unpackhi_epi8(rh, zero));
            }
            let mut s = [[0u16; 32]; 4];
            // SAFETY: each `s[i]` holds 32 u16 (64 bytes); 32 bytes are written.
            unsafe {
                _mm256_storeu_si256(s[0].as_mut_ptr().cast(), a0);
                _mm256_storeu_si256(s[1].as_mut_ptr().cast(), a1);
                _mm256_storeu_si256(s[2].as_mut_ptr().cast(), a2);
                _mm256_storeu_si256(s[3].as_mut_ptr().cast(), a3);
            }
            spill(&s, 2, &mut acc);
            p = end;
        }
        out[32 * b..32 * b + 32].copy_from_slice(&acc);
    }
}

/// # Safety
/// AVX-512 F/BW available; lengths as for [`scan_avx2`].
#[target_feature(enable = "avx512f,avx512bw,avx2")]
unsafe fn scan_avx512(lut: &[u8], codes: &[u8], npairs: usize, nblocks: usize, out: &mut [u32]) {
    let mask = _mm512_set1_epi8(0x0f);
    let zero = _mm512_setzero_si512();
    for b in 0..nblocks {
        let mut acc = [0u32; 32];
        let mut p = 0;
        while p < npairs {
            // Two pairs per step; a lone last pair is loaded as 32 bytes into the low half.
            let end = (p + 2 * SPILL).min(npairs);
            let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
            let mut q = p;
            while q < end {
                // SAFETY: pairs `q` (and `q + 1` when `q + 1 < end ≤ npairs`) lie in `lut` and in
                // block `b` of `codes` (the caller's length bounds); the one-pair case loads 32
                // bytes only and zero-extends (zero table ⇒ zero contribution).
                let (t, c) = unsafe {
                    if q + 1 < end {
                        (
                            _mm512_loadu_si512(lut.as_ptr().add(32 * q).cast()),
                            _mm512_loadu_si512(codes.as_ptr().add((b * npairs + q) * 32).cast()),
                        )
                    } else {
                        (
                            _mm512_zextsi256_si512(_mm256_loadu_si256(lut.as_ptr().add(32 * q).cast())),
                            _mm512_zextsi256_si512(_mm256_loadu_si256(
                                codes.as_ptr().add((b * npairs + q) * 32).cast(),
                            )),
                        )
                    }
                };
                let lo = _mm512_and_si512(c, mask);
                let hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), mask);
                let rl = _mm512_shuffle_epi8(t, lo);
                let rh = _mm512_shuffle_epi8(t, hi);
                a0 = _mm512_add_epi16(a0, _mm512_unpacklo_epi8(rl, zero));
                a1 = _mm512_add_epi16(a1, _mm512_unpackhi_epi8(rl, zero));
                a2 = _mm512_add_epi16(a2, _mm512_unpacklo_epi8(rh, zero));
                a3 = _mm512_add_epi16(a3, _mm512_unpackhi_epi8(rh, zero));
                q += 2;
            }
            let mut s = [[0u16; 32]; 4];
            // SAFETY: each `s[i]` holds 32 u16 = 64 bytes, one 512-bit store.
            unsafe {
                _mm512_storeu_si512(s[0].as_mut_ptr().cast(), a0);
                _mm512_storeu_si512(s[1].as_mut_ptr().cast(), a1);
                _mm512_storeu_si512(s[2].as_mut_ptr().cast(), a2);
                _mm512_storeu_si512(s[3].as_mut_ptr().cast(), a3);
            }
            spill(&s, 4, &mut acc);
            p = end;
        }
        out[32 * b..32 * b + 32].copy_from_slice(&acc);
    }
}

/// Forces the AVX2 kernel (for tests comparing backends); `None` without AVX2.
pub fn fastscan_accumulate_avx2(lut: &[u8], codes: &[u8], npairs: usize, out: &mut [u32]) -> Option<()> {
    if npairs == 0 || lut.len() < 32 * npairs || !has(feature::AVX2) {
        return None;
    }
    let nblocks = (codes.len() / (32 * npairs)).min(out.len() / 32);
    // SAFETY: AVX2 was detected; lengths checked above.
    unsafe { scan_avx2(lut, codes, npairs, nblocks, out) };
    Some(())
}

/// Forces the AVX-512 kernel (for tests comparing backends); `None` without AVX-512 BW.
pub fn fastscan_accumulate_avx512(lut: &[u8], codes: &[u8], npairs: usize, out: &mut [u32]) -> Option<()> {
    if npairs == 0 || lut.len() < 32 * npairs || !has(feature::AVX512) {
        return None;
    }
    let nblocks = (codes.len() / (32 * npairs)).min(out.len() / 32);
    // SAFETY: AVX-512 F/BW were detected; lengths checked above.
    unsafe { scan_avx512(lut, codes, npairs, nblocks, out) };
    Some(())
}

/// Transposes 16 rows of 16 bytes in place: four rounds of `out[2k] = unpacklo(in[k], in[k+8])`,
/// `out[2k+1] = unpackhi(in[k], in[k+8])`, each rotating the 8-bit (row, column) index left by one
/// bit, so four rounds swap row and column.
#[inline]
#[target_feature(enable = "sse2")]
fn transpose16(r: &mut [__m128i; 16]) {
    for _ in 0..4 {
        let mut o = [_mm_setzero_si128(); 16];
        for k in 0..8 {
            o[2 * k] = _mm_unpacklo_epi8(r[k], r[k + 8]);
            o[2 * k + 1] = _mm_unpackhi_epi8(r[k], r[k + 8]);
        }
        *r = o;
    }
}

/// SSE2 (x86-64 baseline) re-layout of one full block of 32 flat 4-bit codes (`code_len` bytes
/// each) into the fast-scan layout (`32·code_len` bytes of `out`), exactly as
/// [`crate::pq::fastscan::relayout_block`]: 16×16 byte transposes (rows loaded in `PERM0`
/// order, so each transposed register is one half-row of the layout), then the nibble
/// recombination. `None` unless `codes` holds 32 codes and `out` the block.
pub fn relayout_block(codes: &[u8], code_len: usize, out: &mut [u8]) -> Option<()> {
    if code_len == 0 || codes.len() < 32 * code_len || out.len() < 32 * code_len {
        return None;
    }
    // SAFETY: SSE2 is part of the x86-64 baseline; the lengths are checked above.
    unsafe { relayout_sse2(codes, code_len, out) };
    Some(())
}

/// # Safety
/// SSE2 available (always on x86-64); `codes.len() ≥ 32·code_len`, `out.len() ≥ 32·code_len`.
#[target_feature(enable = "sse2")]
unsafe fn relayout_sse2(codes: &[u8], code_len: usize, out: &mut [u8]) {
    let lo_mask = _mm_set1_epi8(0x0f);
    let hi_mask = _mm_set1_epi8(0xf0u8 as i8);
    let mut pad = [0u8; 256];
    for cg in 0..code_len.div_ceil(16) {
        let width = (code_len - 16 * cg).min(16);
        let mut halves = [[_mm_setzero_si128(); 16]; 2];
        for (g, h) in halves.iter_mut().enumerate() {
            for (i, reg) in h.iter_mut().enumerate() {
                let at = (16 * g + PERM0[i]) * code_len + 16 * cg;
                *reg = if width == 16 {
                    // SAFETY: vector `16g + PERM0[i] < 32` has bytes `at .. at + 16` inside
                    // `codes` (`16cg + 16 ≤ code_len`, `codes.len() ≥ 32·code_len`).
                    unsafe { _mm_loadu_si128(codes.as_ptr().add(at).cast()) }
                } else {
                    pad[16 * i..16 * i + width].copy_from_slice(&codes[at..at + width]);
                    pad[16 * i + width..16 * i + 16].fill(0);
                    // SAFETY: `pad` holds 256 bytes, row `i` is bytes `16i .. 16i + 16`.
                    unsafe { _mm_loadu_si128(pad.as_ptr().add(16 * i).cast()) }
                };
            }
            transpose16(h);
        }
        for (j, (&a, &b)) in halves[0].iter().zip(&halves[1]).enumerate().take(width) {
            let first = _mm_or_si128(_mm_and_si128(a, lo_mask), _mm_and_si128(_mm_slli_epi16(b, 4), hi_mask));
            let second = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(a, 4), lo_mask), _mm_and_si128(b, hi_mask));
            let p = 16 * cg + j;
            // SAFETY: `p < code_len`, so bytes `32p .. 32p + 32` are inside `out`
            // (`out.len() ≥ 32·code_len`).
            unsafe {
                _mm_storeu_si128(out.as_mut_ptr().add(32 * p).cast(), first);
                _mm_storeu_si128(out.as_mut_ptr().add(32 * p + 16).cast(), second);
            }
        }
    }
}
