//! x86-64 widening dot products of unsigned integer levels with an `f32` query: 8-bit levels
//! (`u8 → f32`) and 4-bit levels packed two per byte (`u4 → f32`), for AVX2 + FMA and AVX-512F.
//!
//! These are the float-query scan kernels of uniform scalar codes: with the grid folded into the
//! query (`w_j = q_j·Δ_j`), a score is `const + Σ_j w_j·level_j`.
//!
//! One kernel body serves one code and a group of codes: `kernel_avx2` / `kernel_avx512`
//! score `N` codes against the same query, loading each query vector once for all `N`. Every
//! code gets its own accumulators and the same sequence of operations whatever `N` is, so a code
//! scored alone and in a group gives bit-identical results (the codecs rely on `score_batch`
//! equalling `score`).
//!
//! Layout of the work: 16 levels (AVX2) or 32 levels (AVX-512) per step, as two vectors with one
//! accumulator each per code; the last partial step copies the remaining levels and query values
//! into zero-padded stack buffers, so no load ever reads past a slice. 4-bit levels are unpacked
//! by broadcasting 4 code bytes into every 32-bit lane and shifting lane `k` right by `4k`
//! (`vpsrlvd`), which yields 8 levels in coordinate order without byte shuffles.
//!
//! Every public function checks the CPU features itself and returns `None` when they are
//! missing, so a `#[target_feature]` function is never reached on a CPU that lacks it.

use core::arch::x86_64::*;

use super::{feature, has};

/// Rows scored together by the batch kernels.
const GROUP: usize = 4;

/// Levels held by `bytes` code bytes of `B`-bit levels.
#[inline(always)]
const fn levels_in(bytes: usize, b: u32) -> usize {
    if b == 8 { bytes } else { bytes.saturating_mul(2) }
}

/// Code bytes holding the first `n` levels of `B`-bit levels.
#[inline(always)]
const fn bytes_for(n: usize, b: u32) -> usize {
    if b == 8 { n } else { n.div_ceil(2) }
}

/// Software prefetch of the group of rows after next, spread over the steps of the current
/// group.
///
/// The batch kernels ask for the 64-byte lines of rows `from .. to` a few lines per step
/// ([`tick`](Self::tick)) rather than all at once before the group. On the Zen 4 development
/// VM (`cargo bench --bench dispatch -- --only f32_rows`, 2026-12-05, out-of-cache `sq8`
/// rows of 768 bytes): a burst of 48 `prefetcht0` before each 4-row group fills the L1 miss
/// queue and stalls the demand loads (AVX-512 7 GB/s); no software prefetch at all leaves four
/// interleaved streams to the hardware prefetcher (6.5 GB/s); spread over the steps, one group
/// ahead 15–20 GB/s, two groups ahead 17–24 GB/s (AVX2 the same or better).
struct Spread {
    base: *const u8,
    off: usize,
    end: usize,
    per_step: usize,
}

impl Spread {
    /// No prefetching (a single code, or the last group).
    #[inline(always)]
    fn none() -> Spread {
        Spread { base: core::ptr::null(), off: 0, end: 0, per_step: 0 }
    }

    /// For the group of rows starting at `r` (of `rows`): the lines of the group after next,
    /// rows `r + 2·GROUP .. r + 3·GROUP` (clamped to `rows` and `codes`), spread over `steps`
    /// ticks.
    #[inline(always)]
    fn after_next(codes: &[u8], stride: usize, r: usize, rows: usize, steps: usize) -> Spread {
        let (from, to) = (r + 2 * GROUP, (r + 3 * GROUP).min(rows));
        let off = from.saturating_mul(stride).min(codes.len());
        let end = to.saturating_mul(stride).min(codes.len()).max(off);
        let lines = (end - off).div_ceil(64);
        Spread { base: codes.as_ptr(), off, end, per_step: lines.div_ceil(steps.max(1)) }
    }

    /// Issues the next `per_step` line prefetches.
    #[inline(always)]
    fn tick(&mut self) {
        for _ in 0..self.per_step {
            if self.off >= self.end {
                return;
            }
            // SAFETY: `off < end ≤ codes.len()` (`after_next` clamps both), so the pointer is inside
            // the codes slice; a prefetch hint never faults and does not change memory. SSE
            // (for `prefetcht0`) is part of x86-64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(self.base.add(self.off).cast()) };
            self.off += 64;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA
// ---------------------------------------------------------------------------------------------

/// Levels per AVX2 step (two 8-lane vectors).
const STEP2: usize = 16;

/// 8 levels starting at `p` (byte-aligned: the level index is a multiple of 8) as `f32` lanes.
///
/// # Safety
/// AVX2 must be available; `p` must be readable for 8 bytes (`B = 8`) or 4 bytes (`B = 4`).
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load8_avx2<const B: u32>(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees the 8 (or 4) bytes at `p` are readable; the loads are
    // unaligned.
    unsafe {
        if B == 8 {
            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(p.cast())))
        } else {
            let v = _mm256_set1_epi32(p.cast::<i32>().read_unaligned());
            let shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
            let l = _mm256_and_si256(_mm256_srlv_epi32(v, shifts), _mm256_set1_epi32(0xF));
            _mm256_cvtepi32_ps(l)
        }
    }
}

/// One step: levels `0..16` at `p[c]` times `w[0..16]`, added into the accumulators of code `c`.
///
/// # Safety
/// AVX2 and FMA must be available; every `p[c]` must be readable for `bytes_for(16, B)` bytes
/// and `w` for 16 floats.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn step_avx2<const N: usize, const B: u32>(
    acc0: &mut [__m256; N],
    acc1: &mut [__m256; N],
    p: [*const u8; N],
    w: *const f32,
) {
    // SAFETY: the caller guarantees `w[0..16]` and `p[c][0..bytes_for(16, B)]` are readable;
    // the second half of the levels starts `bytes_for(8, B)` bytes in.
    unsafe {
        let w0 = _mm256_loadu_ps(w);
        let w1 = _mm256_loadu_ps(w.add(8));
        for c in 0..N {
            let x0 = load8_avx2::<B>(p[c]);
            let x1 = load8_avx2::<B>(p[c].add(bytes_for(8, B)));
            acc0[c] = _mm256_fmadd_ps(x0, w0, acc0[c]);
            acc1[c] = _mm256_fmadd_ps(x1, w1, acc1[c]);
        }
    }
}

#[inline(always)]
fn hsum256(v: __m256) -> f32 {
    let mut l = [0f32; 8];
    // SAFETY: `l` is 32 writable bytes; storeu has no alignment requirement.
    unsafe { _mm256_storeu_ps(l.as_mut_ptr(), v) };
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

/// `Σ_{i<n} level_i(p[c])·w[i]` for each of the `N` codes, `B`-bit levels (8 or 4).
///
/// # Safety
/// AVX2 and FMA must be available; every `p[c]` must be readable for `bytes_for(n, B)` bytes and
/// `w` for `n` floats.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn kernel_avx2<const N: usize, const B: u32>(
    p: [*const u8; N],
    n: usize,
    w: *const f32,
    pf: &mut Spread,
) -> [f32; N] {
    let mut acc0 = [_mm256_setzero_ps(); N];
    let mut acc1 = [_mm256_setzero_ps(); N];
    let mut i = 0;
    while i + STEP2 <= n {
        pf.tick();
        // SAFETY: levels `i .. i + 16 ≤ n` are in every code (bytes `bytes_for(i, B) ..
        // bytes_for(i + 16, B)`, `i` even) and `w[i .. i + 16]` is in `w`.
        unsafe { step_avx2::<N, B>(&mut acc0, &mut acc1, p.map(|q| q.add(bytes_for(i, B))), w.add(i)) };
        i += STEP2;
    }
    if i < n {
        let r = n - i;
        let mut wb = [0f32; STEP2];
        let mut cb = [[0u8; STEP2]; N];
        // SAFETY: `w[i..n]` and the code bytes `bytes_for(i, B) .. bytes_for(n, B)` are readable
        // (caller contract); they are copied into zero-padded buffers of 16 floats / 16 bytes,
        // which the step then reads in full. Zero levels and zero weights add nothing.
        unsafe {
            core::ptr::copy_nonoverlapping(w.add(i), wb.as_mut_ptr(), r);
            for c in 0..N {
                let nb = bytes_for(n, B) - bytes_for(i, B);
                core::ptr::copy_nonoverlapping(p[c].add(bytes_for(i, B)), cb[c].as_mut_ptr(), nb);
            }
            step_avx2::<N, B>(&mut acc0, &mut acc1, core::array::from_fn(|c| cb[c].as_ptr()), wb.as_ptr());
        }
    }
    core::array::from_fn(|c| hsum256(_mm256_add_ps(acc0[c], acc1[c])))
}

/// Scores `rows` codes at stride `stride` from `codes` (`n` levels each), in groups of
/// [`GROUP`], then one at a time.
///
/// # Safety
/// AVX2 and FMA must be available; `codes` must hold `rows` windows of `bytes_for(n, B) ≤ stride`
/// bytes at stride `stride`, `w` must hold `n` floats and `out` `rows` floats.
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2<const B: u32>(codes: &[u8], stride: usize, rows: usize, n: usize, w: &[f32], out: &mut [f32]) {
    let base = codes.as_ptr();
    let mut r = 0;
    while r + GROUP <= rows {
        let mut pf = Spread::after_next(codes, stride, r, rows, n / STEP2);
        // SAFETY: rows `r .. r + 4 ≤ rows` start at `(r + c)·stride` and hold `bytes_for(n, B)`
        // bytes (caller contract); `w` holds `n` floats.
        let s = unsafe {
            kernel_avx2::<GROUP, B>(core::array::from_fn(|c| base.add((r + c) * stride)), n, w.as_ptr(), &mut pf)
        };
        out[r..r + GROUP].copy_from_slice(&s);
        r += GROUP;
    }
    while r < rows {
        // SAFETY: as above for the single row `r < rows`.
        out[r] = unsafe { kernel_avx2::<1, B>([base.add(r * stride)], n, w.as_ptr(), &mut Spread::none()) }[0];
        r += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// AVX-512F
// ---------------------------------------------------------------------------------------------

/// Levels per AVX-512 step (two 16-lane vectors).
const STEP512: usize = 32;

/// 16 levels starting at `p` (byte-aligned) as `f32` lanes.
///
/// # Safety
/// AVX-512F must be available; `p` must be readable for 16 bytes (`B = 8`) or 8 bytes (`B = 4`).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load16_avx512<const B: u32>(p: *const u8) -> __m512 {
    // SAFETY: the caller guarantees the 16 (or 8) bytes at `p` are readable; the loads are
    // unaligned.
    unsafe {
        if B == 8 {
            _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(p.cast())))
        } else {
            // Lanes 0..8 take code bytes 0..4, lanes 8..16 bytes 4..8; lane k shifts by 4·(k mod 8).
            let v = _mm512_set1_epi64(p.cast::<i64>().read_unaligned());
            let idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
            let v = _mm512_permutexvar_epi32(idx, v);
            let shifts = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
            let l = _mm512_and_si512(_mm512_srlv_epi32(v, shifts), _mm512_set1_epi32(0xF));
            _mm512_cvtepi32_ps(l)
        }
    }
}

/// Levels `0..16` and `16..32` of the 4-bit levels in the 16 bytes at `p`, as floats, from one
/// 16-byte load: low nibbles (even levels) and high nibbles (odd levels) of the zero-extended
/// bytes, interleaved back into coordinate order by two `vpermt2d`. The same integers as two
/// [`load16_avx512`] calls, in fewer instructions (one load instead of two broadcasts and
/// variable shifts).
///
/// # Safety
/// AVX-512F must be available; `p` must be readable for 16 bytes.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load32_u4_avx512(p: *const u8) -> (__m512, __m512) {
    // SAFETY: `p` is readable for 16 bytes (caller contract).
    let x = unsafe { _mm512_cvtepu8_epi32(_mm_loadu_si128(p.cast())) };
    let lo = _mm512_and_si512(x, _mm512_set1_epi32(0xF));
    let hi = _mm512_srli_epi32::<4>(x);
    let i0 = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    let i1 = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    (
        _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(lo, i0, hi)),
        _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(lo, i1, hi)),
    )
}

/// One step: levels `0..32` at `p[c]` times `w[0..32]`, added into the accumulators of code `c`.
///
/// # Safety
/// AVX-512F must be available; every `p[c]` must be readable for `bytes_for(32, B)` bytes and
/// `w` for 32 floats.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn step_avx512<const N: usize, const B: u32>(
    acc0: &mut [__m512; N],
    acc1: &mut [__m512; N],
    p: [*const u8; N],
    w: *const f32,
) {
    // SAFETY: the caller guarantees `w[0..32]` and `p[c][0..bytes_for(32, B)]` are readable;
    // the second half of the levels starts `bytes_for(16, B)` bytes in.
    unsafe {
        let w0 = _mm512_loadu_ps(w);
        let w1 = _mm512_loadu_ps(w.add(16));
        for c in 0..N {
            let (x0, x1) = if B == 4 {
                load32_u4_avx512(p[c])
            } else {
                (load16_avx512::<B>(p[c]), load16_avx512::<B>(p[c].add(bytes_for(16, B))))
            };
            acc0[c] = _mm512_fmadd_ps(x0, w0, acc0[c]);
            acc1[c] = _mm512_fmadd_ps(x1, w1, acc1[c]);
        }
    }
}

/// `Σ_{i<n} level_i(p[c])·w[i]` for each of the `N` codes, `B`-bit levels (8 or 4).
///
/// # Safety
/// AVX-512F must be available; every `p[c]` must be readable for `bytes_for(n, B)` bytes and `w`
/// for `n` floats.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn kernel_avx512<const N: usize, const B: u32>(
    p: [*const u8; N],
    n: usize,
    w: *const f32,
    pf: &mut Spread,
) -> [f32; N] {
    let mut acc0 = [_mm512_setzero_ps(); N];
    let mut acc1 = [_mm512_setzero_ps(); N];
    let mut i = 0;
    while i + STEP512 <= n {
        pf.tick();
        // SAFETY: levels `i .. i + 32 ≤ n` are in every code and `w[i .. i + 32]` is in `w`.
        unsafe { step_avx512::<N, B>(&mut acc0, &mut acc1, p.map(|q| q.add(bytes_for(i, B))), w.add(i)) };
        i += STEP512;
    }
    if i < n {
        let r = n - i;
        let mut wb = [0f32; STEP512];
        let mut cb = [[0u8; STEP512]; N];
        // SAFETY: `w[i..n]` and the code bytes `bytes_for(i, B) .. bytes_for(n, B)` are readable
        // (caller contract); they are copied into zero-padded buffers of 32 floats / 32 bytes,
        // which the step then reads in full. Zero levels and zero weights add nothing.
        unsafe {
            core::ptr::copy_nonoverlapping(w.add(i), wb.as_mut_ptr(), r);
            for c in 0..N {
                let nb = bytes_for(n, B) - bytes_for(i, B);
                core::ptr::copy_nonoverlapping(p[c].add(bytes_for(i, B)), cb[c].as_mut_ptr(), nb);
            }
            step_avx512::<N, B>(&mut acc0, &mut acc1, core::array::from_fn(|c| cb[c].as_ptr()), wb.as_ptr());
        }
    }
    core::array::from_fn(|c| _mm512_reduce_add_ps(_mm512_add_ps(acc0[c], acc1[c])))
}

/// As [`rows_avx2`] with AVX-512F.
///
/// # Safety
/// AVX-512F must be available; otherwise as [`rows_avx2`].
#[target_feature(enable = "avx512f")]
unsafe fn rows_avx512<const B: u32>(codes: &[u8], stride: usize, rows: usize, n: usize, w: &[f32], out: &mut [f32]) {
    let base = codes.as_ptr();
    let mut r = 0;
    while r + GROUP <= rows {
        let mut pf = Spread::after_next(codes, stride, r, rows, n / STEP512);
        // SAFETY: rows `r .. r + 4 ≤ rows` start at `(r + c)·stride` and hold `bytes_for(n, B)`
        // bytes (caller contract); `w` holds `n` floats.
        let s = unsafe {
            kernel_avx512::<GROUP, B>(core::array::from_fn(|c| base.add((r + c) * stride)), n, w.as_ptr(), &mut pf)
        };
        out[r..r + GROUP].copy_from_slice(&s);
        r += GROUP;
    }
    while r < rows {
        // SAFETY: as above for the single row `r < rows`.
        out[r] = unsafe { kernel_avx512::<1, B>([base.add(r * stride)], n, w.as_ptr(), &mut Spread::none()) }[0];
        r += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Quantization to bytes (the encoder)
// ---------------------------------------------------------------------------------------------

/// `⌊clamp((x − b)/s, 0, qmax) + ½⌋` as i32 lanes (0 where `s ≤ 0`), and `|x| < ∞` as a mask.
///
/// # Safety
/// AVX2 must be available.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn quant8_avx2(x: __m256, b: __m256, s: __m256, qm: __m256) -> (__m256i, __m256) {
    let zero = _mm256_setzero_ps();
    let v = _mm256_div_ps(_mm256_sub_ps(x, b), s);
    // `s > 0` keeps v (inf/NaN from s = 0 are masked to 0); then clamp to [0, qmax].
    let v = _mm256_and_ps(v, _mm256_cmp_ps(s, zero, _CMP_GT_OQ));
    let v = _mm256_min_ps(_mm256_max_ps(v, zero), qm);
    let l = _mm256_cvttps_epi32(_mm256_add_ps(v, _mm256_set1_ps(0.5)));
    let ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
    (l, _mm256_cmp_ps(ax, _mm256_set1_ps(f32::INFINITY), _CMP_LT_OQ))
}

/// AVX2 quantization of `n` coordinates, 32 per step (levels packed to bytes with `vpackusdw`,
/// `vpackuswb` and one lane permute); returns whether all `x` were finite.
///
/// # Safety
/// AVX2 and FMA must be available; `x`, `b`, `s` must hold `n` floats and `out` `n` bytes.
#[target_feature(enable = "avx2,fma")]
unsafe fn quantize_avx2(x: *const f32, b: *const f32, s: *const f32, qmax: f32, out: *mut u8, n: usize) -> bool {
    let qm = _mm256_set1_ps(qmax);
    let mut fin = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    let perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut i = 0;
    let mut step = |x: *const f32, b: *const f32, s: *const f32, out: *mut u8| {
        // SAFETY: the callers below pass pointers readable for 32 floats and writable for 32
        // bytes (inside the slices, or stack buffers).
        unsafe {
            let mut l = [_mm256_setzero_si256(); 4];
            for (k, lk) in l.iter_mut().enumerate() {
                let (q, f) = quant8_avx2(
                    _mm256_loadu_ps(x.add(8 * k)),
                    _mm256_loadu_ps(b.add(8 * k)),
                    _mm256_loadu_ps(s.add(8 * k)),
                    qm,
                );
                *lk = q;
                fin = _mm256_and_ps(fin, f);
            }
            // Levels are in 0..=255: the saturating packs are exact.
            let p = _mm256_packus_epi16(_mm256_packus_epi32(l[0], l[1]), _mm256_packus_epi32(l[2], l[3]));
            _mm256_storeu_si256(out.cast(), _mm256_permutevar8x32_epi32(p, perm));
        }
    };
    while i + 32 <= n {
        // SAFETY: elements `i .. i + 32 ≤ n` are inside all four buffers (caller contract).
        unsafe { step(x.add(i), b.add(i), s.add(i), out.add(i)) };
        i += 32;
    }
    if i < n {
        let r = n - i;
        let (mut xb, mut bb, mut sb, mut ob) = ([0f32; 32], [0f32; 32], [0f32; 32], [0u8; 32]);
        // SAFETY: elements `i .. n` are inside the buffers (caller contract); the padded copies
        // hold 32 each (zero padding: finite, step 0 → level 0).
        unsafe {
            core::ptr::copy_nonoverlapping(x.add(i), xb.as_mut_ptr(), r);
            core::ptr::copy_nonoverlapping(b.add(i), bb.as_mut_ptr(), r);
            core::ptr::copy_nonoverlapping(s.add(i), sb.as_mut_ptr(), r);
            step(xb.as_ptr(), bb.as_ptr(), sb.as_ptr(), ob.as_mut_ptr());
            core::ptr::copy_nonoverlapping(ob.as_ptr(), out.add(i), r);
        }
    }
    _mm256_movemask_ps(fin) == 0xFF
}

/// AVX-512F quantization of `n` coordinates, 16 per step (`vpmovusdb` packs the levels); returns
/// whether all `x` were finite.
///
/// # Safety
/// AVX-512F must be available; `x`, `b`, `s` must hold `n` floats and `out` `n` bytes.
#[target_feature(enable = "avx512f")]
unsafe fn quantize_avx512(x: *const f32, b: *const f32, s: *const f32, qmax: f32, out: *mut u8, n: usize) -> bool {
    let qm = _mm512_set1_ps(qmax);
    let zero = _mm512_setzero_ps();
    let half = _mm512_set1_ps(0.5);
    let inf = _mm512_set1_ps(f32::INFINITY);
    let mut fin: __mmask16 = 0xFFFF;
    let mut i = 0;
    while i < n {
        let full = n - i >= 16;
        let m = if full { 0xFFFF } else { ((1u32 << (n - i)) - 1) as __mmask16 };
        // SAFETY: full steps read 16 floats at `i ≤ n − 16`; the last partial step's loads and
        // every store are masked to the elements `i .. min(i + 16, n)`, inside the buffers
        // (caller contract); masked-off lanes are not accessed. Masked-off lanes load as 0
        // (finite, step 0 → level 0) and are not stored. Plain loads on full steps: a stream of
        // masked loads is 3× slower from memory on Zen 5 (`benches/dispatch.rs`).
        unsafe {
            let (xv, sv, bv) = if full {
                (_mm512_loadu_ps(x.add(i)), _mm512_loadu_ps(s.add(i)), _mm512_loadu_ps(b.add(i)))
            } else {
                (
                    _mm512_maskz_loadu_ps(m, x.add(i)),
                    _mm512_maskz_loadu_ps(m, s.add(i)),
                    _mm512_maskz_loadu_ps(m, b.add(i)),
                )
            };
            let v = _mm512_div_ps(_mm512_sub_ps(xv, bv), sv);
            let v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(sv, zero, _CMP_GT_OQ), v);
            let v = _mm512_min_ps(_mm512_max_ps(v, zero), qm);
            let l = _mm512_cvttps_epi32(_mm512_add_ps(v, half));
            fin &= _mm512_cmp_ps_mask(_mm512_abs_ps(xv), inf, _CMP_LT_OQ);
            _mm512_mask_cvtusepi32_storeu_epi8(out.add(i).cast(), m, l);
        }
        i += 16;
    }
    fin == 0xFFFF
}

/// Arch `quantize_u8` (see [`crate::simd::quantize_u8`]), if an arch kernel exists for this CPU.
#[inline]
pub fn quantize_u8(x: &[f32], base: &[f32], step: &[f32], qmax: f32, out: &mut [u8]) -> Option<bool> {
    let n = x.len().min(base.len()).min(step.len()).min(out.len());
    if has(feature::AVX512) {
        // SAFETY: AVX-512F was detected; all four buffers hold at least `n` elements.
        return Some(unsafe { quantize_avx512(x.as_ptr(), base.as_ptr(), step.as_ptr(), qmax, out.as_mut_ptr(), n) });
    }
    if has(feature::AVX2) {
        // SAFETY: AVX2 and FMA were detected; all four buffers hold at least `n` elements.
        return Some(unsafe { quantize_avx2(x.as_ptr(), base.as_ptr(), step.as_ptr(), qmax, out.as_mut_ptr(), n) });
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

/// One code of `B`-bit levels against `w`: `n = min(w.len(), levels in a)`.
#[inline]
fn single<const B: u32>(a: &[u8], w: &[f32]) -> Option<f32> {
    let n = levels_in(a.len(), B).min(w.len());
    if has(feature::AVX512) {
        // SAFETY: AVX-512F was detected; `a` holds `bytes_for(n, B) ≤ a.len()` bytes and `w`
        // holds `n ≤ w.len()` floats.
        return Some(unsafe { kernel_avx512::<1, B>([a.as_ptr()], n, w.as_ptr(), &mut Spread::none()) }[0]);
    }
    if has(feature::AVX2) {
        // SAFETY: AVX2 and FMA were detected; lengths as above.
        return Some(unsafe { kernel_avx2::<1, B>([a.as_ptr()], n, w.as_ptr(), &mut Spread::none()) }[0]);
    }
    None
}

/// Strided rows of `B`-bit levels against `w` (see [`crate::simd::dot_u8_f32_rows`]).
#[inline]
fn rows<const B: u32>(codes: &[u8], stride: usize, w: &[f32], out: &mut [f32]) -> Option<()> {
    let avx512 = has(feature::AVX512);
    if !avx512 && !has(feature::AVX2) {
        return None;
    }
    if stride == 0 {
        out.fill(0.0);
        return Some(());
    }
    let rows = out.len().min(codes.len() / stride);
    let n = levels_in(stride, B).min(w.len());
    let out = &mut out[..rows];
    if avx512 {
        // SAFETY: AVX-512F was detected; row `r < rows` spans `r·stride .. (r + 1)·stride ≤
        // codes.len()` and holds `bytes_for(n, B) ≤ stride` bytes; `w` holds `n` floats.
        unsafe { rows_avx512::<B>(codes, stride, rows, n, w, out) };
    } else {
        // SAFETY: AVX2 and FMA were detected; geometry as above.
        unsafe { rows_avx2::<B>(codes, stride, rows, n, w, out) };
    }
    Some(())
}

/// Arch `dot_u8_f32`: `Σ a_i·w_i` over `min(a.len(), w.len())` elements, if an arch kernel exists
/// for this CPU.
#[inline]
pub fn dot_u8_f32(a: &[u8], w: &[f32]) -> Option<f32> {
    single::<8>(a, w)
}

/// Arch `dot_u4_f32`: `Σ l_i·w_i` over the 4-bit levels of `a` (low nibble first), for
/// `i < min(w.len(), 2·a.len())`, if an arch kernel exists for this CPU.
#[inline]
pub fn dot_u4_f32(a: &[u8], w: &[f32]) -> Option<f32> {
    single::<4>(a, w)
}

/// Arch `dot_u8_f32_rows`, if an arch kernel exists for this CPU (`None` otherwise, with `out`
/// untouched).
#[inline]
pub fn dot_u8_f32_rows(codes: &[u8], stride: usize, w: &[f32], out: &mut [f32]) -> Option<()> {
    rows::<8>(codes, stride, w, out)
}

/// Arch `dot_u4_f32_rows`, if an arch kernel exists for this CPU (`None` otherwise, with `out`
/// untouched).
#[inline]
pub fn dot_u4_f32_rows(codes: &[u8], stride: usize, w: &[f32], out: &mut [f32]) -> Option<()> {
    rows::<4>(codes, stride, w, out)
}

/// Block-scaled single-code kernel: each block's 16-level steps go to two block accumulators,
/// folded into the running sum by one multiply-add with the block's step.
///
/// # Safety
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
unsafe fn blocks_avx2<const B: u32>(a: &[u8], w: &[f32], block: usize, steps: &[f32]) -> f32 {
    let n = levels_in(a.len(), B).min(w.len());
    let mut acc = _mm256_setzero_ps();
    for (k, &st) in steps.iter().enumerate() {
        let s = k * block;
        if s >= n {
            break;
        }
        let e = (s + block).min(n);
        let mut b0 = [_mm256_setzero_ps()];
        let mut b1 = [_mm256_setzero_ps()];
        let mut i = s;
        while i + STEP2 <= e {
            // SAFETY: levels `i .. i + 16 ≤ n` lie in `a` (`i` is even: blocks are multiples of
            // 16), `w[i .. i + 16]` in `w`.
            unsafe { step_avx2::<1, B>(&mut b0, &mut b1, [a.as_ptr().add(bytes_for(i, B))], w.as_ptr().add(i)) };
            i += STEP2;
        }
        if i < e {
            let len = e - i;
            let mut lb = [0u8; 16];
            let mut wb = [0f32; STEP2];
            let from = bytes_for(i, B);
            let cnt = bytes_for(len, B).min(a.len() - from);
            lb[..cnt].copy_from_slice(&a[from..from + cnt]);
            wb[..len].copy_from_slice(&w[i..e]);
            // SAFETY: both buffers are full-size stack arrays (16 bytes ≥ bytes_for(16, B),
            // 16 floats); the padded weights are 0, so the padded levels add nothing.
            unsafe { step_avx2::<1, B>(&mut b0, &mut b1, [lb.as_ptr()], wb.as_ptr()) };
        }
        acc = _mm256_fmadd_ps(_mm256_add_ps(b0[0], b1[0]), _mm256_set1_ps(st), acc);
    }
    hsum256(acc)
}

/// Arch `dot_u8_f32_blocks`, if this CPU has AVX2 and FMA and `block` is a positive multiple
/// of 16.
#[inline]
pub fn dot_u8_f32_blocks(a: &[u8], w: &[f32], block: usize, steps: &[f32]) -> Option<f32> {
    if !has(feature::AVX2) || block == 0 || !block.is_multiple_of(STEP2) {
        return None;
    }
    // SAFETY: AVX2 and FMA were detected on this CPU.
    Some(unsafe { blocks_avx2::<8>(a, w, block, steps) })
}

/// Arch `dot_u4_f32_blocks`, if this CPU has AVX2 and FMA and `block` is a positive multiple
/// of 16.
#[inline]
pub fn dot_u4_f32_blocks(a: &[u8], w: &[f32], block: usize, steps: &[f32]) -> Option<f32> {
    if !has(feature::AVX2) || block == 0 || !block.is_multiple_of(STEP2) {
        return None;
    }
    // SAFETY: AVX2 and FMA were detected on this CPU.
    Some(unsafe { blocks_avx2::<4>(a, w, block, steps) })
}
