//! Where the integers of a PVQ code go: fixed-length bit fields (`⌈log2 n⌉` bits for a value
//! in `[0, n)`) or the range coder (`log2 n` bits, so fractional rates are real).

use crate::entropy::range::{RangeDecoder, RangeEncoder, Reciprocal};
use crate::error::{Error, Result};

/// Bits of a fixed-length field holding a value in `[0, n)`: `⌈log2 n⌉`.
#[inline]
pub(crate) fn field_bits(n: u128) -> u32 {
    if n <= 1 { 0 } else { 128 - (n - 1).leading_zeros() }
}

/// Range-coder operations for a value in `[0, n)`: the top 8 bits, then 8-bit chunks.
#[inline]
pub(crate) fn coder_ops(n: u128) -> usize {
    if n <= 1 { 0 } else { 1 + (field_bits(n).saturating_sub(8) as usize).div_ceil(8) }
}

/// A sink for values `v ∈ [0, n)`.
pub(crate) trait Sink {
    fn put(&mut self, v: u128, n: u128) -> Result<()>;
}

/// A source of values `v ∈ [0, n)`; a value `≥ n` is [`Error::Corrupt`].
pub(crate) trait Source {
    fn get(&mut self, n: u128) -> Result<u128>;

    /// [`get`](Self::get) of `plan.n` with what does not depend on the stream precomputed.
    #[inline]
    fn get_plan(&mut self, plan: &Plan) -> Result<u128> {
        self.get(plan.n)
    }
}

/// A value range `[0, n)` prepared for the range decoder: the shift `sh` of its top symbol
/// and the exact reciprocal of the top symbol's total `((n − 1) >> sh) + 1`, so that
/// decoding needs no hardware division for it (same symbols, same decoder state).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Plan {
    n: u128,
    sh: u32,
    top: Reciprocal,
}

impl Plan {
    /// The plan of `[0, n)`.
    pub(crate) fn new(n: u128) -> Self {
        let max = n.saturating_sub(1);
        let ftb = 128 - max.leading_zeros();
        let sh = ftb.saturating_sub(8);
        Plan { n, sh, top: Reciprocal::new(((max >> sh) + 1) as u32) }
    }
}

/// LSB-first bit fields in a byte buffer.
pub(crate) struct BitWriter<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) pos: usize,
}

impl Sink for BitWriter<'_> {
    fn put(&mut self, v: u128, n: u128) -> Result<()> {
        let bits = field_bits(n) as usize;
        if v >= n.max(1) {
            return Err(Error::InvalidParameter("pvq: value out of range"));
        }
        if self.pos + bits > self.buf.len() * 8 {
            return Err(Error::BufferTooSmall { needed: (self.pos + bits).div_ceil(8), got: self.buf.len() });
        }
        let (mut put, mut p) = (0usize, self.pos);
        while put < bits {
            let take = (8 - p % 8).min(bits - put);
            let chunk = ((v >> put) as u8) & (((1u16 << take) - 1) as u8);
            self.buf[p / 8] |= chunk << (p % 8);
            put += take;
            p += take;
        }
        self.pos += bits;
        Ok(())
    }
}

/// Reads what [`BitWriter`] wrote.
pub(crate) struct BitReader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl Source for BitReader<'_> {
    fn get(&mut self, n: u128) -> Result<u128> {
        let bits = field_bits(n) as usize;
        if self.pos + bits > self.buf.len() * 8 {
            return Err(Error::Truncated);
        }
        let byte = self.pos / 8;
        if bits <= 56 && byte + 8 <= self.buf.len() {
            // Fast path: one unaligned little-endian 64-bit window.
            let mut w = [0u8; 8];
            w.copy_from_slice(&self.buf[byte..byte + 8]);
            let v = (u64::from_le_bytes(w) >> (self.pos % 8)) & ((1u64 << bits) - 1);
            self.pos += bits;
            let v = u128::from(v);
            return if v >= n.max(1) { Err(Error::Corrupt("pvq: value >= its range")) } else { Ok(v) };
        }
        let mut v: u128 = 0;
        let (mut got, mut p) = (0usize, self.pos);
        while got < bits {
            let take = (8 - p % 8).min(bits - got);
            let byte = u128::from(self.buf[p / 8] >> (p % 8)) & ((1u128 << take) - 1);
            v |= byte << got;
            got += take;
            p += take;
        }
        self.pos += bits;
        if v >= n.max(1) { Err(Error::Corrupt("pvq: value >= its range")) } else { Ok(v) }
    }
}

impl Sink for RangeEncoder<'_> {
    /// `v ∈ [0, n)` at `≈ log2 n` bits: the top 8 significant bits of `n − 1` with total
    /// `((n−1) >> sh) + 1`, then the low `sh` bits as range-coded 8-bit chunks (never raw bits,
    /// so the stream is one front-growing range code and zero padding after it is harmless).
    fn put(&mut self, v: u128, n: u128) -> Result<()> {
        if v >= n.max(1) {
            return Err(Error::InvalidParameter("pvq: value out of range"));
        }
        if n <= 1 {
            return Ok(());
        }
        let max = n - 1;
        let ftb = 128 - max.leading_zeros();
        let sh = ftb.saturating_sub(8);
        let ft = ((max >> sh) + 1) as u32;
        let top = (v >> sh) as u32;
        self.encode(top, top + 1, ft)?;
        let mut at = 0;
        while at < sh {
            let b = (sh - at).min(8);
            let c = ((v >> at) as u32) & ((1 << b) - 1);
            self.encode_bin(c, c + 1, b)?;
            at += b;
        }
        Ok(())
    }
}

impl Source for RangeDecoder<'_> {
    #[inline]
    fn get(&mut self, n: u128) -> Result<u128> {
        if n <= 1 {
            return Ok(0);
        }
        let max = n - 1;
        let ftb = 128 - max.leading_zeros();
        let sh = ftb.saturating_sub(8);
        let top = self.decode_uniform(((max >> sh) + 1) as u32);
        chunks(self, top, sh, max)
    }

    #[inline]
    fn get_plan(&mut self, plan: &Plan) -> Result<u128> {
        if plan.n <= 1 {
            return Ok(0);
        }
        let top = self.decode_recip(&plan.top);
        chunks(self, top, plan.sh, plan.n - 1)
    }
}

/// The low `sh` bits of a value whose top symbol was `top`, in range-coded chunks of 8 bits
/// (lowest first); a value above `max` is [`Error::Corrupt`].
#[inline(always)]
fn chunks(dec: &mut RangeDecoder<'_>, top: u32, sh: u32, max: u128) -> Result<u128> {
    let v = if sh <= 56 {
        // The chunks in a u64 (every index of a u64 table).
        let mut v = u64::from(top) << sh;
        let mut at = 0;
        while at < sh {
            let b = (sh - at).min(8);
            v |= u64::from(dec.decode_bits(b)) << at;
            at += b;
        }
        u128::from(v)
    } else {
        let mut v = u128::from(top) << sh;
        let mut at = 0;
        while at < sh {
            let b = (sh - at).min(8);
            v |= u128::from(dec.decode_bits(b)) << at;
            at += b;
        }
        v
    };
    if v > max { Err(Error::Corrupt("pvq: value >= its range")) } else { Ok(v) }
}
