//! QJL: the 1-bit quantized Johnson–Lindenstrauss sketch (arXiv 2406.03482) and its unbiased
//! inner-product estimator.
//!
//! `S ∈ ℝ^{m×d}` has i.i.d. `N(0, 1)` entries generated from the seed
//! ([`GaussianProjection`]; stored under `alloc`, regenerated on the fly without it). A vector
//! `k` is stored as the `m` sign bits `z = sign(S k)` (bit set iff `(S k)_i > 0`, LSB-first,
//! `⌈m/8⌉` bytes) followed by `‖k‖` as little-endian `f32` (4 bytes). Bits per dimension:
//! `(8⌈m/8⌉ + 32)/d`.
//!
//! Estimator ([`Estimator::Unbiased`]): `⟨q,k⟩^ = √(π/2)/m · ‖k‖ · ⟨S q, z⟩`, with `S q`
//! computed once in [`Score::prepare`]. Its variance over `S` is
//! `[(π/2)‖q‖²‖k‖² − ⟨q,k⟩²]/m`. A zero vector has norm 0 and scores 0.
//!
//! Outlier channels (the reference design's split of the largest-magnitude channels): see
//! [`outlier::QjlOutlier`]. Parameters save through [`Persist`](crate::persist::Persist)
//! (`dim`, `m`, seed; the projection is re-derived). The same sketch through a random
//! rotation, unbiased with a lower variance at the same size: [`ortho::OrthoQjl`].

pub mod ortho;
pub mod outlier;

use crate::codec::{Codec, Decode, Estimator, Score, check_scratch};
use crate::error::{Error, Result, check_code, check_dim};
use crate::transform::{GaussianProjection, Transform};

/// Largest supported sketch length `m` (rows of `S`).
pub const MAX_SKETCH: usize = 1 << 16;

/// Largest `m · dim` (entries of the projection, stored under `alloc`) a saved [`Qjl`] may
/// declare: 2²² floats (16 MiB), so that a 16-byte parameter block cannot make the loader
/// materialize more. Larger sketches (up to the constructor's 2²⁴) can be built but not loaded.
pub const MAX_ENTRIES: usize = 1 << 22;

/// The QJL sign-sketch codec (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Qjl {
    dim: usize,
    m: usize,
    seed: u64,
    proj: GaussianProjection,
}

/// A QJL query prepared by [`Score::prepare`]: the subset-sum tables of `S q` per sign byte (so
/// a score reads one table entry per code byte) and `Σ_i (S q)_i`.
#[derive(Clone, Copy, Debug)]
pub struct QjlQuery<'s> {
    lut: &'s [f32],
    total: f32,
}

impl Qjl {
    /// A QJL codec for `dim`-vectors with an `m`-bit sketch from `seed`. Under `alloc` the
    /// projection is stored (`m·dim` floats).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim == 0`, `m == 0`, `m > MAX_SKETCH` or `m·dim >
    /// 2²⁴` ([`crate::transform::gaussian::MAX_ENTRIES`]: at most 64 MiB stored).
    pub fn new(dim: usize, m: usize, seed: u64) -> Result<Self> {
        if m > MAX_SKETCH {
            return Err(Error::InvalidParameter("QJL: sketch length above 65536"));
        }
        let proj = GaussianProjection::new(m, dim, seed)?;
        #[cfg(feature = "alloc")]
        let proj = proj.materialize();
        Ok(Qjl { dim, m, seed, proj })
    }

    /// Sketch length `m`.
    pub fn sketch_len(&self) -> usize {
        self.m
    }

    /// The projection seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn sign_bytes(&self) -> usize {
        self.m.div_ceil(8)
    }

    fn norm_of(&self, code: &[u8]) -> Result<f32> {
        let nb = self.sign_bytes();
        let b = code.get(nb..nb + 4).ok_or(Error::CodeLength { expected: nb + 4, got: code.len() })?;
        let n = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        crate::error::stored_norm(n, "QJL: norm is negative, not finite or above MAX_NORM")
    }

    /// `Σ_i z_i (S q)_i` with `z_i = ±1` from the sign bits: `2·Σ_{z_i = +1} (S q)_i − Σ_i (S q)_i`.
    fn signed_sum(&self, bits: &[u8], q: &QjlQuery<'_>) -> f32 {
        2.0 * crate::binary::BinaryCodec::lut_sum(q.lut, bits) - q.total
    }
}

/// Saved as `u32` dimension, `u32` sketch length `m`, `u64` seed; restore checks
/// `1 ≤ dim ≤ 2¹⁶`, `1 ≤ m ≤ MAX_SKETCH` and `m·dim ≤ MAX_ENTRIES` before re-deriving `S`.
impl crate::persist::Persist for Qjl {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32).u32(self.m as u32).u64(self.seed);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, crate::persist::MAX_DIM, "QJL: dimension too large")?;
        let m = r.count(MAX_SKETCH, "QJL: sketch length above 65536")?;
        let seed = r.u64()?;
        if dim == 0 || m == 0 || m * dim > MAX_ENTRIES {
            return Err(Error::Corrupt("QJL: dimension or sketch length out of range"));
        }
        Qjl::new(dim, m, seed).map_err(|_| Error::Corrupt("QJL: invalid parameters"))
    }
}

impl Codec for Qjl {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        self.sign_bytes() + 4
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] if `x` has NaN/inf or its norm overflows.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len(), code.len())?;
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let norm =
            crate::error::encode_norm(libm::sqrt(x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>()) as f32)?;
        let nb = self.sign_bytes();
        code.fill(0);
        #[cfg(feature = "alloc")]
        if let Some(s) = self.proj.matrix() {
            proj_signs(s, self.dim, x, code, self.code_len());
            code[nb..nb + 4].copy_from_slice(&norm.to_le_bytes());
            return Ok(());
        }
        crate::buf::with_buf(self.m, |sk| {
            self.proj.forward(x, sk)?;
            for (i, &v) in sk.iter().enumerate() {
                if v > 0.0 {
                    code[i / 8] |= 1 << (i % 8);
                }
            }
            Ok(())
        })?;
        code[nb..nb + 4].copy_from_slice(&norm.to_le_bytes());
        Ok(())
    }

    /// With a stored projection, blocks of up to 64 vectors share each row of `S` while it is
    /// in cache (the same dot products as [`encode_into`](Codec::encode_into), see
    /// [`proj_signs`], so identical codes). A block with a bad row is encoded row by row, so errors are as `encode_into`'s.
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.dim, self.code_len());
        let n = crate::codec::batch_rows(xs.len(), d)?;
        check_code(n * c, codes.len())?;
        #[cfg(feature = "alloc")]
        if let Some(s) = self.proj.matrix() {
            let nb = self.sign_bytes();
            for (xb, cb) in xs.chunks(64 * d).zip(codes.chunks_mut(64 * c)) {
                let mut ok = true;
                // The sequential f64 sums of squares of 4 rows at a time (4 independent
                // dependency chains; each row's sum is added in order, as `encode_into`).
                for (x4, c4) in xb.chunks(4 * d).zip(cb.chunks_mut(4 * c)) {
                    let mut ss = [0.0f64; 4];
                    let rows: [&[f32]; 4] = core::array::from_fn(|r| x4.get(r * d..(r + 1) * d).unwrap_or(&[]));
                    if rows.iter().all(|r| r.len() == d) {
                        for t in 0..d {
                            for (s, r) in ss.iter_mut().zip(&rows) {
                                *s += f64::from(r[t]) * f64::from(r[t]);
                            }
                        }
                    } else {
                        for (s, r) in ss.iter_mut().zip(&rows) {
                            *s = r.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>();
                        }
                    }
                    for (code, &s) in c4.chunks_exact_mut(c).zip(&ss) {
                        let norm = libm::sqrt(s) as f32;
                        ok &= crate::error::encode_norm(norm).is_ok();
                        code.fill(0);
                        code[nb..nb + 4].copy_from_slice(&norm.to_le_bytes());
                    }
                }
                if !ok {
                    for (x, code) in xb.chunks_exact(d).zip(cb.chunks_exact_mut(c)) {
                        self.encode_into(x, code)?;
                    }
                    continue;
                }
                proj_signs(s, d, xb, cb, c);
            }
            return Ok(());
        }
        for (x, code) in xs.chunks_exact(d).zip(codes.chunks_exact_mut(c)) {
            self.encode_into(x, code)?;
        }
        Ok(())
    }
}

impl Decode for Qjl {
    /// Unbiased reconstruction `√(π/2)/m · ‖k‖ · Sᵀ z` (`E[x̃] = k`; far from `k` per vector).
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim, out.len())?;
        let norm = self.norm_of(code)?;
        let scale = libm::sqrtf(core::f32::consts::FRAC_PI_2) / self.m as f32 * norm;
        crate::buf::with_buf(self.m, |z| {
            for (i, zi) in z.iter_mut().enumerate() {
                *zi = if (code[i / 8] >> (i % 8)) & 1 == 1 { scale } else { -scale };
            }
            self.proj.transpose(z, out)
        })
    }
}

impl Score for Qjl {
    type Query<'s> = QjlQuery<'s>;

    /// `m` words (`S q`) plus the subset-sum tables: `256·⌈m/8⌉` words up to `m = 16,384`,
    /// else `32·⌈m/8⌉`.
    fn query_scratch_len(&self) -> usize {
        self.m + crate::binary::lut_len(self.sign_bytes())
    }
    fn estimator(&self) -> Estimator {
        Estimator::Unbiased
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim, q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        if q.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let (sq, rest) = scratch.split_at_mut(self.m);
        self.proj.forward(q, sq)?;
        let lut = &mut rest[..crate::binary::lut_len(self.sign_bytes())];
        crate::binary::build_lut(sq, self.sign_bytes(), lut);
        let total = sq.iter().map(|&v| f64::from(v)).sum::<f64>() as f32;
        if !total.is_finite() {
            return Err(Error::NonFinite);
        }
        Ok(QjlQuery { lut, total })
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let norm = self.norm_of(code)?;
        let s = self.signed_sum(&code[..self.sign_bytes()], q);
        Ok(libm::sqrtf(core::f32::consts::FRAC_PI_2) / self.m as f32 * norm * s)
    }
}

/// Sets bit `i` of `codes[j·c..]` (LSB-first) when `⟨s_i, x_j⟩ > 0`, for the rows `s_i` of the
/// row-major `m × d` matrix `s` and the vectors `x_j` of `xs` (`k × d`); bits are OR-ed in, so
/// the caller zeroes the sign bytes. Every dot product is 8 lanes of `acc + s·x` over the groups
/// of 8, lanes combined `((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7))`, then the `d mod 8` tail in
/// order. Every backend (the portable `f32x8` kernel, the AVX2 kernel in register tiles of
/// 6 rows × 2 vectors) rounds the product and the sum separately (no FMA) in this order, so
/// codes are bit-identical on every machine (tested), and `encode_into` and `encode_batch`
/// agree. Lengths that do not fit (a partial row, short `codes`) set nothing for the missing
/// parts.
pub fn proj_signs(s: &[f32], d: usize, xs: &[f32], codes: &mut [u8], c: usize) {
    if crate::simd::proj_signs(s, d, xs, codes, c) {
        return;
    }
    if d == 0 {
        return;
    }
    for (i, row) in s.chunks_exact(d).enumerate() {
        for (x, code) in xs.chunks_exact(d).zip(codes.chunks_mut(c.max(1))) {
            if dot8(row, x) > 0.0
                && let Some(b) = code.get_mut(i / 8)
            {
                *b |= 1 << (i % 8);
            }
        }
    }
}

/// The portable dot product of [`proj_signs`].
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    use wide::f32x8;
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = f32x8::ZERO;
    for (x, y) in ca.zip(cb) {
        let (mut u, mut v) = ([0.0f32; 8], [0.0f32; 8]);
        u.copy_from_slice(x);
        v.copy_from_slice(y);
        acc += f32x8::from(u) * f32x8::from(v);
    }
    let l = acc.to_array();
    let mut s = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
    for (&x, &y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::rng::Rng;
    use std::vec;

    #[test]
    fn proj_signs_kernels_agree_on_awkward_shapes() {
        let mut rng = Rng::new(4);
        for d in [1usize, 7, 8, 9, 31, 64, 100, 1023] {
            for m in [1usize, 3, 4, 5, 8, 9, 17] {
                for k in [0usize, 1, 2, 3, 5] {
                    let mut s = vec![0.0f32; m * d];
                    let mut xs = vec![0.0f32; k * d];
                    rng.fill_gaussian(&mut s);
                    rng.fill_gaussian(&mut xs);
                    let c = m.div_ceil(8) + 4;
                    let mut want = vec![0u8; k * c];
                    for (i, row) in s.chunks_exact(d).enumerate() {
                        for (j, x) in xs.chunks_exact(d).enumerate() {
                            if dot8(row, x) > 0.0 {
                                want[j * c + i / 8] |= 1 << (i % 8);
                            }
                            // The portable dot agrees with a plain f64 dot up to rounding.
                            let exact: f64 = row.iter().zip(x).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
                            assert!((f64::from(dot8(row, x)) - exact).abs() < 1e-4 * (d as f64).sqrt() * 10.0);
                        }
                    }
                    let mut got = vec![0u8; k * c];
                    proj_signs(&s, d, &xs, &mut got, c);
                    // The dispatched kernel (AVX2 where available) is bit-identical to the
                    // portable one.
                    assert_eq!(got, want, "d {d} m {m} k {k}");
                    // Batch of k and one vector at a time agree exactly.
                    let mut one = vec![0u8; c];
                    for (j, x) in xs.chunks_exact(d).enumerate() {
                        one.fill(0);
                        proj_signs(&s, d, x, &mut one, c);
                        assert_eq!(one[..], got[j * c..(j + 1) * c], "d {d} m {m} vec {j}");
                    }
                }
            }
        }
    }

    /// The AVX2 kernel and the portable one give bit-identical signs, also on near-ties: rows
    /// built so that `⟨s_i, x⟩` is within a few ulps of 0, where an FMA would change the sign.
    #[test]
    fn proj_signs_avx2_bit_identical_to_portable_on_near_ties() {
        let mut rng = Rng::new(99);
        for d in [1usize, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 100, 257, 1023] {
            let (m, k) = (23usize, 3usize);
            let mut s = vec![0.0f32; m * d];
            let mut xs = vec![0.0f32; k * d];
            rng.fill_gaussian(&mut s);
            rng.fill_gaussian(&mut xs);
            // Make row i nearly orthogonal to vector i % k: subtract its projection (in f32),
            // leaving a dot product of rounding size whose sign depends on the rounding.
            for i in 0..m {
                let x = &xs[(i % k) * d..(i % k + 1) * d];
                let nx: f32 = x.iter().map(|v| v * v).sum();
                let row = &mut s[i * d..(i + 1) * d];
                let p: f32 = row.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() / nx;
                for (r, &v) in row.iter_mut().zip(x) {
                    *r -= p * v;
                }
            }
            let c = m.div_ceil(8) + 4;
            let mut want = vec![0u8; k * c];
            for (i, row) in s.chunks_exact(d).enumerate() {
                for (j, x) in xs.chunks_exact(d).enumerate() {
                    if dot8(row, x) > 0.0 {
                        want[j * c + i / 8] |= 1 << (i % 8);
                    }
                }
            }
            let mut got = vec![0u8; k * c];
            proj_signs(&s, d, &xs, &mut got, c);
            assert_eq!(got, want, "dispatched d {d}");
            {
                let mut avx = vec![0u8; k * c];
                if crate::simd::proj_signs(&s, d, &xs, &mut avx, c) {
                    assert_eq!(avx, want, "avx2 d {d}");
                }
            }
        }
    }
}
