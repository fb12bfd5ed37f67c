//! x86-64 dot products of an `f32` query with binary16 (`f16`, converted by F16C `vcvtph2ps`),
//! bfloat16 (`bf16`, widened and shifted into the upper half of an `f32`) and OCP FP8 codes
//! (widened to binary16 patterns, then F16C), AVX2 + FMA.
//!
//! The kernels are memory-bound (2 bytes per element against 4 for `f32`), so AVX2 serves both
//! AVX2 and AVX-512 hosts. Loads are unaligned and never read past a slice: the last partial
//! group of 8 is copied into zero-padded stack buffers.

use core::arch::x86_64::*;

use super::{feature, has};

#[inline(always)]
fn hsum(v: __m256) -> f32 {
    let mut l = [0f32; 8];
    // SAFETY: `l` is 32 writable bytes; storeu has no alignment requirement.
    unsafe { _mm256_storeu_ps(l.as_mut_ptr(), v) };
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

/// Eight half values at `p` (16 bytes) as `f32`.
///
/// # Safety
/// AVX2, FMA and F16C must be available; `p` must be readable for 16 bytes.
#[inline(always)]
unsafe fn load8<const BF: bool>(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees 16 readable bytes at `p` and the CPU features.
    unsafe {
        let v = _mm_loadu_si128(p.cast());
        if BF { _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16)) } else { _mm256_cvtph_ps(v) }
    }
}

/// `Σ q_i·half(h_i)` over `n = min(q.len(), h.len()/2)` elements: four accumulators of 8 lanes.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_half_avx2<const BF: bool>(h: &[u8], q: &[f32]) -> f32 {
    let n = q.len().min(h.len() / 2);
    let (ph, pq) = (h.as_ptr(), q.as_ptr());
    let mut i = 0;
    // SAFETY: every load reads elements `i .. i + 32 ≤ n` (2 bytes each of `h`, 4 of `q`), inside
    // both slices; the features are enabled on this function.
    let mut acc = unsafe {
        let mut a = [_mm256_setzero_ps(); 4];
        while i + 32 <= n {
            for (k, a) in a.iter_mut().enumerate() {
                let j = i + 8 * k;
                *a = _mm256_fmadd_ps(load8::<BF>(ph.add(2 * j)), _mm256_loadu_ps(pq.add(j)), *a);
            }
            i += 32;
        }
        while i + 8 <= n {
            a[0] = _mm256_fmadd_ps(load8::<BF>(ph.add(2 * i)), _mm256_loadu_ps(pq.add(i)), a[0]);
            i += 8;
        }
        _mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3]))
    };
    if i < n {
        let mut hb = [0u8; 16];
        let mut qb = [0f32; 8];
        hb[..2 * (n - i)].copy_from_slice(&h[2 * i..2 * n]);
        qb[..n - i].copy_from_slice(&q[i..n]);
        // SAFETY: both buffers are 16/32 readable bytes on the stack; features as above.
        acc = unsafe { _mm256_fmadd_ps(load8::<BF>(hb.as_ptr()), _mm256_loadu_ps(qb.as_ptr()), acc) };
    }
    hsum(acc)
}

/// Arch `dot_f16`, if this CPU has AVX2, FMA and F16C.
#[inline]
pub fn dot_f16(h: &[u8], q: &[f32]) -> Option<f32> {
    // SAFETY: the features were detected on this CPU.
    has(feature::AVX2 | feature::F16C).then(|| unsafe { dot_half_avx2::<false>(h, q) })
}

/// Arch `dot_bf16`, if this CPU has AVX2 and FMA (F16C is not used but is part of the gate).
#[inline]
pub fn dot_bf16(h: &[u8], q: &[f32]) -> Option<f32> {
    // SAFETY: the features were detected on this CPU.
    has(feature::AVX2 | feature::F16C).then(|| unsafe { dot_half_avx2::<true>(h, q) })
}

/// Eight FP8 codes at `p` (8 bytes) as `f32` (E4M3: value / 256), and the NaN-code mask of
/// E4M3 (`(b & 0x7F) == 0x7F`; zero for E5M2, whose inf/NaN codes convert to f16 inf/NaN).
///
/// # Safety
/// AVX2 and F16C must be available; `p` must be readable for 8 bytes.
#[inline(always)]
unsafe fn load8_fp8<const E4: bool>(p: *const u8) -> (__m256, __m128i) {
    // SAFETY: the caller guarantees 8 readable bytes at `p` and the CPU features.
    unsafe {
        let b = _mm_loadl_epi64(p.cast());
        let w = _mm_cvtepu8_epi16(b);
        if E4 {
            let lo7 = _mm_and_si128(w, _mm_set1_epi16(0x7F));
            let h = _mm_or_si128(_mm_slli_epi16::<7>(lo7), _mm_slli_epi16::<8>(_mm_and_si128(w, _mm_set1_epi16(0x80))));
            (_mm256_cvtph_ps(h), _mm_cmpeq_epi16(lo7, _mm_set1_epi16(0x7F)))
        } else {
            (_mm256_cvtph_ps(_mm_slli_epi16::<8>(w)), _mm_setzero_si128())
        }
    }
}

/// `Σ q_i·fp8(a_i)` over `n = min(q.len(), a.len())` elements: four accumulators of 8 lanes;
/// E4M3 sums are multiplied by 256 at the end (exact) and are NaN if a NaN code occurs.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_fp8_avx2<const E4: bool>(a: &[u8], q: &[f32]) -> f32 {
    let n = q.len().min(a.len());
    let (pa, pq) = (a.as_ptr(), q.as_ptr());
    let mut i = 0;
    let mut bad = _mm_setzero_si128();
    // SAFETY: every load reads elements `i .. i + 32 ≤ n` (1 byte each of `a`, 4 of `q`), inside
    // both slices; the features are enabled on this function.
    let mut acc = unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        while i + 32 <= n {
            for (k, s) in acc.iter_mut().enumerate() {
                let j = i + 8 * k;
                let (v, m) = load8_fp8::<E4>(pa.add(j));
                bad = _mm_or_si128(bad, m);
                *s = _mm256_fmadd_ps(v, _mm256_loadu_ps(pq.add(j)), *s);
            }
            i += 32;
        }
        while i + 8 <= n {
            let (v, m) = load8_fp8::<E4>(pa.add(i));
            bad = _mm_or_si128(bad, m);
            acc[0] = _mm256_fmadd_ps(v, _mm256_loadu_ps(pq.add(i)), acc[0]);
            i += 8;
        }
        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]))
    };
    if i < n {
        let mut ab = [0u8; 8];
        let mut qb = [0f32; 8];
        ab[..n - i].copy_from_slice(&a[i..n]);
        qb[..n - i].copy_from_slice(&q[i..n]);
        // SAFETY: both buffers are 8/32 readable bytes on the stack; features as above. The
        // zero padding is code 0 (value 0, not NaN).
        unsafe {
            let (v, m) = load8_fp8::<E4>(ab.as_ptr());
            bad = _mm_or_si128(bad, m);
            acc = _mm256_fmadd_ps(v, _mm256_loadu_ps(qb.as_ptr()), acc);
        }
    }
    if E4 {
        if _mm_movemask_epi8(bad) != 0 {
            return f32::NAN;
        }
        hsum(acc) * 256.0
    } else {
        hsum(acc)
    }
}

/// Arch FP8 dot (`E4`: E4M3, else E5M2), if this CPU has AVX2, FMA and F16C.
#[inline]
pub fn dot_fp8<const E4: bool>(a: &[u8], q: &[f32]) -> Option<f32> {
    // SAFETY: the features were detected on this CPU.
    has(feature::AVX2 | feature::F16C).then(|| unsafe { dot_fp8_avx2::<E4>(a, q) })
}
