//! Static frequency models for the rANS coders.
//!
//! A model assigns every symbol `s` of an alphabet of size `k ≤ 65,536` a frequency `f_s`
//! with `Σ f_s = M = 2^n` (`1 ≤ n ≤ 16`) and cumulative frequency `c_s = Σ_{t<s} f_t`. The
//! coders spend `−log2(f_s / M)` bits per symbol (plus a few bytes of state), so the model
//! cost of a message is exactly [`ModelView::cost_bits`].
//!
//! Encoding uses per-symbol reciprocals ([`EncSym`]) so that no division is executed per
//! symbol; decoding uses a table of `M` slots, each packing `(symbol, slot − c_s, f_s)` into
//! one `u64`. [`ModelView`] borrows these tables (usable without an allocator, from caller
//! buffers filled by [`fill_tables`]); [`Model`] owns them (feature `alloc`).
//!
//! For scales `n ≤ 15` a [`Model`] also owns the word coder's side tables (see
//! [`fill_word_tables`]): one [`WordEncRecord`] per symbol (16 bytes, for the AVX2 encoder) and,
//! when [`packed_dec_layout`] fits, a packed `u32` decode table of `M` slots (for the faster
//! decoder); without an allocator, fill them yourself and attach them with
//! [`ModelView::with_word_tables`].

use crate::error::{Error, Result};

/// Largest supported scale `n` (`M = 2^n`): keeps slot→symbol tables at most 65,536 entries.
pub const MAX_SCALE_BITS: u32 = 16;
/// Largest supported alphabet size.
pub const MAX_ALPHABET: usize = 1 << 16;

/// Per-symbol encoder constants: frequency, cumulative frequency and the reciprocals that make
/// the encoder division-free (SPECS §11).
///
/// For `f ≥ 2` with `s = ⌈log2 f⌉`: `rcp32 = ⌈2^(s+31)/f⌉`, `rcp64 = ⌈2^(s+63)/f⌉`,
/// `rcp_shift = s − 1`, `bias = c`, `cmpl = M − f`; then `⌊x/f⌋ = mulhi(x, rcp) >> rcp_shift`
/// exactly for `x < 2^31` (32-bit) resp. `x < 2^63` (64-bit), and the encoded state is
/// `x + bias + ⌊x/f⌋·cmpl = ⌊x/f⌋·M + (x mod f) + c`. For `f = 1`: `rcp = all ones`,
/// `rcp_shift = 0`, `bias = c + M − 1` (then `mulhi(x, rcp) = x − 1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncSym {
    /// Frequency `f_s` (0 = symbol absent, cannot be encoded).
    pub freq: u32,
    /// Cumulative frequency `c_s`.
    pub cum: u32,
    /// 32-bit reciprocal (for states `< 2^31`).
    pub rcp32: u32,
    /// Shift applied after the high multiply.
    pub rcp_shift: u32,
    /// 64-bit reciprocal (for states `< 2^63`).
    pub rcp64: u64,
    /// Additive bias.
    pub bias: u32,
    /// `M − f` (the complement frequency).
    pub cmpl: u32,
}

impl EncSym {
    /// Constants for frequency `freq ≥ 1`, cumulative `cum`, scale `n`.
    pub(crate) fn new(freq: u32, cum: u32, n: u32) -> Self {
        let m = 1u32 << n;
        if freq == 0 {
            return EncSym { cum, ..Default::default() };
        }
        if freq == 1 {
            return EncSym {
                freq,
                cum,
                rcp32: u32::MAX,
                rcp_shift: 0,
                rcp64: u64::MAX,
                bias: cum + m - 1,
                cmpl: m - 1,
            };
        }
        let s = 32 - (freq - 1).leading_zeros(); // ⌈log2 f⌉ ≥ 1
        let f = u128::from(freq);
        let rcp32 = ((1u128 << (s + 31)).div_ceil(f)) as u32;
        let rcp64 = ((1u128 << (s + 63)).div_ceil(f)) as u64;
        EncSym { freq, cum, rcp32, rcp_shift: s - 1, rcp64, bias: cum, cmpl: m - freq }
    }

    /// One division-free rANS encode step for a state `x < 2^31` (32-bit coders with `L ≤ 2^23`).
    #[inline(always)]
    pub fn step32(&self, x: u32) -> u32 {
        let q = ((u64::from(x) * u64::from(self.rcp32)) >> 32) as u32 >> self.rcp_shift;
        x.wrapping_add(self.bias).wrapping_add(q.wrapping_mul(self.cmpl))
    }

    /// One division-free rANS encode step for a state `x < 2^63`.
    #[inline(always)]
    pub fn step64(&self, x: u64) -> u64 {
        let q = ((u128::from(x) * u128::from(self.rcp64)) >> 64) as u64 >> self.rcp_shift;
        x.wrapping_add(u64::from(self.bias)).wrapping_add(q.wrapping_mul(u64::from(self.cmpl)))
    }
}

/// Unpacks a decode-table entry into `(symbol, bias = slot − c_s, freq)`.
#[inline(always)]
pub fn unpack_slot(e: u64) -> (u16, u32, u32) {
    (e as u16, ((e >> 16) & 0xffff) as u32, (e >> 32) as u32)
}

/// The checks every table builder makes on a model, in this order: `scale_bits` in
/// `1..=max_scale` (else `InvalidParameter(scale_err)`), an alphabet of `1..=MAX_ALPHABET`
/// symbols (`InvalidParameter`), frequencies summing to `2^scale_bits` (`Corrupt`). Returns
/// `2^scale_bits`.
fn check_model(freqs: &[u32], scale_bits: u32, max_scale: u32, scale_err: &'static str) -> Result<u64> {
    if scale_bits == 0 || scale_bits > max_scale {
        return Err(Error::InvalidParameter(scale_err));
    }
    if freqs.is_empty() || freqs.len() > MAX_ALPHABET {
        return Err(Error::InvalidParameter("alphabet size must be in 1..=65536"));
    }
    let m = 1u64 << scale_bits;
    if freqs.iter().map(|&f| u64::from(f)).sum::<u64>() != m {
        return Err(Error::Corrupt("frequencies do not sum to 2^scale_bits"));
    }
    Ok(m)
}

/// Validates `freqs` (alphabet `1..=65,536`, sum exactly `2^scale_bits`, `1 ≤ scale_bits ≤ 16`)
/// and fills the encoder constants (`enc[..freqs.len()]`) and the decode table
/// (`dec[..2^scale_bits]`). Needs no allocator.
///
/// # Errors
/// [`Error::InvalidParameter`] for a scale outside `1..=16` or an empty/oversized alphabet,
/// [`Error::Corrupt`] if the frequencies do not sum to `2^scale_bits`,
/// [`Error::BufferTooSmall`] if `enc` or `dec` is too short.
pub fn fill_tables(freqs: &[u32], scale_bits: u32, enc: &mut [EncSym], dec: &mut [u64]) -> Result<()> {
    let m = check_model(freqs, scale_bits, MAX_SCALE_BITS, "scale_bits must be in 1..=16")?;
    if enc.len() < freqs.len() {
        return Err(Error::BufferTooSmall { needed: freqs.len(), got: enc.len() });
    }
    if dec.len() < m as usize {
        return Err(Error::BufferTooSmall { needed: m as usize, got: dec.len() });
    }
    let mut cum = 0u32;
    for (s, (&f, e)) in freqs.iter().zip(enc.iter_mut()).enumerate() {
        *e = EncSym::new(f, cum, scale_bits);
        for slot in cum..cum + f {
            let bias = slot - cum;
            if let Some(d) = dec.get_mut(slot as usize) {
                *d = (s as u64) | (u64::from(bias) << 16) | (u64::from(f) << 32);
            }
        }
        cum += f;
    }
    Ok(())
}

/// Encoder record of the interleaved coder's SIMD encoder (`entropy::word`), one per symbol:
/// `[f − 1, m, bias, cmpl | shift << 16]` (`f − 1` wraps to `u32::MAX` for an absent symbol).
///
/// For `f ≥ 2` with `l = ⌈log2 f⌉`: `m = ⌈2^(32+l)/f⌉ − 2^32` (a 33-bit multiplier without its
/// top bit) and `shift = l − 1`; then with `t = mulhi32(x, m)`,
/// `⌊x/f⌋ = (t + ((x − t) >> 1)) >> shift` exactly for every `x < 2^32`. For `f = 1`:
/// `m = 2^32 − 1`, `shift = 0` (the formula yields `x − 1`, compensated by `bias = c + M − 1`
/// as in [`EncSym`]). `bias` and `cmpl = M − f` are those of [`EncSym`].
pub type WordEncRecord = [u32; 4];

/// The [`WordEncRecord`] of a symbol with frequency `freq` (0 = absent), cumulative frequency
/// `cum`, scale `n ≤ 15`.
pub fn word_enc_record(freq: u32, cum: u32, n: u32) -> WordEncRecord {
    let m = 1u32 << n;
    match freq {
        0 => [u32::MAX, 0, 0, 0],
        1 => [0, u32::MAX, cum + m - 1, m - 1],
        f => {
            let l = 32 - (f - 1).leading_zeros();
            let magic = ((1u64 << (32 + l)).div_ceil(u64::from(f)) - (1u64 << 32)) as u32;
            [f - 1, magic, cum, (m - f) | ((l - 1) << 16)]
        }
    }
}

/// The layout `(sym_bits, freq_bits)` of the packed 32-bit decode table for these
/// frequencies, if it fits: entry `s | (slot − c_s) << sym_bits | (f_s − 1) << (sym_bits +
/// freq_bits)` with `sym_bits = ⌈log2 k⌉` and `freq_bits` the bits of `max f_s − 1`; it fits
/// when `sym_bits + 2·freq_bits ≤ 32` (e.g. `k ≤ 256` with every `f_s ≤ 4096`, or `k ≤ 16`
/// at `n ≤ 14`): half the `u64` table's bytes.
pub fn packed_dec_layout(freqs: &[u32]) -> Option<(u32, u32)> {
    let k = u32::try_from(freqs.len()).ok()?;
    let sb = 32 - k.checked_sub(1)?.leading_zeros();
    let fmax = freqs.iter().copied().max()?;
    let fb = 32 - fmax.checked_sub(1)?.leading_zeros();
    (sb + 2 * fb <= 32).then_some((sb, fb))
}

/// Fills the word coder's side tables for `freqs` (sum `2^scale_bits`, `scale_bits ≤ 15`):
/// `enc4[..k]` with [`word_enc_record`] and, when [`packed_dec_layout`] fits, `dec32[..2^n]`
/// with the packed decode entries. Returns the packed layout (`None`: `dec32` untouched).
/// Needs no allocator; pass the tables to [`ModelView::with_word_tables`].
///
/// # Errors
/// As [`fill_tables`]; [`Error::InvalidParameter`] for `scale_bits > 15`;
/// [`Error::BufferTooSmall`] if `enc4` or (when the layout fits) `dec32` is too short.
pub fn fill_word_tables(
    freqs: &[u32],
    scale_bits: u32,
    enc4: &mut [WordEncRecord],
    dec32: &mut [u32],
) -> Result<Option<(u32, u32)>> {
    let m = check_model(freqs, scale_bits, 15, "word tables need scale_bits in 1..=15")?;
    if enc4.len() < freqs.len() {
        return Err(Error::BufferTooSmall { needed: freqs.len(), got: enc4.len() });
    }
    let layout = packed_dec_layout(freqs);
    if layout.is_some() && dec32.len() < m as usize {
        return Err(Error::BufferTooSmall { needed: m as usize, got: dec32.len() });
    }
    let mut cum = 0u32;
    for (s, (&f, r)) in freqs.iter().zip(enc4.iter_mut()).enumerate() {
        *r = word_enc_record(f, cum, scale_bits);
        if let Some((sb, fb)) = layout {
            for slot in cum..cum + f {
                if let Some(d) = dec32.get_mut(slot as usize) {
                    *d = s as u32 | (slot - cum) << sb | (f - 1) << (sb + fb);
                }
            }
        }
        cum += f;
    }
    Ok(layout)
}

/// A borrowed static model: the view every coder works on (no allocator needed).
#[derive(Clone, Copy, Debug)]
pub struct ModelView<'a> {
    scale_bits: u32,
    enc: &'a [EncSym],
    dec: &'a [u64],
    /// Word coder side tables (empty when absent; read by the arch paths of `crate::simd`).
    enc4: &'a [WordEncRecord],
    dec32: &'a [u32],
    /// `(sym_bits, freq_bits)` of `dec32` (meaningful when `dec32` is non-empty).
    dec32_layout: (u32, u32),
    /// Compact decode table (`s | (slot − c_s) << 16` per slot) of a view made by
    /// [`ModelView::decoder`]; empty for views with the wide `dec` table.
    cdec: &'a [u32],
    /// Per-symbol frequencies of a compact view (empty otherwise).
    freqs: &'a [u32],
}

/// The decode table of a view, as the decoders read it: one wide entry
/// (`s | bias << 16 | f << 32`, see [`unpack_slot`]) per slot.
pub(crate) trait SlotTable: Copy {
    /// Number of slots (`2^n`).
    fn slots(&self) -> usize;
    /// The wide entry of `slot` (`slot < slots()`).
    fn entry(&self, slot: usize) -> u64;
    /// The wide table itself (empty for the compact table; the x86 gather paths need it).
    fn wide(&self) -> &[u64];
}

impl SlotTable for &[u64] {
    #[inline(always)]
    fn slots(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn entry(&self, slot: usize) -> u64 {
        self[slot]
    }
    fn wide(&self) -> &[u64] {
        self
    }
}

/// The compact table of a view: `s | bias << 16` per slot and the frequency per symbol.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompactSlots<'a> {
    dec: &'a [u32],
    freqs: &'a [u32],
}

impl SlotTable for CompactSlots<'_> {
    #[inline(always)]
    fn slots(&self) -> usize {
        self.dec.len()
    }
    #[inline(always)]
    fn entry(&self, slot: usize) -> u64 {
        let c = self.dec[slot];
        // Symbols of a validated view are < freqs.len(); 0 keeps the function total.
        u64::from(c) | u64::from(self.freqs.get((c & 0xffff) as usize).copied().unwrap_or(0)) << 32
    }
    fn wide(&self) -> &[u64] {
        &[]
    }
}

/// The decode table of a view: wide `u64` entries (views over [`fill_tables`], owned
/// [`Model`]s, used by the x86 gather paths) or the compact 32-bit table.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slots<'a> {
    /// `u64` entries (see [`unpack_slot`]).
    Wide(&'a [u64]),
    /// `u32` entries plus per-symbol frequencies.
    Compact(CompactSlots<'a>),
}

/// Either table, chosen per lookup (one decoder loop for both kinds where code size matters
/// more than the branch: targets without a vector unit).
impl SlotTable for Slots<'_> {
    #[inline(always)]
    fn slots(&self) -> usize {
        match self {
            Slots::Wide(d) => d.slots(),
            Slots::Compact(c) => c.slots(),
        }
    }
    #[inline(always)]
    fn entry(&self, slot: usize) -> u64 {
        match self {
            Slots::Wide(d) => d.entry(slot),
            Slots::Compact(c) => c.entry(slot),
        }
    }
    fn wide(&self) -> &[u64] {
        match self {
            Slots::Wide(d) => d,
            Slots::Compact(_) => &[],
        }
    }
}

/// Validates `freqs` (as [`fill_tables`]) and fills the compact 32-bit decode table
/// `dec[..2^scale_bits]`: slot `c_s + j` (`j < f_s`) holds `s | j << 16`. The frequency of the
/// slot's symbol is read from `freqs` when decoding, so a decoder needs `4·(2^n + k)` bytes
/// (17 KiB at `n = 12`, `k = 256`) instead of the `8·2^n + 32·k` of [`fill_tables`]. Needs no
/// allocator; pass the tables to [`ModelView::decoder`].
///
/// # Errors
/// As [`fill_tables`].
pub fn fill_compact_table(freqs: &[u32], scale_bits: u32, dec: &mut [u32]) -> Result<()> {
    let m = check_model(freqs, scale_bits, MAX_SCALE_BITS, "scale_bits must be in 1..=16")?;
    if dec.len() < m as usize {
        return Err(Error::BufferTooSmall { needed: m as usize, got: dec.len() });
    }
    let mut cum = 0usize;
    for (s, &f) in freqs.iter().enumerate() {
        let f = f as usize;
        for (j, d) in dec[cum..cum + f].iter_mut().enumerate() {
            *d = s as u32 | (j as u32) << 16;
        }
        cum += f;
    }
    Ok(())
}

/// Container kind tag of a serialized static model ([`Model::to_bytes`]).
pub const KIND_STATIC_MODEL: u16 = crate::format::kind::ENTROPY + 0x01;

/// Reads the payload header of a saved model (scale `n`, alphabet `k`), validated as the owned
/// reader validates it.
fn read_model_header(r: &mut crate::format::Reader<'_>) -> Result<(u32, usize)> {
    let n = u32::from(r.u8()?);
    if n == 0 || n > MAX_SCALE_BITS {
        return Err(Error::Corrupt("model scale_bits"));
    }
    let k = r.u32()? as usize;
    if k == 0 || k > MAX_ALPHABET {
        return Err(Error::Corrupt("model alphabet size"));
    }
    if r.remaining() < k {
        return Err(Error::Truncated);
    }
    Ok((n, k))
}

/// Reads `freqs.len()` LEB128 frequencies, each at most `2^n`.
fn read_model_freqs(r: &mut crate::format::Reader<'_>, n: u32, freqs: &mut [u32]) -> Result<()> {
    for fr in freqs.iter_mut() {
        let mut v = 0u32;
        let mut shift = 0;
        loop {
            let b = r.u8()?;
            if shift > 14 {
                return Err(Error::Corrupt("model frequency varint too long"));
            }
            v |= u32::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        if v > 1 << n {
            return Err(Error::Corrupt("model frequency exceeds 2^scale_bits"));
        }
        *fr = v;
    }
    Ok(())
}

/// Storage a no-heap model decoder needs: `k` frequencies and `2^n` compact slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderStorageLen {
    /// `u32` words for the frequencies (the alphabet size `k`).
    pub freqs: usize,
    /// `u32` words for the compact decode table (`2^n`).
    pub slots: usize,
}

impl<'a> ModelView<'a> {
    /// A view over tables filled by [`fill_tables`] (`enc` holds the alphabet, `dec` exactly
    /// `2^scale_bits` slots).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the lengths do not match the scale or alphabet limits;
    /// [`Error::Corrupt`] unless `enc` is exactly what [`fill_tables`] writes (frequencies
    /// summing to `2^scale_bits`, cumulative frequencies their prefix sums, the reciprocals of
    /// [`EncSym`]) and every decode entry names the slot's symbol (`O(k + 2^scale_bits)`).
    pub fn new(scale_bits: u32, enc: &'a [EncSym], dec: &'a [u64]) -> Result<Self> {
        if scale_bits == 0 || scale_bits > MAX_SCALE_BITS || dec.len() != 1usize << scale_bits {
            return Err(Error::InvalidParameter("decode table length must be 2^scale_bits"));
        }
        if enc.is_empty() || enc.len() > MAX_ALPHABET {
            return Err(Error::InvalidParameter("alphabet size must be in 1..=65536"));
        }
        let m = 1u64 << scale_bits;
        let mut cum = 0u64;
        for e in enc {
            if u64::from(e.cum) != cum || u64::from(e.freq) > m - cum || *e != EncSym::new(e.freq, e.cum, scale_bits) {
                return Err(Error::Corrupt("encoder constants inconsistent with the frequencies"));
            }
            cum += u64::from(e.freq);
        }
        if cum != m {
            return Err(Error::Corrupt("frequencies do not sum to 2^scale_bits"));
        }
        for (slot, &e) in dec.iter().enumerate() {
            let (s, bias, f) = unpack_slot(e);
            match enc.get(s as usize) {
                Some(es) if es.freq == f && f > 0 && bias < f && (es.cum + bias) as usize == slot => {}
                _ => return Err(Error::Corrupt("decode table inconsistent with frequencies")),
            }
        }
        Ok(ModelView { scale_bits, enc, dec, enc4: &[], dec32: &[], dec32_layout: (0, 0), cdec: &[], freqs: &[] })
    }

    /// A decode-only view over the compact 32-bit table filled by [`fill_compact_table`]
    /// (`freqs` the alphabet's frequencies, `dec` exactly `2^scale_bits` slots). It decodes with
    /// every coder of the module (single-state and interleaved rANS) exactly like a view over the wide
    /// tables of the same frequencies; it cannot encode ([`sym`](Self::sym) fails: it holds no
    /// encoder constants).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the lengths do not match the scale or alphabet limits;
    /// [`Error::Corrupt`] if the frequencies do not sum to `2^scale_bits` or a slot differs from
    /// what [`fill_compact_table`] writes (`O(k + 2^scale_bits)`).
    pub fn decoder(scale_bits: u32, freqs: &'a [u32], dec: &'a [u32]) -> Result<Self> {
        if scale_bits == 0 || scale_bits > MAX_SCALE_BITS || dec.len() != 1usize << scale_bits {
            return Err(Error::InvalidParameter("decode table length must be 2^scale_bits"));
        }
        check_model(freqs, scale_bits, MAX_SCALE_BITS, "decode table length must be 2^scale_bits")?;
        let mut slots = dec.iter();
        for (s, &f) in freqs.iter().enumerate() {
            for j in 0..f {
                if slots.next() != Some(&(s as u32 | j << 16)) {
                    return Err(Error::Corrupt("compact decode table inconsistent with frequencies"));
                }
            }
        }
        Ok(ModelView { scale_bits, enc: &[], dec: &[], enc4: &[], dec32: &[], dec32_layout: (0, 0), cdec: dec, freqs })
    }

    /// The storage [`restore_decoder_in`](Self::restore_decoder_in) needs for the model saved at
    /// the reader's position (reads without consuming).
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Corrupt`] for the scale or alphabet size fields.
    pub fn decoder_storage_len(r: &crate::format::Reader<'_>) -> Result<DecoderStorageLen> {
        let (n, k) = read_model_header(&mut r.clone())?;
        Ok(DecoderStorageLen { freqs: k, slots: 1 << n })
    }

    /// Reads a saved model's payload (as written inside [`Model::to_bytes`]) without an
    /// allocator into a decode-only compact view ([`decoder`](Self::decoder)): the frequencies
    /// go to the front of `freqs`, the compact table to the front of `slots` (sizes from
    /// [`decoder_storage_len`](Self::decoder_storage_len): `k` and `2^n` words). Same
    /// validation and errors as the owned reader for the same bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`]; [`Error::Corrupt`] for out-of-range fields or frequencies that do
    /// not sum to `2^n`; [`Error::BufferTooSmall`] if a storage slice is too short.
    pub fn restore_decoder_in(
        r: &mut crate::format::Reader<'_>,
        freqs: &'a mut [u32],
        slots: &'a mut [u32],
    ) -> Result<Self> {
        let (n, k) = read_model_header(r)?;
        let got = freqs.len();
        let freqs = freqs.get_mut(..k).ok_or(Error::BufferTooSmall { needed: k, got })?;
        read_model_freqs(r, n, freqs)?;
        let got = slots.len();
        let slots = slots.get_mut(..1 << n).ok_or(Error::BufferTooSmall { needed: 1 << n, got })?;
        fill_compact_table(freqs, n, slots).map_err(|e| match e {
            Error::InvalidParameter(_) => Error::Corrupt("model"),
            e => e,
        })?;
        let (freqs, slots): (&'a [u32], &'a [u32]) = (freqs, slots);
        Ok(ModelView {
            scale_bits: n,
            enc: &[],
            dec: &[],
            enc4: &[],
            dec32: &[],
            dec32_layout: (0, 0),
            cdec: slots,
            freqs,
        })
    }

    /// Parses a container written by [`Model::to_bytes`] (kind [`KIND_STATIC_MODEL`]) without
    /// an allocator into a decode-only compact view (see
    /// [`restore_decoder_in`](Self::restore_decoder_in)).
    ///
    /// # Errors
    /// Container errors, then as [`restore_decoder_in`](Self::restore_decoder_in) and
    /// [`Error::Corrupt`] for trailing bytes.
    pub fn decoder_from_bytes_in(bytes: &[u8], freqs: &'a mut [u32], slots: &'a mut [u32]) -> Result<Self> {
        let mut r = crate::format::open(bytes, KIND_STATIC_MODEL)?;
        let v = Self::restore_decoder_in(&mut r, freqs, slots)?;
        r.finish()?;
        Ok(v)
    }

    /// The decode table the decoders read.
    #[inline]
    pub(crate) fn slots(&self) -> Slots<'a> {
        if self.dec.is_empty() {
            Slots::Compact(CompactSlots { dec: self.cdec, freqs: self.freqs })
        } else {
            Slots::Wide(self.dec)
        }
    }

    /// The wide entry (`s | bias << 16 | f << 32`) of `slot` (taken modulo `2^n`), from
    /// whichever table the view holds.
    #[inline(always)]
    pub(crate) fn entry(&self, slot: usize) -> u64 {
        let mask = (1usize << self.scale_bits) - 1;
        match self.slots() {
            Slots::Wide(d) => d.entry(slot & mask),
            Slots::Compact(c) => c.entry(slot & mask),
        }
    }

    /// Whether this is a decode-only view over the compact 32-bit table
    /// ([`decoder`](Self::decoder)).
    #[inline]
    pub fn is_compact(&self) -> bool {
        self.dec.is_empty()
    }

    /// The compact decode table (`s | (slot − c_s) << 16` per slot) of a
    /// [`decoder`](Self::decoder) view; empty for views over the wide table.
    #[inline]
    pub fn compact_dec(&self) -> &'a [u32] {
        self.cdec
    }

    /// This view with the word coder's side tables (filled by [`fill_word_tables`]), which make
    /// the AVX2 word encoder (`enc4`) and the packed-table word decoder (`dec32`, may be empty
    /// when [`packed_dec_layout`] does not fit) available. Both are checked entry by entry
    /// against this model (`O(k + 2^n)`), so a view can never hold inconsistent tables.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the scale exceeds 15 or a length is wrong;
    /// [`Error::Corrupt`] if an entry differs from what [`fill_word_tables`] writes.
    pub fn with_word_tables(self, enc4: &'a [WordEncRecord], dec32: &'a [u32]) -> Result<Self> {
        if self.scale_bits > 15 || self.enc.is_empty() || enc4.len() != self.enc.len() {
            return Err(Error::InvalidParameter("word tables need scale_bits ≤ 15 and one record per symbol"));
        }
        for (e, r) in self.enc.iter().zip(enc4) {
            if *r != word_enc_record(e.freq, e.cum, self.scale_bits) {
                return Err(Error::Corrupt("word encoder record inconsistent with the model"));
            }
        }
        let mut layout = (0, 0);
        if !dec32.is_empty() {
            let mut fmax = 0u32;
            for e in self.enc {
                fmax = fmax.max(e.freq);
            }
            let k = self.enc.len() as u32;
            let (sb, fb) = (32 - (k - 1).leading_zeros(), 32 - fmax.saturating_sub(1).leading_zeros());
            if sb + 2 * fb > 32 || dec32.len() != self.dec.len() {
                return Err(Error::InvalidParameter("packed decode table does not fit this model"));
            }
            for (&d, &e) in dec32.iter().zip(self.dec) {
                let (s, bias, f) = unpack_slot(e);
                if d != u32::from(s) | bias << sb | (f - 1) << (sb + fb) {
                    return Err(Error::Corrupt("packed decode table inconsistent with the model"));
                }
            }
            layout = (sb, fb);
        }
        Ok(ModelView { enc4, dec32, dec32_layout: layout, ..self })
    }

    /// The word coder's encoder records (empty if the view has none).
    #[inline]
    pub(crate) fn word_enc(&self) -> &'a [WordEncRecord] {
        self.enc4
    }

    /// The packed decode table with its `(sym_bits, freq_bits)`, if the view has one.
    #[inline]
    pub(crate) fn packed_dec(&self) -> Option<(&'a [u32], u32, u32)> {
        (!self.dec32.is_empty()).then_some((self.dec32, self.dec32_layout.0, self.dec32_layout.1))
    }

    /// The scale `n` (`M = 2^n`).
    #[inline]
    pub fn scale_bits(&self) -> u32 {
        self.scale_bits
    }
    /// The alphabet size `k`.
    #[inline]
    pub fn alphabet_size(&self) -> usize {
        if self.enc.is_empty() { self.freqs.len() } else { self.enc.len() }
    }
    /// Encoder constants per symbol (empty for a decode-only [`decoder`](Self::decoder) view).
    #[inline]
    pub fn enc(&self) -> &'a [EncSym] {
        self.enc
    }
    /// Decode table of `2^n` packed slots (see [`unpack_slot`]); empty for a compact
    /// [`decoder`](Self::decoder) view (see [`compact_dec`](Self::compact_dec)).
    #[inline]
    pub fn dec(&self) -> &'a [u64] {
        self.dec
    }
    /// Frequency of `s` (0 if absent or out of range).
    #[inline]
    pub fn freq(&self, s: usize) -> u32 {
        if self.enc.is_empty() {
            self.freqs.get(s).copied().unwrap_or(0)
        } else {
            self.enc.get(s).map_or(0, |e| e.freq)
        }
    }
    /// Encoder constants of symbol `s`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `s` is outside the alphabet or has zero frequency (always
    /// for a decode-only [`decoder`](Self::decoder) view).
    #[inline]
    pub fn sym(&self, s: u16) -> Result<&'a EncSym> {
        match self.enc.get(s as usize) {
            Some(e) if e.freq > 0 => Ok(e),
            _ => Err(Error::InvalidParameter("symbol not in model (zero frequency)")),
        }
    }
    /// The ideal code length of `symbols` under this model: `Σ −log2(f_s / M)` bits
    /// (`+∞` if a symbol has zero frequency).
    pub fn cost_bits(&self, symbols: &[u16]) -> f64 {
        let n = f64::from(self.scale_bits);
        symbols
            .iter()
            .map(|&s| {
                let f = self.freq(s as usize);
                if f == 0 { f64::INFINITY } else { n - libm::log2(f64::from(f)) }
            })
            .sum()
    }
}

#[cfg(feature = "alloc")]
pub use owned::*;

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use crate::format;
    use alloc::collections::BinaryHeap;
    use alloc::vec;
    use alloc::vec::Vec;
    use core::cmp::Ordering;

    #[derive(PartialEq)]
    struct Key(f64, usize);
    impl Eq for Key {}
    impl PartialOrd for Key {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Key {
        fn cmp(&self, o: &Self) -> Ordering {
            self.0.total_cmp(&o.0).then(o.1.cmp(&self.1))
        }
    }

    /// Normalizes a histogram to frequencies summing exactly to `2^scale_bits`, keeping every
    /// symbol with a non-zero count at frequency ≥ 1 and choosing the rounding that minimises
    /// the code length `Σ count_s · −log2(f_s/M)` greedily (start from `max(1, ⌊count·M/total⌋)`,
    /// then move single units by largest gain / smallest loss). An all-zero histogram puts all
    /// mass on symbol 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a scale outside `1..=16`, an empty or oversized alphabet,
    /// or more present symbols than `2^scale_bits`.
    pub fn normalize(counts: &[u64], scale_bits: u32) -> Result<Vec<u32>> {
        if scale_bits == 0 || scale_bits > MAX_SCALE_BITS {
            return Err(Error::InvalidParameter("scale_bits must be in 1..=16"));
        }
        if counts.is_empty() || counts.len() > MAX_ALPHABET {
            return Err(Error::InvalidParameter("alphabet size must be in 1..=65536"));
        }
        let m = 1u64 << scale_bits;
        let total: u128 = counts.iter().map(|&c| u128::from(c)).sum();
        let mut f = vec![0u32; counts.len()];
        if total == 0 {
            f[0] = m as u32;
            return Ok(f);
        }
        let present = counts.iter().filter(|&&c| c > 0).count() as u64;
        if present > m {
            return Err(Error::InvalidParameter("more distinct symbols than 2^scale_bits"));
        }
        let mut sum = 0u64;
        for (fi, &c) in f.iter_mut().zip(counts) {
            if c > 0 {
                let q = (u128::from(c) * u128::from(m) / total) as u64;
                *fi = q.max(1) as u32;
                sum += u64::from(*fi);
            }
        }
        let cost = |c: u64, a: u32, b: u32| c as f64 * (libm::log2(f64::from(a)) - libm::log2(f64::from(b)));
        if sum < m {
            // Add units where the gain c·log2((f+1)/f) is largest.
            let mut heap: BinaryHeap<Key> = counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, &c)| Key(cost(c, f[i] + 1, f[i]), i))
                .collect();
            while sum < m {
                let Some(Key(_, i)) = heap.pop() else { break };
                f[i] += 1;
                sum += 1;
                heap.push(Key(cost(counts[i], f[i] + 1, f[i]), i));
            }
        } else if sum > m {
            // Remove units where the loss c·log2(f/(f−1)) is smallest (max-heap on −loss).
            let mut heap: BinaryHeap<Key> = counts
                .iter()
                .enumerate()
                .filter(|(i, c)| **c > 0 && f[*i] > 1)
                .map(|(i, &c)| Key(-cost(c, f[i], f[i] - 1), i))
                .collect();
            while sum > m {
                let Some(Key(_, i)) = heap.pop() else { break };
                f[i] -= 1;
                sum -= 1;
                if f[i] > 1 {
                    heap.push(Key(-cost(counts[i], f[i], f[i] - 1), i));
                }
            }
        }
        if sum != m {
            return Err(Error::InvalidParameter("cannot normalize histogram"));
        }
        Ok(f)
    }

    /// An owned static model (feature `alloc`): frequencies, encoder constants and the decode
    /// table. See [`ModelView`] for the coding cost.
    #[derive(Clone, Debug)]
    pub struct Model {
        scale_bits: u32,
        freqs: Vec<u32>,
        enc: Vec<EncSym>,
        dec: Vec<u64>,
        /// Word coder side tables (empty for `n > 15`; `dec32` empty when it does not fit).
        enc4: Vec<WordEncRecord>,
        dec32: Vec<u32>,
        dec32_layout: (u32, u32),
    }

    impl Model {
        /// A model from exact frequencies (sum `2^scale_bits`).
        ///
        /// # Errors
        /// As [`fill_tables`].
        pub fn from_freqs(freqs: &[u32], scale_bits: u32) -> Result<Self> {
            if scale_bits == 0 || scale_bits > MAX_SCALE_BITS {
                return Err(Error::InvalidParameter("scale_bits must be in 1..=16"));
            }
            if freqs.is_empty() || freqs.len() > MAX_ALPHABET {
                return Err(Error::InvalidParameter("alphabet size must be in 1..=65536"));
            }
            let mut enc = vec![EncSym::default(); freqs.len()];
            let mut dec = vec![0u64; 1 << scale_bits];
            fill_tables(freqs, scale_bits, &mut enc, &mut dec)?;
            let (mut enc4, mut dec32, mut dec32_layout) = (Vec::new(), Vec::new(), (0, 0));
            if scale_bits <= 15 {
                enc4 = vec![[0u32; 4]; freqs.len()];
                if packed_dec_layout(freqs).is_some() {
                    dec32 = vec![0u32; 1 << scale_bits];
                }
                dec32_layout = fill_word_tables(freqs, scale_bits, &mut enc4, &mut dec32)?.unwrap_or((0, 0));
            }
            Ok(Model { scale_bits, freqs: freqs.to_vec(), enc, dec, enc4, dec32, dec32_layout })
        }

        /// A model from a histogram (see [`normalize`]).
        ///
        /// # Errors
        /// As [`normalize`].
        pub fn from_counts(counts: &[u64], scale_bits: u32) -> Result<Self> {
            Self::from_freqs(&normalize(counts, scale_bits)?, scale_bits)
        }

        /// A model from the histogram of `symbols` over an alphabet of `alphabet` symbols.
        ///
        /// # Errors
        /// [`Error::InvalidParameter`] if a symbol is `≥ alphabet`; as [`normalize`].
        pub fn from_symbols(symbols: &[u16], alphabet: usize, scale_bits: u32) -> Result<Self> {
            if alphabet == 0 || alphabet > MAX_ALPHABET {
                return Err(Error::InvalidParameter("alphabet size must be in 1..=65536"));
            }
            let mut counts = vec![0u64; alphabet];
            for &s in symbols {
                *counts.get_mut(s as usize).ok_or(Error::InvalidParameter("symbol outside alphabet"))? += 1;
            }
            Self::from_counts(&counts, scale_bits)
        }

        /// The borrowed view the coders take.
        #[inline]
        pub fn view(&self) -> ModelView<'_> {
            ModelView {
                scale_bits: self.scale_bits,
                enc: &self.enc,
                dec: &self.dec,
                enc4: &self.enc4,
                dec32: &self.dec32,
                dec32_layout: self.dec32_layout,
                cdec: &[],
                freqs: &[],
            }
        }
        /// The frequencies.
        pub fn freqs(&self) -> &[u32] {
            &self.freqs
        }
        /// The scale `n`.
        pub fn scale_bits(&self) -> u32 {
            self.scale_bits
        }
        /// The alphabet size.
        pub fn alphabet_size(&self) -> usize {
            self.freqs.len()
        }

        /// Writes the frequencies as a payload (scale u8, alphabet u32, LEB128 frequencies).
        pub(crate) fn write_payload(&self, w: &mut format::Writer) {
            w.u8(self.scale_bits as u8).u32(self.freqs.len() as u32);
            for &f in &self.freqs {
                let mut v = f;
                loop {
                    let b = (v & 0x7f) as u8;
                    v >>= 7;
                    if v == 0 {
                        w.u8(b);
                        break;
                    }
                    w.u8(b | 0x80);
                }
            }
        }

        /// Reads a payload written by `write_payload`, validating every field (the no-heap
        /// reader's header and frequency parsing, then the owned tables).
        pub(crate) fn read_payload(r: &mut format::Reader<'_>) -> Result<Self> {
            let (n, k) = read_model_header(r)?;
            let mut freqs = vec![0u32; k];
            read_model_freqs(r, n, &mut freqs)?;
            Model::from_freqs(&freqs, n).map_err(|e| match e {
                Error::InvalidParameter(_) => Error::Corrupt("model"),
                e => e,
            })
        }

        /// Serializes into a [`format`] container of kind [`KIND_STATIC_MODEL`] (`0x0601`).
        ///
        /// # Errors
        /// Propagates the container writer's errors.
        pub fn to_bytes(&self) -> Result<Vec<u8>> {
            let mut w = format::Writer::new(KIND_STATIC_MODEL);
            self.write_payload(&mut w);
            w.finish()
        }

        /// Parses bytes written by [`to_bytes`](Model::to_bytes). Total on arbitrary input.
        ///
        /// # Errors
        /// Container errors ([`Error::BadMagic`], [`Error::Checksum`], …), [`Error::Truncated`],
        /// [`Error::Corrupt`] for frequencies that do not sum to `2^n` or out-of-range fields.
        pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
            let mut r = format::open(bytes, KIND_STATIC_MODEL)?;
            let m = Self::read_payload(&mut r)?;
            r.finish()?;
            Ok(m)
        }

        /// Serialized size in bytes (what [`to_bytes`](Model::to_bytes) returns).
        pub fn serialized_len(&self) -> usize {
            self.to_bytes().map_or(0, |b| b.len())
        }
    }
}
