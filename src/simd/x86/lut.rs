//! x86-64 AVX2 and AVX-512 kernels of [`crate::simd::dot_lut_f32`]: `Σ q_i·T[idx_i]` over packed `b`-bit
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
use crate::simd::portable::{self, QScale};

/// Arch `dot_lut_f32`, if an arch kernel exists for this CPU and width (`None` otherwise).
#[inline]
pub fn dot_lut_f32(codes: &[u8], bits: u32, table: &[f32], q: &[f32]) -> Option<f32> {
    dot_lut_f32_with::<false>(codes, bits, table, q, QScale { s: &[], shift: 0 })
}

/// Arch `dot_lut_f32_scaled` (`None` without an arch kernel, or for blocks shorter than a group
/// of 8: `shift < 3`).
#[inline]
pub fn dot_lut_f32_scaled(
    codes: &[u8],
    bits: u32,
    table: &[f32],
    q: &[f32],
    scales: &[f32],
    shift: u32,
) -> Option<f32> {
    if shift < 3 {
        return None;
    }
    dot_lut_f32_with::<true>(codes, bits, table, q, QScale { s: scales, shift })
}

/// The kernels of both, with (`S`) or without per-block query scales.
#[inline]
fn dot_lut_f32_with<const S: bool>(codes: &[u8], bits: u32, table: &[f32], q: &[f32], sc: QScale<'_>) -> Option<f32> {
    if !has(feature::AVX2) || !matches!(bits, 1..=4 | 8) || table.is_empty() {
        return None;
    }
    let n = q.len().min(codes.len() * 8 / bits as usize);
    let mut acc = [[0.0f32; 8]; 4];
    // AVX-512: two groups per register, whole blocks of 4 groups; the AVX2 kernel continues from
    // there (same accumulators, same order of additions). Only for 4-bit indices (two AVX2
    // permutes and a blend per group): with ≤ 8 table entries the AVX2 kernel needs one permute
    // and is as fast or faster on Zen 5 (`benches/dispatch.rs`, quiet: 4-bit 1.41×, 1-bit
    // 0.89×, 2- and 3-bit 1.00×).
    let start = if bits == 4 && has(feature::AVX512) {
        // SAFETY: AVX-512F was detected on this CPU; the kernel's memory accesses are justified
        // inside.
        unsafe { groups_avx512::<4, S>(codes, table, &q[..n], &mut acc, sc) }
    } else {
        0
    };
    // SAFETY: AVX2 was detected on this CPU; the kernel's memory accesses are justified inside.
    let done = unsafe {
        match bits {
            1 => groups_avx2::<1, S>(codes, table, &q[..n], start, &mut acc, sc),
            2 => groups_avx2::<2, S>(codes, table, &q[..n], start, &mut acc, sc),
            3 => groups_avx2::<3, S>(codes, table, &q[..n], start, &mut acc, sc),
            4 => groups_avx2::<4, S>(codes, table, &q[..n], start, &mut acc, sc),
            _ => groups_avx2::<8, S>(codes, table, &q[..n], start, &mut acc, sc),
        }
    };
    let sc = S.then_some(sc);
    portable::dot_lut_f32_groups(codes, bits, table, &q[..n], done, &mut acc, sc);
    Some(portable::dot_lut_f32_finish(codes, bits, table, q, &acc, sc))
}

/// Arch `dot_lut_f32_rows` (`None` when no arch kernel applies; `out` untouched): one call for
/// all rows, so the dispatch, the register tables and the index constants are set up once (the
/// kernels inline into the row loop) rather than once per code.
#[inline]
pub fn dot_lut_f32_rows(
    codes: &[u8],
    stride: usize,
    code_len: usize,
    bits: u32,
    table: &[f32],
    q: &[f32],
    out: &mut [f32],
) -> Option<()> {
    if !has(feature::AVX2) || !matches!(bits, 1..=4 | 8) || table.is_empty() || code_len == 0 || stride == 0 {
        return None;
    }
    let n = out.len().min(portable::lut_rows(codes.len(), stride, code_len));
    let out = &mut out[..n];
    let rows = Rows { codes, stride, code_len };
    // SAFETY: AVX2 (and for the first arm AVX-512F) was detected on this CPU; the kernels' memory
    // accesses are justified inside.
    unsafe {
        match bits {
            4 if has(feature::AVX512) => rows_avx512(rows, table, q, out),
            1 => rows_avx2::<1>(rows, table, q, out),
            2 => rows_avx2::<2>(rows, table, q, out),
            3 => rows_avx2::<3>(rows, table, q, out),
            4 => rows_avx2::<4>(rows, table, q, out),
            _ => rows_avx2::<8>(rows, table, q, out),
        }
    }
    Some(())
}

/// Rows of `code_len` bytes, `stride` bytes apart, in `codes`.
#[derive(Clone, Copy)]
struct Rows<'a> {
    codes: &'a [u8],
    stride: usize,
    code_len: usize,
}

impl<'a> Rows<'a> {
    /// Row `r` (empty past the end, which the callers' row counts exclude).
    #[inline(always)]
    fn row(&self, r: usize) -> &'a [u8] {
        self.codes.get(r * self.stride..r * self.stride + self.code_len).unwrap_or_default()
    }
}

/// [`dot_lut_f32`]'s AVX2 path row by row.
#[target_feature(enable = "avx2,fma")]
fn rows_avx2<const B: usize>(rows: Rows<'_>, table: &[f32], q: &[f32], out: &mut [f32]) {
    let sc = QScale { s: &[], shift: 0 };
    for (r, o) in out.iter_mut().enumerate() {
        let code = rows.row(r);
        let n = q.len().min(code.len() * 8 / B);
        let mut acc = [[0.0f32; 8]; 4];
        let done = groups_avx2::<B, false>(code, table, &q[..n], 0, &mut acc, sc);
        portable::dot_lut_f32_groups(code, B as u32, table, &q[..n], done, &mut acc, None);
        *o = portable::dot_lut_f32_finish(code, B as u32, table, q, &acc, None);
    }
}

/// [`dot_lut_f32`]'s AVX-512 path (4-bit indices) row by row.
#[target_feature(enable = "avx512f,avx2,fma")]
fn rows_avx512(rows: Rows<'_>, table: &[f32], q: &[f32], out: &mut [f32]) {
    let sc = QScale { s: &[], shift: 0 };
    for (r, o) in out.iter_mut().enumerate() {
        let code = rows.row(r);
        let n = q.len().min(code.len() * 2);
        let mut acc = [[0.0f32; 8]; 4];
        let start = groups_avx512::<4, false>(code, table, &q[..n], &mut acc, sc);
        let done = groups_avx2::<4, false>(code, table, &q[..n], start, &mut acc, sc);
        portable::dot_lut_f32_groups(code, 4, table, &q[..n], done, &mut acc, None);
        *o = portable::dot_lut_f32_finish(code, 4, table, q, &acc, None);
    }
}

/// Arch `lut_expand_f32` (`None` when no arch kernel applies; `out` untouched).
#[inline]
pub fn lut_expand_f32(codes: &[u8], bits: u32, table: &[f32], scale: f32, out: &mut [f32]) -> Option<()> {
    if !has(feature::AVX2) || !matches!(bits, 1..=4 | 8) || table.is_empty() {
        return None;
    }
    let n = out.len().min(codes.len() * 8 / bits as usize);
    // SAFETY: AVX2 was detected on this CPU; the kernel's memory accesses are justified inside.
    let done = unsafe {
        match bits {
            1 => expand_avx2::<1>(codes, table, scale, &mut out[..n]),
            2 => expand_avx2::<2>(codes, table, scale, &mut out[..n]),
            3 => expand_avx2::<3>(codes, table, scale, &mut out[..n]),
            4 => expand_avx2::<4>(codes, table, scale, &mut out[..n]),
            _ => expand_avx2::<8>(codes, table, scale, &mut out[..n]),
        }
    };
    portable::lut_expand_f32_from(codes, bits, table, scale, out, done);
    Some(())
}

/// Number of whole groups of 8 indices whose read (4 bytes for `B ≤ 4`, 8 for `B = 8`) stays
/// inside `len` code bytes, capped at `groups`.
#[inline(always)]
fn readable_groups<const B: usize>(len: usize, groups: usize) -> usize {
    let readable = if B == 8 {
        len / 8
    } else if len < 4 {
        0
    } else {
        (len - 4) / B + 1
    };
    groups.min(readable)
}

/// The 8 table entries of group `g`: `T[idx_{8g+l}]` in lane `l`.
///
/// # Safety
/// AVX2; `g < readable_groups::<B>(codes.len(), ·)`; `lastv` = `table.len() − 1` in every lane;
/// `lo`/`hi` hold entries 0..8 / 8..16 (clamped); `shifts`/`mask` as built by the callers.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn entries<const B: usize>(
    codes: &[u8],
    table: &[f32],
    g: usize,
    (lo, hi): (__m256, __m256),
    (shifts, mask, lastv): (__m256i, __m256i, __m256i),
) -> __m256 {
    let cp = codes.as_ptr();
    if B == 8 {
        // SAFETY: g < codes.len()/8, so bytes 8g..8g+8 are inside `codes`.
        let idx = _mm256_cvtepu8_epi32(unsafe { _mm_loadl_epi64(cp.add(8 * g).cast()) });
        let idx = _mm256_min_epu32(idx, lastv);
        // SAFETY: every index is clamped to `last < table.len()`, so each gathered f32 lies
        // inside `table`.
        unsafe { _mm256_i32gather_ps::<4>(table.as_ptr(), idx) }
    } else {
        // SAFETY: g·B + 4 ≤ codes.len() (the caller's bound); unaligned read.
        let w = unsafe { cp.add(g * B).cast::<u32>().read_unaligned() };
        entries_of_word::<B>(w, (lo, hi), (shifts, mask))
    }
}

/// The 8 table entries of the group whose `8·B` index bits start at bit 0 of `w` (`B ≤ 4`).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn entries_of_word<const B: usize>(w: u32, (lo, hi): (__m256, __m256), (shifts, mask): (__m256i, __m256i)) -> __m256 {
    let idx = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(w as i32), shifts), mask);
    let v = _mm256_permutevar8x32_ps(lo, idx);
    if B == 4 {
        let h = _mm256_permutevar8x32_ps(hi, idx);
        _mm256_blendv_ps(v, h, _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx)))
    } else {
        v
    }
}

/// As [`entries`] for a group `g` whose 4-byte read would pass the end of `codes` (`B ≤ 4`):
/// its `B` bytes are copied into a zero-padded word first. `(g + 1)·B ≤ codes.len()`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn entries_tail<const B: usize>(
    codes: &[u8],
    g: usize,
    t: (__m256, __m256),
    (shifts, mask, _): (__m256i, __m256i, __m256i),
) -> __m256 {
    // Assembled in a register (a copy into a stack word and a 4-byte reload of it stalls on
    // store forwarding).
    let rest = codes.get(g * B..).unwrap_or_default();
    let w = rest.iter().take(4).enumerate().fold(0u32, |w, (k, &b)| w | u32::from(b) << (8 * k));
    entries_of_word::<B>(w, t, (shifts, mask))
}

/// The register tables and index constants shared by the kernels.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn setup<const B: usize>(table: &[f32]) -> ((__m256, __m256), (__m256i, __m256i, __m256i)) {
    let last = table.len() - 1;
    let entry = |k: usize| table[k.min(last)];
    let lo = _mm256_setr_ps(entry(0), entry(1), entry(2), entry(3), entry(4), entry(5), entry(6), entry(7));
    let hi = _mm256_setr_ps(entry(8), entry(9), entry(10), entry(11), entry(12), entry(13), entry(14), entry(15));
    let bi = B as i32;
    let shifts = _mm256_setr_epi32(0, bi, 2 * bi, 3 * bi, 4 * bi, 5 * bi, 6 * bi, 7 * bi);
    let mask = _mm256_set1_epi32(((1u32 << B) - 1) as i32);
    ((lo, hi), (shifts, mask, _mm256_set1_epi32(last as i32)))
}

/// Writes `scale·T[idx_i]` for the whole groups of 8 whose reads stay inside `codes`; returns
/// the number of groups written. `out.len() ≤ ⌊8·codes.len()/B⌋`, `table` non-empty.
#[target_feature(enable = "avx2,fma")]
fn expand_avx2<const B: usize>(codes: &[u8], table: &[f32], scale: f32, out: &mut [f32]) -> usize {
    let groups = readable_groups::<B>(codes.len(), out.len() / 8);
    let (t, k) = setup::<B>(table);
    let sv = _mm256_set1_ps(scale);
    for g in 0..groups {
        // SAFETY: g < readable groups; table constants from `setup`.
        let v = unsafe { entries::<B>(codes, table, g, t, k) };
        // SAFETY: g < out.len()/8, so out[8g..8g+8] is inside `out`.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(8 * g), _mm256_mul_ps(sv, v)) };
    }
    groups
}

/// AVX-512 accumulation of whole blocks of 4 groups of 8 (`B ≤ 4`): one 8-byte read covers
/// groups `g` and `g + 1` (`2B ≤ 8` bytes), whose indices fill the low and high halves of one
/// 16-lane register; a single `vpermps` looks up all 16 (the table, ≤ 16 entries, lives in one
/// register). Groups `g, g+1` add to accumulators 0 and 1 (low/high halves of one `zmm`), `g+2,
/// g+3` to accumulators 2 and 3: the AVX2 kernel's additions, in its order. Stops at the last
/// block whose 8-byte reads stay inside `codes`; returns the number of groups done (a multiple
/// of 4).
#[target_feature(enable = "avx512f")]
#[inline]
fn groups_avx512<const B: usize, const S: bool>(
    codes: &[u8],
    table: &[f32],
    q: &[f32],
    acc: &mut [[f32; 8]; 4],
    sc: QScale<'_>,
) -> usize {
    let groups = q.len() / 8;
    // Block `j` (groups 4j..4j+4) reads bytes 4jB .. 4jB + 2B + 8 (two 8-byte reads at 4jB and
    // 4jB + 2B).
    let blocks = if codes.len() < 2 * B + 8 { 0 } else { ((codes.len() - 2 * B - 8) / (4 * B) + 1).min(groups / 4) };
    if blocks == 0 {
        return 0;
    }
    let last = table.len() - 1;
    let tv: [f32; 16] = core::array::from_fn(|k| table[k.min(last)]);
    // SAFETY: `tv` holds 16 f32.
    let tab = unsafe { _mm512_loadu_ps(tv.as_ptr()) };
    let bi = B as i32;
    // Lane l shifts by B·(l mod 8).
    let shifts = _mm512_mullo_epi32(
        _mm512_and_si512(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(7)),
        _mm512_set1_epi32(bi),
    );
    let mask = _mm512_set1_epi32(((1u32 << B) - 1) as i32);
    // Lanes 0..8 take the word's low 32 bits (group g), lanes 8..16 its bits 8B.. (group g + 1).
    let halves = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    let ap = acc.as_mut_ptr().cast::<f32>();
    // SAFETY: `acc` is 32 contiguous f32 (`[[f32; 8]; 4]`): rows 0-1 and 2-3 are 16 each.
    let (mut a01, mut a23) = unsafe { (_mm512_loadu_ps(ap), _mm512_loadu_ps(ap.add(16))) };
    let (cp, qp) = (codes.as_ptr(), q.as_ptr());
    let pair = |at: usize| -> __m512 {
        // SAFETY: the caller's block bound keeps `at + 8 ≤ codes.len()`; unaligned read.
        let w = unsafe { cp.add(at).cast::<u64>().read_unaligned() };
        let w2 = (w & 0xFFFF_FFFF) | ((w >> (8 * B)) << 32);
        let v = _mm512_permutexvar_epi32(halves, _mm512_castsi128_si512(_mm_cvtsi64_si128(w2 as i64)));
        let idx = _mm512_and_si512(_mm512_srlv_epi32(v, shifts), mask);
        _mm512_permutexvar_ps(idx, tab)
    };
    for j in 0..blocks {
        let g = 4 * j;
        // SAFETY: groups `g .. g + 4 ≤ q.len()/8`, so q[8g .. 8g + 32] is inside `q`.
        let (mut q01, mut q23) = unsafe { (_mm512_loadu_ps(qp.add(8 * g)), _mm512_loadu_ps(qp.add(8 * g + 16))) };
        if S && sc.shift >= 4 {
            // Blocks of 16 or more elements: groups g, g+1 (g+2, g+3) share one scale (g is a
            // multiple of 4, so 8g is one of 32), broadcast to the whole register.
            q01 = _mm512_mul_ps(q01, _mm512_set1_ps(sc.at(8 * g)));
            q23 = _mm512_mul_ps(q23, _mm512_set1_ps(sc.at(8 * g + 16)));
        } else if S {
            // Groups g, g+1 (g+2, g+3) lie in one block each: their scales in the low and high
            // halves (the `halves` permute of a 2-float vector).
            let two = |h: usize| {
                let v = _mm_setr_ps(sc.at(8 * h), sc.at(8 * h + 8), 0.0, 0.0);
                _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(v))
            };
            q01 = _mm512_mul_ps(q01, two(g));
            q23 = _mm512_mul_ps(q23, two(g + 2));
        }
        a01 = _mm512_add_ps(a01, _mm512_mul_ps(q01, pair(g * B)));
        a23 = _mm512_add_ps(a23, _mm512_mul_ps(q23, pair((g + 2) * B)));
    }
    // SAFETY: as for the loads above.
    unsafe {
        _mm512_storeu_ps(ap, a01);
        _mm512_storeu_ps(ap.add(16), a23);
    }
    4 * blocks
}

/// Accumulates the whole groups of 8 from group `from` on (lane `l` ← index `8g + l`, group `g`
/// into accumulator `g mod 4`): a 4-byte read per group for `b ≤ 4` (the last groups, whose read
/// would pass the end of `codes`, from a zero-padded copy), 8 bytes for `b = 8`; returns the
/// number of groups done (all of them). `from` is a multiple of 4.
/// `q.len() ≤ ⌊8·codes.len()/B⌋`, `B ∈ {1, 2, 3, 4, 8}`, `table` non-empty.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn groups_avx2<const B: usize, const S: bool>(
    codes: &[u8],
    table: &[f32],
    q: &[f32],
    from: usize,
    acc: &mut [[f32; 8]; 4],
    sc: QScale<'_>,
) -> usize {
    let groups = readable_groups::<B>(codes.len(), q.len() / 8);
    let (t, k) = setup::<B>(table);
    let mut a = [0; 4].map(|_| _mm256_setzero_ps());
    for (v, row) in a.iter_mut().zip(acc.iter()) {
        // SAFETY: `row` holds 8 f32.
        *v = unsafe { _mm256_loadu_ps(row.as_ptr()) };
    }
    let qp = q.as_ptr();
    // `q_g ⊙ T[idx_g]` of group `g < groups`.
    macro_rules! term {
        ($g:expr) => {{
            let g: usize = $g;
            // SAFETY: g < readable groups; table constants from `setup`; g < q.len()/8, so
            // q[8g..8g+8] is inside `q`.
            let qv = unsafe { _mm256_loadu_ps(qp.add(8 * g)) };
            let qv = if S { _mm256_mul_ps(qv, _mm256_set1_ps(sc.at(8 * g))) } else { qv };
            // SAFETY: as above.
            _mm256_mul_ps(qv, unsafe { entries::<B>(codes, table, g, t, k) })
        }};
    }
    let [mut a0, mut a1, mut a2, mut a3] = a;
    let mut g = from.min(groups);
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
    let mut a = [a0, a1, a2, a3];
    // The last whole groups, whose 4-byte read would pass the end (B ≤ 4): padded reads.
    let all = if B == 8 { groups } else { q.len() / 8 };
    for g in groups.max(from)..all {
        // SAFETY: g < q.len()/8, so q[8g..8g+8] is inside `q`.
        let qv = unsafe { _mm256_loadu_ps(qp.add(8 * g)) };
        let qv = if S { _mm256_mul_ps(qv, _mm256_set1_ps(sc.at(8 * g))) } else { qv };
        a[g % 4] = _mm256_add_ps(a[g % 4], _mm256_mul_ps(qv, entries_tail::<B>(codes, g, t, k)));
    }
    for (v, row) in a.iter().zip(acc.iter_mut()) {
        // SAFETY: `row` holds 8 f32.
        unsafe { _mm256_storeu_ps(row.as_mut_ptr(), *v) };
    }
    all
}

/// Arch `dot_lut_segs_rows` (`None` when no arch kernel applies; `out` untouched).
#[inline]
pub fn dot_lut_segs_rows(codes: &[u8], stride: usize, segs: &[crate::simd::LutSeg<'_>], out: &mut [f32]) -> Option<()> {
    if !has(feature::AVX2)
        || segs.len() > crate::simd::LutSegs::CAP
        || segs.iter().any(|s| !(1..=8).contains(&s.bits) || s.table.is_empty())
    {
        return None;
    }
    let row_len = segs.iter().map(|s| s.at + s.len).max().unwrap_or(0);
    let rows = out.len().min(portable::seg_rows(codes.len(), stride, row_len));
    // SAFETY: AVX2 was detected on this CPU; the kernel's memory accesses are justified inside.
    unsafe { segs_rows_avx2(codes, stride, row_len, segs, &mut out[..rows]) };
    Some(())
}

/// A segment of [`segs_rows_avx2`] with its register constants.
#[derive(Clone, Copy)]
struct SegK<'a> {
    seg: crate::simd::LutSeg<'a>,
    /// Terms, whole groups, and whole groups whose 4-byte read stays inside the segment.
    n: usize,
    whole: usize,
    fast: usize,
    t: (__m256, __m256),
    /// Entries 16..24 and 24..32 (clamped), for 5-bit indices.
    t2: (__m256, __m256),
    k: (__m256i, __m256i, __m256i),
    /// The query elements of the last partial group, zero-padded.
    qtail: [f32; 8],
}

/// [`dot_lut_segs_rows`] on AVX2: per row, each segment's groups into four rotating
/// accumulators (the portable kernel's additions, in its order), then the lane tree.
#[target_feature(enable = "avx2,fma")]
fn segs_rows_avx2(codes: &[u8], stride: usize, row_len: usize, segs: &[crate::simd::LutSeg<'_>], out: &mut [f32]) {
    let ks: [SegK<'_>; crate::simd::LutSegs::CAP] = core::array::from_fn(|i| {
        let seg = segs.get(i).copied().unwrap_or(crate::simd::LutSeg::EMPTY);
        let n = seg.terms();
        let whole = n / 8;
        let b = seg.bits as usize;
        // Whole groups whose 4-byte read (B ≤ 4) or 8-byte read (B = 8) stays in the segment.
        let fast = match b {
            1..=4 if seg.len >= 4 => ((seg.len - 4) / b + 1).min(whole),
            8 => whole,
            _ => 0,
        };
        let z = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let t = if seg.table.is_empty() { z } else { setup_tables(seg.table) };
        let t2 = match seg.table.len() {
            0 => z,
            1..=16 => {
                let last = _mm256_set1_ps(seg.table[seg.table.len() - 1]);
                (last, last)
            }
            _ => setup_tables(&seg.table[16..]),
        };
        let k = setup_consts(b.clamp(1, 8), seg.table.len().max(1));
        let mut qtail = [0f32; 8];
        if n % 8 != 0 {
            qtail[..n % 8].copy_from_slice(&seg.q[8 * whole..n]);
        }
        SegK { seg, n, whole, fast, t, t2, k, qtail }
    });
    let ks = &ks[..segs.len()];
    let groups: usize = ks.iter().map(|s| s.n.div_ceil(8)).sum();
    for (r, o) in out.iter_mut().enumerate() {
        let start = r * stride;
        let row = &codes[start..start + row_len];
        let mut a = [_mm256_setzero_ps(); 4];
        for s in ks {
            let seg = &row[s.seg.at..s.seg.at + s.seg.len];
            match s.seg.bits {
                1 => seg_avx2::<1>(seg, s, &mut a),
                2 => seg_avx2::<2>(seg, s, &mut a),
                3 => seg_avx2::<3>(seg, s, &mut a),
                4 => seg_avx2::<4>(seg, s, &mut a),
                8 => seg_avx2::<8>(seg, s, &mut a),
                5 => seg5_avx2(seg, s, &mut a),
                _ => seg_scalar_entries(seg, s, &mut a),
            }
        }
        // After `groups` rotations, register `j` holds accumulator `(j + groups) mod 4`.
        let mut acc = [[0f32; 8]; 4];
        for (j, v) in a.iter().enumerate() {
            // SAFETY: each row of `acc` holds 8 f32.
            unsafe { _mm256_storeu_ps(acc[(j + groups) % 4].as_mut_ptr(), *v) };
        }
        *o = portable::lanes_tree(&acc);
    }
}

/// The register tables (entries 0..8 and 8..16, clamped) of `table` (non-empty).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn setup_tables(table: &[f32]) -> (__m256, __m256) {
    let last = table.len() - 1;
    let e = |k: usize| table[k.min(last)];
    (
        _mm256_setr_ps(e(0), e(1), e(2), e(3), e(4), e(5), e(6), e(7)),
        _mm256_setr_ps(e(8), e(9), e(10), e(11), e(12), e(13), e(14), e(15)),
    )
}

/// The index constants of [`setup`] for width `b` and a table of `len ≥ 1` entries.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn setup_consts(b: usize, len: usize) -> (__m256i, __m256i, __m256i) {
    let bi = b as i32;
    let shifts = _mm256_setr_epi32(0, bi, 2 * bi, 3 * bi, 4 * bi, 5 * bi, 6 * bi, 7 * bi);
    let mask = _mm256_set1_epi32(((1u32 << b) - 1) as i32);
    (shifts, mask, _mm256_set1_epi32((len - 1) as i32))
}

/// Adds `t` to accumulator `a[0]` and rotates the four (so that the next group goes to the next
/// accumulator): group `k` of a row lands in the accumulator `k mod 4` of the row's first.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn step(a: &mut [__m256; 4], t: __m256) {
    let [a0, a1, a2, a3] = *a;
    *a = [a1, a2, a3, _mm256_add_ps(a0, t)];
}

/// One segment (`B ∈ {1, 2, 3, 4, 8}`) of one row into the rotating accumulators, the partial
/// last group with its zero-padded query.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn seg_avx2<const B: usize>(seg: &[u8], s: &SegK<'_>, a: &mut [__m256; 4]) {
    let table = s.seg.table;
    let qp = s.seg.q.as_ptr();
    let term = |g: usize, e: __m256| {
        // SAFETY: g < whole = n/8 and n ≤ q.len(), so q[8g..8g+8] is inside `q`.
        _mm256_mul_ps(unsafe { _mm256_loadu_ps(qp.add(8 * g)) }, e)
    };
    let mut v = *a;
    for g in 0..s.fast {
        // SAFETY: g < fast, whose reads stay inside `seg`; constants from `setup_tables` /
        // `setup_consts` of this table.
        step(&mut v, term(g, unsafe { entries::<B>(seg, table, g, s.t, s.k) }));
    }
    // Whole groups whose 4-byte read would pass the segment's end (B ≤ 4), then the partial
    // group: zero-padded copies of their bytes.
    for g in s.fast..s.whole {
        let e = if B == 8 { scalar_entries(seg, s, g) } else { entries_tail::<B>(seg, g, s.t, s.k) };
        step(&mut v, term(g, e));
    }
    if !s.n.is_multiple_of(8) {
        let g = s.whole;
        let e = if B == 8 { scalar_entries(seg, s, g) } else { entries_tail::<B>(seg, g, s.t, s.k) };
        // SAFETY: `qtail` holds 8 f32.
        let qv = unsafe { _mm256_loadu_ps(s.qtail.as_ptr()) };
        step(&mut v, _mm256_mul_ps(qv, e));
    }
    *a = v;
}

/// The 8 table entries of group `g` of a segment of any width, from its zero-padded word.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn scalar_entries(seg: &[u8], s: &SegK<'_>, g: usize) -> __m256 {
    let b = s.seg.bits as usize;
    let (mask, last) = ((1u64 << b) - 1, s.seg.table.len() - 1);
    let w = portable::seg_word(seg, b, g);
    let e: [f32; 8] = core::array::from_fn(|l| s.seg.table[(((w >> (b * l)) & mask) as usize).min(last)]);
    // SAFETY: `e` holds 8 f32.
    unsafe { _mm256_loadu_ps(e.as_ptr()) }
}

/// The 8 entries of a group of 5-bit indices whose 40 bits start at bit 0 of `w`: lanes 0..4
/// from bits 0..20, lanes 4..8 from bits 20..40, then two levels of permute-and-blend over
/// the four 8-entry quarters of the (clamped, 32-entry) table.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn entries5(w: u64, s: &SegK<'_>) -> __m256 {
    let (lo, hi) = (w as u32 as i32, (w >> 20) as u32 as i32);
    let v = _mm256_setr_epi32(lo, lo, lo, lo, hi, hi, hi, hi);
    let idx =
        _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_setr_epi32(0, 5, 10, 15, 0, 5, 10, 15)), _mm256_set1_epi32(31));
    let b3 = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx));
    let b4 = _mm256_castsi256_ps(_mm256_slli_epi32::<27>(idx));
    let p = |t: __m256| _mm256_permutevar8x32_ps(t, idx);
    let e01 = _mm256_blendv_ps(p(s.t.0), p(s.t.1), b3);
    let e23 = _mm256_blendv_ps(p(s.t2.0), p(s.t2.1), b3);
    _mm256_blendv_ps(e01, e23, b4)
}

/// A segment of 5-bit indices (the widest group of 4-bit PCA TurboQuant): [`entries5`] of an
/// 8-byte read where it stays in the segment, else of the zero-padded word.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn seg5_avx2(seg: &[u8], s: &SegK<'_>, a: &mut [__m256; 4]) {
    let qp = s.seg.q.as_ptr();
    // Groups whose 8-byte read at 5g stays inside the segment.
    let fast = if seg.len() < 8 { 0 } else { ((seg.len() - 8) / 5 + 1).min(s.whole) };
    for g in 0..fast {
        // SAFETY: 5g + 8 ≤ seg.len(); unaligned read. g < n/8 ≤ q.len()/8.
        let (w, qv) =
            unsafe { (seg.as_ptr().add(5 * g).cast::<u64>().read_unaligned(), _mm256_loadu_ps(qp.add(8 * g))) };
        step(a, _mm256_mul_ps(qv, entries5(u64::from_le(w), s)));
    }
    for g in fast..s.whole {
        // SAFETY: g < n/8 ≤ q.len()/8.
        let qv = unsafe { _mm256_loadu_ps(qp.add(8 * g)) };
        step(a, _mm256_mul_ps(qv, entries5(portable::seg_word(seg, 5, g), s)));
    }
    if !s.n.is_multiple_of(8) {
        // SAFETY: `qtail` holds 8 f32.
        let qv = unsafe { _mm256_loadu_ps(s.qtail.as_ptr()) };
        step(a, _mm256_mul_ps(qv, entries5(portable::seg_word(seg, 5, s.whole), s)));
    }
}

/// A segment of width 6 or 7: every group through [`scalar_entries`].
#[target_feature(enable = "avx2,fma")]
#[inline]
fn seg_scalar_entries(seg: &[u8], s: &SegK<'_>, a: &mut [__m256; 4]) {
    let qp = s.seg.q.as_ptr();
    for g in 0..s.whole {
        // SAFETY: g < n/8 ≤ q.len()/8.
        let qv = unsafe { _mm256_loadu_ps(qp.add(8 * g)) };
        step(a, _mm256_mul_ps(qv, scalar_entries(seg, s, g)));
    }
    if !s.n.is_multiple_of(8) {
        // SAFETY: `qtail` holds 8 f32.
        let qv = unsafe { _mm256_loadu_ps(s.qtail.as_ptr()) };
        step(a, _mm256_mul_ps(qv, scalar_entries(seg, s, s.whole)));
    }
}

/// Arch `dot_lut4_dims_rows` (`None` when no arch kernel applies; `out` untouched): whole
/// blocks of 16 (AVX-512) or 8 (AVX2) codes in the arch kernel, the last rows portable.
#[inline]
pub fn dot_lut4_dims_rows(codes: &[u8], code_len: usize, tables: &[f32], out: &mut [f32]) -> Option<()> {
    // Gather offsets up to 15·code_len must fit in an i32.
    if !has(feature::AVX2) || code_len < 4 || code_len > (i32::MAX as usize) / 16 {
        return None;
    }
    let d = (tables.len() / 16).min(2 * code_len);
    let tables = &tables[..16 * d];
    let rows = out.len().min(codes.len() / code_len);
    let wide = has(feature::AVX512);
    let lanes = if wide { 16 } else { 8 };
    let done = rows / lanes * lanes;
    // SAFETY: AVX-512F (`wide`) or AVX2 was detected on this CPU; the kernels read only the
    // first `done` rows of `code_len` bytes, which lie inside `codes`.
    unsafe {
        if wide {
            dims4_avx512(codes, code_len, tables, &mut out[..done]);
        } else {
            dims4_avx2(codes, code_len, tables, &mut out[..done]);
        }
    }
    portable::dot_lut4_dims_rows_from(codes, code_len, tables, &mut out[..rows], done);
    Some(())
}

/// Byte offset and right shift (bits) of the word holding coordinates `8·words ..` (the
/// `d mod 8` last ones): read at `4·words` when 4 bytes fit in the code, else at
/// `code_len − 4` shifted down to them. `code_len ≥ 4`.
#[inline(always)]
fn dims4_tail(code_len: usize, words: usize) -> (usize, u32) {
    if 4 * words + 4 <= code_len { (4 * words, 0) } else { (code_len - 4, 8 * (4 * words + 4 - code_len) as u32) }
}

/// [`dot_lut4_dims_rows`] on AVX-512, 16 codes per block (a lane per code): each 4-byte word
/// (8 coordinates) of the 16 codes by one gather, each coordinate's 16 entries in one
/// register, looked up with one `vpermps` (which reads the low 4 bits of each lane).
/// `out.len()` rows of `code_len ≥ 4` bytes lie inside `codes`; `tables.len() = 16·d`,
/// `d ≤ 2·code_len`.
#[target_feature(enable = "avx512f")]
fn dims4_avx512(codes: &[u8], code_len: usize, tables: &[f32], out: &mut [f32]) {
    let d = tables.len() / 16;
    let (words, rem) = (d / 8, d % 8);
    let (tail_at, tail_shift) = dims4_tail(code_len, words);
    let offs = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(code_len as i32),
    );
    let tp = tables.as_ptr();
    for (b, ob) in out.chunks_exact_mut(16).enumerate() {
        // SAFETY: rows 16b .. 16b + 16 lie inside `codes` (the caller's row count).
        let base = unsafe { codes.as_ptr().add(16 * b * code_len) };
        let z = _mm512_setzero_ps();
        let mut a = [z, z, z, z];
        for w in 0..words {
            // SAFETY: 4w + 4 ≤ d/2 ≤ code_len, so each lane's 4 bytes are inside its row;
            // coordinates 8w .. 8w + 8 < d have their 16 entries inside `tables`.
            let mut v = unsafe { _mm512_i32gather_epi32::<1>(offs, base.add(4 * w).cast()) };
            for k in 0..8 {
                let t = unsafe { _mm512_loadu_ps(tp.add(16 * (8 * w + k))) };
                a[k % 4] = _mm512_add_ps(a[k % 4], _mm512_permutexvar_ps(v, t));
                v = _mm512_srli_epi32::<4>(v);
            }
        }
        if rem > 0 {
            // SAFETY: tail_at + 4 ≤ code_len; coordinates 8·words + k < d.
            let v = unsafe { _mm512_i32gather_epi32::<1>(offs, base.add(tail_at).cast()) };
            let mut v = _mm512_srlv_epi32(v, _mm512_set1_epi32(tail_shift as i32));
            for k in 0..rem {
                let t = unsafe { _mm512_loadu_ps(tp.add(16 * (8 * words + k))) };
                a[k % 4] = _mm512_add_ps(a[k % 4], _mm512_permutexvar_ps(v, t));
                v = _mm512_srli_epi32::<4>(v);
            }
        }
        let s = _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3]));
        // SAFETY: `ob` holds 16 f32.
        unsafe { _mm512_storeu_ps(ob.as_mut_ptr(), s) };
    }
}

/// [`dims4_avx512`] on AVX2, 8 codes per block: two permutes (entries 0..8 and 8..16) and a
/// blend on index bit 3 per coordinate.
#[target_feature(enable = "avx2,fma")]
fn dims4_avx2(codes: &[u8], code_len: usize, tables: &[f32], out: &mut [f32]) {
    let d = tables.len() / 16;
    let (words, rem) = (d / 8, d % 8);
    let (tail_at, tail_shift) = dims4_tail(code_len, words);
    let offs = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(code_len as i32));
    let (tp, nib) = (tables.as_ptr(), _mm256_set1_epi32(15));
    let look = |v: __m256i, i: usize| {
        let idx = _mm256_and_si256(v, nib);
        // SAFETY: coordinate i < d has its 16 entries inside `tables`.
        let (lo, hi) = unsafe { (_mm256_loadu_ps(tp.add(16 * i)), _mm256_loadu_ps(tp.add(16 * i + 8))) };
        let (l, h) = (_mm256_permutevar8x32_ps(lo, idx), _mm256_permutevar8x32_ps(hi, idx));
        _mm256_blendv_ps(l, h, _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx)))
    };
    for (b, ob) in out.chunks_exact_mut(8).enumerate() {
        // SAFETY: rows 8b .. 8b + 8 lie inside `codes` (the caller's row count).
        let base = unsafe { codes.as_ptr().add(8 * b * code_len) };
        let z = _mm256_setzero_ps();
        let mut a = [z, z, z, z];
        for w in 0..words {
            // SAFETY: 4w + 4 ≤ code_len, so each lane's 4 bytes are inside its row.
            let mut v = unsafe { _mm256_i32gather_epi32::<1>(base.add(4 * w).cast(), offs) };
            for k in 0..8 {
                a[k % 4] = _mm256_add_ps(a[k % 4], look(v, 8 * w + k));
                v = _mm256_srli_epi32::<4>(v);
            }
        }
        if rem > 0 {
            // SAFETY: tail_at + 4 ≤ code_len.
            let v = unsafe { _mm256_i32gather_epi32::<1>(base.add(tail_at).cast(), offs) };
            let mut v = _mm256_srlv_epi32(v, _mm256_set1_epi32(tail_shift as i32));
            for k in 0..rem {
                a[k % 4] = _mm256_add_ps(a[k % 4], look(v, 8 * words + k));
                v = _mm256_srli_epi32::<4>(v);
            }
        }
        let s = _mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3]));
        // SAFETY: `ob` holds 8 f32.
        unsafe { _mm256_storeu_ps(ob.as_mut_ptr(), s) };
    }
}

/// Arch `dot_bitplanes` (`None` without AVX2).
#[inline]
pub fn dot_bitplanes(code: &[u8], plane: usize, bits: u32, q: &[f32]) -> Option<f32> {
    if !has(feature::AVX2) {
        return None;
    }
    let planes = portable::bitplanes_count(code.len(), plane, bits);
    // SAFETY: AVX-512F (first arm) or AVX2 was detected on this CPU; the kernels' memory
    // accesses are justified inside.
    Some(unsafe {
        if has(feature::AVX512) { planes_avx512(code, plane, planes, q) } else { planes_avx2(code, plane, planes, q) }
    })
}

/// Arch `dot_bitplanes_rows` (`None` without AVX-512; `out` untouched): four rows at a time in
/// [`planes_rows4_avx512`], the last rows through the one-row kernel.
#[inline]
pub fn dot_bitplanes_rows(
    codes: &[u8],
    stride: usize,
    plane: usize,
    bits: u32,
    q: &[f32],
    out: &mut [f32],
) -> Option<()> {
    if !has(feature::AVX512) {
        return None;
    }
    let len = plane.checked_mul(bits as usize)?;
    let rows = match codes.len().checked_sub(len) {
        None => 0,
        Some(_) if stride == 0 => out.len(),
        Some(room) => out.len().min(room / stride + 1),
    };
    let planes = portable::bitplanes_count(len, plane, bits);
    let quads = rows / 4;
    for (g, ob) in out[..4 * quads].chunks_exact_mut(4).enumerate() {
        let row = |k: usize| &codes[(4 * g + k) * stride..(4 * g + k) * stride + len];
        // SAFETY: AVX-512F was detected on this CPU; each row holds `planes` planes of `plane`
        // bytes (its memory accesses are justified inside).
        // Multi-plane rows are read as four interleaved streams, which the hardware prefetcher
        // does not follow well (rabitq4 3.0 → 4.3 GB/s with it); one-plane groups are one short
        // contiguous run that it does follow (rabitq1 4.0 → 3.7 GB/s with it), so no hint there.
        let ahead = if planes > 1 { codes.get((4 * g + 4) * stride..).unwrap_or_default() } else { &[] };
        let sums = unsafe { planes_rows4_avx512([row(0), row(1), row(2), row(3)], plane, planes, q, ahead, stride) };
        ob.copy_from_slice(&sums);
    }
    for (r, o) in out[..rows].iter_mut().enumerate().skip(4 * quads) {
        let row = &codes[r * stride..r * stride + len];
        // SAFETY: as above.
        *o = unsafe { planes_avx512(row, plane, planes, q) };
    }
    Some(())
}

/// Prefetches bytes `at .. at + len` of the four rows `stride` apart at the start of `ahead`
/// (those inside `ahead`), one hint per cache line. Kept out of line so that the scan loop's
/// register allocation does not depend on it.
#[inline(never)]
fn prefetch_planes4(ahead: &[u8], stride: usize, at: usize, len: usize) {
    for r in 0..4 {
        let (from, to) = (r * stride + at, r * stride + at + len);
        for byte in ahead.get(from..to.min(ahead.len())).unwrap_or_default().iter().step_by(64) {
            // SAFETY: `byte` is an element of `ahead`; a prefetch only hints the cache (SSE,
            // part of x86-64).
            unsafe { _mm_prefetch::<_MM_HINT_T0>((byte as *const u8).cast()) };
        }
    }
}

/// [`planes_avx512`] of four rows at once: per plane and block, each 16 query elements are
/// loaded once and added under each row's mask into that row's accumulators (sixteen
/// independent chains); each row is then reduced exactly as [`planes_avx512`] reduces it.
/// Before each plane, the same plane of the four rows of the next group (`ahead`, rows `stride`
/// apart; empty for no prefetch) is prefetched — a few lines per plane rather than one burst
/// per group, which stalls the loads on Zen 4 (see `widen::Spread`).
#[target_feature(enable = "avx512f,avx2,fma")]
fn planes_rows4_avx512(
    rows: [&[u8]; 4],
    plane: usize,
    planes: usize,
    q: &[f32],
    ahead: &[u8],
    stride: usize,
) -> [f32; 4] {
    let n = q.len().min(8 * plane);
    let blocks = n / 64;
    let qp = q.as_ptr();
    let mut total = [0f32; 4];
    for b in 0..planes {
        let pls: [&[u8]; 4] = core::array::from_fn(|r| &rows[r][b * plane..(b + 1) * plane]);
        let pp: [*const u8; 4] = core::array::from_fn(|r| pls[r].as_ptr());
        if !ahead.is_empty() {
            prefetch_planes4(ahead, stride, b * plane, plane);
        }
        let mut z = [[_mm512_setzero_ps(); 4]; 4];
        for k in 0..blocks {
            // SAFETY: elements 64k + 16j + 16 ≤ 64·blocks ≤ q.len() for j < 4.
            let qv: [__m512; 4] = core::array::from_fn(|j| unsafe { _mm512_loadu_ps(qp.add(64 * k + 16 * j)) });
            for (zr, p) in z.iter_mut().zip(pp) {
                for (j, (zj, qj)) in zr.iter_mut().zip(qv).enumerate() {
                    // SAFETY: byte 8k + 2j + 1 < 8·blocks ≤ plane, inside this row's plane b.
                    let m = unsafe { p.add(8 * k + 2 * j).cast::<u16>().read_unaligned() };
                    *zj = _mm512_mask_add_ps(*zj, m, *zj, qj);
                }
            }
        }
        for r in 0..4 {
            let zr = &z[r];
            let sum = if n > 64 * blocks {
                let mut acc = [[0f32; 8]; 8];
                let ap = acc.as_mut_ptr().cast::<f32>();
                for (j, zj) in zr.iter().enumerate() {
                    // SAFETY: `acc` is 64 contiguous f32; register j holds accumulators 2j, 2j + 1.
                    unsafe { _mm512_storeu_ps(ap.add(16 * j), *zj) };
                }
                portable::bitplane_from(pls[r], q, 8 * blocks, &mut acc);
                portable::bitplane_finish(&acc)
            } else {
                let t = _mm512_add_ps(_mm512_add_ps(zr[0], zr[1]), _mm512_add_ps(zr[2], zr[3]));
                let lo = _mm512_castps512_ps256(t);
                let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(t)));
                lane_tree8(_mm256_add_ps(lo, hi))
            };
            total[r] += sum * (1u32 << b) as f32;
        }
    }
    total
}

/// The 8-lane tree `((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))` of `s`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lane_tree8(s: __m256) -> f32 {
    let x = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
    let t = _mm_add_ps(x, _mm_movehdup_ps(x));
    _mm_cvtss_f32(_mm_add_ss(t, _mm_movehl_ps(t, t)))
}

/// `planes` bit planes of `plane` bytes on AVX-512: per plane, the 16 query elements of plane
/// bytes `k, k + 1` added under their 16-bit mask into the register holding accumulators
/// `k mod 8` (low half) and `k + 1` (high half), in whole blocks of 8 bytes; the reduction in
/// registers (the portable order), or through memory when a partial block is left.
#[target_feature(enable = "avx512f,avx2,fma")]
fn planes_avx512(code: &[u8], plane: usize, planes: usize, q: &[f32]) -> f32 {
    let n = q.len().min(8 * plane);
    let blocks = n / 64;
    let qp = q.as_ptr();
    let mut total = 0f32;
    for b in 0..planes {
        let pl = &code[b * plane..(b + 1) * plane];
        let pp = pl.as_ptr();
        let mut z = [_mm512_setzero_ps(); 4];
        for k in 0..blocks {
            for (j, zj) in z.iter_mut().enumerate() {
                // SAFETY: byte 8k + 2j + 1 < 8·blocks ≤ plane; elements 64k + 16j + 16 ≤
                // 64·blocks ≤ q.len().
                let (m, qv) = unsafe {
                    (pp.add(8 * k + 2 * j).cast::<u16>().read_unaligned(), _mm512_loadu_ps(qp.add(64 * k + 16 * j)))
                };
                *zj = _mm512_mask_add_ps(*zj, m, *zj, qv);
            }
        }
        let sum = if n > 64 * blocks {
            let mut acc = [[0f32; 8]; 8];
            let ap = acc.as_mut_ptr().cast::<f32>();
            for (j, zj) in z.iter().enumerate() {
                // SAFETY: `acc` is 64 contiguous f32; register j holds accumulators 2j, 2j + 1.
                unsafe { _mm512_storeu_ps(ap.add(16 * j), *zj) };
            }
            portable::bitplane_from(pl, q, 8 * blocks, &mut acc);
            portable::bitplane_finish(&acc)
        } else {
            // Low half (a0 + a2) + (a4 + a6), high half (a1 + a3) + (a5 + a7), then their sum.
            let t = _mm512_add_ps(_mm512_add_ps(z[0], z[1]), _mm512_add_ps(z[2], z[3]));
            let lo = _mm512_castps512_ps256(t);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(t)));
            lane_tree8(_mm256_add_ps(lo, hi))
        };
        total += sum * (1u32 << b) as f32;
    }
    total
}

/// [`planes_avx512`] on AVX2: four plane bytes broadcast at once; per byte, a variable left
/// shift moves lane `l`'s bit into the sign bit, which selects (`vblendvps`) the query element
/// or `+0.0` for accumulator `k mod 8` — three operations per 8 coordinates.
#[target_feature(enable = "avx2,fma")]
fn planes_avx2(code: &[u8], plane: usize, planes: usize, q: &[f32]) -> f32 {
    let n = q.len().min(8 * plane);
    let blocks = n / 64;
    // Lane l of byte j of a 32-bit word: bit 8j + l shifted into the sign bit.
    let shl: [__m256i; 4] = core::array::from_fn(|j| {
        _mm256_sub_epi32(_mm256_set1_epi32(31 - 8 * j as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    });
    let qp = q.as_ptr();
    let zero = _mm256_setzero_ps();
    let mut total = 0f32;
    for b in 0..planes {
        let pl = &code[b * plane..(b + 1) * plane];
        let pp = pl.as_ptr();
        let mut y = [_mm256_setzero_ps(); 8];
        for k in 0..blocks {
            for h in 0..2 {
                // SAFETY: bytes 8k + 4h .. 8k + 4h + 4 ≤ 8·blocks ≤ plane.
                let w = unsafe { pp.add(8 * k + 4 * h).cast::<i32>().read_unaligned() };
                let wv = _mm256_set1_epi32(w);
                for (j, s) in shl.iter().enumerate() {
                    let m = _mm256_castsi256_ps(_mm256_sllv_epi32(wv, *s));
                    // SAFETY: elements 64k + 32h + 8j + 8 ≤ 64·blocks ≤ q.len().
                    let qv = unsafe { _mm256_loadu_ps(qp.add(64 * k + 32 * h + 8 * j)) };
                    // A clear bit selects +0.0, which leaves the sum bit for bit as skipping it.
                    let a = &mut y[4 * h + j];
                    *a = _mm256_add_ps(*a, _mm256_blendv_ps(zero, qv, m));
                }
            }
        }
        let sum = if n > 64 * blocks {
            let mut acc = [[0f32; 8]; 8];
            for (j, yj) in y.iter().enumerate() {
                // SAFETY: each row of `acc` holds 8 f32.
                unsafe { _mm256_storeu_ps(acc[j].as_mut_ptr(), *yj) };
            }
            portable::bitplane_from(pl, q, 8 * blocks, &mut acc);
            portable::bitplane_finish(&acc)
        } else {
            let lo = _mm256_add_ps(_mm256_add_ps(y[0], y[2]), _mm256_add_ps(y[4], y[6]));
            let hi = _mm256_add_ps(_mm256_add_ps(y[1], y[3]), _mm256_add_ps(y[5], y[7]));
            lane_tree8(_mm256_add_ps(lo, hi))
        };
        total += sum * (1u32 << b) as f32;
    }
    total
}
