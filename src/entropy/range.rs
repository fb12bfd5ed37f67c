//! A range coder in the style of Opus's `entenc.c`/`entdec.c` (SPECS §12), with adaptive
//! binary and multi-symbol models, raw bits and uniform integers up to 64 bits.
//!
//! Constants: 32-bit code values, `TOP = 2^31`, `BOT = 2^23`, byte output with carry
//! propagation (runs of `0xFF` are held back until the carry is known). Range-coded bytes grow
//! from the front of the buffer; raw bits ([`RangeEncoder::enc_bits`]) are packed LSB-first in
//! bytes that grow from the back, and [`RangeEncoder::finish`] moves them next to the range bytes,
//! so the stream is exactly as long as needed. [`RangeEncoder::tell`] /
//! [`RangeDecoder::tell`] return the number of whole bits used so far (`nbits_total −
//! ⌊log2 rng⌋ − 1`), equal on both sides after the same operations; a raw write of `b` bits
//! advances it by exactly `b`.
//!
//! The decoder never reads out of bounds (bytes beyond the stream read as 0, as in Opus), is
//! total on arbitrary bytes, and reports streams that were read past their end through
//! [`RangeDecoder::check`].

use crate::error::{Error, Result};

const CODE_BITS: u32 = 32;
const SYM_BITS: u32 = 8;
const TOP: u32 = 1 << (CODE_BITS - 1);
const BOT: u32 = TOP >> SYM_BITS;
const SHIFT: u32 = CODE_BITS - SYM_BITS - 1;
const EXTRA: u32 = (CODE_BITS - 2) % SYM_BITS + 1;
const MAX_FT: u32 = 1 << 16;

#[inline]
fn ilog(x: u32) -> u32 {
    32 - x.leading_zeros()
}

/// The range encoder, writing into a caller buffer (no allocator).
#[derive(Debug)]
pub struct RangeEncoder<'a> {
    buf: &'a mut [u8],
    offs: usize,
    end_offs: usize,
    end_window: u64,
    nend_bits: u32,
    nbits_total: u64,
    rng: u32,
    val: u32,
    rem: i32,
    ext: u32,
    overflow: bool,
}

impl<'a> RangeEncoder<'a> {
    /// An encoder over `buf` (its whole length is available to the stream).
    pub fn new(buf: &'a mut [u8]) -> Self {
        RangeEncoder {
            buf,
            offs: 0,
            end_offs: 0,
            end_window: 0,
            nend_bits: 0,
            nbits_total: u64::from(CODE_BITS) + 1,
            rng: TOP,
            val: 0,
            rem: -1,
            ext: 0,
            overflow: false,
        }
    }

    fn write_byte(&mut self, b: u32) {
        if self.offs + self.end_offs >= self.buf.len() {
            self.overflow = true;
            return;
        }
        self.buf[self.offs] = b as u8;
        self.offs += 1;
    }

    fn write_byte_at_end(&mut self, b: u32) {
        if self.offs + self.end_offs >= self.buf.len() {
            self.overflow = true;
            return;
        }
        self.end_offs += 1;
        let i = self.buf.len() - self.end_offs;
        self.buf[i] = b as u8;
    }

    fn carry_out(&mut self, c: u32) {
        if c != 0xFF {
            let carry = c >> SYM_BITS;
            if self.rem >= 0 {
                self.write_byte(self.rem as u32 + carry);
            }
            if self.ext > 0 {
                let sym = (0xFF + carry) & 0xFF;
                for _ in 0..self.ext {
                    self.write_byte(sym);
                }
                self.ext = 0;
            }
            self.rem = (c & 0xFF) as i32;
        } else {
            self.ext += 1;
        }
    }

    fn normalize(&mut self) {
        while self.rng <= BOT {
            self.carry_out(self.val >> SHIFT);
            self.val = (self.val << SYM_BITS) & (TOP - 1);
            self.rng <<= SYM_BITS;
            self.nbits_total += u64::from(SYM_BITS);
        }
    }

    /// Encodes the interval `[fl, fh)` of a total `ft` (`fl < fh ≤ ft ≤ 2^16`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty or out-of-range interval.
    pub fn encode(&mut self, fl: u32, fh: u32, ft: u32) -> Result<()> {
        if fl >= fh || fh > ft || ft > MAX_FT {
            return Err(Error::InvalidParameter("range coder interval"));
        }
        let r = self.rng / ft;
        if fl > 0 {
            self.val = self.val.wrapping_add(self.rng - r * (ft - fl));
            self.rng = r * (fh - fl);
        } else {
            self.rng -= r * (ft - fh);
        }
        self.normalize();
        Ok(())
    }

    /// Encodes `[fl, fh)` of a total `2^bits` (`bits ≤ 16`), using a shift for the division.
    ///
    /// # Errors
    /// As [`encode`](Self::encode).
    pub fn encode_bin(&mut self, fl: u32, fh: u32, bits: u32) -> Result<()> {
        if bits > 16 || fl >= fh || fh > 1 << bits {
            return Err(Error::InvalidParameter("range coder interval"));
        }
        let ft = 1u32 << bits;
        let r = self.rng >> bits;
        if fl > 0 {
            self.val = self.val.wrapping_add(self.rng - r * (ft - fl));
            self.rng = r * (fh - fl);
        } else {
            self.rng -= r * (ft - fh);
        }
        self.normalize();
        Ok(())
    }

    /// Encodes one bit whose probability of being 1 is `2^−logp` (`1 ≤ logp ≤ 15`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `logp` outside `1..=15`.
    pub fn enc_bit_logp(&mut self, bit: bool, logp: u32) -> Result<()> {
        if !(1..=15).contains(&logp) {
            return Err(Error::InvalidParameter("logp"));
        }
        let s = self.rng >> logp;
        let r = self.rng - s;
        if bit {
            self.val = self.val.wrapping_add(r);
        }
        self.rng = if bit { s } else { r };
        self.normalize();
        Ok(())
    }

    /// Writes the low `bits` bits of `v` raw (`bits ≤ 32`); [`tell`](Self::tell) advances by
    /// exactly `bits`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `bits > 32`.
    pub fn enc_bits(&mut self, v: u32, bits: u32) -> Result<()> {
        if bits > 32 {
            return Err(Error::InvalidParameter("raw bit count > 32"));
        }
        if bits == 0 {
            return Ok(());
        }
        let v = u64::from(v) & ((1u64 << bits) - 1);
        self.end_window |= v << self.nend_bits;
        self.nend_bits += bits;
        while self.nend_bits >= 8 {
            self.write_byte_at_end((self.end_window & 0xFF) as u32);
            self.end_window >>= 8;
            self.nend_bits -= 8;
        }
        self.nbits_total += u64::from(bits);
        Ok(())
    }

    /// Encodes `v ∈ [0, max]` uniformly (`max ≥ 1`, any `u64`): the top 8 significant bits of
    /// `max` are range coded and the rest are written raw (Opus `ec_enc_uint`). Costs
    /// `≈ log2(max + 1)` bits.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `max == 0` or `v > max`.
    pub fn enc_uint_max(&mut self, v: u64, max: u64) -> Result<()> {
        if max == 0 || v > max {
            return Err(Error::InvalidParameter("uniform integer out of range"));
        }
        let ftb = 64 - max.leading_zeros();
        if ftb > 8 {
            let sh = ftb - 8;
            let ft1 = ((max >> sh) + 1) as u32;
            let fl1 = (v >> sh) as u32;
            self.encode(fl1, fl1 + 1, ft1)?;
            let low = v & ((1u64 << sh) - 1);
            if sh > 32 {
                self.enc_bits(low as u32, 32)?;
                self.enc_bits((low >> 32) as u32, sh - 32)
            } else {
                self.enc_bits(low as u32, sh)
            }
        } else {
            self.encode(v as u32, v as u32 + 1, max as u32 + 1)
        }
    }

    /// Encodes `v ∈ [0, ft)` uniformly (`ft ≥ 2`). See [`enc_uint_max`](Self::enc_uint_max)
    /// for the full 64-bit range.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `ft < 2` or `v ≥ ft`.
    pub fn enc_uint(&mut self, v: u64, ft: u64) -> Result<()> {
        if ft < 2 {
            return Err(Error::InvalidParameter("uniform integer range < 2"));
        }
        self.enc_uint_max(v, ft - 1)
    }

    /// Encodes a symbol with an adaptive multi-symbol model and updates the model.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `s` is outside the model's alphabet.
    pub fn enc_adaptive<const N: usize>(&mut self, model: &mut AdaptiveFreq<N>, s: usize) -> Result<()> {
        let (fl, fh) = model.interval(s)?;
        self.encode(fl, fh, model.total())?;
        model.update(s);
        Ok(())
    }

    /// Encodes a bit with an adaptive binary model and updates the model.
    ///
    /// # Errors
    /// Never in practice (the model keeps both probabilities in range).
    pub fn enc_adaptive_bit(&mut self, model: &mut AdaptiveBit, bit: bool) -> Result<()> {
        let p0 = u32::from(model.p0);
        if bit {
            self.encode_bin(p0, 1 << 15, 15)?
        } else {
            self.encode_bin(0, p0, 15)?
        }
        model.update(bit);
        Ok(())
    }

    /// Bits used so far, rounded up to whole bits (Opus `ec_tell`).
    pub fn tell(&self) -> u64 {
        self.nbits_total - u64::from(ilog(self.rng))
    }

    /// Flushes the minimum number of bytes so that any continuation decodes correctly, moves the
    /// raw-bit bytes next to the range bytes and returns the stream length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if the buffer overflowed at any point.
    pub fn finish(mut self) -> Result<usize> {
        let mut l = CODE_BITS as i32 - ilog(self.rng) as i32;
        let mut msk: u64 = u64::from(TOP - 1) >> l;
        let val = u64::from(self.val);
        let rng = u64::from(self.rng);
        let mut end = (val + msk) & !msk;
        if (end | msk) >= val + rng {
            l += 1;
            msk >>= 1;
            end = (val + msk) & !msk;
        }
        while l > 0 {
            self.carry_out((end >> SHIFT) as u32);
            end = (end << SYM_BITS) & u64::from(TOP - 1);
            l -= SYM_BITS as i32;
        }
        if self.rem >= 0 || self.ext > 0 {
            self.carry_out(0);
        }
        if self.nend_bits > 0 {
            self.write_byte_at_end((self.end_window & 0xFF) as u32);
            self.nend_bits = 0;
        }
        if self.overflow {
            return Err(Error::BufferTooSmall { needed: self.buf.len() + 1, got: self.buf.len() });
        }
        let len = self.buf.len();
        self.buf.copy_within(len - self.end_offs.., self.offs);
        Ok(self.offs + self.end_offs)
    }
}

/// The range decoder over a byte slice (no allocator; total on arbitrary bytes).
#[derive(Clone, Debug)]
pub struct RangeDecoder<'a> {
    buf: &'a [u8],
    offs: usize,
    end_offs: usize,
    end_window: u64,
    nend_bits: u32,
    nbits_total: u64,
    rng: u32,
    val: u32,
    rem: u32,
    ext: u32,
    /// The divisor `E` whose reciprocal [`div_magic`](Self::div_magic) holds (0: none yet).
    div: u32,
    /// `E.leading_zeros()`.
    div_lz: u32,
    /// `⌈2^64 / E⌉` ([`Reciprocal`]'s magic for `E`).
    div_magic: u64,
}

/// The exact reciprocal of a divisor `d ∈ [2, 2^32)` for 32-bit numerators:
/// `m = ⌈2^64 / d⌉`, and `⌊n / d⌋ = ⌊m·n / 2^64⌋` for every `n < 2^32` (Lemire, Kaser and Kurz,
/// "Faster remainder by direct computation", 2019, Theorem 1 with `F = 64 ≥ N + log2 d`).
/// Tested exhaustively on divisor ranges and at the edges in the module's tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reciprocal {
    d: u32,
    m: u64,
}

impl Reciprocal {
    /// The reciprocal of `d`, clamped to `2..` (`d < 2` gives the reciprocal of 2).
    #[inline]
    pub fn new(d: u32) -> Self {
        let d = d.max(2);
        // u64::MAX / d + 1 = ⌈2^64 / d⌉ for d ≥ 2 that is not a power of two, and 2^64/d
        // (also the ceiling) for a power of two.
        Reciprocal { d, m: magic(d) }
    }

    /// The divisor.
    #[inline]
    pub fn divisor(&self) -> u32 {
        self.d
    }

    /// `⌊n / d⌋`, exactly, with one multiplication.
    #[inline(always)]
    pub fn div(&self, n: u32) -> u32 {
        mul_hi(self.m, n)
    }
}

/// `⌈2^64 / d⌉` for `d ≥ 2`.
#[inline(always)]
fn magic(d: u32) -> u64 {
    u64::MAX / u64::from(d) + 1
}

/// `⌊m·n / 2^64⌋`.
#[inline(always)]
fn mul_hi(m: u64, n: u32) -> u32 {
    ((u128::from(m) * u128::from(n)) >> 64) as u32
}

impl<'a> RangeDecoder<'a> {
    /// A decoder over a stream produced by [`RangeEncoder::finish`].
    pub fn new(buf: &'a [u8]) -> Self {
        let mut d = RangeDecoder {
            buf,
            offs: 0,
            end_offs: 0,
            end_window: 0,
            nend_bits: 0,
            nbits_total: u64::from(CODE_BITS + 1 - ((CODE_BITS - EXTRA) / SYM_BITS) * SYM_BITS),
            rng: 1 << EXTRA,
            val: 0,
            rem: 0,
            ext: 0,
            div: 0,
            div_lz: 32,
            div_magic: 0,
        };
        d.rem = d.read_byte();
        d.val = d.rng - 1 - (d.rem >> (SYM_BITS - EXTRA));
        d.normalize();
        d
    }

    fn read_byte(&mut self) -> u32 {
        if self.offs < self.buf.len() {
            let b = self.buf[self.offs];
            self.offs += 1;
            u32::from(b)
        } else {
            0
        }
    }

    fn read_byte_from_end(&mut self) -> u32 {
        if self.end_offs < self.buf.len() {
            self.end_offs += 1;
            u32::from(self.buf[self.buf.len() - self.end_offs])
        } else {
            0
        }
    }

    fn normalize(&mut self) {
        while self.rng <= BOT {
            self.nbits_total += u64::from(SYM_BITS);
            self.rng <<= SYM_BITS;
            let sym = self.rem;
            self.rem = self.read_byte();
            let sym = ((sym << SYM_BITS) | self.rem) >> (SYM_BITS - EXTRA);
            self.val = ((self.val << SYM_BITS).wrapping_add(0xFF & !sym)) & (TOP - 1);
        }
    }

    /// Returns the cumulative frequency `∈ [0, ft)` of the next symbol; follow with
    /// [`update`](Self::update) with the interval containing it (`2 ≤ ft ≤ 2^16`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `ft` outside `1..=2^16`.
    pub fn decode(&mut self, ft: u32) -> Result<u32> {
        if ft == 0 || ft > MAX_FT {
            return Err(Error::InvalidParameter("range coder total"));
        }
        self.ext = self.rng / ft;
        let s = self.val / self.ext;
        Ok(ft - (s + 1).min(ft))
    }

    /// As [`decode`](Self::decode) for a total of `2^bits` (`bits ≤ 16`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `bits > 16`.
    pub fn decode_bin(&mut self, bits: u32) -> Result<u32> {
        if bits > 16 {
            return Err(Error::InvalidParameter("range coder total"));
        }
        self.ext = self.rng >> bits;
        let s = self.val / self.ext;
        let ft = 1u32 << bits;
        Ok(ft - (s + 1).min(ft))
    }

    /// Decodes a uniform symbol `c ∈ [0, ft)` written with `encode(c, c + 1, ft)` and removes
    /// it: [`decode`](Self::decode) and [`update`](Self::update) in one step, which cannot fail
    /// (the interval is the decoded one; `val < rng` is kept). `ft` is clamped to `1..=2^16`.
    ///
    /// No hardware division for a power-of-two `ft`; otherwise one for `rng / ft` (see
    /// [`decode_recip`](Self::decode_recip) for none). The quotient `val / ext` is exact
    /// either way: the decoder keeps the reciprocal ([`Reciprocal`]) of the last divisor it
    /// met and reuses it when `ext` is that divisor times a power of two (the uniform 8-bit
    /// chunks of one value), one division otherwise. The same for
    /// [`decode_bits`](Self::decode_bits).
    #[inline]
    pub fn decode_uniform(&mut self, ft: u32) -> u32 {
        let ft = ft.clamp(1, MAX_FT);
        if ft.is_power_of_two() {
            return self.decode_bits(ft.trailing_zeros());
        }
        let ext = self.rng / ft;
        self.take_uniform(ext, ft)
    }

    /// [`decode_uniform`](Self::decode_uniform) with `ft = r.divisor()` (clamped to `2^16`),
    /// computing `rng / ft` with `r`'s multiplication: the same symbol and the same decoder
    /// state, without a hardware division for the total.
    #[inline]
    pub fn decode_recip(&mut self, r: &Reciprocal) -> u32 {
        if r.d > MAX_FT {
            return self.decode_uniform(MAX_FT);
        }
        let ext = r.div(self.rng);
        self.take_uniform(ext, r.d)
    }

    /// [`decode_uniform`](Self::decode_uniform) for `ft = 2^bits` (written with
    /// `encode_bin(c, c + 1, bits)`); `bits` is clamped to `0..=16`.
    #[inline]
    pub fn decode_bits(&mut self, bits: u32) -> u32 {
        let bits = bits.min(16);
        let ext = self.rng >> bits;
        self.take_uniform(ext, 1 << bits)
    }

    /// `⌊val / ext⌋`, exactly. The decoder keeps the reciprocal of the last divisor `E` it
    /// computed; when `ext = E·2^k` (what the uniform chunks of one value give: after a
    /// symbol of a power-of-two total, `rng` is `ext` shifted back up, so the next `ext` is
    /// `E` times a power of two) the quotient is `⌊⌊val/E⌋ / 2^k⌋` = one multiplication and
    /// a shift. Otherwise one 64-bit division makes the new reciprocal.
    #[inline(always)]
    fn quotient(&mut self, ext: u32) -> u32 {
        let k = self.div_lz.wrapping_sub(ext.leading_zeros());
        if k < 32 && self.div << k == ext {
            return mul_hi(self.div_magic, self.val) >> k;
        }
        if ext < 2 {
            return self.val;
        }
        // The quotient by a 32-bit division; the reciprocal for the next divisors beside it
        // (off the decoder's dependency chain).
        self.div = ext;
        self.div_lz = ext.leading_zeros();
        self.div_magic = magic(ext);
        self.val / ext
    }

    /// `c = ft − min(val/ext + 1, ft)`, then the update for `[c, c + 1)`.
    #[inline(always)]
    fn take_uniform(&mut self, ext: u32, ft: u32) -> u32 {
        // rng > 2^23 ≥ ft after normalization, so ext ≥ 1.
        let ext = ext.max(1);
        let t = (self.quotient(ext) + 1).min(ft);
        let c = ft - t;
        let s = ext.wrapping_mul(t - 1);
        self.val = self.val.wrapping_sub(s);
        self.rng = if c > 0 { ext } else { self.rng.wrapping_sub(s) };
        self.ext = ext;
        self.normalize();
        c
    }

    /// Removes the interval `[fl, fh)` of total `ft` that [`decode`](Self::decode) pointed into.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an interval that is empty or beyond `ft`.
    pub fn update(&mut self, fl: u32, fh: u32, ft: u32) -> Result<()> {
        if fl >= fh || fh > ft {
            return Err(Error::InvalidParameter("range coder interval"));
        }
        let s = self.ext.wrapping_mul(ft - fh);
        self.val = self.val.wrapping_sub(s);
        self.rng = if fl > 0 { self.ext.wrapping_mul(fh - fl) } else { self.rng.wrapping_sub(s) };
        if self.rng == 0 || self.val >= self.rng {
            // Only reachable when the caller's interval does not contain the decoded value.
            self.rng = self.rng.max(1);
            self.val %= self.rng;
            self.normalize();
            return Err(Error::Corrupt("range decoder interval does not contain the value"));
        }
        self.normalize();
        Ok(())
    }

    /// Decodes a bit of probability `2^−logp` of being 1.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `logp` outside `1..=15`.
    pub fn dec_bit_logp(&mut self, logp: u32) -> Result<bool> {
        if !(1..=15).contains(&logp) {
            return Err(Error::InvalidParameter("logp"));
        }
        let r = self.rng;
        let d = self.val;
        let s = r >> logp;
        let bit = d < s;
        if !bit {
            self.val = d - s;
        }
        self.rng = if bit { s } else { r - s };
        self.normalize();
        Ok(bit)
    }

    /// Reads `bits ≤ 32` raw bits.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `bits > 32`.
    pub fn dec_bits(&mut self, bits: u32) -> Result<u32> {
        if bits > 32 {
            return Err(Error::InvalidParameter("raw bit count > 32"));
        }
        if bits == 0 {
            return Ok(0);
        }
        while self.nend_bits < bits {
            self.end_window |= u64::from(self.read_byte_from_end()) << self.nend_bits;
            self.nend_bits += 8;
        }
        let v = (self.end_window & ((1u64 << bits) - 1)) as u32;
        self.end_window >>= bits;
        self.nend_bits -= bits;
        self.nbits_total += u64::from(bits);
        Ok(v)
    }

    /// Decodes `v ∈ [0, max]` written by [`RangeEncoder::enc_uint_max`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `max == 0`; [`Error::Corrupt`] if the reconstructed value
    /// exceeds `max` (corrupt stream).
    pub fn dec_uint_max(&mut self, max: u64) -> Result<u64> {
        if max == 0 {
            return Err(Error::InvalidParameter("uniform integer range < 2"));
        }
        let ftb = 64 - max.leading_zeros();
        if ftb > 8 {
            let sh = ftb - 8;
            let ft1 = ((max >> sh) + 1) as u32;
            let s = self.decode(ft1)?;
            self.update(s, s + 1, ft1)?;
            let low = if sh > 32 {
                let a = u64::from(self.dec_bits(32)?);
                a | (u64::from(self.dec_bits(sh - 32)?) << 32)
            } else {
                u64::from(self.dec_bits(sh)?)
            };
            let t = (u64::from(s) << sh) | low;
            if t > max { Err(Error::Corrupt("uniform integer out of range")) } else { Ok(t) }
        } else {
            let ft = max as u32 + 1;
            let s = self.decode(ft)?;
            self.update(s, s + 1, ft)?;
            Ok(u64::from(s))
        }
    }

    /// Decodes `v ∈ [0, ft)` written by [`RangeEncoder::enc_uint`].
    ///
    /// # Errors
    /// As [`dec_uint_max`](Self::dec_uint_max); [`Error::InvalidParameter`] if `ft < 2`.
    pub fn dec_uint(&mut self, ft: u64) -> Result<u64> {
        if ft < 2 {
            return Err(Error::InvalidParameter("uniform integer range < 2"));
        }
        self.dec_uint_max(ft - 1)
    }

    /// Decodes a symbol with an adaptive multi-symbol model and updates the model.
    ///
    /// # Errors
    /// Propagates [`update`](Self::update) errors (not reachable with a consistent model).
    pub fn dec_adaptive<const N: usize>(&mut self, model: &mut AdaptiveFreq<N>) -> Result<usize> {
        let v = self.decode(model.total())?;
        let s = model.find(v);
        let (fl, fh) = model.interval(s)?;
        self.update(fl, fh, model.total())?;
        model.update(s);
        Ok(s)
    }

    /// Decodes a bit with an adaptive binary model and updates the model.
    ///
    /// # Errors
    /// Propagates [`update`](Self::update) errors (not reachable with a consistent model).
    pub fn dec_adaptive_bit(&mut self, model: &mut AdaptiveBit) -> Result<bool> {
        let p0 = u32::from(model.p0);
        let v = self.decode_bin(15)?;
        let bit = v >= p0;
        let ft = 1 << 15;
        if bit {
            self.ext = self.rng >> 15;
            self.update(p0, ft, ft)?;
        } else {
            self.ext = self.rng >> 15;
            self.update(0, p0, ft)?;
        }
        model.update(bit);
        Ok(bit)
    }

    /// Bits consumed so far, rounded up (equals the encoder's [`RangeEncoder::tell`] at the same
    /// point).
    pub fn tell(&self) -> u64 {
        self.nbits_total - u64::from(ilog(self.rng))
    }

    /// Checks that the decoder has not consumed more bits than the stream holds.
    ///
    /// # Errors
    /// [`Error::Truncated`] if [`tell`](Self::tell) exceeds `8 · len + 1` (`tell` is rounded up
    /// and may exceed the flushed length by one bit on a valid stream).
    pub fn check(&self) -> Result<()> {
        if self.tell() > 8 * self.buf.len() as u64 + 1 { Err(Error::Truncated) } else { Ok(()) }
    }
}

/// An adaptive binary model: `P(0) = p0 / 2^15`, moved towards the coded bit by `1/2^rate`
/// after each bit (exponential forgetting; `p0` stays in `[32, 2^15 − 32]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveBit {
    p0: u16,
    rate: u8,
}

impl AdaptiveBit {
    /// A model at `P(0) = 1/2` with adaptation rate `rate ∈ 1..=8` (clamped; 4–5 is typical).
    pub fn new(rate: u8) -> Self {
        AdaptiveBit { p0: 1 << 14, rate: rate.clamp(1, 8) }
    }
    /// `P(0)` in units of `2^−15`.
    pub fn p0(&self) -> u16 {
        self.p0
    }
    fn update(&mut self, bit: bool) {
        let p = i32::from(self.p0);
        let target = if bit { 0 } else { 1 << 15 };
        let np = p + ((target - p) >> self.rate);
        self.p0 = np.clamp(32, (1 << 15) - 32) as u16;
    }
}

/// An adaptive multi-symbol frequency model over `N ≤ 256` symbols for context modelling:
/// counts start at 1, each coded symbol adds `increment`, and all counts are halved (kept
/// ≥ 1) when the total would exceed `limit < 2^16`. Symbol search is linear (small alphabets).
#[derive(Clone, Debug)]
pub struct AdaptiveFreq<const N: usize> {
    freq: [u16; N],
    total: u32,
    increment: u16,
    limit: u32,
}

impl<const N: usize> AdaptiveFreq<N> {
    /// A uniform model with the given `increment` (e.g. 24) and `limit` (e.g. `2^13`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `N ∉ 1..=256`, `increment == 0` or
    /// `limit ∉ [N + increment, 2^16 − 1]`.
    pub fn new(increment: u16, limit: u32) -> Result<Self> {
        if N == 0 || N > 256 || increment == 0 || limit >= MAX_FT || limit < N as u32 + u32::from(increment) {
            return Err(Error::InvalidParameter("adaptive model parameters"));
        }
        Ok(AdaptiveFreq { freq: [1; N], total: N as u32, increment, limit })
    }
    /// The current total frequency.
    pub fn total(&self) -> u32 {
        self.total
    }
    /// The interval `[fl, fh)` of `s`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `s ≥ N`.
    pub fn interval(&self, s: usize) -> Result<(u32, u32)> {
        let f = *self.freq.get(s).ok_or(Error::InvalidParameter("symbol outside adaptive model"))?;
        let fl: u32 = self.freq[..s].iter().map(|&f| u32::from(f)).sum();
        Ok((fl, fl + u32::from(f)))
    }
    fn find(&self, v: u32) -> usize {
        let mut acc = 0u32;
        for (s, &f) in self.freq.iter().enumerate() {
            acc += u32::from(f);
            if v < acc {
                return s;
            }
        }
        N - 1
    }
    fn update(&mut self, s: usize) {
        while self.total + u32::from(self.increment) > self.limit {
            let mut t = 0;
            for f in self.freq.iter_mut() {
                *f = (*f).div_ceil(2);
                t += u32::from(*f);
            }
            self.total = t;
        }
        if let Some(f) = self.freq.get_mut(s) {
            *f += self.increment;
            self.total += u32::from(self.increment);
        }
    }
}
