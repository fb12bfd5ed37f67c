//! x86-64 AVX2 kernels for TurboQuant encoding: one randomized Walsh–Hadamard pass
//! ([`pass`]), the codebook cell count with bit packing ([`cells_pack`]), the `f64` sum of
//! squares ([`sum_sq_f64`]) and a pipelined batch of norm + cells ([`encode_rows`], for
//! `compose::Normalized` over `CodebookScalar`). (The sign bits of a dense projection moved to
//! [`super::gemm::proj_signs`].)
//!
//! All compute bit-identical results to the portable kernels in
//! `crate::transform::hadamard`, `crate::turbo` and `crate::qjl`: every butterfly is the same
//! IEEE addition `u + v` or subtraction `u − v` (written `u + (−v)` or `fma(v, −1, u)`, which
//! IEEE defines as the same operation: the product by `±1` is exact) on the same operands in the
//! same stage order; only the grouping of independent operations into registers differs.

use core::arch::x86_64::*;

use super::{feature, has};
use crate::error::Result;

/// One pass on a power-of-two block (`x.len() ≥ 8`): `x ← scale · H · D s`, where `s` is `src`
/// (or `x` itself when `None`), `D` negates `s[j]` when bit `j mod 64` of `signs[j / 64]` is set
/// (`None`: no sign flips) and `H` is the unnormalized Walsh–Hadamard matrix (butterflies of
/// stride 1, 2, 4, … in that order). Returns `false` (and does nothing) when AVX2 is not
/// available or the arguments do not fit (`src` of another length, too few sign words).
#[inline]
pub fn pass(x: &mut [f32], src: Option<&[f32]>, signs: Option<&[u64]>, scale: f32) -> bool {
    let n = x.len();
    if n < 8 || !n.is_power_of_two() || !has(feature::AVX2) {
        return false;
    }
    if let Some(s) = signs
        && s.len() < n.div_ceil(64)
    {
        return false;
    }
    if let Some(s) = src
        && s.len() != n
    {
        return false;
    }
    // SAFETY: AVX2 and FMA were detected on this CPU; `n` is a power of two ≥ 8, `src` (if any)
    // has `n` floats and `signs` covers `n` bits (checked above), which is all `pass_avx2`
    // relies on.
    unsafe { pass_avx2(x, src, signs, scale) };
    true
}

#[inline(always)]
unsafe fn ld(p: *const f32) -> __m256 {
    // SAFETY: the caller guarantees 8 readable floats at `p`.
    unsafe { _mm256_loadu_ps(p) }
}

#[inline(always)]
unsafe fn st(p: *mut f32, v: __m256) {
    // SAFETY: the caller guarantees 8 writable floats at `p`.
    unsafe { _mm256_storeu_ps(p, v) }
}

/// Lane sign masks: entry `b` has bit 31 of lane `j` set when bit `j` of `b` is set.
#[repr(align(32))]
struct SignLut([[u32; 8]; 256]);

static SIGN_LUT: SignLut = SignLut(sign_lut());

const fn sign_lut() -> [[u32; 8]; 256] {
    let mut t = [[0u32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut j = 0;
        while j < 8 {
            t[b][j] = (((b >> j) & 1) as u32) << 31;
            j += 1;
        }
        b += 1;
    }
    t
}

/// The 128-bit halves of `v` swapped, as `vperm2f128`. Written as `asm!` because the compiler
/// otherwise lowers the swap to `vpermpd`, which is slower on AMD Zen 3 (a randomized Hadamard
/// pass at n = 512 took ~12% longer); the result is the same permutation.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn swap_halves(v: __m256) -> __m256 {
    let r: __m256;
    // SAFETY: a register-to-register shuffle of an AVX instruction (enabled on this function):
    // no memory access, no stack use, flags untouched.
    unsafe {
        core::arch::asm!(
            "vperm2f128 {r}, {v}, {v}, 0x01",
            r = lateout(ymm_reg) r,
            v = in(ymm_reg) v,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    r
}

/// The `K`-point butterfly network on `K` registers (strides 1, 2, …, K/2 registers, in order).
#[inline(always)]
fn bfly<const K: usize>(v: &mut [__m256; K]) {
    let mut s = 1;
    while s < K {
        for i in 0..K {
            if i & s == 0 {
                // SAFETY: callers are `target_feature(enable = "avx2")` functions.
                let (u, w) = unsafe { (_mm256_add_ps(v[i], v[i + s]), _mm256_sub_ps(v[i], v[i + s])) };
                v[i] = u;
                v[i + s] = w;
            }
        }
        s *= 2;
    }
}

/// # Safety
/// AVX2 and FMA must be available; `x.len()` a power of two ≥ 8; `src` (if any) of the same
/// length; `signs` (if any) at least `x.len() / 64` words (rounded up).
#[target_feature(enable = "avx2,fma")]
unsafe fn pass_avx2(x: &mut [f32], src: Option<&[f32]>, signs: Option<&[u64]>, scale: f32) {
    let n = x.len();
    let nv = n / 8;
    let big = n.trailing_zeros() - 3; // stages with stride ≥ 8
    let p = x.as_mut_ptr();
    let sp = src.map_or(p as *const f32, <[f32]>::as_ptr);
    let sc = _mm256_set1_ps(scale);
    let m1 = _mm256_setr_ps(1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0);
    let m2 = _mm256_setr_ps(1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0);
    let m4 = _mm256_setr_ps(1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0);
    // Vector `k` of the source with its sign flips and the strides 1, 2, 4 inside it: lane `l`
    // gets `v[l] + v[l ^ s]` (low partner) or `v[l ^ s] − v[l]` (high partner) as
    // `fma(v, ±1, partner)`.
    let invec = |k: usize| -> __m256 {
        // SAFETY: k < nv, so floats 8k..8k+8 are inside the source.
        let mut v = unsafe { ld(sp.add(8 * k)) };
        if let Some(s) = signs {
            let byte = ((s[k / 8] >> (8 * (k % 8))) & 0xFF) as usize;
            // SAFETY: `byte < 256`; every entry holds 8 words.
            let m = unsafe { ld(SIGN_LUT.0[byte].as_ptr().cast::<f32>()) };
            v = _mm256_xor_ps(v, m);
        }
        v = _mm256_fmadd_ps(v, m1, _mm256_permute_ps::<0b10_11_00_01>(v));
        v = _mm256_fmadd_ps(v, m2, _mm256_permute_ps::<0b01_00_11_10>(v));
        _mm256_fmadd_ps(v, m4, swap_halves(v))
    };
    let (mut hv, mut left) = if big >= 3 {
        // Fused: in-vector stages of 8 consecutive vectors, then strides 8, 16, 32 floats on
        // them while they are in registers (one load/store round for six stages).
        for g in 0..nv / 8 {
            let mut v: [__m256; 8] = core::array::from_fn(|t| invec(8 * g + t));
            bfly(&mut v);
            for (t, vt) in v.iter().enumerate() {
                let o = if big == 3 { _mm256_mul_ps(*vt, sc) } else { *vt };
                // SAFETY: 8g + t < nv.
                unsafe { st(p.add(8 * (8 * g + t)), o) };
            }
        }
        (8usize, big - 3)
    } else {
        for k in 0..nv {
            let v = invec(k);
            let v = if big == 0 { _mm256_mul_ps(v, sc) } else { v };
            // SAFETY: k < nv.
            unsafe { st(p.add(8 * k), v) };
        }
        (1usize, big)
    };
    while left > 0 {
        let r = left.min(3);
        let last = r == left;
        // SAFETY: blocks of 2^r·hv vectors tile the nv = n/8 vectors exactly (both powers of
        // two, 2^r·hv ≤ nv), so every index `radix` touches is < nv.
        unsafe {
            match r {
                3 => radix::<8>(p, nv, hv, last, sc),
                2 => radix::<4>(p, nv, hv, last, sc),
                _ => radix::<2>(p, nv, hv, last, sc),
            }
        }
        hv <<= r;
        left -= r;
    }
}

/// `log2 K` stages (strides `hv`, `2hv`, … vectors) in registers, one load/store round; the
/// outputs are scaled by `sc` when `last`.
///
/// # Safety
/// AVX2 must be available; `p` points to `nv` vectors; `K·hv` divides `nv`.
#[target_feature(enable = "avx2,fma")]
unsafe fn radix<const K: usize>(p: *mut f32, nv: usize, hv: usize, last: bool, sc: __m256) {
    let mut b = 0;
    while b < nv {
        for base in b..b + hv {
            // SAFETY: base + (K−1)·hv < b + K·hv ≤ nv.
            let mut v: [__m256; K] = core::array::from_fn(|t| unsafe { ld(p.add(8 * (base + t * hv))) });
            bfly(&mut v);
            for (t, vt) in v.iter().enumerate() {
                let o = if last { _mm256_mul_ps(*vt, sc) } else { *vt };
                // SAFETY: as the loads.
                unsafe { st(p.add(8 * (base + t * hv)), o) };
            }
        }
        b += K * hv;
    }
}

/// Binary-search tables of a codebook with `thresholds.len() < 2^b` (`b ≤ 4`), for a search
/// whose path `p` keeps decision `j` in bit `j`: level `k ≥ 1` compares with
/// `tabs[k][p mod 2^k]`, level 0 with `t0`; the cell is `map[p]` (the count of thresholds
/// `≤ v`, clamped to the number of thresholds for `+inf` inputs).
struct Search {
    t0: f32,
    tabs: [[f32; 8]; 4],
    map: [u8; 32],
}

impl Search {
    fn new(thresholds: &[f32], b: usize) -> Self {
        // Thresholds padded with +inf to 2^b − 1 entries: a finite value never reaches them.
        let mut t = [f32::INFINITY; 16];
        for (o, &v) in t.iter_mut().zip(thresholds) {
            *o = v;
        }
        // cnt(p, k): the cell reached after the decisions in bits 0..k of p (first decision =
        // MSB): the k-bit reversal of p, shifted to the top of b bits.
        let cnt = |p: usize, k: usize| (((p as u32).reverse_bits() >> (32 - k)) as usize) << (b - k);
        let mut s = Search { t0: t[(1 << (b - 1)) - 1], tabs: [[f32::INFINITY; 8]; 4], map: [0; 32] };
        for k in 1..b {
            for p in 0..1usize << k {
                s.tabs[k][p] = t[cnt(p, k) + (1 << (b - 1 - k)) - 1];
                if k <= 2 {
                    s.tabs[k][p + 4] = s.tabs[k][p];
                }
            }
        }
        for p in 0..1usize << b {
            let c = cnt(p, b).min(thresholds.len()) as u8;
            s.map[p] = c;
            s.map[p + 16] = c;
        }
        s
    }
}

/// [`Search`] in registers.
#[derive(Clone, Copy)]
struct SearchRegs {
    iv: __m256,
    t0: __m256,
    tabs: [__m256; 4],
    map: __m256i,
}

#[target_feature(enable = "avx2,fma")]
fn search_regs(s: &Search, inv: f32) -> SearchRegs {
    // SAFETY: each table row holds 8 floats; `map` holds 32 bytes.
    unsafe {
        SearchRegs {
            iv: _mm256_set1_ps(inv),
            t0: _mm256_set1_ps(s.t0),
            tabs: core::array::from_fn(|k| ld(s.tabs[k].as_ptr())),
            map: _mm256_loadu_si256(s.map.as_ptr().cast()),
        }
    }
}

/// Search path of the 8 floats at `y` (times `r.iv`), one `i32` lane each.
///
/// # Safety
/// AVX2 must be available; 8 readable floats at `y`.
#[inline(always)]
unsafe fn search8<const B: usize>(y: *const f32, r: &SearchRegs) -> __m256i {
    // SAFETY: as documented.
    unsafe {
        let v = _mm256_mul_ps(ld(y), r.iv);
        let m = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GE_OQ>(v, r.t0));
        let mut p = _mm256_srli_epi32::<31>(m);
        for k in 1..B {
            // Tables of up to 4 entries (duplicated in both halves) use the in-lane permute.
            let thr = if k <= 2 { _mm256_permutevar_ps(r.tabs[k], p) } else { _mm256_permutevar8x32_ps(r.tabs[k], p) };
            let m = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GE_OQ>(v, thr));
            p = _mm256_add_epi32(p, _mm256_and_si256(m, _mm256_set1_epi32(1 << k)));
        }
        p
    }
}

/// Cells of the 32 floats at `y` (times `r.iv`) as 32 bytes in coordinate order.
///
/// # Safety
/// AVX2 must be available; 32 readable floats at `y`.
#[inline(always)]
unsafe fn cells32<const B: usize>(y: *const f32, r: &SearchRegs) -> __m256i {
    // SAFETY: the callers are AVX2 functions.
    unsafe {
        let a = _mm256_packs_epi32(search8::<B>(y, r), search8::<B>(y.add(8), r));
        let b = _mm256_packs_epi32(search8::<B>(y.add(16), r), search8::<B>(y.add(24), r));
        // Bytes per 128-bit lane: q0[0..4] q8[0..4] q16[0..4] q24[0..4] | the lanes 4..8.
        let c = _mm256_packus_epi16(a, b);
        let c = _mm256_permutevar8x32_epi32(c, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_shuffle_epi8(r.map, c)
    }
}

/// Packs 32 cells (bytes `< 2^B`, coordinate order) LSB-first at `B` bits: `4·B` bytes at `out`.
///
/// # Safety
/// AVX2 must be available; `4·B` writable bytes at `out`.
#[inline(always)]
unsafe fn pack32<const B: usize>(c: __m256i, out: *mut u8) {
    // SAFETY: the callers are AVX2 functions; every store writes 4·B bytes.
    unsafe {
        match B {
            4 => {
                let w = _mm256_maddubs_epi16(c, _mm256_set1_epi16(0x1001));
                let x = _mm256_permute4x64_epi64::<0b1000>(_mm256_packus_epi16(w, w));
                _mm_storeu_si128(out.cast(), _mm256_castsi256_si128(x));
            }
            2 => {
                let w = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(c, _mm256_set1_epi16(0x0401)),
                    _mm256_set1_epi32(0x0010_0001),
                );
                let x = _mm256_packus_epi16(_mm256_packs_epi32(w, w), _mm256_setzero_si256());
                let x = _mm256_permutevar8x32_epi32(x, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
                _mm_storel_epi64(out.cast(), _mm256_castsi256_si128(x));
            }
            1 => {
                let m = _mm256_movemask_epi8(_mm256_slli_epi16::<7>(c)) as u32;
                core::ptr::copy_nonoverlapping(m.to_le_bytes().as_ptr(), out, 4);
            }
            _ => {
                let mut cells = [0u8; 32];
                _mm256_storeu_si256(cells.as_mut_ptr().cast(), c);
                let mut o = [0u8; 16];
                for (g, oc) in cells.chunks_exact(8).zip(o.chunks_exact_mut(B)) {
                    let mut w = 0u32;
                    for (k, &ck) in g.iter().enumerate() {
                        w |= u32::from(ck) << (B * k);
                    }
                    oc.copy_from_slice(&w.to_le_bytes()[..B]);
                }
                core::ptr::copy_nonoverlapping(o.as_ptr(), out, 4 * B);
            }
        }
    }
}

/// `Σ` of the squares of the 8 floats at `p` into the `f64` lanes `a0` (floats 0..4) and `a1`.
///
/// # Safety
/// AVX2 must be available; 8 readable floats at `p`.
#[inline(always)]
unsafe fn sq8<const FMA: bool>(p: *const f32, a0: &mut __m256d, a1: &mut __m256d) {
    // SAFETY: as documented. The product of two f32 values is exact in f64, so an FMA gives
    // the same bits as mul + add: one instruction where the chain's latency is hidden (`FMA`),
    // else the shorter dependency chain of the add.
    unsafe {
        let v = ld(p);
        let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
        if FMA {
            *a0 = _mm256_fmadd_pd(lo, lo, *a0);
            *a1 = _mm256_fmadd_pd(hi, hi, *a1);
        } else {
            *a0 = _mm256_add_pd(*a0, _mm256_mul_pd(lo, lo));
            *a1 = _mm256_add_pd(*a1, _mm256_mul_pd(hi, hi));
        }
    }
}

/// Combines the lanes `((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7))` and adds the squares of `tail`
/// in order.
#[target_feature(enable = "avx2,fma")]
fn sq_finish(a0: __m256d, a1: __m256d, tail: &[f32]) -> f64 {
    let s = _mm256_add_pd(a0, a1);
    let mut l = [0.0f64; 4];
    // SAFETY: `l` is 4 writable doubles.
    unsafe { _mm256_storeu_pd(l.as_mut_ptr(), s) };
    let mut t = (l[0] + l[1]) + (l[2] + l[3]);
    for &v in tail {
        t += f64::from(v) * f64::from(v);
    }
    t
}

/// Cells of `y · inv` packed at `B` bits into `out` (`⌈B·len/8⌉` bytes, all written), and, when
/// `next` is given (same length as `y`), the sum of squares of `next` as [`sum_sq_f64`]
/// (interleaved, so its dependency chain hides behind the cell search); 0 otherwise.
///
/// # Safety
/// AVX2 must be available; `out.len() ≥ ⌈B·y.len()/8⌉`; `next.len() == y.len()`.
#[target_feature(enable = "avx2,fma")]
unsafe fn cells_row<const B: usize>(y: &[f32], r: &SearchRegs, out: &mut [u8], next: Option<&[f32]>) -> f64 {
    let n = y.len();
    let blocks = n / 32;
    let (mut a0, mut a1) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    for i in 0..blocks {
        // SAFETY: 32(i + 1) ≤ n floats of `y`, 4B(i + 1) ≤ ⌈B·n/8⌉ bytes of `out`.
        unsafe { pack32::<B>(cells32::<B>(y.as_ptr().add(32 * i), r), out.as_mut_ptr().add(4 * B * i)) };
        if let Some(nx) = next {
            for c in 0..4 {
                // SAFETY: `next` has `n` floats.
                unsafe { sq8::<true>(nx.as_ptr().add(32 * i + 8 * c), &mut a0, &mut a1) };
            }
        }
    }
    let rem = n - 32 * blocks;
    if rem > 0 {
        // The last partial block through a zero-padded copy; cells past the end are zeroed so
        // the last byte's unused bits are 0.
        let mut buf = [0.0f32; 32];
        buf[..rem].copy_from_slice(&y[32 * blocks..]);
        let mut o = [0u8; 16];
        // SAFETY: `buf` has 32 floats, `o` 16 ≥ 4B bytes.
        unsafe {
            let iota = _mm256_setr_epi8(
                0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
                28, 29, 30, 31,
            );
            let keep = _mm256_cmpgt_epi8(_mm256_set1_epi8(rem as i8), iota);
            let c = _mm256_and_si256(cells32::<B>(buf.as_ptr(), r), keep);
            pack32::<B>(c, o.as_mut_ptr());
        }
        let nb = (B * rem).div_ceil(8);
        out[4 * B * blocks..4 * B * blocks + nb].copy_from_slice(&o[..nb]);
    }
    let Some(nx) = next else { return 0.0 };
    for c in 4 * blocks..n / 8 {
        // SAFETY: 8(c + 1) ≤ n.
        unsafe { sq8::<true>(nx.as_ptr().add(8 * c), &mut a0, &mut a1) };
    }
    sq_finish(a0, a1, &nx[n / 8 * 8..])
}

/// Codebook cells of `y[i] · inv` for all of `y`, packed at `bits` bits each (LSB-first,
/// `⌈bits·len/8⌉` bytes, all written, unused high bits of the last byte zero) into `out`:
/// cell = number of `thresholds` `t` with `t ≤ y[i] · inv` for increasing thresholds (NaN: 0,
/// `+inf`: all). Needs `1 ≤ bits ≤ 4`, `thresholds.len() < 2^bits` and
/// `out.len() ≥ ⌈bits·len/8⌉`. Returns the number of coordinates done (`y.len()`, or 0 when
/// AVX2 is not available or the arguments do not fit).
#[inline]
pub fn cells_pack(y: &[f32], inv: f32, thresholds: &[f32], bits: u32, out: &mut [u8]) -> usize {
    let b = bits as usize;
    if !(1..=4).contains(&b)
        || thresholds.len() >= (1 << b)
        || out.len() < (b * y.len()).div_ceil(8)
        || !has(feature::AVX2)
    {
        return 0;
    }
    let s = Search::new(thresholds, b);
    // SAFETY: AVX2 and FMA were detected; the lengths were checked above.
    unsafe {
        let r = search_regs(&s, inv);
        match b {
            1 => cells_row::<1>(y, &r, out, None),
            2 => cells_row::<2>(y, &r, out, None),
            3 => cells_row::<3>(y, &r, out, None),
            _ => cells_row::<4>(y, &r, out, None),
        };
    }
    y.len()
}

/// Encodes the rows of `ys` (`d` floats each) as norm-factored codebook codes `codes` (`cl`
/// bytes per row: `⌈bits·d/8⌉` packed cells, then the caller's norm field): for each row the
/// sum of squares [`sum_sq_f64`], `norm(sum, field)` (the caller checks and rounds the norm,
/// writes it into the row's bytes after the cells and returns the `f32` norm to divide by; its
/// error stops the batch with every earlier row written), then [`cells_pack`] of the row times
/// `1/norm` (0 for a zero norm). The cell search of row `r − 1` runs interleaved with the sum of squares of
/// row `r`. `None` (nothing done) without AVX2 or when the arguments do not fit.
pub fn encode_rows(
    ys: &[f32],
    d: usize,
    thresholds: &[f32],
    bits: u32,
    codes: &mut [u8],
    cl: usize,
    norm: impl FnMut(f64, &mut [u8]) -> Result<f32>,
) -> Option<Result<()>> {
    let b = bits as usize;
    if d == 0
        || !ys.len().is_multiple_of(d)
        || !(1..=4).contains(&b)
        || thresholds.len() >= (1 << b)
        || cl < (b * d).div_ceil(8)
        || codes.len() < ys.len() / d * cl
        || !has(feature::AVX2)
    {
        return None;
    }
    let s = Search::new(thresholds, b);
    // SAFETY: AVX2 and FMA were detected; the lengths were checked above.
    Some(unsafe {
        match b {
            1 => rows_avx2::<1>(ys, d, &s, codes, cl, norm),
            2 => rows_avx2::<2>(ys, d, &s, codes, cl, norm),
            3 => rows_avx2::<3>(ys, d, &s, codes, cl, norm),
            _ => rows_avx2::<4>(ys, d, &s, codes, cl, norm),
        }
    })
}

/// # Safety
/// AVX2 must be available; `d > 0` divides `ys.len()`; `cl ≥ ⌈B·d/8⌉`;
/// `codes.len() ≥ rows · cl`.
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2<const B: usize>(
    ys: &[f32],
    d: usize,
    s: &Search,
    codes: &mut [u8],
    cl: usize,
    mut norm: impl FnMut(f64, &mut [u8]) -> Result<f32>,
) -> Result<()> {
    let nb = (B * d).div_ceil(8);
    let mut prev: Option<(&[f32], &mut [u8], f32)> = None;
    for (y, code) in ys.chunks_exact(d).zip(codes.chunks_exact_mut(cl)) {
        let ss = match prev.take() {
            // SAFETY: `pc` has `nb` bytes, `py` and `y` have `d` floats.
            Some((py, pc, inv)) => unsafe { cells_row::<B>(py, &search_regs(s, inv), pc, Some(y)) },
            None => sum_sq_f64_avx2(y),
        };
        let (idx, tail) = code.split_at_mut(nb);
        let nrm = norm(ss, tail)?;
        prev = Some((y, idx, if nrm > 0.0 { 1.0 / nrm } else { 0.0 }));
    }
    if let Some((py, pc, inv)) = prev {
        // SAFETY: as above.
        unsafe { cells_row::<B>(py, &search_regs(s, inv), pc, None) };
    }
    Ok(())
}

/// `Σ y_i²` in `f64` with the lane structure of `simd::portable::sum_sq_f64` (lane `i mod 8`,
/// combined `((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7))`, then the tail in order), so the result is
/// bit-identical (squares of `f32` values are exact in `f64`). `None` without AVX2.
#[inline]
pub fn sum_sq_f64(y: &[f32]) -> Option<f64> {
    if !has(feature::AVX2) {
        return None;
    }
    // SAFETY: AVX2 and FMA were detected on this CPU.
    Some(unsafe { sum_sq_f64_avx2(y) })
}

#[target_feature(enable = "avx2,fma")]
fn sum_sq_f64_avx2(y: &[f32]) -> f64 {
    let (mut a0, mut a1) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let chunks = y.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        // SAFETY: `c` has 8 floats.
        unsafe { sq8::<false>(c.as_ptr(), &mut a0, &mut a1) };
    }
    sq_finish(a0, a1, rem)
}

/// Hints the CPU to fetch the cache lines of `x` into L1 (`prefetcht0`, one per 64 bytes);
/// no effect on results.
#[inline]
pub fn prefetch(x: &[f32]) {
    for c in x.chunks(16) {
        // SAFETY: a prefetch never faults and reads nothing observable; `c` is a live slice.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(c.as_ptr().cast()) };
    }
}
