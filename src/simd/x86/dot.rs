//! x86-64 dot-product kernels: AVX2 + FMA and AVX-512 (F/BW, VNNI).
//!
//! Every function here is `unsafe` only because it is compiled with `#[target_feature]`: the
//! caller (the dispatchers in the parent module) must have checked that the CPU has the named
//! features. Loads are unaligned and never read past the end of a slice: the AVX2 kernels finish
//! with a scalar tail, the AVX-512 kernels with a masked load (masked-off lanes do not fault).
//!
//! Integer kernels are exact: they accumulate in `i32` lanes for a bounded block of elements (so
//! no lane can overflow), then add the block's horizontal sum into an `i64`. `vpmaddubsw`
//! (AVX2 u8×i8) saturates its 16-bit pair sums, so it is *not* used; bytes are widened to 16 bits
//! and multiplied with `vpmaddwd` instead. `vpdpbusd` (VNNI) does not saturate and is used
//! directly for u8×i8.

use core::arch::x86_64::*;

/// Elements per i32 accumulation block for 8-bit kernels: per lane at most
/// `BLOCK8 / 16 · 2 · 255 · 128 < 2³¹`.
const BLOCK8: usize = 1 << 15;
/// Elements per i32 accumulation block for u8×i16: per lane at most
/// `BLOCK16 / 16 · 2 · 255 · 32768 < 2³¹`.
const BLOCK16: usize = 1 << 10;

#[inline(always)]
fn hsum256_i32(v: __m256i) -> i64 {
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` is 32 writable bytes; storeu has no alignment requirement.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), v) };
    lanes.iter().map(|&x| i64::from(x)).sum()
}

/// Sum of the 16 `i32` lanes in `i64`: the lanes are bounded by the block constants, their sum
/// is not (16 lanes of u8×i16 pair sums exceed 2³¹), so `_mm512_reduce_add_epi32` would wrap.
#[inline(always)]
fn hsum512_i32(v: __m512i) -> i64 {
    let mut lanes = [0i32; 16];
    // SAFETY: `lanes` is 64 writable bytes; storeu has no alignment requirement.
    unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), v) };
    lanes.iter().map(|&x| i64::from(x)).sum()
}

#[inline(always)]
fn hsum256_f32(v: __m256) -> f32 {
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` is 32 writable bytes; storeu has no alignment requirement.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
}

/// `Σ a_i·b_i` over f32 with AVX2 + FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: every load reads 8 floats at `i + k ≤ n − 8`, inside both slices.
    let mut s = unsafe {
        let (mut s0, mut s1, mut s2, mut s3) =
            (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
        while i + 32 <= n {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)), s1);
            s2 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 16)), _mm256_loadu_ps(pb.add(i + 16)), s2);
            s3 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 24)), _mm256_loadu_ps(pb.add(i + 24)), s3);
            i += 32;
        }
        while i + 8 <= n {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
            i += 8;
        }
        hsum256_f32(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)))
    };
    for (x, y) in a[i..n].iter().zip(&b[i..n]) {
        s += x * y;
    }
    s
}

/// `Σ (a_i − b_i)²` over f32 with AVX2 + FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn l2sq_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: every load reads 8 floats at `i + k ≤ n − 8`, inside both slices.
    let mut s = unsafe {
        let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        while i + 16 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)));
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            s1 = _mm256_fmadd_ps(d1, d1, s1);
            i += 16;
        }
        while i + 8 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            i += 8;
        }
        hsum256_f32(_mm256_add_ps(s0, s1))
    };
    for (x, y) in a[i..n].iter().zip(&b[i..n]) {
        let d = x - y;
        s += d * d;
    }
    s
}

/// 16 bytes widened to 16 `i16` lanes (AVX2): zero-extended for `u8`, sign-extended for `i8`.
macro_rules! widen16 {
    (u8, $v:expr) => {
        _mm256_cvtepu8_epi16($v)
    };
    (i8, $v:expr) => {
        _mm256_cvtepi8_epi16($v)
    };
}

/// One AVX2 exact byte dot `Σ a_i·b_i`: 32 bytes of each operand per step, widened to `i16` in
/// two halves, multiplied and pair-summed by `vpmaddwd` into `i32` lanes flushed into an `i64`
/// every [`BLOCK8`] elements; the tail (< 32 elements) in scalar code.
macro_rules! widen_dot8_avx2 {
    ($(#[$doc:meta])* $name:ident, $ta:tt, $tb:tt) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU must support AVX2.
        #[target_feature(enable = "avx2")]
        pub unsafe fn $name(a: &[$ta], b: &[$tb]) -> i64 {
            let n = a.len().min(b.len());
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let mut total = 0i64;
            let mut i = 0;
            while i + 32 <= n {
                let end = i + ((n - i) & !31).min(BLOCK8);
                // SAFETY: loads read 32 bytes at `i ≤ end − 32 ≤ n − 32`, inside both slices.
                total += unsafe {
                    let mut acc = _mm256_setzero_si256();
                    while i < end {
                        let va = _mm256_loadu_si256(pa.add(i).cast());
                        let vb = _mm256_loadu_si256(pb.add(i).cast());
                        let a0 = widen16!($ta, _mm256_castsi256_si128(va));
                        let a1 = widen16!($ta, _mm256_extracti128_si256::<1>(va));
                        let b0 = widen16!($tb, _mm256_castsi256_si128(vb));
                        let b1 = widen16!($tb, _mm256_extracti128_si256::<1>(vb));
                        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a0, b0));
                        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a1, b1));
                        i += 32;
                    }
                    hsum256_i32(acc)
                };
            }
            for (&x, &y) in a[i..n].iter().zip(&b[i..n]) {
                total += i64::from(x) * i64::from(y);
            }
            total
        }
    };
}

widen_dot8_avx2!(
    /// `Σ a_i·b_i`, `a` u8 and `b` i8, exact, with AVX2 (bytes widened to i16, `vpmaddwd`).
    dot_u8_i8_avx2, u8, i8
);
widen_dot8_avx2!(
    /// `Σ a_i·b_i` over i8, exact, with AVX2 (widened to i16, `vpmaddwd`).
    dot_i8_i8_avx2, i8, i8
);

/// `Σ a_i·b_i`, `a` u8 and `b` i16, exact, with AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn dot_u8_i16_avx2(a: &[u8], b: &[i16]) -> i64 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut total = 0i64;
    let mut i = 0;
    while i + 16 <= n {
        let end = i + ((n - i) & !15).min(BLOCK16);
        // SAFETY: loads read 16 bytes of `a` and 16 i16 of `b` at `i ≤ end − 16 ≤ n − 16`.
        total += unsafe {
            let mut acc = _mm256_setzero_si256();
            while i < end {
                let va = _mm256_cvtepu8_epi16(_mm_loadu_si128(pa.add(i).cast()));
                let vb = _mm256_loadu_si256(pb.add(i).cast());
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, vb));
                i += 16;
            }
            hsum256_i32(acc)
        };
    }
    for (&x, &y) in a[i..n].iter().zip(&b[i..n]) {
        total += i64::from(x) * i64::from(y);
    }
    total
}

/// Mask with the low `k` (≤ 64) bits set.
#[inline(always)]
fn mask64(k: usize) -> u64 {
    if k >= 64 { u64::MAX } else { (1u64 << k) - 1 }
}

/// `Σ a_i·b_i` over f32 with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn dot_f32_avx512(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: full loads read 16 floats at `i ≤ n − 16`; the tail load is masked to the `n − i`
    // remaining elements (masked-off lanes are not accessed).
    unsafe {
        let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        while i + 32 <= n {
            s0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), s0);
            s1 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i + 16)), _mm512_loadu_ps(pb.add(i + 16)), s1);
            i += 32;
        }
        while i < n {
            let m = mask64(n - i) as u16;
            s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, pa.add(i)), _mm512_maskz_loadu_ps(m, pb.add(i)), s0);
            i += 16;
        }
        _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
    }
}

/// `Σ (a_i − b_i)²` over f32 with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn l2sq_f32_avx512(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: full loads read 16 floats at `i ≤ n − 16`; the tail load is masked to the `n − i`
    // remaining elements (masked-off lanes are not accessed).
    unsafe {
        let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        while i + 32 <= n {
            let d0 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
            let d1 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i + 16)), _mm512_loadu_ps(pb.add(i + 16)));
            s0 = _mm512_fmadd_ps(d0, d0, s0);
            s1 = _mm512_fmadd_ps(d1, d1, s1);
            i += 32;
        }
        while i < n {
            let m = mask64(n - i) as u16;
            let d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, pa.add(i)), _mm512_maskz_loadu_ps(m, pb.add(i)));
            s0 = _mm512_fmadd_ps(d, d, s0);
            i += 16;
        }
        _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
    }
}

/// `Σ a_i·b_i`, `a` u8 and `b` i8, exact, with AVX-512 VNNI (`vpdpbusd`, non-saturating).
///
/// # Safety
/// The CPU must support AVX-512F, AVX-512BW and AVX-512 VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn dot_u8_i8_vnni(a: &[u8], b: &[i8]) -> i64 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut total = 0i64;
    let mut i = 0;
    while i < n {
        let end = n.min(i + BLOCK8);
        // SAFETY: full loads read 64 bytes at `i ≤ end − 64`; the tail loads are masked to the
        // `end − i` remaining bytes. Per lane each `vpdpbusd` adds at most 4·255·128, and a block
        // has at most BLOCK8/64 of them, so the i32 lanes cannot overflow.
        total += unsafe {
            let (mut s0, mut s1, mut s2, mut s3) =
                (_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512());
            while i + 256 <= end {
                s0 =
                    _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(pa.add(i).cast()), _mm512_loadu_si512(pb.add(i).cast()));
                s1 = _mm512_dpbusd_epi32(
                    s1,
                    _mm512_loadu_si512(pa.add(i + 64).cast()),
                    _mm512_loadu_si512(pb.add(i + 64).cast()),
                );
                s2 = _mm512_dpbusd_epi32(
                    s2,
                    _mm512_loadu_si512(pa.add(i + 128).cast()),
                    _mm512_loadu_si512(pb.add(i + 128).cast()),
                );
                s3 = _mm512_dpbusd_epi32(
                    s3,
                    _mm512_loadu_si512(pa.add(i + 192).cast()),
                    _mm512_loadu_si512(pb.add(i + 192).cast()),
                );
                i += 256;
            }
            while i + 64 <= end {
                s0 =
                    _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(pa.add(i).cast()), _mm512_loadu_si512(pb.add(i).cast()));
                i += 64;
            }
            if i < end {
                let m = mask64(end - i);
                s1 = _mm512_dpbusd_epi32(
                    s1,
                    _mm512_maskz_loadu_epi8(m, pa.add(i).cast()),
                    _mm512_maskz_loadu_epi8(m, pb.add(i).cast()),
                );
            }
            i = end;
            let s = _mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3));
            hsum512_i32(s)
        };
    }
    total
}

/// The loads of 32 elements at `p` (`$m` = `u32::MAX`: unmasked) or of the elements in the mask
/// `$m`, widened to 32 `i16` lanes (AVX-512BW); lanes outside the mask are 0 and their memory is
/// not touched.
macro_rules! widen32 {
    (u8, $p:expr) => {
        _mm512_cvtepu8_epi16(_mm256_loadu_si256($p.cast()))
    };
    (i8, $p:expr) => {
        _mm512_cvtepi8_epi16(_mm256_loadu_si256($p.cast()))
    };
    (i16, $p:expr) => {
        _mm512_loadu_si512($p.cast())
    };
    (u8, $p:expr, $m:expr) => {
        _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8($m, $p.cast()))
    };
    (i8, $p:expr, $m:expr) => {
        _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8($m, $p.cast()))
    };
    (i16, $p:expr, $m:expr) => {
        _mm512_maskz_loadu_epi16($m, $p.cast())
    };
}

/// One AVX-512BW exact integer dot `Σ a_i·b_i`: both operands widened to `i16` (32 lanes per
/// step, two independent accumulators over full steps, the tail by a masked load), multiplied
/// and pair-summed into `i32` lanes by `vpmaddwd`, with the `i32` accumulators flushed into an
/// `i64` every `$block` elements (the block constants above bound every lane below 2³¹).
/// Unmasked full steps: a masked load per step ran at a third of the AVX2 kernel's rate on
/// Zen 5 (`benches/dispatch.rs`).
macro_rules! widen_dot_avx512 {
    ($(#[$doc:meta])* $name:ident, $ta:tt, $tb:tt, $block:expr) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU must support AVX-512F and AVX-512BW.
        #[target_feature(enable = "avx512f,avx512bw")]
        pub unsafe fn $name(a: &[$ta], b: &[$tb]) -> i64 {
            let n = a.len().min(b.len());
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let mut total = 0i64;
            let mut i = 0;
            while i < n {
                let end = n.min(i + $block);
                // SAFETY: unmasked loads read 32 elements at `i ≤ end − 32`, masked ones only the
                // elements `i .. end`, all inside both slices; each i32 lane gets at most
                // `$block / 32` pair sums, which the block constants keep below 2³¹.
                total += unsafe {
                    let (mut s0, mut s1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
                    while i + 64 <= end {
                        let a0 = widen32!($ta, pa.add(i));
                        let b0 = widen32!($tb, pb.add(i));
                        let a1 = widen32!($ta, pa.add(i + 32));
                        let b1 = widen32!($tb, pb.add(i + 32));
                        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(a0, b0));
                        s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(a1, b1));
                        i += 64;
                    }
                    while i < end {
                        let m = mask64(end - i) as u32;
                        let va = widen32!($ta, pa.add(i), m);
                        let vb = widen32!($tb, pb.add(i), m);
                        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(va, vb));
                        i += 32;
                    }
                    i = end;
                    hsum512_i32(s0) + hsum512_i32(s1)
                };
            }
            total
        }
    };
}

widen_dot_avx512!(
    /// `Σ a_i·b_i`, `a` u8 and `b` i8, exact, with AVX-512BW (widened to i16, `vpmaddwd`).
    dot_u8_i8_avx512, u8, i8, BLOCK8
);
widen_dot_avx512!(
    /// `Σ a_i·b_i` over i8, exact, with AVX-512BW (widened to i16, `vpmaddwd`).
    dot_i8_i8_avx512, i8, i8, BLOCK8
);
widen_dot_avx512!(
    /// `Σ a_i·b_i`, `a` u8 and `b` i16, exact, with AVX-512BW.
    dot_u8_i16_avx512, u8, i16, BLOCK16
);

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::simd::reference;
    use std::vec::Vec;

    /// Every integer kernel this CPU can run, called directly (the dispatcher picks only the
    /// best one, so e.g. the non-VNNI AVX-512 u8×i8 kernel is never reached on a VNNI CPU),
    /// against the scalar reference on awkward lengths and extreme values.
    #[test]
    fn every_integer_kernel_matches_reference() {
        let mut rng = crate::rng::Rng::new(17);
        let avx2 = std::is_x86_feature_detected!("avx2");
        let avx512 = std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw");
        let vnni = avx512 && std::is_x86_feature_detected!("avx512vnni");
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1023, 5000, 70_000] {
            for extreme in [false, true] {
                let a: Vec<u8> = (0..n).map(|_| if extreme { 255 } else { rng.next_u64() as u8 }).collect();
                let b: Vec<i8> = (0..n).map(|_| if extreme { -128 } else { rng.next_u64() as i8 }).collect();
                let w: Vec<i16> = (0..n).map(|_| if extreme { i16::MIN } else { rng.next_u64() as i16 }).collect();
                let (r8, ri8, r16) =
                    (reference::dot_u8_i8(&a, &b), reference::dot_i8_i8(&b, &b), reference::dot_u8_i16(&a, &w));
                // SAFETY: each kernel runs only when its features were detected on this CPU.
                unsafe {
                    if avx2 {
                        assert_eq!(dot_u8_i8_avx2(&a, &b), r8, "avx2 u8i8 n {n}");
                        assert_eq!(dot_i8_i8_avx2(&b, &b), ri8, "avx2 i8i8 n {n}");
                        assert_eq!(dot_u8_i16_avx2(&a, &w), r16, "avx2 u8i16 n {n}");
                    }
                    if avx512 {
                        assert_eq!(dot_u8_i8_avx512(&a, &b), r8, "avx512 u8i8 n {n}");
                        assert_eq!(dot_i8_i8_avx512(&b, &b), ri8, "avx512 i8i8 n {n}");
                        assert_eq!(dot_u8_i16_avx512(&a, &w), r16, "avx512 u8i16 n {n}");
                    }
                    if vnni {
                        assert_eq!(dot_u8_i8_vnni(&a, &b), r8, "vnni u8i8 n {n}");
                    }
                }
            }
        }
    }
}
