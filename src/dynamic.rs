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
//!   whole scan in one call, to scores or to the `k` best ids (`scan_layout_topk` on a search
//!   layout); on all cores with the `parallel` feature (see [`crate::par`]);
//! * [`scan_layout_many`](DynCodec::scan_layout_many) and `scan_layout_topk_many`: a batch of
//!   queries against one search layout, several queries per pass over the codes where the codec
//!   has such a kernel (4-bit fast-scan PQ);
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
    /// The exact score of one code (see [`Score::score_exact`]), what a re-ranked top-k scan
    /// re-scores its candidates with. Default: the batch kernel on that one code.
    ///
    /// # Errors
    /// As [`score_batch`](PreparedQuery::score_batch).
    fn score_exact(&self, code: &[u8]) -> Result<f32> {
        let mut out = [0f32; 1];
        self.score_batch(code, &mut out)?;
        Ok(out[0])
    }
    /// The exact score of vector `i` of a search layout (see [`Score::score_exact_layout`]).
    /// Default: [`Error::InvalidParameter`] (a query type that re-ranks implements it).
    ///
    /// # Errors
    /// [`Error::CodeLength`] if `layout` does not hold vector `i`; as `score_exact`.
    fn score_exact_layout(&self, layout: &[u8], i: usize) -> Result<f32> {
        let _ = (layout, i);
        Err(Error::InvalidParameter("this prepared query has no exact score from a layout"))
    }
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
    /// The re-rank factor `R` of the top-k scans (see [`Score::rerank_factor`] and
    /// [`crate::rerank`]): above 1, `scan_topk`, `scan_layout_topk` and their `_into` and
    /// `_many` forms keep the `min(R·k, 4096)` best approximate scores and return the `k` best of
    /// their [`PreparedQuery::score_exact`] scores. Default 1 (no re-rank).
    fn rerank_factor(&self) -> usize {
        1
    }
    /// Encodes `xs.len() / dim()` row-major vectors into `codes`. [`Erased`] codecs (all factory
    /// codecs) encode pieces of rows on all cores with the `parallel` feature: the same codes
    /// and the same error (the first failing row's) as one thread.
    ///
    /// # Errors
    /// As [`Codec::encode_batch`].
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()>;
    /// Decodes `codes.len() / code_len()` codes into `out` (on all cores with the `parallel`
    /// feature for [`Erased`] codecs, with the same results).
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
    /// Scores the first `n` vectors of a search layout ([`to_layout`](DynCodec::to_layout))
    /// against each of the `queries.len() / dim()` row-major queries and hands the scores to
    /// `sink(query, first_id, scores)` in pieces of at most 256 vectors (per query in increasing
    /// id order; the same values as `scan_layout_into` per query; [`Erased`] codecs hand pieces of
    /// up to 1,024 vectors). `scratch` holds at least
    /// [`MANY_QUERIES`]` · query_scratch_len()` words. [`Erased`] codecs prepare
    /// [`MANY_QUERIES`] queries at a time and score each piece for all of them with
    /// [`Score::score_layout_many`] (4-bit fast-scan PQ: two passes of 4 queries over each piece,
    /// the second from cache, so the codes stream from memory once per 8 queries); the default
    /// serves one query per pass. No allocation.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `queries.len()` is not a multiple of `dim()`;
    /// [`Error::BufferTooSmall`] for short scratch; as `scan_layout_topk_into`.
    fn scan_layout_many(
        &self,
        queries: &[f32],
        scratch: &mut [f32],
        layout: &[u8],
        n: usize,
        sink: &mut dyn FnMut(usize, u32, &[f32]),
    ) -> Result<()> {
        let Some(plan) = many_plan(self, queries, scratch.len(), layout, n)? else { return Ok(()) };
        let scratch = &mut scratch[..self.query_scratch_len()];
        let mut buf = [0f32; SCAN_BLOCK];
        for (qi, q) in queries.chunks_exact(plan.dim).enumerate() {
            self.with_query(q, scratch, &mut |p| {
                let mut s = 0;
                while s < n {
                    let e = (s + plan.step).min(n);
                    let out = &mut buf[..e - s];
                    p.score_layout(&layout[s / plan.vectors * plan.bytes_per_block..], out)?;
                    sink(qi, s as u32, out);
                    s = e;
                }
                Ok(())
            })?;
        }
        Ok(())
    }
    /// [`scan_layout_many`](DynCodec::scan_layout_many) that also hands each query, prepared,
    /// to `then(query, prepared)` once all of that query's scores have gone to `sink`: the
    /// re-ranked many-query top-k re-scores its candidates with the query the scan prepared
    /// instead of preparing it again. `then` is called for every query, also when there is
    /// nothing to scan (`n == 0`). The default prepares each query once and scans it alone;
    /// [`Erased`] codecs scan [`MANY_QUERIES`] at a time ([`Score::score_layout_many`]) and call
    /// `then` for each query of a group after the group's pass. No allocation.
    ///
    /// # Errors
    /// As [`scan_layout_many`](DynCodec::scan_layout_many), and whatever `then` returns.
    fn scan_layout_many_then(
        &self,
        queries: &[f32],
        scratch: &mut [f32],
        layout: &[u8],
        n: usize,
        sink: &mut dyn FnMut(usize, u32, &[f32]),
        then: &mut dyn FnMut(usize, &dyn PreparedQuery) -> Result<()>,
    ) -> Result<()> {
        let plan = many_plan(self, queries, scratch.len(), layout, n)?;
        let scratch = &mut scratch[..self.query_scratch_len()];
        let mut buf = [0f32; SCAN_BLOCK];
        for (qi, q) in queries.chunks_exact(self.dim().max(1)).enumerate() {
            self.with_query(q, scratch, &mut |p| {
                if let Some(plan) = &plan {
                    let mut s = 0;
                    while s < n {
                        let e = (s + plan.step).min(n);
                        let out = &mut buf[..e - s];
                        p.score_layout(&layout[s / plan.vectors * plan.bytes_per_block..], out)?;
                        sink(qi, s as u32, out);
                        s = e;
                    }
                }
                then(qi, p)
            })?;
        }
        Ok(())
    }
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
    /// codes at a time into a stack buffer. No allocation in the default build, except the
    /// 32 KiB candidate selector of a re-ranking codec ([`DynCodec::rerank_factor`] above 1:
    /// the `min(R·k, 4096)` best scores re-scored exactly), on the heap under `alloc`.
    ///
    /// With the `parallel` feature and more than one thread, more than 16,384 codes are scanned
    /// as contiguous ranges of 16,384 codes (each with its own prepared query and top-k) that are
    /// merged in range order: the same ids and scores as one thread (see [`crate::par`]);
    /// `scratch` is then unused.
    ///
    /// # Errors
    /// As `scan_into`; [`Error::Overflow`] for more than `u32::MAX` codes. On error, what `top`
    /// holds is unspecified.
    pub fn scan_topk_into<const CAP: usize>(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        codes: &[u8],
        top: &mut TopK<CAP>,
    ) -> Result<()> {
        let c = self.code_len();
        let n = crate::codec::batch_rows(codes.len(), c)
            .map_err(|_| Error::CodeLength { expected: codes.len() / c.max(1) * c, got: codes.len() })?;
        if u32::try_from(n).is_err() {
            return Err(Error::Overflow);
        }
        if c == 0 {
            return Ok(());
        }
        let src = Src { bytes: codes, vectors: 1, bytes_per_block: c, step: SCAN_BLOCK, layout: false };
        self.scan_src(q, scratch, src, n, top)
    }

    /// Offers the scores of the first `n` vectors of a search layout ([`DynCodec::to_layout`]) to
    /// `top` (ids are vector indices, from 0): the same ids and scores as
    /// `scan_topk_into` on the codes, scored with the layout kernel in
    /// pieces of whole layout blocks (about 256 vectors) into a stack buffer. No allocation in
    /// the default build (a re-ranking codec's candidates as in `scan_topk_into`); parallel with
    /// the `parallel` feature as `scan_topk_into`.
    ///
    /// # Errors
    /// [`Error::CodeLength`] if `layout` is shorter than the layout of `n` codes;
    /// [`Error::InvalidParameter`] for layout blocks of more than 256 vectors; [`Error::Overflow`]
    /// for more than `u32::MAX` vectors; as `scan_layout_into`.
    pub fn scan_layout_topk_into<const CAP: usize>(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        layout: &[u8],
        n: usize,
        top: &mut TopK<CAP>,
    ) -> Result<()> {
        let (vectors, bytes_per_block) = self.layout_block();
        let need = self.layout_len(n)?;
        if layout.len() < need {
            return Err(Error::CodeLength { expected: need, got: layout.len() });
        }
        if vectors > SCAN_BLOCK {
            return Err(Error::InvalidParameter("scan_layout_topk: layout blocks above 256 vectors"));
        }
        if u32::try_from(n).is_err() {
            return Err(Error::Overflow);
        }
        if self.code_len() == 0 {
            return Ok(());
        }
        let step = SCAN_BLOCK / vectors * vectors;
        let src = Src { bytes: layout, vectors, bytes_per_block, step, layout: true };
        self.scan_src(q, scratch, src, n, top)
    }

    /// The scan behind the two top-k scans: serial into `top`, or in ranges of 64 pieces; with
    /// a re-rank factor above 1, into `min(R·k, 4096)` candidates that are then re-scored
    /// exactly into `top` (the candidates, and so the result, are the same serial or parallel).
    fn scan_src<const CAP: usize>(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        src: Src<'_>,
        n: usize,
        top: &mut TopK<CAP>,
    ) -> Result<()> {
        let factor = self.rerank_factor();
        if factor <= 1 || top.k() == 0 {
            if self.scan_ranges(q, src, n, top)? {
                return Ok(());
            }
            return self.with_query(q, scratch, &mut |p| scan_pieces(p, src, 0..n, top));
        }
        let mut cand = new_candidates(crate::rerank::candidates(top.k(), factor)?);
        let cand: &mut TopK<{ crate::rerank::MAX_CANDIDATES }> = &mut cand;
        let parallel = self.scan_ranges(q, src, n, cand)?;
        self.with_query(q, scratch, &mut |p| {
            if !parallel {
                scan_pieces(p, src, 0..n, cand)?;
            }
            crate::rerank::rescore(cand, top, |i| exact_at(p, src, i))
        })
    }

    /// With the `parallel` feature and enough vectors: scans ranges of 64 pieces on the pool
    /// into `top` and returns `true`; otherwise does nothing and returns `false`.
    #[cfg_attr(not(feature = "parallel"), allow(clippy::unnecessary_wraps))]
    fn scan_ranges<const CAP: usize>(&self, q: &[f32], src: Src<'_>, n: usize, top: &mut TopK<CAP>) -> Result<bool> {
        #[cfg(feature = "parallel")]
        {
            let grain = SCAN_RANGE_PIECES * src.step;
            if crate::par::split(n, grain) {
                let k = top.k();
                let parts = crate::par::map_ranges(n, grain, |r| {
                    let mut scratch = alloc::vec![0f32; self.query_scratch_len()];
                    let mut t = alloc::boxed::Box::new(TopK::<CAP>::new(k));
                    self.with_query(q, &mut scratch, &mut |p| scan_pieces(p, src, r.clone(), &mut t))?;
                    Ok::<_, Error>(t)
                });
                for t in parts {
                    top.merge(&*t?);
                }
                return Ok(true);
            }
        }
        let _ = (q, src, n, top);
        Ok(false)
    }

    /// The `k` best vectors of the first `n` of a search layout for `q` as `(id, score)`, best
    /// first (ties towards the smaller id): the same as `scan_topk` on the
    /// codes.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `k > MAX_K`; as
    /// `scan_layout_topk_into`.
    #[cfg(feature = "alloc")]
    pub fn scan_layout_topk(
        &self,
        q: &[f32],
        layout: &[u8],
        n: usize,
        k: usize,
    ) -> Result<alloc::vec::Vec<(u32, f32)>> {
        if k > MAX_K {
            return Err(Error::InvalidParameter("scan_layout_topk: k above MAX_K"));
        }
        let mut scratch = alloc::vec![0f32; self.query_scratch_len()];
        let mut top = alloc::boxed::Box::new(TopK::<MAX_K>::new(k));
        self.scan_layout_topk_into(q, &mut scratch, layout, n, &mut top)?;
        Ok(drain_pairs(&mut top))
    }

    /// For each of the `queries.len() / dim()` queries, offers the scores of the first `n`
    /// vectors of a search layout to `tops[i]`: the same entries as `scan_layout_topk_into`
    /// per query, through [`DynCodec::scan_layout_many`] (several queries per pass over the
    /// codes where the codec has such a kernel). Serial (no `parallel` split). `scratch` holds
    /// [`MANY_QUERIES`]` · query_scratch_len()` words. No allocation, except a re-ranking
    /// codec's candidate selectors under `alloc` (`min(MANY_QUERIES, queries)` of 32 KiB,
    /// allocated once per call and reused by every group of queries).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `tops` has fewer selectors than queries; as
    /// [`DynCodec::scan_layout_many`].
    pub fn scan_layout_topk_many_into<const CAP: usize>(
        &self,
        queries: &[f32],
        scratch: &mut [f32],
        layout: &[u8],
        n: usize,
        tops: &mut [TopK<CAP>],
    ) -> Result<()> {
        let nq = queries.len().checked_div(self.dim()).unwrap_or(0);
        if tops.len() < nq {
            return Err(Error::BufferTooSmall { needed: nq, got: tops.len() });
        }
        if self.rerank_factor() > 1 {
            return self.rerank_many(queries, scratch, layout, n, tops);
        }
        self.scan_layout_many(queries, scratch, layout, n, &mut |qi, first, s| {
            if let Some(t) = tops.get_mut(qi) {
                t.push_batch(s, first);
            }
        })
    }

    /// `scan_layout_topk_many_into` of a re-ranking codec: under `alloc`, per group of
    /// [`MANY_QUERIES`] queries one [`DynCodec::scan_layout_many_then`] pass (the multi-query
    /// kernel) into candidate selectors of `min(R·k, 4096)` (allocated once per call, reset per
    /// group), then each query's candidates re-scored exactly with the query the pass prepared;
    /// without `alloc`, `scan_layout_topk_into` per query. The same entries either way.
    fn rerank_many<const CAP: usize>(
        &self,
        queries: &[f32],
        scratch: &mut [f32],
        layout: &[u8],
        n: usize,
        tops: &mut [TopK<CAP>],
    ) -> Result<()> {
        let dim = self.dim();
        crate::codec::batch_rows(queries.len(), dim)?;
        let qsl = self.query_scratch_len();
        let need = MANY_QUERIES.saturating_mul(qsl);
        if scratch.len() < need {
            return Err(Error::BufferTooSmall { needed: need, got: scratch.len() });
        }
        #[cfg(feature = "alloc")]
        {
            let factor = self.rerank_factor();
            let (vectors, bytes_per_block) = self.layout_block();
            let src = Src { bytes: layout, vectors, bytes_per_block, step: vectors, layout: true };
            // One candidate selector per query of a group, allocated once per call and reset
            // for every group (not 32 KiB allocated and cleared per query).
            let nq = queries.len() / dim.max(1);
            let mut cands: alloc::vec::Vec<_> = (0..MANY_QUERIES.min(nq)).map(|_| new_candidates(0)).collect();
            for (qg, tg) in queries.chunks(MANY_QUERIES * dim.max(1)).zip(tops.chunks_mut(MANY_QUERIES)) {
                for (c, t) in cands.iter_mut().zip(tg.iter()) {
                    c.reset(crate::rerank::candidates(t.k(), factor)?);
                }
                // The scan fills the candidates, then each query's candidates are re-scored
                // with the query the scan prepared (one preparation per query).
                let cands = core::cell::RefCell::new(&mut cands[..]);
                self.scan_layout_many_then(
                    qg,
                    scratch,
                    layout,
                    n,
                    &mut |qi, first, s| {
                        if let Some(t) = cands.borrow_mut().get_mut(qi) {
                            t.push_batch(s, first);
                        }
                    },
                    &mut |qi, p| match (cands.borrow().get(qi), tg.get_mut(qi)) {
                        (Some(cand), Some(t)) => crate::rerank::rescore(cand, t, |i| exact_at(p, src, i)),
                        _ => Ok(()),
                    },
                )?;
            }
            Ok(())
        }
        #[cfg(not(feature = "alloc"))]
        {
            for (q, t) in queries.chunks_exact(dim.max(1)).zip(tops.iter_mut()) {
                self.scan_layout_topk_into(q, &mut scratch[..qsl], layout, n, t)?;
            }
            Ok(())
        }
    }

    /// The `k` best vectors of the first `n` of a search layout for each of the row-major
    /// `queries` as `(id, score)`, best first (ties towards the smaller id): per query the same
    /// as `scan_layout_topk`, scanned with `scan_layout_topk_many_into`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `k > MAX_K`; as `scan_layout_topk_many_into`.
    #[cfg(feature = "alloc")]
    pub fn scan_layout_topk_many(
        &self,
        queries: &[f32],
        layout: &[u8],
        n: usize,
        k: usize,
    ) -> Result<alloc::vec::Vec<alloc::vec::Vec<(u32, f32)>>> {
        if k > MAX_K {
            return Err(Error::InvalidParameter("scan_layout_topk_many: k above MAX_K"));
        }
        let nq = queries.len().checked_div(self.dim()).unwrap_or(0);
        let mut scratch = alloc::vec![0f32; MANY_QUERIES * self.query_scratch_len()];
        let mut tops: alloc::vec::Vec<TopK<MAX_K>> = (0..nq).map(|_| TopK::new(k)).collect();
        self.scan_layout_topk_many_into(queries, &mut scratch, layout, n, &mut tops)?;
        Ok(tops.iter_mut().map(drain_pairs).collect())
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
        Ok(drain_pairs(&mut top))
    }
}

/// Vectors scored per kernel call of the top-k scans (a stack buffer of this many scores).
const SCAN_BLOCK: usize = 256;
/// Queries [`DynCodec::scan_layout_many`] prepares at a time (its scratch is this many query
/// scratches).
pub const MANY_QUERIES: usize = 8;
/// Vectors per kernel call of [`DynCodec::scan_layout_many`] for [`Erased`] codecs (a stack
/// buffer of `MANY_QUERIES` times this many scores, 32 KiB).
const MANY_STEP: usize = 1024;

/// The shape of a multi-query layout scan: checked once.
struct ManyPlan {
    dim: usize,
    vectors: usize,
    bytes_per_block: usize,
    step: usize,
}

/// Checks the arguments of [`DynCodec::scan_layout_many`]; `None` when there is nothing to scan.
fn many_plan<T: DynCodec + ?Sized>(
    c: &T,
    queries: &[f32],
    scratch_len: usize,
    layout: &[u8],
    n: usize,
) -> Result<Option<ManyPlan>> {
    let dim = c.dim();
    crate::codec::batch_rows(queries.len(), dim)?;
    let need = MANY_QUERIES.saturating_mul(c.query_scratch_len());
    if scratch_len < need {
        return Err(Error::BufferTooSmall { needed: need, got: scratch_len });
    }
    let (vectors, bytes_per_block) = c.layout_block();
    let len = crate::codec::layout_len((vectors, bytes_per_block), n)?;
    if layout.len() < len {
        return Err(Error::CodeLength { expected: len, got: layout.len() });
    }
    if vectors > SCAN_BLOCK || vectors == 0 {
        return Err(Error::InvalidParameter("scan_layout_many: layout blocks of 1..=256 vectors"));
    }
    if u32::try_from(n).is_err() {
        return Err(Error::Overflow);
    }
    if dim == 0 || queries.is_empty() || n == 0 || c.code_len() == 0 {
        return Ok(None);
    }
    Ok(Some(ManyPlan { dim, vectors, bytes_per_block, step: SCAN_BLOCK / vectors * vectors }))
}

impl ManyPlan {
    /// Vectors per call of the multi-query kernel: whole layout blocks, at most [`MANY_STEP`].
    fn many_step(&self) -> usize {
        MANY_STEP / self.vectors * self.vectors
    }
}

/// Kernel calls per range of a parallel top-k scan (16,384 codes for unit layout blocks).
#[cfg(feature = "parallel")]
const SCAN_RANGE_PIECES: usize = 64;

/// What a top-k scan reads: codes (`layout == false`, blocks of one code) or a search layout.
#[derive(Clone, Copy)]
struct Src<'a> {
    bytes: &'a [u8],
    vectors: usize,
    bytes_per_block: usize,
    /// Vectors per kernel call: a multiple of `vectors`, at most [`SCAN_BLOCK`].
    step: usize,
    layout: bool,
}

/// Offers the scores of vectors `r` (`r.start` a multiple of `src.step`) to `top`, one kernel
/// call per `src.step` vectors, at the same piece boundaries whatever the range.
fn scan_pieces<const CAP: usize>(
    p: &dyn PreparedQuery,
    src: Src<'_>,
    r: core::ops::Range<usize>,
    top: &mut TopK<CAP>,
) -> Result<()> {
    let mut buf = [0f32; SCAN_BLOCK];
    let mut s = r.start;
    while s < r.end {
        let e = (s + src.step).min(r.end);
        let out = &mut buf[..e - s];
        let at = s / src.vectors * src.bytes_per_block;
        if src.layout {
            p.score_layout(&src.bytes[at..], out)?;
        } else {
            p.score_batch(&src.bytes[at..e * src.bytes_per_block], out)?;
        }
        top.push_batch(out, s as u32);
        s = e;
    }
    Ok(())
}

/// The candidate selector of a re-ranked top-k scan: on the heap under `alloc` (32 KiB).
#[cfg(feature = "alloc")]
fn new_candidates(k: usize) -> alloc::boxed::Box<TopK<{ crate::rerank::MAX_CANDIDATES }>> {
    alloc::boxed::Box::new(TopK::new(k))
}

/// The candidate selector of a re-ranked top-k scan: on the stack without `alloc`.
#[cfg(not(feature = "alloc"))]
fn new_candidates(k: usize) -> TopK<{ crate::rerank::MAX_CANDIDATES }> {
    TopK::new(k)
}

/// The exact score of vector `i` of a top-k scan's source.
fn exact_at(p: &dyn PreparedQuery, src: Src<'_>, i: usize) -> Result<f32> {
    if src.layout {
        return p.score_exact_layout(src.bytes, i);
    }
    let c = src.bytes_per_block;
    let (at, end) = i.checked_mul(c).and_then(|a| Some((a, a.checked_add(c)?))).ok_or(Error::Overflow)?;
    let code = src.bytes.get(at..end).ok_or(Error::CodeLength { expected: end, got: src.bytes.len() })?;
    p.score_exact(code)
}

/// The entries of `top` best first as `(id, score)`.
#[cfg(feature = "alloc")]
fn drain_pairs<const CAP: usize>(top: &mut TopK<CAP>) -> alloc::vec::Vec<(u32, f32)> {
    let mut out = alloc::vec![(0f32, 0u32); top.len()];
    let m = top.drain_sorted(&mut out);
    out[..m].iter().map(|&(s, i)| (i, s)).collect()
}

/// Rows per piece of a parallel batch encode or decode: about 64 Ki floats, a multiple of 64
/// rows (codecs that block rows see the same blocks inside a piece as in a whole batch).
fn batch_grain(d: usize) -> usize {
    (65_536 / d.max(1)).next_multiple_of(64).max(64)
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
    fn score_exact(&self, code: &[u8]) -> Result<f32> {
        self.codec.score_exact(&self.query, code)
    }
    fn score_exact_layout(&self, layout: &[u8], i: usize) -> Result<f32> {
        self.codec.score_exact_layout(&self.query, layout, i)
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
    fn rerank_factor(&self) -> usize {
        self.codec.rerank_factor()
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        // With `parallel` (and whole rows), pieces of `batch_grain` rows on the pool: the same
        // codes, and the first failing row's error.
        let (d, c) = (self.codec.dim(), self.codec.code_len());
        let (n, g) = (xs.len().checked_div(d).unwrap_or(0), batch_grain(d));
        if c == 0 || n * d != xs.len() || Some(codes.len()) != n.checked_mul(c) || !crate::par::split(n, g) {
            return Codec::encode_batch(&self.codec, xs, codes);
        }
        crate::par::zip_chunks(xs, g * d, codes, g * c, |_, x, y| Codec::encode_batch(&self.codec, x, y))
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let (d, c) = (self.codec.dim(), self.codec.code_len());
        let (n, g) = (codes.len().checked_div(c).unwrap_or(0), batch_grain(d));
        if d == 0 || n * c != codes.len() || Some(out.len()) != n.checked_mul(d) || !crate::par::split(n, g) {
            return Decode::decode_batch(&self.codec, codes, out);
        }
        crate::par::zip_chunks(codes, g * c, out, g * d, |_, x, y| Decode::decode_batch(&self.codec, x, y))
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
    /// [`MANY_QUERIES`] queries prepared at a time, each piece scored for all of them with
    /// [`Score::score_layout_many`].
    fn scan_layout_many(
        &self,
        queries: &[f32],
        scratch: &mut [f32],
        layout: &[u8],
        n: usize,
        sink: &mut dyn FnMut(usize, u32, &[f32]),
    ) -> Result<()> {
        self.many(queries, scratch, layout, n, sink, None)
    }
    /// As `scan_layout_many`; after each group's pass, `then` gets the group's queries as the
    /// pass prepared them.
    fn scan_layout_many_then(
        &self,
        queries: &[f32],
        scratch: &mut [f32],
        layout: &[u8],
        n: usize,
        sink: &mut dyn FnMut(usize, u32, &[f32]),
        then: &mut dyn FnMut(usize, &dyn PreparedQuery) -> Result<()>,
    ) -> Result<()> {
        self.many(queries, scratch, layout, n, sink, Some(then))
    }
}

/// The per-query callback of [`DynCodec::scan_layout_many_then`].
type ThenFn<'a> = dyn FnMut(usize, &dyn PreparedQuery) -> Result<()> + 'a;

impl<C> Erased<C>
where
    C: Decode + Score + Persist + Send + Sync,
{
    /// The multi-query layout scan of [`DynCodec::scan_layout_many`] (`then == None`) and
    /// [`DynCodec::scan_layout_many_then`].
    fn many(
        &self,
        queries: &[f32],
        scratch: &mut [f32],
        layout: &[u8],
        n: usize,
        sink: &mut dyn FnMut(usize, u32, &[f32]),
        mut then: Option<&mut ThenFn<'_>>,
    ) -> Result<()> {
        let qsl = self.codec.query_scratch_len();
        let Some(plan) = many_plan(self, queries, scratch.len(), layout, n)? else {
            // Nothing to scan: `then` still sees every query.
            if let Some(then) = then {
                for (qi, q) in queries.chunks_exact(self.dim().max(1)).enumerate() {
                    let query = self.codec.prepare(q, &mut scratch[..qsl])?;
                    then(qi, &Prepared { codec: &self.codec, query })?;
                }
            }
            return Ok(());
        };
        let mut buf = [0f32; MANY_QUERIES * MANY_STEP];
        let step = plan.many_step();
        for (g, qg) in queries.chunks(MANY_QUERIES * plan.dim).enumerate() {
            let mut rest = &mut scratch[..MANY_QUERIES * qsl];
            let mut prepared: [Option<C::Query<'_>>; MANY_QUERIES] = Default::default();
            for (slot, q) in prepared.iter_mut().zip(qg.chunks_exact(plan.dim)) {
                let (s, r) = core::mem::take(&mut rest).split_at_mut(qsl);
                rest = r;
                *slot = Some(self.codec.prepare(q, s)?);
            }
            let k = qg.len() / plan.dim;
            let Some(first) = prepared[0].as_ref() else { continue };
            let refs: [&C::Query<'_>; MANY_QUERIES] = core::array::from_fn(|i| prepared[i].as_ref().unwrap_or(first));
            let mut s = 0;
            while s < n {
                let e = (s + step).min(n);
                let len = e - s;
                let out = &mut buf[..k * len];
                let at = s / plan.vectors * plan.bytes_per_block;
                self.codec.score_layout_many(&refs[..k], &layout[at..], len, out)?;
                for (i, o) in out.chunks_exact(len).enumerate() {
                    sink(g * MANY_QUERIES + i, s as u32, o);
                }
                s = e;
            }
            if let Some(then) = then.as_mut() {
                for (i, slot) in prepared.iter_mut().enumerate().take(k) {
                    if let Some(query) = slot.take() {
                        then(g * MANY_QUERIES + i, &Prepared { codec: &self.codec, query })?;
                    }
                }
            }
        }
        Ok(())
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
