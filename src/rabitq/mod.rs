//! RaBitQ (1-bit) and extended RaBitQ (`B`-bit, `B = 2..=8`) over any orthogonal rotation.
//!
//! # The code
//!
//! Let `T` be an orthogonal transform from `d` to `D ≥ d` dimensions (`TᵀT = I`), `c` a centroid
//! and `o` a data vector. Encoding works on the rotated residual `o' = T(o − c) / r` with
//! `r = ‖o − c‖` (so `‖o'‖ = 1`). [`RaBitQ`] itself codes `o − c` as given (centroid 0); the
//! centroid is the composition [`CenteredRaBitQ`] = [`Centered`](crate::compose::Centered)`<RaBitQ>`,
//! which subtracts `c` before encoding, adds `⟨c, q⟩` to every score and `c` to every decode —
//! the factory's `rabitq…` names are centred on the training mean.
//!
//! * **sign plane**: bit `i` is `1` iff `o'_i > 0`;
//! * **ex-code** (`B ≥ 2`): magnitude codes `u_i = min(⌊t·|o'_i|⌋, 2^{B−1} − 1)` with the scale
//!   `t` that maximizes the cosine between `ū = u + ½` and `|o'|` ([`rescale`]). Together with the
//!   sign this is the symmetric `2^B`-level grid `x̄_i = ±(u_i + ½)`, stored as the unsigned
//!   `x_u = x̄ + (2^B − 1)/2 ∈ 0..2^B`, whose top bit is the sign bit. Negative coordinates store
//!   the bitwise complement of `u` in the low `B − 1` bits.
//! * **factors**: `r` and `x0 = ⟨ō, o'⟩` with `ō = x̄/‖x̄‖` (for `B = 1`, `x0 = Σ|o'_i|/√D ≈ 0.8`);
//!   if `x0` is not a positive finite number it is set to `0.8` (the reference fallback). For
//!   `B ≥ 2` the second factor stored is the product `x0·‖x̄‖`, the one number scoring needs
//!   (`‖x̄‖` is a function of the code, recomputed where `x0` alone is wanted).
//!
//! Layout of one code (`P = ⌈D/8⌉` bytes per bit plane): `B − 1` ex planes (plane `p` holds bit
//! `p` of every `x_u`), then the sign plane, then the factors as little-endian `f32`:
//! `[r, x0]` for `B = 1`, `[r, x0·‖x̄‖]` for `B ≥ 2`. So `code_len = B·P + 8` and
//! [`Codec::bits_per_dim`] counts the factors. The bit planes let the quantized
//! query use bit-sliced `popcount(plane & query_plane)` ([`crate::simd::and_popcount`]).
//!
//! # The estimator, and what exactly is unbiased
//!
//! The score of a query `q` is
//!
//! ```text
//! ⟨o, q⟩^ = ⟨c, q⟩ + r · ⟨ō, q'⟩ / ⟨ō, o'⟩,   q' = T q,
//! ```
//!
//! where `⟨c, q⟩` is exact. Write `T q = ⟨o', q'⟩·o' + √(‖q‖² − ⟨o', q'⟩²)·e` with `e ⊥ o'` a
//! unit vector. Then `⟨ō, q'⟩/x0 = ⟨o', q'⟩ + √(…)·⟨ō, e⟩/x0`. When `T` is a **Haar-random
//! orthogonal rotation** (and `D = d`), `ō` depends on `T` only through `o'`, and conditionally on
//! `o'` the direction `e` is uniform on the unit sphere of `o'^⊥`, so `E[⟨ō, e⟩ | o'] = 0`:
//! **the estimate is unbiased for `⟨o, q⟩` over the rotation's randomness, for every fixed `o`
//! and `q`** ([`Estimator::Unbiased`]). The same holds without any random rotation when the data
//! itself is rotation-invariant (e.g. isotropic Gaussian), the randomness then being the data's.
//! With a randomized Hadamard rotation the argument holds only approximately (its sign-flip
//! randomness is not Haar); the test `unbiased_over_hadamard_seeds` finds no bias at the
//! resolution of 400 seeds.
//!
//! Conditionally on `o'`, `⟨ō, e⟩ = √(1 − x0²)·z` where `z` is one coordinate of a uniform unit
//! vector in `D − 1` dimensions (`z ≈ N(0, 1/(D − 1))`), so the error is
//!
//! ```text
//! est − ⟨o, q⟩ = r·√(‖q‖² − ⟨o−c, q⟩²/r²)·√(1 − x0²)/x0 · z,
//! ```
//!
//! and the RaBitQ bound [`error_bound`](RaBitQ::error_bound) `r·‖q‖·√(1−x0²)/x0 · ε0/√(D−1)`
//! holds whenever `|z|·√(D−1) ≤ ε0` (about 94% for `ε0 = 1.9`, 99.99% for `ε0 = 4`).
//!
//! **Quantized query** ([`QueryMode::Quantized4`]): `q'` is quantized to 4 bits per coordinate
//! on `[min q', max q']` with randomized rounding `q̄_i = ⌊(q'_i − v_l)/Δ + u_i⌋`, `u_i ~ U[0, 1)`,
//! `Δ = (max − min)/15`, so `E[v_l + Δ·q̄_i] = q'_i`; the inner product with the code is then
//! `Σ_{p,j} 2^{p+j}·popcount(plane_p & q̄_j)`. The estimator stays unbiased, now over the rotation
//! *and* the rounding randomness (the rounding adds variance `≤ Δ²/4 · Σ x̄_i²·r²/(x0‖x̄‖)²`).
//!
//! [`Decode`] returns the least-squares point along the code direction, `c + Tᵀ(r·x0·ō)`, which
//! has the smallest squared error among the multiples of `ō`; its inner products are the scores
//! times `x0²` (biased towards 0), which is why scores do not use it.
//!
//! # Without `alloc`
//!
//! Encode and decode need `D` floats of scratch: [`encode_with_scratch`](RaBitQ::encode_with_scratch)
//! and [`decode_with_scratch`](RaBitQ::decode_with_scratch) take it from the caller; the trait
//! methods use a stack buffer of [`STACK_DIM`] floats, or (with `alloc`) a heap buffer for larger
//! `D`. Without `alloc` and with `D > STACK_DIM` the trait methods return
//! [`Error::InvalidParameter`]. [`RaBitQ::from_bytes`] and
//! [`Persist::restore`](crate::persist::Persist::restore) allocate nothing; a centroid
//! ([`CenteredRaBitQ`], a `Vec`) needs `alloc`, or `Centered` over a borrowed slice.

pub mod rescale;

use crate::codec::{Codec, Decode, Estimator, ScanMode, ScanModes, Score, check_scratch};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::rng::Rng;
use crate::transform::Transform;

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

/// Largest rotated dimension the trait methods handle with on-stack scratch (the crate-wide
/// [`compose::STACK_DIM`](crate::compose::STACK_DIM): 1,024 floats up to `D = 1024`, 4,096 above).
pub const STACK_DIM: usize = crate::compose::STACK_DIM;
/// Largest dimension accepted (input or rotated).
pub const MAX_DIM: usize = 1 << 20;
/// The constant of the RaBitQ error bound with which it holds "with high probability".
pub const EPS0: f32 = 1.9;
/// Bits per coordinate of the quantized query.
pub const QUERY_BITS: u32 = 4;
/// The fallback for `x0` when it is not a positive finite number.
pub const X0_FALLBACK: f32 = 0.8;
/// Largest stored norm factor `r = ‖x‖` (`2^104` ≈ 2.0e31): with `x0 ≤ 2^B` and `D ≤ 2^16`
/// every reconstruction, and every intermediate sum of a rotation back, stays below `2^128`.
/// Larger factors are [`Error::Corrupt`]; inputs that need one are [`Error::NonFinite`].
pub const MAX_NORM_FACTOR: f32 = f32::from_bits((104 + 127) << 23);
/// Container kind tag of [`RaBitQ`] parameters (`0x0580`, in the TurboQuant/RaBitQ range).
pub const KIND: u16 = crate::format::kind::TURBO + 0x80;

/// How [`Score::prepare`] prepares a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueryMode {
    /// The rotated query stays `f32`; scoring adds its elements under the bits of each bit
    /// plane ([`crate::simd::dot_bitplanes`]).
    Float,
    /// The rotated query is quantized to 4 bits with randomized rounding (seeded from the
    /// codec's query seed and the query's bytes) and scored with bit-sliced popcounts.
    /// Meant for 1-bit codes (the reference setting): with `B ≥ 3` the query's rounding noise
    /// dominates the code's error (wordnet recall@10: 0.927 for 4-bit codes vs 0.959 with
    /// float queries; 1-bit: 0.729 vs 0.739).
    Quantized4,
}

/// A RaBitQ codec: `B ∈ 1..=8` bits per rotated coordinate plus 8 bytes of factors per vector. See the [module docs](self) for the code, the estimator and its bias.
#[derive(Clone, Debug)]
pub struct RaBitQ<T> {
    dim: usize,
    rdim: usize,
    bits: u8,
    plane: usize,
    transform: T,
    mode: QueryMode,
    query_seed: u64,
}

/// A prepared query for [`RaBitQ`] (borrows the caller's scratch).
#[derive(Clone, Copy, Debug)]
pub struct RaBitQQuery<'s> {
    rot: &'s [f32],
    planes: Option<&'s [u8]>,
    sum: f32,
    vl: f32,
    delta: f32,
    qbar_sum: f32,
}

impl RaBitQQuery<'_> {
    /// The rotated query `q' = T q`.
    pub fn rotated(&self) -> &[f32] {
        self.rot
    }
    /// Whether this query was quantized to 4 bits.
    pub fn is_quantized(&self) -> bool {
        self.planes.is_some()
    }
}

impl<T: Transform> RaBitQ<T> {
    /// A codec with `bits ∈ 1..=8` bits per rotated coordinate over the orthogonal `transform`
    /// (input dimension `transform.dim_in()`, rotated dimension `D = transform.dim_out()`),
    /// centroid 0 (centre with [`Centered`](crate::compose::Centered)), float queries.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `bits` is outside `1..=8`, the transform is not orthogonal,
    /// `dim_in() == 0`, `dim_out() < max(dim_in(), 2)` or either exceeds [`MAX_DIM`].
    pub fn new(transform: T, bits: u8) -> Result<Self> {
        if !(1..=8).contains(&bits) {
            return Err(Error::InvalidParameter("RaBitQ bits must be 1..=8"));
        }
        let (dim, rdim) = (transform.dim_in(), transform.dim_out());
        if !transform.is_orthogonal() {
            return Err(Error::InvalidParameter("RaBitQ needs an orthogonal transform"));
        }
        if dim == 0 || rdim < dim || !(2..=MAX_DIM).contains(&rdim) {
            return Err(Error::InvalidParameter("RaBitQ dimensions"));
        }
        Ok(RaBitQ { dim, rdim, bits, plane: rdim.div_ceil(8), transform, mode: QueryMode::Float, query_seed: 0 })
    }

    /// The same codec preparing queries in `mode`; `seed` seeds the randomized rounding of
    /// [`QueryMode::Quantized4`] (mixed with a hash of each query's bytes).
    pub fn with_query_mode(mut self, mode: QueryMode, seed: u64) -> Self {
        self.mode = mode;
        self.query_seed = seed;
        self
    }

    /// Bits per rotated coordinate `B`.
    pub fn bits(&self) -> u8 {
        self.bits
    }
    /// The rotated dimension `D`.
    pub fn rotated_dim(&self) -> usize {
        self.rdim
    }
    /// The rotation.
    pub fn transform(&self) -> &T {
        &self.transform
    }
    /// The query mode used by [`Score::prepare`].
    pub fn query_mode(&self) -> QueryMode {
        self.mode
    }
    fn factors_len(&self) -> usize {
        8
    }
    /// `‖x̄‖` of every 1-bit code: `√D/2`.
    fn xn1(&self) -> f32 {
        0.5 * libm::sqrtf(self.rdim as f32)
    }
    /// `‖x̄‖ = √Σ(x_u,i − C)²` of a code (its bit planes), `C = (2^B − 1)/2`.
    fn code_norm(&self, code: &[u8]) -> f32 {
        let p = self.plane;
        let off = 0.5 * (((1u32 << self.bits) - 1) as f32);
        let mut nn = 0.0f32;
        for i in 0..self.rdim {
            let mut xu = 0u32;
            for b in 0..self.bits as usize {
                xu |= u32::from((code[b * p + i / 8] >> (i % 8)) & 1) << b;
            }
            let v = xu as f32 - off;
            nn += v * v;
        }
        libm::sqrtf(nn)
    }
    /// The raw factors `(r, second)` after validation, the same for decode and score:
    /// `0 ≤ r ≤ MAX_NORM_FACTOR`, and `x0` (the second factor for `B = 1`, else the second factor over
    /// `‖x̄‖ ∈ [√D/2, √D·(2^B − 1)/2]`) in `[1/(2√D), 1 + 10⁻³]` as far as the code's bounds on
    /// `‖x̄‖` tell (the encoder's `x0 ≥ 1/√D`). Decoded values and `r/second` then stay finite.
    fn raw_factors(&self, code: &[u8]) -> Result<(f32, f32)> {
        check_code(self.code_len(), code.len())?;
        let base = self.bits as usize * self.plane;
        let f = |i: usize| {
            let b = &code[base + 4 * i..base + 4 * i + 4];
            f32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let (r, w) = (f(0), f(1));
        if !(0.0..=MAX_NORM_FACTOR).contains(&r) {
            return Err(Error::Corrupt("RaBitQ norm factor"));
        }
        let sd = libm::sqrtf(self.rdim as f32);
        let (lo, hi) = if self.bits == 1 {
            (0.5 / sd, 1.0 + 1e-3)
        } else {
            (0.25, (1.0 + 1e-3) * sd * 0.5 * (((1u32 << self.bits) - 1) as f32))
        };
        if !(lo..=hi).contains(&w) {
            return Err(Error::Corrupt("RaBitQ x0 factor"));
        }
        Ok((r, w))
    }

    /// Encodes `x` into `code` using `scratch` (at least `D` floats) instead of a stack buffer.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `x.len() != dim()`; [`Error::CodeLength`];
    /// [`Error::BufferTooSmall`] for short scratch; [`Error::NonFinite`] if `x` has a NaN or
    /// infinity or `‖x‖` overflows.
    pub fn encode_with_scratch(&self, x: &[f32], code: &mut [u8], scratch: &mut [f32]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len(), code.len())?;
        check_scratch(self.rdim, scratch.len())?;
        check_finite(x)?;
        let o = &mut scratch[..self.rdim];
        self.transform.forward(x, o)?;
        let r64 = libm::sqrt(o.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>());
        let r = r64 as f32;
        if r64 > f64::from(MAX_NORM_FACTOR) {
            // The decoder refuses larger norms (the reconstruction could overflow).
            return Err(Error::NonFinite);
        }
        if r64 > 0.0 {
            // Normalize in f64: the f32 norm of a subnormal vector is too coarse to divide by.
            for v in o.iter_mut() {
                *v = (f64::from(*v) / r64) as f32;
            }
        }
        code.fill(0);
        let p = self.plane;
        let ex = u32::from(self.bits - 1);
        let (planes, factors) = code.split_at_mut(self.bits as usize * p);
        let (ex_planes, signs) = planes.split_at_mut(ex as usize * p);
        let t = if ex > 0 { rescale::best_scale(o, ex) } else { 0.0 };
        let half_levels = ((1u32 << ex) - 1) as u8;
        let (mut dot, mut nn) = (0.0f32, 0.0f32);
        for (i, &v) in o.iter().enumerate() {
            let pos = v > 0.0;
            if pos {
                signs[i / 8] |= 1 << (i % 8);
            }
            let u = if ex > 0 { rescale::level(v.abs(), ex, t) } else { 0 };
            let ubar = f32::from(u) + 0.5;
            dot += ubar * v.abs();
            nn += ubar * ubar;
            if ex > 0 {
                let field = if pos { u } else { !u & half_levels };
                for b in 0..ex as usize {
                    if (field >> b) & 1 == 1 {
                        ex_planes[b * p + i / 8] |= 1 << (i % 8);
                    }
                }
            }
        }
        let xn = libm::sqrtf(nn);
        let mut x0 = dot / xn;
        if !(x0.is_finite() && x0 > 0.0) || r == 0.0 {
            x0 = X0_FALLBACK;
        }
        let second = if ex > 0 { x0 * xn } else { x0 };
        factors[0..4].copy_from_slice(&r.to_le_bytes());
        factors[4..8].copy_from_slice(&second.to_le_bytes());
        Ok(())
    }

    /// Reads and validates a code's factors `(r, x0, ‖x̄‖)` (for `B ≥ 2`, `‖x̄‖` is recomputed
    /// from the code's bit planes and `x0` is the stored product divided by it).
    ///
    /// # Errors
    /// [`Error::CodeLength`]; [`Error::Corrupt`] if `r` is negative, not finite or above
    /// [`MAX_NORM_FACTOR`], or the stored `x0` factor is outside the bounds that
    /// [`Score::score`] checks too (so decode and score agree on every code; for `B ≥ 2`, `x0`
    /// is then within `[1/(2^(B+1)·√D), 2^B]`).
    pub fn factors(&self, code: &[u8]) -> Result<(f32, f32, f32)> {
        let (r, w) = self.raw_factors(code)?;
        let xn = if self.bits == 1 { self.xn1() } else { self.code_norm(code) };
        let x0 = if self.bits == 1 { w } else { w / xn };
        Ok((r, x0, xn))
    }

    /// The RaBitQ error bound `r·‖q‖·√(1 − x0²)/x0 · eps0/√(D − 1)` on `|score − ⟨o, q⟩|` for a
    /// query of norm `q_norm` (module docs: it holds when the standardized error is within
    /// `eps0`; [`EPS0`] = 1.9 is the reference's choice).
    ///
    /// # Errors
    /// As [`factors`](RaBitQ::factors).
    pub fn error_bound(&self, code: &[u8], q_norm: f32, eps0: f32) -> Result<f32> {
        let (r, x0, _) = self.factors(code)?;
        let x0 = x0.min(1.0);
        Ok(r * q_norm * libm::sqrtf(1.0 - x0 * x0) / x0 * eps0 / libm::sqrtf((self.rdim - 1) as f32))
    }

    /// Decodes into `out` using `scratch` (at least `D` floats) instead of a stack buffer.
    ///
    /// # Errors
    /// [`Error::CodeLength`], [`Error::DimensionMismatch`], [`Error::BufferTooSmall`],
    /// [`Error::Corrupt`] (as [`factors`](RaBitQ::factors)).
    pub fn decode_with_scratch(&self, code: &[u8], out: &mut [f32], scratch: &mut [f32]) -> Result<()> {
        check_dim(self.dim, out.len())?;
        check_scratch(self.rdim, scratch.len())?;
        let (r, x0, xn) = self.factors(code)?;
        let y = &mut scratch[..self.rdim];
        let s = r * x0 / xn;
        let off = 0.5 * (((1u32 << self.bits) - 1) as f32);
        let p = self.plane;
        for (i, v) in y.iter_mut().enumerate() {
            let mut xu = 0u32;
            for b in 0..self.bits as usize {
                xu |= u32::from((code[b * p + i / 8] >> (i % 8)) & 1) << b;
            }
            *v = s * (xu as f32 - off);
        }
        self.transform.transpose(y, out)?;
        if out.iter().any(|v| !v.is_finite()) {
            return Err(Error::Corrupt("RaBitQ reconstruction is not finite"));
        }
        Ok(())
    }

    /// Prepares a float query (independent of the codec's [`QueryMode`]).
    ///
    /// # Errors
    /// As [`Score::prepare`].
    pub fn prepare_float<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<RaBitQQuery<'s>> {
        self.prepare_inner(q, scratch, None)
    }

    /// Prepares a 4-bit quantized query whose randomized rounding is seeded by `seed`.
    ///
    /// # Errors
    /// As [`Score::prepare`].
    pub fn prepare_quantized<'s>(&'s self, q: &[f32], seed: u64, scratch: &'s mut [f32]) -> Result<RaBitQQuery<'s>> {
        self.prepare_inner(q, scratch, Some(seed))
    }

    fn prepare_inner<'s>(&'s self, q: &[f32], scratch: &'s mut [f32], seed: Option<u64>) -> Result<RaBitQQuery<'s>> {
        check_dim(self.dim, q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        check_finite(q)?;
        let (rot, rest) = scratch.split_at_mut(self.rdim);
        // The next `256·⌈D/8⌉` words are unused (they held a byte lookup table; kept so that
        // the scratch layout and length stay as documented).
        let rest = &mut rest[256 * self.plane..];
        self.transform.forward(q, rot)?;
        let sum: f32 = rot.iter().sum();
        if !sum.is_finite() {
            return Err(Error::NonFinite);
        }
        let mut query = RaBitQQuery { rot, planes: None, sum, vl: 0.0, delta: 0.0, qbar_sum: 0.0 };
        if let Some(seed) = seed {
            let p = self.plane;
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut rest[..p]);
            let planes = &mut bytes[..QUERY_BITS as usize * p];
            planes.fill(0);
            let (lo, hi) = crate::simd::min_max(query.rot);
            let delta = (hi - lo) / 15.0;
            if !delta.is_finite() {
                return Err(Error::NonFinite);
            }
            let inv = if delta > 0.0 { 1.0 / delta } else { 0.0 };
            let mut rng = Rng::new(seed);
            let mut qbar_sum = 0u32;
            for (i, &v) in query.rot.iter().enumerate() {
                let u = rng.next_f32();
                let qb = libm::floorf((v - lo) * inv + u).clamp(0.0, 15.0) as u8;
                qbar_sum += u32::from(qb);
                for j in 0..QUERY_BITS as usize {
                    if (qb >> j) & 1 == 1 {
                        planes[j * p + i / 8] |= 1 << (i % 8);
                    }
                }
            }
            query.vl = lo;
            query.delta = delta;
            query.qbar_sum = qbar_sum as f32;
            query.planes = Some(planes);
        }
        Ok(query)
    }

    /// `⟨x_u, q'⟩` with `x_u` the unsigned code: the bit planes against the rotated query
    /// ([`crate::simd::dot_bitplanes`]: query elements added under each plane's bits, no
    /// lookup tables; the coordinates past `D` in the last byte have no query element).
    #[inline]
    fn xu_dot_float(&self, rot: &[f32], code: &[u8]) -> f32 {
        crate::simd::dot_bitplanes(code, self.plane, u32::from(self.bits), rot)
    }

    /// `⟨x̄, q'⟩` from the quantized query: with `q'_i ≈ v_l + Δ·q̄_i` and `x̄ = x_u − C`,
    /// `v_l·(Σx_u − C·D) + Δ·(⟨x_u, q̄⟩ − C·Σq̄)`. Centring both sums on the code's own offset
    /// keeps the rounding variance at `Δ²/4·‖x̄‖²` instead of `Δ²/4·‖x_u‖²`.
    fn xu_dot_quant(&self, q: &RaBitQQuery<'_>, planes_q: &[u8], code: &[u8]) -> f32 {
        let p = self.plane;
        let tail = self.rdim % 8;
        let mask: u8 = if tail == 0 { 0xFF } else { (1u8 << tail) - 1 };
        let (mut dot_q, mut sum_x) = (0u64, 0u64);
        for b in 0..self.bits as usize {
            let plane = &code[b * p..(b + 1) * p];
            let mut pc = crate::simd::popcount(plane);
            if let Some(&last) = plane.last() {
                pc -= u64::from((last & !mask).count_ones());
            }
            sum_x += pc << b;
            for j in 0..QUERY_BITS as usize {
                dot_q += crate::simd::and_popcount(plane, &planes_q[j * p..(j + 1) * p]) << (b + j);
            }
        }
        self.quant_value(q, sum_x, dot_q)
    }

    /// `⟨x̄, q'⟩` of the quantized query from `Σ x_u` and `⟨x_u, q̄⟩` (shared by the single and
    /// batch paths so both give the same `f32`).
    #[inline]
    fn quant_value(&self, q: &RaBitQQuery<'_>, sum_x: u64, dot_q: u64) -> f32 {
        let off = 0.5 * (((1u32 << self.bits) - 1) as f32);
        q.vl * (sum_x as f32 - off * self.rdim as f32) + q.delta * (dot_q as f32 - off * q.qbar_sum)
    }

    /// Batch scores of 1-bit codes against a quantized query: per block of codes, one multi-code
    /// weighted-Hamming pass `W = Σ_j 2^j·popcount(b ⊕ q̄_j)` and one popcount pass, then
    /// `⟨b, q̄⟩ = (15·popcount(b) + Σ_j 2^j·popcount(q̄_j) − W)/2` (exact integers; padding bits of
    /// `b` cancel because the query planes have none).
    fn score_batch_quant1(&self, q: &RaBitQQuery<'_>, planes_q: &[u8], codes: &[u8], out: &mut [f32]) -> Result<()> {
        use crate::binary::kernels::{PopcntBackend, hamming_strided, weighted_hamming_strided};
        const BLOCK: usize = 256;
        const ZERO_MAX: usize = 1024;
        let p = self.plane;
        let c = self.code_len();
        let planes_q = planes_q.get(..QUERY_BITS as usize * p).ok_or(Error::Truncated)?;
        let qp: u64 = planes_q.chunks_exact(p).enumerate().map(|(j, pl)| crate::simd::popcount(pl) << j).sum();
        let tail = self.rdim % 8;
        let mask: u8 = if tail == 0 { 0xFF } else { (1u8 << tail) - 1 };
        let backend = PopcntBackend::detect();
        let zero = [0u8; ZERO_MAX];
        let (mut w, mut pc) = ([0u32; BLOCK], [0u32; BLOCK]);
        let denom = self.xn1();
        for (block, o) in codes.chunks(BLOCK * c).zip(out.chunks_mut(BLOCK)) {
            let m = o.len();
            weighted_hamming_strided(backend, planes_q, p, block, c, 0, &mut w[..m])?;
            if p <= ZERO_MAX {
                hamming_strided(backend, &zero[..p], block, c, 0, &mut pc[..m])?;
            } else {
                for (x, code) in pc[..m].iter_mut().zip(block.chunks_exact(c)) {
                    *x = crate::simd::popcount(&code[..p]) as u32;
                }
            }
            for (i, (code, oi)) in block.chunks_exact(c).zip(o.iter_mut()).enumerate() {
                let (r, f) = self.raw_factors(code)?;
                let full = u64::from(pc[i]);
                let pad = code.get(p - 1).map_or(0, |&l| u64::from((l & !mask).count_ones()));
                let dot_q = (15 * full + qp - u64::from(w[i])) / 2;
                *oi = r / (f * denom) * self.quant_value(q, full - pad, dot_q);
            }
        }
        Ok(())
    }

    /// Serializes the parameters (dimensions, bits, query mode and seed) into a
    /// [`crate::format`] container of kind [`KIND`]. The rotation itself is not stored: pass
    /// the same transform to [`from_bytes`](RaBitQ::from_bytes) (e.g. rebuilt from its seed).
    ///
    /// Payload: `u32 dim, u32 rotated dim, u8 bits, u8 query mode (0 float, 1 quantized),
    /// u64 query seed` (the fields [`Persist`](crate::persist::Persist) writes after the
    /// rotation's seed). A centroid is [`Centered`](crate::compose::Centered)'s, saved by it.
    ///
    /// # Errors
    /// [`Error::Overflow`] for a payload over 4 GiB.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut w = crate::format::Writer::new(KIND);
        self.write_params(&mut w);
        w.finish()
    }

    /// Appends the parameter fields (see [`to_bytes`](Self::to_bytes)).
    #[cfg(feature = "alloc")]
    fn write_params(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32).u32(self.rdim as u32).u8(self.bits);
        w.u8(match self.mode {
            QueryMode::Float => 0,
            QueryMode::Quantized4 => 1,
        });
        w.u64(self.query_seed);
    }

    /// Reads the fields written by [`write_params`](Self::write_params); `transform` builds the
    /// rotation from the stored input dimension (called before anything is allocated).
    fn read_params(r: &mut crate::format::Reader<'_>, transform: impl FnOnce(usize) -> Result<T>) -> Result<Self> {
        let dim = r.count(MAX_DIM, "RaBitQ dim")?;
        let rdim = r.count(MAX_DIM, "RaBitQ rotated dim")?;
        let bits = r.u8()?;
        let mode = match r.u8()? {
            0 => QueryMode::Float,
            1 => QueryMode::Quantized4,
            _ => return Err(Error::Corrupt("RaBitQ query mode")),
        };
        let seed = r.u64()?;
        let transform = transform(dim)?;
        if dim != transform.dim_in() || rdim != transform.dim_out() {
            return Err(Error::Corrupt("RaBitQ dimensions do not match the transform"));
        }
        let codec = Self::new(transform, bits).map_err(|_| Error::Corrupt("RaBitQ parameters"))?;
        Ok(codec.with_query_mode(mode, seed))
    }

    /// Reads parameters written by [`to_bytes`](RaBitQ::to_bytes), with the rotation supplied by
    /// the caller. Validates every field; allocates nothing (also without `alloc`).
    ///
    /// # Errors
    /// Container errors of [`crate::format::open`]; [`Error::Corrupt`] for bad fields or
    /// dimensions that do not match `transform`; [`Error::Truncated`].
    pub fn from_bytes(bytes: &[u8], transform: T) -> Result<Self> {
        let mut r = crate::format::open(bytes, KIND)?;
        let codec = Self::read_params(&mut r, |_| Ok(transform))?;
        r.finish()?;
        Ok(codec)
    }
}

/// The saved form of a RaBitQ codec over the crate's default rotation: the rotation's seed
/// (`u64`; the randomized Hadamard transform is re-derived from it and the input dimension),
/// then the fields of [`RaBitQ::to_bytes`]. Dimensions are bounded by
/// [`persist::MAX_DIM`](crate::persist::MAX_DIM). No allocation.
impl crate::persist::Persist for RaBitQ<crate::transform::RandomizedHadamard> {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u64(self.transform.seed());
        self.write_params(w);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let seed = r.u64()?;
        Self::read_params(r, |dim| {
            if dim == 0 || dim > crate::persist::MAX_DIM {
                return Err(Error::Corrupt("RaBitQ dimension outside 1..=65536"));
            }
            crate::transform::RandomizedHadamard::new(dim, seed).map_err(|_| Error::Corrupt("RaBitQ rotation"))
        })
    }
}

/// [`ScanMode::Float`] ([`QueryMode::Float`]) and [`ScanMode::Bitsliced`]
/// ([`QueryMode::Quantized4`]: the 4-bit randomized-rounding query scored with bit-sliced
/// popcounts); switching keeps the query seed.
impl<T: Transform> ScanModes for RaBitQ<T> {
    fn scan_mode(&self) -> ScanMode {
        match self.mode {
            QueryMode::Float => ScanMode::Float,
            QueryMode::Quantized4 => ScanMode::Bitsliced,
        }
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        let seed = self.query_seed;
        match mode {
            ScanMode::Float => Ok(self.with_query_mode(QueryMode::Float, seed)),
            ScanMode::Bitsliced => Ok(self.with_query_mode(QueryMode::Quantized4, seed)),
            ScanMode::I8 | ScanMode::I16 => Err(Error::InvalidParameter("RaBitQ scans in Float or Bitsliced mode")),
        }
    }
}

/// The named configurations the `evaluate` harness runs: `(name, bits, query mode)`. Every
/// configuration is centred on the mean of the training data ([`CenteredRaBitQ`]).
pub const CONFIGS: &[(&str, u8, QueryMode)] = &[
    ("rabitq1", 1, QueryMode::Float),
    ("rabitq1q", 1, QueryMode::Quantized4),
    ("rabitq2", 2, QueryMode::Float),
    ("rabitq3", 3, QueryMode::Float),
    ("rabitq4", 4, QueryMode::Float),
    ("rabitq5", 5, QueryMode::Float),
    ("rabitq8", 8, QueryMode::Float),
];

/// RaBitQ of the residual from a centroid `c`: [`Centered`](crate::compose::Centered) encodes
/// `o − c` with [`RaBitQ`] and scores `⟨c, q⟩ + RaBitQ's estimate of ⟨o − c, q⟩` (the
/// estimator of the module docs; `⟨c, q⟩` is exact). Saved as the centroid, then RaBitQ's
/// parameters.
#[cfg(feature = "alloc")]
pub type CenteredRaBitQ<T> = crate::compose::Centered<RaBitQ<T>, Vec<f32>>;

/// Builds the named configuration (see [`CONFIGS`]) over `transform`, centred on the mean of
/// `train` (row-major, `transform.dim_in()` columns, [`Centered::train_mean`]) with query seed
/// `seed`.
///
/// [`Centered::train_mean`]: crate::compose::Centered::train_mean
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name; as [`RaBitQ::new`] and
/// [`Centered::train_mean`] ([`Error::NotEnoughData`] without rows, [`Error::NonFinite`]).
#[cfg(feature = "alloc")]
pub fn from_config<T: Transform>(name: &str, transform: T, train: &[f32], seed: u64) -> Result<CenteredRaBitQ<T>> {
    let &(_, bits, mode) =
        CONFIGS.iter().find(|c| c.0 == name).ok_or(Error::InvalidParameter("unknown RaBitQ configuration"))?;
    crate::compose::Centered::train_mean(RaBitQ::new(transform, bits)?.with_query_mode(mode, seed), train)
}

/// Builds the named configuration (see [`CONFIGS`]) with the crate's default rotation, a
/// randomized Hadamard transform seeded with `seed` (also the query seed), and the centroid
/// trained as the mean of `train` (row-major, `dim` columns).
///
/// # Errors
/// As [`from_config`] and [`crate::transform::RandomizedHadamard::new`].
#[cfg(feature = "alloc")]
pub fn config(
    name: &str,
    dim: usize,
    seed: u64,
    train: &[f32],
) -> Result<CenteredRaBitQ<crate::transform::RandomizedHadamard>> {
    from_config(name, crate::transform::RandomizedHadamard::new(dim, seed)?, train, seed)
}

impl<T: Transform> Codec for RaBitQ<T> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        self.bits as usize * self.plane + self.factors_len()
    }
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        crate::buf::with_buf(self.rdim, |s| self.encode_with_scratch(x, code, s))
    }
}

impl<T: Transform> Decode for RaBitQ<T> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        crate::buf::with_buf(self.rdim, |s| self.decode_with_scratch(code, out, s))
    }
}

impl<T: Transform> Score for RaBitQ<T> {
    type Query<'s>
        = RaBitQQuery<'s>
    where
        Self: 's;

    /// `D` floats for the rotated query, `256·⌈D/8⌉` unused (the float scan's byte lookup
    /// table before [`crate::simd::dot_bitplanes`] replaced it; kept so that the length does
    /// not change) and `⌈D/8⌉` words for the 4 quantized query planes.
    fn query_scratch_len(&self) -> usize {
        self.rdim + 257 * self.plane
    }

    /// [`Estimator::Unbiased`] over a Haar-random rotation (and the query's rounding); see the
    /// module docs for the exact statement.
    fn estimator(&self) -> Estimator {
        Estimator::Unbiased
    }

    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<RaBitQQuery<'s>> {
        match self.mode {
            QueryMode::Float => self.prepare_inner(q, scratch, None),
            QueryMode::Quantized4 => {
                let mut h = crate::format::fnv1a32(bytemuck::cast_slice(q)) as u64;
                h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.query_seed;
                self.prepare_inner(q, scratch, Some(h))
            }
        }
    }

    fn score(&self, q: &RaBitQQuery<'_>, code: &[u8]) -> Result<f32> {
        let (r, w) = self.raw_factors(code)?;
        let denom = if self.bits == 1 { w * self.xn1() } else { w };
        let xbar_q = match q.planes {
            Some(pl) => self.xu_dot_quant(q, pl, code),
            None => {
                let off = 0.5 * (((1u32 << self.bits) - 1) as f32);
                self.xu_dot_float(q.rot, code) - off * q.sum
            }
        };
        Ok(r / denom * xbar_q)
    }

    /// As [`score`](Score::score) for every code (the same `f32` values); 1-bit codes with a
    /// quantized query go through the multi-code popcount kernels block by block.
    fn score_batch(&self, q: &RaBitQQuery<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let c = self.code_len();
        check_code(out.len().checked_mul(c).ok_or(Error::Overflow)?, codes.len())?;
        if let (Some(pl), 1) = (q.planes, self.bits) {
            return self.score_batch_quant1(q, pl, codes, out);
        }
        if q.planes.is_some() {
            for (code, o) in codes.chunks_exact(c).zip(out.iter_mut()) {
                *o = self.score(q, code)?;
            }
            return Ok(());
        }
        // Float query: `⟨x_u, q'⟩` of a block of codes in one multi-row bit-plane pass, then
        // `score`'s arithmetic per code (the same `f32` values).
        const BLOCK: usize = 64;
        let off = 0.5 * (((1u32 << self.bits) - 1) as f32);
        let mut xu = [0f32; BLOCK];
        for (cb, ob) in codes.chunks(BLOCK * c).zip(out.chunks_mut(BLOCK)) {
            let xu = &mut xu[..ob.len()];
            crate::simd::dot_bitplanes_rows(cb, c, self.plane, u32::from(self.bits), q.rot, xu);
            for ((code, o), &x) in cb.chunks_exact(c).zip(ob.iter_mut()).zip(xu.iter()) {
                let (r, w) = self.raw_factors(code)?;
                let denom = if self.bits == 1 { w * self.xn1() } else { w };
                *o = r / denom * (x - off * q.sum);
            }
        }
        Ok(())
    }
}
