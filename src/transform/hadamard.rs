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

    /// Applies the rotation in place (`x.len() == dim`).
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
                apply_signs(blk, &self.signs[p * words..(p + 1) * words]);
            } else {
                flip_signs(blk, &mut rng, words);
            }
            fwht_normalized(blk);
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
            fwht_normalized(blk);
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
    let n = x.len();
    if n < 2 || !n.is_power_of_two() {
        return;
    }
    fwht(x);
    let s = 1.0 / libm::sqrtf(n as f32);
    let sv = f32x8::splat(s);
    let mut chunks = x.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = load(c) * sv;
        store(c, v);
    }
    for v in chunks.into_remainder() {
        *v *= s;
    }
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

/// Unnormalized FWHT (power-of-two length ≥ 2).
fn fwht(x: &mut [f32]) {
    let n = x.len();
    // Butterflies of stride 1, 2, 4 inside each group of 8, scalar (cheap; the compiler
    // vectorizes them reasonably).
    let mut h = 1;
    if n >= 8 {
        // Strides 1, 2, 4 inside each group of 8 as one 8-point kernel on a local array.
        for c in x.chunks_exact_mut(8) {
            let mut a = [0.0f32; 8];
            a.copy_from_slice(c);
            let mut s = 1;
            while s < 8 {
                let mut b = [0.0f32; 8];
                for i in 0..8 {
                    b[i] = if i & s == 0 { a[i] + a[i + s] } else { a[i - s] - a[i] };
                }
                a = b;
                s *= 2;
            }
            c.copy_from_slice(&a);
        }
        h = 8;
    } else {
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
    }
    // Strides ≥ 8: f32x8 butterflies.
    while h < n {
        for blk in x.chunks_exact_mut(2 * h) {
            let (a, b) = blk.split_at_mut(h);
            for (ca, cb) in a.chunks_exact_mut(8).zip(b.chunks_exact_mut(8)) {
                let (u, v) = (load(ca), load(cb));
                store(ca, u + v);
                store(cb, u - v);
            }
        }
        h *= 2;
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
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_dim(self.dim, out.len())?;
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
