//! Exact re-ranking of an approximate scan: keep the `R·k` best approximate scores
//! ([`Score::score`], e.g. the `u8`-table fast scan of 4-bit PQ), re-score those candidates with
//! the codec's exact score ([`Score::score_exact`], e.g. the float-table ADC sum) from the same
//! codes and the same prepared query, and return the `k` best exact scores.
//!
//! * Typed API: [`scan_layout_topk`] takes the factor `R` per call, for any [`Score`] codec
//!   (the codec's search layout is read in place, [`Score::score_exact_layout`]).
//! * By value: [`Rerank`] wraps a codec with a fixed factor ([`Score::rerank_factor`]); the
//!   top-k scans of [`DynCodec`](crate::dynamic::DynCodec) re-rank every codec whose factor is
//!   above 1, and the factory builds it by name (`PQ{M}x4fs-rr{R}`, see [`crate::factory`]).
//!
//! Ids and ties follow [`TopK`]: larger exact score first, then the smaller id. With
//! `R·k ≥ n` the result is the exact top-k of all `n` vectors; with `R = 1` nothing is re-scored
//! and the result is the plain approximate top-k (ids and scores).

use crate::codec::{Codec, Decode, Estimator, Score};
use crate::error::{Error, Result};
use crate::format::Reader;
#[cfg(feature = "alloc")]
use crate::format::Writer;
use crate::persist::Persist;
use crate::topk::TopK;

/// The largest re-rank factor `R` ([`Rerank::new`], the factory's `-rr{R}`).
pub const MAX_FACTOR: usize = 64;

/// The most candidates a re-ranked top-k scan keeps (`min(R·k, MAX_CANDIDATES)`): the capacity
/// of its candidate selector (32 KiB; on the heap under `alloc`, on the stack otherwise).
pub const MAX_CANDIDATES: usize = 4096;

/// The number of approximate candidates a re-ranked top-`k` scan with factor `factor` keeps:
/// `min(k·factor, MAX_CANDIDATES)` (`k` for `factor ≤ 1`).
///
/// # Errors
/// [`Error::InvalidParameter`] if `k > MAX_CANDIDATES` and `factor > 1` (the candidates would
/// not even hold the results).
pub fn candidates(k: usize, factor: usize) -> Result<usize> {
    if factor <= 1 {
        return Ok(k);
    }
    if k > MAX_CANDIDATES {
        return Err(Error::InvalidParameter("re-rank: k above MAX_CANDIDATES"));
    }
    Ok(k.saturating_mul(factor).min(MAX_CANDIDATES))
}

/// Offers every candidate of `cand` to `top` with the score `exact(id)`: the re-scoring step
/// shared by the typed and the dynamic top-k scans. `top` ends with the same entries whatever
/// order the candidates come in.
///
/// # Errors
/// The first error of `exact`.
pub fn rescore<const C1: usize, const C2: usize>(
    cand: &TopK<C1>,
    top: &mut TopK<C2>,
    mut exact: impl FnMut(usize) -> Result<f32>,
) -> Result<()> {
    for &(_, id) in cand.entries() {
        top.push(exact(id as usize)?, id);
    }
    Ok(())
}

/// Vectors per [`Score::score_layout`] call of [`scan_layout_topk`] (a stack buffer of scores).
const PIECE: usize = 256;

/// Offers the first `n` vectors of `codec`'s search layout ([`Score::to_layout`]) to `top`,
/// re-ranked with factor `factor`: the `min(factor·k, MAX_CANDIDATES)` best approximate scores
/// ([`Score::score_layout`]) are re-scored with [`Score::score_exact_layout`] and the `k` best of
/// those kept (`k = top.k()`). `factor ≤ 1` offers the approximate scores themselves. Ids are
/// vector indices from 0. No allocation (the candidate selector is on the stack).
///
/// With `factor·k ≥ n` (and `n ≤ MAX_CANDIDATES`) the result is the top-k of the exact scores
/// of all `n` vectors.
///
/// # Errors
/// [`Error::CodeLength`] if `layout` is shorter than the layout of `n` codes;
/// [`Error::InvalidParameter`] for layout blocks of more than 256 vectors or as [`candidates`];
/// [`Error::Overflow`] for more than `u32::MAX` vectors; the codec's scoring errors.
pub fn scan_layout_topk<C: Score, const CAP: usize>(
    codec: &C,
    q: &C::Query<'_>,
    layout: &[u8],
    n: usize,
    factor: usize,
    top: &mut TopK<CAP>,
) -> Result<()> {
    let (vectors, bytes) = codec.layout_block();
    let need = crate::codec::layout_len((vectors, bytes), n)?;
    if layout.len() < need {
        return Err(Error::CodeLength { expected: need, got: layout.len() });
    }
    if vectors > PIECE {
        return Err(Error::InvalidParameter("re-rank: layout blocks above 256 vectors"));
    }
    if u32::try_from(n).is_err() {
        return Err(Error::Overflow);
    }
    let step = PIECE / vectors * vectors;
    let scan = |t: &mut dyn FnMut(&[f32], u32)| -> Result<()> {
        let mut buf = [0f32; PIECE];
        let mut s = 0;
        while s < n {
            let e = (s + step).min(n);
            let out = &mut buf[..e - s];
            codec.score_layout(q, &layout[s / vectors * bytes..], out)?;
            t(out, s as u32);
            s = e;
        }
        Ok(())
    };
    if factor <= 1 || top.k() == 0 {
        return scan(&mut |s, first| top.push_batch(s, first));
    }
    let mut cand = TopK::<MAX_CANDIDATES>::new(candidates(top.k(), factor)?);
    scan(&mut |s, first| cand.push_batch(s, first))?;
    rescore(&cand, top, |i| codec.score_exact_layout(q, layout, i))
}

/// A codec whose top-k scans are re-ranked with factor `R` (see the module docs): codes,
/// scores, layouts and decoding are the inner codec's, unchanged; only
/// [`Score::rerank_factor`] differs.
///
/// Saved as `u32` `R` (`1..=MAX_FACTOR`), then the inner codec's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Rerank<C> {
    /// The codec scanned and re-scored.
    pub inner: C,
    factor: u32,
}

impl<C> Rerank<C> {
    /// `inner` with re-rank factor `factor`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 ≤ factor ≤ MAX_FACTOR`.
    pub fn new(inner: C, factor: usize) -> Result<Self> {
        if !(1..=MAX_FACTOR).contains(&factor) {
            return Err(Error::InvalidParameter("re-rank factor must be 1..=64"));
        }
        Ok(Rerank { inner, factor: factor as u32 })
    }

    /// The re-rank factor `R`.
    pub fn factor(&self) -> usize {
        self.factor as usize
    }
}

impl<C: Codec> Codec for Rerank<C> {
    crate::codec::forward_codec!(inner);
}

impl<C: Decode> Decode for Rerank<C> {
    crate::codec::forward_decode!(inner);
}

/// Every method is the inner codec's, except [`rerank_factor`](Score::rerank_factor). The
/// estimator is the inner codec's (what [`score`](Score::score) estimates; the scores a
/// re-ranked top-k scan returns are [`score_exact`](Score::score_exact)'s).
impl<C: Score> Score for Rerank<C> {
    type Query<'s>
        = C::Query<'s>
    where
        Self: 's;

    crate::codec::forward_score!(inner);
    fn estimator(&self) -> Estimator {
        self.inner.estimator()
    }
    fn rerank_factor(&self) -> usize {
        self.factor as usize
    }
}

/// `u32` factor, then the inner codec's fields.
impl<C: Persist> Persist for Rerank<C> {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        w.u32(self.factor);
        self.inner.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let f = r.u32()? as usize;
        if !(1..=MAX_FACTOR).contains(&f) {
            return Err(Error::Corrupt("re-rank factor outside 1..=64"));
        }
        Rerank::new(C::restore(r)?, f)
    }
}
