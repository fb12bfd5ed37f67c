//! [`CenteredBinary`]: binary codes of `x − μ`, the composition
//! [`Centered`]`<`[`BinaryCodec`]`, M>`. Encoding, decoding, float and bit-sliced query scores
//! (and their batch kernels) are [`Centered`]'s over the inner codec's; this module adds what
//! only binary codes have: code-against-code scores with the centring terms, Hamming distances,
//! scans into a [`TopK`], the bit-sliced view and the saved container.

use super::codec::{BinaryCodec, BinaryQuery, FloatLayout};
use super::scan::scan_blocks;
use crate::codec::{Codec, Score, ScoreSymmetric};
use crate::compose::{Centered, CenteredQuery};
use crate::error::{Result, check_dim};
use crate::topk::TopK;

/// Binary codes centred on a mean `μ` (typically the training mean,
/// [`BinaryCodec::train_centred`]): [`Centered`]`<BinaryCodec, M>` with the mean stored as
/// `M: AsRef<[f32]>` (a `Vec<f32>`, or a slice borrowed from flash or caller storage without
/// an allocator).
///
/// Code: the inner codec's code of `x − μ` (same length, nothing per vector for `μ`).
/// Reconstruction `x̂ = μ + Σ_t α_t·(2b_t − 1)`; float and bit-sliced scores are the inner
/// codec's plus the exact `⟨q, μ⟩` (so the estimator is the inner one's); code × code scores
/// ([`ScoreSymmetric`]) are exactly `⟨x̂, ŷ⟩` with the centring terms
/// `⟨μ, μ⟩ + ⟨μ, ŷ − μ⟩ + ⟨x̂ − μ, μ⟩`.
///
/// Saved as the mean (`u32 n`, `f32 μ[n]`) followed by the [`BinaryCodec`] fields, in a
/// container of kind [`CENTRED_KIND`](super::CENTRED_KIND) ([`to_bytes`](Self::to_bytes)).
///
/// ```
/// use vector_codecs::binary::{BinaryCodec, CenteredBinary};
/// use vector_codecs::compose::Centered;
/// use vector_codecs::{Codec, Decode, Score, ScoreSymmetric};
/// // Non-negative data: uncentred sign codes would be all ones.
/// let c: CenteredBinary<&[f32]> = Centered::new(BinaryCodec::sign(4).unwrap(), &[1.0, 2.0, 3.0, 4.0][..]).unwrap();
/// let mut code = [0u8; 1];
/// c.encode_into(&[1.5, 1.0, 3.5, 3.0], &mut code).unwrap();
/// assert_eq!(code[0], 0b0101); // signs of x − μ = (0.5, −1, 0.5, −1)
/// let mut y = [0.0f32; 4];
/// c.decode_into(&code, &mut y).unwrap();
/// assert_eq!(y, [2.0, 1.0, 4.0, 3.0]); // μ ± 1 (shared scale 1)
/// let mut scratch = [0f32; 256];
/// let q = c.prepare(&[1.0, 0.0, 0.0, 0.0], &mut scratch).unwrap();
/// assert_eq!(c.score(&q, &code).unwrap(), 2.0); // ⟨q, x̂⟩ = ⟨q, μ⟩ + ⟨q, ±1⟩ = 1 + 1
/// assert_eq!(c.score_codes(&code, &code).unwrap(), 4.0 + 1.0 + 16.0 + 9.0); // ‖x̂‖²
/// ```
pub type CenteredBinary<M> = Centered<BinaryCodec, M>;

/// `Σ μ_i` (the `vsum` of [`BinaryCodec::residual_dot`] for `v = μ`), summed in `f32` with four
/// accumulators (see `sum_f32`).
fn mean_sum(mean: &[f32]) -> f32 {
    super::codec::sum_f32(mean)
}

impl<M: AsRef<[f32]>> Centered<BinaryCodec, M> {
    /// The same codec preparing float queries in `layout` (see [`BinaryCodec::with_float_layout`];
    /// not saved, scores bit-identical in every layout).
    pub fn with_float_layout(mut self, layout: FloatLayout) -> Self {
        self.inner = self.inner.with_float_layout(layout);
        self
    }

    /// A view of this codec scoring in [`ScanMode::Bitsliced`](crate::codec::ScanMode::Bitsliced)
    /// (see [`BinaryCodec::bitsliced`]), its mean borrowed.
    pub fn bitsliced(&self) -> CenteredBinary<&[f32]> {
        let mut v = self.view();
        v.inner = v.inner.bitsliced();
        v
    }

    /// Hamming distance between the bit planes of two codes (see [`BinaryCodec::hamming_codes`];
    /// the mean does not enter).
    ///
    /// # Errors
    /// [`Error::CodeLength`](crate::Error::CodeLength) if either code has the wrong length.
    pub fn hamming_codes(&self, a: &[u8], b: &[u8]) -> Result<u32> {
        self.inner.hamming_codes(a, b)
    }

    /// `⟨x̂, ŷ⟩` between a code `a` of this codec and a code `b` of `other` (same dimension, any
    /// stage counts, scale formats and means): the inner codes' product
    /// ([`BinaryCodec::score_codes_with`]) plus `⟨μ_a, μ_b⟩ + ⟨μ_a, ŷ − μ_b⟩ + ⟨x̂ − μ_a, μ_b⟩`.
    /// Exact on the reconstructions up to float rounding.
    ///
    /// # Errors
    /// As [`BinaryCodec::score_codes_with`].
    pub fn score_codes_with<N: AsRef<[f32]>>(&self, a: &[u8], other: &CenteredBinary<N>, b: &[u8]) -> Result<f32> {
        check_dim(self.dim(), other.dim())?;
        let sa = self.inner.code_scales(a)?;
        let sb = other.inner.code_scales(b)?;
        let mut s = self.inner.codes_dot(a, &sa, &other.inner, b, &sb);
        let (ma, mb) = (self.mean(), other.mean());
        let sum_a = mean_sum(ma);
        // One sum when both codes share the mean (`score_codes`).
        let sum_b = if core::ptr::eq(ma, mb) { sum_a } else { mean_sum(mb) };
        s += crate::simd::dot(ma, mb);
        s += other.inner.residual_dot(b, &sb, ma, sum_a);
        s += self.inner.residual_dot(a, &sa, mb, sum_b);
        Ok(s)
    }

    /// Query scan in the codec's scan mode: scores every code with [`Score::score_batch`] and
    /// keeps the best in `topk` (ids `first_id + row`); see [`BinaryCodec::scan_topk`].
    ///
    /// # Errors
    /// As [`Score::score_batch`]; [`Error::Overflow`](crate::Error::Overflow) if the ids do not fit `u32`.
    pub fn scan_topk<const CAP: usize>(
        &self,
        q: &CenteredQuery<BinaryQuery<'_>>,
        codes: &[u8],
        first_id: u32,
        topk: &mut TopK<CAP>,
    ) -> Result<()> {
        scan_blocks(self.code_len(), codes, first_id, topk, |block, out| self.score_batch(q, block, out))
    }

    /// Symmetric scan: [`score_codes_batch`](Self::score_codes_batch) of the query *code*
    /// against every code, the best kept in `topk` (ids `first_id + row`).
    ///
    /// # Errors
    /// As [`score_codes_batch`](Self::score_codes_batch); [`Error::Overflow`](crate::Error::Overflow) if the ids do not
    /// fit `u32`.
    pub fn scan_codes_topk<const CAP: usize>(
        &self,
        query: &[u8],
        codes: &[u8],
        first_id: u32,
        topk: &mut TopK<CAP>,
    ) -> Result<()> {
        scan_blocks(self.code_len(), codes, first_id, topk, |block, out| self.score_codes_batch(query, block, out))
    }

    /// Symmetric batch scoring: `out[i] = ⟨x̂_query, x̂_i⟩` for a query *code* of this codec
    /// against `out.len()` contiguous codes: the inner codes' products
    /// ([`BinaryCodec::score_codes_batch`]) plus the centring terms, added in
    /// [`score_codes_with`](Self::score_codes_with)'s order (the same value, bit for bit).
    ///
    /// # Errors
    /// [`Error::CodeLength`](crate::Error::CodeLength) on wrong lengths; [`Error::Corrupt`](crate::Error::Corrupt) for a bad scale or padding.
    pub fn score_codes_batch(&self, query: &[u8], codes: &[u8], out: &mut [f32]) -> Result<()> {
        let inner = &self.inner;
        inner.score_codes_batch(query, codes, out)?;
        let mean = self.mean();
        let (mm, msum) = (crate::simd::dot(mean, mean), mean_sum(mean));
        // ⟨x̂_q − μ, μ⟩ is the same for every code.
        let q_mean = inner.residual_dot(query, &inner.code_scales(query)?, mean, msum);
        for (o, code) in out.iter_mut().zip(codes.chunks_exact(self.code_len())) {
            let cs = inner.code_scales(code)?;
            *o += mm;
            *o += inner.residual_dot(code, &cs, mean, msum);
            *o += q_mean;
        }
        Ok(())
    }
}

impl<M: AsRef<[f32]>> ScoreSymmetric for Centered<BinaryCodec, M> {
    /// Exactly `⟨x̂, ŷ⟩` (see [`score_codes_with`](Centered::score_codes_with)).
    ///
    /// # Errors
    /// [`Error::CodeLength`](crate::Error::CodeLength); [`Error::Corrupt`](crate::Error::Corrupt) for a bad scale or non-zero padding bits.
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32> {
        self.score_codes_with(a, self, b)
    }
}

#[cfg(feature = "alloc")]
impl Centered<BinaryCodec, alloc::vec::Vec<f32>> {
    /// Serializes the parameters into a [`crate::format`] container of kind
    /// [`CENTRED_KIND`](super::CENTRED_KIND): the [`Persist`](crate::persist::Persist) fields of
    /// [`Centered`] (`u32 n`, `f32 μ[n]`), then those of [`BinaryCodec::to_bytes`].
    ///
    /// # Errors
    /// [`Error::Overflow`](crate::Error::Overflow) if the payload does not fit the container.
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        crate::persist::to_container(super::CENTRED_KIND, None, self)
    }

    /// Parses a container written by [`to_bytes`](Self::to_bytes). Total: at most `4·n ≤
    /// bytes.len()` bytes are allocated.
    ///
    /// # Errors
    /// Container errors; [`Error::Corrupt`](crate::Error::Corrupt) for out-of-range fields, a non-finite mean or
    /// trailing bytes; [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if the mean's length is not the dimension.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, super::CENTRED_KIND, None)
    }
}

impl<'a> Centered<BinaryCodec, &'a [f32]> {
    /// Parses a container written by [`to_bytes`](CenteredBinary::to_bytes) without an
    /// allocator, the mean copied into `storage` ([`Centered::restore_in`]; it needs
    /// [`Centered::storage_len`] floats, the dimension).
    ///
    /// # Errors
    /// As the owned `from_bytes`, and [`Error::BufferTooSmall`](crate::Error::BufferTooSmall).
    pub fn from_bytes_in(bytes: &[u8], storage: &'a mut [f32]) -> Result<Self> {
        let mut r = crate::format::open(bytes, super::CENTRED_KIND)?;
        let c = Self::restore_in(&mut r, storage)?;
        r.finish()?;
        Ok(c)
    }

    /// Parses a container written by [`to_bytes`](CenteredBinary::to_bytes) as a zero-copy view
    /// ([`Centered::view_in`]): the mean is borrowed from `bytes`, which must place it 4-byte
    /// aligned in memory (the container at an address `≡ 0 (mod 4)`,
    /// [`Centered::VIEW_FLOATS_AT`]).
    ///
    /// # Errors
    /// As the owned `from_bytes`, and [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a mean not 4-byte aligned
    /// in memory or a big-endian target.
    pub fn view_from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let mut r = crate::format::open(bytes, super::CENTRED_KIND)?;
        let c = Self::view_in(&mut r)?;
        r.finish()?;
        Ok(c)
    }
}
