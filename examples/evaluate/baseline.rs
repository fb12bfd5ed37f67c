//! The uncompressed reference: raw little-endian `f32` codes (32 bits per dimension).
//!
//! It implements the crate's traits like any codec, so its row in the table is the exact-search
//! reference (relative MSE 0, recall 1) and its scan throughput is that of a plain float scan.

use vector_codecs::{Codec, Decode, Error, Estimator, Result, Score};

/// Raw `f32` codes: `4·dim` bytes, little-endian.
pub struct F32Codec {
    dim: usize,
}

impl F32Codec {
    /// A codec for `dim`-vectors.
    pub fn new(dim: usize) -> Self {
        F32Codec { dim }
    }
}

fn check(expected: usize, got: usize, code: bool) -> Result<()> {
    match (expected == got, code) {
        (true, _) => Ok(()),
        (false, true) => Err(Error::CodeLength { expected, got }),
        (false, false) => Err(Error::DimensionMismatch { expected, got }),
    }
}

/// `⟨q, code⟩` with the code read as little-endian `f32`, without requiring alignment.
fn dot_bytes(q: &[f32], code: &[u8]) -> f32 {
    #[cfg(target_endian = "little")]
    if let Ok(x) = bytemuck::try_cast_slice::<u8, f32>(code) {
        return vector_codecs::simd::dot(q, x);
    }
    // Unaligned (or big-endian): convert in stack-sized pieces.
    let mut buf = [0.0f32; 64];
    let mut acc = 0.0f32;
    for (qc, cc) in q.chunks(64).zip(code.chunks(256)) {
        let m = qc.len();
        for (b, c) in buf.iter_mut().zip(cc.chunks_exact(4)) {
            *b = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        acc += vector_codecs::simd::dot(qc, &buf[..m]);
    }
    acc
}

impl Codec for F32Codec {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        4 * self.dim
    }
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check(self.dim, x.len(), false)?;
        check(4 * self.dim, code.len(), true)?;
        if !x.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        for (v, c) in x.iter().zip(code.chunks_exact_mut(4)) {
            c.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }
}

impl Decode for F32Codec {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check(4 * self.dim, code.len(), true)?;
        check(self.dim, out.len(), false)?;
        for (o, c) in out.iter_mut().zip(code.chunks_exact(4)) {
            *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(())
    }
}

impl Score for F32Codec {
    type Query<'s> = &'s [f32];

    fn query_scratch_len(&self) -> usize {
        self.dim
    }
    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<&'s [f32]> {
        check(self.dim, q.len(), false)?;
        let s = scratch.get_mut(..self.dim).ok_or(Error::BufferTooSmall { needed: self.dim, got: 0 })?;
        if !q.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        s.copy_from_slice(q);
        Ok(s)
    }
    fn score(&self, q: &&[f32], code: &[u8]) -> Result<f32> {
        check(4 * self.dim, code.len(), true)?;
        Ok(dot_bytes(q, code))
    }
    fn score_batch(&self, q: &&[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        let c = 4 * self.dim;
        check(out.len() * c, codes.len(), true)?;
        if c == 0 {
            out.fill(0.0);
            return Ok(());
        }
        for (code, o) in codes.chunks_exact(c).zip(out.iter_mut()) {
            *o = dot_bytes(q, code);
        }
        Ok(())
    }
}
