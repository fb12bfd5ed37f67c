//! Generic compositions of codecs through the crate traits, usable by downstream crates to
//! build their own codecs.
//!
//! * [`Rotated<T, C>`]: encode `C(T x)`, decode `Tᵀ C⁻¹(code)`, score by preparing `C`'s query on
//!   `T q`. With an orthogonal `T`, `⟨T q, T x⟩ = ⟨q, x⟩`, so `C`'s estimator carries over.
//! * [`Residual<A, B>`]: code `A.code ‖ B.code(x − A.decode(A.code))`, score `A.score + B.score`.
//! * [`Split<A, B>`]: the first `A.dim()` coordinates through `A`, the rest through `B`; code
//!   `A.code ‖ B.code`, score `A.score + B.score` (e.g. TurboQuant at 2.5 / 3.5 bits per
//!   coordinate: two codebook widths over the exchangeable coordinates of a rotated vector).
//! * [`Normalized<C, N>`]: code `C.code(x/‖x‖) ‖ ‖x‖` (`f32`, or `f16`/`bf16` with `N`), score `‖x‖ · C.score`.
//! * [`Centered<C, M>`]: code `C.code(x − μ)`, score `⟨q, μ⟩ + C.score` (μ a trained mean).
//! * [`Scaled<C, S>`]: code `C.code(s ⊙ x)`, score `C.score(q ⊘ s)` (per-coordinate scales).
//!
//! `Rotated`, `Residual`, `Normalized`, `Centered` and `Scaled` need temporary vectors of the inner dimension while encoding and decoding. They are
//! taken from a stack buffer of the smallest of [`STACK_CLASSES`] that holds them (at most
//! [`STACK_DIM`] floats, in its own frame: 3 KiB at d = 768); larger dimensions use a heap buffer
//! under `alloc` and return [`Error::InvalidParameter`](crate::Error::InvalidParameter) without it.
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use vector_codecs::compose::Rotated;
//! use vector_codecs::qjl::Qjl;
//! use vector_codecs::transform::RandomizedHadamard;
//! use vector_codecs::{Codec, Estimator, Score};
//! // A user-built codec: randomized Hadamard rotation, then a 64-bit QJL sketch.
//! let codec = Rotated::new(RandomizedHadamard::new(8, 7).unwrap(), Qjl::new(8, 64, 1).unwrap()).unwrap();
//! assert_eq!(codec.estimator(), Estimator::Unbiased); // orthogonal rotation keeps QJL's estimator
//! let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
//! let mut code = vec![0u8; codec.code_len()];
//! codec.encode_into(&x, &mut code).unwrap();
//! let mut scratch = codec.scratch();
//! let q = codec.prepare(&x, &mut scratch).unwrap();
//! let est = codec.score(&q, &code).unwrap(); // estimates ‖x‖² = 204
//! assert!(est > 100.0 && est < 300.0);
//! # }
//! ```

use crate::codec::{Codec, Decode, Estimator, Score, check_scratch, forward_decode, forward_score};
use crate::error::{Result, check_code, check_dim};
use crate::transform::Transform;

/// [`Error::Corrupt`](crate::Error::Corrupt) if a composed reconstruction is not finite: parts
/// that are each in range (a norm up to [`MAX_NORM`](crate::MAX_NORM) times an inner
/// reconstruction far from unit norm, a rotation of large values, a mean added to a value near
/// `f32::MAX`) can overflow together, and a decode never returns NaN or ±inf as `Ok`.
#[inline]
fn finite_out(out: &[f32]) -> Result<()> {
    let special = out.iter().fold(0u32, |a, x| a | u32::from(x.to_bits() & 0x7F80_0000 == 0x7F80_0000));
    if special == 0 { Ok(()) } else { Err(crate::Error::Corrupt("composed reconstruction is not finite")) }
}

/// A composed score, or [`Error::Corrupt`](crate::Error::Corrupt) if it is not finite (as
/// [`finite_out`] for decode).
#[inline]
fn finite_score(s: f32) -> Result<f32> {
    if s.is_finite() { Ok(s) } else { Err(crate::Error::Corrupt("composed score is not finite")) }
}

use crate::buf::with_buf;
pub use crate::buf::{STACK_CLASSES, STACK_DIM};

/// The query of a two-codec composition ([`Residual`], [`Split`]): `a` prepared on `qa` and `b`
/// on `qb`, in `a`'s scratch followed by `b`'s.
fn prepare_pair<'s, A: Score, B: Score>(
    a: &'s A,
    b: &'s B,
    qa: &[f32],
    qb: &[f32],
    scratch: &'s mut [f32],
) -> Result<(A::Query<'s>, B::Query<'s>)> {
    check_scratch(a.query_scratch_len() + b.query_scratch_len(), scratch.len())?;
    let (sa, sb) = scratch.split_at_mut(a.query_scratch_len());
    Ok((a.prepare(qa, sa)?, b.prepare(qb, sb)?))
}

/// The score of a concatenated code `a.code ‖ b.code`: the sum of the parts' scores.
fn score_pair<A: Score, B: Score>(a: &A, b: &B, q: &(A::Query<'_>, B::Query<'_>), code: &[u8]) -> Result<f32> {
    check_code(a.code_len() + b.code_len(), code.len())?;
    let (ca, cb) = code.split_at(a.code_len());
    Ok(a.score(&q.0, ca)? + b.score(&q.1, cb)?)
}

/// Scores, for each of the `out.len()` codes of `stride` bytes in `codes`, the sub-code
/// `code[at..at + C.code_len()]` with `C`'s strided scan ([`Score::score_batch_strided`]: in
/// place where `C` reads codes in place, else gathered into a stack buffer), then replaces each
/// score `s` with `fix(s, code)`.
///
/// # Errors
/// [`Error::CodeLength`](crate::Error::CodeLength) if `codes.len() != out.len() · stride` or the
/// sub-code does not fit in `stride`; whatever `C` or `fix` return.
pub(crate) fn score_part_batch<C: Score>(
    inner: &C,
    q: &C::Query<'_>,
    codes: &[u8],
    stride: usize,
    at: usize,
    out: &mut [f32],
    mut fix: impl FnMut(f32, &[u8]) -> Result<f32>,
) -> Result<()> {
    inner.score_batch_strided(q, codes, stride, at, out)?;
    if stride == 0 {
        for o in out.iter_mut() {
            *o = fix(*o, &[])?;
        }
        return Ok(());
    }
    for (o, code) in out.iter_mut().zip(codes.chunks_exact(stride)) {
        *o = fix(*o, code)?;
    }
    Ok(())
}

/// Batch score of concatenated codes `a.code ‖ b.code` stored at byte `at` of codes of `stride`
/// bytes: both parts with their strided scans (in place where the parts read codes in place),
/// summed (the same sums as [`score_pair`]).
fn score_pair_batch<A: Score, B: Score>(
    a: &A,
    b: &B,
    q: &(A::Query<'_>, B::Query<'_>),
    codes: &[u8],
    stride: usize,
    at: usize,
    out: &mut [f32],
) -> Result<()> {
    let ca = a.code_len();
    crate::codec::check_strided(ca + b.code_len(), codes.len(), stride, at, out.len())?;
    // Second-part scores of 256 codes at a time, then added to the first part's.
    const ROWS: usize = 256;
    let mut second = [0f32; ROWS];
    for (block, ob) in codes.chunks(ROWS * stride.max(1)).zip(out.chunks_mut(ROWS)) {
        let sb = &mut second[..ob.len()];
        b.score_batch_strided(&q.1, block, stride, at + ca, sb)?;
        a.score_batch_strided(&q.0, block, stride, at, ob)?;
        for (o, &s) in ob.iter_mut().zip(sb.iter()) {
            *o += s;
        }
    }
    Ok(())
}

/// Rows per block of the batch encoders of [`Rotated`] and [`Centered`] for `n` rows of `width`
/// floats when `want` rows are asked for: as many as fit in the stack buffer, at most 16; but
/// under `alloc`, when more than 16 are wanted (the stored dense transforms read their whole
/// matrix once per block), up to `want` rows (at most 64) of at most 32,768 floats in all (one
/// heap buffer per call when that is more than [`STACK_DIM`] floats). Never more than `n`, so
/// small batches zero a small buffer.
fn batch_block_rows(n: usize, width: usize, want: usize) -> usize {
    let width = width.max(1);
    let rows = if cfg!(feature = "alloc") && want > 16 {
        ((1usize << 15) / width).clamp(1, 64).min(want)
    } else {
        (crate::buf::BATCH_STACK_FLOATS / width).clamp(1, 16)
    };
    rows.min(n).max(1)
}

/// `C ∘ T`: a transform `T` followed by an inner codec `C` on the transformed vector.
///
/// Bits per dimension: `C`'s code length over `T.dim_in()` (nothing else is stored; `T` is
/// derived from its parameters). Estimator: `C`'s, when `T` is orthogonal; otherwise the
/// score estimates `⟨T q, T x⟩` and is reported as [`Estimator::Biased`].
#[derive(Clone, Debug, PartialEq)]
pub struct Rotated<T, C> {
    /// The transform applied first.
    pub transform: T,
    /// The codec applied to the transformed vector.
    pub inner: C,
}

impl<T: Transform, C: Codec> Rotated<T, C> {
    /// Composes `transform` and `inner`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if `transform.dim_out() != inner.dim()`.
    pub fn new(transform: T, inner: C) -> Result<Self> {
        check_dim(inner.dim(), transform.dim_out())?;
        Ok(Rotated { transform, inner })
    }
}

impl<T: Transform, C: Codec> Codec for Rotated<T, C> {
    fn dim(&self) -> usize {
        self.transform.dim_in()
    }
    fn code_len(&self) -> usize {
        self.inner.code_len()
    }
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        with_buf(self.transform.dim_out(), |y| self.encode_with_scratch(x, code, y))
    }
    /// Blocks of rows (as many as fit in [`STACK_DIM`] floats, at most 16; under `alloc` up to
    /// [`Transform::batch_block`] rows, at most 64, when the transform asks for more) are
    /// transformed into one buffer — by [`Transform::forward_batch`] (one blocked matrix product)
    /// for transforms that ask for blocks of more than 16 rows, else row by row with a prefetch
    /// of the row after the next — then encoded with `C::encode_batch` (so a pipelined inner batch kernel
    /// is used). Codes are identical to `encode_into`'s; on error, earlier rows are written.
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.dim(), self.code_len());
        let n = crate::codec::batch_rows(xs.len(), d)?;
        check_code(n * c, codes.len())?;
        let e = self.transform.dim_out();
        if c == 0 || d == 0 || e == 0 {
            return Ok(());
        }
        let rows = batch_block_rows(n, e, self.transform.batch_block());
        with_buf(rows * e, |y| {
            for (b, (xb, cb)) in xs.chunks(rows * d).zip(codes.chunks_mut(rows * c)).enumerate() {
                let yb = &mut y[..xb.len() / d * e];
                if self.transform.batch_block() > 16 {
                    self.transform.forward_batch(xb, yb)?;
                } else {
                    for (i, (x, yr)) in xb.chunks_exact(d).zip(yb.chunks_exact_mut(e)).enumerate() {
                        // The row after the next one, while this one is transformed.
                        if let Some(nx) = xs.get((b * rows + i + 2) * d..(b * rows + i + 3) * d) {
                            crate::simd::prefetch(nx);
                        }
                        self.transform.forward(x, yr)?;
                    }
                }
                self.inner.encode_batch(yb, cb)?;
            }
            Ok(())
        })
    }
}

impl<T: Transform, C: Decode> Decode for Rotated<T, C> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        with_buf(self.transform.dim_out(), |y| self.decode_with_scratch(code, out, y))
    }
    /// Blocks of rows (sized as in [`encode_batch`](Codec::encode_batch)) decoded by
    /// `C::decode_batch` into one buffer, then mapped back by [`Transform::transpose_batch`]
    /// (one blocked product for the stored dense transforms): the same values as `decode_into`
    /// per code. On error `out` may be partly written.
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let (d, c) = (self.dim(), self.code_len());
        let n = crate::codec::batch_rows(codes.len(), c)?;
        check_dim(n * d, out.len())?;
        let e = self.transform.dim_out();
        if n == 0 || d == 0 {
            return Ok(());
        }
        if e == 0 {
            // Nothing to transform back: per code, as `decode_into`.
            for (code, o) in codes.chunks_exact(c).zip(out.chunks_exact_mut(d)) {
                self.decode_into(code, o)?;
            }
            return Ok(());
        }
        let rows = batch_block_rows(n, e, self.transform.batch_block());
        with_buf(rows * e, |y| {
            for (cb, ob) in codes.chunks(rows * c).zip(out.chunks_mut(rows * d)) {
                let yb = &mut y[..ob.len() / d * e];
                self.inner.decode_batch(cb, yb)?;
                self.transform.transpose_batch(yb, ob)?;
                finite_out(ob)?;
            }
            Ok(())
        })
    }
}

impl<T: Transform, C: Codec> Rotated<T, C> {
    /// Floats of caller scratch that [`encode_with_scratch`](Self::encode_with_scratch) and
    /// [`decode_with_scratch`](Self::decode_with_scratch) need: the transformed vector,
    /// `transform.dim_out()` (the trait methods take it from a stack buffer instead).
    pub fn work_scratch_len(&self) -> usize {
        self.transform.dim_out()
    }

    /// [`Codec::encode_into`] with the transformed vector in caller `scratch` (at least
    /// [`work_scratch_len`](Self::work_scratch_len) floats): no stack buffer, same code.
    ///
    /// # Errors
    /// As [`Codec::encode_into`]; [`Error::BufferTooSmall`](crate::Error::BufferTooSmall) for
    /// short scratch.
    pub fn encode_with_scratch(&self, x: &[f32], code: &mut [u8], scratch: &mut [f32]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        check_scratch(self.work_scratch_len(), scratch.len())?;
        let y = &mut scratch[..self.work_scratch_len()];
        self.transform.forward(x, y)?;
        self.inner.encode_into(y, code)
    }

    /// [`Decode::decode_into`] with the transformed vector in caller `scratch` (at least
    /// [`work_scratch_len`](Self::work_scratch_len) floats): no stack buffer, same values.
    ///
    /// # Errors
    /// As [`Decode::decode_into`]; [`Error::BufferTooSmall`](crate::Error::BufferTooSmall) for
    /// short scratch.
    pub fn decode_with_scratch(&self, code: &[u8], out: &mut [f32], scratch: &mut [f32]) -> Result<()>
    where
        C: Decode,
    {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        check_scratch(self.work_scratch_len(), scratch.len())?;
        let y = &mut scratch[..self.work_scratch_len()];
        self.inner.decode_into(code, y)?;
        self.transform.transpose(y, out)?;
        finite_out(out)
    }
}

/// `T` must be `'static` (an owned transform), a limitation of the generic associated query type.
impl<T: Transform + 'static, C: Score> Score for Rotated<T, C> {
    type Query<'s>
        = C::Query<'s>
    where
        Self: 's;

    /// `T.dim_out()` words for the transformed query, then `C`'s scratch.
    fn query_scratch_len(&self) -> usize {
        self.transform.dim_out() + self.inner.query_scratch_len()
    }
    fn estimator(&self) -> Estimator {
        if self.transform.is_orthogonal() { self.inner.estimator() } else { Estimator::Biased }
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim(), q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        let (tq, rest) = scratch.split_at_mut(self.transform.dim_out());
        self.transform.forward(q, tq)?;
        self.inner.prepare(tq, rest)
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        self.inner.score(q, code)
    }
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.score_batch(q, codes, out)
    }
    fn lut_segments<'q>(&self, q: &'q Self::Query<'_>, at: usize, segs: &mut crate::simd::LutSegs<'q>) -> bool {
        self.inner.lut_segments(q, at, segs)
    }
    fn score_batch_strided(
        &self,
        q: &Self::Query<'_>,
        codes: &[u8],
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) -> Result<()> {
        self.inner.score_batch_strided(q, codes, stride, at, out)
    }
}

/// Two-stage residual codec: `A` codes `x`, `B` codes the residual `x − A.decode(A.code)`.
///
/// Code: `A.code ‖ B.code`, so bits per dimension add up. Score: `A.score + B.score`.
/// Estimator: [`Estimator::Unbiased`] when `A` scores its reconstruction exactly and `B` is
/// unbiased for `⟨q, r⟩` (e.g. TurboQuant-prod); [`Estimator::Reconstruction`] when both are
/// exact on their reconstructions; otherwise [`Estimator::Biased`].
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// use vector_codecs::compose::Residual;
/// use vector_codecs::qjl::Qjl;
/// use vector_codecs::{Codec, Score};
/// // Two QJL stages: the second sketches what the first stage's reconstruction missed.
/// let two_stage = Residual::new(Qjl::new(4, 32, 1).unwrap(), Qjl::new(4, 32, 2).unwrap()).unwrap();
/// assert_eq!(two_stage.code_len(), 2 * (4 + 4));
/// let mut code = vec![0u8; two_stage.code_len()];
/// two_stage.encode_into(&[1.0, -2.0, 3.0, 0.5], &mut code).unwrap();
/// let mut scratch = two_stage.scratch();
/// let q = two_stage.prepare(&[1.0, 0.0, 0.0, 0.0], &mut scratch).unwrap();
/// assert!(two_stage.score(&q, &code).unwrap().is_finite());
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Residual<A, B> {
    /// The first stage.
    pub first: A,
    /// The residual stage.
    pub second: B,
}

impl<A: Decode, B: Codec> Residual<A, B> {
    /// Composes the two stages.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if the dimensions differ.
    pub fn new(first: A, second: B) -> Result<Self> {
        check_dim(first.dim(), second.dim())?;
        Ok(Residual { first, second })
    }
}

impl<A: Decode, B: Codec> Codec for Residual<A, B> {
    fn dim(&self) -> usize {
        self.first.dim()
    }
    fn code_len(&self) -> usize {
        self.first.code_len() + self.second.code_len()
    }
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        let (ca, cb) = code.split_at_mut(self.first.code_len());
        self.first.encode_into(x, ca)?;
        with_buf(self.dim(), |r| {
            self.first.decode_into(ca, r)?;
            for (ri, &xi) in r.iter_mut().zip(x) {
                *ri = xi - *ri;
            }
            self.second.encode_into(r, cb)
        })
    }
    /// As the default, but the residuals of up to 64 rows (under `alloc`, in one heap buffer
    /// per call; without it as many as fit in [`STACK_DIM`] floats) go to `B::encode_batch` together, so a batched second stage (e.g. QJL sharing
    /// each projection row across the block) is used. Codes are identical to `encode_into`'s.
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.dim(), self.code_len());
        let n = crate::codec::batch_rows(xs.len(), d)?;
        check_code(n * c, codes.len())?;
        let (ca_len, cb_len) = (self.first.code_len(), self.second.code_len());
        // Residual rows per block: up to 64 (a 256 KiB heap buffer under `alloc`, allocated once
        // per call), else what fits in STACK_DIM floats.
        #[cfg(feature = "alloc")]
        let cap = 1usize << 16;
        #[cfg(not(feature = "alloc"))]
        let cap = crate::buf::BATCH_STACK_FLOATS;
        let rows = if d == 0 || c == 0 { 0 } else { (cap / d).min(CODE_BUF / cb_len.max(1)).min(64) };
        if rows < 2 {
            for (x, code) in xs.chunks_exact(d.max(1)).zip(codes.chunks_exact_mut(c.max(1))).take(n) {
                self.encode_into(x, code)?;
            }
            return Ok(());
        }
        let mut cbuf = [0u8; CODE_BUF];
        with_buf(rows * d, |r| {
            for (xb, codes_b) in xs.chunks(rows * d).zip(codes.chunks_mut(rows * c)) {
                let k = xb.len() / d;
                let rb = &mut r[..k * d];
                for ((x, code), ri) in xb.chunks_exact(d).zip(codes_b.chunks_exact_mut(c)).zip(rb.chunks_exact_mut(d)) {
                    let ca = &mut code[..ca_len];
                    self.first.encode_into(x, ca)?;
                    self.first.decode_into(ca, ri)?;
                    for (rv, &xv) in ri.iter_mut().zip(x) {
                        *rv = xv - *rv;
                    }
                }
                let cbs = &mut cbuf[..k * cb_len];
                self.second.encode_batch(rb, cbs)?;
                for (code, cb) in codes_b.chunks_exact_mut(c).zip(cbs.chunks_exact(cb_len)) {
                    code[ca_len..].copy_from_slice(cb);
                }
            }
            Ok(())
        })
    }
}

/// Bytes of second-stage codes [`Residual::encode_batch`] keeps on the stack.
const CODE_BUF: usize = 8192;

impl<A: Decode, B: Decode> Decode for Residual<A, B> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        let (ca, cb) = code.split_at(self.first.code_len());
        self.first.decode_into(ca, out)?;
        with_buf(self.dim(), |r| {
            self.second.decode_into(cb, r)?;
            for (o, &ri) in out.iter_mut().zip(r.iter()) {
                *o += ri;
            }
            Ok(())
        })?;
        finite_out(out)
    }
}

impl<A: Decode + Score, B: Score> Score for Residual<A, B> {
    type Query<'s>
        = (A::Query<'s>, B::Query<'s>)
    where
        Self: 's;

    /// `A`'s scratch followed by `B`'s.
    fn query_scratch_len(&self) -> usize {
        self.first.query_scratch_len() + self.second.query_scratch_len()
    }
    fn estimator(&self) -> Estimator {
        match (self.first.estimator(), self.second.estimator()) {
            (Estimator::Reconstruction, Estimator::Unbiased) => Estimator::Unbiased,
            (Estimator::Reconstruction, Estimator::Reconstruction) => Estimator::Reconstruction,
            _ => Estimator::Biased,
        }
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim(), q.len())?;
        prepare_pair(&self.first, &self.second, q, q, scratch)
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        finite_score(score_pair(&self.first, &self.second, q, code)?)
    }
    /// Both stages with their batch kernels.
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        score_pair_batch(&self.first, &self.second, q, codes, self.code_len(), 0, out)
    }
    /// Both stages' strided scans, at `at` and `at + A.code_len()`.
    fn score_batch_strided(
        &self,
        q: &Self::Query<'_>,
        codes: &[u8],
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) -> Result<()> {
        score_pair_batch(&self.first, &self.second, q, codes, stride, at, out)
    }
}

/// Coordinate split: the first `k = A.dim()` coordinates of `x` are coded by `A`, the remaining
/// `B.dim()` by `B`.
///
/// Code: `A.code(x[..k]) ‖ B.code(x[k..])`, so the bits per dimension are the coordinate-weighted
/// average `(k·bpd_A + (d−k)·bpd_B)/d` of the parts' rates (each part's code is whole bytes, so
/// a part whose `dim · bits` is not a multiple of 8 pads up to 7 bits). Decode: the two
/// reconstructions side by side. Score: `A.score(q[..k]) + B.score(q[k..])` — inner products
/// add over disjoint coordinates. Estimator: [`Estimator::Reconstruction`] when both parts are
/// exact on their reconstructions, [`Estimator::Unbiased`] when both are unbiased, otherwise
/// [`Estimator::Biased`].
///
/// Splitting is how a fixed-rate codec reaches rates between integers: after a random rotation
/// all coordinates have the same distribution, so any of them can take the finer codebook
/// (see `turbo::split`). No temporary buffers are needed.
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// use vector_codecs::compose::Split;
/// use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
/// use vector_codecs::{Codec, Decode, Score};
/// // Two coordinates in f16, three in bf16 (small integers are exact in both).
/// let c = Split::new(FloatCodec::new(2, FloatFormat::F16).unwrap(), FloatCodec::new(3, FloatFormat::Bf16).unwrap())
///     .unwrap();
/// assert_eq!((c.dim(), c.code_len()), (5, 10));
/// let mut code = vec![0u8; c.code_len()];
/// c.encode_into(&[1.0, 2.0, 3.0, 4.0, 5.0], &mut code).unwrap();
/// let mut scratch = c.scratch();
/// let q = c.prepare(&[1.0, 1.0, 1.0, 1.0, 1.0], &mut scratch).unwrap();
/// assert_eq!(c.score(&q, &code).unwrap(), 15.0);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Split<A, B> {
    /// The codec of the first `first.dim()` coordinates.
    pub first: A,
    /// The codec of the remaining coordinates.
    pub second: B,
}

impl<A: Codec, B: Codec> Split<A, B> {
    /// Composes the two parts; the dimension is `first.dim() + second.dim()`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) if either part has dimension
    /// 0 or the total overflows.
    pub fn new(first: A, second: B) -> Result<Self> {
        if first.dim() == 0 || second.dim() == 0 {
            return Err(crate::error::Error::InvalidParameter("Split: both parts need a positive dimension"));
        }
        first
            .dim()
            .checked_add(second.dim())
            .ok_or(crate::error::Error::InvalidParameter("Split: dimension overflows"))?;
        Ok(Split { first, second })
    }

    /// The number of coordinates coded by the first part.
    pub fn split_at(&self) -> usize {
        self.first.dim()
    }
}

impl<A: Codec, B: Codec> Codec for Split<A, B> {
    fn dim(&self) -> usize {
        self.first.dim() + self.second.dim()
    }
    fn code_len(&self) -> usize {
        self.first.code_len() + self.second.code_len()
    }
    /// # Errors
    /// Wrong lengths, and whatever the parts return.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        let (xa, xb) = x.split_at(self.first.dim());
        let (ca, cb) = code.split_at_mut(self.first.code_len());
        self.first.encode_into(xa, ca)?;
        self.second.encode_into(xb, cb)
    }
    /// Each part encodes its coordinates of `s · x` (with its own scaled encoder).
    fn encode_scaled_into(&self, x: &[f32], s: f32, code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        let (xa, xb) = x.split_at(self.first.dim());
        let (ca, cb) = code.split_at_mut(self.first.code_len());
        self.first.encode_scaled_into(xa, s, ca)?;
        self.second.encode_scaled_into(xb, s, cb)
    }
}

impl<A: Decode, B: Decode> Decode for Split<A, B> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        let (oa, ob) = out.split_at_mut(self.first.dim());
        let (ca, cb) = code.split_at(self.first.code_len());
        self.first.decode_into(ca, oa)?;
        self.second.decode_into(cb, ob)?;
        finite_out(out)
    }
}

impl<A: Score, B: Score> Score for Split<A, B> {
    type Query<'s>
        = (A::Query<'s>, B::Query<'s>)
    where
        Self: 's;

    /// `A`'s scratch followed by `B`'s.
    fn query_scratch_len(&self) -> usize {
        self.first.query_scratch_len() + self.second.query_scratch_len()
    }
    fn estimator(&self) -> Estimator {
        match (self.first.estimator(), self.second.estimator()) {
            (Estimator::Reconstruction, Estimator::Reconstruction) => Estimator::Reconstruction,
            (Estimator::Unbiased, Estimator::Unbiased) => Estimator::Unbiased,
            _ => Estimator::Biased,
        }
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim(), q.len())?;
        let (qa, qb) = q.split_at(self.first.dim());
        prepare_pair(&self.first, &self.second, qa, qb, scratch)
    }
    /// The fused scan of [`Split::score_batch`] for one code (so that both agree bit for bit).
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        let mut segs = crate::simd::LutSegs::default();
        if self.lut_segments(q, 0, &mut segs) {
            check_code(self.code_len(), code.len())?;
            let mut out = [0f32];
            crate::simd::dot_lut_segs_rows(code, code.len(), segs.as_slice(), &mut out);
            return finite_score(out[0]);
        }
        finite_score(score_pair(&self.first, &self.second, q, code)?)
    }
    /// Both stages with their batch kernels.
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.score_batch_strided(q, codes, self.code_len(), 0, out)
    }
    /// Both parts' segments, the second's after the first's code.
    fn lut_segments<'q>(&self, q: &'q Self::Query<'_>, at: usize, segs: &mut crate::simd::LutSegs<'q>) -> bool {
        self.first.lut_segments(&q.0, at, segs) && self.second.lut_segments(&q.1, at + self.first.code_len(), segs)
    }
    /// When every leaf is a codebook scalar code with a float query ([`Score::lut_segments`]),
    /// all of them in one pass per code ([`crate::simd::dot_lut_segs_rows`]: one reduction per
    /// code, the partial groups of each part folded in with zero query elements; the sum of
    /// the parts' scores up to float rounding); otherwise both parts' strided scans, at `at`
    /// and `at + A.code_len()`.
    fn score_batch_strided(
        &self,
        q: &Self::Query<'_>,
        codes: &[u8],
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) -> Result<()> {
        let mut segs = crate::simd::LutSegs::default();
        if self.lut_segments(q, at, &mut segs) {
            crate::codec::check_strided(self.code_len(), codes.len(), stride, at, out.len())?;
            crate::simd::dot_lut_segs_rows(codes, stride, segs.as_slice(), out);
            return Ok(());
        }
        score_pair_batch(&self.first, &self.second, q, codes, stride, at, out)
    }
}

/// Norm factoring: `C` codes the direction `x/‖x‖` and the code ends with `‖x‖` as a
/// little-endian `f32` (4 bytes).
///
/// Code: `C.code(x/‖x‖) ‖ ‖x‖`; bits per dimension: `C`'s plus `32/d`. Decode: `‖x‖ · C.decode`.
/// Score: `‖x‖ · C.score(q)`, so the estimator is `C`'s (scaling by the stored norm keeps a
/// score exact on the reconstruction, and keeps an unbiased one unbiased). A zero vector stores
/// norm 0 and hands `C` the zero vector; it decodes and scores to 0.
///
/// With `C` a fixed per-coordinate codebook this is TurboQuant-MSE's inner codec
/// ([`turbo::NormScalar`](crate::turbo::NormScalar) is `Normalized<CodebookScalar>`): the
/// direction of a rotated vector has known coordinate statistics, the norm does not.
///
/// Encoding: the norm is [`norm_f64`] rounded to `f32`, and `C` encodes `x · (1/‖x‖)` through
/// [`Codec::encode_scaled_into`] (no temporary vector for the per-coordinate codebooks); a batch
/// uses `C`'s fused kernel ([`Codec::encode_normalized_rows`]) where it has one.
///
/// The norm's storage format is the type parameter `N` ([`NormStore`]): [`NormF32`] (the
/// default, the layout above), [`NormF16`] or [`NormBf16`] store it in 2 bytes (bits per
/// dimension: `C`'s plus `16/d`; 0.5 bit per dimension saved at `d = 32`). The 16-bit norms
/// round to nearest (relative error ≤ 2⁻¹¹ for `f16`, 2⁻⁸ for `bf16`, which scales the
/// reconstruction and the score by the same factor); `f16` norms above 65504 are
/// [`Error::Overflow`](crate::Error::Overflow) at encoding. Build them with
/// [`Normalized::with_norm`].
#[derive(Clone, Debug, PartialEq)]
pub struct Normalized<C, N: NormStore = NormF32> {
    /// The codec of the unit direction.
    pub inner: C,
    /// The norm's storage format (a zero-sized marker).
    pub norm: N,
}

/// The storage format of [`Normalized`]'s norm, as a type (so that saved parameters need no
/// tag and existing layouts are unchanged): [`NormF32`], [`NormF16`], [`NormBf16`].
pub trait NormStore: Copy + Default + core::fmt::Debug + PartialEq + 'static {
    /// The format.
    const FORMAT: crate::scalar::side::SideFormat;
}

/// `f32` norms (4 bytes): the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormF32;
/// IEEE `f16` norms (2 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormF16;
/// `bf16` norms (2 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormBf16;

impl NormStore for NormF32 {
    const FORMAT: crate::scalar::side::SideFormat = crate::scalar::side::SideFormat::F32;
}
impl NormStore for NormF16 {
    const FORMAT: crate::scalar::side::SideFormat = crate::scalar::side::SideFormat::F16;
}
impl NormStore for NormBf16 {
    const FORMAT: crate::scalar::side::SideFormat = crate::scalar::side::SideFormat::Bf16;
}

/// `√(Σ x_i²)`: the squares of the `f32` inputs (exact in `f64`) accumulated in 8 `f64` lanes
/// (lane `i mod 8`), combined pairwise, then the tail in order — the same on every backend. A
/// non-finite input gives a non-finite result. Rounded to `f32` (the norm [`Normalized`]
/// stores), this agrees with a sequential `f64` sum except, rarely, in the last bit.
pub fn norm_f64(x: &[f32]) -> f64 {
    libm::sqrt(crate::simd::sum_sq_f64(x))
}

impl<C: Codec> Normalized<C> {
    /// Wraps `inner` (`f32` norm).
    pub fn new(inner: C) -> Self {
        Normalized { inner, norm: NormF32 }
    }
}

impl<C: Codec, N: NormStore> Normalized<C, N> {
    /// Wraps `inner`, storing the norm in the format `N` (e.g.
    /// `Normalized::<_, NormF16>::with_norm(inner)`).
    pub fn with_norm(inner: C) -> Self {
        Normalized { inner, norm: N::default() }
    }

    /// The norm of a row from its `f64` sum of squares ([`norm_f64`]'s), checked and written
    /// into the norm field `field` in `N`'s format; returns the `f32` norm the direction is
    /// divided by. NaN or ±inf in the row makes the sum NaN or +inf (squares are ≥ 0 and cannot
    /// overflow `f64`), so this check covers the input's finiteness.
    fn write_norm(ss: f64, field: &mut [u8]) -> Result<f32> {
        let norm = crate::error::encode_norm(libm::sqrt(ss) as f32)?;
        // The stored norm is its rounding (`f32`: itself, so the F32 bytes are those of the
        // plain layout); the direction is divided by the unrounded `f32` norm.
        N::FORMAT.write(N::FORMAT.round(norm)?, field)?;
        Ok(norm)
    }

    /// One code from the row `x` and its sum of squares `ss`: the norm field, then `C`'s scaled
    /// encoder on `x · (1/‖x‖)` (0 for a zero row). Lengths are the caller's to check.
    fn encode_with_sum(&self, x: &[f32], ss: f64, code: &mut [u8]) -> Result<()> {
        let (ci, cn) = code.split_at_mut(self.inner.code_len());
        let norm = Self::write_norm(ss, cn)?;
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        self.inner.encode_scaled_into(x, inv, ci)
    }

    fn norm_of(&self, code: &[u8]) -> Result<f32> {
        let nb = self.inner.code_len();
        let nl = N::FORMAT.bytes();
        let got = code.len();
        let b = code.get(nb..nb + nl).ok_or(crate::error::Error::CodeLength { expected: nb + nl, got })?;
        let n = N::FORMAT.read(b)?;
        crate::error::stored_norm(n, "Normalized: norm is negative, not finite or above MAX_NORM")
    }
}

impl<C: Codec, N: NormStore> Codec for Normalized<C, N> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn code_len(&self) -> usize {
        self.inner.code_len() + N::FORMAT.bytes()
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`](crate::Error::NonFinite) on NaN/inf input or an
    /// overflowing norm; whatever `C` returns.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        self.encode_with_sum(x, crate::simd::sum_sq_f64(x), code)
    }
    /// `C`'s fused kernel where it has one ([`Codec::encode_normalized_rows`]); else the norms of
    /// 64 rows at a time ([`simd::sum_sq_f64_rows`](crate::simd::sum_sq_f64_rows): four rows'
    /// dependency chains interleaved), then each direction through `C`'s scaled encoder. Same
    /// codes as [`encode_into`](Codec::encode_into) row by row; on error, every earlier row is
    /// written.
    ///
    /// # Errors
    /// As [`encode_into`](Codec::encode_into), and wrong batch lengths.
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.dim(), self.code_len());
        let n = crate::codec::batch_rows(xs.len(), d)?;
        check_code(n * c, codes.len())?;
        if d == 0 {
            return Ok(());
        }
        if let Some(r) = self.inner.encode_normalized_rows(xs, codes, c, &mut Self::write_norm) {
            return r;
        }
        let mut ss = [0.0f64; 64];
        for (xb, cb) in xs.chunks(64 * d).zip(codes.chunks_mut(64 * c)) {
            let rows = xb.len() / d;
            crate::simd::sum_sq_f64_rows(xb, d, &mut ss[..rows]);
            for ((x, code), &s) in xb.chunks_exact(d).zip(cb.chunks_exact_mut(c)).zip(&ss[..rows]) {
                self.encode_with_sum(x, s, code)?;
            }
        }
        Ok(())
    }
}

impl<C: Decode, N: NormStore> Decode for Normalized<C, N> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        let norm = self.norm_of(code)?;
        self.inner.decode_into(&code[..self.inner.code_len()], out)?;
        out.iter_mut().for_each(|o| *o *= norm);
        finite_out(out)
    }
}

impl<C: Score, N: NormStore> Score for Normalized<C, N> {
    type Query<'s>
        = C::Query<'s>
    where
        Self: 's;

    /// `C`'s scratch.
    fn query_scratch_len(&self) -> usize {
        self.inner.query_scratch_len()
    }
    fn estimator(&self) -> Estimator {
        self.inner.estimator()
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        self.inner.prepare(q, scratch)
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let norm = self.norm_of(code)?;
        finite_score(norm * self.inner.score(q, &code[..self.inner.code_len()])?)
    }
    /// `C`'s batch kernel on the direction codes, then the norms.
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.score_batch_strided(q, codes, self.code_len(), 0, out)
    }
    /// `C`'s strided scan of the direction codes, then the norms.
    fn score_batch_strided(
        &self,
        q: &Self::Query<'_>,
        codes: &[u8],
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) -> Result<()> {
        let cl = crate::codec::check_strided(self.code_len(), codes.len(), stride, at, out.len())?;
        score_part_batch(&self.inner, q, codes, stride, at, out, |s, code| Ok(self.norm_of(&code[at..at + cl])? * s))
    }
}

/// [`Normalized`] with the inner-product-corrected scalar: the code is `C.code(u) ‖ s` with
/// `u = x/‖x‖`, `û = C.decode(C.code(u))` and `s = ‖x‖ / ⟨u, û⟩` (little-endian `f32`), the
/// same layout and size as [`Normalized`] (bits per dimension: `C`'s plus `32/d`).
///
/// Score: `s · C.score(q) = ‖x‖·⟨q, û⟩/⟨u, û⟩` — the RaBitQ-style ratio estimator, which corrects
/// the shrinkage of the quantized direction along `x`. It is exact for `q ∥ x`, not unbiased in
/// general ([`Estimator::Biased`]), and ranks better than `⟨q, x̂⟩` at low rates. Decode returns
/// `s · û`, whose norm is inflated by `1/⟨u, û⟩` (a higher MSE than [`Normalized`]: use that
/// codec where reconstructions matter). Where `⟨u, û⟩ ≤ 0` or `s` would exceed
/// [`MAX_NORM`](crate::MAX_NORM), `s = ‖x‖`. A zero vector stores 0.
#[derive(Clone, Debug, PartialEq)]
pub struct IpNormalized<C> {
    /// The plain norm-factoring codec with the same code layout (decode and score go through it).
    pub normalized: Normalized<C>,
}

impl<C: Decode> IpNormalized<C> {
    /// Wraps `inner`.
    pub fn new(inner: C) -> Self {
        IpNormalized { normalized: Normalized::new(inner) }
    }
}

impl<C: Decode> Codec for IpNormalized<C> {
    fn dim(&self) -> usize {
        self.normalized.dim()
    }
    fn code_len(&self) -> usize {
        self.normalized.code_len()
    }
    /// # Errors
    /// As [`Normalized`]'s encoder; whatever `C`'s decoder returns.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        self.normalized.encode_into(x, code)?;
        let inner = &self.normalized.inner;
        let (ci, cn) = code.split_at_mut(inner.code_len());
        let norm = f32::from_le_bytes([cn[0], cn[1], cn[2], cn[3]]);
        if norm == 0.0 {
            return Ok(());
        }
        let d = self.dim();
        let cos = with_buf(d, |u| {
            inner.decode_into(ci, u)?;
            // ⟨x, û⟩ / ‖x‖ = ⟨u, û⟩.
            Ok(crate::simd::dot_fixed(x, u) / norm)
        })?;
        let s = norm / cos;
        if cos > 0.0 && s.is_finite() && s <= crate::MAX_NORM {
            cn.copy_from_slice(&s.to_le_bytes());
        }
        Ok(())
    }
}

impl<C: Decode> Decode for IpNormalized<C> {
    forward_decode!(normalized);
}

impl<C: Decode + Score> Score for IpNormalized<C> {
    type Query<'s>
        = C::Query<'s>
    where
        Self: 's;

    forward_score!(normalized);
    /// [`Estimator::Biased`]: a ratio estimator (exact for queries parallel to `x`).
    fn estimator(&self) -> Estimator {
        Estimator::Biased
    }
}

/// Centring: `C` codes `x − μ` for a fixed vector `μ` (typically the mean of the training data,
/// [`Centered::train_mean`]), stored once as `M: AsRef<[f32]>` (a `Vec<f32>` under `alloc`, a
/// borrowed or fixed array without).
///
/// Code: `C.code(x − μ)`, nothing else per vector (bits per dimension: `C`'s; `μ` is a parameter).
/// Decode: `C.decode + μ`. Score: `⟨q, μ⟩ + C.score(q)`, with `⟨q, μ⟩` computed once per query,
/// so the estimator is `C`'s (adding an exact constant keeps an unbiased or reconstruction-exact
/// score so). Centring helps any codec whose error grows with `‖x‖` (norm-factored, RaBitQ-style
/// ratio estimators): embeddings share a large common component that then costs no bits.
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// use vector_codecs::compose::Centered;
/// use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
/// use vector_codecs::{Codec, Decode, Score};
/// let c = Centered::new(FloatCodec::new(2, FloatFormat::F16).unwrap(), vec![10.0f32, -10.0]).unwrap();
/// let mut code = vec![0u8; c.code_len()];
/// c.encode_into(&[11.0, -12.0], &mut code).unwrap(); // f16 stores (1, -2)
/// let mut out = [0.0f32; 2];
/// c.decode_into(&code, &mut out).unwrap();
/// assert_eq!(out, [11.0, -12.0]);
/// let mut scratch = c.scratch();
/// let q = c.prepare(&[1.0, 1.0], &mut scratch).unwrap();
/// assert_eq!(c.score(&q, &code).unwrap(), -1.0); // ⟨q, μ⟩ + ⟨q, (1, -2)⟩ = 0 − 1
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Centered<C, M> {
    /// The codec of the centred vector `x − μ`.
    pub inner: C,
    mean: M,
}

/// A prepared [`Centered`] query: the inner query and `⟨q, μ⟩`.
#[derive(Clone, Copy, Debug)]
pub struct CenteredQuery<Q> {
    inner: Q,
    q_mean: f32,
}

impl<Q> CenteredQuery<Q> {
    /// The inner codec's query (of `q` itself: the inner codec scores `⟨q, x − μ⟩`).
    pub fn inner(&self) -> &Q {
        &self.inner
    }
    /// `⟨q, μ⟩`, added to every inner score.
    pub fn q_mean(&self) -> f32 {
        self.q_mean
    }
}

impl<C: Codec, M: AsRef<[f32]>> Centered<C, M> {
    /// Centres `inner`'s input on `mean`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if `mean.len() != inner.dim()`;
    /// [`Error::NonFinite`](crate::Error::NonFinite) if `mean` has NaN/inf.
    pub fn new(inner: C, mean: M) -> Result<Self> {
        check_dim(inner.dim(), mean.as_ref().len())?;
        crate::error::check_finite(mean.as_ref())?;
        Ok(Centered { inner, mean })
    }

    /// The centre `μ`.
    pub fn mean(&self) -> &[f32] {
        self.mean.as_ref()
    }

    /// A view of this codec borrowing its mean (the inner codec cloned): same codes and scores.
    pub fn view(&self) -> Centered<C, &[f32]>
    where
        C: Clone,
    {
        Centered { inner: self.inner.clone(), mean: self.mean.as_ref() }
    }
}

/// Loading without an allocator: the mean is copied into caller storage
/// ([`restore_in`](Centered::restore_in)) or borrowed in place from the bytes
/// ([`view_in`](Centered::view_in)); the inner codec is read with its own
/// [`Persist::restore`](crate::persist::Persist::restore), so it must not need an allocator
/// itself. The fields are those of the owned [`Persist`](crate::persist::Persist): `u32 n`,
/// `f32 mean[n]`, then `C`'s; the same bytes give the same errors.
impl<'a, C: Codec + crate::persist::Persist> Centered<C, &'a [f32]> {
    /// Byte offset of the mean in a container whose payload starts with these fields (the
    /// 12-byte container header, then `u32 n`): a zero-copy [`view_in`](Self::view_in) needs the
    /// container placed at an address `≡ −VIEW_FLOATS_AT (mod 4)` (here 0 mod 4).
    pub const VIEW_FLOATS_AT: usize = crate::format::HEADER_LEN + 4;

    /// Floats of caller storage [`restore_in`](Self::restore_in) needs for the fields at the
    /// reader's position (the mean's length), read without consuming.
    ///
    /// # Errors
    /// [`Error::Truncated`](crate::Error::Truncated); [`Error::Corrupt`](crate::Error::Corrupt)
    /// for a length above [`persist::MAX_DIM`](crate::persist::MAX_DIM).
    pub fn storage_len(r: &crate::format::Reader<'_>) -> Result<usize> {
        r.clone().count(crate::persist::MAX_DIM, "centring mean length")
    }

    /// Reads the fields with the mean copied (little-endian `f32`, any alignment) into the front
    /// of `storage` and borrowed.
    ///
    /// # Errors
    /// [`Error::Truncated`](crate::Error::Truncated); [`Error::Corrupt`](crate::Error::Corrupt)
    /// for a non-finite mean; [`Error::BufferTooSmall`](crate::Error::BufferTooSmall) if
    /// `storage` holds fewer than [`storage_len`](Self::storage_len) floats; `C::restore`'s
    /// errors; [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if the mean's length
    /// is not `C`'s dimension.
    pub fn restore_in(r: &mut crate::format::Reader<'_>, storage: &'a mut [f32]) -> Result<Self> {
        let n = r.u32()? as usize;
        // The bytes left are checked before the storage size (the owned path's error order).
        r.finite_f32_into(n, storage, "non-finite centring mean")?;
        let inner = C::restore(r)?;
        Centered::new(inner, &storage[..n])
    }

    /// Reads the fields as a zero-copy view: the mean is borrowed in place from the reader's
    /// bytes (flash, a memory-mapped file).
    ///
    /// # Errors
    /// As [`restore_in`](Self::restore_in) (without `BufferTooSmall`), and
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) if the mean is not 4-byte
    /// aligned in memory (see [`VIEW_FLOATS_AT`](Self::VIEW_FLOATS_AT)) or the target is
    /// big-endian: the bytes are valid, load them with [`restore_in`](Self::restore_in) then.
    pub fn view_in(r: &mut crate::format::Reader<'a>) -> Result<Self> {
        let n = r.u32()? as usize;
        let mean = r.finite_f32_view(n, "non-finite centring mean")?;
        let inner = C::restore(r)?;
        Centered::new(inner, mean)
    }
}

#[cfg(feature = "alloc")]
impl<C: Codec> Centered<C, alloc::vec::Vec<f32>> {
    /// Centres `inner` on the mean of the rows of `data` (`n × inner.dim()`, row-major), summed
    /// in `f64`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if `data.len()` is not a
    /// multiple of the dimension; [`Error::NotEnoughData`](crate::Error::NotEnoughData) for no
    /// rows; [`Error::NonFinite`](crate::Error::NonFinite) for NaN/inf data.
    pub fn train_mean(inner: C, data: &[f32]) -> Result<Self> {
        let d = inner.dim();
        let n = crate::codec::batch_rows(data.len(), d)?;
        if n == 0 || d == 0 {
            return Err(crate::error::Error::NotEnoughData { needed: 1, got: n });
        }
        crate::error::check_finite(data)?;
        Centered::new(inner, crate::train::column_mean(data, d))
    }
}

impl<C: Codec, M: AsRef<[f32]>> Codec for Centered<C, M> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn code_len(&self) -> usize {
        self.inner.code_len()
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`](crate::Error::NonFinite) on NaN/inf input (or an
    /// overflowing difference); whatever `C` returns.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        crate::error::check_finite(x)?;
        with_buf(self.dim(), |r| {
            for ((o, &v), &m) in r.iter_mut().zip(x).zip(self.mean.as_ref()) {
                *o = v - m;
            }
            self.inner.encode_into(r, code)
        })
    }
    /// Blocks of rows (up to 64 under `alloc`, else as many as fit in [`STACK_DIM`] floats, at
    /// most 16) are centred into one buffer and encoded with `C::encode_batch` (so a batched inner transform, e.g. the
    /// blocked PCA product, is used). Codes are identical to `encode_into`'s; a block with a
    /// non-finite row is encoded row by row, so errors (and the rows written before one) are as
    /// `encode_into`'s.
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.dim(), self.code_len());
        let n = crate::codec::batch_rows(xs.len(), d)?;
        check_code(n * c, codes.len())?;
        if c == 0 || d == 0 {
            return Ok(());
        }
        let rows = batch_block_rows(n, d, 64);
        let mean = self.mean.as_ref();
        with_buf(rows * d, |r| {
            for (xb, cb) in xs.chunks(rows * d).zip(codes.chunks_mut(rows * c)) {
                if xb.iter().any(|v| !v.is_finite()) {
                    for (x, code) in xb.chunks_exact(d).zip(cb.chunks_exact_mut(c)) {
                        self.encode_into(x, code)?;
                    }
                    continue;
                }
                let rb = &mut r[..xb.len()];
                for (rr, x) in rb.chunks_exact_mut(d).zip(xb.chunks_exact(d)) {
                    for ((o, &v), &m) in rr.iter_mut().zip(x).zip(mean) {
                        *o = v - m;
                    }
                }
                self.inner.encode_batch(rb, cb)?;
            }
            Ok(())
        })
    }
}

impl<C: Decode, M: AsRef<[f32]>> Decode for Centered<C, M> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.decode_into(code, out)?;
        for (o, &m) in out.iter_mut().zip(self.mean.as_ref()) {
            *o += m;
        }
        finite_out(out)
    }
    /// `C::decode_batch` (e.g. [`Rotated`]'s blocked inverse transform), then the mean added
    /// to each row: the same values as `decode_into` per code. On error `out` may be partly
    /// written.
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let d = self.dim();
        let n = crate::codec::batch_rows(codes.len(), self.code_len())?;
        check_dim(n * d, out.len())?;
        if d == 0 {
            return Ok(());
        }
        self.inner.decode_batch(codes, out)?;
        for row in out.chunks_exact_mut(d) {
            for (o, &m) in row.iter_mut().zip(self.mean.as_ref()) {
                *o += m;
            }
        }
        finite_out(out)
    }
}

/// Any mean storage, borrowed too (a zero-copy view over flash scores without an allocator).
impl<C: Score, M: AsRef<[f32]>> Score for Centered<C, M> {
    type Query<'s>
        = CenteredQuery<C::Query<'s>>
    where
        Self: 's;

    /// `C`'s scratch.
    fn query_scratch_len(&self) -> usize {
        self.inner.query_scratch_len()
    }
    fn estimator(&self) -> Estimator {
        self.inner.estimator()
    }
    /// # Errors
    /// As `C`'s; [`Error::NonFinite`](crate::Error::NonFinite) if `⟨q, μ⟩` overflows.
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim(), q.len())?;
        crate::error::check_finite(q)?;
        let q_mean = crate::simd::dot(q, self.mean.as_ref());
        if !q_mean.is_finite() {
            return Err(crate::error::Error::NonFinite);
        }
        Ok(CenteredQuery { inner: self.inner.prepare(q, scratch)?, q_mean })
    }
    fn score(&self, q: &CenteredQuery<C::Query<'_>>, code: &[u8]) -> Result<f32> {
        finite_score(q.q_mean + self.inner.score(&q.inner, code)?)
    }
    fn score_batch(&self, q: &CenteredQuery<C::Query<'_>>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.score_batch(&q.inner, codes, out)?;
        add_mean(out, q.q_mean)
    }
    fn score_batch_strided(
        &self,
        q: &CenteredQuery<C::Query<'_>>,
        codes: &[u8],
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) -> Result<()> {
        self.inner.score_batch_strided(&q.inner, codes, stride, at, out)?;
        add_mean(out, q.q_mean)
    }
}

/// Adds `⟨q, μ⟩` to every score in one pass (no early exit, so it vectorizes), then refuses any
/// non-finite score.
fn add_mean(out: &mut [f32], q_mean: f32) -> Result<()> {
    let mut finite = true;
    for o in out.iter_mut() {
        *o += q_mean;
        finite &= o.is_finite();
    }
    if finite { Ok(()) } else { Err(crate::Error::Corrupt("composed score is not finite")) }
}

/// Per-coordinate scaling: `C` codes `s ⊙ x` for fixed positive scales `s` (stored as
/// `S: AsRef<[f32]>`), and the query is scaled by `1/s`, so `⟨q ⊘ s, s ⊙ x⟩ = ⟨q, x⟩`.
///
/// Code: `C.code(s ⊙ x)` (bits per dimension: `C`'s). Decode: `C.decode ⊘ s`. Score:
/// `C.score(q ⊘ s)`; the estimator is `C`'s. With `C` a fixed per-coordinate codebook this
/// matches each coordinate's spread to the codebook's (the per-coordinate half of a data
/// calibration; [`Centered`] is the other half): in the rotated domain of TurboQuant the
/// coordinates of anisotropic data do not all have the variance `1/d` the codebook assumes.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaled<C, S> {
    /// The codec of the scaled vector `s ⊙ x`.
    pub inner: C,
    scales: S,
}

impl<C: Codec, S: AsRef<[f32]>> Scaled<C, S> {
    /// Scales `inner`'s input by `scales`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if `scales.len() !=
    /// inner.dim()`; [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless every
    /// scale is finite, positive, and has a finite reciprocal.
    pub fn new(inner: C, scales: S) -> Result<Self> {
        check_dim(inner.dim(), scales.as_ref().len())?;
        if !scales.as_ref().iter().all(|&s| s > 0.0 && s.is_finite() && (1.0 / s).is_finite()) {
            return Err(crate::error::Error::InvalidParameter("Scaled: scales must be positive and finite"));
        }
        Ok(Scaled { inner, scales })
    }

    /// The scales `s`.
    pub fn scales(&self) -> &[f32] {
        self.scales.as_ref()
    }
}

impl<C: Codec, S: AsRef<[f32]>> Codec for Scaled<C, S> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn code_len(&self) -> usize {
        self.inner.code_len()
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`](crate::Error::NonFinite) on NaN/inf input or an
    /// overflowing product; whatever `C` returns.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        with_buf(self.dim(), |r| {
            for ((o, &v), &s) in r.iter_mut().zip(x).zip(self.scales.as_ref()) {
                *o = v * s;
            }
            crate::error::check_finite(r)?;
            self.inner.encode_into(r, code)
        })
    }
}

impl<C: Decode, S: AsRef<[f32]>> Decode for Scaled<C, S> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.decode_into(code, out)?;
        for (o, &s) in out.iter_mut().zip(self.scales.as_ref()) {
            *o /= s;
        }
        finite_out(out)
    }
}

/// `S` must be `'static` (owned storage), as for [`Rotated`].
impl<C: Score, S: AsRef<[f32]> + 'static> Score for Scaled<C, S> {
    type Query<'s>
        = C::Query<'s>
    where
        Self: 's;

    /// `dim` words for `q ⊘ s`, then `C`'s scratch.
    fn query_scratch_len(&self) -> usize {
        self.dim() + self.inner.query_scratch_len()
    }
    fn estimator(&self) -> Estimator {
        self.inner.estimator()
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`](crate::Error::NonFinite) if `q ⊘ s` is not finite;
    /// as `C`'s.
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim(), q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        let (qs, rest) = scratch.split_at_mut(self.dim());
        for ((o, &v), &s) in qs.iter_mut().zip(q).zip(self.scales.as_ref()) {
            *o = v / s;
        }
        crate::error::check_finite(qs)?;
        self.inner.prepare(qs, rest)
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        self.inner.score(q, code)
    }
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.score_batch(q, codes, out)
    }
    fn lut_segments<'q>(&self, q: &'q Self::Query<'_>, at: usize, segs: &mut crate::simd::LutSegs<'q>) -> bool {
        self.inner.lut_segments(q, at, segs)
    }
    fn score_batch_strided(
        &self,
        q: &Self::Query<'_>,
        codes: &[u8],
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) -> Result<()> {
        self.inner.score_batch_strided(q, codes, stride, at, out)
    }
}

// ---------------------------------------------------------------------------------------------
// Scan modes: every wrapper forwards the choice to the codec inside it (both stages for the
// two-part wrappers, where the second stage has a mode too).
// ---------------------------------------------------------------------------------------------

use crate::codec::{ScanMode, ScanModes};

impl<T: Transform + 'static, C: ScanModes> ScanModes for Rotated<T, C> {
    fn scan_mode(&self) -> ScanMode {
        self.inner.scan_mode()
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Ok(Rotated { transform: self.transform, inner: self.inner.with_scan(mode)? })
    }
}

impl<C: ScanModes, N: NormStore> ScanModes for Normalized<C, N> {
    fn scan_mode(&self) -> ScanMode {
        self.inner.scan_mode()
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Ok(Normalized { inner: self.inner.with_scan(mode)?, norm: self.norm })
    }
}

impl<C: Decode + ScanModes> ScanModes for IpNormalized<C> {
    fn scan_mode(&self) -> ScanMode {
        self.normalized.scan_mode()
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Ok(IpNormalized { normalized: self.normalized.with_scan(mode)? })
    }
}

/// Both halves take the mode.
impl<A: ScanModes, B: ScanModes> ScanModes for Split<A, B> {
    fn scan_mode(&self) -> ScanMode {
        self.first.scan_mode()
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Split::new(self.first.with_scan(mode)?, self.second.with_scan(mode)?)
    }
}

impl<C: ScanModes, M: AsRef<[f32]>> ScanModes for Centered<C, M> {
    fn scan_mode(&self) -> ScanMode {
        self.inner.scan_mode()
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Centered::new(self.inner.with_scan(mode)?, self.mean)
    }
}

impl<C: ScanModes, S: AsRef<[f32]> + 'static> ScanModes for Scaled<C, S> {
    fn scan_mode(&self) -> ScanMode {
        self.inner.scan_mode()
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Scaled::new(self.inner.with_scan(mode)?, self.scales)
    }
}

/// [`Persist`](crate::persist::Persist) for the wrappers: each persists generically as its parts
/// in order (a transform or mean/scales first, then the inner codecs).
mod persist_impls {
    #[cfg(feature = "alloc")]
    use super::{Centered, Scaled};
    use super::{IpNormalized, Normalized, Residual, Rotated, Split};
    use crate::error::Result;
    use crate::format::Reader;
    #[cfg(feature = "alloc")]
    use crate::format::Writer;
    use crate::persist::Persist;
    #[cfg(feature = "alloc")]
    use crate::persist::{read_f32s, write_f32s};
    use crate::transform::Transform;

    impl<T: Transform + Persist, C: crate::Codec + Persist> Persist for Rotated<T, C> {
        #[cfg(feature = "alloc")]
        fn persist(&self, w: &mut Writer) {
            self.transform.persist(w);
            self.inner.persist(w);
        }
        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            let t = T::restore(r)?;
            Rotated::new(t, C::restore(r)?)
        }
    }

    /// The two-part wrappers: the first part's block, then the second's.
    macro_rules! persist_pair {
        ($ty:ident, $first:path) => {
            impl<A: $first + Persist, B: crate::Codec + Persist> Persist for $ty<A, B> {
                #[cfg(feature = "alloc")]
                fn persist(&self, w: &mut Writer) {
                    self.first.persist(w);
                    self.second.persist(w);
                }
                fn restore(r: &mut Reader<'_>) -> Result<Self> {
                    let a = A::restore(r)?;
                    $ty::new(a, B::restore(r)?)
                }
            }
        };
    }
    persist_pair!(Residual, crate::Decode);
    persist_pair!(Split, crate::Codec);

    /// The inner codec's fields only: the norm format is the type (`N`), as the codec type
    /// itself is chosen by the configuration name.
    impl<C: crate::Codec + Persist, N: super::NormStore> Persist for Normalized<C, N> {
        #[cfg(feature = "alloc")]
        fn persist(&self, w: &mut Writer) {
            self.inner.persist(w);
        }
        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            Ok(Normalized::with_norm(C::restore(r)?))
        }
    }

    impl<C: crate::Decode + Persist> Persist for IpNormalized<C> {
        #[cfg(feature = "alloc")]
        fn persist(&self, w: &mut Writer) {
            self.normalized.inner.persist(w);
        }
        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            Ok(IpNormalized::new(C::restore(r)?))
        }
    }

    #[cfg(feature = "alloc")]
    impl<C: crate::Codec + Persist> Persist for Centered<C, alloc::vec::Vec<f32>> {
        fn persist(&self, w: &mut Writer) {
            write_f32s(w, self.mean());
            self.inner.persist(w);
        }
        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            let mean = read_f32s(r, "non-finite centring mean")?;
            Centered::new(C::restore(r)?, mean)
        }
    }

    #[cfg(feature = "alloc")]
    impl<C: crate::Codec + Persist> Persist for Scaled<C, alloc::vec::Vec<f32>> {
        fn persist(&self, w: &mut Writer) {
            write_f32s(w, self.scales());
            self.inner.persist(w);
        }
        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            let scales = read_f32s(r, "non-finite scale")?;
            Scaled::new(C::restore(r)?, scales)
        }
    }
}
