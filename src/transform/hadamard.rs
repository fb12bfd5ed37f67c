//! Randomized Hadamard transform: seeded sign flips followed by a normalized fast
//! Walsh–Hadamard transform (FWHT), `O(d log d)`, no allocation, nothing stored but the seed and (for blocks
//! up to 1024) the precomputed sign bits.
//!
//! # Dimensions that are not powers of two
//!
//! The transform is always **square and orthogonal** (`dim_out == dim_in`). With `n` the
//! largest power of two `≤ d`:
//!
//! * `d == n`: one pass `H_n · D₁` (`D₁` random ±1 diagonal, `H_n` normalized by `1/√n`).
//! * `d > n`: three passes over two overlapping power-of-two blocks `A = [0, n)` and
//!   `B = [d − n, d)` (they overlap because `2n > d`): `T = (H·D₃)|_A · (H·D₂)|_B · (H·D₁)|_A`.
//!   Each pass is orthogonal on its block and the identity elsewhere, so `T` is orthogonal.
//!   Three passes (not two) make every output coordinate depend on every input coordinate.
//!   Compared with zero-padding to `2n` coordinates, no extra coordinates have to be coded.
//!
//! # Determinism
//!
//! The sign of coordinate `j` in pass `p` is bit `j mod 64` of word `j / 64` of the `p`-th run of
//! `⌈n/64⌉` outputs of [`Rng::new(seed)`](crate::rng::Rng) (bit set = negate); the signs are
//! precomputed at construction for `n ≤ 1024` (48 words stored inline) and regenerated on every
//! call for larger blocks (`3⌈n/64⌉` generator steps at most). Only additions, subtractions
//! and one final multiplication by `1/√n` are used, so results are identical on every target
//! up to the compiler's choice of SIMD width (which does not change IEEE results here: every
//! lane runs the same sequence of operations).
//!
//! # Speed
//!
//! Each pass is one in-place kernel ([`pass`]): sign flips fused into the first butterfly
//! stage, the `1/√n` scale into the last, strides ≥ 8 as whole-vector butterflies two or three
//! stages per load/store round. On x86-64 with AVX2 (detected at run time) an intrinsic kernel
//! does the sign flips with a 256-entry lane-mask table, the strides 1, 2, 4 with in-register
//! permutes and `fma(v, ±1, partner)` (exact products, so the same IEEE additions), and the first
//! six stages in one round; [`Transform::forward`] reads the first pass straight from the input
//! (no copy). It is bit-identical to the portable `f32x8` kernel (tested). No allocation, no
//! scratch.

use crate::error::{Error, Result, check_dim};
use crate::rng::Rng;
use crate::transform::Transform;
use wide::f32x8;

/// Largest supported dimension for the randomized Hadamard transform (2³⁰).
pub const MAX_DIM: usize = 1 << 30;

/// Seeded randomized Hadamard rotation of dimension `d` (any `d ≥ 1`; see the module docs for
/// the strategy when `d` is not a power of two). Orthogonal: `transpose` is the exact inverse
/// up to float rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomizedHadamard {
    dim: usize,
    block: usize,
    seed: u64,
    /// Sign words of every pass (`pass · ⌈n/64⌉ + w`), precomputed when `n ≤ CACHED_BLOCK`.
    signs: [u64; 3 * CACHED_BLOCK / 64],
}

/// Largest block whose sign words are cached inside the struct (3 passes × 16 words).
const CACHED_BLOCK: usize = 1024;

impl RandomizedHadamard {
    /// A randomized Hadamard rotation of dimension `dim` with signs drawn from `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim == 0` or `dim > MAX_DIM`.
    pub fn new(dim: usize, seed: u64) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::InvalidParameter("randomized Hadamard: dim must be in 1..=2^30"));
        }
        let block = if dim.is_power_of_two() { dim } else { 1usize << (usize::BITS - 1 - dim.leading_zeros()) };
        let mut signs = [0u64; 3 * CACHED_BLOCK / 64];
        if block <= CACHED_BLOCK {
            let words = block.div_ceil(64);
            let passes = if block == dim { 1 } else { 3 };
            let mut rng = Rng::new(seed);
            for w in signs.iter_mut().take(passes * words) {
                *w = rng.next_u64();
            }
        }
        Ok(RandomizedHadamard { dim, block, seed, signs })
    }

    /// The seed of the sign flips.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The power-of-two block size `n` of the FWHT passes.
    pub fn block(&self) -> usize {
        self.block
    }

    /// Number of FWHT passes: 1 for powers of two, 3 otherwise.
    pub fn passes(&self) -> usize {
        if self.block == self.dim { 1 } else { 3 }
    }

    /// Applies the rotation in place (`x.len() == dim`). No allocation: every pass works
    /// inside `x` (sign flips fused into the first butterfly stage, the `1/√n` scale into the
    /// last).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] on a wrong length.
    pub fn forward_in_place(&self, x: &mut [f32]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        let n = self.block;
        let words = n.div_ceil(64);
        let mut rng = Rng::new(self.seed);
        for p in 0..self.passes() {
            let off = if p == 1 { self.dim - n } else { 0 };
            let blk = &mut x[off..off + n];
            if n <= CACHED_BLOCK {
                signed_pass(blk, Some(&self.signs[p * words..(p + 1) * words]));
            } else {
                flip_signs(blk, &mut rng, words);
                signed_pass(blk, None);
            }
        }
        Ok(())
    }

    /// Applies the transpose (= inverse) in place (`y.len() == dim`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] on a wrong length.
    pub fn transpose_in_place(&self, y: &mut [f32]) -> Result<()> {
        check_dim(self.dim, y.len())?;
        let n = self.block;
        let words = n.div_ceil(64);
        let passes = self.passes();
        for p in (0..passes).rev() {
            let off = if p == 1 { self.dim - n } else { 0 };
            let blk = &mut y[off..off + n];
            signed_pass(blk, None);
            if n <= CACHED_BLOCK {
                apply_signs(blk, &self.signs[p * words..(p + 1) * words]);
                continue;
            }
            // Regenerate the signs of pass p: skip the words of the earlier passes.
            let mut rng = Rng::new(self.seed);
            for _ in 0..p * words {
                rng.next_u64();
            }
            flip_signs(blk, &mut rng, words);
        }
        Ok(())
    }
}

/// Negates `x[j]` where bit `j mod 64` of `words[j / 64]` is set.
#[inline]
fn apply_signs(x: &mut [f32], words: &[u64]) {
    for (chunk, &bits) in x.chunks_mut(64).zip(words) {
        for (j, v) in chunk.iter_mut().enumerate() {
            let s = ((bits >> j) & 1) as u32;
            *v = f32::from_bits(v.to_bits() ^ (s << 31));
        }
    }
}

/// Negates `x[j]` where bit `j` of the next `words` outputs of `rng` is set.
#[inline]
fn flip_signs(x: &mut [f32], rng: &mut Rng, words: usize) {
    for w in 0..words {
        let bits = rng.next_u64();
        let lo = w * 64;
        let hi = (lo + 64).min(x.len());
        if let Some(chunk) = x.get_mut(lo..hi) {
            for (j, v) in chunk.iter_mut().enumerate() {
                let s = ((bits >> j) & 1) as u32;
                *v = f32::from_bits(v.to_bits() ^ (s << 31));
            }
        }
    }
}

/// In-place fast Walsh–Hadamard transform of a power-of-two-length slice, scaled by `1/√n`
/// (the orthonormal Hadamard matrix, which is symmetric and its own inverse).
///
/// Slices whose length is not a power of two are left unchanged.
pub fn fwht_normalized(x: &mut [f32]) {
    signed_pass(x, None);
}

/// `x ← (1/√n) · H_n · D x` on a power-of-two block (`D` from `signs`, see [`pass`]); other
/// lengths are left unchanged. Picks the AVX2 kernel where available (bit-identical results).
#[inline]
fn signed_pass(x: &mut [f32], signs: Option<&[u64]>) {
    let n = x.len();
    if n < 2 || !n.is_power_of_two() {
        // d = 1: the pass is the sign flip alone (H_1 = 1).
        if let (1, Some(w)) = (n, signs) {
            apply_signs(x, w);
        }
        return;
    }
    let s = 1.0 / libm::sqrtf(n as f32);
    if crate::simd::fwht_pass(x, None, signs, s) {
        return;
    }
    pass(x, signs, s);
}

/// The first pass of [`RandomizedHadamard::forward`] read straight from `x` into `out` (no
/// copy first), the rest of `x` copied, where the AVX2 kernel applies; `false` (nothing done)
/// otherwise.
#[inline]
fn first_pass_from(x: &[f32], out: &mut [f32], n: usize, signs: &[u64]) -> bool {
    let (Some(src), Some(dst)) = (x.get(..n), out.get_mut(..n)) else { return false };
    if n >= 8 && crate::simd::fwht_pass(dst, Some(src), Some(signs), 1.0 / libm::sqrtf(n as f32)) {
        out[n..].copy_from_slice(&x[n..]);
        return true;
    }
    false
}

#[inline(always)]
fn load(c: &[f32]) -> f32x8 {
    let mut a = [0.0f32; 8];
    a.copy_from_slice(&c[..8]);
    f32x8::from(a)
}

#[inline(always)]
fn store(c: &mut [f32], v: f32x8) {
    c[..8].copy_from_slice(&v.to_array());
}

/// The sign-flip mask of 8 lanes from the low byte of `byte` (bit `j` set → lane `j` negated).
#[inline(always)]
fn sign_mask(byte: u64) -> f32x8 {
    let mut m = [0.0f32; 8];
    for (j, v) in m.iter_mut().enumerate() {
        *v = f32::from_bits((((byte >> j) & 1) as u32) << 31);
    }
    f32x8::from(m)
}

/// Portable kernel of one pass: `x ← scale · H · D x` on a power-of-two block (`n ≥ 2`), `D`
/// negating `x[j]` when bit `j mod 64` of `signs[j / 64]` is set (`None`: no flips; missing
/// words count as zero), `H` the unnormalized Walsh–Hadamard matrix applied as butterflies
/// `(u, v) → (u + v, u − v)` of stride 1, 2, 4, … in that order. This exact sequence of IEEE
/// operations is the reference every other kernel (`simd::x86::fwht`) reproduces bit for bit.
///
/// Strides ≥ 8 are whole-`f32x8` butterflies, three (or two, or one) stages per load/store
/// round; strides 1, 2, 4 run on 8×8 tiles transposed so that they become whole-vector
/// butterflies too (blocks of at least 64), or on a scalar 8-point kernel for smaller blocks.
pub fn pass(x: &mut [f32], signs: Option<&[u64]>, scale: f32) {
    let n = x.len();
    if n < 2 || !n.is_power_of_two() {
        return;
    }
    if let Some(w) = signs
        && n < 64
    {
        for (chunk, &bits) in x.chunks_mut(64).zip(w.iter().chain(core::iter::repeat(&0))) {
            for (j, v) in chunk.iter_mut().enumerate() {
                let s = ((bits >> j) & 1) as u32;
                *v = f32::from_bits(v.to_bits() ^ (s << 31));
            }
        }
    }
    if n < 8 {
        let mut h = 1;
        while h < n {
            for blk in x.chunks_exact_mut(2 * h) {
                let (a, b) = blk.split_at_mut(h);
                for (u, v) in a.iter_mut().zip(b.iter_mut()) {
                    let (s, d) = (*u + *v, *u - *v);
                    *u = s;
                    *v = d;
                }
            }
            h *= 2;
        }
        for v in x.iter_mut() {
            *v *= scale;
        }
        return;
    }
    let big = n.trailing_zeros() - 3;
    let sc = f32x8::splat(scale);
    if n >= 64 {
        for (ti, tile) in x.chunks_exact_mut(64).enumerate() {
            let word = signs.map_or(0, |w| w.get(ti).copied().unwrap_or(0));
            let mut v = [f32x8::ZERO; 8];
            for (t, (vt, c)) in v.iter_mut().zip(tile.chunks_exact(8)).enumerate() {
                *vt = if word == 0 { load(c) } else { load(c) ^ sign_mask(word >> (8 * t)) };
            }
            let mut t = f32x8::transpose(v);
            for s in [1usize, 2, 4] {
                for i in 0..8 {
                    if i & s == 0 {
                        let (u, w) = (t[i], t[i + s]);
                        t[i] = u + w;
                        t[i + s] = u - w;
                    }
                }
            }
            let mut v = f32x8::transpose(t);
            if big == 0 {
                for vt in v.iter_mut() {
                    *vt *= sc;
                }
            }
            for (vt, c) in v.iter().zip(tile.chunks_exact_mut(8)) {
                store(c, *vt);
            }
        }
    } else {
        for c in x.chunks_exact_mut(8) {
            let mut a = [0.0f32; 8];
            a.copy_from_slice(c);
            for s in [1usize, 2, 4] {
                for i in 0..8 {
                    if i & s == 0 {
                        let (u, w) = (a[i], a[i + s]);
                        a[i] = u + w;
                        a[i + s] = u - w;
                    }
                }
            }
            if big == 0 {
                for v in a.iter_mut() {
                    *v *= scale;
                }
            }
            c.copy_from_slice(&a);
        }
    }
    let mut h = 8; // stride in floats
    let mut left = big;
    while left > 0 {
        let r = left.min(3);
        let last = r == left;
        let span = h << r;
        let k = 1usize << r;
        for blk in x.chunks_exact_mut(span) {
            for j in (0..h).step_by(8) {
                let mut v = [f32x8::ZERO; 8];
                for (t, vt) in v.iter_mut().enumerate().take(k) {
                    *vt = load(&blk[j + t * h..]);
                }
                let mut s = 1;
                while s < k {
                    for i in 0..k {
                        if i & s == 0 {
                            let (u, w) = (v[i], v[i + s]);
                            v[i] = u + w;
                            v[i + s] = u - w;
                        }
                    }
                    s *= 2;
                }
                for (t, vt) in v.iter().enumerate().take(k) {
                    store(&mut blk[j + t * h..], if last { *vt * sc } else { *vt });
                }
            }
        }
        h = span;
        left -= r;
    }
}

impl Transform for RandomizedHadamard {
    fn dim_in(&self) -> usize {
        self.dim
    }
    fn dim_out(&self) -> usize {
        self.dim
    }
    fn is_orthogonal(&self) -> bool {
        true
    }
    /// The first pass reads `x` directly where the AVX2 kernel applies (no copy first); same
    /// bits as [`forward_in_place`](RandomizedHadamard::forward_in_place) on a copy.
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_dim(self.dim, out.len())?;
        let n = self.block;
        let words = n.div_ceil(64);
        if n <= CACHED_BLOCK && first_pass_from(x, out, n, &self.signs[..words]) {
            for p in 1..self.passes() {
                let off = if p == 1 { self.dim - n } else { 0 };
                signed_pass(&mut out[off..off + n], Some(&self.signs[p * words..(p + 1) * words]));
            }
            return Ok(());
        }
        out.copy_from_slice(x);
        self.forward_in_place(out)
    }
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.dim, y.len())?;
        check_dim(self.dim, out.len())?;
        out.copy_from_slice(y);
        self.transpose_in_place(out)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// The plain scalar definition: sign flips, butterflies of stride 1, 2, 4, … one stage at a
    /// time, then the `1/√n` scale (the pre-SIMD implementation, kept as the reference).
    fn pass_ref(x: &mut [f32], signs: Option<&[u64]>) {
        let n = x.len();
        if n == 0 || !n.is_power_of_two() {
            return;
        }
        if let Some(w) = signs {
            for (j, v) in x.iter_mut().enumerate() {
                if (w[j / 64] >> (j % 64)) & 1 == 1 {
                    *v = -*v;
                }
            }
        }
        if n == 1 {
            return;
        }
        let mut h = 1;
        while h < n {
            for blk in x.chunks_exact_mut(2 * h) {
                let (a, b) = blk.split_at_mut(h);
                for (u, v) in a.iter_mut().zip(b.iter_mut()) {
                    let (s, d) = (*u + *v, *u - *v);
                    *u = s;
                    *v = d;
                }
            }
            h *= 2;
        }
        let s = 1.0 / libm::sqrtf(n as f32);
        for v in x.iter_mut() {
            *v *= s;
        }
    }

    fn forward_ref(t: &RandomizedHadamard, x: &mut [f32]) {
        let n = t.block();
        let words = n.div_ceil(64);
        let mut rng = Rng::new(t.seed());
        let mut all: Vec<u64> = (0..3 * words).map(|_| rng.next_u64()).collect();
        if t.passes() == 1 {
            all.truncate(words);
        }
        for p in 0..t.passes() {
            let off = if p == 1 { t.dim_in() - n } else { 0 };
            pass_ref(&mut x[off..off + n], Some(&all[p * words..(p + 1) * words]));
        }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn data(n: usize, seed: u64) -> Vec<f32> {
        let mut v = vec![0.0f32; n];
        Rng::new(seed).fill_gaussian(&mut v);
        // Some exact zeros, negative zeros and large values to exercise signed-zero handling.
        for (i, x) in v.iter_mut().enumerate() {
            match i % 37 {
                3 => *x = 0.0,
                5 => *x = -0.0,
                11 => *x *= 1e30,
                _ => {}
            }
        }
        v
    }

    #[test]
    fn kernels_bit_identical_to_scalar_reference() {
        let mut rng = Rng::new(99);
        for n in (0..=13).map(|k| 1usize << k).chain([0, 3, 7, 9, 31, 1023]) {
            for signed in [false, true] {
                let x = data(n, n as u64 + 1);
                let words: Vec<u64> = (0..n.div_ceil(64).max(1)).map(|_| rng.next_u64()).collect();
                let sg = if signed { Some(&words[..]) } else { None };
                let mut want = x.clone();
                pass_ref(&mut want, sg);
                let s = if n >= 1 { 1.0 / libm::sqrtf(n as f32) } else { 1.0 };
                let mut got = x.clone();
                if n >= 2 && n.is_power_of_two() {
                    pass(&mut got, sg, s);
                    assert_eq!(bits(&got), bits(&want), "portable n={n} signed={signed}");
                }
                let mut got = x.clone();
                signed_pass(&mut got, sg);
                assert_eq!(bits(&got), bits(&want), "dispatched n={n} signed={signed}");
                {
                    let mut got = x.clone();
                    if crate::simd::fwht_pass(&mut got, None, sg, s) {
                        assert_eq!(bits(&got), bits(&want), "avx2 n={n} signed={signed}");
                    }
                    // Out of place: the source is read, the destination overwritten.
                    let mut got = vec![f32::NAN; n];
                    if crate::simd::fwht_pass(&mut got, Some(&x), sg, s) {
                        assert_eq!(bits(&got), bits(&want), "avx2 from src n={n} signed={signed}");
                    }
                }
            }
        }
    }

    #[test]
    fn rotation_bit_identical_to_reference_on_awkward_dims() {
        let mut rng = Rng::new(5);
        let mut dims =
            vec![1usize, 2, 3, 7, 8, 9, 31, 63, 64, 65, 100, 384, 768, 1023, 1024, 1025, 1536, 2047, 2048, 3000];
        dims.extend((0..8).map(|_| 1 + (rng.next_u64() % 2500) as usize));
        for d in dims {
            let t = RandomizedHadamard::new(d, 1234 + d as u64).unwrap();
            let x = data(d, d as u64);
            let mut want = x.clone();
            forward_ref(&t, &mut want);
            let mut got = vec![0.0f32; d];
            t.forward(&x, &mut got).unwrap();
            assert_eq!(bits(&got), bits(&want), "d={d}");
            // Inverse round trip.
            let mut back = vec![0.0f32; d];
            t.transpose(&got, &mut back).unwrap();
            let scale = x.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
            for (a, b) in back.iter().zip(&x) {
                assert!((a - b).abs() <= 1e-5 * scale, "d={d}: {a} vs {b}");
            }
        }
    }
}
