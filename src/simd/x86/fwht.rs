//! x86-64 AVX2 kernels for TurboQuant encoding: one randomized Walsh–Hadamard pass
//! ([`pass`]) and the codebook cell count with bit packing ([`cells_pack`]).
//!
//! Both compute bit-identical results to the portable kernels in
//! `crate::transform::hadamard` and `crate::turbo`: every butterfly is the same IEEE
//! addition `u + v` or subtraction `u − v` (written `u + (−v)`, which IEEE defines as the same
//! operation) on the same operands in the same stage order; only the grouping of independent
//! operations into registers differs.

use core::arch::x86_64::*;

use super::{feature, has};

/// One pass on a power-of-two block (`x.len() ≥ 8`): `x ← scale · H · D x`, where `D` negates
/// `x[j]` when bit `j mod 64` of `signs[j / 64]` is set (`None`: no sign flips) and `H` is the
/// unnormalized Walsh–Hadamard matrix (butterflies of stride 1, 2, 4, … in that order). Returns
/// `false` (and does nothing) when AVX2 is not available or the arguments do not fit.
#[inline]
pub fn pass(x: &mut [f32], signs: Option<&[u64]>, scale: f32) -> bool {
    let n = x.len();
    if n < 8 || !n.is_power_of_two() || !has(feature::AVX2) {
        return false;
    }
    if let Some(s) = signs
        && s.len() < n.div_ceil(64)
    {
        return false;
    }
    // SAFETY: AVX2 and FMA were detected on this CPU; `n` is a power of two ≥ 8 and `signs`
    // covers `n` bits (checked above), which is all `pass_avx2` relies on.
    unsafe { pass_avx2(x, signs, scale) };
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

/// # Safety
/// AVX2 must be available; `x.len()` a power of two ≥ 8; `signs` (if any) at least
/// `x.len() / 64` words (rounded up).
#[target_feature(enable = "avx2,fma")]
unsafe fn pass_avx2(x: &mut [f32], signs: Option<&[u64]>, scale: f32) {
    let n = x.len();
    let nv = n / 8;
    let big = n.trailing_zeros() - 3; // stages with stride ≥ 8
    let p = x.as_mut_ptr();
    let sc = _mm256_set1_ps(scale);
    let neg = i32::MIN;
    let m1 = _mm256_castsi256_ps(_mm256_setr_epi32(0, neg, 0, neg, 0, neg, 0, neg));
    let m2 = _mm256_castsi256_ps(_mm256_setr_epi32(0, 0, neg, neg, 0, 0, neg, neg));
    let m4 = _mm256_castsi256_ps(_mm256_setr_epi32(0, 0, 0, 0, neg, neg, neg, neg));
    let shifts = _mm256_setr_epi32(31, 30, 29, 28, 27, 26, 25, 24);
    let signbit = _mm256_set1_epi32(neg);
    // Sign flips and the strides 1, 2, 4 inside vector `k`.
    let invec = |mut v: __m256, k: usize| -> __m256 {
        if let Some(s) = signs {
            let byte = (s[k / 8] >> (8 * (k % 8))) & 0xFF;
            let m = _mm256_and_si256(_mm256_sllv_epi32(_mm256_set1_epi32(byte as i32), shifts), signbit);
            v = _mm256_xor_ps(v, _mm256_castsi256_ps(m));
        }
        v = _mm256_add_ps(_mm256_permute_ps::<0b10_11_00_01>(v), _mm256_xor_ps(v, m1));
        v = _mm256_add_ps(_mm256_permute_ps::<0b01_00_11_10>(v), _mm256_xor_ps(v, m2));
        _mm256_add_ps(_mm256_permute2f128_ps::<0x01>(v, v), _mm256_xor_ps(v, m4))
    };
    let (mut hv, mut left) = if big >= 3 {
        // Fused: in-vector stages of 8 consecutive vectors, then strides 8, 16, 32 floats on
        // them while they are in registers (one load/store round for six stages).
        for g in 0..nv / 8 {
            let mut v = [_mm256_setzero_ps(); 8];
            for (t, vt) in v.iter_mut().enumerate() {
                // SAFETY: 8g + t < nv.
                *vt = invec(unsafe { ld(p.add(8 * (8 * g + t))) }, 8 * g + t);
            }
            let [v0, v1, v2, v3, v4, v5, v6, v7] = &mut v;
            bf(v0, v1);
            bf(v2, v3);
            bf(v4, v5);
            bf(v6, v7);
            bf(v0, v2);
            bf(v1, v3);
            bf(v4, v6);
            bf(v5, v7);
            bf(v0, v4);
            bf(v1, v5);
            bf(v2, v6);
            bf(v3, v7);
            for (t, vt) in v.iter().enumerate() {
                let o = if big == 3 { _mm256_mul_ps(*vt, sc) } else { *vt };
                // SAFETY: as the loads.
                unsafe { st(p.add(8 * (8 * g + t)), o) };
            }
        }
        (8usize, big - 3)
    } else {
        for k in 0..nv {
            // SAFETY: k < n/8, so floats 8k..8k+8 are inside `x`.
            let mut v = invec(unsafe { ld(p.add(8 * k)) }, k);
            if big == 0 {
                v = _mm256_mul_ps(v, sc);
            }
            // SAFETY: as the load.
            unsafe { st(p.add(8 * k), v) };
        }
        (1usize, big)
    };
    while left > 0 {
        let r = left.min(3);
        let last = r == left;
        // SAFETY: blocks of 2^r·hv vectors tile the nv = n/8 vectors exactly (both powers of
        // two, 2^r·hv ≤ nv), so every index below is < nv.
        unsafe {
            match r {
                3 => radix8(p, nv, hv, last, sc),
                2 => radix4(p, nv, hv, last, sc),
                _ => radix2(p, nv, hv, last, sc),
            }
        }
        hv <<= r;
        left -= r;
    }
}

#[inline(always)]
fn bf(a: &mut __m256, b: &mut __m256) {
    // SAFETY: callers are `target_feature(enable = "avx2")` functions.
    let (u, v) = unsafe { (_mm256_add_ps(*a, *b), _mm256_sub_ps(*a, *b)) };
    *a = u;
    *b = v;
}

/// Three stages (strides `hv`, `2hv`, `4hv` vectors) in registers.
#[target_feature(enable = "avx2,fma")]
unsafe fn radix8(p: *mut f32, nv: usize, hv: usize, last: bool, sc: __m256) {
    let mut b = 0;
    while b < nv {
        for j in 0..hv {
            let base = b + j;
            let mut v = [_mm256_setzero_ps(); 8];
            for (t, vt) in v.iter_mut().enumerate() {
                // SAFETY: base + 7hv < b + 8hv ≤ nv.
                *vt = unsafe { ld(p.add(8 * (base + t * hv))) };
            }
            let [v0, v1, v2, v3, v4, v5, v6, v7] = &mut v;
            bf(v0, v1);
            bf(v2, v3);
            bf(v4, v5);
            bf(v6, v7);
            bf(v0, v2);
            bf(v1, v3);
            bf(v4, v6);
            bf(v5, v7);
            bf(v0, v4);
            bf(v1, v5);
            bf(v2, v6);
            bf(v3, v7);
            for (t, vt) in v.iter().enumerate() {
                let o = if last { _mm256_mul_ps(*vt, sc) } else { *vt };
                // SAFETY: as the loads.
                unsafe { st(p.add(8 * (base + t * hv)), o) };
            }
        }
        b += 8 * hv;
    }
}

/// Two stages (strides `hv`, `2hv` vectors) in registers.
#[target_feature(enable = "avx2,fma")]
unsafe fn radix4(p: *mut f32, nv: usize, hv: usize, last: bool, sc: __m256) {
    let mut b = 0;
    while b < nv {
        for j in 0..hv {
            let base = b + j;
            let mut v = [_mm256_setzero_ps(); 4];
            for (t, vt) in v.iter_mut().enumerate() {
                // SAFETY: base + 3hv < b + 4hv ≤ nv.
                *vt = unsafe { ld(p.add(8 * (base + t * hv))) };
            }
            let [v0, v1, v2, v3] = &mut v;
            bf(v0, v1);
            bf(v2, v3);
            bf(v0, v2);
            bf(v1, v3);
            for (t, vt) in v.iter().enumerate() {
                let o = if last { _mm256_mul_ps(*vt, sc) } else { *vt };
                // SAFETY: as the loads.
                unsafe { st(p.add(8 * (base + t * hv)), o) };
            }
        }
        b += 4 * hv;
    }
}

/// One stage (stride `hv` vectors).
#[target_feature(enable = "avx2,fma")]
unsafe fn radix2(p: *mut f32, nv: usize, hv: usize, last: bool, sc: __m256) {
    let mut b = 0;
    while b < nv {
        for j in 0..hv {
            let base = b + j;
            // SAFETY: base + hv < b + 2hv ≤ nv.
            let (mut v0, mut v1) = unsafe { (ld(p.add(8 * base)), ld(p.add(8 * (base + hv)))) };
            bf(&mut v0, &mut v1);
            if last {
                v0 = _mm256_mul_ps(v0, sc);
                v1 = _mm256_mul_ps(v1, sc);
            }
            // SAFETY: as the loads.
            unsafe {
                st(p.add(8 * base), v0);
                st(p.add(8 * (base + hv)), v1);
            }
        }
        b += 2 * hv;
    }
}

/// Codebook cells of `y[i] · inv` for the first `8·⌊y.len()/8⌋` coordinates, packed at `bits`
/// bits each (LSB-first, `bits` bytes per 8 coordinates) into `out`: cell = number of
/// `thresholds` `t` with `t ≤ y[i] · inv`. Needs `1 ≤ bits ≤ 4`, `thresholds.len() < 2^bits`
/// and `out.len() ≥ bits · ⌊y.len()/8⌋`. Returns the number of coordinates done (0 when AVX2
/// is not available or the arguments do not fit).
#[inline]
pub fn cells_pack(y: &[f32], inv: f32, thresholds: &[f32], bits: u32, out: &mut [u8]) -> usize {
    let chunks = y.len() / 8;
    let b = bits as usize;
    if !(1..=4).contains(&b) || thresholds.len() >= (1 << b) || out.len() < b * chunks || !has(feature::AVX2) {
        return 0;
    }
    // SAFETY: AVX2 was detected; the lengths were checked above.
    unsafe {
        match b {
            1 => cells_pack_avx2::<1>(y, inv, thresholds, out),
            2 => cells_pack_avx2::<2>(y, inv, thresholds, out),
            3 => cells_pack_avx2::<3>(y, inv, thresholds, out),
            _ => cells_pack_avx2::<4>(y, inv, thresholds, out),
        }
    }
    8 * chunks
}

/// # Safety
/// AVX2 must be available; `1 ≤ b ≤ 4`, `thresholds.len() < 2^b`, `out.len() ≥ b·⌊y.len()/8⌋`.
#[target_feature(enable = "avx2,fma")]
unsafe fn cells_pack_avx2<const B: usize>(y: &[f32], inv: f32, thresholds: &[f32], out: &mut [u8]) {
    let b = B;
    // Thresholds padded with +inf to 2^b − 1 entries (a finite value never counts them; the
    // cell is clamped to the real count for +inf inputs).
    let mut t = [f32::INFINITY; 16];
    t[..thresholds.len()].copy_from_slice(thresholds);
    let maxc = _mm256_set1_epi32(thresholds.len() as i32);
    // Binary search, step s = 2^(b−1), …, 1: compare with t[c + s − 1] (c a multiple of 2s),
    // picked from an 8-entry table by c / 2s. For sorted thresholds this equals the count of
    // thresholds ≤ v (NaN: every compare is false, cell 0).
    let mut tabs = [_mm256_setzero_ps(); 4];
    for (k, tab) in tabs.iter_mut().enumerate().take(b) {
        let s = 1usize << (b - 1 - k);
        let mut e = [f32::INFINITY; 8];
        for (j, ej) in e.iter_mut().enumerate() {
            if let Some(&v) = t.get(j * 2 * s + s - 1) {
                *ej = v;
            }
        }
        // SAFETY: `e` has 8 floats.
        *tab = unsafe { ld(e.as_ptr()) };
    }
    let iv = _mm256_set1_ps(inv);
    // Lane k of a chunk goes to bits b·k .. b·k + b of a little-endian word.
    let bi = b as i32;
    let sh = _mm256_setr_epi32(0, bi, 2 * bi, 3 * bi, 4 * bi, 5 * bi, 6 * bi, 7 * bi);
    for (c, o) in y.chunks_exact(8).zip(out.chunks_exact_mut(B)) {
        // SAFETY: `c` has 8 floats.
        let v = _mm256_mul_ps(unsafe { ld(c.as_ptr()) }, iv);
        let mut cnt = _mm256_setzero_si256();
        for (k, tab) in tabs.iter().enumerate().take(B) {
            let lg = (b - k) as i32; // log2(2s)
            let idx = _mm256_srlv_epi32(cnt, _mm256_set1_epi32(lg));
            let thr = _mm256_permutevar8x32_ps(*tab, idx);
            // thr ≤ v (ordered, non-signalling): all-ones lanes.
            let m = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GE_OQ>(v, thr));
            cnt = _mm256_add_epi32(cnt, _mm256_and_si256(m, _mm256_set1_epi32(1 << (lg - 1))));
        }
        cnt = _mm256_min_epi32(cnt, maxc);
        let w = _mm256_sllv_epi32(cnt, sh);
        // OR of the 8 lanes (disjoint bit ranges, so OR = add).
        let s4 = _mm_add_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256::<1>(w));
        let s2 = _mm_add_epi32(s4, _mm_shuffle_epi32::<0b01_00_11_10>(s4));
        let s1 = _mm_add_epi32(s2, _mm_shuffle_epi32::<0b10_11_00_01>(s2));
        let word = _mm_cvtsi128_si32(s1) as u32;
        // A fixed-size copy (no call to memcpy).
        if let Ok(o) = <&mut [u8; B]>::try_from(o) {
            o.copy_from_slice(&word.to_le_bytes()[..B]);
        }
    }
}

/// `Σ y_i²` in `f64` with the lane structure of the portable `turbo::norm_f64` (lane `i mod 8`,
/// combined `((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7))`, then the tail in order), so the result is
/// bit-identical (squares of `f32` values are exact in `f64`, so FMA rounds as mul + add).
/// `None` without AVX2.
#[inline]
pub fn sum_sq_f64(y: &[f32]) -> Option<f64> {
    if !has(feature::AVX2) {
        return None;
    }
    // SAFETY: AVX2 and FMA were detected on this CPU.
    Some(unsafe { sum_sq_f64_avx2(y) })
}

#[target_feature(enable = "avx2,fma")]
unsafe fn sum_sq_f64_avx2(y: &[f32]) -> f64 {
    let mut a0 = _mm256_setzero_pd();
    let mut a1 = _mm256_setzero_pd();
    let chunks = y.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        // SAFETY: `c` has 8 floats.
        let v = unsafe { ld(c.as_ptr()) };
        let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
        a0 = _mm256_fmadd_pd(lo, lo, a0);
        a1 = _mm256_fmadd_pd(hi, hi, a1);
    }
    let s = _mm256_add_pd(a0, a1);
    let mut l = [0.0f64; 4];
    // SAFETY: `l` is 4 writable doubles.
    unsafe { _mm256_storeu_pd(l.as_mut_ptr(), s) };
    let mut t = (l[0] + l[1]) + (l[2] + l[3]);
    for &v in rem {
        t += f64::from(v) * f64::from(v);
    }
    t
}

/// Sign bits of a dense projection for a block of vectors: for every row `i` of the row-major
/// `m × d` matrix `s` and every vector `j` of `xs` (`k × d`), sets bit `i` (LSB-first) of
/// `codes[j·c..]` when `⟨s_i, x_j⟩ > 0`. Each dot product is an 8-lane `f32` sum of
/// `s·x` products (separate multiply and add, lane `t mod 8`), lanes combined
/// `((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7))`, then the `d mod 8` tail in order — the same
/// IEEE operations as the portable kernel in `crate::qjl`, so the bits are identical on every
/// backend. Returns `false` (nothing done) without AVX2 or on inconsistent lengths.
#[inline]
pub fn proj_signs(s: &[f32], d: usize, xs: &[f32], codes: &mut [u8], c: usize) -> bool {
    if d == 0 || !has(feature::AVX2) || !s.len().is_multiple_of(d) || !xs.len().is_multiple_of(d) {
        return false;
    }
    let (m, k) = (s.len() / d, xs.len() / d);
    if c < m.div_ceil(8) || codes.len() < k * c {
        return false;
    }
    let mut i = 0;
    while i < m {
        let r = (m - i).min(4);
        let mut j = 0;
        while j < k {
            let v = (k - j).min(2);
            let mut out = [[0.0f32; 2]; 4];
            // SAFETY: AVX2 was detected; rows i..i+r < m and vectors j..j+v < k, each `d`
            // floats inside `s` / `xs`.
            unsafe {
                match (r, v) {
                    (4, 2) => tile::<4, 2>(s, xs, d, i, j, &mut out),
                    (4, _) => tile::<4, 1>(s, xs, d, i, j, &mut out),
                    (_, 2) => tile::<1, 2>(s, xs, d, i, j, &mut out),
                    _ => tile::<1, 1>(s, xs, d, i, j, &mut out),
                }
            }
            let rr = if r == 4 { 4 } else { 1 };
            for (a, row) in out.iter().enumerate().take(rr) {
                for (b, &dp) in row.iter().enumerate().take(v) {
                    if dp > 0.0 {
                        codes[(j + b) * c + (i + a) / 8] |= 1 << ((i + a) % 8);
                    }
                }
            }
            j += v;
        }
        i += if r == 4 { 4 } else { 1 };
    }
    true
}

/// Dot products of rows `i..i+R` of `s` with vectors `j..j+V` of `xs` into `out[a][b]`.
///
/// # Safety
/// AVX2 must be available; rows `i + R ≤ s.len()/d`, vectors `j + V ≤ xs.len()/d`.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const R: usize, const V: usize>(
    s: &[f32],
    xs: &[f32],
    d: usize,
    i: usize,
    j: usize,
    out: &mut [[f32; 2]; 4],
) {
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    let rp: [*const f32; R] = core::array::from_fn(|a| s[(i + a) * d..].as_ptr());
    let xp: [*const f32; V] = core::array::from_fn(|b| xs[(j + b) * d..].as_ptr());
    let d8 = d / 8 * 8;
    let mut t = 0;
    while t < d8 {
        // SAFETY: t + 8 ≤ d, inside each row / vector.
        let xv: [__m256; V] = core::array::from_fn(|b| unsafe { ld(xp[b].add(t)) });
        for a in 0..R {
            // SAFETY: as above.
            let rv = unsafe { ld(rp[a].add(t)) };
            for b in 0..V {
                acc[a][b] = _mm256_add_ps(acc[a][b], _mm256_mul_ps(rv, xv[b]));
            }
        }
        t += 8;
    }
    for a in 0..R {
        for b in 0..V {
            let mut l = [0.0f32; 8];
            // SAFETY: `l` is 8 writable floats.
            unsafe { _mm256_storeu_ps(l.as_mut_ptr(), acc[a][b]) };
            let mut sum = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
            for u in d8..d {
                sum += s[(i + a) * d + u] * xs[(j + b) * d + u];
            }
            out[a][b] = sum;
        }
    }
}
