//! KV-cache codecs: the keys and values of one attention head, compressed a block of tokens at
//! a time, and attention computed from the codes (`alloc`).
//!
//! A transformer's KV cache grows by one key and one value per generated token, and every new
//! query reads all of them: `softmax(q·Kᵀ/√d)·V`. The codecs here follow what the KV-cache
//! literature found works (KIVI, arXiv 2402.02750; KVQuant, arXiv 2401.18079):
//!
//! * [`ChannelKeys`] — keys quantized **per channel** across a block of `B` tokens (each channel
//!   of the block has its own offset and step, stored in the block), optionally in a calibrated
//!   PCA basis, with the block's bits spread over the channels by their (query-weighted)
//!   variance. Fractional rates such as 2.5 bits per dimension are exact.
//! * [`TokenValues`] — values quantized **per token** with a scale (and offset) per group of
//!   channels.
//! * [`Outliers`] — the dense-and-sparse split as one generic wrapper over any codec: a fixed
//!   number of the values farthest from their channel's mean are stored apart as
//!   `(u16 index, f16 residual)` pairs and removed before the inner codec quantizes the rest.
//! * [`EntropyBlock`] — transform coding (a calibrated query-weighted KLT for keys, PCA for
//!   values) with uniform quantization whose indexes are range coded under a per-block
//!   discretized Gaussian model into a fixed byte budget: fractional rates are real and the
//!   rate is spent where the logit error is.
//!   [`encode_shared_step`] codes one block of every head of a layer with one shared
//!   quantizer step under a joint byte budget.
//! * [`GaussianRd`] — not a codec: the Gaussian rate–distortion reference (reverse
//!   water-filling and its ideal test channel), for measuring what rate any codec would need
//!   under a Gaussian model.
//! * [`KvCache`] — the cache itself: full blocks as codes, the newest `< B` tokens kept in
//!   higher precision (KIVI's residual block) until the block fills, and attention from codes.
//!
//! # Why a block API
//!
//! Per-channel parameters are shared by the `B` tokens of a block, so a key's code is not a
//! function of that key alone: the per-vector [`Codec`](crate::Codec) interface applies to a
//! **block** (`dim() = B·d`, one code per block), and [`TokenBlock`] adds what attention needs —
//! the `B` logits `q·k̂_t` of one query and the weighted sum `Σ_t p_t·v̂_t` — computed from the
//! codes without materializing `K̂` or `V̂` as floats. The factory (`factory::build`) builds
//! per-vector codecs of a collection and has no notion of a head, a block or a calibration
//! prefix; these codecs are therefore built by their constructors and saved with their own
//! `to_bytes` / `from_bytes` (kind [`KIND`]).
//!
//! # Rates
//!
//! Everything a block stores is in its code: the per-channel widths, offsets and steps (in the
//! chosen [`SideFormat`](crate::scalar::side::SideFormat)), the packed codes, and the outlier
//! pairs. [`Codec::bits_per_dim`](crate::Codec::bits_per_dim) of a block codec is therefore the
//! stored bits per key (or value) coordinate. Calibrated parameters (a PCA basis and its mean,
//! channel weights) are per head and per model, like the model's weights; `param_bytes` reports
//! them so that evaluations can amortize them honestly.

mod cache;
mod entropy;
mod keys;
mod outliers;
mod pack;
mod rd;
mod values;

pub use cache::KvCache;
pub use entropy::{EntropyBlock, MAX_BLOCK_VALUES, MAX_PROBES, SharedStep, encode_shared_step};
pub use keys::{Basis, ChannelKeys};
pub use outliers::{Outliers, OutliersQuery};
pub use rd::{GaussianRd, water_level};
pub use values::TokenValues;

use crate::Result;

/// The container kind of the KV codecs' saved parameters.
pub const KIND: u16 = 0x0900;

/// The largest head dimension the KV codecs accept: 1,024.
pub const MAX_HEAD_DIM: usize = 1024;

/// `Ok` if every value of a block codec's result (logits, attention output) is finite, else
/// [`Error::Corrupt`](crate::Error::Corrupt) with `what`: a corrupt code whose parts are each in
/// range can still overflow a sum, and no result is returned as `Ok` with NaN or ±inf.
#[inline]
pub(crate) fn finite_result(out: &[f32], what: &'static str) -> crate::Result<()> {
    crate::error::check_finite(out).map_err(|_| crate::Error::Corrupt(what))
}

/// A codec of a block of `block_tokens()` tokens of one head (`dim() = block_tokens() ·
/// head_dim()`, row-major: token `t` is `x[t·d..(t+1)·d]`) that computes attention from its codes.
pub trait TokenBlock: crate::Decode {
    /// The head dimension `d`.
    fn head_dim(&self) -> usize;
    /// The tokens `B` of one block.
    fn block_tokens(&self) -> usize;
    /// The logits of one query against the block: `out[t] = ⟨q, k̂_t⟩` for the decoded keys
    /// `k̂_t` (not scaled by `1/√d`), computed from the code. Equal to decoding and taking dot
    /// products up to float rounding (the summation order differs).
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] unless `q.len() == d` and `out.len() == B`;
    /// [`crate::Error::CodeLength`]; [`crate::Error::NonFinite`] for a NaN/inf query;
    /// [`crate::Error::Corrupt`] as the decoder, and where a logit is not finite (a corrupt
    /// code whose decoded values are finite can still overflow the dot product).
    fn logits(&self, q: &[f32], code: &[u8], out: &mut [f32]) -> Result<()>;
    /// Adds the weighted sum of the block's decoded vectors: `out += Σ_t p[t]·v̂_t`, computed from
    /// the code (for values; `p` are the attention weights of the block's tokens).
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] unless `p.len() == B` and `out.len() == d`;
    /// [`crate::Error::CodeLength`]; [`crate::Error::NonFinite`] for NaN/inf weights;
    /// [`crate::Error::Corrupt`] as the decoder.
    fn attend(&self, p: &[f32], code: &[u8], out: &mut [f32]) -> Result<()>;
    /// The logits of `n` queries (`queries`: `n × d`) against one block: `out[j·B..(j+1)·B]` is
    /// [`logits`](Self::logits) of query `j`. The default calls it per query; codecs whose
    /// codes are costly to read (entropy coded) decode the block once.
    ///
    /// # Errors
    /// As [`logits`](Self::logits); [`crate::Error::DimensionMismatch`] unless `queries.len()`
    /// is a multiple of `d` and `out.len() = n·B`.
    fn logits_batch(&self, queries: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        let (d, b) = (self.head_dim(), self.block_tokens());
        let n = crate::codec::batch_rows(queries.len(), d)?;
        crate::error::check_dim(n * b, out.len())?;
        for (q, o) in queries.chunks_exact(d).zip(out.chunks_exact_mut(b)) {
            self.logits(q, code, o)?;
        }
        Ok(())
    }
    /// [`attend`](Self::attend) for `n` rows of weights (`p`: `n × B`) into `n` outputs (`out`:
    /// `n × d`, each added to). The default calls it per row.
    ///
    /// # Errors
    /// As [`attend`](Self::attend); [`crate::Error::DimensionMismatch`] unless `p.len()` is a
    /// multiple of `B` and `out.len() = n·d`.
    fn attend_batch(&self, p: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        let (d, b) = (self.head_dim(), self.block_tokens());
        let n = crate::codec::batch_rows(p.len(), b)?;
        crate::error::check_dim(n * d, out.len())?;
        for (pr, o) in p.chunks_exact(b).zip(out.chunks_exact_mut(d)) {
            self.attend(pr, code, o)?;
        }
        Ok(())
    }
}

/// Checks the common arguments of [`TokenBlock::logits`].
pub(crate) fn check_logits<C: TokenBlock + ?Sized>(c: &C, q: &[f32], code: &[u8], out: &[f32]) -> Result<()> {
    crate::error::check_dim(c.head_dim(), q.len())?;
    crate::error::check_dim(c.block_tokens(), out.len())?;
    crate::error::check_code(c.code_len(), code.len())?;
    crate::error::check_finite(q)
}

/// Checks the common arguments of [`TokenBlock::attend`].
pub(crate) fn check_attend<C: TokenBlock + ?Sized>(c: &C, p: &[f32], code: &[u8], out: &[f32]) -> Result<()> {
    crate::error::check_dim(c.block_tokens(), p.len())?;
    crate::error::check_dim(c.head_dim(), out.len())?;
    crate::error::check_code(c.code_len(), code.len())?;
    crate::error::check_finite(p)
}

/// Validates a `(head_dim, tokens)` pair: `1 ≤ d ≤ MAX_HEAD_DIM`, `tokens ≥ 1`, and
/// `tokens · d ≤ MAX_DIM` (so every index in a block fits a `u16`).
pub(crate) fn check_shape(d: usize, tokens: usize) -> Result<()> {
    if d == 0 || d > MAX_HEAD_DIM {
        return Err(crate::Error::InvalidParameter("KV: head dimension must be in 1..=1024"));
    }
    if tokens == 0 || tokens.checked_mul(d).is_none_or(|n| n > crate::persist::MAX_DIM) {
        return Err(crate::Error::InvalidParameter("KV: block tokens × head dimension must be in 1..=65536"));
    }
    Ok(())
}
