//! [`Outliers`]: the dense-and-sparse split (KVQuant) as one generic wrapper over any codec.

use alloc::vec::Vec;

use super::TokenBlock;
use crate::buf::with_buf;
use crate::codec::{Codec, Decode, Estimator, Score};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::scalar::float::{f16_from_f32, f16_to_f32};

/// A codec `C` with a fixed number of outliers per code stored apart (dense-and-sparse).
///
/// **Encoding** a vector `x` of `C`'s dimension `n` (a whole block for the block codecs):
///
/// 1. the reference of coordinate `i` is the mean of the coordinates `j ≡ i (mod period)` (the
///    mean of its channel over the block when `period = d` for a block of tokens), or 0 with
///    `period = 0`;
/// 2. the `count` coordinates farthest from their reference (ties to the lower index) are the
///    outliers; they are replaced by their reference — removed from the range the inner codec
///    sees — and `C` encodes the result;
/// 3. each outlier is stored as its index (`u16`, increasing) and the `f16` of its residual
///    `r_i = x_i − x̂_i` against `C`'s reconstruction.
///
/// **Decoding** is `C`'s reconstruction with `f16(r_i)` added at the outliers: exact at the
/// outliers up to the `f16` rounding of the residual (`|error| ≤ 2⁻¹¹·|r_i|` for normal
/// values), and `C`'s reconstruction of the cleaned vector everywhere else. Scores are `C`'s
/// plus `Σ q_i·f16(r_i)`, so the estimator is `C`'s.
///
/// **Bits per dimension**: `C`'s plus `32·count/n` (`count` pairs of 4 bytes per code). A
/// fixed fraction per block: `count = ⌈fraction·n⌉` (see [`Outliers::with_fraction`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Outliers<C> {
    inner: C,
    count: usize,
    period: usize,
}

impl<C: Codec> Outliers<C> {
    /// Wraps `inner`, storing `count` outliers per code measured against the mean of their
    /// class modulo `period` (0: against 0).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `n = inner.dim() ≤ 65536`, `count ≤ n` and
    /// `period ≤ n`.
    pub fn new(inner: C, count: usize, period: usize) -> Result<Self> {
        let n = inner.dim();
        if n > crate::persist::MAX_DIM {
            return Err(Error::InvalidParameter("Outliers: dimension above 65536"));
        }
        if count > n || period > n {
            return Err(Error::InvalidParameter("Outliers: count and period must be at most the dimension"));
        }
        Ok(Outliers { inner, count, period })
    }

    /// Wraps `inner` with `count = ⌈fraction·n⌉` outliers per code.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 ≤ fraction ≤ 1`; as [`Outliers::new`].
    pub fn with_fraction(inner: C, fraction: f64, period: usize) -> Result<Self> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(Error::InvalidParameter("Outliers: fraction must be in [0, 1]"));
        }
        let count = libm::ceil(fraction * inner.dim() as f64 - 1e-9).max(0.0) as usize;
        Outliers::new(inner, count, period)
    }

    /// The inner codec.
    pub fn inner(&self) -> &C {
        &self.inner
    }
    /// Outliers per code.
    pub fn count(&self) -> usize {
        self.count
    }
    /// The reference period (0: references are 0).
    pub fn period(&self) -> usize {
        self.period
    }

    /// Calls `f(index, residual)` for every stored outlier of `code`, after checking them.
    fn for_each(&self, code: &[u8], mut f: impl FnMut(usize, f32)) -> Result<()> {
        let n = self.inner.dim();
        let mut prev: Option<usize> = None;
        for pair in code[self.inner.code_len()..].chunks_exact(4) {
            let i = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
            if i >= n || prev.is_some_and(|p| i <= p) {
                return Err(Error::Corrupt("Outliers: indices not increasing or out of range"));
            }
            prev = Some(i);
            let r = f16_to_f32(u16::from_le_bytes([pair[2], pair[3]]));
            if !r.is_finite() {
                return Err(Error::Corrupt("Outliers: residual not finite"));
            }
            f(i, r);
        }
        Ok(())
    }
}

impl<C: Decode> Codec for Outliers<C> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn code_len(&self) -> usize {
        self.inner.code_len() + 4 * self.count
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf; [`Error::Overflow`] if a residual is
    /// beyond `f16`'s range (65504); whatever `C` returns.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        let n = self.dim();
        check_dim(n, x.len())?;
        check_code(self.code_len(), code.len())?;
        check_finite(x)?;
        let (ci, co) = code.split_at_mut(self.inner.code_len());
        with_buf(n, |clean| {
            // References: class means modulo the period.
            clean.fill(0.0);
            if self.period > 0 {
                let p = self.period;
                with_buf(p, |m| {
                    for (i, &v) in x.iter().enumerate() {
                        m[i % p] += v;
                    }
                    for (j, mj) in m.iter_mut().enumerate() {
                        let k = (n - j).div_ceil(p).max(1);
                        *mj /= k as f32;
                    }
                    for (i, c) in clean.iter_mut().enumerate() {
                        *c = m[i % p];
                    }
                    Ok(())
                })?;
            }
            // The `count`-th largest deviation, then the outliers in index order.
            let th = with_buf(n, |dev| {
                for ((d, &v), &r) in dev.iter_mut().zip(x).zip(clean.iter()) {
                    *d = libm::fabsf(v - r);
                }
                if self.count == 0 {
                    return Ok(f32::INFINITY);
                }
                let k = self.count - 1;
                dev.select_nth_unstable_by(k, |a, b| b.total_cmp(a));
                Ok(dev[k])
            })?;
            let above = x.iter().zip(clean.iter()).filter(|(v, r)| libm::fabsf(**v - **r) > th).count();
            let mut ties = self.count.saturating_sub(above);
            let mut k = 0usize;
            let chosen = (0..n).filter(|&i| {
                let dv = libm::fabsf(x[i] - clean[i]);
                let take = dv > th || (dv == th && ties > 0);
                if dv == th && take {
                    ties -= 1;
                }
                take
            });
            for (i, pair) in chosen.zip(co.chunks_exact_mut(4)) {
                pair[..2].copy_from_slice(&(i as u16).to_le_bytes());
                k += 1;
            }
            debug_assert_eq!(k, self.count);
            // The cleaned vector: outliers at their reference, the rest as given.
            let mut it = co.chunks_exact(4).map(|p| usize::from(u16::from_le_bytes([p[0], p[1]]))).peekable();
            for (i, (c, &v)) in clean.iter_mut().zip(x).enumerate() {
                if it.peek() == Some(&i) {
                    it.next();
                } else {
                    *c = v;
                }
            }
            self.inner.encode_into(clean, ci)?;
            self.inner.decode_into(ci, clean)?;
            for pair in co.chunks_exact_mut(4) {
                let i = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
                let r = x[i] - clean[i];
                let h = f16_from_f32(r);
                if !f16_to_f32(h).is_finite() {
                    return Err(Error::Overflow);
                }
                pair[2..].copy_from_slice(&h.to_le_bytes());
            }
            Ok(())
        })
    }
}

impl<C: Decode> Decode for Outliers<C> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        self.inner.decode_into(&code[..self.inner.code_len()], out)?;
        self.for_each(code, |i, r| out[i] += r)?;
        check_finite(out).map_err(|_| Error::Corrupt("Outliers: decoded value not finite"))
    }
}

/// The prepared query of [`Outliers`]: `C`'s and the float query itself (for the sparse part).
pub struct OutliersQuery<'s, Q> {
    inner: Q,
    q: &'s [f32],
}

impl<C: Decode + Score> Score for Outliers<C> {
    type Query<'s>
        = OutliersQuery<'s, C::Query<'s>>
    where
        Self: 's;

    /// `C`'s scratch plus `n` words for the query.
    fn query_scratch_len(&self) -> usize {
        self.inner.query_scratch_len() + self.dim()
    }
    fn estimator(&self) -> Estimator {
        self.inner.estimator()
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim(), q.len())?;
        let need = self.query_scratch_len();
        if scratch.len() < need {
            return Err(Error::BufferTooSmall { needed: need, got: scratch.len() });
        }
        check_finite(q)?;
        let (own, rest) = scratch.split_at_mut(self.dim());
        own.copy_from_slice(q);
        Ok(OutliersQuery { inner: self.inner.prepare(q, rest)?, q: own })
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let mut s = self.inner.score(&q.inner, &code[..self.inner.code_len()])?;
        self.for_each(code, |i, r| s += q.q[i] * r)?;
        if s.is_finite() { Ok(s) } else { Err(Error::Corrupt("Outliers: score not finite")) }
    }
}

impl<C: TokenBlock> TokenBlock for Outliers<C> {
    fn head_dim(&self) -> usize {
        self.inner.head_dim()
    }
    fn block_tokens(&self) -> usize {
        self.inner.block_tokens()
    }
    /// `C`'s logits plus `q_c·f16(r_i)` for every outlier `i = t·d + c`.
    fn logits(&self, q: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        super::check_logits(self, q, code, out)?;
        self.inner.logits(q, &code[..self.inner.code_len()], out)?;
        let d = self.head_dim();
        self.for_each(code, |i, r| out[i / d] += q[i % d] * r)?;
        super::finite_result(out, "Outliers: logit not finite")
    }
    /// `C`'s weighted sum plus `p_t·f16(r_i)` at channel `c` for every outlier `i = t·d + c`.
    fn attend(&self, p: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        super::check_attend(self, p, code, out)?;
        self.inner.attend(p, &code[..self.inner.code_len()], out)?;
        let d = self.head_dim();
        self.for_each(code, |i, r| out[i % d] += p[i / d] * r)?;
        super::finite_result(out, "Outliers: output not finite")
    }
}

/// Saved as `C`'s parameters, then `u32 count, u32 period`.
impl<C: Codec + crate::persist::Persist> crate::persist::Persist for Outliers<C> {
    fn persist(&self, w: &mut crate::format::Writer) {
        self.inner.persist(w);
        w.u32(self.count as u32).u32(self.period as u32);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let inner = C::restore(r)?;
        let count = r.u32()? as usize;
        let period = r.u32()? as usize;
        Outliers::new(inner, count, period).map_err(|_| Error::Corrupt("Outliers: count or period"))
    }
}

impl<C: Codec + crate::persist::Persist> Outliers<C> {
    /// Saves the parameters (kind [`super::KIND`], sub-tag 3, then `C`'s sub-tag-less fields).
    ///
    /// # Errors
    /// Never in practice.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::to_container(super::KIND, Some(3), self)
    }

    /// Reads parameters saved by [`to_bytes`](Outliers::to_bytes) for the inner type `C`.
    ///
    /// # Errors
    /// Container errors; [`Error::Corrupt`] for a wrong sub-tag or invalid fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, super::KIND, Some((3, "KV: not Outliers parameters")))
    }
}
