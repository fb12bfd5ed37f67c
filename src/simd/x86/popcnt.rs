//! x86-64 popcount kernels: AVX-512 VPOPCNTDQ and AVX2 nibble lookup (`vpshufb` + `vpsadbw`).
//!
//! Single-pair kernels (`popcount`, `hamming`, `and_popcount`) back the dispatchers of
//! [`crate::simd`]; the strided batch kernels score one query against many codes in one call,
//! because per-call dispatch and reduction overhead dominate on short (e.g. 96-byte) codes.
//!
//! Every public function here checks the CPU features itself and returns `None` when they are
//! missing, so callers never reach a `#[target_feature]` function on a CPU that lacks it.
//! The batch kernels trust their callers (in `crate::binary::kernels`) to have checked that
//! `codes` holds every window they read: `codes.len() ≥ (out.len() − 1)·stride + len`; they
//! re-check it and return `None` otherwise, so a wrong geometry is never undefined behaviour.

use core::arch::x86_64::*;

use super::{feature, has};

const AVX512_POPCNT: u32 = feature::AVX512 | feature::AVX512_VPOPCNTDQ;
const AVX2_POPCNT: u32 = feature::AVX2 | feature::POPCNT;

/// Combine operation of two bytes strings before counting.
const OP_FIRST: u8 = 0;
const OP_XOR: u8 = 1;
const OP_AND: u8 = 2;

#[inline(always)]
fn op_u64<const OP: u8>(x: u64, y: u64) -> u64 {
    match OP {
        OP_XOR => x ^ y,
        OP_AND => x & y,
        _ => x,
    }
}

/// Whether `codes` holds `n` windows of `len` bytes at stride `stride`.
#[inline]
fn geometry_ok(len: usize, codes_len: usize, stride: usize, n: usize) -> bool {
    if n == 0 {
        return true;
    }
    stride >= len && (n - 1).checked_mul(stride).and_then(|v| v.checked_add(len)).is_some_and(|need| need <= codes_len)
}

// ---------------------------------------------------------------------------------------------
// AVX-512 VPOPCNTDQ
// ---------------------------------------------------------------------------------------------

/// Mask selecting the first `n` bytes of a 64-byte chunk (`n ≤ 64`).
#[inline(always)]
fn byte_mask(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
#[inline]
fn combine512<const OP: u8>(x: __m512i, y: __m512i) -> __m512i {
    match OP {
        OP_XOR => _mm512_xor_si512(x, y),
        OP_AND => _mm512_and_si512(x, y),
        _ => x,
    }
}

/// Loads bytes `p[0..n]` (`n ≤ 64`) zero-extended to 64 bytes.
///
/// # Safety
/// `p[0..n]` must be readable. Masked-off bytes are not accessed (AVX-512 masked loads suppress
/// faults on masked-off elements).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
#[inline]
unsafe fn load512(p: *const u8, n: usize) -> __m512i {
    // SAFETY: the caller guarantees `p[0..n]` is readable; only those bytes are loaded.
    unsafe { _mm512_maskz_loadu_epi8(byte_mask(n), p.cast()) }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn pair512<const OP: u8>(a: &[u8], b: &[u8]) -> u64 {
    let n = a.len().min(b.len());
    let mut acc = _mm512_setzero_si512();
    let mut i = 0;
    while i < n {
        let m = (n - i).min(64);
        // SAFETY: `i + m ≤ n ≤ a.len(), b.len()`, so both windows are inside the slices.
        let (x, y) = unsafe { (load512(a.as_ptr().add(i), m), load512(b.as_ptr().add(i), m)) };
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(combine512::<OP>(x, y)));
        i += m;
    }
    _mm512_reduce_add_epi64(acc) as u64
}

/// Hamming distances, one query of `q.len() ≤ 128` bytes (kept in two registers).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn hamming_short512(q: &[u8], codes: &[u8], stride: usize, out: &mut [u32]) {
    let len = q.len();
    let (n0, n1) = (len.min(64), len.saturating_sub(64));
    // SAFETY: `q[0..n0]` and `q[64..64 + n1]` lie inside `q` (`n0 + n1 = len`).
    let q0 = unsafe { load512(q.as_ptr(), n0) };
    let base = codes.as_ptr();
    if n1 == 0 {
        for (i, o) in out.iter_mut().enumerate() {
            // SAFETY: the caller checked `(out.len()−1)·stride + len ≤ codes.len()`, so window `i`
            // (`len` bytes at `i·stride`) is inside `codes`.
            let x0 = unsafe { load512(base.add(i * stride), n0) };
            *o = _mm512_reduce_add_epi64(_mm512_popcnt_epi64(_mm512_xor_si512(x0, q0))) as u32;
        }
    } else {
        // SAFETY: as above, `q[64..len]` is inside `q`.
        let q1 = unsafe { load512(q.as_ptr().add(64), n1) };
        for (i, o) in out.iter_mut().enumerate() {
            // SAFETY: window `i` of `len = 64 + n1` bytes at `i·stride` is inside `codes` (checked
            // by the caller); the two loads cover bytes `0..64` and `64..len` of it.
            let (x0, x1) = unsafe {
                let p = base.add(i * stride);
                (load512(p, 64), load512(p.add(64), n1))
            };
            let c = _mm512_add_epi64(
                _mm512_popcnt_epi64(_mm512_xor_si512(x0, q0)),
                _mm512_popcnt_epi64(_mm512_xor_si512(x1, q1)),
            );
            *o = _mm512_reduce_add_epi64(c) as u32;
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn hamming_long512(q: &[u8], codes: &[u8], stride: usize, out: &mut [u32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let start = i * stride;
        *o = codes.get(start..start + q.len()).map_or(0, |c| pair512::<OP_XOR>(q, c) as u32);
    }
}

/// Weighted Hamming `Σ_j 2^j popcount(x ⊕ p_j)` for 4 planes of `nb ≤ 128` bytes kept in
/// registers (Horner: `acc = 2·acc + popcount(x ⊕ p_j)` from the top plane down).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn weighted4_short512(planes: &[u8], nb: usize, codes: &[u8], stride: usize, out: &mut [u32]) {
    let (n0, n1) = (nb.min(64), nb.saturating_sub(64));
    let mut p0 = [_mm512_setzero_si512(); 4];
    let mut p1 = [_mm512_setzero_si512(); 4];
    for j in 0..4 {
        let Some(pl) = planes.get(j * nb..(j + 1) * nb) else { return };
        // SAFETY: `pl` has `nb = n0 + n1` bytes; the loads cover `pl[0..n0]` and `pl[64..64+n1]`.
        unsafe {
            p0[j] = load512(pl.as_ptr(), n0);
            p1[j] = if n1 > 0 { load512(pl.as_ptr().add(64), n1) } else { _mm512_setzero_si512() };
        }
    }
    let base = codes.as_ptr();
    if n1 == 0 {
        for (i, o) in out.iter_mut().enumerate() {
            // SAFETY: window `i` (`nb` bytes at `i·stride`) is inside `codes` (checked by caller).
            let x0 = unsafe { load512(base.add(i * stride), n0) };
            let mut acc = _mm512_popcnt_epi64(_mm512_xor_si512(x0, p0[3]));
            for j in (0..3).rev() {
                acc = _mm512_add_epi64(_mm512_add_epi64(acc, acc), _mm512_popcnt_epi64(_mm512_xor_si512(x0, p0[j])));
            }
            *o = _mm512_reduce_add_epi64(acc) as u32;
        }
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            // SAFETY: window `i` (`nb = 64 + n1` bytes at `i·stride`) is inside `codes`.
            let (x0, x1) = unsafe {
                let p = base.add(i * stride);
                (load512(p, 64), load512(p.add(64), n1))
            };
            let t = |j: usize| {
                _mm512_add_epi64(
                    _mm512_popcnt_epi64(_mm512_xor_si512(x0, p0[j])),
                    _mm512_popcnt_epi64(_mm512_xor_si512(x1, p1[j])),
                )
            };
            let mut acc = t(3);
            for j in (0..3).rev() {
                acc = _mm512_add_epi64(_mm512_add_epi64(acc, acc), t(j));
            }
            *o = _mm512_reduce_add_epi64(acc) as u32;
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn weighted_long512(planes: &[u8], nb: usize, codes: &[u8], stride: usize, out: &mut [u32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let start = i * stride;
        let Some(c) = codes.get(start..start + nb) else { continue };
        let mut acc = 0u64;
        for p in planes.chunks_exact(nb).rev() {
            acc = 2 * acc + pair512::<OP_XOR>(c, p);
        }
        *o = acc as u32;
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2 nibble lookup
// ---------------------------------------------------------------------------------------------

#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn combine256<const OP: u8>(x: __m256i, y: __m256i) -> __m256i {
    match OP {
        OP_XOR => _mm256_xor_si256(x, y),
        OP_AND => _mm256_and_si256(x, y),
        _ => x,
    }
}

#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn combine128<const OP: u8>(x: __m128i, y: __m128i) -> __m128i {
    match OP {
        OP_XOR => _mm_xor_si128(x, y),
        OP_AND => _mm_and_si128(x, y),
        _ => x,
    }
}

/// Per-byte popcounts of `v` by two 4-bit table lookups.
#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn nibble_counts256(v: __m256i) -> __m256i {
    let lut = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
    );
    let low = _mm256_set1_epi8(0x0F);
    let lo = _mm256_and_si256(v, low);
    let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
}

#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn nibble_counts128(v: __m128i) -> __m128i {
    let lut = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    let low = _mm_set1_epi8(0x0F);
    let lo = _mm_and_si128(v, low);
    let hi = _mm_and_si128(_mm_srli_epi16(v, 4), low);
    _mm_add_epi8(_mm_shuffle_epi8(lut, lo), _mm_shuffle_epi8(lut, hi))
}

#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn pair256<const OP: u8>(a: &[u8], b: &[u8]) -> u64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut ca = a.chunks_exact(32);
    let mut cb = b.chunks_exact(32);
    let mut total = _mm256_setzero_si256();
    let mut acc8 = _mm256_setzero_si256();
    let mut pending = 0u32;
    for (x, y) in (&mut ca).zip(&mut cb) {
        // SAFETY: `x` and `y` are 32-byte chunks; unaligned loads of exactly 32 bytes.
        let (vx, vy) = unsafe { (_mm256_loadu_si256(x.as_ptr().cast()), _mm256_loadu_si256(y.as_ptr().cast())) };
        acc8 = _mm256_add_epi8(acc8, nibble_counts256(combine256::<OP>(vx, vy)));
        pending += 1;
        // Each byte lane grows by at most 8 per chunk: flush before 255 can be exceeded.
        if pending == 31 {
            total = _mm256_add_epi64(total, _mm256_sad_epu8(acc8, _mm256_setzero_si256()));
            acc8 = _mm256_setzero_si256();
            pending = 0;
        }
    }
    total = _mm256_add_epi64(total, _mm256_sad_epu8(acc8, _mm256_setzero_si256()));
    let lanes = _mm_add_epi64(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    let mut s = (_mm_cvtsi128_si64(lanes) as u64).wrapping_add(_mm_extract_epi64(lanes, 1) as u64);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut rest = 0;
    if ra.len() >= 16 {
        // SAFETY: both remainders hold at least 16 bytes.
        let (vx, vy) = unsafe { (_mm_loadu_si128(ra.as_ptr().cast()), _mm_loadu_si128(rb.as_ptr().cast())) };
        let c = _mm_sad_epu8(nibble_counts128(combine128::<OP>(vx, vy)), _mm_setzero_si128());
        s += (_mm_cvtsi128_si64(c) as u64) + (_mm_extract_epi64(c, 1) as u64);
        rest = 16;
    }
    let (ra, rb) = (&ra[rest..], &rb[rest..]);
    let mut wa = ra.chunks_exact(8);
    let mut wb = rb.chunks_exact(8);
    for (x, y) in (&mut wa).zip(&mut wb) {
        let wx = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let wy = u64::from_le_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        s += u64::from(op_u64::<OP>(wx, wy).count_ones());
    }
    for (&x, &y) in wa.remainder().iter().zip(wb.remainder()) {
        s += u64::from(op_u64::<OP>(u64::from(x), u64::from(y)).count_ones());
    }
    s
}

#[target_feature(enable = "avx2,popcnt")]
fn hamming_strided256(q: &[u8], codes: &[u8], stride: usize, out: &mut [u32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let start = i * stride;
        *o = codes.get(start..start + q.len()).map_or(0, |c| pair256::<OP_XOR>(q, c) as u32);
    }
}

#[target_feature(enable = "avx2,popcnt")]
fn weighted_strided256(planes: &[u8], nb: usize, codes: &[u8], stride: usize, out: &mut [u32]) {
    let nplanes = planes.len() / nb;
    for (i, o) in out.iter_mut().enumerate() {
        let start = i * stride;
        let Some(c) = codes.get(start..start + nb) else { continue };
        *o = if nplanes <= 4 { weighted_few256(planes, nb, c) } else { weighted_many256(planes, nb, c) } as u32;
    }
}

/// `Σ_j 2^j popcount(c ⊕ p_j)` for at most 4 planes: per 32-byte chunk the code is loaded once
/// and the per-byte counts are combined by Horner's rule in bytes (at most 8·15 = 120 per byte),
/// then summed with one `vpsadbw`.
#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn weighted_few256(planes: &[u8], nb: usize, c: &[u8]) -> u64 {
    let nplanes = planes.len() / nb;
    let mut total = _mm256_setzero_si256();
    let full = nb / 32 * 32;
    let mut k = 0;
    while k < full {
        // SAFETY: `k + 32 ≤ nb = c.len()`.
        let x = unsafe { _mm256_loadu_si256(c.as_ptr().add(k).cast()) };
        let mut acc = _mm256_setzero_si256();
        for j in (0..nplanes).rev() {
            // SAFETY: plane `j` spans `planes[j·nb .. (j+1)·nb]` and `k + 32 ≤ nb`.
            let p = unsafe { _mm256_loadu_si256(planes.as_ptr().add(j * nb + k).cast()) };
            acc = _mm256_add_epi8(_mm256_add_epi8(acc, acc), nibble_counts256(_mm256_xor_si256(x, p)));
        }
        total = _mm256_add_epi64(total, _mm256_sad_epu8(acc, _mm256_setzero_si256()));
        k += 32;
    }
    let lanes = _mm_add_epi64(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    let mut s = (_mm_cvtsi128_si64(lanes) as u64).wrapping_add(_mm_extract_epi64(lanes, 1) as u64);
    if nb > full {
        let tail = &c[full..];
        for (j, p) in planes.chunks_exact(nb).enumerate() {
            s += pair256::<OP_XOR>(tail, &p[full..]) << j;
        }
    }
    s
}

#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn weighted_many256(planes: &[u8], nb: usize, c: &[u8]) -> u64 {
    let mut acc = 0u64;
    for p in planes.chunks_exact(nb).rev() {
        acc = 2 * acc + pair256::<OP_XOR>(c, p);
    }
    acc
}

// ---------------------------------------------------------------------------------------------
// Safe entry points
// ---------------------------------------------------------------------------------------------

fn pair<const OP: u8>(a: &[u8], b: &[u8]) -> Option<u64> {
    if has(AVX512_POPCNT) {
        // SAFETY: AVX-512 F/BW/VPOPCNTDQ were detected on this CPU.
        return Some(unsafe { pair512::<OP>(a, b) });
    }
    if has(AVX2_POPCNT) {
        // SAFETY: AVX2 and POPCNT were detected on this CPU.
        return Some(unsafe { pair256::<OP>(a, b) });
    }
    None
}

/// `popcount(a)` with the best detected kernel, or `None` without AVX2.
#[inline]
pub fn popcount(a: &[u8]) -> Option<u64> {
    pair::<OP_FIRST>(a, a)
}

/// `popcount(a ⊕ b)` over the shorter length, or `None` without AVX2.
#[inline]
pub fn hamming(a: &[u8], b: &[u8]) -> Option<u64> {
    pair::<OP_XOR>(a, b)
}

/// `popcount(a & b)` over the shorter length, or `None` without AVX2.
#[inline]
pub fn and_popcount(a: &[u8], b: &[u8]) -> Option<u64> {
    pair::<OP_AND>(a, b)
}

/// AVX-512 strided Hamming: `out[i] = popcount(q ⊕ codes[i·stride .. i·stride + q.len()])`.
/// `None` if the CPU lacks AVX-512 VPOPCNTDQ or `codes` is too short for the windows.
pub fn hamming_strided_avx512(q: &[u8], codes: &[u8], stride: usize, out: &mut [u32]) -> Option<()> {
    if !has(AVX512_POPCNT) || !geometry_ok(q.len(), codes.len(), stride, out.len()) {
        return None;
    }
    if q.len() <= 128 {
        // SAFETY: features detected above; geometry checked above.
        unsafe { hamming_short512(q, codes, stride, out) }
    } else {
        // SAFETY: features detected above.
        unsafe { hamming_long512(q, codes, stride, out) }
    }
    Some(())
}

/// AVX2 strided Hamming (see [`hamming_strided_avx512`]); `None` without AVX2 + POPCNT.
pub fn hamming_strided_avx2(q: &[u8], codes: &[u8], stride: usize, out: &mut [u32]) -> Option<()> {
    if !has(AVX2_POPCNT) || !geometry_ok(q.len(), codes.len(), stride, out.len()) {
        return None;
    }
    // SAFETY: features detected above.
    unsafe { hamming_strided256(q, codes, stride, out) };
    Some(())
}

/// AVX-512 strided weighted Hamming: `out[i] = Σ_j 2^j popcount(plane_j ⊕ code_i)` with
/// `planes` holding `B = planes.len() / nb` planes of `nb` bytes. `None` without AVX-512
/// VPOPCNTDQ, or on a bad geometry.
pub fn weighted_hamming_strided_avx512(
    planes: &[u8],
    nb: usize,
    codes: &[u8],
    stride: usize,
    out: &mut [u32],
) -> Option<()> {
    if !has(AVX512_POPCNT)
        || nb == 0
        || !planes.len().is_multiple_of(nb)
        || !geometry_ok(nb, codes.len(), stride, out.len())
    {
        return None;
    }
    if nb <= 128 && planes.len() == 4 * nb {
        // SAFETY: features detected above; geometry checked above.
        unsafe { weighted4_short512(planes, nb, codes, stride, out) }
    } else {
        // SAFETY: features detected above.
        unsafe { weighted_long512(planes, nb, codes, stride, out) }
    }
    Some(())
}

/// AVX2 strided weighted Hamming (see [`weighted_hamming_strided_avx512`]).
pub fn weighted_hamming_strided_avx2(
    planes: &[u8],
    nb: usize,
    codes: &[u8],
    stride: usize,
    out: &mut [u32],
) -> Option<()> {
    if !has(AVX2_POPCNT)
        || nb == 0
        || !planes.len().is_multiple_of(nb)
        || !geometry_ok(nb, codes.len(), stride, out.len())
    {
        return None;
    }
    // SAFETY: features detected above.
    unsafe { weighted_strided256(planes, nb, codes, stride, out) };
    Some(())
}
