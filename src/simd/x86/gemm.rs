//! The fixed-order dense matrix product ([`crate::simd::matmul_fixed`]) on AVX2 and AVX-512:
//! `out[j·rows + i] = dot_fixed(M_i, x_j)` for the rows `M_i` of a row-major matrix and a batch
//! of vectors `x_j`, in register tiles of several rows × several vectors.
//!
//! Every output keeps the lane structure of [`crate::simd::reference::dot_fixed`]: eight partial
//! sums (lane `t mod 8` of the whole blocks of 8, each product rounded, then added — never
//! fused), combined `((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7))`, then the `cols mod 8` tail in order.
//! On AVX2 each (row, vector) pair owns one 8-lane `ymm` accumulator. On AVX-512 a `zmm`
//! accumulator holds two such 8-lane accumulators: one row against two vectors (lanes 0–7 the
//! first vector, 8–15 the second), with the row's 8 floats broadcast to both halves; the two
//! halves never mix, so each output sees exactly the reference's operations.
//!
//! Cache blocking: the vectors are taken in blocks of about 128 KiB (kept in L2); within a
//! block, each register tile of rows (8 rows of `M`, 12 KiB at d = 384, kept in L1) meets every
//! tile of vectors of the block before the next tile of rows is read.

use core::arch::x86_64::*;

use super::{feature, features, has};

/// Floats of the vectors per cache block (128 KiB, kept in L2).
const BLOCK_FLOATS: usize = 1 << 15;

/// Rows × vectors of the AVX2 register tile (9 `ymm` accumulators).
const R2: usize = 3;
const V2: usize = 3;
/// Rows × vector pairs of the AVX-512 register tile (24 `zmm` accumulators: 8 rows × 6 vectors).
const R5: usize = 8;
const P5: usize = 3;

/// `out[j·rows + i] = dot_fixed(m[i·cols..], xs[j·cols..])` for `i < rows` (capped at
/// `m.len() / cols`) and `j < min(xs.len() / cols, out.len() / rows)` on the best arch path;
/// `false` (nothing written) without AVX2, or when `rows` or `cols` is 0.
pub fn matmul_fixed(m: &[f32], rows: usize, cols: usize, xs: &[f32], out: &mut [f32]) -> bool {
    let f = features();
    if rows == 0 || cols == 0 || f & (feature::AVX2 | feature::AVX512) == 0 {
        return false;
    }
    if f & feature::AVX512 != 0 {
        // SAFETY: AVX-512F was detected (or compiled in) on this CPU.
        unsafe { matmul_avx512::<false>(m, rows, cols, xs, out) };
    } else {
        // SAFETY: AVX2 was detected on this CPU.
        unsafe { matmul_avx2::<false>(m, rows, cols, xs, out) };
    }
    true
}

/// The shape of a product, with its lengths clamped to the slices (so no tile reads past them).
struct Shape {
    rows: usize,
    cols: usize,
    whole: usize,
    n: usize,
    /// Vectors per cache block, a multiple of the vector tile.
    block: usize,
}

impl Shape {
    fn new(m: &[f32], rows: usize, cols: usize, xs: &[f32], out: &[f32], tile_vectors: usize) -> Shape {
        let rows = rows.min(m.len() / cols);
        let n = (xs.len() / cols).min(out.len() / rows.max(1));
        let block = ((BLOCK_FLOATS / cols).max(tile_vectors) / tile_vectors) * tile_vectors;
        Shape { rows, cols, whole: cols / 8 * 8, n, block }
    }
}

/// `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))` of the 8 lanes of `v`.
#[inline]
#[target_feature(enable = "avx2")]
fn reduce8(v: __m256) -> f32 {
    // a_j = l_j + l_{j+4}
    let a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    // b_0 = a_0 + a_2, b_1 = a_1 + a_3
    let b = _mm_add_ps(a, _mm_movehl_ps(a, a));
    // b_0 + b_1
    _mm_cvtss_f32(_mm_add_ss(b, _mm_shuffle_ps::<1>(b, b)))
}

/// `((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))` of the 8 lanes of `v` (the lane tree of
/// QJL's sign kernel, [`crate::qjl::proj_signs`]).
#[inline]
#[target_feature(enable = "avx2")]
fn reduce8_adjacent(v: __m256) -> f32 {
    // a_j = l_j + l_{j+4}
    let a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    // b_0 = a_0 + a_1, b_1 = a_2 + a_3
    let b = _mm_hadd_ps(a, a);
    _mm_cvtss_f32(_mm_add_ss(b, _mm_shuffle_ps::<1>(b, b)))
}

/// [`reduce8`], or [`reduce8_adjacent`] when `ADJ`.
#[inline]
#[target_feature(enable = "avx2")]
fn reduce<const ADJ: bool>(v: __m256) -> f32 {
    if ADJ { reduce8_adjacent(v) } else { reduce8(v) }
}

/// The lane trees of eight accumulators `z[r]` (rows `r`, each holding vector 0 in lanes 0–7 and
/// vector 1 in lanes 8–15) at once: lanes 0–7 of the result are rows 0–7 of vector 0, lanes
/// 8–15 rows 0–7 of vector 1. Every sum is the same IEEE addition of the same operands as
/// [`reduce8`] (or [`reduce8_adjacent`] when `ADJ`), only gathered with shuffles: `a_j = l_j +
/// l_{j+4}` (128-bit blocks), then `b = (a_0 + a_2, a_1 + a_3)` (adjacent: `(a_0 + a_1, a_2 +
/// a_3)`), then `b_0 + b_1`.
#[inline]
#[target_feature(enable = "avx512f,avx2")]
fn reduce_8x2<const ADJ: bool>(z: &[__m512; 8]) -> __m512 {
    // Blocks of A_i: [a(z_2i, v0), a(z_2i, v1), a(z_2i+1, v0), a(z_2i+1, v1)].
    let mut a = [_mm512_setzero_ps(); 4];
    for (i, ai) in a.iter_mut().enumerate() {
        let (x, y) = (z[2 * i], z[2 * i + 1]);
        *ai = _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(x, y), _mm512_shuffle_f32x4::<0xDD>(x, y));
    }
    // Per block: [b_0(U), b_1(U), b_0(V), b_1(V)].
    let b = |u: __m512, v: __m512| {
        if ADJ {
            _mm512_add_ps(_mm512_shuffle_ps::<0x88>(u, v), _mm512_shuffle_ps::<0xDD>(u, v))
        } else {
            _mm512_add_ps(_mm512_shuffle_ps::<0x44>(u, v), _mm512_shuffle_ps::<0xEE>(u, v))
        }
    };
    let (s0, s1) = (b(a[0], a[1]), b(a[2], a[3]));
    // Per block: the four sums b_0 + b_1. Block 0: rows 0, 2, 4, 6 of v0; block 1: the same of
    // v1; block 2: rows 1, 3, 5, 7 of v0; block 3: the same of v1.
    let t = _mm512_add_ps(_mm512_shuffle_ps::<0x88>(s0, s1), _mm512_shuffle_ps::<0xDD>(s0, s1));
    let idx = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    _mm512_permutexvar_ps(idx, t)
}

/// Sign bits of a dense projection for a block of vectors: for every row `i` of the row-major
/// `m × d` matrix `s` and every vector `j` of `xs` (`k × d`), sets bit `i` (LSB-first) of
/// `codes[j·c..]` when `⟨s_i, x_j⟩ > 0`. Each dot product has the lanes of `dot_fixed` (each
/// product rounded, then added; no FMA) but QJL's lane tree
/// `((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7))`, then the `d mod 8` tail in order: exactly the float
/// operations of the portable kernel in `crate::qjl`, so the signs are bit-identical to it. The
/// products come from the blocked kernels of this module in chunks of 24 vectors × 192 rows
/// (an 18 KiB stack buffer). Returns `false` (nothing done) without AVX2 or on inconsistent
/// lengths.
pub fn proj_signs(s: &[f32], d: usize, xs: &[f32], codes: &mut [u8], c: usize) -> bool {
    const VB: usize = 24;
    const RB: usize = 192;
    let f = features();
    if d == 0 || f & (feature::AVX2 | feature::AVX512) == 0 || !s.len().is_multiple_of(d) || !xs.len().is_multiple_of(d)
    {
        return false;
    }
    let (m, k) = (s.len() / d, xs.len() / d);
    if c < m.div_ceil(8) || k.checked_mul(c).is_none_or(|n| codes.len() < n) {
        return false;
    }
    let mut buf = [0.0f32; VB * RB];
    for (xb, cb) in xs.chunks(VB * d).zip(codes.chunks_mut(VB * c)) {
        let mut i0 = 0;
        while i0 < m {
            let rb = (m - i0).min(RB);
            let out = &mut buf[..xb.len() / d * rb];
            let rows = &s[i0 * d..(i0 + rb) * d];
            if f & feature::AVX512 != 0 {
                // SAFETY: AVX-512F was detected (or compiled in) on this CPU.
                unsafe { matmul_avx512::<true>(rows, rb, d, xb, out) };
            } else {
                // SAFETY: AVX2 was detected on this CPU.
                unsafe { matmul_avx2::<true>(rows, rb, d, xb, out) };
            }
            for (o, code) in out.chunks_exact(rb).zip(cb.chunks_mut(c)) {
                // SAFETY: AVX2 is available (AVX-512F implies it).
                unsafe { sign_bits(o, code, i0) };
            }
            i0 += rb;
        }
    }
    true
}

/// ORs bit `i0 + i` (LSB-first) into `code` for every `o_i > 0` (`i0` a multiple of 8, `code`
/// at least `⌈(i0 + o.len()) / 8⌉` bytes), eight at a time with a compare and `vmovmskps`.
#[target_feature(enable = "avx2")]
fn sign_bits(o: &[f32], code: &mut [u8], i0: usize) {
    let mut chunks = o.chunks_exact(8);
    for (q, c8) in (&mut chunks).enumerate() {
        // SAFETY: `c8` has 8 floats.
        let v = unsafe { _mm256_loadu_ps(c8.as_ptr()) };
        // Ordered `>`: false for NaN, as the scalar `dp > 0.0`.
        let bits = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(v, _mm256_setzero_ps()));
        code[i0 / 8 + q] |= bits as u8;
    }
    let base = i0 + o.len() / 8 * 8;
    for (ii, &dp) in chunks.remainder().iter().enumerate() {
        if dp > 0.0 {
            code[(base + ii) / 8] |= 1 << ((base + ii) % 8);
        }
    }
}

/// The reduced lanes plus the tail `Σ_{t ≥ whole} m_t·x_t` in order, each product rounded.
#[inline(always)]
fn finish(lanes: f32, mrow: &[f32], x: &[f32], whole: usize) -> f32 {
    let mut s = lanes;
    for (a, b) in mrow[whole..].iter().zip(&x[whole..]) {
        s += a * b;
    }
    s
}

/// # Safety
/// AVX2 must be available; `rows, cols > 0`.
#[target_feature(enable = "avx2")]
unsafe fn matmul_avx2<const ADJ: bool>(m: &[f32], rows: usize, cols: usize, xs: &[f32], out: &mut [f32]) {
    let s = Shape::new(m, rows, cols, xs, out, V2);
    let mut v0 = 0;
    while v0 < s.n {
        let v1 = (v0 + s.block).min(s.n);
        let mut o = 0;
        while o < s.rows {
            let rt = if s.rows - o >= R2 { R2 } else { 1 };
            let mut v = v0;
            while v < v1 {
                let vt = (v1 - v).min(V2);
                // SAFETY: AVX2 is available; rows o..o+rt ≤ s.rows ≤ m.len()/cols and vectors
                // v..v+vt ≤ s.n ≤ xs.len()/cols.
                unsafe {
                    match (rt, vt) {
                        (R2, V2) => tile_avx2::<ADJ, R2, V2>(m, xs, &s, o, v, out),
                        (R2, 2) => tile_avx2::<ADJ, R2, 2>(m, xs, &s, o, v, out),
                        (R2, _) => tile_avx2::<ADJ, R2, 1>(m, xs, &s, o, v, out),
                        (_, V2) => tile_avx2::<ADJ, 1, V2>(m, xs, &s, o, v, out),
                        (_, 2) => tile_avx2::<ADJ, 1, 2>(m, xs, &s, o, v, out),
                        _ => tile_avx2::<ADJ, 1, 1>(m, xs, &s, o, v, out),
                    }
                }
                v += vt;
            }
            o += rt;
        }
        v0 = v1;
    }
}

/// Rows `o..o+R` against vectors `v..v+V`: one 8-lane accumulator per pair.
///
/// # Safety
/// AVX2 must be available; `o + R ≤ s.rows` and `v + V ≤ s.n` (see [`Shape::new`]).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn tile_avx2<const ADJ: bool, const R: usize, const V: usize>(
    m: &[f32],
    xs: &[f32],
    s: &Shape,
    o: usize,
    v: usize,
    out: &mut [f32],
) {
    let cols = s.cols;
    let mp = m[o * cols..].as_ptr();
    let xp = xs[v * cols..].as_ptr();
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    let mut k = 0;
    while k < s.whole {
        let mut xv = [_mm256_setzero_ps(); V];
        for (j, x) in xv.iter_mut().enumerate() {
            // SAFETY: vector v+j has `cols` floats from `xp + j·cols`, and k + 8 ≤ whole ≤ cols.
            *x = unsafe { _mm256_loadu_ps(xp.add(j * cols + k)) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: row o+r has `cols` floats from `mp + r·cols`, and k + 8 ≤ cols.
            let mv = unsafe { _mm256_loadu_ps(mp.add(r * cols + k)) };
            for (a, &x) in row.iter_mut().zip(&xv) {
                *a = _mm256_add_ps(*a, _mm256_mul_ps(mv, x));
            }
        }
        k += 8;
    }
    for (r, row) in acc.iter().enumerate() {
        let mrow = &m[(o + r) * cols..(o + r + 1) * cols];
        for (j, &a) in row.iter().enumerate() {
            let x = &xs[(v + j) * cols..(v + j + 1) * cols];
            out[(v + j) * s.rows + o + r] = finish(reduce::<ADJ>(a), mrow, x, s.whole);
        }
    }
}

/// # Safety
/// AVX-512F must be available; `rows, cols > 0`.
#[target_feature(enable = "avx512f,avx2")]
unsafe fn matmul_avx512<const ADJ: bool>(m: &[f32], rows: usize, cols: usize, xs: &[f32], out: &mut [f32]) {
    let s = Shape::new(m, rows, cols, xs, out, 2 * P5);
    let mut v0 = 0;
    while v0 < s.n {
        let v1 = (v0 + s.block).min(s.n);
        let mut o = 0;
        while o < s.rows {
            let rt = if s.rows - o >= R5 { R5 } else { 1 };
            let mut v = v0;
            while v < v1 {
                let vt = (v1 - v).min(2 * P5);
                // SAFETY: AVX-512F is available; rows o..o+rt ≤ s.rows ≤ m.len()/cols and
                // vectors v..v+vt ≤ s.n ≤ xs.len()/cols.
                unsafe {
                    match (rt, vt.div_ceil(2)) {
                        (R5, P5) => tile_avx512::<ADJ, R5, P5>(m, xs, &s, o, v, vt, out),
                        (R5, 2) => tile_avx512::<ADJ, R5, 2>(m, xs, &s, o, v, vt, out),
                        (R5, _) => tile_avx512::<ADJ, R5, 1>(m, xs, &s, o, v, vt, out),
                        (_, P5) => tile_avx512::<ADJ, 1, P5>(m, xs, &s, o, v, vt, out),
                        (_, 2) => tile_avx512::<ADJ, 1, 2>(m, xs, &s, o, v, vt, out),
                        _ => tile_avx512::<ADJ, 1, 1>(m, xs, &s, o, v, vt, out),
                    }
                }
                v += vt;
            }
            o += rt;
        }
        v0 = v1;
    }
}

/// Rows `o..o+R` against the `nv ∈ {2P−1, 2P}` vectors from `v`: accumulator `[r][p]` holds row
/// `o+r` against vectors `v+2p` (lanes 0–7) and `v+2p+1` (lanes 8–15; when `nv` is odd the
/// last pair repeats its vector there and that half is dropped).
///
/// # Safety
/// AVX-512F must be available; `o + R ≤ s.rows`, `v + nv ≤ s.n`, `2P − 1 ≤ nv ≤ 2P`.
#[inline]
#[target_feature(enable = "avx512f,avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_avx512<const ADJ: bool, const R: usize, const P: usize>(
    m: &[f32],
    xs: &[f32],
    s: &Shape,
    o: usize,
    v: usize,
    nv: usize,
    out: &mut [f32],
) {
    let cols = s.cols;
    let mp = m[o * cols..].as_ptr();
    let xp = xs[v * cols..].as_ptr();
    // Offsets of the two vectors of each pair.
    let mut off = [[0usize; 2]; P];
    for (p, h) in off.iter_mut().enumerate() {
        *h = [2 * p * cols, (2 * p + 1).min(nv - 1) * cols];
    }
    let mut acc = [[_mm512_setzero_ps(); P]; R];
    let mut k = 0;
    while k < s.whole {
        let mut xv = [_mm512_setzero_ps(); P];
        for (x, h) in xv.iter_mut().zip(&off) {
            // SAFETY: both vectors are among the nv ≤ s.n − v whole vectors from `xp`, each
            // with `cols` floats, and k + 8 ≤ cols.
            let (lo, hi) = unsafe { (_mm256_loadu_ps(xp.add(h[0] + k)), _mm256_loadu_ps(xp.add(h[1] + k))) };
            let both = _mm512_insertf64x4::<1>(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi));
            *x = _mm512_castpd_ps(both);
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: row o+r has `cols` floats from `mp + r·cols`, and k + 8 ≤ cols.
            let m8 = unsafe { _mm256_loadu_ps(mp.add(r * cols + k)) };
            let mv = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(m8)));
            for (a, &x) in row.iter_mut().zip(&xv) {
                *a = _mm512_add_ps(*a, _mm512_mul_ps(mv, x));
            }
        }
        k += 8;
    }
    if R == 8 {
        // Eight rows × two vectors reduced together (the same additions, see `reduce_8x2`), one
        // 8-float store per vector, then the tails.
        for p in 0..P {
            let mut z = [_mm512_setzero_ps(); 8];
            for (zr, row) in z.iter_mut().zip(&acc) {
                *zr = row[p];
            }
            let t = reduce_8x2::<ADJ>(&z);
            let halves =
                [_mm512_castps512_ps256(t), _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(t)))];
            for (h, &half) in halves.iter().enumerate() {
                let j = 2 * p + h;
                if j >= nv {
                    continue;
                }
                let base = (v + j) * s.rows + o;
                let dst = &mut out[base..base + 8];
                // SAFETY: `dst` is 8 writable floats.
                unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), half) };
                if s.whole < cols {
                    let x = &xs[(v + j) * cols..(v + j + 1) * cols];
                    for (r, d) in dst.iter_mut().enumerate() {
                        *d = finish(*d, &m[(o + r) * cols..(o + r + 1) * cols], x, s.whole);
                    }
                }
            }
        }
        return;
    }
    for (r, row) in acc.iter().enumerate() {
        let mrow = &m[(o + r) * cols..(o + r + 1) * cols];
        for (p, &a) in row.iter().enumerate() {
            let halves =
                [_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)))];
            for (h, &l) in halves.iter().enumerate() {
                let j = 2 * p + h;
                if j < nv {
                    let x = &xs[(v + j) * cols..(v + j + 1) * cols];
                    out[(v + j) * s.rows + o + r] = finish(reduce::<ADJ>(l), mrow, x, s.whole);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::simd::reference;
    use std::vec;

    /// The sign kernel across its chunk boundaries (more than 192 rows, more than 24 vectors,
    /// rows not a multiple of 8) against the scalar QJL dot product.
    #[test]
    fn proj_signs_matches_scalar_across_chunks() {
        let mut rng = crate::rng::Rng::new(8);
        for (m, d, k) in [(191usize, 9usize, 25usize), (200, 64, 50), (385, 17, 3), (7, 8, 49)] {
            let mut s = vec![0.0f32; m * d];
            let mut xs = vec![0.0f32; k * d];
            rng.fill_gaussian(&mut s);
            rng.fill_gaussian(&mut xs);
            let c = m.div_ceil(8) + 4;
            let mut want = vec![0u8; k * c];
            for (j, x) in xs.chunks_exact(d).enumerate() {
                for (i, row) in s.chunks_exact(d).enumerate() {
                    let w = d / 8 * 8;
                    let mut l = [0.0f32; 8];
                    for t in 0..w {
                        l[t % 8] += row[t] * x[t];
                    }
                    let mut dp = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
                    for t in w..d {
                        dp += row[t] * x[t];
                    }
                    if dp > 0.0 {
                        want[j * c + i / 8] |= 1 << (i % 8);
                    }
                }
            }
            let mut got = vec![0u8; k * c];
            if proj_signs(&s, d, &xs, &mut got, c) {
                assert_eq!(got, want, "m {m} d {d} k {k}");
            }
        }
    }

    /// Both arch kernels this CPU can run, called directly, bit-identical to the plain
    /// definition on awkward shapes (odd and non-multiple-of-8/16 widths, batches 1..=37, row
    /// counts around the tiles and a width past one cache block).
    #[test]
    fn arch_matmul_matches_reference_bits() {
        let avx2 = std::is_x86_feature_detected!("avx2");
        let avx512 = std::is_x86_feature_detected!("avx512f");
        let mut rng = crate::rng::Rng::new(5);
        let shapes: &[(usize, usize)] =
            &[(1, 1), (3, 7), (8, 8), (9, 15), (17, 16), (24, 33), (5, 100), (31, 384), (25, 1000), (70, 1100)];
        for &(rows, cols) in shapes {
            for n in (1..=37).step_by(if cols > 500 { 6 } else { 1 }) {
                let mut m = vec![0.0f32; rows * cols];
                let mut xs = vec![0.0f32; n * cols];
                rng.fill_gaussian(&mut m);
                rng.fill_gaussian(&mut xs);
                let mut want = vec![0.0f32; n * rows];
                reference::matmul_fixed(&m, rows, cols, &xs, &mut want);
                for (on, run) in [(avx2, 0), (avx512, 1)] {
                    if !on {
                        continue;
                    }
                    let mut got = vec![f32::NAN; n * rows];
                    // SAFETY: each kernel runs only when its features were detected.
                    unsafe {
                        if run == 0 {
                            matmul_avx2::<false>(&m, rows, cols, &xs, &mut got);
                        } else {
                            matmul_avx512::<false>(&m, rows, cols, &xs, &mut got);
                        }
                    }
                    let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "kernel {run} rows {rows} cols {cols} n {n}");
                    // QJL's lane tree.
                    // SAFETY: as above.
                    unsafe {
                        if run == 0 {
                            matmul_avx2::<true>(&m, rows, cols, &xs, &mut got);
                        } else {
                            matmul_avx512::<true>(&m, rows, cols, &xs, &mut got);
                        }
                    }
                    for (j, x) in xs.chunks_exact(cols).enumerate() {
                        for (i, row) in m.chunks_exact(cols).enumerate() {
                            let w = cols / 8 * 8;
                            let mut l = [0.0f32; 8];
                            for t in 0..w {
                                l[t % 8] += row[t] * x[t];
                            }
                            let mut s = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
                            for t in w..cols {
                                s += row[t] * x[t];
                            }
                            assert_eq!(got[j * rows + i].to_bits(), s.to_bits(), "adjacent {run} {rows}x{cols} n {n}");
                        }
                    }
                }
            }
        }
    }
}

/// `out[j] = Σ_i y_i·m[i·cols + j]` for `j < min(cols, out.len())` over the rows
/// `i < min(y.len(), m.len() / cols)`, each product rounded then added to `out[j]` in row order
/// from `+0.0` (the bits of the scalar loop): the columns in register chunks (AVX-512: 64 in 4
/// `zmm`; AVX2: 32 in 4 `ymm`) held across all rows, the last columns scalar. `false` (nothing
/// written) without AVX2 or with `cols` = 0.
pub fn matvec_t(m: &[f32], cols: usize, y: &[f32], out: &mut [f32]) -> bool {
    if !has(feature::AVX2) || cols == 0 {
        return false;
    }
    let n = y.len().min(m.len() / cols);
    let w = cols.min(out.len());
    let (m, y, out) = (&m[..n * cols], &y[..n], &mut out[..w]);
    // SAFETY: AVX-512F (first arm) or AVX2 was detected on this CPU; the kernels read rows
    // `i < n` of `m` (`w ≤ cols` floats from `i·cols`, inside `m`) and write `out[..w]`.
    unsafe { if has(feature::AVX512) { matvec_t_avx512(m, cols, y, out) } else { matvec_t_avx2(m, cols, y, out) } }
    true
}

/// [`matvec_t`] on AVX-512: 64 columns at a time in four accumulators.
#[target_feature(enable = "avx512f,avx2")]
fn matvec_t_avx512(m: &[f32], cols: usize, y: &[f32], out: &mut [f32]) {
    let w = out.len();
    let mp = m.as_ptr();
    let mut j = 0;
    while j + 64 <= w {
        let mut a = [_mm512_setzero_ps(); 4];
        for (i, &yi) in y.iter().enumerate() {
            let b = _mm512_set1_ps(yi);
            for (k, ak) in a.iter_mut().enumerate() {
                // SAFETY: i < n rows and j + 16k + 16 ≤ w ≤ cols, so the 16 floats lie in row i.
                let r = unsafe { _mm512_loadu_ps(mp.add(i * cols + j + 16 * k)) };
                *ak = _mm512_add_ps(*ak, _mm512_mul_ps(b, r));
            }
        }
        for (k, ak) in a.iter().enumerate() {
            // SAFETY: j + 16k + 16 ≤ w = out.len().
            unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(j + 16 * k), *ak) };
        }
        j += 64;
    }
    matvec_t_cols_avx512(m, cols, y, out, j);
}

/// [`matvec_t`] on AVX2: 32 columns at a time in four accumulators.
#[target_feature(enable = "avx2")]
fn matvec_t_avx2(m: &[f32], cols: usize, y: &[f32], out: &mut [f32]) {
    let w = out.len();
    let mp = m.as_ptr();
    let mut j = 0;
    while j + 32 <= w {
        let mut a = [_mm256_setzero_ps(); 4];
        for (i, &yi) in y.iter().enumerate() {
            let b = _mm256_set1_ps(yi);
            for (k, ak) in a.iter_mut().enumerate() {
                // SAFETY: i < n rows and j + 8k + 8 ≤ w ≤ cols, so the 8 floats lie in row i.
                let r = unsafe { _mm256_loadu_ps(mp.add(i * cols + j + 8 * k)) };
                *ak = _mm256_add_ps(*ak, _mm256_mul_ps(b, r));
            }
        }
        for (k, ak) in a.iter().enumerate() {
            // SAFETY: j + 8k + 8 ≤ w = out.len().
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(j + 8 * k), *ak) };
        }
        j += 32;
    }
    while j + 8 <= w {
        let mut a = _mm256_setzero_ps();
        for (i, &yi) in y.iter().enumerate() {
            // SAFETY: as above, for 8 columns.
            let r = unsafe { _mm256_loadu_ps(mp.add(i * cols + j)) };
            a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_set1_ps(yi), r));
        }
        // SAFETY: j + 8 ≤ w.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(j), a) };
        j += 8;
    }
    matvec_t_tail(m, cols, y, out, j);
}

/// Columns `from..` of [`matvec_t`] one at a time (the same additions).
#[inline(always)]
fn matvec_t_tail(m: &[f32], cols: usize, y: &[f32], out: &mut [f32], from: usize) {
    for (j, o) in out.iter_mut().enumerate().skip(from) {
        let mut a = 0.0f32;
        for (i, &yi) in y.iter().enumerate() {
            a += yi * m[i * cols + j];
        }
        *o = a;
    }
}

/// [`matvec_t`] of `nv` vectors `ys[v·rows ..][..rows]` into `out[v·cols ..][..cols]`
/// (`false`, nothing written, without AVX2): tiles of 4 vectors × 64 columns on AVX-512 (16
/// `zmm` accumulators; AVX2: 4 × 16 in 8 `ymm`) share each load of the matrix, and every column chunk meets all vectors before
/// the next chunk is read (at d = 768 one chunk is 192 KiB, kept in L2), so the matrix comes from
/// memory once per call instead of once per vector. Each output has exactly [`matvec_t`]'s
/// additions; the last `< 4` vectors and columns past the chunks go through its one-vector
/// kernel.
pub fn matmul_t(m: &[f32], cols: usize, rows: usize, ys: &[f32], out: &mut [f32]) -> bool {
    if !has(feature::AVX2) || cols == 0 || rows == 0 {
        return false;
    }
    let wide = has(feature::AVX512);
    let nv = (ys.len() / rows).min(out.len() / cols);
    let n = rows.min(m.len() / cols);
    let (m, ys, out) = (&m[..n * cols], &ys[..nv * rows], &mut out[..nv * cols]);
    let width = if wide { 64 } else { 16 };
    let chunks = cols / width;
    let quads = nv / 4;
    // SAFETY: AVX-512F (`wide`) or AVX2 was detected; the tiles read rows `i < n` of `m` at
    // columns `width·c .. width·c + width ≤ cols`, `ys[v·rows + i]` with `i < n ≤ rows`, and
    // write `out[v·cols + width·c ..][..width]`, all inside the slices.
    unsafe {
        if wide {
            matmul_t_tiles(m, cols, rows, ys, out, chunks, quads);
        } else {
            matmul_t_tiles_avx2(m, cols, rows, ys, out, chunks, quads);
        }
    }
    for v in 0..nv {
        let (y, o) = (&ys[v * rows..v * rows + n], &mut out[v * cols..(v + 1) * cols]);
        if v >= 4 * quads {
            matvec_t(m, cols, y, o);
        } else if chunks * width < cols {
            matvec_t_cols(m, cols, y, o, width * chunks);
        }
    }
    true
}

/// The 4-vector × 16-column tiles of [`matmul_t`] on AVX2 (8 `ymm` accumulators, 2 row loads
/// and a broadcast per row and vector: within the 16 registers).
#[target_feature(enable = "avx2")]
fn matmul_t_tiles_avx2(m: &[f32], cols: usize, rows: usize, ys: &[f32], out: &mut [f32], chunks: usize, quads: usize) {
    let n = m.len() / cols;
    let (mp, yp, op) = (m.as_ptr(), ys.as_ptr(), out.as_mut_ptr());
    for c in 0..chunks {
        let j = 16 * c;
        for t in 0..quads {
            let v0 = 4 * t;
            let mut a = [[_mm256_setzero_ps(); 2]; 4];
            for i in 0..n {
                // SAFETY: row i < n, columns j .. j + 16 ≤ cols.
                let r: [__m256; 2] = core::array::from_fn(|k| unsafe { _mm256_loadu_ps(mp.add(i * cols + j + 8 * k)) });
                for (v, av) in a.iter_mut().enumerate() {
                    // SAFETY: vector v0 + v < nv, element i < rows.
                    let b = _mm256_set1_ps(unsafe { *yp.add((v0 + v) * rows + i) });
                    for (ak, rk) in av.iter_mut().zip(r) {
                        *ak = _mm256_add_ps(*ak, _mm256_mul_ps(b, rk));
                    }
                }
            }
            for (v, av) in a.iter().enumerate() {
                for (k, ak) in av.iter().enumerate() {
                    // SAFETY: vector v0 + v < nv, columns j + 8k + 8 ≤ cols.
                    unsafe { _mm256_storeu_ps(op.add((v0 + v) * cols + j + 8 * k), *ak) };
                }
            }
        }
    }
}

/// The 4-vector × 64-column tiles of [`matmul_t`].
#[target_feature(enable = "avx512f,avx2")]
fn matmul_t_tiles(m: &[f32], cols: usize, rows: usize, ys: &[f32], out: &mut [f32], chunks: usize, quads: usize) {
    let n = m.len() / cols;
    let (mp, yp, op) = (m.as_ptr(), ys.as_ptr(), out.as_mut_ptr());
    for c in 0..chunks {
        let j = 64 * c;
        for t in 0..quads {
            let v0 = 4 * t;
            let mut a = [[_mm512_setzero_ps(); 4]; 4];
            for i in 0..n {
                // SAFETY: row i < n, columns j .. j + 64 ≤ cols.
                let r: [__m512; 4] =
                    core::array::from_fn(|k| unsafe { _mm512_loadu_ps(mp.add(i * cols + j + 16 * k)) });
                for (v, av) in a.iter_mut().enumerate() {
                    // SAFETY: vector v0 + v < nv, element i < rows.
                    let b = _mm512_set1_ps(unsafe { *yp.add((v0 + v) * rows + i) });
                    for (ak, rk) in av.iter_mut().zip(r) {
                        *ak = _mm512_add_ps(*ak, _mm512_mul_ps(b, rk));
                    }
                }
            }
            for (v, av) in a.iter().enumerate() {
                for (k, ak) in av.iter().enumerate() {
                    // SAFETY: vector v0 + v < nv, columns j + 16k + 16 ≤ cols.
                    unsafe { _mm512_storeu_ps(op.add((v0 + v) * cols + j + 16 * k), *ak) };
                }
            }
        }
    }
}

/// Columns `from..` of one vector of [`matvec_t`] (AVX-512 when present, else scalar; the same
/// additions either way; on AVX2 at most 15 columns).
fn matvec_t_cols(m: &[f32], cols: usize, y: &[f32], out: &mut [f32], from: usize) {
    if has(feature::AVX512) {
        // SAFETY: AVX-512F was detected; 16-column chunks inside `out` and the rows of `m`.
        unsafe { matvec_t_cols_avx512(m, cols, y, out, from) };
    } else {
        matvec_t_tail(m, cols, y, out, from);
    }
}

/// Columns `from..` of [`matvec_t`] on AVX-512: 16 at a time, then the last `< 16` scalar.
#[target_feature(enable = "avx512f,avx2")]
fn matvec_t_cols_avx512(m: &[f32], cols: usize, y: &[f32], out: &mut [f32], from: usize) {
    let w = out.len();
    let mp = m.as_ptr();
    let mut j = from;
    while j + 16 <= w {
        let mut a = _mm512_setzero_ps();
        for (i, &yi) in y.iter().enumerate() {
            // SAFETY: row i of `m` (i < y.len() ≤ its rows), columns j .. j + 16 ≤ w ≤ cols.
            let r = unsafe { _mm512_loadu_ps(mp.add(i * cols + j)) };
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(yi), r));
        }
        // SAFETY: j + 16 ≤ w.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(j), a) };
        j += 16;
    }
    matvec_t_tail(m, cols, y, out, j);
}
