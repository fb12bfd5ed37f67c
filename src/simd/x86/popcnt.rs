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

/// Loads bytes `p[0..n]` (`n ≤ 64`) zero-extended to 64 bytes: a plain load for 64 or 32 bytes
/// (the common code widths), a masked one otherwise. On Zen 5 a stream of masked loads runs at a
/// third of the plain loads' rate once the data come from memory (`benches/dispatch.rs`, cold
/// set), so the whole-register cases avoid them.
///
/// # Safety
/// `p[0..n]` must be readable. Masked-off bytes are not accessed (AVX-512 masked loads suppress
/// faults on masked-off elements).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
#[inline]
unsafe fn load512(p: *const u8, n: usize) -> __m512i {
    // SAFETY: the caller guarantees `p[0..n]` is readable; each branch reads exactly those bytes
    // (64 or 32 of them, or the masked ones).
    unsafe {
        match n {
            64.. => _mm512_loadu_si512(p.cast()),
            32 => _mm512_zextsi256_si512(_mm256_loadu_si256(p.cast())),
            _ => _mm512_maskz_loadu_epi8(byte_mask(n), p.cast()),
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn pair512<const OP: u8>(a: &[u8], b: &[u8]) -> u64 {
    let n = a.len().min(b.len());
    let (mut acc, mut acc1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    while i + 128 <= n {
        // SAFETY: `i + 128 ≤ n ≤ a.len(), b.len()`: four plain 64-byte loads inside the slices.
        let (x0, y0, x1, y1) = unsafe {
            (
                _mm512_loadu_si512(pa.add(i).cast()),
                _mm512_loadu_si512(pb.add(i).cast()),
                _mm512_loadu_si512(pa.add(i + 64).cast()),
                _mm512_loadu_si512(pb.add(i + 64).cast()),
            )
        };
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(combine512::<OP>(x0, y0)));
        acc1 = _mm512_add_epi64(acc1, _mm512_popcnt_epi64(combine512::<OP>(x1, y1)));
        i += 128;
    }
    while i < n {
        let m = (n - i).min(64);
        // SAFETY: `i + m ≤ n ≤ a.len(), b.len()`, so both windows are inside the slices.
        let (x, y) = unsafe { (load512(pa.add(i), m), load512(pb.add(i), m)) };
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(combine512::<OP>(x, y)));
        i += m;
    }
    _mm512_reduce_add_epi64(_mm512_add_epi64(acc, acc1)) as u64
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
    if (SCAN_MIN_LEN..=SCAN_MAX_LEN).contains(&q.len()) {
        // The caller checked the geometry; the length is in the kernel's range.
        hamming_strided_multi256(q, codes, stride, out);
        return;
    }
    for (i, o) in out.iter_mut().enumerate() {
        let start = i * stride;
        *o = codes.get(start..start + q.len()).map_or(0, |c| pair256::<OP_XOR>(q, c) as u32);
    }
}

#[target_feature(enable = "avx2,popcnt")]
fn weighted_strided256(planes: &[u8], nb: usize, codes: &[u8], stride: usize, out: &mut [u32]) {
    let nplanes = planes.len() / nb;
    if nplanes <= 4 && nb >= SCAN_MIN_LEN {
        // The caller checked the geometry; `nb ≥ 32`, at most 4 planes.
        weighted_strided_multi256(planes, nb, codes, stride, out);
        return;
    }
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

// ---------------------------------------------------------------------------------------------
// Multi-code AVX2 scans: four codes per iteration, one reduction per four codes
// ---------------------------------------------------------------------------------------------

/// Longest code the multi-code AVX2 Hamming kernels take: 31 chunks of 32 bytes keep every
/// per-byte count `≤ 31·8 = 248` without an intermediate flush.
pub const SCAN_MAX_LEN: usize = 31 * 32;
/// Shortest code the multi-code kernels take (the tail is read as one overlapping 32-byte load).
pub const SCAN_MIN_LEN: usize = 32;

/// `TAIL_MASK[t..t + 32]` keeps the last `t` bytes of a 32-byte chunk (`t ∈ 1..=31`).
static TAIL_MASK: [u8; 64] = {
    let mut m = [0u8; 64];
    let mut i = 32;
    while i < 64 {
        m[i] = 0xFF;
        i += 1;
    }
    m
};

/// Geometry of a code of `len ∈ SCAN_MIN_LEN..` bytes for the multi-code kernels: `full` whole
/// 32-byte chunks, then (if `len % 32 != 0`) one 32-byte load ending at `len` whose first
/// `32 − len % 32` bytes (already counted) are masked off.
#[derive(Clone, Copy)]
struct Chunks {
    full: usize,
    tail: bool,
    mask: __m256i,
}

#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn chunks(len: usize) -> Chunks {
    let t = len % 32;
    // SAFETY: `t ≤ 31`, so `TAIL_MASK[t..t + 32]` is inside the 64-byte array.
    let mask = unsafe { _mm256_loadu_si256(TAIL_MASK.as_ptr().add(t).cast()) };
    Chunks { full: len / 32, tail: t != 0, mask }
}

/// Sums each of four `u64 × 4` vectors (every lane `< 2³²`, every total `< 2³²`) into the four
/// `u32` lanes of the result, in order.
#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn reduce4(s: [__m256i; 4]) -> __m128i {
    let a = _mm256_add_epi64(s[0], _mm256_slli_epi64(s[1], 32));
    let b = _mm256_add_epi64(s[2], _mm256_slli_epi64(s[3], 32));
    let a2 = _mm_add_epi64(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    let b2 = _mm_add_epi64(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    _mm_add_epi64(_mm_unpacklo_epi64(a2, b2), _mm_unpackhi_epi64(a2, b2))
}

/// Sum of the four `u64` lanes of `s`.
#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn reduce1(s: __m256i) -> u64 {
    let l = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    (_mm_cvtsi128_si64(l) as u64).wrapping_add(_mm_extract_epi64(l, 1) as u64)
}

/// Hamming distances of the query `q` against the `K` codes starting at `p[k]`, as `u64` lanes
/// to be summed (one vector per code).
///
/// # Safety
/// `q.len() ∈ SCAN_MIN_LEN..=SCAN_MAX_LEN`, `g = chunks(q.len())`, and `p[k][0..q.len()]` must be
/// readable for every `k`.
#[target_feature(enable = "avx2,popcnt")]
#[inline]
unsafe fn hamming_k256<const K: usize>(q: &[u8], g: Chunks, p: [*const u8; K]) -> [__m256i; K] {
    let zero = _mm256_setzero_si256();
    let mut acc = [zero; K];
    let qp = q.as_ptr();
    for c in 0..g.full {
        // SAFETY: `32·c + 32 ≤ len`: inside `q` and inside every code window (caller).
        unsafe {
            let qc = _mm256_loadu_si256(qp.add(32 * c).cast());
            for k in 0..K {
                let x = _mm256_loadu_si256(p[k].add(32 * c).cast());
                acc[k] = _mm256_add_epi8(acc[k], nibble_counts256(_mm256_xor_si256(x, qc)));
            }
        }
    }
    if g.tail {
        let len = q.len();
        // SAFETY: `len ≥ 32`, so bytes `len − 32 .. len` are inside `q` and every window.
        unsafe {
            let qt = _mm256_loadu_si256(qp.add(len - 32).cast());
            for k in 0..K {
                let x = _mm256_loadu_si256(p[k].add(len - 32).cast());
                let v = _mm256_and_si256(_mm256_xor_si256(x, qt), g.mask);
                acc[k] = _mm256_add_epi8(acc[k], nibble_counts256(v));
            }
        }
    }
    let mut out = [zero; K];
    for k in 0..K {
        out[k] = _mm256_sad_epu8(acc[k], zero);
    }
    out
}

/// Strided Hamming distances, four codes per iteration. `q.len() ∈ SCAN_MIN_LEN..=SCAN_MAX_LEN`.
#[target_feature(enable = "avx2,popcnt")]
fn hamming_strided_multi256(q: &[u8], codes: &[u8], stride: usize, out: &mut [u32]) {
    let g = chunks(q.len());
    let base = codes.as_ptr();
    let mut quads = out.chunks_exact_mut(4);
    let mut i = 0;
    for o in &mut quads {
        // SAFETY: the caller checked `(out.len() − 1)·stride + len ≤ codes.len()`, so windows
        // `i .. i + 4` are inside `codes`.
        let s = unsafe {
            let p = base.add(i * stride);
            hamming_k256::<4>(q, g, [p, p.add(stride), p.add(2 * stride), p.add(3 * stride)])
        };
        let d = reduce4(s);
        // SAFETY: `o` holds exactly four `u32`.
        unsafe { _mm_storeu_si128(o.as_mut_ptr().cast(), d) };
        i += 4;
    }
    for o in quads.into_remainder() {
        // SAFETY: window `i` is inside `codes` (as above).
        let [s] = unsafe { hamming_k256::<1>(q, g, [base.add(i * stride)]) };
        *o = reduce1(s) as u32;
        i += 1;
    }
}

/// Fused Hamming scan: `emit(i, h)` for every code `i` whose distance `h ≤ bound`, where `bound`
/// starts at `bound` and is replaced by each `emit`'s return value. Codes are visited in order.
#[target_feature(enable = "avx2,popcnt")]
fn hamming_scan_multi256<F: FnMut(usize, u32) -> u32>(
    q: &[u8],
    codes: &[u8],
    stride: usize,
    n: usize,
    mut bound: u32,
    emit: &mut F,
) {
    let g = chunks(q.len());
    let base = codes.as_ptr();
    // Distances are at most 8·SCAN_MAX_LEN < 2³¹, so a signed compare against min(bound, i32::MAX) is exact.
    let clamp = |b: u32| b.min(i32::MAX as u32) as i32;
    let mut bv = _mm_set1_epi32(clamp(bound));
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: the caller checked `(n − 1)·stride + len ≤ codes.len()`; windows `i .. i + 4`
        // are inside `codes`.
        let s = unsafe {
            let p = base.add(i * stride);
            hamming_k256::<4>(q, g, [p, p.add(stride), p.add(2 * stride), p.add(3 * stride)])
        };
        let d = reduce4(s);
        let above = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(d, bv)));
        if above != 0b1111 {
            let mut h = [0u32; 4];
            // SAFETY: `h` holds exactly four `u32`.
            unsafe { _mm_storeu_si128(h.as_mut_ptr().cast(), d) };
            for (k, &hk) in h.iter().enumerate() {
                if hk <= bound {
                    bound = emit(i + k, hk);
                }
            }
            bv = _mm_set1_epi32(clamp(bound));
        }
        i += 4;
    }
    while i < n {
        // SAFETY: window `i` is inside `codes` (as above).
        let [s] = unsafe { hamming_k256::<1>(q, g, [base.add(i * stride)]) };
        let h = reduce1(s) as u32;
        if h <= bound {
            bound = emit(i, h);
        }
        i += 1;
    }
}

/// Weighted Hamming `Σ_j 2^j popcount(code ⊕ p_j)` for `B = planes.len() / nb ≤ 4` planes,
/// four codes per iteration. Per 32-byte chunk every code and query plane is split into nibbles
/// once; each plane then costs two XORs and two lookups in a table pre-scaled by `2^j`
/// (`2^j·popcount(nibble)`), so no shifts or Horner steps are spent per plane (per byte at most
/// `2·(1 + 2 + 4 + 8)·4 = 120`), and one `vpsadbw` per chunk sums the bytes. Bytes of the
/// overlapping tail chunk that were already counted get index bit 7 set, which makes `vpshufb`
/// return 0. `nb ≥ SCAN_MIN_LEN`.
#[target_feature(enable = "avx2,popcnt")]
fn weighted_strided_multi256(planes: &[u8], nb: usize, codes: &[u8], stride: usize, out: &mut [u32]) {
    let g = chunks(nb);
    let nplanes = (planes.len() / nb).min(4);
    let base = codes.as_ptr();
    let pp = planes.as_ptr();
    let zero = _mm256_setzero_si256();
    // The already-counted bytes of the tail chunk: 0x80 there, 0 elsewhere.
    let kill = _mm256_andnot_si256(g.mask, _mm256_set1_epi8(-128));

    /// Adds chunk `off` of the `K` codes at `p` into `tot`; `kill` is ORed into the code nibbles.
    ///
    /// # Safety
    /// `off + 32 ≤ nb`; `p[k][0..nb]` readable; `planes` (at `pp`) holds `nplanes ≤ 4` planes of
    /// `nb` bytes.
    #[target_feature(enable = "avx2,popcnt")]
    #[inline]
    unsafe fn chunk<const K: usize>(
        pp: *const u8,
        nb: usize,
        nplanes: usize,
        p: [*const u8; K],
        off: usize,
        kill: __m256i,
        tot: &mut [__m256i; K],
    ) {
        let zero = _mm256_setzero_si256();
        let low = _mm256_set1_epi8(0x0F);
        let mut lo = [zero; K];
        let mut hi = [zero; K];
        for k in 0..K {
            // SAFETY: `off + 32 ≤ nb` (caller): inside every code window.
            let x = unsafe { _mm256_loadu_si256(p[k].add(off).cast()) };
            lo[k] = _mm256_or_si256(_mm256_and_si256(x, low), kill);
            hi[k] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(x, 4), low), kill);
        }
        let mut acc = [zero; K];
        for j in 0..nplanes {
            let w = 1i8 << j;
            let lut = _mm256_setr_epi8(
                0,
                w,
                w,
                2 * w,
                w,
                2 * w,
                2 * w,
                3 * w,
                w,
                2 * w,
                2 * w,
                3 * w,
                2 * w,
                3 * w,
                3 * w,
                4 * w,
                0,
                w,
                w,
                2 * w,
                w,
                2 * w,
                2 * w,
                3 * w,
                w,
                2 * w,
                2 * w,
                3 * w,
                2 * w,
                3 * w,
                3 * w,
                4 * w,
            );
            // SAFETY: plane `j` spans `j·nb .. (j + 1)·nb` and `off + 32 ≤ nb`.
            let pl = unsafe { _mm256_loadu_si256(pp.add(j * nb + off).cast()) };
            let plo = _mm256_and_si256(pl, low);
            let phi = _mm256_and_si256(_mm256_srli_epi16(pl, 4), low);
            for k in 0..K {
                let a = _mm256_shuffle_epi8(lut, _mm256_xor_si256(lo[k], plo));
                let b = _mm256_shuffle_epi8(lut, _mm256_xor_si256(hi[k], phi));
                acc[k] = _mm256_add_epi8(acc[k], _mm256_add_epi8(a, b));
            }
        }
        for k in 0..K {
            tot[k] = _mm256_add_epi64(tot[k], _mm256_sad_epu8(acc[k], zero));
        }
    }
    let mut quads = out.chunks_exact_mut(4);
    let mut i = 0;
    for o in &mut quads {
        let mut tot = [zero; 4];
        // SAFETY: the caller checked `(out.len() − 1)·stride + nb ≤ codes.len()`: windows
        // `i .. i + 4` are inside `codes`; chunk offsets stay within `nb`.
        unsafe {
            let p0 = base.add(i * stride);
            let p = [p0, p0.add(stride), p0.add(2 * stride), p0.add(3 * stride)];
            for c in 0..g.full {
                chunk::<4>(pp, nb, nplanes, p, 32 * c, zero, &mut tot);
            }
            if g.tail {
                chunk::<4>(pp, nb, nplanes, p, nb - 32, kill, &mut tot);
            }
        }
        // SAFETY: `o` holds exactly four `u32`.
        unsafe { _mm_storeu_si128(o.as_mut_ptr().cast(), reduce4(tot)) };
        i += 4;
    }
    for o in quads.into_remainder() {
        let mut tot = [zero; 1];
        // SAFETY: window `i` is inside `codes` (as above).
        unsafe {
            let p = [base.add(i * stride)];
            for c in 0..g.full {
                chunk::<1>(pp, nb, nplanes, p, 32 * c, zero, &mut tot);
            }
            if g.tail {
                chunk::<1>(pp, nb, nplanes, p, nb - 32, kill, &mut tot);
            }
        }
        *o = reduce1(tot[0]) as u32;
        i += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// AVX-512 fused scan
// ---------------------------------------------------------------------------------------------

/// Fused Hamming scan with `vpopcntq` (see [`hamming_scan_avx2`]); codes of any length.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn hamming_scan512<F: FnMut(usize, u32) -> u32>(
    q: &[u8],
    codes: &[u8],
    stride: usize,
    n: usize,
    mut bound: u32,
    emit: &mut F,
) {
    let len = q.len();
    let base = codes.as_ptr();
    if len <= 128 {
        let (n0, n1) = (len.min(64), len.saturating_sub(64));
        // SAFETY: `q[0..n0]` and `q[64..64 + n1]` lie inside `q`.
        let (q0, q1) = unsafe { (load512(q.as_ptr(), n0), load512(q.as_ptr().add(64.min(len)), n1)) };
        for i in 0..n {
            // SAFETY: the caller checked `(n − 1)·stride + len ≤ codes.len()`: window `i` is inside
            // `codes`; the loads cover bytes `0..n0` and `64..64 + n1` of it (`n1 = 0` loads nothing).
            let (x0, x1) = unsafe {
                let p = base.add(i * stride);
                (load512(p, n0), load512(p.add(64.min(len)), n1))
            };
            let c = _mm512_add_epi64(
                _mm512_popcnt_epi64(_mm512_xor_si512(x0, q0)),
                _mm512_popcnt_epi64(_mm512_xor_si512(x1, q1)),
            );
            let h = _mm512_reduce_add_epi64(c) as u32;
            if h <= bound {
                bound = emit(i, h);
            }
        }
    } else {
        for i in 0..n {
            let start = i * stride;
            let Some(c) = codes.get(start..start + len) else { return };
            let h = pair512::<OP_XOR>(q, c) as u32;
            if h <= bound {
                bound = emit(i, h);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Safe entry points of the scans
// ---------------------------------------------------------------------------------------------

/// Fused Hamming scan over `n` codes of `q.len()` bytes read at `i·stride` in `codes`: calls
/// `emit(i, popcount(q ⊕ code_i))` in order for every code whose distance is `≤ bound`, where
/// `bound` is replaced by the value each call returns (a top-k passes its current threshold, so
/// codes that cannot enter cost no call). Four codes per iteration, query chunks from L1, one
/// horizontal reduction and one vector compare per four codes.
///
/// `None` (nothing called) without AVX2 + POPCNT, for `q.len()` outside
/// `SCAN_MIN_LEN..=SCAN_MAX_LEN` (use the strided kernels there), or when `codes` is too short.
pub fn hamming_scan_avx2<F: FnMut(usize, u32) -> u32>(
    q: &[u8],
    codes: &[u8],
    stride: usize,
    n: usize,
    bound: u32,
    mut emit: F,
) -> Option<()> {
    if !has(AVX2_POPCNT)
        || !(SCAN_MIN_LEN..=SCAN_MAX_LEN).contains(&q.len())
        || !geometry_ok(q.len(), codes.len(), stride, n)
    {
        return None;
    }
    // SAFETY: features and geometry checked above; the length is in the kernel's range.
    unsafe { hamming_scan_multi256(q, codes, stride, n, bound, &mut emit) };
    Some(())
}

/// AVX-512 VPOPCNTDQ fused Hamming scan (as [`hamming_scan_avx2`], any `q.len() ≤ 2²⁹`).
/// `None` without AVX-512 F/BW/VPOPCNTDQ or on a bad geometry.
pub fn hamming_scan_avx512<F: FnMut(usize, u32) -> u32>(
    q: &[u8],
    codes: &[u8],
    stride: usize,
    n: usize,
    bound: u32,
    mut emit: F,
) -> Option<()> {
    if !has(AVX512_POPCNT) || q.len() > (1 << 29) || !geometry_ok(q.len(), codes.len(), stride, n) {
        return None;
    }
    // SAFETY: features and geometry checked above.
    unsafe { hamming_scan512(q, codes, stride, n, bound, &mut emit) };
    Some(())
}
