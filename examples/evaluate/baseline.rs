//! The uncompressed reference row `f32`, used while the library's factory has no `f32` entry:
//! raw little-endian `f32` codes (32 bits per dimension) scored exactly in the run's metric.
//!
//! It implements [`DynCodec`] directly (it is not saved: [`DynCodec::save`] returns an error), so
//! the harness measures it like any factory codec; its row is the exact-search reference
//! (relative MSE 0, recall 1) and its scan throughput that of a plain float scan.

use vector_codecs::dynamic::{DynCodec, PreparedQuery};
use vector_codecs::metric::Metric;
use vector_codecs::{Error, Estimator, Result};

/// What `--list` says about the baseline.
pub const ABOUT: &str = "raw little-endian f32, 32 bits/dim, exact scores (reference; local to evaluate)";

/// Raw `f32` codes, `4·dim` bytes, little-endian, scored in `metric`.
pub struct F32Exact {
    dim: usize,
    metric: Metric,
}

impl F32Exact {
    /// The baseline for `dim`-vectors in `metric`.
    pub fn new(dim: usize, metric: Metric) -> Self {
        F32Exact { dim, metric }
    }
}

fn check(expected: usize, got: usize, code: bool) -> Result<()> {
    match (expected == got, code) {
        (true, _) => Ok(()),
        (false, true) => Err(Error::CodeLength { expected, got }),
        (false, false) => Err(Error::DimensionMismatch { expected, got }),
    }
}

/// Reads a code as `f32` (without requiring alignment) and hands the row to `f`.
fn with_row<R>(code: &[u8], buf: &mut Vec<f32>, f: impl FnOnce(&[f32]) -> R) -> R {
    #[cfg(target_endian = "little")]
    if let Ok(x) = bytemuck::try_cast_slice::<u8, f32>(code) {
        return f(x);
    }
    buf.clear();
    buf.extend(code.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    f(buf)
}

struct Prepared<'a> {
    q: &'a [f32],
    qq: f32,
    metric: Metric,
}

impl PreparedQuery for Prepared<'_> {
    fn score_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let c = 4 * self.q.len();
        check(out.len() * c, codes.len(), true)?;
        if c == 0 {
            out.fill(0.0);
            return Ok(());
        }
        let mut buf = Vec::new();
        for (code, o) in codes.chunks_exact(c).zip(out.iter_mut()) {
            *o = with_row(code, &mut buf, |x| match self.metric {
                Metric::InnerProduct => vector_codecs::simd::dot(self.q, x),
                Metric::L2 => -vector_codecs::simd::l2sq(self.q, x),
                Metric::Cosine => {
                    let den = (self.qq * vector_codecs::simd::norm_sq(x)).sqrt();
                    if den > 0.0 { vector_codecs::simd::dot(self.q, x) / den } else { 0.0 }
                }
            });
        }
        Ok(())
    }
    fn score_layout(&self, layout: &[u8], out: &mut [f32]) -> Result<()> {
        let len = out.len() * 4 * self.q.len();
        self.score_batch(layout.get(..len).unwrap_or(layout), out)
    }
}

impl DynCodec for F32Exact {
    fn name(&self) -> &str {
        "f32"
    }
    fn about(&self) -> &str {
        ABOUT
    }
    fn metric(&self) -> Metric {
        self.metric
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        4 * self.dim
    }
    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        check(xs.len() / self.dim.max(1) * self.dim, xs.len(), false)?;
        check(4 * xs.len(), codes.len(), true)?;
        if !xs.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        for (v, c) in xs.iter().zip(codes.chunks_exact_mut(4)) {
            c.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        check(4 * out.len(), codes.len(), true)?;
        for (o, c) in out.iter_mut().zip(codes.chunks_exact(4)) {
            *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(())
    }
    fn query_scratch_len(&self) -> usize {
        self.dim
    }
    fn with_query(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        f: &mut dyn FnMut(&dyn PreparedQuery) -> Result<()>,
    ) -> Result<()> {
        check(self.dim, q.len(), false)?;
        let got = scratch.len();
        let s = scratch.get_mut(..self.dim).ok_or(Error::BufferTooSmall { needed: self.dim, got })?;
        if !q.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        s.copy_from_slice(q);
        let qq = vector_codecs::simd::norm_sq(s);
        f(&Prepared { q: s, qq, metric: self.metric })
    }
    fn save(&self) -> Result<Vec<u8>> {
        Err(Error::InvalidParameter("the evaluate f32 baseline is not a saved codec"))
    }
}
