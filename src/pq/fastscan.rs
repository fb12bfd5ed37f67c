//! 4-bit fast scan (SPECS §4, FAISS `pq4_pack_codes` / `quantize_LUT_and_bias`): codes
//! re-laid in blocks of 32 vectors, `u8` quantized tables, `pshufb`-style lookups.
//!
//! **Block layout** ([`pack_blocks`]): vectors in blocks of 32 (the last padded with zero
//! codes), sub-quantizers in pairs `(2p, 2p + 1)` (`M` padded to even with zero codes); per block
//! and pair 32 bytes: byte `j < 16` is `c_{2p}[v] | c_{2p}[v + 16] << 4` and byte `16 + j` the
//! same for `2p + 1`, with `v = PERM0[j]` ([`crate::simd::pq::PERM0`]). [`unpack_blocks`]
//! inverts it exactly.
//!
//! **Table quantization** ([`quantize_table`]): per row `min_m`, `span_m = max − min`;
//! `a = 255 / max_m span_m` (0 when every span is 0 or the ratio is not finite);
//! `Tq[m][j] = min(255, ⌊(T[m][j] − min_m)·a + ½⌋)`; bias `b = Σ_m min_m`. A score is
//! `b + (Σ_m Tq[m][c_m]) / a`, within `M/(2a)` of the float table sum (each term is off by at
//! most `½/a`). FAISS additionally caps `a` at `65535/Σ_m span_m` so that its `u16`
//! accumulators cannot wrap; the kernels here spill `u16` lanes to `u32` every 128 pairs, so the
//! finer scale is safe.
//!
//! The integer sums are exact and identical on every backend (portable, AVX2, AVX-512 BW).

use alloc::vec;
use alloc::vec::Vec;

use super::{PqQuery, ProductQuantizer};
use crate::error::{Error, Result};
use crate::simd::pq::{FS_QUERIES, PERM0, fastscan_scores, fastscan_scores_multi};

/// Quantizes a float table of `rows = lut.len() / ksub` rows into `out` (at least `rows·ksub`
/// bytes; extra rows, e.g. the padding row of an odd `M`, are set to 0). Returns `(a, b)`.
pub fn quantize_table(lut: &[f32], ksub: usize, out: &mut [u8]) -> (f64, f64) {
    out.fill(0);
    if ksub == 0 {
        return (0.0, 0.0);
    }
    let row_min = |row: &[f32]| row.iter().fold(f64::INFINITY, |m, &v| m.min(f64::from(v)));
    let mut max_span = 0f64;
    let mut bias = 0f64;
    for row in lut.chunks_exact(ksub) {
        let lo = row_min(row);
        let hi = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        bias += lo;
        max_span = max_span.max(hi - lo);
    }
    let a = 255.0 / max_span;
    let a = if a.is_finite() && max_span > 0.0 { a } else { 0.0 };
    for (row, o) in lut.chunks_exact(ksub).zip(out.chunks_exact_mut(ksub)) {
        let lo = row_min(row);
        for (&v, q) in row.iter().zip(o) {
            // `(v − lo)·a + ½ ≥ ½`, so truncation is the floor; `as` saturates (NaN → 0).
            *q = (((f64::from(v) - lo) * a + 0.5) as u32).min(255) as u8;
        }
    }
    (a, bias)
}

/// Pairs of sub-quantizers (`⌈M/2⌉`).
pub fn pairs(m: usize) -> usize {
    m.div_ceil(2)
}

/// Slot of vector `v < 16` within a half of the block layout: `PERM0[INV_PERM0[v]] == v`.
const INV_PERM0: [usize; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15];

/// Re-lays `nvec ≤ 32` flat 4-bit codes (`code_len = ⌈M/2⌉` bytes each, low nibble first) into
/// one block (`32·code_len` bytes of `out`; missing vectors are zero codes).
///
/// Two passes: a transpose that puts byte `p` of vector `v` at `32p + slot(v)` (slot in
/// `PERM0` order, so each half is contiguous), then per pair the nibble recombination on 16-byte
/// rows (which the compiler vectorizes).
pub fn relayout_block(codes: &[u8], code_len: usize, out: &mut [u8]) {
    let nvec = (codes.len() / code_len.max(1)).min(32);
    if nvec == 32 && crate::simd::pq::relayout_block_arch(codes, code_len, out).is_some() {
        return;
    }
    relayout_block_portable(codes, code_len, out);
}

/// The portable [`relayout_block`] (its reference).
pub fn relayout_block_portable(codes: &[u8], code_len: usize, out: &mut [u8]) {
    let nvec = (codes.len() / code_len.max(1)).min(32);
    let out = &mut out[..32 * code_len];
    let mut t = [0u8; 32 * 256];
    if code_len > 256 {
        // Wide codes: per byte index, straight from the codes.
        let byte = |v: usize, p: usize| if v < nvec { codes[v * code_len + p] } else { 0 };
        for (p, o) in out.chunks_exact_mut(32).enumerate() {
            for (j, &v) in PERM0.iter().enumerate() {
                let (a, b) = (byte(v, p), byte(v + 16, p));
                o[j] = (a & 15) | (b << 4);
                o[16 + j] = (a >> 4) | (b & 0xf0);
            }
        }
        return;
    }
    let t = &mut t[..32 * code_len];
    if nvec < 32 {
        t.fill(0);
    }
    for (v, code) in codes.chunks_exact(code_len).take(nvec).enumerate() {
        let slot = INV_PERM0[v % 16] + 16 * (v / 16);
        for (p, &b) in code.iter().enumerate() {
            t[32 * p + slot] = b;
        }
    }
    for (o, tr) in out.chunks_exact_mut(32).zip(t.chunks_exact(32)) {
        let (lo, hi) = tr.split_at(16);
        let (ol, oh) = o.split_at_mut(16);
        for j in 0..16 {
            let (a, b) = (lo[j], hi[j]);
            ol[j] = (a & 15) | (b << 4);
            oh[j] = (a >> 4) | (b & 0xf0);
        }
    }
}

/// Packs `n = codes.len() / ⌈M/2⌉` flat 4-bit PQ codes into the block layout:
/// `⌈n/32⌉ · 32 · ⌈M/2⌉` bytes.
///
/// # Errors
/// [`Error::InvalidParameter`] for `m == 0`; [`Error::CodeLength`] if `codes.len()` is not a
/// multiple of `⌈M/2⌉`.
pub fn pack_blocks(codes: &[u8], m: usize) -> Result<Vec<u8>> {
    if m == 0 {
        return Err(Error::InvalidParameter("fast scan: M must be positive"));
    }
    let cl = pairs(m);
    let n = crate::codec::batch_rows(codes.len(), cl)
        .map_err(|_| Error::CodeLength { expected: codes.len() / cl * cl, got: codes.len() })?;
    let nb = n.div_ceil(32);
    let mut out = vec![0u8; nb * 32 * cl];
    for (blk, o) in codes.chunks(32 * cl).zip(out.chunks_exact_mut(32 * cl)) {
        relayout_block(blk, cl, o);
    }
    Ok(out)
}

/// Inverts [`pack_blocks`]: the first `n` flat codes of a block-layout buffer.
///
/// # Errors
/// [`Error::InvalidParameter`] for `m == 0`; [`Error::CodeLength`] if `blocks` does not hold
/// `⌈n/32⌉` blocks exactly.
pub fn unpack_blocks(blocks: &[u8], m: usize, n: usize) -> Result<Vec<u8>> {
    if m == 0 {
        return Err(Error::InvalidParameter("fast scan: M must be positive"));
    }
    let cl = pairs(m);
    let want = n.div_ceil(32) * 32 * cl;
    if blocks.len() != want {
        return Err(Error::CodeLength { expected: want, got: blocks.len() });
    }
    let mut out = vec![0u8; n * cl];
    for (v, code) in out.chunks_exact_mut(cl).enumerate() {
        let (blk, w) = (v / 32, v % 32);
        let (lane, hi) = (w % 16, w >= 16);
        let j = PERM0.iter().position(|&p| p == lane).unwrap_or(0);
        for (p, c) in code.iter_mut().enumerate() {
            let base = (blk * cl + p) * 32;
            let (a, b) = (blocks[base + j], blocks[base + 16 + j]);
            let (lo_nib, hi_nib) = if hi { (a >> 4, b >> 4) } else { (a & 15, b & 15) };
            *c = lo_nib | (hi_nib << 4);
        }
    }
    Ok(out)
}

/// Scores block-layout codes ([`pack_blocks`]) of `pq` (4-bit, [`ScanMode::I8`](crate::ScanMode::I8))
/// into `out` (one score per vector, `out.len() ≤ 32·blocks`), the same values as
/// [`Score::score`](crate::Score::score) on the flat codes.
///
/// # Errors
/// [`Error::InvalidParameter`] unless `pq` is 4-bit and the query was prepared in `I8` mode;
/// [`Error::CodeLength`] if `blocks` holds fewer than `⌈out.len()/32⌉` blocks.
pub fn scan_blocks(pq: &ProductQuantizer, q: &PqQuery<'_>, blocks: &[u8], out: &mut [f32]) -> Result<()> {
    let np = pairs(pq.m);
    if pq.nbits != 4 || q.qlut.len() < 32 * np {
        return Err(Error::InvalidParameter("fast scan needs 4-bit codes and an I8-mode query"));
    }
    let nb = out.len().div_ceil(32);
    if blocks.len() < nb * 32 * np {
        return Err(Error::CodeLength { expected: nb * 32 * np, got: blocks.len() });
    }
    let full = out.len() / 32;
    fastscan_scores(q.qlut, &blocks[..full * 32 * np], np, q.sb, q.sa, &mut out[..full * 32]);
    if full * 32 < out.len() {
        let mut tail = [0f32; 32];
        fastscan_scores(q.qlut, &blocks[full * 32 * np..(full + 1) * 32 * np], np, q.sb, q.sa, &mut tail);
        let rest = out.len() - full * 32;
        out[full * 32..].copy_from_slice(&tail[..rest]);
    }
    Ok(())
}

/// Scores the first `n` vectors of block-layout codes ([`pack_blocks`]) of `pq` against every
/// query of `qs` in one pass over the codes per group of [`FS_QUERIES`] queries
/// ([`fastscan_scores_multi`]): `out[i·n + v]` is what [`scan_blocks`] writes for query `i`,
/// bit for bit. FAISS's query blocking (`qbs`): each block of codes is read once for several
/// queries, whose `u8` tables stay in L1.
///
/// # Errors
/// As [`scan_blocks`] (for any query); [`Error::BufferTooSmall`] if `out.len() != qs.len()·n`.
pub fn scan_blocks_multi(
    pq: &ProductQuantizer,
    qs: &[&PqQuery<'_>],
    blocks: &[u8],
    n: usize,
    out: &mut [f32],
) -> Result<()> {
    let np = pairs(pq.m);
    if pq.nbits != 4 || qs.iter().any(|q| q.qlut.len() < 32 * np) {
        return Err(Error::InvalidParameter("fast scan needs 4-bit codes and an I8-mode query"));
    }
    if Some(out.len()) != qs.len().checked_mul(n) {
        return Err(Error::BufferTooSmall { needed: qs.len().saturating_mul(n), got: out.len() });
    }
    let nb = n.div_ceil(32);
    if blocks.len() < nb * 32 * np {
        return Err(Error::CodeLength { expected: nb * 32 * np, got: blocks.len() });
    }
    let full = n / 32;
    let mut luts: [&[u8]; FS_QUERIES] = [&[]; FS_QUERIES];
    let mut fin = [(0f32, 0f32); FS_QUERIES];
    let mut tail = [0f32; 32 * FS_QUERIES];
    for (qg, og) in qs.chunks(FS_QUERIES).zip(out.chunks_mut(FS_QUERIES * n.max(1))) {
        for (i, q) in qg.iter().enumerate() {
            luts[i] = q.qlut;
            fin[i] = (q.sb, q.sa);
        }
        let k = qg.len();
        fastscan_scores_multi(&luts[..k], &blocks[..full * 32 * np], np, &fin[..k], og, n);
        if full * 32 < n {
            let last = &blocks[full * 32 * np..(full + 1) * 32 * np];
            fastscan_scores_multi(&luts[..k], last, np, &fin[..k], &mut tail[..32 * k], 32);
            let rest = n - full * 32;
            for (o, t) in og.chunks_exact_mut(n).zip(tail.chunks_exact(32)) {
                o[full * 32..].copy_from_slice(&t[..rest]);
            }
        }
    }
    Ok(())
}

/// The exact (float-table) ADC score of vector `i` of block-layout codes ([`pack_blocks`]) of
/// the 4-bit `pq`: `Σ_m T[m][c_m]` summed in `m` order straight from the blocks (no unpacking),
/// the same bits as [`Score::score_exact`](crate::Score::score_exact) on the flat code. What a
/// re-ranked fast scan ([`crate::rerank`]) re-scores its candidates with.
///
/// # Errors
/// [`Error::InvalidParameter`] unless `pq` is 4-bit and `q` holds its float table;
/// [`Error::CodeLength`] if `blocks` does not hold vector `i`.
pub fn exact_score_block(pq: &ProductQuantizer, q: &PqQuery<'_>, blocks: &[u8], i: usize) -> Result<f32> {
    let np = pairs(pq.m);
    if pq.nbits != 4 || q.lut.len() != 16 * pq.m {
        return Err(Error::InvalidParameter("fast scan needs 4-bit codes and their float table"));
    }
    let end = (i / 32 + 1).checked_mul(32 * np).ok_or(Error::Overflow)?;
    let blk = blocks.get(end - 32 * np..end).ok_or(Error::CodeLength { expected: end, got: blocks.len() })?;
    let (lane, hi) = (i % 16, i % 32 >= 16);
    let j = INV_PERM0[lane];
    let nib = |b: u8| usize::from(if hi { b >> 4 } else { b & 15 });
    let mut s = 0f32;
    for (rows, pair) in q.lut.chunks(32).zip(blk.chunks_exact(32)) {
        let (r0, r1) = rows.split_at(16.min(rows.len()));
        s += r0[nib(pair[j])];
        if !r1.is_empty() {
            s += r1[nib(pair[16 + j])];
        }
    }
    Ok(pq.sign(s))
}

/// The batch scan of flat 4-bit codes in `I8` mode: each group of 32 codes is re-laid into a
/// block on the stack (heap above 8 KiB per block) and scanned with the fast-scan kernel.
pub(super) fn scan_flat(pq: &ProductQuantizer, q: &PqQuery<'_>, codes: &[u8], out: &mut [f32]) {
    let np = pairs(pq.m);
    let cl = np; // 4-bit codes: ⌈M/2⌉ bytes
    let mut stack = [0u8; 8192];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if 32 * np <= stack.len() {
        &mut stack[..32 * np]
    } else {
        heap.resize(32 * np, 0);
        &mut heap
    };
    let mut sc = [0f32; 32];
    for (blk, o) in codes.chunks(32 * cl).zip(out.chunks_mut(32)) {
        relayout_block(blk, cl, buf);
        fastscan_scores(q.qlut, buf, np, q.sb, q.sa, &mut sc);
        o.copy_from_slice(&sc[..o.len()]);
    }
}
