//! Lossless compression of bf16, f16 and f32 tensors (bit-exact).
//!
//! Each value `sign | exponent (E bits) | mantissa (M bits)` is split into
//! * a **symbol** `exponent · 2^k + (top k mantissa bits)` (alphabet `2^(E+k)`), entropy coded
//!   with one static rANS model per tensor (scale `≤ 15`) and the [interleaved rANS
//!   coder](super::word); coding the top mantissa bits jointly with the exponent
//!   captures their dependence (within a binade, a bell-shaped density makes small mantissas more
//!   likely), which the plain "exponent only" split cannot;
//! * a **raw** field `sign · 2^(M−k) + low (M−k) mantissa bits`, stored packed LSB-first at
//!   `1 + M − k` bits per value.
//!
//! Values are grouped in independently decodable blocks (random access by block), each holding
//! its raw bits and its own rANS stream. `k = 0` is the plain split.
//!
//! # Format (little-endian)
//! `"VCLF"`, version `u8` (2; the only version: blocks use the [interleaved rANS
//! coder](super::word) with 16-bit words), kind `u8` (0 bf16, 1 f16, 2 f32), `k u8`, lanes `u8`,
//! `n u64` values, `block_len u32`, the model (scale `u8` `≤ 15`, alphabet `u32`, LEB128 frequencies),
//! then one `u32` end offset per block (relative to the data area), then the blocks
//! (`⌈nb·(1+M−k)/8⌉` raw bytes, then the rANS stream).
//!
//! Size: `Σ −log2 p(symbol) + n·(1+M−k)` bits + per block `4·lanes + 4` bytes + the model.
//!
//! Decoding runs block by block: the symbols of a block are decoded into a block-sized scratch
//! (≤ 128 KiB at the default block, cache resident) and joined with the raw bits straight into
//! the output.

// Without `alloc`: decoding through `LosslessView` (caller storage); compression needs `alloc`.
#![cfg_attr(not(feature = "alloc"), allow(dead_code, unused_imports))]

use super::model::ModelView;
use super::word::{self, Lanes};
use crate::error::{Error, Result};

/// Float formats handled losslessly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatKind {
    /// bfloat16: 1 sign, 8 exponent, 7 mantissa bits (values as `u16` bit patterns).
    Bf16,
    /// IEEE binary16: 1/5/10 (values as `u16` bit patterns).
    F16,
    /// IEEE binary32: 1/8/23 (values as `u32` bit patterns or `f32`).
    F32,
}

impl FloatKind {
    /// `(exponent bits, mantissa bits)`.
    pub const fn fields(self) -> (u32, u32) {
        match self {
            FloatKind::Bf16 => (8, 7),
            FloatKind::F16 => (5, 10),
            FloatKind::F32 => (8, 23),
        }
    }
    fn tag(self) -> u8 {
        match self {
            FloatKind::Bf16 => 0,
            FloatKind::F16 => 1,
            FloatKind::F32 => 2,
        }
    }
    fn from_tag(t: u8) -> Result<Self> {
        match t {
            0 => Ok(FloatKind::Bf16),
            1 => Ok(FloatKind::F16),
            2 => Ok(FloatKind::F32),
            _ => Err(Error::Corrupt("lossless float kind")),
        }
    }
    /// Largest allowed number `k` of mantissa bits coded with the exponent.
    pub const fn max_top_bits(self) -> u32 {
        let (e, m) = self.fields();
        let a = 16 - e;
        if a < m { a } else { m }
    }
}

/// Compression settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LosslessConfig {
    /// Values per independently decodable block (`1..=2^20`; default 65,536).
    pub block_len: usize,
    /// Mantissa bits `k` coded jointly with the exponent (default 2; 0 = plain split). An upper
    /// bound: compression codes one bit fewer (and says so in the header) when more than
    /// `2^15` distinct symbols occur, the most a scale-15 model can hold.
    pub top_bits: u32,
    /// Model scale `n` (`M = 2^n`, `1..=15`, larger values count as 15; default 14). Raised to
    /// 15 when more distinct symbols occur than `2^n`.
    pub scale_bits: u32,
    /// Interleaved lanes (default 32: the AVX2 decoder keeps four 8-lane vectors in flight;
    /// costs 96 more bytes per block than 8 lanes, ≈ 0.012 bits per value at the default block).
    pub lanes: Lanes,
}

impl Default for LosslessConfig {
    fn default() -> Self {
        LosslessConfig { block_len: 1 << 16, top_bits: 2, scale_bits: 14, lanes: Lanes::L32 }
    }
}

const MAGIC: [u8; 4] = *b"VCLF";
/// The stream version (2: the interleaved rANS coder with 16-bit words; version 1, a 64-bit
/// coder, is gone).
const VERSION: u8 = 2;
const MAX_BLOCK: usize = 1 << 20;

#[derive(Clone, Copy, Debug)]
struct Split {
    e: u32,
    m: u32,
    k: u32,
    raw_w: u32,
}

impl Split {
    fn new(kind: FloatKind, k: u32) -> Result<Self> {
        let (e, m) = kind.fields();
        if k > kind.max_top_bits() {
            return Err(Error::InvalidParameter("top_bits too large for this float kind"));
        }
        Ok(Split { e, m, k, raw_w: 1 + m - k })
    }
    #[inline(always)]
    fn split(&self, v: u32) -> (u16, u32) {
        let low = self.m - self.k;
        let sym = ((v >> low) & ((1 << (self.e + self.k)) - 1)) as u16;
        let raw = ((v >> (self.e + self.m)) << low) | (v & ((1 << low) - 1));
        (sym, raw & ((1 << self.raw_w) - 1))
    }
    #[inline(always)]
    fn join(&self, sym: u16, raw: u32) -> u32 {
        let low = self.m - self.k;
        ((raw >> low) << (self.e + self.m)) | (u32::from(sym) << low) | (raw & ((1 << low) - 1))
    }
    fn alphabet(&self) -> usize {
        1 << (self.e + self.k)
    }
    fn raw_bytes(&self, n: usize) -> usize {
        (n * self.raw_w as usize).div_ceil(8)
    }
}

/// A word type holding float bit patterns (`u16` for bf16/f16, `u32` for f32).
pub trait FloatBits: Copy + Default {
    /// The bit pattern, zero-extended.
    fn to_bits32(self) -> u32;
    /// From a bit pattern (truncating).
    fn from_bits32(v: u32) -> Self;
    /// Whether `kind` uses this word type.
    fn fits(kind: FloatKind) -> bool;
    /// The slice as `u16` words if this is the 16-bit word type (lets the decoder use a
    /// 16-bit SIMD join); `None` by default.
    fn as_u16_mut(s: &mut [Self]) -> Option<&mut [u16]> {
        let _ = s;
        None
    }
}
impl FloatBits for u16 {
    #[inline(always)]
    fn to_bits32(self) -> u32 {
        u32::from(self)
    }
    #[inline(always)]
    fn from_bits32(v: u32) -> Self {
        v as u16
    }
    fn fits(kind: FloatKind) -> bool {
        kind != FloatKind::F32
    }
    fn as_u16_mut(s: &mut [Self]) -> Option<&mut [u16]> {
        Some(s)
    }
}
impl FloatBits for u32 {
    #[inline(always)]
    fn to_bits32(self) -> u32 {
        self
    }
    #[inline(always)]
    fn from_bits32(v: u32) -> Self {
        v
    }
    fn fits(kind: FloatKind) -> bool {
        kind == FloatKind::F32
    }
}

/// Packs `w`-bit values LSB-first (w ≤ 24).
fn pack_raw(split: &Split, vals: impl Iterator<Item = u32>, out: &mut [u8]) {
    let w = split.raw_w;
    let mut acc: u64 = 0;
    let mut nb = 0u32;
    let mut pos = 0usize;
    for v in vals {
        acc |= u64::from(v) << nb;
        nb += w;
        while nb >= 8 {
            if let Some(o) = out.get_mut(pos) {
                *o = acc as u8;
            }
            pos += 1;
            acc >>= 8;
            nb -= 8;
        }
    }
    if nb > 0
        && let Some(o) = out.get_mut(pos)
    {
        *o = acc as u8;
    }
}

/// The arch join for 16-bit kinds with 6 raw bits (bf16 `k = 2`, f16 `k = 5`, both with 5 low
/// mantissa bits and the sign at bit 15); returns the number of values done (a multiple of 8).
#[inline]
fn join_w6_arch<T: FloatBits>(syms: &[u16], raw: &[u8], out: &mut [T]) -> usize {
    if let Some(o) = T::as_u16_mut(out) {
        return crate::simd::join_w6_u16(syms, raw, o).unwrap_or(0);
    }
    0
}

/// Joins decoded symbols with the raw bits of a block into `out`.
fn unpack_join<T: FloatBits>(split: &Split, syms: &[u16], raw: &[u8], out: &mut [T]) {
    let w = split.raw_w;
    let mask = (1u64 << w) - 1;
    let mut acc: u64 = 0;
    let mut nb = 0u32;
    let mut bytes = raw.iter();
    if w == 6 {
        // bf16 with k = 2 (f16 with k = 5): 8 values per 6 bytes, one 48-bit load each; the
        // AVX2 join takes groups of 16 first.
        let (low, hi) = (split.m - split.k, split.e + split.m);
        let lmask = (1u32 << low) - 1;
        let first = join_w6_arch(syms, raw, out);
        let (syms, raw, out) = (&syms[first..], &raw[first / 8 * 6..], &mut out[first..]);
        let mut oc = out.chunks_exact_mut(8);
        let mut sc = syms.chunks_exact(8);
        let mut rc = raw.chunks_exact(6);
        for ((o, s), r) in (&mut oc).zip(&mut sc).zip(&mut rc) {
            let v = u64::from_le_bytes([r[0], r[1], r[2], r[3], r[4], r[5], 0, 0]);
            for j in 0..8 {
                let rw = (v >> (6 * j)) as u32 & 63;
                o[j] = T::from_bits32(((rw >> low) << hi) | (u32::from(s[j]) << low) | (rw & lmask));
            }
        }
        let done = out.len() / 8 * 8;
        let mut bytes = raw.get(done / 8 * 6..).unwrap_or(&[]).iter();
        for (o, &s) in out[done..].iter_mut().zip(&syms[done..]) {
            while nb < w {
                acc |= u64::from(*bytes.next().unwrap_or(&0)) << nb;
                nb += 8;
            }
            *o = T::from_bits32(split.join(s, (acc & mask) as u32));
            acc >>= w;
            nb -= w;
        }
        return;
    }
    for (o, &s) in out.iter_mut().zip(syms) {
        while nb < w {
            acc |= u64::from(*bytes.next().unwrap_or(&0)) << nb;
            nb += 8;
        }
        *o = T::from_bits32(split.join(s, (acc & mask) as u32));
        acc >>= w;
        nb -= w;
    }
}

/// The header fields read before the model.
#[derive(Clone, Copy, Debug)]
struct Pre {
    version: u8,
    kind: FloatKind,
    split: Split,
    lanes: Lanes,
    n: usize,
    block_len: usize,
}

impl Pre {
    /// Reads the fields before the model; returns the reader positioned on it.
    fn read(bytes: &[u8]) -> Result<(crate::format::Reader<'_>, Pre)> {
        let mut r = crate::format::Reader::new(bytes);
        if r.bytes(4)? != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion(u16::from(version)));
        }
        let kind = FloatKind::from_tag(r.u8()?)?;
        let split = Split::new(kind, u32::from(r.u8()?)).map_err(|_| Error::Corrupt("top_bits"))?;
        let lanes = Lanes::from_count(usize::from(r.u8()?)).map_err(|_| Error::Corrupt("lanes"))?;
        let n = usize::try_from(r.u64()?).map_err(|_| Error::Corrupt("value count"))?;
        let block_len = r.u32()? as usize;
        if block_len == 0 || block_len > MAX_BLOCK {
            return Err(Error::Corrupt("block_len"));
        }
        Ok((r, Pre { version, kind, split, lanes, n, block_len }))
    }

    /// Checks the model against the header and reads and validates the block offsets.
    fn finish<'a>(self, mut r: crate::format::Reader<'a>, scale_bits: u32, alphabet: usize) -> Result<Header<'a>> {
        let Pre { version, kind, split, lanes, n, block_len } = self;
        if scale_bits > word::MAX_SCALE_BITS {
            return Err(Error::Corrupt("lossless model scale above 15"));
        }
        if alphabet != split.alphabet() {
            return Err(Error::Corrupt("model alphabet does not match float kind"));
        }
        let n_blocks = n.div_ceil(block_len);
        let off_len = n_blocks.checked_mul(4).ok_or(Error::Corrupt("value count"))?;
        let offsets = r.bytes(off_len)?;
        let data = r.bytes(r.remaining())?;
        // Lengths that lie: the raw bits alone must fit in the data.
        if split.raw_bytes(n.min(data.len().saturating_mul(8))) > data.len() {
            return Err(Error::Corrupt("value count exceeds data"));
        }
        let h = Header { version, kind, split, lanes, n, block_len, offsets, data };
        let mut prev = 0usize;
        for b in 0..n_blocks {
            let end = h.offset(b);
            let nb = h.block_values(b);
            if end < prev + split.raw_bytes(nb) + 4 * lanes.count() || end > data.len() {
                return Err(Error::Corrupt("block offsets"));
            }
            prev = end;
        }
        if prev != data.len() {
            return Err(Error::Corrupt("trailing bytes after last block"));
        }
        Ok(h)
    }
}

/// A validated header: everything but the model.
#[derive(Clone, Copy, Debug)]
struct Header<'a> {
    version: u8,
    kind: FloatKind,
    split: Split,
    lanes: Lanes,
    n: usize,
    block_len: usize,
    offsets: &'a [u8],
    data: &'a [u8],
}

impl Header<'_> {
    fn offset(&self, b: usize) -> usize {
        let o = &self.offsets[4 * b..4 * b + 4];
        u32::from_le_bytes([o[0], o[1], o[2], o[3]]) as usize
    }
    fn n_blocks(&self) -> usize {
        self.n.div_ceil(self.block_len)
    }
    fn block_values(&self, b: usize) -> usize {
        let start = b.saturating_mul(self.block_len);
        self.n.saturating_sub(start).min(self.block_len)
    }

    fn decode_block<T: FloatBits>(
        &self,
        model: &ModelView<'_>,
        b: usize,
        scratch: &mut [u16],
        out: &mut [T],
    ) -> Result<()> {
        if !T::fits(self.kind) {
            return Err(Error::InvalidParameter("word type does not match float kind"));
        }
        if b >= self.n_blocks() {
            return Err(Error::InvalidParameter("block index out of range"));
        }
        let nb = self.block_values(b);
        if out.len() != nb {
            return Err(Error::CodeLength { expected: nb, got: out.len() });
        }
        let got = scratch.len();
        let syms = scratch.get_mut(..nb).ok_or(Error::BufferTooSmall { needed: nb, got })?;
        let start = if b == 0 { 0 } else { self.offset(b - 1) };
        let block = self.data.get(start..self.offset(b)).ok_or(Error::Corrupt("block offsets"))?;
        let raw_len = self.split.raw_bytes(nb);
        let (raw, stream) = block.split_at_checked(raw_len).ok_or(Error::Truncated)?;
        word::decode(model, self.lanes, stream, syms)?;
        unpack_join(&self.split, syms, raw, out);
        Ok(())
    }

    fn decode_all<T: FloatBits>(&self, model: &ModelView<'_>, out: &mut [T], scratch: &mut [u16]) -> Result<()> {
        if out.len() != self.n {
            return Err(Error::CodeLength { expected: self.n, got: out.len() });
        }
        for (b, chunk) in out.chunks_mut(self.block_len).enumerate() {
            self.decode_block(model, b, scratch, chunk)?;
        }
        Ok(())
    }
}

/// The storage [`LosslessView::open_in`] needs for a compressed tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LosslessStorageLen {
    /// `u32` words for the model's frequencies (the alphabet, `2^(E+k)`: 1,024 for bf16 `k = 2`).
    pub freqs: usize,
    /// `u32` words for the compact decode table (`2^n`: 16,384 at the default scale 14).
    pub slots: usize,
    /// `u16` words of symbol scratch for [`LosslessView::decode_block`] /
    /// [`LosslessView::decode_all`]: `min(block_len, len)`.
    pub scratch: usize,
}

/// The header accessors [`LosslessView`] and `LosslessFloats` share (both hold the parsed
/// header in a field `h`).
macro_rules! header_accessors {
    () => {
        /// The format version (always 2: interleaved rANS blocks with 16-bit words).
        pub fn version(&self) -> u8 {
            self.h.version
        }
        /// The float kind.
        pub fn kind(&self) -> FloatKind {
            self.h.kind
        }
        /// Number of values.
        pub fn len(&self) -> usize {
            self.h.n
        }
        /// Whether there are no values.
        pub fn is_empty(&self) -> bool {
            self.h.n == 0
        }
        /// Values per block (the last block may be shorter).
        pub fn block_len(&self) -> usize {
            self.h.block_len
        }
        /// Number of blocks.
        pub fn n_blocks(&self) -> usize {
            self.h.n_blocks()
        }
        /// Number of values in block `b` (0 if out of range).
        pub fn block_values(&self, b: usize) -> usize {
            self.h.block_values(b)
        }
    };
}

/// A compressed tensor opened without an allocator: the header and offsets borrowed from the
/// bytes, the model read into caller storage as a compact decode-only
/// [`ModelView::decoder`] view. Decodes block by block into caller buffers, bit-identical to
/// `LosslessFloats` (which needs `alloc`), with the
/// same validation and errors for the same bytes.
///
/// RAM: `4·(2^(E+k) + 2^n)` bytes of tables plus `2·block_len` bytes of symbol scratch (bf16,
/// `k = 2`, `n = 14`, 4,096-value blocks: 68 KiB + 8 KiB; compress with a smaller
/// [`LosslessConfig::scale_bits`] and `block_len` for small devices).
#[derive(Clone, Copy, Debug)]
pub struct LosslessView<'a> {
    h: Header<'a>,
    model: ModelView<'a>,
}

impl<'a> LosslessView<'a> {
    /// The storage [`open_in`](Self::open_in) and the decoders need for `bytes` (reads the
    /// header and model header only).
    ///
    /// # Errors
    /// As [`open_in`](Self::open_in) for the fields read.
    pub fn storage_len(bytes: &[u8]) -> Result<LosslessStorageLen> {
        let (r, pre) = Pre::read(bytes)?;
        let m = ModelView::decoder_storage_len(&r)?;
        Ok(LosslessStorageLen { freqs: m.freqs, slots: m.slots, scratch: pre.block_len.min(pre.n) })
    }

    /// Parses and validates `bytes` without an allocator; the model goes to the front of
    /// `freqs` and `slots` (sizes from [`storage_len`](Self::storage_len)).
    ///
    /// # Errors
    /// As `LosslessFloats::open`, and [`Error::BufferTooSmall`] for short storage.
    pub fn open_in(bytes: &'a [u8], freqs: &'a mut [u32], slots: &'a mut [u32]) -> Result<Self> {
        let (mut r, pre) = Pre::read(bytes)?;
        let model = ModelView::restore_decoder_in(&mut r, freqs, slots)?;
        let h = pre.finish(r, model.scale_bits(), model.alphabet_size())?;
        Ok(LosslessView { h, model })
    }

    header_accessors!();

    /// Decodes block `b` into `out` (exactly [`block_values`](Self::block_values)`(b)` words)
    /// with `scratch` (≥ that many `u16`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a wrong word type or block index,
    /// [`Error::CodeLength`] / [`Error::BufferTooSmall`] on buffer lengths, rANS errors on
    /// corrupt streams.
    pub fn decode_block<T: FloatBits>(&self, b: usize, scratch: &mut [u16], out: &mut [T]) -> Result<()> {
        self.h.decode_block(&self.model, b, scratch, out)
    }

    /// Decodes every value into `out` (exactly [`len`](Self::len) words) with `scratch`
    /// (≥ [`LosslessStorageLen::scratch`] `u16`).
    ///
    /// # Errors
    /// As [`decode_block`](Self::decode_block).
    pub fn decode_all<T: FloatBits>(&self, out: &mut [T], scratch: &mut [u16]) -> Result<()> {
        self.h.decode_all(&self.model, out, scratch)
    }
}

#[cfg(feature = "alloc")]
pub use owned::*;

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use crate::entropy::model::Model;
    use crate::format;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Compresses a tensor of float bit patterns (`u16` for bf16/f16, `u32` for f32) losslessly.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a word type that does not match `kind`, a block length
    /// outside `1..=2^20`, `top_bits` above [`FloatKind::max_top_bits`] or a bad scale;
    /// [`Error::Overflow`] for a block larger than 4 GiB.
    pub fn compress<T: FloatBits>(kind: FloatKind, values: &[T], cfg: &LosslessConfig) -> Result<Vec<u8>> {
        if !T::fits(kind) {
            return Err(Error::InvalidParameter("word type does not match float kind"));
        }
        if cfg.block_len == 0 || cfg.block_len > MAX_BLOCK {
            return Err(Error::InvalidParameter("block_len must be in 1..=2^20"));
        }
        let max = word::MAX_SCALE_BITS;
        let mut split = Split::new(kind, cfg.top_bits)?;
        let (counts, present) = loop {
            let mut counts = vec![0u64; split.alphabet()];
            for &v in values {
                counts[split.split(v.to_bits32()).0 as usize] += 1;
            }
            let present = counts.iter().filter(|&&c| c > 0).count();
            // A scale-15 model holds at most 2^15 symbols; with k − 1 the alphabet is
            // 2^(E+k−1) ≤ 2^15 (E + k ≤ 16), so this ends after one retry.
            if present <= 1 << max || split.k == 0 {
                break (counts, present);
            }
            split = Split::new(kind, split.k - 1)?;
        };
        let scale = cfg.scale_bits.clamp(1, max);
        let scale = if present > 1 << scale { max } else { scale };
        let model = Model::from_counts(&counts, scale)?;
        let version = VERSION;
        let mut w = format::Writer::new(0);
        model.write_payload(&mut w);
        let model_bytes = w.finish()?;
        let model_payload = &model_bytes[format::HEADER_LEN..model_bytes.len() - 4];

        let mut out = Vec::with_capacity(values.len() * 2 + 64);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[version, kind.tag(), split.k as u8, cfg.lanes.count() as u8]);
        out.extend_from_slice(&(values.len() as u64).to_le_bytes());
        out.extend_from_slice(&(cfg.block_len as u32).to_le_bytes());
        out.extend_from_slice(model_payload);
        let n_blocks = values.len().div_ceil(cfg.block_len);
        let off_pos = out.len();
        out.resize(off_pos + 4 * n_blocks, 0);
        let data_start = out.len();
        let view = model.view();
        let mut syms = vec![0u16; cfg.block_len.min(values.len())];
        let mut raws = vec![0u32; cfg.block_len.min(values.len())];
        let mut stream = vec![0u8; word::max_encoded_len(cfg.block_len.min(values.len()), cfg.lanes)];
        let encode_block = |syms: &[u16], stream: &mut [u8]| word::encode(&view, cfg.lanes, syms, stream);
        for (b, block) in values.chunks(cfg.block_len).enumerate() {
            for ((s, r), &v) in syms.iter_mut().zip(raws.iter_mut()).zip(block) {
                let (a, c) = split.split(v.to_bits32());
                *s = a;
                *r = c;
            }
            let nb = block.len();
            let raw_len = split.raw_bytes(nb);
            let start = out.len();
            out.resize(start + raw_len, 0);
            pack_raw(&split, raws[..nb].iter().copied(), &mut out[start..]);
            let len = encode_block(&syms[..nb], &mut stream)?;
            out.extend_from_slice(&stream[..len]);
            let end = u32::try_from(out.len() - data_start).map_err(|_| Error::Overflow)?;
            out[off_pos + 4 * b..off_pos + 4 * b + 4].copy_from_slice(&end.to_le_bytes());
        }
        Ok(out)
    }

    /// Compresses `f32` values losslessly (their bit patterns, NaN payloads included).
    ///
    /// # Errors
    /// As [`compress`].
    pub fn compress_f32(values: &[f32], cfg: &LosslessConfig) -> Result<Vec<u8>> {
        let bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
        compress(FloatKind::F32, &bits, cfg)
    }

    /// A parsed compressed tensor: header and model validated, blocks decodable independently.
    /// Owns its (wide-table) model; [`LosslessView`] is the no-heap twin (same validation, same
    /// errors, same values), and both share the parser and the block decoder.
    #[derive(Clone, Debug)]
    pub struct LosslessFloats<'a> {
        h: Header<'a>,
        model: Model,
    }

    impl<'a> LosslessFloats<'a> {
        /// Parses and validates `bytes` (total on arbitrary input; allocates only the model,
        /// at most `2^16` table entries).
        ///
        /// # Errors
        /// [`Error::BadMagic`], [`Error::UnsupportedVersion`], [`Error::Truncated`],
        /// [`Error::Corrupt`] for inconsistent fields (model, offsets, lengths that lie).
        pub fn open(bytes: &'a [u8]) -> Result<Self> {
            let (mut r, pre) = Pre::read(bytes)?;
            let model = Model::read_payload(&mut r)?;
            let h = pre.finish(r, model.scale_bits(), model.alphabet_size())?;
            Ok(LosslessFloats { h, model })
        }

        header_accessors!();

        /// Decodes block `b` into `out` (exactly [`block_values`](Self::block_values)`(b)`
        /// words), using `scratch` (≥ that many `u16`). No allocation.
        ///
        /// # Errors
        /// [`Error::InvalidParameter`] for a wrong word type or block index,
        /// [`Error::CodeLength`] / [`Error::BufferTooSmall`] on buffer lengths, rANS errors on
        /// corrupt streams.
        pub fn decode_block<T: FloatBits>(&self, b: usize, scratch: &mut [u16], out: &mut [T]) -> Result<()> {
            self.h.decode_block(&self.model.view(), b, scratch, out)
        }

        /// Decodes every value into `out` (exactly [`len`](Self::len) words).
        ///
        /// # Errors
        /// As [`decode_block`](Self::decode_block).
        pub fn decode_all<T: FloatBits>(&self, out: &mut [T]) -> Result<()> {
            let mut scratch = vec![0u16; self.h.block_len.min(self.h.n)];
            self.h.decode_all(&self.model.view(), out, &mut scratch)
        }

        /// Total compressed bits per value of `bytes.len()` bytes (everything: header, model,
        /// offsets, blocks).
        pub fn bits_per_value(&self, total_bytes: usize) -> f64 {
            if self.h.n == 0 { 0.0 } else { total_bytes as f64 * 8.0 / self.h.n as f64 }
        }
    }
}
