//! AVX-512 decoding of interleaved rANS (64-bit states, 32-bit words; see
//! `entropy::interleaved`): eight lanes per register, table lookups by gather, and the
//! renormalisation words distributed to the lanes that need them with an expand load.
//! Produces exactly the symbols, states and stream position of the portable decoder.

use core::arch::x86_64::*;

/// Decodes whole groups of `st.len()` lanes (a multiple of 8) while every word read of a group
/// is in bounds (`pos + 4·K ≤ words.len()`) and `out` has a whole group left. Returns
/// `(symbols written, new word position)`; the caller finishes the rest with the portable code.
///
/// Requirements checked here (returns `(0, pos)` otherwise): `dec.len()` is a power of two,
/// `st.len()` is a non-zero multiple of 8, `n ≤ 16`.
pub fn decode_groups_avx512(
    dec: &[u64],
    n: u32,
    st: &mut [u64],
    words: &[u8],
    pos: usize,
    out: &mut [u16],
) -> (usize, usize) {
    let k = st.len();
    if k == 0 || k % 8 != 0 || !dec.len().is_power_of_two() || n > 16 {
        return (0, pos);
    }
    // SAFETY: this function is only called by `super::rans_decode_groups` after
    // `has(feature::AVX512)` confirmed AVX-512F/BW at run time.
    unsafe { decode_impl(dec, n, st, words, pos, out) }
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn decode_impl(
    dec: &[u64],
    n: u32,
    st: &mut [u64],
    words: &[u8],
    mut pos: usize,
    out: &mut [u16],
) -> (usize, usize) {
    let k = st.len();
    let maskv = _mm512_set1_epi64((dec.len() - 1) as i64);
    let low16 = _mm512_set1_epi64(0xffff);
    let lv = _mm512_set1_epi64(1i64 << 31);
    let nv = _mm_cvtsi32_si128(n as i32);
    let mut done = 0usize;
    while done + k <= out.len() && pos + 4 * k <= words.len() {
        let mut cursor = pos;
        for v in 0..k / 8 {
            // SAFETY: `8v + 8 ≤ k = st.len()`, so the unaligned 64-byte load/store stays inside
            // `st`. Gather indices are `x & (dec.len() − 1) < dec.len()` (power of two), so every
            // gathered 8-byte element lies inside `dec`. The word load reads 32 bytes at
            // `cursor ≤ pos + 4·8v` and `pos + 4·8v + 32 ≤ pos + 4k ≤ words.len()`. The 16-byte
            // symbol store writes `out[done + 8v .. done + 8v + 8]` with `done + k ≤ out.len()`.
            unsafe {
                let sp = st.as_mut_ptr().add(8 * v) as *mut __m512i;
                let x = _mm512_loadu_si512(sp as *const _);
                let idx = _mm512_and_si512(x, maskv);
                let e = _mm512_i64gather_epi64::<8>(idx, dec.as_ptr() as *const i64);
                let sym = _mm512_and_si512(e, low16);
                let bias = _mm512_and_si512(_mm512_srli_epi64::<16>(e), low16);
                let f = _mm512_srli_epi64::<32>(e);
                let xs = _mm512_srl_epi64(x, nv);
                let lo = _mm512_mul_epu32(f, xs);
                let hi = _mm512_slli_epi64::<32>(_mm512_mul_epu32(f, _mm512_srli_epi64::<32>(xs)));
                let y = _mm512_add_epi64(_mm512_add_epi64(lo, hi), bias);
                let need = _mm512_cmplt_epu64_mask(y, lv);
                let w = _mm512_cvtepu32_epi64(_mm256_loadu_si256(words.as_ptr().add(cursor) as *const __m256i));
                let wexp = _mm512_maskz_expand_epi64(need, w);
                let renorm = _mm512_or_si512(_mm512_slli_epi64::<32>(y), wexp);
                let nx = _mm512_mask_blend_epi64(need, y, renorm);
                _mm512_storeu_si512(sp as *mut _, nx);
                let s16 = _mm512_cvtepi64_epi16(sym);
                _mm_storeu_si128(out.as_mut_ptr().add(done + 8 * v) as *mut __m128i, s16);
                cursor += 4 * need.count_ones() as usize;
            }
        }
        pos = cursor;
        done += k;
    }
    (done, pos)
}
