//! Batch scans: one query against `n` contiguous codes, into a score array or a [`TopK`].

use super::bitsliced::BLOCK;
use super::codec::{BinaryCodec, BinaryQuery, MAX_STAGES};
use super::kernels::{PopcntBackend, hamming_strided};
use crate::codec::{Codec, Score, batch_rows};
use crate::error::{Error, Result, check_code};
use crate::topk::TopK;

/// Checks that ids `first_id .. first_id + n` fit in `u32`.
pub(crate) fn check_ids(first_id: u32, n: usize) -> Result<()> {
    if n == 0 || (u64::from(first_id) + n as u64 - 1) <= u64::from(u32::MAX) { Ok(()) } else { Err(Error::Overflow) }
}

/// Scans `codes` (contiguous, `c` bytes each) in blocks of [`BLOCK`] codes: `score` fills the
/// block's scores, which go into `topk` with ids `first_id + row`. The one block loop behind every
/// score-then-select scan of this module.
pub(crate) fn scan_blocks<const CAP: usize>(
    c: usize,
    codes: &[u8],
    first_id: u32,
    topk: &mut TopK<CAP>,
    mut score: impl FnMut(&[u8], &mut [f32]) -> Result<()>,
) -> Result<()> {
    let n = batch_rows(codes.len(), c)?;
    check_ids(first_id, n)?;
    let mut scores = [0.0f32; BLOCK];
    for (b, block) in codes.chunks(BLOCK * c).enumerate() {
        let m = block.len() / c;
        score(block, &mut scores[..m])?;
        topk.push_batch(&scores[..m], first_id + (b * BLOCK) as u32);
    }
    Ok(())
}

/// Keeps the `k` codes of `codes` (contiguous, `query.len()` bytes each) nearest to `query` in
/// Hamming distance. Entries pushed into `topk` have score `−distance` (so the best is the
/// smallest distance; ties go to the smaller id) and id `first_id + row`.
///
/// # Errors
/// [`Error::CodeLength`] if `codes.len()` is not a multiple of `query.len()` (or `query` is empty
/// while `codes` is not); [`Error::Overflow`] if the ids do not fit `u32`.
pub fn hamming_scan_topk<const CAP: usize>(
    query: &[u8],
    codes: &[u8],
    first_id: u32,
    topk: &mut TopK<CAP>,
) -> Result<()> {
    hamming_scan_topk_with(PopcntBackend::detect(), query, codes, first_id, topk)
}

/// [`hamming_scan_topk`] with an explicit popcount backend.
///
/// # Errors
/// As [`hamming_scan_topk`]; [`Error::InvalidParameter`] if the CPU cannot run `backend`.
pub fn hamming_scan_topk_with<const CAP: usize>(
    backend: PopcntBackend,
    query: &[u8],
    codes: &[u8],
    first_id: u32,
    topk: &mut TopK<CAP>,
) -> Result<()> {
    let len = query.len();
    let n = batch_rows(codes.len(), len).map_err(|_| Error::CodeLength { expected: len, got: codes.len() })?;
    check_ids(first_id, n)?;
    if n == 0 || topk.k() == 0 {
        return Ok(());
    }
    if len > (1 << 29) {
        return Err(Error::Overflow);
    }
    if !backend.is_available() {
        return Err(Error::InvalidParameter("popcount backend unavailable on this CPU"));
    }
    // Fused kernels: the top-k threshold is kept as an integer distance bound inside the kernel,
    // which calls back only for codes that can enter (ties included: `push` orders them by id).
    let bound = |t: &TopK<CAP>| {
        let thr = t.threshold();
        if thr == f32::NEG_INFINITY { u32::MAX } else { (-thr) as u32 }
    };
    let b0 = bound(topk);
    let mut emit = |i: usize, h: u32| {
        topk.push(-(h as f32), first_id.wrapping_add(i as u32));
        bound(topk)
    };
    if let Some(arch) = backend.arch() {
        if crate::simd::hamming_scan_on(arch, query, codes, len, n, b0, &mut emit).is_some() {
            return Ok(());
        }
        return hamming_scan_blocks(backend, query, codes, first_id, topk);
    }
    // Portable fused loop: one `count_ones` pass per code, compared with the running bound.
    let mut b = b0;
    for (i, c) in codes.chunks_exact(len).enumerate() {
        let h = crate::simd::portable::hamming(query, c) as u32;
        if h <= b {
            b = emit(i, h);
        }
    }
    Ok(())
}

/// Block-wise Hamming scan (distances of 1,024 codes into a buffer, then the top-k): the path for
/// code lengths the fused kernels do not take. Geometry and ids were checked by the caller.
fn hamming_scan_blocks<const CAP: usize>(
    backend: PopcntBackend,
    query: &[u8],
    codes: &[u8],
    first_id: u32,
    topk: &mut TopK<CAP>,
) -> Result<()> {
    let len = query.len();
    const SCAN_BLOCK: usize = 1024;
    let mut dist = [0u32; SCAN_BLOCK];
    let mut id = first_id;
    for block in codes.chunks(SCAN_BLOCK * len) {
        let m = block.len() / len;
        let d = &mut dist[..m];
        hamming_strided(backend, query, block, len, 0, d)?;
        let mut thr = topk.threshold();
        for (i, &h) in d.iter().enumerate() {
            let s = -(h as f32);
            if s >= thr {
                topk.push(s, id + i as u32);
                thr = topk.threshold();
            }
        }
        id = id.wrapping_add(m as u32);
    }
    Ok(())
}

impl BinaryCodec {
    /// Query scan in the codec's scan mode: scores every code of `codes` with
    /// [`Score::score_batch`] (exactly `⟨q, x̂⟩` in [`ScanMode::Float`](crate::codec::ScanMode::Float))
    /// and keeps the best in `topk` (ids `first_id + row`).
    ///
    /// # Errors
    /// As [`Score::score_batch`]; [`Error::Overflow`] if the ids do not fit `u32`.
    pub fn scan_topk<const CAP: usize>(
        &self,
        q: &BinaryQuery<'_>,
        codes: &[u8],
        first_id: u32,
        topk: &mut TopK<CAP>,
    ) -> Result<()> {
        scan_blocks(self.code_len(), codes, first_id, topk, |block, out| self.score_batch(q, block, out))
    }

    /// [`scan_topk`](Self::scan_topk) with an explicit popcount backend (see
    /// [`score_batch_with`](Self::score_batch_with)).
    ///
    /// # Errors
    /// As [`scan_topk`](Self::scan_topk); [`Error::InvalidParameter`] if the backend is unavailable.
    pub fn scan_topk_with<const CAP: usize>(
        &self,
        backend: PopcntBackend,
        q: &BinaryQuery<'_>,
        codes: &[u8],
        first_id: u32,
        topk: &mut TopK<CAP>,
    ) -> Result<()> {
        scan_blocks(self.code_len(), codes, first_id, topk, |block, out| self.score_batch_with(backend, q, block, out))
    }

    /// Symmetric scan: scores every code of `codes` against the query *code* `query` with
    /// [`score_codes_batch`](Self::score_codes_batch) and keeps the best in `topk` (ids
    /// `first_id + row`). For one-stage codes, [`hamming_scan_topk`] gives the same ranking
    /// faster.
    ///
    /// # Errors
    /// As [`score_codes_batch`](Self::score_codes_batch); [`Error::Overflow`] if the ids do not
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
    /// against `out.len()` contiguous codes, through `T²` strided Hamming passes per block (the
    /// same value as [`score_codes`](crate::ScoreSymmetric::score_codes), bit for bit).
    ///
    /// # Errors
    /// [`Error::CodeLength`] on wrong lengths; [`Error::Corrupt`] for a bad scale or padding.
    pub fn score_codes_batch(&self, query: &[u8], codes: &[u8], out: &mut [f32]) -> Result<()> {
        let c = self.code_len();
        check_code(out.len().checked_mul(c).ok_or(Error::Overflow)?, codes.len())?;
        let qs = self.code_scales(query)?;
        let nb = self.plane_len();
        let stages = self.stages();
        let d = self.dim() as f32;
        let backend = PopcntBackend::detect();
        let mut h = [[0u32; BLOCK]; MAX_STAGES * MAX_STAGES];
        for (block, o) in codes.chunks(BLOCK * c).zip(out.chunks_mut(BLOCK)) {
            let n = o.len();
            for t in 0..stages {
                let qp = &query[t * nb..(t + 1) * nb];
                for u in 0..stages {
                    hamming_strided(backend, qp, block, c, u * nb, &mut h[t * stages + u][..n])?;
                }
            }
            for (i, (code, oi)) in block.chunks_exact(c).zip(o.iter_mut()).enumerate() {
                let cs = self.code_scales(code)?;
                let mut s = 0.0f32;
                for t in 0..stages {
                    for u in 0..stages {
                        s += qs[t] * cs[u] * (d - 2.0 * h[t * stages + u][i] as f32);
                    }
                }
                *oi = s;
            }
        }
        Ok(())
    }
}
