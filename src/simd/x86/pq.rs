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

/// The x86-64 lookup-add of the 8-bit float ADC scan ([`crate::simd::pq::adc_scan_u8`]): one
/// `addss` with a memory operand per lookup (SSE, baseline x86-64), so that four codes' sums
/// stay four scalar add chains of one instruction each instead of being packed into a register
/// with shuffles (measured 1.1–1.2× at `M` = 48 on Zen 4). The same IEEE addition as `+=`.
pub(crate) struct AddSs;

impl crate::simd::pq::LookupAdd for AddSs {
    #[inline(always)]
    fn add(acc: &mut f32, row: &[f32; 256], i: u8) {
        // SAFETY: reads the 4 bytes of `row[i]`, in bounds (`i < 256`, `row` is 256 floats);
        // SSE is baseline on x86-64; no stack, flags or other memory touched.
        unsafe {
            core::arch::asm!(
                "addss {a}, dword ptr [{t} + {i}*4]",
                a = inout(xmm_reg) *acc,
                t = in(reg) row.as_ptr(),
                i = in(reg) usize::from(i),
                options(pure, readonly, nostack, preserves_flags)
            );
        }
    }
}

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
#[cfg(feature = "alloc")]
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
/// recombination. `None` unless `codes` holds 32 codes and `out` the block. Only the owned
/// fast-scan PQ (`alloc`) re-lays codes.
#[cfg(feature = "alloc")]
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
#[cfg(feature = "alloc")]
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

/// Rows per group of the AVX-512 nearest-centroid screen (one `f32` lane per row).
pub const SCREEN_ROWS: usize = 16;
/// Largest codebook the arch screen handles (its distance buffer lives on the stack).
pub const SCREEN_MAX_K: usize = 256;

/// Arch [`crate::simd::pq::nearest_batch`]: for `nrows` rows of `d` floats at `rows[r·stride..]`,
/// the nearest of the `k` row-major centroids `cents` in squared L2, ties to the lowest index,
/// and (with `want_dist`) its distance, **bit for bit** what [`crate::simd::pq::nearest`] returns.
///
/// Screen, then verify: a lane per row (16 rows per 512-bit register, the sub-vectors
/// transposed into registers), the screening value `s_i = h_i − ⟨x, c_i⟩` (`h_i = ‖c_i‖²/2`,
/// `half[i]`) with fused multiply-adds and a broadcast centroid coordinate per step; then every
/// centroid whose `s_i` is within `tol` of the row's minimum gets the exact sequential
/// `Σ_j (x_j − c_{i,j})²` of the portable kernel, and the smallest exact value wins. `tol` bounds
/// the rounding of both forms (see the body), so the exact minimum is always among the
/// candidates and the result equals the exhaustive exact search. `None` when the CPU lacks
/// AVX-512 F, `d ∉ 1..=32`, `k ∉ 2..=256`, a length is short, or a row or `cmax` is too large for
/// the bound to hold (the caller then runs the exhaustive search).
#[allow(clippy::too_many_arguments)]
pub fn nearest_batch(
    rows: &[f32],
    stride: usize,
    nrows: usize,
    d: usize,
    cents: &[f32],
    half: &[f32],
    cmax: f64,
    k: usize,
    idx: &mut [u32],
    dist: &mut [f32],
    want_dist: bool,
) -> Option<()> {
    if !has(feature::AVX512)
        || !(1..=32).contains(&d)
        || !(2..=SCREEN_MAX_K).contains(&k)
        || stride < d
        || nrows == 0
        || idx.len() < nrows
        || dist.len() < nrows
        || cents.len() < k * d
        || half.len() < k
        || !cmax.is_finite()
        || rows.len() < (nrows - 1) * stride + d
    {
        return None;
    }
    // The error bound and the tolerance: see `screen_avx512`.
    if stride.checked_mul(SCREEN_ROWS).is_none_or(|v| v > i32::MAX as usize) {
        return None;
    }
    let g = (1.01 * (d as f64 + 4.0) / 16_777_216.0) as f32;
    let cm = (cmax * (1.0 + 1e-6)) as f32;
    if cm.is_nan() || cm >= 1e15 {
        return None;
    }
    let screen = match d {
        1 => screen_avx512::<1>,
        2 => screen_avx512::<2>,
        4 => screen_avx512::<4>,
        8 => screen_avx512::<8>,
        16 => screen_avx512::<16>,
        _ => screen_avx512::<0>,
    };
    let mut r0 = 0;
    while r0 < nrows {
        let cnt = (nrows - r0).min(SCREEN_ROWS);
        // SAFETY: AVX-512 F was detected; rows `r0 .. r0 + cnt` lie in `rows` (checked:
        // `(nrows − 1)·stride + d ≤ rows.len()`; `16·stride` fits an `i32` gather index), `cents`
        // holds `k·d` and `half` `k` floats, `k ≤ 256` fits the kernel's buffer, and
        // `idx`/`dist` hold `nrows` entries.
        let ok = unsafe {
            screen(
                &rows[r0 * stride..],
                stride,
                cnt,
                d,
                cents,
                half,
                k,
                g,
                cm,
                &mut idx[r0..r0 + cnt],
                &mut dist[r0..r0 + cnt],
                want_dist,
            )
        };
        if !ok {
            return None;
        }
        r0 += cnt;
    }
    Some(())
}

/// The exact squared distance of the portable kernel: `Σ_j (x_j − c_j)²` summed in order from 0,
/// multiply then add (the lane computation of `simd::pq::l2_block`).
#[inline(always)]
fn exact_l2(x: &[f32], c: &[f32]) -> f32 {
    let mut acc = 0f32;
    for (&a, &b) in x.iter().zip(c) {
        let t = a - b;
        acc += t * t;
    }
    acc
}

/// `D > 0`: the dimension as a constant (the transposed rows stay in registers); `D == 0`: `d`.
/// Returns `false` (nothing written) when a row is too large for the error bound.
///
/// Error bound. With u = 2⁻²⁴, X = ‖x‖, C ≥ max ‖c_i‖ and γ = 1.01·(d + 4)·u: the screened
/// value of centroid i is off from D_i = ‖c_i‖²/2 − ⟨x, c_i⟩ = (T_i − X²)/2 (T_i the true
/// squared distance) by at most e ≤ 2γ(C²/2 + XC) ≤ 2γ(X + C)² (h_i's own rounding, then
/// d + 1 roundings of the fused chain); the exact sequential form E_i is within γ·T_i of T_i
/// (non-negative terms). For the exact winner i* and the screened minimum b = s_j:
/// s_{i*} − b ≤ (T_{i*} − T_j)/2 + 2e ≤ γ'·T_j + 2e ≤ 6γ(X + C)² (T_j ≤ (X + C)²,
/// E_{i*} ≤ E_j). The kernel uses tol = 8γ·(X̄ + C)² with X̄² = fl(Σ x²)·(1 + 2γ) ≥ X²; the
/// margin 2γ(X + C)² covers the few roundings of tol and of the threshold b + tol
/// (|b| ≤ (X + C)²).
///
/// # Safety
/// AVX-512 F available; `1 ≤ cnt ≤ 16`; rows `0..cnt` of `d ≤ 32` floats at stride `stride` in
/// `rows` (`D ∈ {0, d}`, `16·stride ≤ i32::MAX`); `cents.len() ≥ k·d`, `half.len() ≥ k`,
/// `2 ≤ k ≤ 256`; `idx`, `dist` hold `cnt`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn screen_avx512<const D: usize>(
    rows: &[f32],
    stride: usize,
    cnt: usize,
    d: usize,
    cents: &[f32],
    half: &[f32],
    k: usize,
    g: f32,
    cmax: f32,
    idx: &mut [u32],
    dist: &mut [f32],
    want_dist: bool,
) -> bool {
    let d = if D == 0 { d } else { D };
    let valid: u16 = if cnt == SCREEN_ROWS { u16::MAX } else { (1u16 << cnt) - 1 };
    // Sub-vectors transposed: xt[j] holds coordinate j of the 16 rows (missing rows are 0).
    let offs = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(stride as i32),
    );
    let mut xt = [_mm512_setzero_ps(); 32];
    let mut xx = _mm512_setzero_ps();
    for (j, v) in xt.iter_mut().enumerate().take(d) {
        // SAFETY: lane t < cnt reads `rows[t·stride + j]`, inside `rows` (the caller's bounds);
        // masked-off lanes read nothing.
        *v = unsafe { _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), valid, offs, rows.as_ptr().add(j).cast()) };
        xx = _mm512_fmadd_ps(*v, *v, xx);
    }
    // tol = 8g·(sqrt(xx·(1 + 2g)) + C)².
    let xn = _mm512_sqrt_ps(_mm512_mul_ps(xx, _mm512_set1_ps(1.0 + 2.0 * g)));
    let sum = _mm512_add_ps(xn, _mm512_set1_ps(cmax));
    let s2 = _mm512_mul_ps(sum, sum);
    if _mm512_mask_cmp_ps_mask::<_CMP_LT_OQ>(valid, s2, _mm512_set1_ps(1e30)) != valid {
        return false;
    }
    let tol = _mm512_mul_ps(s2, _mm512_set1_ps(8.0 * g));
    // Screened values, row c for centroid c < k (written before read; no zeroing).
    let mut buf = [core::mem::MaybeUninit::<f32>::uninit(); SCREEN_MAX_K * SCREEN_ROWS];
    let mut mn = _mm512_set1_ps(f32::INFINITY);
    let cp = cents.as_ptr();
    let mut i = 0;
    // Four centroids per step: four independent fused chains.
    while i + 4 <= k {
        let mut a0 = _mm512_set1_ps(half[i]);
        let mut a1 = _mm512_set1_ps(half[i + 1]);
        let mut a2 = _mm512_set1_ps(half[i + 2]);
        let mut a3 = _mm512_set1_ps(half[i + 3]);
        for (j, &xj) in xt.iter().enumerate().take(d) {
            // SAFETY: centroids `i .. i + 4 ≤ k` have `d` floats each inside `cents`.
            unsafe {
                a0 = _mm512_fnmadd_ps(xj, _mm512_set1_ps(*cp.add(i * d + j)), a0);
                a1 = _mm512_fnmadd_ps(xj, _mm512_set1_ps(*cp.add((i + 1) * d + j)), a1);
                a2 = _mm512_fnmadd_ps(xj, _mm512_set1_ps(*cp.add((i + 2) * d + j)), a2);
                a3 = _mm512_fnmadd_ps(xj, _mm512_set1_ps(*cp.add((i + 3) * d + j)), a3);
            }
        }
        mn = _mm512_min_ps(mn, _mm512_min_ps(_mm512_min_ps(a0, a1), _mm512_min_ps(a2, a3)));
        // SAFETY: `buf` holds 256 rows of 16 floats and `i + 3 < k ≤ 256`.
        unsafe {
            let bp = buf.as_mut_ptr().add(i * SCREEN_ROWS).cast::<f32>();
            _mm512_storeu_ps(bp, a0);
            _mm512_storeu_ps(bp.add(SCREEN_ROWS), a1);
            _mm512_storeu_ps(bp.add(2 * SCREEN_ROWS), a2);
            _mm512_storeu_ps(bp.add(3 * SCREEN_ROWS), a3);
        }
        i += 4;
    }
    while i < k {
        let mut a0 = _mm512_set1_ps(half[i]);
        for (j, &xj) in xt.iter().enumerate().take(d) {
            // SAFETY: centroid `i < k` has `d` floats inside `cents`.
            a0 = _mm512_fnmadd_ps(xj, _mm512_set1_ps(unsafe { *cp.add(i * d + j) }), a0);
        }
        mn = _mm512_min_ps(mn, a0);
        // SAFETY: `i < k ≤ 256`.
        unsafe { _mm512_storeu_ps(buf.as_mut_ptr().add(i * SCREEN_ROWS).cast::<f32>(), a0) };
        i += 1;
    }
    let tv = _mm512_add_ps(mn, tol);
    // Per row: the number of candidates (values ≤ threshold) and the first one, branch-free.
    let one = _mm512_set1_epi32(1);
    let (mut nc, mut first) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    for c in 0..k {
        // SAFETY: `c < k ≤ 256`, inside `buf`; rows `0..k` were all written above.
        let v = unsafe { _mm512_loadu_ps(buf.as_ptr().add(c * SCREEN_ROWS).cast::<f32>()) };
        let m = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(v, tv) & valid;
        nc = _mm512_mask_add_epi32(nc, m, nc, one);
        let fresh = m & _mm512_cmpeq_epi32_mask(nc, one);
        first = _mm512_mask_mov_epi32(first, fresh, _mm512_set1_epi32(c as i32));
    }
    let (mut ncs, mut firsts, mut thr) = ([0u32; SCREEN_ROWS], [0u32; SCREEN_ROWS], [0f32; SCREEN_ROWS]);
    // SAFETY: each array holds 16 lanes of 4 bytes.
    unsafe {
        _mm512_storeu_si512(ncs.as_mut_ptr().cast(), nc);
        _mm512_storeu_si512(firsts.as_mut_ptr().cast(), first);
        _mm512_storeu_ps(thr.as_mut_ptr(), tv);
    }
    let mut best = [f32::INFINITY; SCREEN_ROWS];
    let mut bi = [0u32; SCREEN_ROWS];
    for t in 0..cnt {
        let x = &rows[t * stride..t * stride + d];
        let f = firsts[t] as usize;
        if ncs[t] == 1 {
            // The only candidate is the exact winner.
            bi[t] = f as u32;
            if want_dist {
                best[t] = exact_l2(x, &cents[f * d..(f + 1) * d]);
            }
            continue;
        }
        for c in f..k {
            // SAFETY: `c < k` and `t < 16`: written by the screen above.
            if unsafe { buf[c * SCREEN_ROWS + t].assume_init() } <= thr[t] {
                let e = exact_l2(x, &cents[c * d..(c + 1) * d]);
                if e < best[t] {
                    best[t] = e;
                    bi[t] = c as u32;
                }
            }
        }
    }
    idx[..cnt].copy_from_slice(&bi[..cnt]);
    dist[..cnt].copy_from_slice(&best[..cnt]);
    true
}

/// Steps (one table register each) accumulated in `u16` before spilling: per step a lane adds at
/// most 255 to each of its two byte sums, and the low-byte sum is recovered modulo 2¹⁶
/// (`256 · 255 < 65536`).
const STEPS: usize = 256;

/// Arch [`crate::simd::pq::fastscan_scores`]: the fast-scan sums of `nblocks` whole blocks,
/// finished as `sb + (sum as f32)·sa` into `out` (32 per block); `None` without AVX2 or for bad
/// lengths.
pub fn fastscan_scores(
    lut: &[u8],
    codes: &[u8],
    npairs: usize,
    nblocks: usize,
    sb: f32,
    sa: f32,
    out: &mut [f32],
) -> Option<()> {
    let avx512 = has(feature::AVX512);
    fastscan_scores_with(avx512, lut, codes, npairs, nblocks, sb, sa, out)
}

/// [`fastscan_scores`] on AVX-512 BW (`avx512`) or AVX2, for tests comparing backends; `None`
/// when this CPU lacks it.
#[allow(clippy::too_many_arguments)]
pub fn fastscan_scores_with(
    avx512: bool,
    lut: &[u8],
    codes: &[u8],
    npairs: usize,
    nblocks: usize,
    sb: f32,
    sa: f32,
    out: &mut [f32],
) -> Option<()> {
    if npairs == 0
        || lut.len() < 32 * npairs
        || codes.len() < nblocks.checked_mul(32 * npairs)?
        || out.len() < nblocks.checked_mul(32)?
    {
        return None;
    }
    if avx512 && has(feature::AVX512) {
        // SAFETY: AVX-512 F/BW were detected; the lengths are checked above.
        unsafe { scores_avx512(lut, codes, npairs, nblocks, sb, sa, out) };
        return Some(());
    }
    if !avx512 && has(feature::AVX2) {
        // SAFETY: AVX2 was detected; the lengths are checked above.
        unsafe { scores_avx2(lut, codes, npairs, nblocks, sb, sa, out) };
        return Some(());
    }
    None
}

/// # Safety
/// AVX-512 F/BW available; `lut.len() ≥ 32·npairs`, `codes.len() ≥ nblocks·npairs·32`,
/// `out.len() ≥ 32·nblocks`, `npairs ≥ 1`.
///
/// Per step two pairs (64 code bytes, 4 table rows). The looked-up bytes are accumulated as
/// `u16` words: in the layout, byte `2i` of a 16-byte half belongs to vector `i` and byte
/// `2i + 1` to vector `8 + i` (`PERM0`), so a word sum `A` and the sum `B` of the words shifted
/// right by 8 give vectors `i` (`A − 256·B` mod 2¹⁶) and `8 + i` (`B`) in natural order.
#[target_feature(enable = "avx512f,avx512bw,avx2")]
unsafe fn scores_avx512(lut: &[u8], codes: &[u8], npairs: usize, nblocks: usize, sb: f32, sa: f32, out: &mut [f32]) {
    let mask = _mm512_set1_epi8(0x0f);
    let zero = _mm512_setzero_si512();
    let (vb, va) = (_mm512_set1_ps(sb), _mm512_set1_ps(sa));
    let lp = lut.as_ptr();
    for b in 0..nblocks {
        let cp = codes[b * npairs * 32..].as_ptr();
        let (mut t_lo, mut t_hi) = (zero, zero);
        let mut q = 0;
        while q < npairs {
            let end = (q + 2 * STEPS).min(npairs);
            let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
            while q < end {
                // SAFETY: pairs `q` and `q + 1` (when `q + 1 < end ≤ npairs`) lie in `lut` and in
                // block `b` of `codes`; a lone last pair loads 32 bytes and zero-extends (a zero
                // table row adds 0).
                let (t, c) = unsafe {
                    if q + 1 < end {
                        (_mm512_loadu_si512(lp.add(32 * q).cast()), _mm512_loadu_si512(cp.add(32 * q).cast()))
                    } else {
                        (
                            _mm512_zextsi256_si512(_mm256_loadu_si256(lp.add(32 * q).cast())),
                            _mm512_zextsi256_si512(_mm256_loadu_si256(cp.add(32 * q).cast())),
                        )
                    }
                };
                let lo = _mm512_and_si512(c, mask);
                let hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), mask);
                let rl = _mm512_shuffle_epi8(t, lo);
                let rh = _mm512_shuffle_epi8(t, hi);
                a0 = _mm512_add_epi16(a0, rl);
                a1 = _mm512_add_epi16(a1, _mm512_srli_epi16(rl, 8));
                a2 = _mm512_add_epi16(a2, rh);
                a3 = _mm512_add_epi16(a3, _mm512_srli_epi16(rh, 8));
                q += 2;
            }
            q = end;
            t_lo = _mm512_add_epi32(t_lo, fold512(_mm512_sub_epi16(a0, _mm512_slli_epi16(a1, 8)), a1));
            t_hi = _mm512_add_epi32(t_hi, fold512(_mm512_sub_epi16(a2, _mm512_slli_epi16(a3, 8)), a3));
        }
        let f_lo = _mm512_add_ps(vb, _mm512_mul_ps(_mm512_cvtepu32_ps(t_lo), va));
        let f_hi = _mm512_add_ps(vb, _mm512_mul_ps(_mm512_cvtepu32_ps(t_hi), va));
        // SAFETY: `out.len() ≥ 32·nblocks`, so floats `32b .. 32b + 32` are inside.
        unsafe {
            _mm512_storeu_ps(out.as_mut_ptr().add(32 * b), f_lo);
            _mm512_storeu_ps(out.as_mut_ptr().add(32 * b + 16), f_hi);
        }
    }
}

/// Sums the four 128-bit lanes of `lo` (vectors 0..8, `u16`) and of `hi` (vectors 8..16) into
/// 16 `u32` in vector order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx2")]
fn fold512(lo: __m512i, hi: __m512i) -> __m512i {
    let w = |v: __m512i| {
        _mm512_add_epi32(
            _mm512_cvtepu16_epi32(_mm512_castsi512_si256(v)),
            _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(v)),
        )
    };
    // [lane0 + lane2 | lane1 + lane3] as 16 u32 each.
    let (l, h) = (w(lo), w(hi));
    let x = _mm512_shuffle_i64x2::<0x44>(l, h);
    let y = _mm512_shuffle_i64x2::<0xEE>(l, h);
    _mm512_add_epi32(x, y)
}

/// # Safety
/// AVX2 available; lengths as for [`scores_avx512`].
#[target_feature(enable = "avx2")]
unsafe fn scores_avx2(lut: &[u8], codes: &[u8], npairs: usize, nblocks: usize, sb: f32, sa: f32, out: &mut [f32]) {
    let mask = _mm256_set1_epi8(0x0f);
    let zero = _mm256_setzero_si256();
    let (vb, va) = (_mm256_set1_ps(sb), _mm256_set1_ps(sa));
    let lp = lut.as_ptr();
    // Two 128-bit lanes of 8 u16 into 8 u32.
    let w = |v: __m256i| {
        _mm256_add_epi32(
            _mm256_cvtepu16_epi32(_mm256_castsi256_si128(v)),
            _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(v)),
        )
    };
    for b in 0..nblocks {
        let cp = codes[b * npairs * 32..].as_ptr();
        let mut t = [zero; 4];
        let mut q = 0;
        while q < npairs {
            let end = (q + STEPS).min(npairs);
            let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
            while q < end {
                // SAFETY: pair `q < npairs` lies in `lut` and in block `b` of `codes`.
                let (tb, c) =
                    unsafe { (_mm256_loadu_si256(lp.add(32 * q).cast()), _mm256_loadu_si256(cp.add(32 * q).cast())) };
                let lo = _mm256_and_si256(c, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), mask);
                let rl = _mm256_shuffle_epi8(tb, lo);
                let rh = _mm256_shuffle_epi8(tb, hi);
                a0 = _mm256_add_epi16(a0, rl);
                a1 = _mm256_add_epi16(a1, _mm256_srli_epi16(rl, 8));
                a2 = _mm256_add_epi16(a2, rh);
                a3 = _mm256_add_epi16(a3, _mm256_srli_epi16(rh, 8));
                q += 1;
            }
            t[0] = _mm256_add_epi32(t[0], w(_mm256_sub_epi16(a0, _mm256_slli_epi16(a1, 8))));
            t[1] = _mm256_add_epi32(t[1], w(a1));
            t[2] = _mm256_add_epi32(t[2], w(_mm256_sub_epi16(a2, _mm256_slli_epi16(a3, 8))));
            t[3] = _mm256_add_epi32(t[3], w(a3));
        }
        for (i, &ti) in t.iter().enumerate() {
            // cvtepi32_ps is exact for sums below 2^24 (≤ 255·65536).
            let f = _mm256_add_ps(vb, _mm256_mul_ps(_mm256_cvtepi32_ps(ti), va));
            // SAFETY: `out.len() ≥ 32·nblocks`; floats `32b + 8i .. 32b + 8i + 8` are inside.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(32 * b + 8 * i), f) };
        }
    }
}

/// Arch [`crate::simd::first_at_least`]: the first index `i ≥ from` with `s[i] ≥ t` (16 scores
/// per compare), or `s.len()`; `None` without AVX-512 F.
#[inline]
pub fn first_at_least(s: &[f32], from: usize, t: f32) -> Option<usize> {
    if !has(feature::AVX512) {
        return None;
    }
    // SAFETY: AVX-512 F was detected.
    Some(unsafe { first_at_least_avx512(s, from, t) })
}

/// # Safety
/// AVX-512 F available.
#[target_feature(enable = "avx512f")]
unsafe fn first_at_least_avx512(s: &[f32], from: usize, t: f32) -> usize {
    let tv = _mm512_set1_ps(t);
    let mut i = from;
    while i + 16 <= s.len() {
        // SAFETY: floats `i .. i + 16` are inside `s`.
        let v = unsafe { _mm512_loadu_ps(s.as_ptr().add(i)) };
        let m = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, tv);
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    while i < s.len() && s[i].partial_cmp(&t).is_none_or(|o| o.is_lt()) {
        i += 1;
    }
    i
}

/// Arch [`crate::simd::pq::axpy_f64`]: `y[i] += a·x[i]` (multiply, then add: the portable bits),
/// 8 lanes per step; `None` without AVX-512 F.
#[inline]
pub fn axpy_f64(y: &mut [f64], a: f64, x: &[f64]) -> Option<()> {
    if !has(feature::AVX512) {
        return None;
    }
    // SAFETY: AVX-512 F was detected.
    unsafe { axpy_f64_avx512(y, a, x) };
    Some(())
}

/// # Safety
/// AVX-512 F available.
#[target_feature(enable = "avx512f")]
unsafe fn axpy_f64_avx512(y: &mut [f64], a: f64, x: &[f64]) {
    let n = y.len().min(x.len());
    let av = _mm512_set1_pd(a);
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: elements `i .. i + 8 ≤ n` of both slices.
        unsafe {
            let p = y.as_mut_ptr().add(i);
            let v = _mm512_add_pd(_mm512_loadu_pd(p), _mm512_mul_pd(av, _mm512_loadu_pd(x.as_ptr().add(i))));
            _mm512_storeu_pd(p, v);
        }
        i += 8;
    }
    for j in i..n {
        y[j] += a * x[j];
    }
}

/// Arch [`crate::simd::pq::fastscan_scores_multi`] on AVX-512 BW (`avx512`) or AVX2: the
/// fast-scan scores of `nblocks` whole blocks for `fin.len()` queries in one pass over the codes
/// per group of queries (4 per group on AVX-512, 2 on AVX2). Query `i` reads its table from
/// `luts[i]` and writes `out[i·ostride + 32b ..]`. `None` when this CPU lacks the
/// backend or for bad lengths (the caller runs the portable kernel).
#[allow(clippy::too_many_arguments)]
pub fn fastscan_scores_multi_with(
    avx512: bool,
    luts: &[&[u8]],
    codes: &[u8],
    npairs: usize,
    nblocks: usize,
    fin: &[(f32, f32)],
    out: &mut [f32],
    ostride: usize,
) -> Option<()> {
    let nq = fin.len();
    if npairs == 0
        || nq == 0
        || luts.len() < nq
        || luts.iter().any(|l| l.len() < 32 * npairs)
        || ostride < nblocks.checked_mul(32)?
        || codes.len() < nblocks.checked_mul(32 * npairs)?
        || out.len() < (nq - 1).checked_mul(ostride)?.checked_add(32 * nblocks)?
    {
        return None;
    }
    let (group, ok) = if avx512 { (4, has(feature::AVX512)) } else { (2, has(feature::AVX2)) };
    if !ok {
        return None;
    }
    let mut i = 0;
    while i < nq {
        let g = (nq - i).min(group);
        let (l, f) = (&luts[i..i + g], &fin[i..i + g]);
        let o = &mut out[i * ostride..];
        // SAFETY: the backend was detected above; queries `i .. i + g ≤ nq` have tables of at
        // least `32·npairs` bytes and their `32·nblocks` outputs (at
        // `ostride ≥ 32·nblocks` steps, so disjoint) inside `o`, and `codes` holds `nblocks`
        // blocks (all checked above).
        unsafe {
            match (avx512, g) {
                (true, 4) => multi_avx512::<4>(l, codes, npairs, nblocks, f, o, ostride),
                (true, 3) => multi_avx512::<3>(l, codes, npairs, nblocks, f, o, ostride),
                (true, 2) => multi_avx512::<2>(l, codes, npairs, nblocks, f, o, ostride),
                (true, _) => multi_avx512::<1>(l, codes, npairs, nblocks, f, o, ostride),
                (false, 2) => multi_avx2::<2>(l, codes, npairs, nblocks, f, o, ostride),
                (false, _) => multi_avx2::<1>(l, codes, npairs, nblocks, f, o, ostride),
            }
        }
        i += g;
    }
    Some(())
}

/// # Safety
/// AVX-512 F/BW available; `Q ≤ fin.len()`, `Q ≤ luts.len()`; for each query `i < Q` its
/// table `luts[i]` holds `32·npairs` bytes and its outputs `out[i·ostride .. i·ostride +
/// 32·nblocks]` are in bounds, `ostride ≥ 32·nblocks`; `codes.len() ≥ nblocks·npairs·32`;
/// `npairs ≥ 1`.
///
/// [`scores_avx512`] for `Q` queries at once: each step loads 64 code bytes (two pairs) and
/// splits their nibbles once, then looks them up in each query's two table rows; per query the
/// same `u16` accumulation, spill and fold, hence the same integers.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx2")]
unsafe fn multi_avx512<const Q: usize>(
    luts: &[&[u8]],
    codes: &[u8],
    npairs: usize,
    nblocks: usize,
    fin: &[(f32, f32)],
    out: &mut [f32],
    ostride: usize,
) {
    let mask = _mm512_set1_epi8(0x0f);
    // `maddubs(r, hi1)` is the odd (high) byte of each word of `r`: the shift of `scores_avx512`
    // on the multiply ports instead of the shift/shuffle ports (bytes ≤ 255, no saturation).
    let hi1 = _mm512_set1_epi16(0x0100);
    let zero = _mm512_setzero_si512();
    let lp: [*const u8; Q] = core::array::from_fn(|i| luts[i].as_ptr());
    let op = out.as_mut_ptr();
    for b in 0..nblocks {
        let cp = codes[b * npairs * 32..].as_ptr();
        let (mut t_lo, mut t_hi) = ([zero; Q], [zero; Q]);
        let mut q = 0;
        while q < npairs {
            let end = (q + 2 * STEPS).min(npairs);
            let mut a = [[zero; 4]; Q];
            while q + 2 <= end {
                // SAFETY: pairs `q, q + 1 < end ≤ npairs` of block `b` lie in `codes`.
                let c = unsafe { _mm512_loadu_si512(cp.add(32 * q).cast()) };
                let lo = _mm512_and_si512(c, mask);
                let hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), mask);
                for (i, ai) in a.iter_mut().enumerate() {
                    // SAFETY: rows `2q .. 2q + 4` of query `i < Q`'s table are in bounds.
                    let t = unsafe { _mm512_loadu_si512(lp[i].add(32 * q).cast()) };
                    let rl = _mm512_shuffle_epi8(t, lo);
                    let rh = _mm512_shuffle_epi8(t, hi);
                    ai[0] = _mm512_add_epi16(ai[0], rl);
                    ai[1] = _mm512_add_epi16(ai[1], _mm512_maddubs_epi16(rl, hi1));
                    ai[2] = _mm512_add_epi16(ai[2], rh);
                    ai[3] = _mm512_add_epi16(ai[3], _mm512_maddubs_epi16(rh, hi1));
                }
                q += 2;
            }
            if q < end {
                // A lone last pair: 32 bytes zero-extended (a zero table half adds 0).
                // SAFETY: pair `q < npairs` of block `b` lies in `codes`.
                let c = unsafe { _mm512_zextsi256_si512(_mm256_loadu_si256(cp.add(32 * q).cast())) };
                let lo = _mm512_and_si512(c, mask);
                let hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), mask);
                for (i, ai) in a.iter_mut().enumerate() {
                    // SAFETY: rows `2q, 2q + 1` of query `i`'s table are in bounds.
                    let t = unsafe { _mm512_zextsi256_si512(_mm256_loadu_si256(lp[i].add(32 * q).cast())) };
                    let rl = _mm512_shuffle_epi8(t, lo);
                    let rh = _mm512_shuffle_epi8(t, hi);
                    ai[0] = _mm512_add_epi16(ai[0], rl);
                    ai[1] = _mm512_add_epi16(ai[1], _mm512_maddubs_epi16(rl, hi1));
                    ai[2] = _mm512_add_epi16(ai[2], rh);
                    ai[3] = _mm512_add_epi16(ai[3], _mm512_maddubs_epi16(rh, hi1));
                }
            }
            q = end;
            for (i, ai) in a.iter().enumerate() {
                t_lo[i] =
                    _mm512_add_epi32(t_lo[i], fold512(_mm512_sub_epi16(ai[0], _mm512_slli_epi16(ai[1], 8)), ai[1]));
                t_hi[i] =
                    _mm512_add_epi32(t_hi[i], fold512(_mm512_sub_epi16(ai[2], _mm512_slli_epi16(ai[3], 8)), ai[3]));
            }
        }
        for i in 0..Q {
            let (vb, va) = (_mm512_set1_ps(fin[i].0), _mm512_set1_ps(fin[i].1));
            let f_lo = _mm512_add_ps(vb, _mm512_mul_ps(_mm512_cvtepu32_ps(t_lo[i]), va));
            let f_hi = _mm512_add_ps(vb, _mm512_mul_ps(_mm512_cvtepu32_ps(t_hi[i]), va));
            // SAFETY: floats `i·ostride + 32b .. + 32` are inside `out` (`b < nblocks`).
            unsafe {
                _mm512_storeu_ps(op.add(i * ostride + 32 * b), f_lo);
                _mm512_storeu_ps(op.add(i * ostride + 32 * b + 16), f_hi);
            }
        }
    }
}

/// # Safety
/// AVX2 available; bounds as for [`multi_avx512`].
///
/// [`scores_avx2`] for `Q` queries at once (one pair per step, the nibbles split once).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn multi_avx2<const Q: usize>(
    luts: &[&[u8]],
    codes: &[u8],
    npairs: usize,
    nblocks: usize,
    fin: &[(f32, f32)],
    out: &mut [f32],
    ostride: usize,
) {
    let mask = _mm256_set1_epi8(0x0f);
    let zero = _mm256_setzero_si256();
    let lp: [*const u8; Q] = core::array::from_fn(|i| luts[i].as_ptr());
    let op = out.as_mut_ptr();
    let w = |v: __m256i| {
        _mm256_add_epi32(
            _mm256_cvtepu16_epi32(_mm256_castsi256_si128(v)),
            _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(v)),
        )
    };
    for b in 0..nblocks {
        let cp = codes[b * npairs * 32..].as_ptr();
        let mut t = [[zero; 4]; Q];
        let mut q = 0;
        while q < npairs {
            let end = (q + STEPS).min(npairs);
            let mut a = [[zero; 4]; Q];
            while q < end {
                // SAFETY: pair `q < npairs` of block `b` lies in `codes`.
                let c = unsafe { _mm256_loadu_si256(cp.add(32 * q).cast()) };
                let lo = _mm256_and_si256(c, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), mask);
                for (i, ai) in a.iter_mut().enumerate() {
                    // SAFETY: rows `2q, 2q + 1` of query `i < Q`'s table are in bounds.
                    let tb = unsafe { _mm256_loadu_si256(lp[i].add(32 * q).cast()) };
                    let rl = _mm256_shuffle_epi8(tb, lo);
                    let rh = _mm256_shuffle_epi8(tb, hi);
                    ai[0] = _mm256_add_epi16(ai[0], rl);
                    ai[1] = _mm256_add_epi16(ai[1], _mm256_srli_epi16(rl, 8));
                    ai[2] = _mm256_add_epi16(ai[2], rh);
                    ai[3] = _mm256_add_epi16(ai[3], _mm256_srli_epi16(rh, 8));
                }
                q += 1;
            }
            for (ti, ai) in t.iter_mut().zip(&a) {
                ti[0] = _mm256_add_epi32(ti[0], w(_mm256_sub_epi16(ai[0], _mm256_slli_epi16(ai[1], 8))));
                ti[1] = _mm256_add_epi32(ti[1], w(ai[1]));
                ti[2] = _mm256_add_epi32(ti[2], w(_mm256_sub_epi16(ai[2], _mm256_slli_epi16(ai[3], 8))));
                ti[3] = _mm256_add_epi32(ti[3], w(ai[3]));
            }
        }
        for (i, ti) in t.iter().enumerate() {
            let (vb, va) = (_mm256_set1_ps(fin[i].0), _mm256_set1_ps(fin[i].1));
            for (k, &tk) in ti.iter().enumerate() {
                let f = _mm256_add_ps(vb, _mm256_mul_ps(_mm256_cvtepi32_ps(tk), va));
                // SAFETY: floats `i·ostride + 32b + 8k .. + 8` are inside `out` (`b < nblocks`).
                unsafe { _mm256_storeu_ps(op.add(i * ostride + 32 * b + 8 * k), f) };
            }
        }
    }
}
