//! One object-safe interface to every codec: [`DynCodec`].
//!
//! The generic traits ([`Codec`], [`Decode`], [`Score`]) are zero-cost but cannot be held as
//! trait objects ([`Score::Query`] is a generic associated type). A vector database that reads
//! its codec from a configuration file needs the opposite: one type for every codec. `DynCodec`
//! is that type — `Send + Sync`, no generic parameter at the call site, no allocation per code:
//!
//! * [`encode_batch`](DynCodec::encode_batch) / [`decode_batch`](DynCodec::decode_batch) on
//!   contiguous rows and codes;
//! * [`with_query`](DynCodec::with_query) prepares a query into caller scratch and hands a
//!   [`PreparedQuery`] to a closure, which scores any number of code batches with the codec's
//!   own batch kernel (one virtual call per batch, not per code);
//! * `scan` and `scan_topk` (`impl dyn DynCodec`): a
//!   whole scan in one call, to scores or to the `k` best ids;
//! * [`save`](DynCodec::save) writes the codec (name, metric, parameters) so that
//!   [`crate::factory::load`] reads it back as a `Box<dyn DynCodec>`.
//!
//! Codecs are built by name with [`crate::factory::build`]; [`Erased`] turns any
//! `Decode + Score + Persist` value into a `DynCodec` by hand.
//!
//! Scores are "larger is more similar" in the codec's [`Metric`]: `⟨q, x⟩`, `−‖q − x‖²` or the
//! cosine (see [`crate::metric`]).

use crate::codec::{Codec, Decode, Estimator, Score};
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::persist::Persist;
use crate::topk::TopK;

/// A query prepared by [`DynCodec::with_query`], ready to score codes.
pub trait PreparedQuery {
    /// Scores `out.len()` contiguous codes (`out.len() · code_len()` bytes) with the codec's
    /// batch kernel.
    ///
    /// # Errors
    /// [`Error::CodeLength`] on a wrong byte count; [`Error::Corrupt`] for invalid codes.
    fn score_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()>;
    /// Scores the first `out.len()` vectors of a search layout ([`DynCodec::to_layout`]).
    ///
    /// # Errors
    /// As [`Score::score_layout`].
    fn score_layout(&self, layout: &[u8], out: &mut [f32]) -> Result<()>;
}

/// The largest `k` of `<dyn DynCodec>::scan_topk` (the selector lives on the stack).
pub const MAX_K: usize = 1024;

/// Every codec of the crate behind one object-safe interface (see the module docs).
pub trait DynCodec: Send + Sync {
    /// The configuration name the codec was built from (a [`crate::factory`] name).
    fn name(&self) -> &str;
    /// One line on what the codec is (from the factory's table).
    fn about(&self) -> &str;
    /// The metric scores are computed in.
    fn metric(&self) -> Metric;
    /// The vector dimension.
    fn dim(&self) -> usize;
    /// Bytes per code (everything stored per vector).
    fn code_len(&self) -> usize;
    /// Bits stored per dimension, `8 · code_len / dim`.
    fn bits_per_dim(&self) -> f64 {
        if self.dim() == 0 { 0.0 } else { 8.0 * self.code_len() as f64 / self.dim() as f64 }
    }
    /// What the score estimates (see [`Estimator`]).
    fn estimator(&self) -> Estimator;
    /// Encodes `xs.len() / dim()` row-major vectors into `codes`.
    ///
    /// # Errors
    /// As [`Codec::encode_batch`].
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()>;
    /// Decodes `codes.len() / code_len()` codes into `out`.
    ///
    /// # Errors
    /// As [`Decode::decode_batch`].
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()>;
    /// The search layout's block: `(vectors, bytes)` (see [`Score::layout_block`]). Default:
    /// the codes themselves, `(1, code_len())`.
    fn layout_block(&self) -> (usize, usize) {
        (1, self.code_len())
    }
    /// Writes the search layout of `codes` into `out` (see [`Score::to_layout`];
    /// [`layout_len`](crate::codec::layout_len) gives its size). Default: a copy.
    ///
    /// # Errors
    /// As [`Score::to_layout`].
    fn to_layout(&self, codes: &[u8], out: &mut [u8]) -> Result<()> {
        let c = self.code_len();
        let n = codes.len().checked_div(c).unwrap_or(0);
        crate::error::check_code(n * c, codes.len())?;
        crate::error::check_code(crate::codec::layout_len(self.layout_block(), n)?, out.len())?;
        out.copy_from_slice(codes);
        Ok(())
    }
    /// `f32` words of scratch [`with_query`](DynCodec::with_query) needs.
    fn query_scratch_len(&self) -> usize;
    /// Prepares `q` into `scratch` and calls `f` with the prepared query; returns what `f`
    /// returns.
    ///
    /// # Errors
    /// As [`Score::prepare`], and whatever `f` returns.
    fn with_query(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        f: &mut dyn FnMut(&dyn PreparedQuery) -> Result<()>,
    ) -> Result<()>;
    /// The saved codec: name, metric, dimension and parameters in the crate's container (see
    /// `FORMAT.md`); [`crate::factory::load`] reads it back.
    ///
    /// # Errors
    /// [`Error::Overflow`] if the parameters exceed the container's 4 GiB payload.
    #[cfg(feature = "alloc")]
    fn save(&self) -> Result<alloc::vec::Vec<u8>>;
    /// Bytes `codes` (whole codes of [`code_len`](DynCodec::code_len) bytes) take in their stored
    /// form: `codes.len()` for fixed-rate codecs; entropy-coded codecs compress them for real and
    /// report the compressed size ([`compress`](DynCodec::compress)).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for partial codes; the compressor's errors.
    fn stored_bytes(&self, codes: &[u8]) -> Result<usize> {
        crate::codec::batch_rows(codes.len(), self.code_len())?;
        Ok(codes.len())
    }
    /// The stored form of `codes` (a copy for fixed-rate codecs).
    ///
    /// # Errors
    /// As [`stored_bytes`](DynCodec::stored_bytes).
    #[cfg(feature = "alloc")]
    fn compress(&self, codes: &[u8]) -> Result<alloc::vec::Vec<u8>> {
        crate::codec::batch_rows(codes.len(), self.code_len())?;
        Ok(codes.to_vec())
    }
    /// The codes of a stored form written by [`compress`](DynCodec::compress).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for partial codes, [`Error::Corrupt`] (or the decoder's
    /// errors) for invalid stored bytes.
    #[cfg(feature = "alloc")]
    fn decompress(&self, stored: &[u8]) -> Result<alloc::vec::Vec<u8>> {
        crate::codec::batch_rows(stored.len(), self.code_len())?;
        Ok(stored.to_vec())
    }
}

impl dyn DynCodec + '_ {
    /// Scores every code of `codes` against `q` into `out` (one score per code), with `scratch`
    /// of at least [`query_scratch_len`](DynCodec::query_scratch_len) words. No allocation.
    ///
    /// # Errors
    /// As [`with_query`](DynCodec::with_query) and [`PreparedQuery::score_batch`].
    pub fn scan_into(&self, q: &[f32], scratch: &mut [f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.with_query(q, scratch, &mut |p| p.score_batch(codes, out))
    }

    /// Bytes of the search layout of `n` codes (see [`DynCodec::layout_block`]).
    ///
    /// # Errors
    /// [`Error::Overflow`] if it does not fit `usize`.
    pub fn layout_len(&self, n: usize) -> Result<usize> {
        crate::codec::layout_len(self.layout_block(), n)
    }

    /// The search layout of `codes` (see [`DynCodec::to_layout`]), on the heap.
    ///
    /// # Errors
    /// As [`DynCodec::to_layout`].
    #[cfg(feature = "alloc")]
    pub fn layout(&self, codes: &[u8]) -> Result<alloc::vec::Vec<u8>> {
        let c = self.code_len();
        let n = codes.len().checked_div(c).unwrap_or(0);
        let mut out = alloc::vec![0u8; self.layout_len(n)?];
        self.to_layout(codes, &mut out)?;
        Ok(out)
    }

    /// Scores the first `out.len()` vectors of a search layout against `q` (the same values as
    /// `scan_into` on the codes). No allocation.
    ///
    /// # Errors
    /// As [`with_query`](DynCodec::with_query) and [`PreparedQuery::score_layout`].
    pub fn scan_layout_into(&self, q: &[f32], scratch: &mut [f32], layout: &[u8], out: &mut [f32]) -> Result<()> {
        self.with_query(q, scratch, &mut |p| p.score_layout(layout, out))
    }

    /// Scores every code of `codes` against `q` into `out`, with scratch from the heap.
    ///
    /// # Errors
    /// As `scan_into`.
    #[cfg(feature = "alloc")]
    pub fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        let mut scratch = alloc::vec![0f32; self.query_scratch_len()];
        self.scan_into(q, &mut scratch, codes, out)
    }

    /// Offers every code's score to `top` (ids are code indices, from 0), scoring blocks of 256
    /// codes at a time into a stack buffer. No allocation.
    ///
    /// # Errors
    /// As `scan_into`; [`Error::Overflow`] for more than `u32::MAX` codes.
    pub fn scan_topk_into<const CAP: usize>(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        codes: &[u8],
        top: &mut TopK<CAP>,
    ) -> Result<()> {
        const BLOCK: usize = 256;
        let c = self.code_len();
        let n = crate::codec::batch_rows(codes.len(), c)
            .map_err(|_| Error::CodeLength { expected: codes.len() / c.max(1) * c, got: codes.len() })?;
        if u32::try_from(n).is_err() {
            return Err(Error::Overflow);
        }
        if c == 0 {
            return Ok(());
        }
        self.with_query(q, scratch, &mut |p| {
            let mut buf = [0f32; BLOCK];
            for (b, block) in codes.chunks(BLOCK * c).enumerate() {
                let out = &mut buf[..block.len() / c];
                p.score_batch(block, out)?;
                top.push_batch(out, (b * BLOCK) as u32);
            }
            Ok(())
        })
    }

    /// The `k` best codes for `q` as `(id, score)`, best first (ties towards the smaller id).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `k > MAX_K`; as `scan_into`.
    #[cfg(feature = "alloc")]
    pub fn scan_topk(&self, q: &[f32], codes: &[u8], k: usize) -> Result<alloc::vec::Vec<(u32, f32)>> {
        if k > MAX_K {
            return Err(Error::InvalidParameter("scan_topk: k above MAX_K"));
        }
        let mut scratch = alloc::vec![0f32; self.query_scratch_len()];
        let mut top = alloc::boxed::Box::new(TopK::<MAX_K>::new(k));
        self.scan_topk_into(q, &mut scratch, codes, &mut top)?;
        let mut out = alloc::vec![(0f32, 0u32); top.len()];
        let m = top.drain_sorted(&mut out);
        Ok(out[..m].iter().map(|&(s, i)| (i, s)).collect())
    }
}

/// A codec value behind [`DynCodec`], with the name and metric it was built for.
///
/// `about` is the factory table's line for the name.
#[derive(Clone, Debug)]
pub struct Erased<C> {
    name: Name,
    about: &'static str,
    metric: Metric,
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    seed: u64,
    /// The concrete codec.
    pub codec: C,
}

/// An owned configuration name, inline (no allocator), at most 64 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name {
    len: u8,
    buf: [u8; 64],
}

impl Name {
    /// The name `s`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if longer than 64 bytes.
    pub fn new(s: &str) -> Result<Self> {
        let b = s.as_bytes();
        if b.len() > 64 {
            return Err(Error::InvalidParameter("configuration name longer than 64 bytes"));
        }
        let mut buf = [0u8; 64];
        buf[..b.len()].copy_from_slice(b);
        Ok(Name { len: b.len() as u8, buf })
    }
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        // Built from a `&str` whole, so always valid UTF-8.
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

impl<C> Erased<C> {
    /// `codec` under `name` (its factory name), built with `seed`, scoring in `metric`.
    ///
    /// The metric is a label here: a codec that scores L2 or cosine is a
    /// [`WithNorm`](crate::metric::WithNorm) (the factory wraps it).
    ///
    /// # Errors
    /// As [`Name::new`].
    pub fn new(name: &str, about: &'static str, metric: Metric, seed: u64, codec: C) -> Result<Self> {
        Ok(Erased { name: Name::new(name)?, about, metric, seed, codec })
    }
}

struct Prepared<'a, C: Score + 'a> {
    codec: &'a C,
    query: C::Query<'a>,
}

impl<'a, C: Score + 'a> PreparedQuery for Prepared<'a, C> {
    fn score_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.codec.score_batch(&self.query, codes, out)
    }
    fn score_layout(&self, layout: &[u8], out: &mut [f32]) -> Result<()> {
        self.codec.score_layout(&self.query, layout, out)
    }
}

impl<C> DynCodec for Erased<C>
where
    C: Decode + Score + Persist + Send + Sync,
{
    fn name(&self) -> &str {
        self.name.as_str()
    }
    fn about(&self) -> &str {
        self.about
    }
    fn metric(&self) -> Metric {
        self.metric
    }
    fn dim(&self) -> usize {
        self.codec.dim()
    }
    fn code_len(&self) -> usize {
        self.codec.code_len()
    }
    fn estimator(&self) -> Estimator {
        self.codec.estimator()
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        Codec::encode_batch(&self.codec, xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        Decode::decode_batch(&self.codec, codes, out)
    }
    fn layout_block(&self) -> (usize, usize) {
        self.codec.layout_block()
    }
    fn to_layout(&self, codes: &[u8], out: &mut [u8]) -> Result<()> {
        self.codec.to_layout(codes, out)
    }
    fn query_scratch_len(&self) -> usize {
        self.codec.query_scratch_len()
    }
    fn with_query(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        f: &mut dyn FnMut(&dyn PreparedQuery) -> Result<()>,
    ) -> Result<()> {
        let query = self.codec.prepare(q, scratch)?;
        f(&Prepared { codec: &self.codec, query })
    }
    #[cfg(feature = "alloc")]
    fn save(&self) -> Result<alloc::vec::Vec<u8>> {
        save_parts(self.name(), self.metric, self.dim(), self.seed, &self.codec)
    }
}

/// Writes the saved form of a codec ([`crate::factory::load`] reads it): the header fields
/// (kind [`CODEC`](crate::format::kind::CODEC)), then `codec`'s parameters.
///
/// # Errors
/// [`Error::Overflow`] if the payload exceeds 4 GiB.
#[cfg(feature = "alloc")]
fn save_parts<C: Persist>(name: &str, metric: Metric, dim: usize, seed: u64, codec: &C) -> Result<alloc::vec::Vec<u8>> {
    let mut w = crate::format::Writer::new(crate::format::kind::CODEC);
    w.u8(name.len() as u8).bytes(name.as_bytes()).u8(metric.tag()).u32(dim as u32).u64(seed);
    codec.persist(&mut w);
    w.finish()
}
