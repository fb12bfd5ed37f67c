//! A product quantizer read in place from its saved bytes: no allocator, no copy of the
//! codebooks, for firmware that keeps its parameters in flash (`include_bytes!`).
//!
//! [`PqView`] borrows the centroids of a saved [`ProductQuantizer`](super::ProductQuantizer)
//! (container kind [`KIND`], or its [`Persist`](crate::persist::Persist) fields inside another
//! container) as little-endian bytes, validated exactly as the owned loader validates them, and
//! reads them as it goes. It encodes, decodes and scores with the float ADC table in the
//! caller's scratch (`M · 2^nbits` words):
//!
//! * **codes** are the owned quantizer's, bit for bit (nearest centroid in squared L2, summed in
//!   coordinate order, ties to the lowest index — the lane order of
//!   [`simd::pq::nearest`](crate::simd::pq::nearest));
//! * **decode** writes the same centroids;
//! * **scores** are the [`ScanMode::Float`](crate::codec::ScanMode::Float) ADC sums
//!   `±Σ_m T[m][c_m]` of the owned quantizer, bit for bit: each table entry is the sequential
//!   sum over the sub-vector (multiply, then add; never fused) that the blocked kernels compute
//!   per lane, and the `M` entries are added in order. A quantizer saved in
//!   [`ScanMode::I8`](crate::codec::ScanMode::I8) (fast scan) is scored here with its exact
//!   float table: the scores its [`Score::score_exact`] gives, which the fast scan
//!   approximates within `M/(2a)`.
//!
//! RAM: nothing for the parameters; a prepared query is `M · 2^nbits` words of scratch (6 KiB
//! for `PQ96x4`); encode and decode use no scratch. Reading a centroid costs a little-endian
//! load per float, so the owned quantizer (blocked codebooks, SIMD tables and scans) is the
//! faster choice where a heap is available.

use crate::codec::{Codec, Decode, Estimator, Score, check_scratch};
use crate::error::{Error, Result, check_code, check_dim};
use crate::format::Reader;

use super::{KIND, PqMetric, get_index, put_index, read_head};

/// A product quantizer over borrowed saved bytes (see the [module docs](self)): `M`
/// sub-quantizers of `nbits` bits, `⌈M·nbits/8⌉` bytes per code (`M·nbits/d` bits per
/// dimension), scores exact on the reconstruction ([`Estimator::Reconstruction`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PqView<'a> {
    dim: usize,
    m: usize,
    nbits: u32,
    dsub: usize,
    ksub: usize,
    metric: PqMetric,
    /// `[m][ksub][dsub]` little-endian `f32`, all finite.
    centroids: &'a [u8],
}

/// A query prepared by [`PqView`]: the float table `T[m][j]` in the caller's scratch.
#[derive(Debug)]
pub struct PqViewQuery<'s> {
    lut: &'s [f32],
}

impl<'a> PqView<'a> {
    /// Parses a standalone container written by
    /// [`ProductQuantizer::to_bytes`](super::ProductQuantizer::to_bytes), borrowing `bytes`.
    ///
    /// # Errors
    /// As [`crate::format::open`] and [`view_in`](Self::view_in); [`Error::Corrupt`] for
    /// trailing bytes.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let mut r = crate::format::open(bytes, KIND)?;
        let v = Self::view_in(&mut r)?;
        r.finish()?;
        Ok(v)
    }

    /// Reads the [`Persist`](crate::persist::Persist) fields of a saved product quantizer
    /// (`u32` dimension, `u32` M, `u8` nbits, `u8` metric tag, `u8` scan tag, then `2^nbits · d`
    /// `f32` centroids), borrowing the centroids from the reader's bytes. Any alignment works
    /// (the floats are read byte-wise).
    ///
    /// # Errors
    /// [`Error::Truncated`]; [`Error::Corrupt`] for a shape the owned loader refuses (dimension
    /// outside `1..=65536`, `M` not dividing it, `nbits` outside `1..=16`), an unknown metric or
    /// scan tag, or a non-finite centroid — the same bytes the owned
    /// [`Persist::restore`](crate::persist::Persist::restore) accepts.
    pub fn view_in(r: &mut Reader<'a>) -> Result<Self> {
        let (dim, m, nbits, metric, _) = read_head(r)?;
        let ksub = 1usize << nbits;
        let n = ksub.checked_mul(dim).and_then(|n| n.checked_mul(4)).ok_or(Error::Corrupt("PQ: codebook size"))?;
        let centroids = r.bytes(n)?;
        if !centroids.chunks_exact(4).all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()) {
            return Err(Error::Corrupt("PQ: non-finite centroid"));
        }
        Ok(PqView { dim, m, nbits, dsub: dim / m, ksub, metric, centroids })
    }

    /// The number of sub-quantizers `M`.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Bits per sub-quantizer index.
    pub fn nbits(&self) -> u32 {
        self.nbits
    }

    /// What the score is (`⟨q, x̂⟩` or `−‖q − x̂‖²`).
    pub fn metric(&self) -> PqMetric {
        self.metric
    }

    /// Coordinate `t` of centroid `j` of subspace `s` (all in range by construction).
    #[inline]
    fn at(&self, s: usize, j: usize, t: usize) -> f32 {
        let o = 4 * (((s * self.ksub) + j) * self.dsub + t);
        match self.centroids.get(o..o + 4) {
            Some(b) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0.0,
        }
    }

    /// `Σ_t (x_t − c_t)²` or `Σ_t x_t·c_t` over centroid `j` of subspace `s`, in order.
    #[inline]
    fn entry(&self, x: &[f32], s: usize, j: usize, ip: bool) -> f32 {
        let mut acc = 0f32;
        for (t, &xt) in x.iter().enumerate() {
            let c = self.at(s, j, t);
            if ip {
                acc += xt * c;
            } else {
                let e = xt - c;
                acc += e * e;
            }
        }
        acc
    }
}

impl Codec for PqView<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        (self.m * self.nbits as usize).div_ceil(8)
    }
    /// The owned quantizer's codes, bit for bit.
    ///
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] for NaN/inf input.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len(), code.len())?;
        if !x.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        code.fill(0);
        for (s, xs) in x.chunks_exact(self.dsub).enumerate() {
            let (mut best, mut bd) = (0usize, f32::INFINITY);
            for j in 0..self.ksub {
                let v = self.entry(xs, s, j, false);
                if v < bd {
                    best = j;
                    bd = v;
                }
            }
            put_index(code, s, self.nbits, best);
        }
        Ok(())
    }
}

impl Decode for PqView<'_> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim, out.len())?;
        for (s, o) in out.chunks_exact_mut(self.dsub).enumerate() {
            let j = get_index(code, s, self.nbits);
            for (t, v) in o.iter_mut().enumerate() {
                *v = self.at(s, j, t);
            }
        }
        Ok(())
    }
}

impl Score for PqView<'_> {
    type Query<'s>
        = PqViewQuery<'s>
    where
        Self: 's;

    /// `M · 2^nbits` words: the float table.
    fn query_scratch_len(&self) -> usize {
        self.m * self.ksub
    }
    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }
    /// The float table `T[m][j]`, as the owned quantizer's `compute_table`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::BufferTooSmall`]; [`Error::NonFinite`] for a
    /// non-finite query or when an ADC sum could leave the `f32` range
    /// (`Σ_m max_j |T[m][j]| > f32::MAX`), as the owned quantizer.
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<PqViewQuery<'s>> {
        check_dim(self.dim, q.len())?;
        check_scratch(self.m * self.ksub, scratch.len())?;
        if !q.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let lut = &mut scratch[..self.m * self.ksub];
        let ip = self.metric == PqMetric::InnerProduct;
        let mut reach = 0f64;
        for (s, (row, qs)) in lut.chunks_exact_mut(self.ksub).zip(q.chunks_exact(self.dsub)).enumerate() {
            let mut most = 0f64;
            for (j, o) in row.iter_mut().enumerate() {
                *o = self.entry(qs, s, j, ip);
                most = if o.is_finite() { most.max(f64::from(*o).abs()) } else { f64::INFINITY };
            }
            reach += most;
        }
        if !reach.is_finite() || reach > f64::from(f32::MAX) {
            return Err(Error::NonFinite);
        }
        Ok(PqViewQuery { lut })
    }
    fn score(&self, q: &PqViewQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let mut s = 0f32;
        for (i, row) in q.lut.chunks_exact(self.ksub).enumerate() {
            s += row[get_index(code, i, self.nbits)];
        }
        Ok(if self.metric == PqMetric::L2 { -s } else { s })
    }
}
