//! x86-64 AVX2 kernel of [`crate::simd::dot_lut_f32`]: `Σ q_i·T[idx_i]` over packed `b`-bit
//! indices into a small `f32` table — the float-query scan of codebook scalar codes
//! (TurboQuant-MSE and its split / inner-product variants).
//!
//! One group of 8 indices occupies `b` bytes. For `b ≤ 4` the group is read as one `u32`,
//! broadcast to the eight 32-bit lanes and shifted right by `b·l` in lane `l` (`vpsrlvd`), which
//! yields the 8 indices in coordinate order. The table lookup is a register permute: one
//! `vpermps` for `b ≤ 3` (≤ 8 entries), two and a blend on index bit 3 for `b = 4`. For `b = 8`
//! the indices are the bytes themselves (`vpmovzxbd`) and the lookup is a gather from the
//! (clamped) table. Lane `l` accumulates `q_i·T[idx_i]` for `i ≡ l (mod 8)` with a multiply and
//! an add (no FMA) into accumulator `g mod 4` (four independent add chains), exactly the portable kernel's operation order, so both backends give
//! bit-identical results; the portable code finishes the last groups and the tail.

use core::arch::x86_64::*;

use super::{feature, has};
use crate::simd::portable;

/// Arch `dot_lut_f32`, if an arch kernel exists for this CPU and width (`None` otherwise).
#[inline]
pub fn dot_lut_f32(codes: &[u8], bits: u32, table: &[f32], q: &[f32]) -> Option<f32> {
    if !has(feature::AVX2) || !matches!(bits, 1..=4 | 8) || table.is_empty() {
        return None;
    }
    let n = q.len().min(codes.len() * 8 / bits as usize);
    let mut acc = [[0.0f32; 8]; 4];
    // SAFETY: AVX2 was detected on this CPU; the kernel's memory accesses are justified inside.
    let done = unsafe {
        match bits {
            1 => groups_avx2::<1>(codes, table, &q[..n], &mut acc),
            2 => groups_avx2::<2>(codes, table, &q[..n], &mut acc),
            3 => groups_avx2::<3>(codes, table, &q[..n], &mut acc),
            4 => groups_avx2::<4>(codes, table, &q[..n], &mut acc),
            _ => groups_avx2::<8>(codes, table, &q[..n], &mut acc),
        }
    };
    portable::dot_lut_f32_groups(codes, bits, table, &q[..n], done, &mut acc);
    Some(portable::dot_lut_f32_finish(codes, bits, table, q, &acc))
}

/// Accumulates whole groups of 8 (lane `l` ← index `8g + l`) while the group's loads stay inside
/// `codes` (a 4-byte read for `b ≤ 4`, 8 bytes for `b = 8`); returns the number of groups done.
/// `q.len() ≤ ⌊8·codes.len()/B⌋`, `B ∈ {1, 2, 3, 4, 8}`, `table` non-empty.
#[target_feature(enable = "avx2,fma")]
fn groups_avx2<const B: usize>(codes: &[u8], table: &[f32], q: &[f32], acc: &mut [[f32; 8]; 4]) -> usize {
    let b = B;
    let groups = q.len() / 8;
    // Groups whose 4-byte (b ≤ 4) or 8-byte (b = 8) read is in bounds.
    let readable = if b == 8 { codes.len() / 8 } else { codes.len().saturating_sub(4) / b + 1 };
    let groups = groups.min(if codes.len() < 4 { 0 } else { readable });
    let last = table.len() - 1;
    let entry = |k: usize| table[k.min(last)];
    let lo = _mm256_setr_ps(entry(0), entry(1), entry(2), entry(3), entry(4), entry(5), entry(6), entry(7));
    let hi = _mm256_setr_ps(entry(8), entry(9), entry(10), entry(11), entry(12), entry(13), entry(14), entry(15));
    let bi = b as i32;
    let shifts = _mm256_setr_epi32(0, bi, 2 * bi, 3 * bi, 4 * bi, 5 * bi, 6 * bi, 7 * bi);
    let mask = _mm256_set1_epi32((1i32 << b) - 1);
    let lastv = _mm256_set1_epi32(last as i32);
    let mut a = [0; 4].map(|_| _mm256_setzero_ps());
    for (v, row) in a.iter_mut().zip(acc.iter()) {
        // SAFETY: `row` holds 8 f32.
        *v = unsafe { _mm256_loadu_ps(row.as_ptr()) };
    }
    let cp = codes.as_ptr();
    let qp = q.as_ptr();
    // `q_g ⊙ T[idx_g]` of group `g < groups`.
    macro_rules! term {
        ($g:expr) => {{
            let g: usize = $g;
            let vals = if b == 8 {
                // SAFETY: g < codes.len()/8, so bytes 8g..8g+8 are inside `codes`.
                let idx = _mm256_cvtepu8_epi32(unsafe { _mm_loadl_epi64(cp.add(8 * g).cast()) });
                let idx = _mm256_min_epu32(idx, lastv);
                // SAFETY: every index is clamped to `last < table.len()`, so each gathered f32
                // lies inside `table`.
                unsafe { _mm256_i32gather_ps::<4>(table.as_ptr(), idx) }
            } else {
                // SAFETY: g·b + 4 ≤ codes.len() for g < readable (b ≤ 4); unaligned read.
                let w = unsafe { cp.add(g * b).cast::<u32>().read_unaligned() };
                let idx = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(w as i32), shifts), mask);
                let v = _mm256_permutevar8x32_ps(lo, idx);
                if b == 4 {
                    let h = _mm256_permutevar8x32_ps(hi, idx);
                    _mm256_blendv_ps(v, h, _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx)))
                } else {
                    v
                }
            };
            // SAFETY: g < q.len()/8, so q[8g..8g+8] is inside `q`.
            _mm256_mul_ps(unsafe { _mm256_loadu_ps(qp.add(8 * g)) }, vals)
        }};
    }
    let [mut a0, mut a1, mut a2, mut a3] = a;
    let mut g = 0;
    while g + 4 <= groups {
        a0 = _mm256_add_ps(a0, term!(g));
        a1 = _mm256_add_ps(a1, term!(g + 1));
        a2 = _mm256_add_ps(a2, term!(g + 2));
        a3 = _mm256_add_ps(a3, term!(g + 3));
        g += 4;
    }
    if g < groups {
        a0 = _mm256_add_ps(a0, term!(g));
    }
    if g + 1 < groups {
        a1 = _mm256_add_ps(a1, term!(g + 1));
    }
    if g + 2 < groups {
        a2 = _mm256_add_ps(a2, term!(g + 2));
    }
    let a = [a0, a1, a2, a3];
    for (v, row) in a.iter().zip(acc.iter_mut()) {
        // SAFETY: `row` holds 8 f32.
        unsafe { _mm256_storeu_ps(row.as_mut_ptr(), *v) };
    }
    groups
}
