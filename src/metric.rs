//! Similarity metrics — inner product, squared L2, cosine — and [`WithNorm`], the one wrapper that
//! gives every inner-product scorer the other two.
//!
//! Every scorer of the crate estimates `⟨q, x⟩`. Squared L2 and cosine need one more number per
//! vector, a squared norm, which [`WithNorm`] appends to the inner codec's code as a little-endian
//! `f32` (32 bits per vector more):
//!
//! | metric | score (larger = more similar) |
//! |---|---|
//! | [`Metric::InnerProduct`] | `s = ⟨q, x⟩` estimate of the inner codec (no norm stored) |
//! | [`Metric::L2`] | `−(‖q‖² − 2s + n²)`, the negated squared distance |
//! | [`Metric::Cosine`] | `s / (‖q‖·n)` (0 when either norm is 0) |
//!
//! The stored norm `n` is the norm of the **reconstruction** `x̂` when the inner codec's estimator
//! is [`Estimator::Reconstruction`] — then the L2 and cosine scores are exact on the
//! reconstruction, like the inner product — and the norm of the input `x` otherwise (an unbiased
//! inner product then gives an unbiased squared distance).
//!
//! Norms are computed in `f64` in a fixed sequential order, so the appended bytes are the same on
//! every SIMD backend and target.

use crate::buf::with_buf;
use crate::codec::{Codec, Decode, Estimator, Score, check_scratch};
use crate::error::{Error, Result, check_code, check_dim};

/// A similarity metric. Scores are always "larger is more similar".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Inner product `⟨q, x⟩`.
    #[default]
    InnerProduct,
    /// Squared Euclidean distance; the score is its negation `−‖q − x‖²`.
    L2,
    /// Cosine similarity `⟨q, x⟩ / (‖q‖‖x‖)`.
    Cosine,
}

impl Metric {
    /// Parses `ip` / `inner_product`, `l2`, `cos` / `cosine` (case-insensitive, FAISS's
    /// `METRIC_INNER_PRODUCT` / `METRIC_L2` spellings too).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        let eq = |a: &str| s.eq_ignore_ascii_case(a);
        if eq("ip") || eq("inner_product") || eq("metric_inner_product") || eq("dot") {
            Ok(Metric::InnerProduct)
        } else if eq("l2") || eq("metric_l2") || eq("euclidean") {
            Ok(Metric::L2)
        } else if eq("cos") || eq("cosine") {
            Ok(Metric::Cosine)
        } else {
            Err(Error::InvalidParameter("unknown metric (ip, l2, cos)"))
        }
    }

    /// The short name: `ip`, `l2` or `cos`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::InnerProduct => "ip",
            Metric::L2 => "l2",
            Metric::Cosine => "cos",
        }
    }

    /// The tag stored in saved codecs (0, 1, 2).
    pub fn tag(self) -> u8 {
        match self {
            Metric::InnerProduct => 0,
            Metric::L2 => 1,
            Metric::Cosine => 2,
        }
    }

    /// The metric of a stored tag.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for an unknown tag.
    pub fn from_tag(tag: u8) -> Result<Self> {
        match tag {
            0 => Ok(Metric::InnerProduct),
            1 => Ok(Metric::L2),
            2 => Ok(Metric::Cosine),
            _ => Err(Error::Corrupt("unknown metric tag")),
        }
    }

    /// The exact score of `x` for query `q` in this metric (the reference the codecs estimate).
    /// Sums run in `f64`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the lengths differ.
    pub fn exact(self, q: &[f32], x: &[f32]) -> Result<f32> {
        check_dim(q.len(), x.len())?;
        let (mut qx, mut qq, mut xx) = (0f64, 0f64, 0f64);
        for (&a, &b) in q.iter().zip(x) {
            let (a, b) = (f64::from(a), f64::from(b));
            qx += a * b;
            qq += a * a;
            xx += b * b;
        }
        Ok(self.combine(qx, qq, xx) as f32)
    }

    /// The score from an inner product `qx` and the squared norms `qq`, `xx`.
    #[inline]
    fn combine(self, qx: f64, qq: f64, xx: f64) -> f64 {
        match self {
            Metric::InnerProduct => qx,
            Metric::L2 => -(qq - 2.0 * qx + xx),
            Metric::Cosine => {
                let den = libm::sqrt(qq * xx);
                if den > 0.0 { qx / den } else { 0.0 }
            }
        }
    }
}

/// Squared norm in `f64`, summed sequentially (the same bits on every backend).
pub(crate) fn norm2_f64(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// An inner-product scorer `C` turned into an L2 or cosine scorer by appending a squared norm to
/// every code (see the module docs).
///
/// Code: `C`'s code, then `‖x̂‖²` (or `‖x‖²`, see the module docs) as a little-endian `f32`; bits
/// per dimension: `C`'s `+ 32/d`. Estimator: `C`'s for L2 (the norm term is exact);
/// [`Estimator::Biased`] for cosine unless `C` is exact on the reconstruction (a ratio).
/// With [`Metric::InnerProduct`] the norm is stored but not used.
#[derive(Clone, Debug, PartialEq)]
pub struct WithNorm<C> {
    /// The inner-product codec.
    pub inner: C,
    /// The metric scores are computed in.
    pub metric: Metric,
}

/// A prepared query of [`WithNorm`].
pub struct WithNormQuery<Q> {
    inner: Q,
    qq: f64,
}

impl<C: Decode + Score> WithNorm<C> {
    /// Wraps `inner` for `metric`.
    pub fn new(inner: C, metric: Metric) -> Self {
        WithNorm { inner, metric }
    }

    fn norm_of_reconstruction(&self) -> bool {
        self.inner.estimator() == Estimator::Reconstruction
    }

    /// Reads and validates the stored squared norm of a code.
    fn stored_norm2(&self, code: &[u8]) -> Result<f64> {
        let c = self.inner.code_len();
        let b: [u8; 4] = code[c..c + 4].try_into().map_err(|_| Error::Truncated)?;
        let n = f32::from_le_bytes(b);
        if !n.is_finite() || n < 0.0 {
            return Err(Error::Corrupt("stored squared norm is negative or not finite"));
        }
        Ok(f64::from(n))
    }

    fn finish(&self, q: &WithNormQuery<C::Query<'_>>, s: f32, code: &[u8]) -> Result<f32> {
        let xx = self.stored_norm2(code)?;
        Ok(self.metric.combine(f64::from(s), q.qq, xx) as f32)
    }
}

impl<C: Decode + Score> Codec for WithNorm<C> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn code_len(&self) -> usize {
        self.inner.code_len() + 4
    }
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        let (head, tail) = code.split_at_mut(self.inner.code_len());
        self.inner.encode_into(x, head)?;
        let n2 = if self.norm_of_reconstruction() {
            with_buf(self.dim(), |y| {
                self.inner.decode_into(head, y)?;
                Ok(norm2_f64(y))
            })?
        } else {
            norm2_f64(x)
        };
        let n2 = n2 as f32;
        if !n2.is_finite() {
            return Err(Error::Overflow);
        }
        tail.copy_from_slice(&n2.to_le_bytes());
        Ok(())
    }
}

impl<C: Decode + Score> Decode for WithNorm<C> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        self.stored_norm2(code)?;
        self.inner.decode_into(&code[..self.inner.code_len()], out)
    }
}

/// Batches run `C`'s batch kernel on the inner codes (gathered into a stack buffer, see
/// `compose::score_part_batch`), then combine each score with its stored norm.
impl<C: Decode + Score> Score for WithNorm<C> {
    type Query<'s>
        = WithNormQuery<C::Query<'s>>
    where
        Self: 's;

    fn query_scratch_len(&self) -> usize {
        self.inner.query_scratch_len()
    }
    fn estimator(&self) -> Estimator {
        match (self.metric, self.inner.estimator()) {
            (Metric::Cosine, Estimator::Reconstruction) => Estimator::Reconstruction,
            (Metric::Cosine, _) => Estimator::Biased,
            (_, e) => e,
        }
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim(), q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        let qq = norm2_f64(q);
        Ok(WithNormQuery { inner: self.inner.prepare(q, scratch)?, qq })
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let s = self.inner.score(&q.inner, &code[..self.inner.code_len()])?;
        self.finish(q, s, code)
    }
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        crate::compose::score_part_batch(&self.inner, &q.inner, codes, self.code_len(), 0, out, |s, code| {
            self.finish(q, s, code)
        })
    }
    /// `C`'s exact score combined with the stored norm, as [`score`](Score::score).
    fn score_exact(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let s = self.inner.score_exact(&q.inner, &code[..self.inner.code_len()])?;
        self.finish(q, s, code)
    }
    /// `C`'s factor: a re-ranked inner codec stays re-ranked under the norm.
    fn rerank_factor(&self) -> usize {
        self.inner.rerank_factor()
    }
}

impl<C: Decode + crate::codec::ScanModes> crate::codec::ScanModes for WithNorm<C> {
    fn scan_mode(&self) -> crate::codec::ScanMode {
        self.inner.scan_mode()
    }
    fn with_scan(self, mode: crate::codec::ScanMode) -> Result<Self> {
        Ok(WithNorm { inner: self.inner.with_scan(mode)?, metric: self.metric })
    }
}

mod persist_impls {
    use super::{Metric, WithNorm};
    use crate::error::Result;
    use crate::format::Reader;
    #[cfg(feature = "alloc")]
    use crate::format::Writer;
    use crate::persist::Persist;

    impl Persist for Metric {
        #[cfg(feature = "alloc")]
        fn persist(&self, w: &mut Writer) {
            w.u8(self.tag());
        }
        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            Metric::from_tag(r.u8()?)
        }
    }

    impl<C: crate::Decode + crate::Score + Persist> Persist for WithNorm<C> {
        #[cfg(feature = "alloc")]
        fn persist(&self, w: &mut Writer) {
            self.metric.persist(w);
            self.inner.persist(w);
        }
        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            let m = Metric::restore(r)?;
            Ok(WithNorm::new(C::restore(r)?, m))
        }
    }
}
