//! AVX2 kernels of the interleaved rANS coder (`crate::entropy::word`: `K` 32-bit states, 16-bit
//! renormalisation words, eight lanes per 256-bit vector): the decoders [`word_decode`] (`u64`
//! decode table) and [`word_decode_packed`] (packed 32-bit table) and the encoder
//! [`word_encode`]. All are bit-identical to the portable loops in `entropy::word` (same stream
//! format, same word order), which handle everything these kernels leave (stream tail,
//! remainders, validation at the end). Also [`join_w6_u16`], the lossless float join of
//! `entropy::lossless`.

use core::arch::x86_64::*;

use super::{feature, has};

/// `SHUF16[m]`: for an 8-bit mask `m` of lanes that need a 16-bit word, the `pshufb` indices that
/// put word `rank(i)` (the number of set bits of `m` below bit `i`) into `u16` position `i`;
/// positions of lanes without a word get `0x80` (zero).
#[repr(align(16))]
struct Shuf16Table([[u8; 16]; 256]);

static SHUF16: Shuf16Table = Shuf16Table(shuf16_table());

const fn shuf16_table() -> [[u8; 16]; 256] {
    let mut t = [[0x80u8; 16]; 256];
    let mut m = 0;
    while m < 256 {
        let mut i = 0;
        let mut rank = 0u8;
        while i < 8 {
            if m & (1 << i) != 0 {
                t[m][2 * i] = 2 * rank;
                t[m][2 * i + 1] = 2 * rank + 1;
                rank += 1;
            }
            i += 1;
        }
        m += 1;
    }
    t
}

/// The `K` lane states of the word coder as `K/8` vectors (`K` a multiple of 8, at most 64).
#[target_feature(enable = "avx2")]
#[inline]
fn load_states<const K: usize>(st: &[u32; K]) -> [__m256i; 8] {
    let mut x = [_mm256_setzero_si256(); 8];
    for (v, xv) in x.iter_mut().enumerate().take(K / 8) {
        // SAFETY: `st` holds K ≥ 8v + 8 u32, so lanes 8v..8v+8 are in bounds (unaligned load).
        *xv = unsafe { _mm256_loadu_si256(st.as_ptr().add(8 * v).cast()) };
    }
    x
}

/// Writes the vectors of [`load_states`] back.
#[target_feature(enable = "avx2")]
#[inline]
fn store_states<const K: usize>(x: &[__m256i; 8], st: &mut [u32; K]) {
    for (v, xv) in x.iter().enumerate().take(K / 8) {
        // SAFETY: `st` holds K ≥ 8v + 8 u32 (unaligned store).
        unsafe { _mm256_storeu_si256(st.as_mut_ptr().add(8 * v).cast(), *xv) };
    }
}

/// One decoding step of eight lanes: `y = f·(x >> n) + bias` (`shift` holds `n`), then
/// the lanes with `y < 2^16` take the next 16-bit words of `words` at `*p`, in lane order
/// (routed by [`SHUF16`]); `*p` advances by the words taken. Returns the new states.
///
/// # Safety
/// AVX2 and POPCNT; `*p + 16 ≤ words.len()`.
#[target_feature(enable = "avx2,popcnt")]
#[inline]
unsafe fn word_step(xs: __m256i, f: __m256i, bias: __m256i, shift: __m128i, words: &[u8], p: &mut usize) -> __m256i {
    let y = _mm256_add_epi32(_mm256_mullo_epi32(f, _mm256_srl_epi32(xs, shift)), bias);
    let need = _mm256_cmpeq_epi32(_mm256_srli_epi32::<16>(y), _mm256_setzero_si256());
    let m = _mm256_movemask_ps(_mm256_castsi256_ps(need)) as usize & 255;
    // SAFETY: the caller guarantees 16 readable bytes at `*p`.
    let wv = unsafe { _mm_loadu_si128(words.as_ptr().add(*p).cast()) };
    // SAFETY: `m < 256` indexes the 256-row table; rows are 16-byte aligned (repr(align)).
    let sh = unsafe { _mm_load_si128(SHUF16.0.as_ptr().add(m).cast()) };
    let w = _mm256_cvtepu16_epi32(_mm_shuffle_epi8(wv, sh));
    *p += 2 * m.count_ones() as usize;
    _mm256_or_si256(_mm256_sllv_epi32(y, _mm256_and_si256(need, _mm256_set1_epi32(16))), w)
}

/// The word coder (`entropy::word`): decodes whole groups of `K` symbols (`K` a multiple of 8, at most
/// 64) while at least `2·K` bytes of words remain after `*pos`, continuing from the lane states
/// `st` (each in `[2^16, 2^32)`). Updates `st` and `*pos` and returns the number of symbols
/// written to the front of `out` (a multiple of `K`), or `None` (nothing done) when AVX2/POPCNT
/// are not available, the decode table length is not a power of two `≤ 2^15`, `n > 15`, or the
/// arguments are otherwise unusable.
///
/// Per group: the `K` table entries `symbol | bias << 16 | f << 32` are read by scalar loads
/// (faster than `vpgatherdq` on Zen 3), the symbols stored to `out` and `bias | f << 16`
/// (`f ≤ 2^15`) reloaded as one vector per eight lanes; the update `f·(x >> n) + bias` is one `vpmulld`; the
/// lanes below `L = 2^16` come from a compare + `movmskps`, and the next 16-bit words are
/// routed to exactly those lanes, in lane order, by a `pshufb` from a 256-entry table and
/// widened with `vpmovzxwd`; `popcnt` of the mask advances the cursor. Bit-identical to the
/// portable decoder (wrapping 32-bit arithmetic on both sides).
#[inline]
pub fn word_decode<const K: usize>(
    dec: &[u64],
    n: u32,
    st: &mut [u32; K],
    words: &[u8],
    pos: &mut usize,
    out: &mut [u16],
) -> Option<usize> {
    if !has(feature::AVX2 | feature::POPCNT)
        || !K.is_multiple_of(8)
        || K == 0
        || K > 64
        || !dec.len().is_power_of_two()
        || dec.len() > 1 << 15
        || n > 15
        || *pos > words.len()
    {
        return None;
    }
    // SAFETY: AVX2 and POPCNT were detected on this CPU; the kernel's memory accesses are
    // justified inside.
    Some(unsafe { word_avx2::<K>(dec, n, st, words, pos, out) })
}

#[target_feature(enable = "avx2,popcnt")]
unsafe fn word_avx2<const K: usize>(
    dec: &[u64],
    n: u32,
    st: &mut [u32; K],
    words: &[u8],
    pos: &mut usize,
    out: &mut [u16],
) -> usize {
    // K ≤ 64 ⇒ at most 8 vectors.
    let v_count = K / 8;
    let mut x = load_states(st);
    let mask = _mm256_set1_epi32((dec.len() - 1) as i32);
    let shift = _mm_cvtsi32_si128(n as i32);
    let lo16 = _mm256_set1_epi32(0xffff);
    let base = dec.as_ptr();
    // Table lookups by scalar loads (Zen 3 gathers are slow): all K slot indices of a group go
    // through `idx`; each entry's symbol is stored straight to `out` and its `bias | f << 16`
    // (f ≤ 2^15) to `ent`, reloaded as one vector per 8 lanes.
    let mut idx = [0u32; K];
    let mut ent = [0u32; K];
    let mut p = *pos;
    let mut done = 0usize;
    for chunk in out.chunks_exact_mut(K) {
        if p + 2 * K > words.len() {
            break;
        }
        for (v, xv) in x.iter().enumerate().take(v_count) {
            // SAFETY: `idx` holds K = 8·v_count u32, so lanes 8v..8v+8 are in bounds.
            unsafe { _mm256_storeu_si256(idx.as_mut_ptr().add(8 * v).cast(), _mm256_and_si256(*xv, mask)) };
        }
        for ((o, e), &i) in chunk.iter_mut().zip(ent.iter_mut()).zip(idx.iter()) {
            // SAFETY: every index is `x & (dec.len() − 1)` < dec.len().
            let d = unsafe { *base.add(i as usize) };
            *o = d as u16;
            *e = (d >> 16) as u32;
        }
        for (v, xv) in x.iter_mut().enumerate().take(v_count) {
            let xs = *xv;
            // SAFETY: `ent` holds K = 8·v_count u32, so lanes 8v..8v+8 are in bounds.
            let fb = unsafe { _mm256_loadu_si256(ent.as_ptr().add(8 * v).cast()) };
            let f = _mm256_srli_epi32::<16>(fb);
            let bias = _mm256_and_si256(fb, lo16);
            // SAFETY: the group started with p0 + 2K ≤ words.len(); lanes before this vector
            // consumed at most 2·8v bytes, so p + 16 ≤ p0 + 16(v + 1) ≤ p0 + 2K ≤ words.len().
            *xv = unsafe { word_step(xs, f, bias, shift, words, &mut p) };
        }
        done += K;
    }
    store_states(&x, st);
    *pos = p;
    done
}

/// The word decoder with the packed 32-bit decode table (`entropy::model::packed_dec_layout`): as
/// [`word_decode`], but each lane's entry `s | bias << sb | (f − 1) << (sb + fb)` is a `u32`
/// (half the `u64` table's bytes: 64 KB at scale 14) fetched by a scalar load (the slot
/// indices of a whole group are stored once, the entries reloaded as vectors; on Zen 3 this
/// beats `vpgatherdd` by ≈ 10 %). Returns `None` (nothing done) without
/// AVX2/POPCNT, for a table length that is not a power of two `≤ 2^15`, `n > 15`,
/// `sb + 2·fb > 32` or otherwise unusable arguments. Bit-identical to the portable decoder
/// when `dec32` is the packing of the model's `u64` table.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn word_decode_packed<const K: usize>(
    dec32: &[u32],
    sb: u32,
    fb: u32,
    n: u32,
    st: &mut [u32; K],
    words: &[u8],
    pos: &mut usize,
    out: &mut [u16],
) -> Option<usize> {
    if !has(feature::AVX2 | feature::POPCNT)
        || !K.is_multiple_of(8)
        || K == 0
        || K > 64
        || !dec32.len().is_power_of_two()
        || dec32.len() > 1 << 15
        || n > 15
        || sb > 16
        || sb + 2 * fb > 32
        || *pos > words.len()
    {
        return None;
    }
    // SAFETY: AVX2 and POPCNT were detected on this CPU; the kernel's memory accesses are
    // justified inside.
    Some(unsafe { word_packed_avx2::<K>(dec32, sb, fb, n, st, words, pos, out) })
}

#[target_feature(enable = "avx2,popcnt")]
#[allow(clippy::too_many_arguments)]
unsafe fn word_packed_avx2<const K: usize>(
    dec32: &[u32],
    sb: u32,
    fb: u32,
    n: u32,
    st: &mut [u32; K],
    words: &[u8],
    pos: &mut usize,
    out: &mut [u16],
) -> usize {
    // K ≤ 64 ⇒ at most 8 vectors.
    let v_count = K / 8;
    let mut x = load_states(st);
    let mask = _mm256_set1_epi32((dec32.len() - 1) as i32);
    let shift = _mm_cvtsi32_si128(n as i32);
    let sh_bias = _mm_cvtsi32_si128(sb as i32);
    let sh_f = _mm_cvtsi32_si128((sb + fb) as i32);
    let sym_mask = _mm256_set1_epi32(((1u32 << sb) - 1) as i32);
    let f_mask = _mm256_set1_epi32(((1u64 << fb) - 1) as i32);
    let one = _mm256_set1_epi32(1);
    let base = dec32.as_ptr();
    // Table lookups by scalar loads (Zen 3 gathers are slow): all K slot indices of a group go
    // through `idx`, the K entries come back through `ent` (one vector load per 8 lanes).
    let mut idx = [0u32; K];
    let mut ent = [0u32; K];
    let mut p = *pos;
    let mut done = 0usize;
    for chunk in out.chunks_exact_mut(K) {
        if p + 2 * K > words.len() {
            break;
        }
        for (v, xv) in x.iter().enumerate().take(v_count) {
            // SAFETY: `idx` holds K = 8·v_count u32, so lanes 8v..8v+8 are in bounds.
            unsafe { _mm256_storeu_si256(idx.as_mut_ptr().add(8 * v).cast(), _mm256_and_si256(*xv, mask)) };
        }
        for (e, &i) in ent.iter_mut().zip(idx.iter()) {
            // SAFETY: every index is `x & (dec32.len() − 1)` < dec32.len().
            *e = unsafe { *base.add(i as usize) };
        }
        for (v, xv) in x.iter_mut().enumerate().take(v_count) {
            let xs = *xv;
            // SAFETY: `ent` holds K = 8·v_count u32, so lanes 8v..8v+8 are in bounds.
            let e = unsafe { _mm256_loadu_si256(ent.as_ptr().add(8 * v).cast()) };
            let f = _mm256_add_epi32(_mm256_srl_epi32(e, sh_f), one);
            let bias = _mm256_and_si256(_mm256_srl_epi32(e, sh_bias), f_mask);
            // SAFETY: the group started with p0 + 2K ≤ words.len(); lanes before this vector
            // consumed at most 2·8v bytes, so p + 16 ≤ p0 + 16(v + 1) ≤ p0 + 2K ≤ words.len().
            *xv = unsafe { word_step(xs, f, bias, shift, words, &mut p) };
            // Symbols < 2^16: the signed saturation of `packus` is exact.
            let s = _mm256_and_si256(e, sym_mask);
            let syms = _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0b00_00_10_00>(_mm256_packus_epi32(s, s)));
            // SAFETY: `chunk` has exactly K u16 and 8v + 8 ≤ K, so the 16-byte store stays inside.
            unsafe { _mm_storeu_si128(chunk.as_mut_ptr().add(8 * v).cast(), syms) };
        }
        done += K;
    }
    store_states(&x, st);
    *pos = p;
    done
}

/// `ENC16[m]`: for an 8-bit mask `m` of lanes that emit a 16-bit word, the `pshufb` indices that
/// move the word of lane `i` to `u16` position `8 − popcnt(m) + rank(i)` (the selected words,
/// in lane order, at the top of the vector); other positions get `0x80` (zero).
#[repr(align(16))]
struct Enc16Table([[u8; 16]; 256]);

static ENC16: Enc16Table = Enc16Table(enc16_table());

const fn enc16_table() -> [[u8; 16]; 256] {
    let mut t = [[0x80u8; 16]; 256];
    let mut m = 0;
    while m < 256 {
        let c = (m as u32).count_ones() as usize;
        let mut i = 0;
        let mut rank = 0usize;
        while i < 8 {
            if m & (1 << i) != 0 {
                let dst = 8 - c + rank;
                t[m][2 * dst] = 2 * i as u8;
                t[m][2 * dst + 1] = 2 * i as u8 + 1;
                rank += 1;
            }
            i += 1;
        }
        m += 1;
    }
    t
}

/// The word encoder (`entropy::word`, one model): encodes whole groups of `K` symbols of
/// `head` (`head.len()` a multiple of `K`), **last group first**, while at least `2·K` bytes of
/// room remain below `*pos` in `out`, continuing from the lane states `st`. Returns
/// `Some((symbols done, invalid))`: the number of symbols encoded from the end of `head` (a
/// multiple of `K`), and `invalid = true` when it stopped at a group holding a symbol outside
/// the alphabet or with zero frequency (the states are then unspecified: the caller fails).
/// `None` (nothing done) without AVX2/POPCNT or for unusable arguments.
///
/// `enc4` holds one `entropy::model::WordEncRecord` `[f − 1, m, bias, cmpl | shift << 16]` per
/// symbol. Per vector of eight lanes: the records are loaded by scalar index (eight 16-byte
/// loads, transposed with `vinserti128` + unpacks: no gathers); the lanes with
/// `x >> (32 − n) ≥ f` emit their low 16 bits, compacted in lane order to the top of a
/// 16-byte vector by a `pshufb` table and stored (one unaligned store) just below the cursor,
/// the unused low bytes being overwritten by the next store; the state update
/// `y + bias + ⌊y/f⌋·cmpl` takes `⌊y/f⌋ = (t + ((y − t) >> 1)) >> shift` with
/// `t = mulhi32(y, m)` from two `vpmuludq`. Bit-identical to the portable encoder.
#[inline]
pub fn word_encode<const K: usize>(
    enc4: &[[u32; 4]],
    n: u32,
    st: &mut [u32; K],
    head: &[u16],
    out: &mut [u8],
    pos: &mut usize,
) -> Option<(usize, bool)> {
    if !has(feature::AVX2 | feature::POPCNT)
        || !K.is_multiple_of(8)
        || K == 0
        || K > 64
        || !head.len().is_multiple_of(K)
        || enc4.is_empty()
        || enc4.len() > 1 << 16
        || n == 0
        || n > 15
        || *pos > out.len()
    {
        return None;
    }
    // SAFETY: AVX2 and POPCNT were detected on this CPU; the kernel's memory accesses are
    // justified inside.
    Some(unsafe { word_encode_avx2::<K>(enc4, n, st, head, out, pos) })
}

#[target_feature(enable = "avx2,popcnt")]
unsafe fn word_encode_avx2<const K: usize>(
    enc4: &[[u32; 4]],
    n: u32,
    st: &mut [u32; K],
    head: &[u16],
    out: &mut [u8],
    pos: &mut usize,
) -> (usize, bool) {
    let v_count = K / 8;
    let mut x = load_states(st);
    let sh = _mm_cvtsi32_si128((32 - n) as i32);
    let kmax = _mm_set1_epi16((enc4.len() - 1) as u16 as i16);
    let lo16 = _mm256_set1_epi32(0xffff);
    let sixteen = _mm256_set1_epi32(16);
    let ones = _mm256_set1_epi32(-1);
    let recs = enc4.as_ptr();
    let mut p = *pos;
    let mut g = head.len() / K;
    let mut done = 0usize;
    let mut bad = false;
    while g > 0 && p >= 2 * K {
        g -= 1;
        let grp = &head[g * K..g * K + K];
        // Every symbol of the group must index `enc4` before any record is loaded.
        let mut ok = _mm_set1_epi32(-1);
        for c in grp.chunks_exact(8) {
            // SAFETY: `c` holds exactly 8 u16 (16 bytes).
            let s = unsafe { _mm_loadu_si128(c.as_ptr().cast()) };
            ok = _mm_and_si128(ok, _mm_cmpeq_epi16(_mm_max_epu16(s, kmax), kmax));
        }
        if _mm_movemask_epi8(ok) != 0xffff {
            bad = true;
            break;
        }
        let mut absent = _mm256_setzero_si256();
        for v in (0..v_count).rev() {
            let g8 = &grp[8 * v..8 * v + 8];
            // SAFETY: every symbol of the group was checked to be ≤ enc4.len() − 1 above, so
            // each 16-byte record load lies inside `enc4`.
            let rec = |i: usize| unsafe { _mm_loadu_si128(recs.add(usize::from(g8[i])).cast()) };
            let a0 = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(rec(0)), rec(4));
            let a1 = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(rec(1)), rec(5));
            let a2 = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(rec(2)), rec(6));
            let a3 = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(rec(3)), rec(7));
            let t0 = _mm256_unpacklo_epi32(a0, a1);
            let t1 = _mm256_unpackhi_epi32(a0, a1);
            let t2 = _mm256_unpacklo_epi32(a2, a3);
            let t3 = _mm256_unpackhi_epi32(a2, a3);
            let fm1 = _mm256_unpacklo_epi64(t0, t2);
            let magic = _mm256_unpackhi_epi64(t0, t2);
            let bias = _mm256_unpacklo_epi64(t1, t3);
            let cs = _mm256_unpackhi_epi64(t1, t3);
            absent = _mm256_or_si256(absent, _mm256_cmpeq_epi32(fm1, ones));
            let xs = x[v];
            // x >> (32 − n) < 2^16 and f − 1 < 2^15 (present symbols): signed compare is exact.
            let need = _mm256_cmpgt_epi32(_mm256_srl_epi32(xs, sh), fm1);
            let m = _mm256_movemask_ps(_mm256_castsi256_ps(need)) as usize & 255;
            let w = _mm256_and_si256(xs, lo16);
            let w8 = _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0b00_00_10_00>(_mm256_packus_epi32(w, w)));
            // SAFETY: `m < 256` indexes the 256-row table; rows are 16-byte aligned (repr(align)).
            let sel = unsafe { _mm_load_si128(ENC16.0.as_ptr().add(m).cast()) };
            // SAFETY: the group started with p0 ≥ 2K and p0 ≤ out.len(); the vectors stored
            // before this one (K/8 − 1 − v of them) moved p down by at most 16 each, so
            // 16 ≤ p ≤ out.len() and out[p − 16..p] is in bounds.
            unsafe { _mm_storeu_si128(out.as_mut_ptr().add(p - 16).cast(), _mm_shuffle_epi8(w8, sel)) };
            p -= 2 * m.count_ones() as usize;
            let y = _mm256_srlv_epi32(xs, _mm256_and_si256(need, sixteen));
            let even = _mm256_mul_epu32(y, magic);
            let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(y), _mm256_srli_epi64::<32>(magic));
            let t = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
            let q = _mm256_add_epi32(t, _mm256_srli_epi32::<1>(_mm256_sub_epi32(y, t)));
            let q = _mm256_srlv_epi32(q, _mm256_srli_epi32::<16>(cs));
            let cmpl = _mm256_and_si256(cs, lo16);
            x[v] = _mm256_add_epi32(_mm256_add_epi32(y, bias), _mm256_mullo_epi32(q, cmpl));
        }
        if _mm256_testz_si256(absent, absent) == 0 {
            bad = true;
            break;
        }
        done += K;
    }
    store_states(&x, st);
    *pos = p;
    (done, bad)
}

/// Lossless floats (`entropy::lossless`), 16-bit kinds with 6 raw bits per value (bf16 with
/// `k = 2`, f16 with `k = 5`: 5 low mantissa bits, sign at bit 15): joins `syms` with the raw
/// fields packed LSB-first in `raw` into `out[i] = (r >> 5) << 15 | syms[i] << 5 | (r & 31)`.
/// Processes whole groups of 16 values while 16 bytes can be loaded (12 used) and returns how
/// many values it wrote (a multiple of 16), or `None` without AVX2. Bit-identical to the
/// portable join.
#[inline]
pub fn join_w6_u16(syms: &[u16], raw: &[u8], out: &mut [u16]) -> Option<usize> {
    if !has(feature::AVX2) {
        return None;
    }
    // SAFETY: AVX2 was detected on this CPU; the kernel's memory accesses are justified inside.
    Some(unsafe { join_w6_avx2(syms, raw, out) })
}

#[target_feature(enable = "avx2")]
unsafe fn join_w6_avx2(syms: &[u16], raw: &[u8], out: &mut [u16]) -> usize {
    // Value i of a group (bit offset 6i) sits in the 16-bit word at byte ⌊6i/8⌋, shifted right
    // by 6i mod 8 ∈ {0, 6, 4, 2}; the multiply by 2^(10 − shift) moves it to bits 10–15.
    // The high 128-bit half holds the group's bytes from byte 6 on, so both halves use the
    // same byte pairs.
    let idx = _mm256_setr_epi8(
        0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6, 0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6,
    );
    let mul = _mm256_setr_epi16(
        1 << 10,
        1 << 4,
        1 << 6,
        1 << 8,
        1 << 10,
        1 << 4,
        1 << 6,
        1 << 8,
        1 << 10,
        1 << 4,
        1 << 6,
        1 << 8,
        1 << 10,
        1 << 4,
        1 << 6,
        1 << 8,
    );
    let m31 = _mm256_set1_epi16(31);
    let m32 = _mm256_set1_epi16(32);
    let n = syms.len().min(out.len()) / 16;
    let mut g = 0usize;
    while g < n && 12 * g + 16 <= raw.len() {
        // SAFETY: 12g + 16 ≤ raw.len() (checked above).
        let r = unsafe { _mm_loadu_si128(raw.as_ptr().add(12 * g).cast()) };
        // Values 0–7 come from bytes 0–5, values 8–15 from bytes 6–11.
        let r2 = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(r), _mm_srli_si128::<6>(r));
        let words = _mm256_shuffle_epi8(r2, idx);
        let rw = _mm256_srli_epi16::<10>(_mm256_mullo_epi16(words, mul));
        // SAFETY: g < n ≤ syms.len() / 16, so the 16 u16 at 16g are inside `syms`.
        let s = unsafe { _mm256_loadu_si256(syms.as_ptr().add(16 * g).cast()) };
        let v = _mm256_or_si256(
            _mm256_or_si256(_mm256_slli_epi16::<10>(_mm256_and_si256(rw, m32)), _mm256_slli_epi16::<5>(s)),
            _mm256_and_si256(rw, m31),
        );
        // SAFETY: g < n ≤ out.len() / 16.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(16 * g).cast(), v) };
        g += 1;
    }
    16 * g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "alloc")]
    /// The AVX2 join equals the bit-by-bit definition on random symbols and raw bytes, at every
    /// length (the kernel stops where 16 bytes can no longer be loaded).
    #[test]
    fn join_w6_matches_definition() {
        let mut rng = crate::rng::Rng::new(5);
        for n in [0usize, 15, 16, 17, 64, 100, 1000] {
            let syms: alloc::vec::Vec<u16> = (0..n).map(|_| rng.below(1024) as u16).collect();
            let raw: alloc::vec::Vec<u8> = (0..(6 * n).div_ceil(8)).map(|_| rng.next_u64() as u8).collect();
            let mut out = alloc::vec![0u16; n];
            let Some(done) = join_w6_u16(&syms, &raw, &mut out) else { return };
            assert_eq!(done % 16, 0);
            assert!(done + 32 > n || n < 32, "n={n} done={done}");
            for i in 0..done {
                let bit = 6 * i;
                let w = u32::from(raw[bit / 8]) | (u32::from(*raw.get(bit / 8 + 1).unwrap_or(&0)) << 8);
                let r = (w >> (bit % 8)) & 63;
                assert_eq!(u32::from(out[i]), ((r >> 5) << 15) | (u32::from(syms[i]) << 5) | (r & 31), "i={i}");
            }
        }
    }

    #[test]
    fn enc16_table_compacts_to_top() {
        for m in 0..256usize {
            let c = m.count_ones() as usize;
            let row = &ENC16.0[m];
            let mut rank = 0;
            for i in 0..8 {
                if m & (1 << i) != 0 {
                    let d = 8 - c + rank;
                    assert_eq!((row[2 * d], row[2 * d + 1]), (2 * i as u8, 2 * i as u8 + 1));
                    rank += 1;
                }
            }
            assert!(row[..2 * (8 - c)].iter().all(|&b| b == 0x80));
        }
    }

    #[test]
    fn shuf16_table_ranks() {
        for m in 0..256usize {
            let mut rank = 0u8;
            for i in 0..8 {
                let row = &SHUF16.0[m];
                if m & (1 << i) != 0 {
                    assert_eq!((row[2 * i], row[2 * i + 1]), (2 * rank, 2 * rank + 1));
                    rank += 1;
                } else {
                    assert_eq!((row[2 * i], row[2 * i + 1]), (0x80, 0x80));
                }
            }
        }
    }
}
