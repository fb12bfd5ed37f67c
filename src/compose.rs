//! Generic compositions of codecs through the crate traits, usable by downstream crates to
//! build their own codecs.
//!
//! * [`Rotated<T, C>`]: encode `C(T x)`, decode `Tᵀ C⁻¹(code)`, score by preparing `C`'s query on
//!   `T q`. With an orthogonal `T`, `⟨T q, T x⟩ = ⟨q, x⟩`, so `C`'s estimator carries over.
//! * [`Residual<A, B>`]: code `A.code ‖ B.code(x − A.decode(A.code))`, score `A.score + B.score`.
//!
//! Both need temporary vectors of the inner dimension while encoding and decoding. They are
//! taken from a stack buffer of [`STACK_DIM`] floats; larger dimensions use a heap buffer
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

use crate::codec::{Codec, Decode, Estimator, Score, check_scratch};
#[cfg(not(feature = "alloc"))]
use crate::error::Error;
use crate::error::{Result, check_code, check_dim};
use crate::transform::Transform;

/// Dimension up to which temporary vectors live on the stack (4096 floats = 16 KiB).
pub const STACK_DIM: usize = 4096;

/// Runs `f` with a zeroed temporary buffer of `n` floats (stack up to [`STACK_DIM`]).
pub(crate) fn with_buf<R>(n: usize, f: impl FnOnce(&mut [f32]) -> Result<R>) -> Result<R> {
    // A smaller buffer for common dimensions: zeroing 16 KiB on every call is measurable.
    if n <= 1024 {
        let mut buf = [0.0f32; 1024];
        return f(&mut buf[..n]);
    }
    if n <= STACK_DIM {
        let mut buf = [0.0f32; STACK_DIM];
        return f(&mut buf[..n]);
    }
    #[cfg(feature = "alloc")]
    {
        let mut v = alloc::vec![0.0f32; n];
        f(&mut v)
    }
    #[cfg(not(feature = "alloc"))]
    {
        Err(Error::InvalidParameter("compose: dimension above STACK_DIM needs the alloc feature"))
    }
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
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        with_buf(self.transform.dim_out(), |y| {
            self.transform.forward(x, y)?;
            self.inner.encode_into(y, code)
        })
    }
    /// As the default, with one temporary vector for the whole batch.
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.dim(), self.code_len());
        let n = crate::codec::batch_rows(xs.len(), d)?;
        check_code(n * c, codes.len())?;
        if c == 0 || d == 0 {
            return Ok(());
        }
        with_buf(self.transform.dim_out(), |y| {
            for (x, code) in xs.chunks_exact(d).zip(codes.chunks_exact_mut(c)) {
                self.transform.forward(x, y)?;
                self.inner.encode_into(y, code)?;
            }
            Ok(())
        })
    }
}

impl<T: Transform, C: Decode> Decode for Rotated<T, C> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        with_buf(self.transform.dim_out(), |y| {
            self.inner.decode_into(code, y)?;
            self.transform.transpose(y, out)
        })
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
        let cap = STACK_DIM;
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
        })
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
        check_scratch(self.query_scratch_len(), scratch.len())?;
        let (sa, sb) = scratch.split_at_mut(self.first.query_scratch_len());
        Ok((self.first.prepare(q, sa)?, self.second.prepare(q, sb)?))
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let (ca, cb) = code.split_at(self.first.code_len());
        Ok(self.first.score(&q.0, ca)? + self.second.score(&q.1, cb)?)
    }
}
