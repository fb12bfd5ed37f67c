//! Interleaved rANS, the crate's one interleaved coder: `K ∈ {4, 8, 32}` independent 32-bit
//! states sharing one stream of 16-bit words (SPECS §11, the `rans_word` variant), so that eight
//! lanes fit one AVX2 vector and the decoder's state update is a single 32-bit multiply. The
//! single-state coders of [`rans`](super::rans) are the non-interleaved alternatives.
//!
//! State `x ∈ [L, 2^32)` with `L = 2^16`; renormalisation by one 16-bit little-endian word (at
//! most one per symbol). Models must have scale `n ≤ 15` ([`MAX_SCALE_BITS`]): the decoder's
//! quotient `x >> n` then stays ≥ 2 and the coding loss (which grows with `M/L`) stays below
//! 0.1 % of the model cost at `n ≤ 14` (≈ 0.01–0.05 % measured; `n = 15` costs ≈ 0.1 %).
//! Symbol `i` belongs to lane `i mod K` and is coded with `models[i % models.len()]`.
//!
//! # Stream
//! `K` little-endian `u32` final encoder states (lane 0 first), then the 16-bit words in
//! decoding order. The encoder runs backwards over the symbols (lane `K − 1` of a group first);
//! the decoder reads forwards, renormalising lanes in lane order, and at the end checks that every
//! lane is back at `L` and every word was consumed, so it is total on arbitrary bytes.
//!
//! Size: `Σ −log2(f_s/M)` bits + `4K` bytes of flushed state + at most one word per lane (plus
//! the small coding loss above).
//!
//! # Arch paths (x86-64 AVX2, chosen at run time, bit-identical to the portable loops)
//! * Single-model **decoder** (8 and 32 lanes): eight lanes per vector, table entries fetched by
//!   scalar loads per group (faster than gathers on Zen 3), word routing by a shuffle table.
//!   With the view's packed 32-bit decode table ([`ModelView::with_word_tables`]; every
//!   [`Model`](super::model::Model) view has it when
//!   [`packed_dec_layout`](super::model::packed_dec_layout) fits, e.g. `k ≤ 256` with all
//!   `f ≤ 4096`) the table is half the size of the `u64` one (64 KB at `n = 14`).
//! * Single-model **encoder** (8 and 32 lanes), with the view's
//!   [`WordEncRecord`](super::model::WordEncRecord)s: records loaded by scalar index and
//!   transposed, exact division by a 33-bit magic multiplier (`vpmuludq`), emitted words
//!   compacted by a shuffle table and stored backwards.
//!
//! A view without the side tables (plain [`ModelView::new`]) codes the same bytes with the
//! scalar encoder and the `u64`-table decoder.

use super::model::{EncSym, ModelView, SlotTable, Slots, unpack_slot};
use super::rans::move_to_front;
use crate::error::{Error, Result};

/// Number of interleaved states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lanes {
    /// 4 lanes (16 bytes of flushed state).
    L4,
    /// 8 lanes (32 bytes of flushed state; one AVX2 vector).
    L8,
    /// 32 lanes (128 bytes of flushed state); fastest decode on long streams.
    L32,
}

impl Lanes {
    /// The lane count `K`.
    pub const fn count(self) -> usize {
        match self {
            Lanes::L4 => 4,
            Lanes::L8 => 8,
            Lanes::L32 => 32,
        }
    }
    /// The lane count from `K ∈ {4, 8, 32}`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for other values.
    pub fn from_count(k: usize) -> Result<Self> {
        match k {
            4 => Ok(Lanes::L4),
            8 => Ok(Lanes::L8),
            32 => Ok(Lanes::L32),
            _ => Err(Error::InvalidParameter("lanes must be 4, 8 or 32")),
        }
    }
}

/// Lower bound `L = 2^16` of the state interval.
pub const L: u32 = 1 << 16;

/// Largest model scale `n` the word coder accepts (`M = 2^n ≤ 2^15`).
pub const MAX_SCALE_BITS: u32 = 15;

/// An upper bound on the encoded size of `n` symbols with `lanes` lanes.
pub const fn max_encoded_len(n: usize, lanes: Lanes) -> usize {
    2 * n + 4 * lanes.count()
}

fn check_models(models: &[ModelView<'_>]) -> Result<()> {
    if models.is_empty() {
        return Err(Error::InvalidParameter("no model given"));
    }
    if models.iter().any(|m| m.scale_bits() > MAX_SCALE_BITS) {
        return Err(Error::InvalidParameter("word rANS needs model scale_bits ≤ 15"));
    }
    Ok(())
}

/// Encodes `symbols` (symbol `i` with `models[i % models.len()]`, lane `i mod K`) into the front
/// of `out`; returns the number of bytes written (at most [`max_encoded_len`]).
///
/// # Errors
/// [`Error::InvalidParameter`] if `models` is empty, a model has scale `n > 15` or a symbol has
/// zero frequency; [`Error::BufferTooSmall`] if `out` is shorter than needed.
pub fn encode_multi(models: &[ModelView<'_>], lanes: Lanes, symbols: &[u16], out: &mut [u8]) -> Result<usize> {
    check_models(models)?;
    match lanes {
        Lanes::L4 => enc_k::<4>(models, symbols, out),
        Lanes::L8 => enc_k::<8>(models, symbols, out),
        Lanes::L32 => enc_k::<32>(models, symbols, out),
    }
}

/// Encodes with one static model. See [`encode_multi`].
///
/// # Errors
/// As [`encode_multi`].
pub fn encode(model: &ModelView<'_>, lanes: Lanes, symbols: &[u16], out: &mut [u8]) -> Result<usize> {
    encode_multi(core::slice::from_ref(model), lanes, symbols, out)
}

/// Encodes into a new `Vec` (feature `alloc`).
///
/// # Errors
/// As [`encode_multi`].
#[cfg(feature = "alloc")]
pub fn encode_vec(models: &[ModelView<'_>], lanes: Lanes, symbols: &[u16]) -> Result<alloc::vec::Vec<u8>> {
    let mut out = alloc::vec![0u8; max_encoded_len(symbols.len(), lanes)];
    let n = encode_multi(models, lanes, symbols, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// Decodes `out.len()` symbols (symbol `i` with `models[i % models.len()]`). No allocator;
/// total on arbitrary bytes.
///
/// # Errors
/// [`Error::Truncated`] if the stream ends early; [`Error::Corrupt`] for an initial state below
/// `L`, a final state `≠ L`, an odd word area or unread trailing words;
/// [`Error::InvalidParameter`] if `models` is empty or a model has scale `n > 15`.
pub fn decode_multi(models: &[ModelView<'_>], lanes: Lanes, input: &[u8], out: &mut [u16]) -> Result<()> {
    check_models(models)?;
    if crate::simd::portable::ROLLED {
        return dec_rolled(models, lanes.count(), input, out);
    }
    match (lanes, models) {
        (Lanes::L4, [m]) => dec_k::<4>(m, input, out, true),
        (Lanes::L8, [m]) => dec_k::<8>(m, input, out, true),
        (Lanes::L32, [m]) => dec_k::<32>(m, input, out, true),
        (Lanes::L4, _) => dec_k_multi::<4>(models, input, out),
        (Lanes::L8, _) => dec_k_multi::<8>(models, input, out),
        (Lanes::L32, _) => dec_k_multi::<32>(models, input, out),
    }
}

/// Decodes with one static model. See [`decode_multi`].
///
/// # Errors
/// As [`decode_multi`].
pub fn decode(model: &ModelView<'_>, lanes: Lanes, input: &[u8], out: &mut [u16]) -> Result<()> {
    decode_multi(core::slice::from_ref(model), lanes, input, out)
}

/// One encode step for a 32-bit state `x ∈ [f·2^(16−n), f·2^(32−n))`: `⌊x/f⌋·M + (x mod f) + c`,
/// division-free through the 64-bit reciprocal of [`EncSym`] (exact for every `x < 2^63`). The
/// result is `< 2^32`, so wrapping 32-bit arithmetic is exact.
#[inline(always)]
fn step(e: &EncSym, x: u32) -> u32 {
    let q = (((u128::from(x) * u128::from(e.rcp64)) >> 64) as u64 >> e.rcp_shift) as u32;
    x.wrapping_add(e.bias).wrapping_add(q.wrapping_mul(e.cmpl))
}

#[inline(always)]
fn sym_of(enc: &[EncSym], s: u16) -> Result<&EncSym> {
    match enc.get(usize::from(s)) {
        Some(e) if e.freq > 0 => Ok(e),
        _ => Err(Error::InvalidParameter("symbol not in model (zero frequency)")),
    }
}

/// One encode step with a bounds-checked renormalisation write; `None` if `out` is full.
/// `sh = 32 − n`: the state must be below `f·2^sh` before the step.
#[inline(always)]
fn enc_step(e: &EncSym, sh: u32, x: &mut u32, out: &mut [u8], pos: &mut usize) -> Option<()> {
    let mut y = *x;
    if (y >> sh) >= e.freq {
        let w = out.get_mut(pos.checked_sub(2)?..*pos)?;
        w.copy_from_slice(&(y as u16).to_le_bytes());
        *pos -= 2;
        y >>= 16;
    }
    *x = step(e, y);
    Some(())
}

fn enc_k<const K: usize>(models: &[ModelView<'_>], symbols: &[u16], out: &mut [u8]) -> Result<usize> {
    enc_k_arch::<K>(models, symbols, out, true)
}

/// [`enc_k`] with the arch fast path allowed or not (tests compare both).
fn enc_k_arch<const K: usize>(models: &[ModelView<'_>], symbols: &[u16], out: &mut [u8], arch: bool) -> Result<usize> {
    let too_small = Error::BufferTooSmall { needed: 2 * symbols.len() + 4 * K, got: out.len() };
    let mut st = [L; K];
    let mut pos = out.len();
    if let [m] = models {
        enc_k_single::<K>(m, symbols, out, &mut st, &mut pos, arch)?;
    } else {
        models_rev(models, symbols, |i, m, s| {
            let e = sym_of(m.enc(), s)?;
            enc_step(e, 32 - m.scale_bits(), &mut st[i % K], out, &mut pos).ok_or(too_small)
        })?;
    }
    if pos < 4 * K {
        return Err(too_small);
    }
    for lane in (0..K).rev() {
        pos -= 4;
        out[pos..pos + 4].copy_from_slice(&st[lane].to_le_bytes());
    }
    Ok(move_to_front(out, pos))
}

/// Single-model encoder: whole groups of `K` symbols (backwards) with a branch-free
/// renormalisation (the word is always stored below `pos`, `pos` moves only when it is needed)
/// while `2K` bytes of room remain; the tail and a nearly full buffer take [`enc_step`]. With
/// `arch`, the AVX2 encoder (bit-identical) takes the whole groups first where it can.
fn enc_k_single<const K: usize>(
    m: &ModelView<'_>,
    symbols: &[u16],
    out: &mut [u8],
    st: &mut [u32; K],
    pos: &mut usize,
    arch: bool,
) -> Result<()> {
    let too_small = Error::BufferTooSmall { needed: 2 * symbols.len() + 4 * K, got: out.len() };
    let sh = 32 - m.scale_bits();
    let enc = m.enc();
    let full = symbols.len() / K * K;
    let (head, tail) = symbols.split_at(full);
    for (lane, &s) in tail.iter().enumerate().rev() {
        enc_step(sym_of(enc, s)?, sh, &mut st[lane], out, pos).ok_or(too_small)?;
    }
    let mut p = *pos;
    let head = match arch {
        true => match crate::simd::rans_word_encode::<K>(m.word_enc(), m.scale_bits(), st, head, out, &mut p) {
            Some((_, true)) => return Err(Error::InvalidParameter("symbol not in model (zero frequency)")),
            Some((done, false)) => head.get(..full - done).unwrap_or_default(),
            None => head,
        },
        false => head,
    };
    for group in head.chunks_exact(K).rev() {
        if p < 2 * K {
            for (x, &s) in st.iter_mut().zip(group).rev() {
                enc_step(sym_of(enc, s)?, sh, x, out, &mut p).ok_or(too_small)?;
            }
            continue;
        }
        // The group writes at most K words below p: into w = out[p − 2K..p], from its end.
        let w = &mut out[p - 2 * K..p];
        let mut j = 2 * K;
        for (x, &s) in st.iter_mut().zip(group).rev() {
            let e = sym_of(enc, s)?;
            let y = *x;
            let big = (y >> sh) >= e.freq;
            // j ≥ 2 holds (at most K − 1 words written so far), so the mask is the identity.
            let i = (j - 2) & (2 * K - 1);
            w[i..i + 2].copy_from_slice(&(y as u16).to_le_bytes());
            j -= 2 * usize::from(big);
            *x = step(e, if big { y >> 16 } else { y });
        }
        p -= 2 * K - j;
    }
    *pos = p;
    Ok(())
}

#[inline]
fn read_states<const K: usize>(input: &[u8]) -> Result<([u32; K], &[u8])> {
    let mut st = [0u32; K];
    let words = read_states_into(input, &mut st)?;
    Ok((st, words))
}

/// Reads `st.len()` initial states from the front of `input`; returns the word area after them.
#[inline]
fn read_states_into<'a>(input: &'a [u8], st: &mut [u32]) -> Result<&'a [u8]> {
    let k = st.len();
    let head = input.get(..4 * k).ok_or(Error::Truncated)?;
    let words = &input[4 * k..];
    if !words.len().is_multiple_of(2) {
        return Err(Error::Corrupt("word rANS word area is not whole words"));
    }
    for (s, c) in st.iter_mut().zip(head.chunks_exact(4)) {
        *s = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        if *s < L {
            return Err(Error::Corrupt("word rANS initial state out of range"));
        }
    }
    Ok(words)
}

#[inline]
fn finish(st: &[u32], pos: usize, words: &[u8]) -> Result<()> {
    if st.iter().any(|&s| s != L) {
        return Err(Error::Corrupt("word rANS final state is not L"));
    }
    if pos != words.len() {
        return Err(Error::Corrupt("word rANS stream has trailing bytes"));
    }
    Ok(())
}

/// The state update of one decode step from a table entry: `f·(x >> n) + (slot − c)`. With a
/// consistent table (`f ≤ 2^n`, bias `< f`) it cannot exceed `2^32 − 1`; wrapping keeps the
/// function total (and equal to the AVX2 path) regardless.
#[inline(always)]
fn update(e: u64, x: u32, n: u32) -> u32 {
    let (_, bias, f) = unpack_slot(e);
    f.wrapping_mul(x >> n).wrapping_add(bias)
}

/// One decode step with bounds-checked renormalisation (slow path, end of stream).
#[inline(always)]
fn step_checked<T: SlotTable>(dec: T, n: u32, x: &mut u32, words: &[u8], pos: &mut usize) -> Result<u16> {
    let e = dec.entry((*x as usize) & (dec.slots() - 1));
    let mut y = update(e, *x, n);
    if y < L {
        let w = words.get(*pos..*pos + 2).ok_or(Error::Truncated)?;
        y = (y << 16) | u32::from(u16::from_le_bytes([w[0], w[1]]));
        *pos += 2;
    }
    *x = y;
    Ok(e as u16)
}

/// Single-model decoder; `arch` allows the bit-identical arch fast path (tests compare both).
fn dec_k<const K: usize>(m: &ModelView<'_>, input: &[u8], out: &mut [u16], arch: bool) -> Result<()> {
    match m.slots() {
        Slots::Wide(dec) => dec_k_table::<K, _>(m, dec, input, out, arch),
        // The compact table has no arch path (the x86 gathers read the wide entries).
        Slots::Compact(c) => dec_k_table::<K, _>(m, c, input, out, false),
    }
}

/// [`dec_k`] over one kind of decode table (`arch` only with the wide table).
fn dec_k_table<const K: usize, T: SlotTable>(
    m: &ModelView<'_>,
    dec: T,
    input: &[u8],
    out: &mut [u16],
    arch: bool,
) -> Result<()> {
    let (mut st, words) = read_states::<K>(input)?;
    let n = m.scale_bits();
    let mask = dec.slots() - 1;
    let mut pos = 0usize;
    let out = match arch {
        true => {
            let r = match m.packed_dec() {
                Some((dec32, sb, fb)) => {
                    crate::simd::rans_word_decode_packed::<K>(dec32, sb, fb, n, &mut st, words, &mut pos, out)
                }
                None => crate::simd::rans_word_decode::<K>(dec.wide(), n, &mut st, words, &mut pos, out),
            };
            match r {
                Some(done) => out.get_mut(done..).unwrap_or_default(),
                None => out,
            }
        }
        false => out,
    };
    let mut chunks = out.chunks_exact_mut(K);
    for chunk in &mut chunks {
        if pos + 2 * K <= words.len() {
            // Fast path: every read of this group is in bounds. Phase 1: all lanes decode
            // independently; phase 2: renormalise in lane order (only the cursor is serial).
            let w = &words[pos..pos + 2 * K];
            let mut ys = [0u32; K];
            for ((x, o), y) in st.iter().zip(chunk.iter_mut()).zip(ys.iter_mut()) {
                let e = dec.entry((*x as usize) & mask);
                *o = e as u16;
                *y = update(e, *x, n);
            }
            let mut used = 0usize;
            for (x, &y) in st.iter_mut().zip(ys.iter()) {
                let need = y < L;
                let i = used & (2 * K - 1);
                let word = u32::from(u16::from_le_bytes([w[i], w[i + 1]]));
                *x = if need { (y << 16) | word } else { y };
                used += 2 * usize::from(need);
            }
            pos += used;
        } else {
            for (x, o) in st.iter_mut().zip(chunk.iter_mut()) {
                *o = step_checked(dec, n, x, words, &mut pos)?;
            }
        }
    }
    for (x, o) in st.iter_mut().zip(chunks.into_remainder().iter_mut()) {
        *o = step_checked(dec, n, x, words, &mut pos)?;
    }
    finish(&st[..], pos, words)
}

/// Calls `f(i, models[i mod p], symbols[i])` for `i` from the last symbol down to 0 (the
/// encoder's order), cycling the model index without a division per symbol; stops at the first
/// error. `models` must not be empty.
fn models_rev(
    models: &[ModelView<'_>],
    symbols: &[u16],
    mut f: impl FnMut(usize, &ModelView<'_>, u16) -> Result<()>,
) -> Result<()> {
    let p = models.len();
    let mut mi = (symbols.len().max(1) - 1) % p;
    for (i, &s) in symbols.iter().enumerate().rev() {
        f(i, &models[mi], s)?;
        mi = if mi == 0 { p - 1 } else { mi - 1 };
    }
    Ok(())
}

/// Calls `f(i, models[i mod p], &mut out[i])` for `i` upwards (the decoder's order); stops at
/// the first error. `models` must not be empty.
fn models_fwd(
    models: &[ModelView<'_>],
    out: &mut [u16],
    mut f: impl FnMut(usize, &ModelView<'_>, &mut u16) -> Result<()>,
) -> Result<()> {
    let p = models.len();
    let mut mi = 0usize;
    for (i, o) in out.iter_mut().enumerate() {
        f(i, &models[mi], o)?;
        mi += 1;
        if mi == p {
            mi = 0;
        }
    }
    Ok(())
}

fn dec_k_multi<const K: usize>(models: &[ModelView<'_>], input: &[u8], out: &mut [u16]) -> Result<()> {
    let (mut st, words) = read_states::<K>(input)?;
    let mut pos = 0usize;
    models_fwd(models, out, |i, m, o| {
        *o = match m.slots() {
            Slots::Wide(d) => step_checked(d, m.scale_bits(), &mut st[i % K], words, &mut pos)?,
            Slots::Compact(c) => step_checked(c, m.scale_bits(), &mut st[i % K], words, &mut pos)?,
        };
        Ok(())
    })?;
    finish(&st[..], pos, words)
}

/// [`decode_multi`] as one loop for every lane count, model count and table kind (no
/// unrolled groups, no per-`K` copies), for targets without a vector unit
/// ([`crate::simd::portable::ROLLED`]): every symbol takes [`step_checked`], the loop the other
/// decoders fall back to, so the symbols written and the errors are the same.
fn dec_rolled(models: &[ModelView<'_>], k: usize, input: &[u8], out: &mut [u16]) -> Result<()> {
    let mut states = [0u32; 32];
    let st = states.get_mut(..k).ok_or(Error::InvalidParameter("lanes must be 4, 8 or 32"))?;
    let words = read_states_into(input, st)?;
    let (mut pos, mut lane) = (0usize, 0usize);
    models_fwd(models, out, |_, m, o| {
        let x = st.get_mut(lane).ok_or(Error::Truncated)?;
        *o = step_checked(m.slots(), m.scale_bits(), x, words, &mut pos)?;
        lane = if lane + 1 == k { 0 } else { lane + 1 };
        Ok(())
    })?;
    finish(st, pos, words)
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::entropy::model::Model;
    use crate::rng::Rng;
    use alloc::vec;
    use alloc::vec::Vec;

    type Outcome = (Result<()>, Vec<u16>);

    /// Decodes with and without the arch path; the symbols written are compared even on `Err`.
    fn both(m: &ModelView<'_>, lanes: Lanes, input: &[u8], n: usize) -> (Outcome, Outcome) {
        let run = |arch: bool| {
            let mut o = vec![0u16; n];
            let r = match lanes {
                Lanes::L4 => dec_k::<4>(m, input, &mut o, arch),
                Lanes::L8 => dec_k::<8>(m, input, &mut o, arch),
                Lanes::L32 => dec_k::<32>(m, input, &mut o, arch),
            };
            (r, o)
        };
        let portable = run(false);
        // The one-loop decoder of targets without a vector unit: the same symbols and result.
        let mut o = vec![0u16; n];
        let r = dec_rolled(core::slice::from_ref(m), lanes.count(), input, &mut o);
        assert_eq!((r, o), portable);
        (run(true), portable)
    }

    /// The one-loop decoder ([`dec_rolled`]) against the generic ones for compact tables and
    /// several models (cycled per symbol): valid and corrupted streams.
    #[test]
    fn rolled_decoder_matches() {
        use crate::entropy::model::fill_compact_table;
        let mut rng = Rng::new(11);
        let (k, scale) = (256usize, 9u32);
        let data: Vec<u16> = (0..3000).map(|_| ((rng.gaussian().abs() * 40.0) as usize).min(k - 1) as u16).collect();
        let a = Model::from_symbols(&data, k, scale).unwrap();
        let b = Model::from_symbols(&data[..1000], k, scale + 2).unwrap();
        let mut slots = vec![0u32; 1 << scale];
        fill_compact_table(a.freqs(), scale, &mut slots).unwrap();
        let compact = ModelView::decoder(scale, a.freqs(), &slots).unwrap();
        for models in [vec![compact], vec![a.view(), b.view()], vec![compact, b.view(), a.view()]] {
            for lanes in [Lanes::L4, Lanes::L8, Lanes::L32] {
                for len in [0usize, 1, 5, 33, 3000] {
                    let syms: Vec<u16> = data[..len].iter().map(|&s| s.min(200)).collect();
                    let Ok(bytes) = encode_vec(&[a.view(), b.view()][..models.len().min(2)], lanes, &syms) else {
                        continue;
                    };
                    let mut c = bytes.clone();
                    for t in 0..=20 {
                        let mut want = vec![0u16; len];
                        let rw = match lanes {
                            Lanes::L4 if models.len() == 1 => dec_k::<4>(&models[0], &c, &mut want, false),
                            Lanes::L8 if models.len() == 1 => dec_k::<8>(&models[0], &c, &mut want, false),
                            Lanes::L32 if models.len() == 1 => dec_k::<32>(&models[0], &c, &mut want, false),
                            Lanes::L4 => dec_k_multi::<4>(&models, &c, &mut want),
                            Lanes::L8 => dec_k_multi::<8>(&models, &c, &mut want),
                            Lanes::L32 => dec_k_multi::<32>(&models, &c, &mut want),
                        };
                        let mut got = vec![0u16; len];
                        let rg = dec_rolled(&models, lanes.count(), &c, &mut got);
                        assert_eq!((rg, got), (rw, want));
                        if c.is_empty() {
                            break;
                        }
                        let i = rng.below(c.len() as u64) as usize;
                        c[i] ^= 1 << (t % 8);
                    }
                }
            }
        }
    }

    /// The arch fast path decodes exactly like the portable loop: valid streams, corrupted
    /// streams (same result and same symbols written) and random states and words.
    #[test]
    fn arch_path_matches_portable() {
        use crate::entropy::model::{EncSym, fill_tables};
        let mut rng = Rng::new(7);
        for (k, scale, plain) in [
            (2usize, 1u32, false),
            (16, 12, false),
            (256, 14, false),
            (256, 14, true),
            (3000, 15, false),
            (3000, 15, true),
            (1, 5, false),
            (1, 15, false),
            (1, 15, true),
        ] {
            let data: Vec<u16> = (0..20_000)
                .map(|_| {
                    let g = rng.gaussian().abs() * (k as f64) / 6.0;
                    (g as usize).min(k - 1) as u16
                })
                .collect();
            let model = Model::from_symbols(&data, k, scale).unwrap();
            // `plain`: a view without the word side tables (the `u64`-table kernel).
            let mut enc = vec![EncSym::default(); k];
            let mut dec = vec![0u64; 1 << scale];
            fill_tables(model.freqs(), scale, &mut enc, &mut dec).unwrap();
            let v = if plain { ModelView::new(scale, &enc, &dec).unwrap() } else { model.view() };
            assert_eq!(v.packed_dec().is_none(), plain);
            for lanes in [Lanes::L4, Lanes::L8, Lanes::L32] {
                for len in [0usize, 1, 31, 33, 1000, 20_000] {
                    let bytes = encode_vec(&[v], lanes, &data[..len]).unwrap();
                    if len == 20_000 && lanes != Lanes::L4 {
                        // The arch path really runs where the CPU has it (AVX2 with POPCNT).
                        let (mut st, words) = read_states::<8>(&bytes).unwrap();
                        let mut o = vec![0u16; len];
                        let r = crate::simd::rans_word_decode::<8>(v.dec(), scale, &mut st, words, &mut 0, &mut o);
                        assert_eq!(r.is_some(), crate::simd::popcnt_available(crate::simd::Backend::Avx2));
                        assert!(r.is_none_or(|d| d > 0 || words.len() < 64));
                    }
                    let (a, b) = both(&v, lanes, &bytes, len);
                    assert_eq!(a, (Ok(()), data[..len].to_vec()));
                    assert_eq!(b, a);
                    let mut c = bytes.clone();
                    for t in 0..20 {
                        let i = rng.below(c.len() as u64) as usize;
                        c[i] ^= 1 << (t % 8);
                        let (a, b) = both(&v, lanes, &c, len);
                        assert_eq!(a, b);
                    }
                }
                // Random (in-range) states followed by random words.
                for _ in 0..20 {
                    let len = rng.below(5000) as usize;
                    let nw = rng.below(5000) as usize;
                    let mut g = Vec::new();
                    for _ in 0..lanes.count() {
                        g.extend_from_slice(&((rng.next_u64() as u32) | L).to_le_bytes());
                    }
                    g.extend((0..2 * nw).map(|_| rng.next_u64() as u8));
                    let (a, b) = both(&v, lanes, &g, len);
                    assert_eq!(a, b);
                }
            }
        }
    }

    fn enc_arch(models: &[ModelView<'_>], lanes: Lanes, syms: &[u16], out: &mut [u8], arch: bool) -> Result<usize> {
        match lanes {
            Lanes::L4 => enc_k_arch::<4>(models, syms, out, arch),
            Lanes::L8 => enc_k_arch::<8>(models, syms, out, arch),
            Lanes::L32 => enc_k_arch::<32>(models, syms, out, arch),
        }
    }

    /// Models for the arch tests: typical, tiny, wide, single-symbol, `p → 1` (too skewed for
    /// the packed decode table), scale 1 and scale 15.
    fn test_models(rng: &mut Rng) -> Vec<(Model, Vec<u16>)> {
        let mut v = Vec::new();
        for (k, scale, skew) in [
            (2usize, 1u32, 0.0),
            (16, 12, 0.0),
            (256, 14, 0.0),
            (3000, 15, 0.0),
            (1, 5, 0.0),
            (1, 15, 0.0),
            (256, 14, 0.999),
            (3, 15, 0.9999),
            (65_536, 15, 0.0),
        ] {
            let data: Vec<u16> = (0..20_000)
                .map(|_| {
                    if rng.next_f64() < skew {
                        return 0;
                    }
                    let g = rng.gaussian().abs() * (k as f64) / 6.0;
                    (g as usize).min(k - 1) as u16
                })
                .collect();
            let model = match k {
                65_536 => {
                    // Few present symbols spread over the whole alphabet.
                    let data: Vec<u16> = data.iter().map(|&s| s.wrapping_mul(40_503)).collect();
                    (Model::from_symbols(&data, k, scale).unwrap(), data)
                }
                _ => (Model::from_symbols(&data, k, scale).unwrap(), data),
            };
            v.push(model);
        }
        v
    }

    /// The AVX2 encoder writes exactly the portable encoder's bytes (and the same result) at
    /// awkward lengths, with buffers from roomy to too small, and fails like it on symbols
    /// outside the model; the decoder (packed or `u64` table) reads them back.
    #[test]
    fn arch_encoder_matches_portable() {
        let mut rng = Rng::new(11);
        for (model, data) in test_models(&mut rng) {
            let v = model.view();
            let k = v.alphabet_size();
            {
                // The AVX2 encoder really runs where the CPU has it (AVX2 with POPCNT).
                let mut out = vec![0u8; 2 * data.len()];
                let (mut st, mut p) = ([L; 32], out.len());
                let r = crate::simd::rans_word_encode::<32>(
                    v.word_enc(),
                    v.scale_bits(),
                    &mut st,
                    &data[..data.len() / 32 * 32],
                    &mut out,
                    &mut p,
                );
                assert_eq!(r.is_some(), crate::simd::popcnt_available(crate::simd::Backend::Avx2));
                assert!(r.is_none_or(|(d, bad)| d == data.len() / 32 * 32 && !bad));
            }
            for lanes in [Lanes::L4, Lanes::L8, Lanes::L32] {
                let kk = lanes.count();
                for len in [0usize, 1, kk - 1, kk, kk + 1, 2 * kk + 3, 777, 4099, 20_000] {
                    let syms = &data[..len];
                    let cap = max_encoded_len(len, lanes);
                    let mut a = vec![0u8; cap];
                    let mut b = vec![0u8; cap];
                    let ra = enc_arch(&[v], lanes, syms, &mut a, true);
                    let rb = enc_arch(&[v], lanes, syms, &mut b, false);
                    assert_eq!(ra, rb);
                    let l = ra.unwrap();
                    assert_eq!(a[..l], b[..l], "k={k} lanes={kk} len={len}");
                    let mut back = vec![0u16; len];
                    decode(&v, lanes, &a[..l], &mut back).unwrap();
                    assert_eq!(back, syms);
                    // Tight and too small buffers.
                    for cap in [l, l.saturating_sub(1), l / 2, 4 * kk + 2 * kk + 1, 3] {
                        let mut a = vec![0u8; cap];
                        let mut b = vec![0u8; cap];
                        let ra = enc_arch(&[v], lanes, syms, &mut a, true);
                        let rb = enc_arch(&[v], lanes, syms, &mut b, false);
                        assert_eq!(ra.is_ok(), rb.is_ok(), "cap={cap}");
                        if let (Ok(la), Ok(lb)) = (ra, rb) {
                            assert_eq!((la, &a[..la]), (lb, &b[..lb]));
                        }
                    }
                }
                // A symbol outside the model (zero frequency or beyond the alphabet) anywhere.
                let absent = (0..k).find(|&s| v.freq(s) == 0).map(|s| s as u16);
                for bad in absent.into_iter().chain((k < 65_536).then_some(k as u16)) {
                    for at in [0usize, 5, 1000, 4000] {
                        let mut syms = data[..4099].to_vec();
                        syms[at] = bad;
                        let mut a = vec![0u8; max_encoded_len(syms.len(), lanes)];
                        let ra = enc_arch(&[v], lanes, &syms, &mut a, true);
                        let rb = enc_arch(&[v], lanes, &syms, &mut a, false);
                        assert!(matches!(ra, Err(Error::InvalidParameter(_))), "{ra:?}");
                        assert_eq!(ra, rb);
                    }
                }
            }
        }
    }

    /// A view without the word side tables (plain [`ModelView::new`]) codes exactly like the
    /// model's own view, and `with_word_tables` accepts the model's tables and rejects others.
    #[test]
    fn views_with_and_without_word_tables_agree() {
        use crate::entropy::model::{EncSym, fill_tables, fill_word_tables};
        let mut rng = Rng::new(12);
        for (model, data) in test_models(&mut rng) {
            let n = model.scale_bits();
            let mut enc = vec![EncSym::default(); model.alphabet_size()];
            let mut dec = vec![0u64; 1 << n];
            fill_tables(model.freqs(), n, &mut enc, &mut dec).unwrap();
            let plain = ModelView::new(n, &enc, &dec).unwrap();
            let mut enc4 = vec![[0u32; 4]; model.alphabet_size()];
            let mut dec32 = vec![0u32; 1 << n];
            let layout = fill_word_tables(model.freqs(), n, &mut enc4, &mut dec32).unwrap();
            let dec32 = if layout.is_some() { &dec32[..] } else { &[][..] };
            let fast = plain.with_word_tables(&enc4, dec32).unwrap();
            assert_eq!(fast.packed_dec().map(|(_, a, b)| (a, b)), layout);
            let mut bad4 = enc4.clone();
            bad4[0][2] ^= 1;
            assert!(plain.with_word_tables(&bad4, dec32).is_err());
            if layout.is_some() {
                let mut bad32 = dec32.to_vec();
                bad32[1] ^= 1 << 31;
                assert!(plain.with_word_tables(&enc4, &bad32).is_err());
            }
            for lanes in [Lanes::L8, Lanes::L32] {
                let a = encode_vec(&[model.view()], lanes, &data).unwrap();
                assert_eq!(encode_vec(&[plain], lanes, &data).unwrap(), a);
                assert_eq!(encode_vec(&[fast], lanes, &data).unwrap(), a);
                for view in [plain, fast, model.view()] {
                    let mut back = vec![0u16; data.len()];
                    decode(&view, lanes, &a, &mut back).unwrap();
                    assert_eq!(back, data);
                }
            }
        }
    }

    /// The word encoder records divide exactly: `(t + ((x − t) >> 1)) >> shift = ⌊x/f⌋` with
    /// `t = mulhi32(x, m)` for every frequency of small scales (all of them for `n ≤ 8`) at
    /// sampled states over the whole `u32` range and at the ends of the encoder interval.
    #[test]
    fn word_records_divide_exactly() {
        use crate::entropy::model::word_enc_record;
        let mut rng = Rng::new(13);
        for n in [1u32, 2, 5, 8, 12, 14, 15] {
            let m = 1u32 << n;
            for f in (1..=m).step_by(((m / 300) as usize).max(1)).chain([m - 1, m, 3, 5, 7]).filter(|&f| f <= m) {
                let [fm1, magic, bias, cs] = word_enc_record(f, m - f, n);
                assert_eq!(fm1, f - 1);
                let e = EncSym::new(f, m - f, n);
                assert_eq!((bias, cs & 0xffff), (e.bias, e.cmpl));
                for t in 0..400u64 {
                    let x = match t {
                        0 => u32::MAX,
                        1 => f << (16 - n),
                        2 => ((u64::from(f) << (32 - n)).min(1 << 32) - 1) as u32,
                        3 => 1,
                        _ => rng.next_u64() as u32 | 1,
                    };
                    let th = ((u64::from(x) * u64::from(magic)) >> 32) as u32;
                    let q = (th + ((x - th) >> 1)) >> (cs >> 16);
                    let want = if f == 1 { x - 1 } else { x / f };
                    assert_eq!(q, want, "n={n} f={f} x={x}");
                }
            }
        }
    }

    /// The encoder's reciprocal step equals the exact formula for every state in the encoder's
    /// interval (sampled) and every frequency of small scales.
    #[test]
    fn step_is_exact() {
        let mut rng = Rng::new(3);
        for n in [1u32, 4, 12, 15] {
            let m = 1u32 << n;
            for f in (1..=m).step_by(((m / 200) as usize).max(1)).chain([m - 1, m]) {
                let c = m - f;
                let e = EncSym::new(f, c, n);
                let lo = u64::from(f) << (16 - n);
                let hi = u64::from(f) << (32 - n);
                for t in 0..300u64 {
                    let x = match t {
                        0 => lo,
                        1 => hi - 1,
                        _ => lo + rng.below(hi - lo),
                    } as u32;
                    let want = (x / f) as u64 * u64::from(m) + u64::from(x % f) + u64::from(c);
                    assert_eq!(u64::from(step(&e, x)), want, "n={n} f={f} x={x}");
                }
            }
        }
    }
}
