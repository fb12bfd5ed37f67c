//! Interleaved rANS: `K ∈ {4, 8, 32}` independent 64-bit states sharing one stream of 32-bit
//! words, so that the decoder's per-symbol dependency chains run in parallel (SPECS §11).
//!
//! State `x ∈ [2^31, 2^63)`, renormalisation by one 32-bit little-endian word (at most one per
//! symbol). `L/M ≥ 2^15` keeps the coding loss negligible even at `n = 16`. Symbol `i` belongs to
//! lane `i mod K`. The encoder runs backwards over the symbols; the stream is `K` little-endian
//! `u64` final states (lane 0 first)
//! followed by the words in decoding order. The decoder reads forwards, lane by lane, with a
//! branch-free renormalisation; at the end it checks that every lane is back at `L = 2^31` and
//! that every word was consumed.
//!
//! Size: `Σ −log2(f_s/M)` bits + `8K` bytes of flushed state + at most one word per lane.

use super::model::{EncSym, ModelView, SlotTable, Slots, unpack_slot};
use super::rans::move_to_front;
use crate::error::{Error, Result};

/// Lower bound `L = 2^31` of the state interval.
pub const L: u64 = 1 << 31;

/// Number of interleaved states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lanes {
    /// 4 lanes (32 bytes of flushed state).
    L4,
    /// 8 lanes (64 bytes of flushed state).
    L8,
    /// 32 lanes (256 bytes of flushed state); fastest decode on long streams.
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

/// An upper bound on the encoded size of `n` symbols with `lanes` lanes.
pub const fn max_encoded_len(n: usize, lanes: Lanes) -> usize {
    4 * n + 8 * lanes.count()
}

/// Encodes `symbols` (symbol `i` with `models[i % models.len()]`, lane `i mod K`) into the front
/// of `out`; returns the number of bytes written.
///
/// # Errors
/// [`Error::InvalidParameter`] if `models` is empty or a symbol has zero frequency;
/// [`Error::BufferTooSmall`] if `out` is shorter than needed.
pub fn encode_multi(models: &[ModelView<'_>], lanes: Lanes, symbols: &[u16], out: &mut [u8]) -> Result<usize> {
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
/// [`Error::InvalidParameter`] if `models` is empty.
pub fn decode_multi(models: &[ModelView<'_>], lanes: Lanes, input: &[u8], out: &mut [u16]) -> Result<()> {
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

fn enc_k<const K: usize>(models: &[ModelView<'_>], symbols: &[u16], out: &mut [u8]) -> Result<usize> {
    if models.is_empty() {
        return Err(Error::InvalidParameter("no model given"));
    }
    let too_small = Error::BufferTooSmall { needed: 4 * symbols.len() + 8 * K, got: out.len() };
    let mut st = [L; K];
    let mut pos = out.len();
    if let [m] = models {
        enc_k_single::<K>(m, symbols, out, &mut st, &mut pos)?;
    } else {
        models_rev(models, symbols, |i, m, s| {
            enc_step(m.sym(s)?, 63 - m.scale_bits(), &mut st[i % K], out, &mut pos).ok_or(too_small)
        })?;
    }
    if pos < 8 * K {
        return Err(too_small);
    }
    for lane in (0..K).rev() {
        pos -= 8;
        out[pos..pos + 8].copy_from_slice(&st[lane].to_le_bytes());
    }
    Ok(move_to_front(out, pos))
}

/// One encode step with a bounds-checked renormalisation write; `None` if `out` is full.
#[inline(always)]
fn enc_step(e: &EncSym, shift: u32, x: &mut u64, out: &mut [u8], pos: &mut usize) -> Option<()> {
    let mut y = *x;
    if y >= u64::from(e.freq) << shift {
        let w = out.get_mut(pos.checked_sub(4)?..*pos)?;
        w.copy_from_slice(&(y as u32).to_le_bytes());
        *pos -= 4;
        y >>= 32;
    }
    *x = e.step64(y);
    Some(())
}

/// Single-model encoder: whole groups of `K` symbols (backwards) with a branch-free
/// renormalisation (the word is always stored below `pos`, `pos` moves only when it is needed)
/// while `4K` bytes of room remain; the tail and a nearly full buffer take [`enc_step`].
fn enc_k_single<const K: usize>(
    m: &ModelView<'_>,
    symbols: &[u16],
    out: &mut [u8],
    st: &mut [u64; K],
    pos: &mut usize,
) -> Result<()> {
    let too_small = Error::BufferTooSmall { needed: 4 * symbols.len() + 8 * K, got: out.len() };
    let shift = 63 - m.scale_bits();
    let enc = m.enc();
    let full = symbols.len() / K * K;
    let (head, tail) = symbols.split_at(full);
    for (lane, &s) in tail.iter().enumerate().rev() {
        enc_step(m.sym(s)?, shift, &mut st[lane], out, pos).ok_or(too_small)?;
    }
    let mut p = *pos;
    for group in head.chunks_exact(K).rev() {
        if p < 4 * K {
            for (x, &s) in st.iter_mut().zip(group).rev() {
                enc_step(m.sym(s)?, shift, x, out, &mut p).ok_or(too_small)?;
            }
            continue;
        }
        for (x, &s) in st.iter_mut().zip(group).rev() {
            let e = match enc.get(usize::from(s)) {
                Some(e) if e.freq > 0 => e,
                _ => return Err(Error::InvalidParameter("symbol not in model (zero frequency)")),
            };
            let y = *x;
            let big = y >= u64::from(e.freq) << shift;
            // p ≥ 4 holds: at most K − 1 words were written since the check p ≥ 4K.
            if let Some(w) = out.get_mut(p - 4..p) {
                w.copy_from_slice(&(y as u32).to_le_bytes());
            }
            p -= 4 * usize::from(big);
            *x = e.step64(if big { y >> 32 } else { y });
        }
    }
    *pos = p;
    Ok(())
}

#[inline]
fn read_states<const K: usize>(input: &[u8]) -> Result<([u64; K], &[u8])> {
    let head = input.get(..8 * K).ok_or(Error::Truncated)?;
    let words = &input[8 * K..];
    if !words.len().is_multiple_of(4) {
        return Err(Error::Corrupt("interleaved rANS word area is not whole words"));
    }
    let mut st = [0u64; K];
    for (s, c) in st.iter_mut().zip(head.chunks_exact(8)) {
        *s = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        if *s < L || *s >> 63 != 0 {
            return Err(Error::Corrupt("interleaved rANS initial state out of range"));
        }
    }
    Ok((st, words))
}

#[inline]
fn finish<const K: usize>(st: &[u64; K], pos: usize, words: &[u8]) -> Result<()> {
    if st.iter().any(|&s| s != L) {
        return Err(Error::Corrupt("interleaved rANS final state is not L"));
    }
    if pos != words.len() {
        return Err(Error::Corrupt("interleaved rANS stream has trailing bytes"));
    }
    Ok(())
}

/// One decode step with bounds-checked renormalisation (slow path, end of stream).
#[inline(always)]
fn step_checked<T: SlotTable>(dec: T, n: u32, x: &mut u64, words: &[u8], pos: &mut usize) -> Result<u16> {
    let slot = (*x as usize) & (dec.slots() - 1);
    let (s, bias, f) = unpack_slot(dec.entry(slot));
    let mut y = u64::from(f) * (*x >> n) + u64::from(bias);
    if y < L {
        let w = words.get(*pos..*pos + 4).ok_or(Error::Truncated)?;
        y = (y << 32) | u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        *pos += 4;
    }
    *x = y;
    Ok(s)
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
    // Arch fast path (bit-identical): whole groups while 4K bytes of words remain.
    let out = match arch {
        true => match crate::simd::rans_interleaved_decode::<K>(dec.wide(), n, &mut st, words, &mut pos, out) {
            Some(done) => out.get_mut(done..).unwrap_or_default(),
            None => out,
        },
        false => out,
    };
    let mut chunks = out.chunks_exact_mut(K);
    for chunk in &mut chunks {
        if pos + 4 * K <= words.len() {
            // Fast path: every read of this group is in bounds.
            // Phase 1: all lanes decode independently (no dependency between lanes).
            let w = &words[pos..pos + 4 * K];
            let mut ys = [0u64; K];
            for ((x, o), y) in st.iter().zip(chunk.iter_mut()).zip(ys.iter_mut()) {
                let e = dec.entry((*x as usize) & mask);
                *o = e as u16;
                *y = (e >> 32) * (*x >> n) + ((e >> 16) & 0xffff);
            }
            // Phase 2: renormalise in lane order; only the word cursor is serial.
            let mut used = 0usize;
            for (x, &y) in st.iter_mut().zip(ys.iter()) {
                let need = y < L;
                let i = used & (4 * K - 1);
                let word = u64::from(u32::from_le_bytes([w[i], w[i + 1], w[i + 2], w[i + 3]]));
                *x = if need { (y << 32) | word } else { y };
                used += 4 * usize::from(need);
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
    finish(&st, pos, words)
}

/// Calls `f(i, models[i mod p], symbols[i])` for `i` from the last symbol down to 0 (the
/// encoders' order), cycling the model index without a division per symbol; stops at the first
/// error. `models` must not be empty.
pub(super) fn models_rev(
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

/// Calls `f(i, models[i mod p], &mut out[i])` for `i` upwards (the decoders' order); stops at
/// the first error. `models` must not be empty.
pub(super) fn models_fwd(
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
    if models.is_empty() {
        return Err(Error::InvalidParameter("no model given"));
    }
    let (mut st, words) = read_states::<K>(input)?;
    let mut pos = 0usize;
    models_fwd(models, out, |i, m, o| {
        *o = match m.slots() {
            Slots::Wide(d) => step_checked(d, m.scale_bits(), &mut st[i % K], words, &mut pos)?,
            Slots::Compact(c) => step_checked(c, m.scale_bits(), &mut st[i % K], words, &mut pos)?,
        };
        Ok(())
    })?;
    finish(&st, pos, words)
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
        (run(true), run(false))
    }

    /// The arch fast path decodes exactly like the portable loop: valid streams, corrupted
    /// streams (same result and same symbols written) and random states and words.
    #[test]
    fn arch_path_matches_portable() {
        let mut rng = Rng::new(7);
        for (k, scale) in [(2usize, 1u32), (16, 12), (256, 14), (3000, 16), (1, 5)] {
            let data: Vec<u16> = (0..20_000)
                .map(|_| {
                    let g = rng.gaussian().abs() * (k as f64) / 6.0;
                    (g as usize).min(k - 1) as u16
                })
                .collect();
            let model = Model::from_symbols(&data, k, scale).unwrap();
            let v = model.view();
            for lanes in [Lanes::L4, Lanes::L8, Lanes::L32] {
                for len in [0usize, 1, 31, 33, 1000, 20_000] {
                    let bytes = encode_vec(&[v], lanes, &data[..len]).unwrap();
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
                        g.extend_from_slice(&((rng.next_u64() >> 1) | L).to_le_bytes());
                    }
                    g.extend((0..4 * nw).map(|_| rng.next_u64() as u8));
                    let (a, b) = both(&v, lanes, &g, len);
                    assert_eq!(a, b);
                }
            }
        }
    }
}
