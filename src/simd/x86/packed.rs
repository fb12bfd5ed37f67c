//! x86-64 weighted sums of rows of packed levels, AVX2 + FMA: [`crate::simd::axpy_packed_rows`],
//! `out[c] += Σ_r w[r·k + ⌊c/8⌋]·level_r(c)` (the value side of KV attention from codes).
//!
//! Layout of the work: the channels are taken in blocks of up to 64 (8, 4, 2 or 1 groups of 8
//! channels); a block's sums stay in `ymm` registers while every row is added in turn, then are
//! stored once. Eight `W`-bit levels (`W` bytes, LSB first) become 8 `i32` lanes without a
//! table: for `W ≤ 4` one `u32` broadcast to every lane and shifted right by `j·W` in lane `j`
//! (`vpsrlvd`); for `W ∈ 5..=7` a `u64` broadcast to both 128-bit halves, a byte shuffle that
//! puts bytes `⌊j·W/8⌋` and `⌊j·W/8⌋ + 1` in the low half of lane `j`, and a shift by
//! `j·W mod 8`; for `W = 8` a zero extension. A mask keeps the low `W` bits; the levels are
//! converted to `f32` and fused-multiply-added with the row's weight.
//!
//! Loads read up to 3 bytes past a group's `W` bytes (4 for `W ≤ 4`, 8 for `W ≥ 5`); a row
//! whose block ends fewer than that many bytes before the end of `codes` is first copied into a
//! zeroed stack buffer, so no load ever reads past the slice. The extra bytes never reach the
//! masked levels.

use core::arch::x86_64::*;

use super::{feature, has};

/// Bytes the 8-level load of `W`-bit levels reads.
const fn read_len(w: usize) -> usize {
    if w <= 4 { 4 } else { 8 }
}

/// Per width `W` (index), the right shift of lane `j`: `j·W` (`W ≤ 4`, one `u32` per lane) or
/// `j·W mod 8` (`W ≥ 5`, after the byte shuffle).
static SHIFT: [[i32; 8]; 9] = {
    let mut t = [[0i32; 8]; 9];
    let mut w = 1;
    while w <= 8 {
        let mut j = 0;
        while j < 8 {
            t[w][j] = if w <= 4 { (j * w) as i32 } else { (j * w % 8) as i32 };
            j += 1;
        }
        w += 1;
    }
    t
};

/// Per width `W ∈ 5..=7` (index), the `vpshufb` control putting bytes `⌊j·W/8⌋` and
/// `⌊j·W/8⌋ + 1` of the group into the low 16 bits of lane `j` (both 128-bit halves hold the
/// same 8 bytes, so lanes 4..8 index the same bytes as lanes 0..4); the high 16 bits are zero.
static SHUFFLE: [[i8; 32]; 9] = {
    let mut t = [[-128i8; 32]; 9];
    let mut w = 5;
    while w <= 7 {
        let mut j = 0;
        while j < 8 {
            let b = (j * w / 8) as i8;
            t[w][4 * j] = b;
            t[w][4 * j + 1] = b + 1;
            j += 1;
        }
        w += 1;
    }
    t
};

/// The 8 levels of `W` bits at `p` (LSB first) as `f32` lanes.
///
/// # Safety
/// AVX2 must be available; `p` must be readable for `read_len(W)` bytes.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn levels8<const W: usize>(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees `read_len(W)` readable bytes at `p` (4 for `W ≤ 4`, 8
    // otherwise); the loads are unaligned; the tables are 32-byte rows read whole.
    unsafe {
        let l = if W == 8 {
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(p.cast()))
        } else {
            let sh = _mm256_loadu_si256(SHIFT[W].as_ptr().cast());
            let v = if W <= 4 {
                _mm256_set1_epi32(p.cast::<i32>().read_unaligned())
            } else {
                let ctl = _mm256_loadu_si256(SHUFFLE[W].as_ptr().cast());
                _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadl_epi64(p.cast())), ctl)
            };
            _mm256_and_si256(_mm256_srlv_epi32(v, sh), _mm256_set1_epi32((1 << W) - 1))
        };
        _mm256_cvtepi32_ps(l)
    }
}

/// Groups `k0 .. k0 + K` of 8 channels over rows `0..n`.
///
/// # Safety
/// AVX2 and FMA must be available; `k0 + K ≤ k`, `out.len() ≥ 8·k`, `w.len() ≥ n·k`, and for
/// every `r < n` the bytes `r·stride + k0·W .. r·stride + (k0 + K)·W` are in `codes`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn block<const W: usize, const K: usize>(
    codes: &[u8],
    stride: usize,
    n: usize,
    w: &[f32],
    k: usize,
    k0: usize,
    out: &mut [f32],
) {
    let need = (K - 1) * W + read_len(W);
    let mut buf = [0u8; 8 * 8 + 8];
    // SAFETY: `out[8·k0 .. 8·(k0 + K)]` is in `out` (`k0 + K ≤ k`, `out.len() ≥ 8·k`); row `r`'s
    // weights `w[r·k + k0 .. r·k + k0 + K]` are in `w` (`r < n`, `w.len() ≥ n·k`); its code
    // bytes are read in place only when `need` bytes from `at` are in `codes` (each of the `K`
    // loads at `at + j·W` reads `read_len(W)` bytes, ending by `at + need`), otherwise from
    // `buf`, which holds the row's `K·W ≤ 64` bytes (in `codes` by the caller's contract) and
    // is `need ≤ 64 ≤ 72` bytes long.
    unsafe {
        let o = out.as_mut_ptr().add(8 * k0);
        let mut acc = [_mm256_setzero_ps(); K];
        for (j, a) in acc.iter_mut().enumerate() {
            *a = _mm256_loadu_ps(o.add(8 * j));
        }
        for r in 0..n {
            let at = r * stride + k0 * W;
            let p = if at + need <= codes.len() {
                codes.as_ptr().add(at)
            } else {
                core::ptr::copy_nonoverlapping(codes.as_ptr().add(at), buf.as_mut_ptr(), K * W);
                buf.as_ptr()
            };
            let wr = w.as_ptr().add(r * k + k0);
            for (j, a) in acc.iter_mut().enumerate() {
                let l = levels8::<W>(p.add(j * W));
                *a = _mm256_fmadd_ps(l, _mm256_set1_ps(*wr.add(j)), *a);
            }
        }
        for (j, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(o.add(8 * j), *a);
        }
    }
}

/// All `k` groups of 8 channels: blocks of 8 groups, then 4, 2, 1.
///
/// # Safety
/// AVX2 and FMA must be available; `out.len() ≥ 8·k`, `w.len() ≥ n·k`, and for every `r < n`
/// the bytes `r·stride .. r·stride + k·W` are in `codes`.
#[target_feature(enable = "avx2,fma")]
unsafe fn rows<const W: usize>(codes: &[u8], stride: usize, n: usize, w: &[f32], k: usize, out: &mut [f32]) {
    let mut k0 = 0;
    // SAFETY: every call covers groups `k0 .. k0 + K ≤ k`, inside the caller's contract.
    unsafe {
        while k0 + 8 <= k {
            block::<W, 8>(codes, stride, n, w, k, k0, out);
            k0 += 8;
        }
        if k0 + 4 <= k {
            block::<W, 4>(codes, stride, n, w, k, k0, out);
            k0 += 4;
        }
        if k0 + 2 <= k {
            block::<W, 2>(codes, stride, n, w, k, k0, out);
            k0 += 2;
        }
        if k0 < k {
            block::<W, 1>(codes, stride, n, w, k, k0, out);
        }
    }
}

/// Arch [`crate::simd::axpy_packed_rows`], if AVX2 and FMA were detected (`None` otherwise,
/// with `out` untouched).
pub fn axpy_packed_rows(codes: &[u8], stride: usize, bits: u32, w: &[f32], out: &mut [f32]) -> Option<()> {
    if !has(feature::AVX2) {
        return None;
    }
    let (b, k) = (bits as usize, out.len() / 8);
    if !(1..=8).contains(&b) {
        return Some(());
    }
    let n = crate::simd::reference::packed_rows(codes.len(), stride, k, b, w.len());
    // SAFETY: AVX2 and FMA were detected; `out.len() ≥ 8·k`; `n ≤ w.len()/k` so `w.len() ≥ n·k`;
    // `packed_rows` keeps only rows whose `k·b` bytes from `r·stride` are in `codes`.
    unsafe {
        match b {
            1 => rows::<1>(codes, stride, n, w, k, out),
            2 => rows::<2>(codes, stride, n, w, k, out),
            3 => rows::<3>(codes, stride, n, w, k, out),
            4 => rows::<4>(codes, stride, n, w, k, out),
            5 => rows::<5>(codes, stride, n, w, k, out),
            6 => rows::<6>(codes, stride, n, w, k, out),
            7 => rows::<7>(codes, stride, n, w, k, out),
            _ => rows::<8>(codes, stride, n, w, k, out),
        }
    }
    Some(())
}
