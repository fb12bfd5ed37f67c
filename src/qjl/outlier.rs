//! QJL with an outlier split: the `o` largest-magnitude channels of each key are stored exactly
//! and only the remainder is sketched (the split of the QJL reference design, SPECS §7, done
//! per vector here; [`group_outlier`] builds the per-group variant of the reference design).
//!
//! Encode `k`: let `O` be the `o` channels of largest `|k_i|` (ties: lower index first) and
//! `r = k` with the channels of `O` set to 0. Code layout:
//!
//! | bytes | field |
//! |---|---|
//! | `2o` | the indices of `O`, `u16` little-endian, strictly increasing |
//! | `4o` | `k_i` for `i ∈ O`, `f32` little-endian, in the same order (exact) |
//! | `⌈m/8⌉ + 4` | the [`Qjl`] code of `r` (sign bits, then `‖r‖` as `f32`) |
//!
//! Bits per dimension: `(48·o + 8⌈m/8⌉ + 32)/d`.
//!
//! Estimator ([`Estimator::Unbiased`]): `⟨q,k⟩^ = Σ_{i∈O} q_i k_i + √(π/2)/m · ‖r‖ · ⟨S q, z⟩`.
//! The first term is exact and `O` depends on `k` only (not on `S`), so the estimate is
//! unbiased, with variance `[(π/2)‖q‖²‖r‖² − ⟨q,r⟩²]/m` — plain QJL's with `k` replaced by the
//! remainder `r`, which is smaller whenever a few channels carry much of `‖k‖`.
//!
//! Decode: the exact channels plus the unbiased QJL reconstruction of `r`.

use super::Qjl;
use crate::codec::{Codec, Decode, Estimator, Score, check_scratch};
use crate::error::{Error, Result, check_code, check_dim};

/// Largest number of exactly stored channels per vector.
pub const MAX_OUTLIERS: usize = 64;

/// Largest dimension (channel indices are stored as `u16`).
pub const MAX_DIM: usize = 1 << 16;

/// QJL with `o` exact outlier channels per vector (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct QjlOutlier {
    o: usize,
    qjl: Qjl,
}

/// A prepared [`QjlOutlier`] query: the query itself and `S q`.
#[derive(Clone, Copy, Debug)]
pub struct QjlOutlierQuery<'s> {
    q: &'s [f32],
    sketch: super::QjlQuery<'s>,
}

impl QjlOutlier {
    /// `o` exact channels plus a QJL sketch with `m` rows from `seed` ([`Qjl::new`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `o > MAX_OUTLIERS`, `o > dim`, `dim > MAX_DIM`, or as
    /// [`Qjl::new`].
    pub fn new(dim: usize, m: usize, seed: u64, o: usize) -> Result<Self> {
        if dim > MAX_DIM {
            return Err(Error::InvalidParameter("QJL outliers: dim must be at most 65536"));
        }
        if o > MAX_OUTLIERS || o > dim {
            return Err(Error::InvalidParameter("QJL outliers: o must be at most min(64, dim)"));
        }
        Ok(QjlOutlier { o, qjl: Qjl::new(dim, m, seed)? })
    }

    /// Number of exactly stored channels `o`.
    pub fn outliers(&self) -> usize {
        self.o
    }

    /// The QJL codec of the remainder.
    pub fn sketch(&self) -> &Qjl {
        &self.qjl
    }

    fn exact_len(&self) -> usize {
        6 * self.o
    }

    /// Reads and validates the exact part: calls `f(index, value)` for each stored channel.
    fn for_each_exact(&self, code: &[u8], mut f: impl FnMut(usize, f32)) -> Result<()> {
        let (idx, val) = code.get(..self.exact_len()).ok_or(Error::Truncated)?.split_at(2 * self.o);
        let mut prev: Option<usize> = None;
        for (ib, vb) in idx.chunks_exact(2).zip(val.chunks_exact(4)) {
            let i = usize::from(u16::from_le_bytes([ib[0], ib[1]]));
            let v = f32::from_le_bytes([vb[0], vb[1], vb[2], vb[3]]);
            if i >= self.qjl.dim() || prev.is_some_and(|p| p >= i) {
                return Err(Error::Corrupt("QJL outliers: channel indices out of range or not increasing"));
            }
            if !v.is_finite() {
                return Err(Error::Corrupt("QJL outliers: outlier value is not finite"));
            }
            prev = Some(i);
            f(i, v);
        }
        Ok(())
    }
}

impl Codec for QjlOutlier {
    fn dim(&self) -> usize {
        self.qjl.dim()
    }
    fn code_len(&self) -> usize {
        self.exact_len() + self.qjl.code_len()
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf input or an overflowing norm.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        // Top-o by magnitude: a small list sorted by (|x| desc, index asc).
        let mut top = [(0.0f32, 0usize); MAX_OUTLIERS];
        let mut n = 0usize;
        for (i, &v) in x.iter().enumerate() {
            let a = v.abs();
            if n == self.o && (n == 0 || a <= top[n - 1].0) {
                continue;
            }
            let mut j = n.min(self.o - 1);
            if n < self.o {
                n += 1;
            }
            while j > 0 && top[j - 1].0 < a {
                top[j] = top[j - 1];
                j -= 1;
            }
            top[j] = (a, i);
        }
        let mut idx = [0usize; MAX_OUTLIERS];
        for (d, s) in idx.iter_mut().zip(&top[..n]) {
            *d = s.1;
        }
        let idx = &mut idx[..n];
        idx.sort_unstable();
        let (exact, sketch) = code.split_at_mut(self.exact_len());
        let (ib, vb) = exact.split_at_mut(2 * self.o);
        for ((&i, ic), vc) in idx.iter().zip(ib.chunks_exact_mut(2)).zip(vb.chunks_exact_mut(4)) {
            ic.copy_from_slice(&(i as u16).to_le_bytes());
            vc.copy_from_slice(&x[i].to_le_bytes());
        }
        crate::buf::with_buf(self.dim(), |r| {
            r.copy_from_slice(x);
            for &i in idx.iter() {
                r[i] = 0.0;
            }
            self.qjl.encode_into(r, sketch)
        })
    }
}

impl Decode for QjlOutlier {
    /// The exact channels plus the unbiased QJL reconstruction of the remainder.
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        self.for_each_exact(code, |_, _| {})?;
        self.qjl.decode_into(&code[self.exact_len()..], out)?;
        self.for_each_exact(code, |i, v| {
            if let Some(o) = out.get_mut(i) {
                *o += v;
            }
        })
    }
}

impl Score for QjlOutlier {
    type Query<'s> = QjlOutlierQuery<'s>;

    /// `dim + m` words (a copy of `q`, then `S q`).
    fn query_scratch_len(&self) -> usize {
        self.dim() + self.qjl.query_scratch_len()
    }
    fn estimator(&self) -> Estimator {
        Estimator::Unbiased
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.dim(), q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        let (qc, rest) = scratch.split_at_mut(self.dim());
        let sketch = self.qjl.prepare(q, rest)?;
        qc.copy_from_slice(q);
        Ok(QjlOutlierQuery { q: qc, sketch })
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let mut exact = 0.0f32;
        self.for_each_exact(code, |i, v| exact += q.q.get(i).copied().unwrap_or(0.0) * v)?;
        Ok(exact + self.qjl.score(&q.sketch, &code[self.exact_len()..])?)
    }
}

/// Saved as the [`Qjl`] sketch's fields (`u32 dim, u32 m, u64 seed`) then `u16 o`.
impl crate::persist::Persist for QjlOutlier {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        self.qjl.persist(w);
        w.u16(self.o as u16);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let qjl = Qjl::restore(r)?;
        let o = usize::from(r.u16()?);
        if o > MAX_OUTLIERS || o > qjl.dim() {
            return Err(Error::Corrupt("QJL outliers: outlier count out of range"));
        }
        Ok(QjlOutlier { o, qjl })
    }
}

/// QJL with a *group's* outlier channels (the QJL reference design): one fixed set of `o`
/// channels, chosen once from a sample of the group (e.g. a head's prefill keys) by
/// [`Permutation::largest_first`](crate::transform::Permutation::largest_first), stored per vector as `f16`, and a QJL sketch (`m` rows) of
/// the other `d − o` channels. Built entirely from the crate's parts:
/// `Rotated<Permutation, Split<FloatCodec /* f16 */, Qjl>>`.
///
/// Code: `2o` bytes of `f16` outlier values, then the [`Qjl`] code of the rest (`⌈m/8⌉ + 4`
/// bytes). Bits per dimension: `(16·o + 8⌈m/8⌉ + 32)/d` — no channel indices per vector (the
/// per-vector [`QjlOutlier`] spends `48·o` bits on indices and `f32` values). Score:
/// `Σ_{i∈O} q_i·f16(k_i) + √(π/2)/m·‖r‖·⟨S q_r, z⟩`: unbiased for the sketched part, exact up
/// to `f16` rounding (relative `2^−11`) on the outliers — reported as
/// [`Estimator::Biased`] because of that rounding.
#[cfg(feature = "alloc")]
pub type QjlGroupOutlier = crate::compose::Rotated<
    crate::transform::Permutation,
    crate::compose::Split<crate::scalar::float::FloatCodec, Qjl>,
>;

/// Builds [`QjlGroupOutlier`] for `dim`-vectors: the `o` channels of largest mean `|x_i|` over
/// `sample` (whole rows), a QJL sketch with `m` rows from `seed` ([`Qjl::new`]) of the others.
///
/// # Errors
/// [`Error::InvalidParameter`] unless `1 ≤ o < dim`; as [`Permutation::largest_first`](crate::transform::Permutation::largest_first) and
/// [`Qjl::new`].
#[cfg(feature = "alloc")]
pub fn group_outlier(sample: &[f32], dim: usize, m: usize, seed: u64, o: usize) -> Result<QjlGroupOutlier> {
    use crate::scalar::float::{FloatCodec, FloatFormat};
    if o == 0 || o >= dim {
        return Err(Error::InvalidParameter("QJL group outliers: need 1 ≤ o < dim"));
    }
    let perm = crate::transform::Permutation::largest_first(sample, dim, o)?;
    let split = crate::compose::Split::new(FloatCodec::new(o, FloatFormat::F16)?, Qjl::new(dim - o, m, seed)?)?;
    crate::compose::Rotated::new(perm, split)
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn picks_the_largest_channels_and_all_channels_is_exact() {
        let x = [0.5f32, -9.0, 1.0, 3.0, -3.0, 0.0, 7.0, 2.0];
        let c = QjlOutlier::new(8, 16, 1, 3).unwrap();
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut got = vec![];
        c.for_each_exact(&code, |i, v| got.push((i, v))).unwrap();
        // |−9|, |7|, then the tie |3| = |−3| goes to the lower index.
        assert_eq!(got, [(1, -9.0), (3, 3.0), (6, 7.0)]);
        let all = QjlOutlier::new(8, 16, 1, 8).unwrap();
        let mut code = vec![0u8; all.code_len()];
        all.encode_into(&x, &mut code).unwrap();
        let mut y = [0f32; 8];
        all.decode_into(&code, &mut y).unwrap();
        assert_eq!(y, x);
        let q = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let mut s = all.scratch();
        let p = all.prepare(&q, &mut s).unwrap();
        let want: f32 = q.iter().zip(&x).map(|(a, b)| a * b).sum();
        assert!((all.score(&p, &code).unwrap() - want).abs() < 1e-4);
    }

    #[test]
    fn serialization_round_trip() {
        use crate::persist::Persist;
        let load = |b: &[u8]| {
            let mut r = crate::format::Reader::new(b);
            QjlOutlier::restore(&mut r).and_then(|c| r.finish().map(|()| c))
        };
        let c = QjlOutlier::new(24, 40, 3, 4).unwrap();
        let mut w = crate::format::Writer::new(0);
        c.persist(&mut w);
        let b = w.finish().unwrap();
        assert_eq!(load(&b[crate::format::HEADER_LEN..b.len() - 4]).unwrap(), c);
        let bad = [8u32.to_le_bytes(), 8u32.to_le_bytes()].concat();
        let bad = [&bad[..], &1u64.to_le_bytes(), &9u16.to_le_bytes()].concat();
        assert!(matches!(load(&bad), Err(Error::Corrupt(_))));
    }
}
