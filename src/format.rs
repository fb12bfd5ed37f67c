//! The versioned little-endian container for trained parameters.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"VCDC"` |
//! | 4 | 2 | format version, currently [`VERSION`] = 1 |
//! | 6 | 2 | codec kind tag (each codec family owns a range, see [`kind`]) |
//! | 8 | 4 | payload length `n` in bytes |
//! | 12 | n | payload: the codec's own fields, read with [`Reader`] |
//! | 12+n | 4 | checksum: 32-bit FNV-1a of bytes `0 .. 12+n` |
//!
//! [`open`] validates magic, version, kind, length and checksum before any payload field is
//! read; [`Reader`] then checks every read against the remaining bytes, so a codec's
//! `from_bytes` never reads out of bounds, never panics, and never allocates more than the input
//! length justifies (a claimed element count is checked against the bytes left *before* any
//! allocation).

use crate::error::{Error, Result};

/// Magic bytes at the start of every container.
pub const MAGIC: [u8; 4] = *b"VCDC";
/// The container format version this build reads and writes.
pub const VERSION: u16 = 1;
/// Header length in bytes (magic, version, kind, payload length).
pub const HEADER_LEN: usize = 12;

/// Codec kind tags. Each codec family owns a range of `0x100` tags.
pub mod kind {
    /// Scalar codecs: `0x0100..0x0200`.
    pub const SCALAR: u16 = 0x0100;
    /// Binary codes: `0x0200..0x0300`.
    pub const BINARY: u16 = 0x0200;
    /// Transforms (rotations, projections): `0x0300..0x0400`.
    pub const TRANSFORM: u16 = 0x0300;
    /// QJL sketches: `0x0400..0x0500`.
    pub const QJL: u16 = 0x0400;
    /// TurboQuant and RaBitQ: `0x0500..0x0600`.
    pub const TURBO: u16 = 0x0500;
    /// Entropy models and entropy-coded codecs: `0x0600..0x0700`.
    pub const ENTROPY: u16 = 0x0600;
    /// A whole codec saved through [`crate::factory`] (name, metric, parameters): `0x0700`.
    pub const CODEC: u16 = 0x0700;
}

/// 32-bit FNV-1a hash, the container's checksum.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811C_9DC5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Validates a container's header and checksum and returns a [`Reader`] over its payload.
///
/// # Errors
/// [`Error::Truncated`] if `bytes` is shorter than the header, payload and checksum it claims;
/// [`Error::BadMagic`], [`Error::UnsupportedVersion`], [`Error::WrongKind`] (if `expected_kind`
/// differs), [`Error::Checksum`], or [`Error::Corrupt`] if bytes follow the checksum.
pub fn open(bytes: &[u8], expected_kind: u16) -> Result<Reader<'_>> {
    let mut r = Reader::new(bytes);
    let magic = r.bytes(4)?;
    if magic != MAGIC {
        return Err(Error::BadMagic);
    }
    let version = r.u16()?;
    if version != VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    let kind = r.u16()?;
    if kind != expected_kind {
        return Err(Error::WrongKind { expected: expected_kind, got: kind });
    }
    let len = r.u32()? as usize;
    let payload = r.bytes(len)?;
    let sum = r.u32()?;
    if !r.is_empty() {
        return Err(Error::Corrupt("trailing bytes after checksum"));
    }
    if fnv1a32(&bytes[..HEADER_LEN + len]) != sum {
        return Err(Error::Checksum);
    }
    Ok(Reader::new(payload))
}

/// Reads the kind tag of a container without validating the rest (for dispatching on kind).
///
/// # Errors
/// [`Error::Truncated`] or [`Error::BadMagic`].
pub fn peek_kind(bytes: &[u8]) -> Result<u16> {
    let mut r = Reader::new(bytes);
    if r.bytes(4)? != MAGIC {
        return Err(Error::BadMagic);
    }
    r.u16()?;
    r.u16()
}

/// A bounds-checked little-endian cursor over a byte slice. Every read returns
/// [`Error::Truncated`] instead of reading past the end.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Takes the next `n` bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `n` remain.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(Error::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }
    /// Reads a `u8`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    /// Reads a little-endian `u16`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `u32`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `u64`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `f32` (any bit pattern, including NaN; validate it yourself).
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    /// Reads a finite little-endian `f32`.
    ///
    /// # Errors
    /// [`Error::Truncated`], or [`Error::Corrupt`] (naming `what`) if it is NaN or infinite.
    pub fn finite_f32(&mut self, what: &'static str) -> Result<f32> {
        let v = self.f32()?;
        if v.is_finite() { Ok(v) } else { Err(Error::Corrupt(what)) }
    }
    /// Reads a `u32` length/count and checks it is at most `max`.
    ///
    /// # Errors
    /// [`Error::Truncated`], or [`Error::Corrupt`] (naming `what`) if it exceeds `max`.
    pub fn count(&mut self, max: usize, what: &'static str) -> Result<usize> {
        let v = self.u32()? as usize;
        if v > max { Err(Error::Corrupt(what)) } else { Ok(v) }
    }
    /// Reads `n` little-endian `f32` values into `out[..n]` without allocating.
    ///
    /// # Errors
    /// [`Error::Truncated`]; [`Error::BufferTooSmall`] if `out.len() < n`.
    pub fn f32_into(&mut self, n: usize, out: &mut [f32]) -> Result<()> {
        if out.len() < n {
            return Err(Error::BufferTooSmall { needed: n, got: out.len() });
        }
        let raw = self.bytes(n.checked_mul(4).ok_or(Error::Overflow)?)?;
        for (o, c) in out.iter_mut().zip(raw.chunks_exact(4)) {
            *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(())
    }
    /// Reads `n` finite little-endian `f32` values into `out[..n]` without allocating (the
    /// no-heap twin of [`finite_f32_vec`](Reader::finite_f32_vec), with the same errors for the
    /// same bytes: the length is checked against the bytes left first, then every value).
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `4n` bytes remain; [`Error::BufferTooSmall`] if
    /// `out.len() < n`; [`Error::Corrupt`] (naming `what`) on a NaN or infinity.
    pub fn finite_f32_into(&mut self, n: usize, out: &mut [f32], what: &'static str) -> Result<()> {
        let raw = self.bytes(n.checked_mul(4).ok_or(Error::Overflow)?)?;
        let got = out.len();
        let out = out.get_mut(..n).ok_or(Error::BufferTooSmall { needed: n, got })?;
        for (o, c) in out.iter_mut().zip(raw.chunks_exact(4)) {
            *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        if out.iter().all(|x| x.is_finite()) { Ok(()) } else { Err(Error::Corrupt(what)) }
    }
    /// Borrows the next `n` little-endian `f32` values in place, without copying them (a
    /// zero-copy view of parameters kept in flash or a memory-mapped file), after checking that
    /// every value is finite: the same bytes give the same errors as
    /// [`finite_f32_into`](Reader::finite_f32_into), plus the two requirements of a view.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `4n` bytes remain; [`Error::InvalidParameter`] if the
    /// values do not start at a 4-byte aligned address or the target is big-endian (the bytes
    /// are valid, but cannot be borrowed as `f32`: copy them with
    /// [`finite_f32_into`](Reader::finite_f32_into) instead); [`Error::Corrupt`] (naming `what`)
    /// on a NaN or infinity.
    pub fn finite_f32_view(&mut self, n: usize, what: &'static str) -> Result<&'a [f32]> {
        let raw = self.bytes(n.checked_mul(4).ok_or(Error::Overflow)?)?;
        if n == 0 {
            return Ok(&[]);
        }
        if cfg!(target_endian = "big") {
            return Err(Error::InvalidParameter("zero-copy f32 views need a little-endian target"));
        }
        let v: &'a [f32] = bytemuck::try_cast_slice(raw)
            .map_err(|_| Error::InvalidParameter("zero-copy f32 view: the floats are not 4-byte aligned in memory"))?;
        if v.iter().all(|x| x.is_finite()) { Ok(v) } else { Err(Error::Corrupt(what)) }
    }
    /// Reads `n` little-endian `f32` values into a new `Vec`, checking that `4n` bytes remain
    /// *before* allocating.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `4n` bytes remain.
    #[cfg(feature = "alloc")]
    pub fn f32_vec(&mut self, n: usize) -> Result<alloc::vec::Vec<f32>> {
        let raw = self.bytes(n.checked_mul(4).ok_or(Error::Overflow)?)?;
        Ok(raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
    /// Like [`f32_vec`](Reader::f32_vec) but every value must be finite.
    ///
    /// # Errors
    /// [`Error::Truncated`]; [`Error::Corrupt`] (naming `what`) on a NaN or infinity.
    #[cfg(feature = "alloc")]
    pub fn finite_f32_vec(&mut self, n: usize, what: &'static str) -> Result<alloc::vec::Vec<f32>> {
        let v = self.f32_vec(n)?;
        if v.iter().all(|x| x.is_finite()) { Ok(v) } else { Err(Error::Corrupt(what)) }
    }
    /// Checks that every byte was consumed.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if bytes remain.
    pub fn finish(&self) -> Result<()> {
        if self.buf.is_empty() { Ok(()) } else { Err(Error::Corrupt("unexpected trailing payload bytes")) }
    }
}

/// Builds a container: push the payload fields, then [`finish`](Writer::finish).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug)]
pub struct Writer {
    buf: alloc::vec::Vec<u8>,
}

#[cfg(feature = "alloc")]
impl Writer {
    /// Starts a container for codec kind `kind`.
    pub fn new(kind: u16) -> Self {
        let mut buf = alloc::vec::Vec::with_capacity(64);
        buf.extend_from_slice(&MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&kind.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        Writer { buf }
    }
    /// Appends a `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// Appends a little-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a little-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a little-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a little-endian `f32`.
    pub fn f32(&mut self, v: f32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends little-endian `f32` values (no length prefix; write one with [`u32`](Writer::u32)).
    pub fn f32s(&mut self, v: &[f32]) -> &mut Self {
        for x in v {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
        self
    }
    /// Appends raw bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// Fills in the payload length, appends the checksum and returns the container.
    ///
    /// # Errors
    /// [`Error::Overflow`] if the payload exceeds `u32::MAX` bytes.
    pub fn finish(mut self) -> crate::Result<alloc::vec::Vec<u8>> {
        let len = u32::try_from(self.buf.len() - HEADER_LEN).map_err(|_| Error::Overflow)?;
        self.buf[8..12].copy_from_slice(&len.to_le_bytes());
        let sum = fnv1a32(&self.buf);
        self.buf.extend_from_slice(&sum.to_le_bytes());
        Ok(self.buf)
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    fn sample() -> alloc::vec::Vec<u8> {
        let mut w = Writer::new(0x0101);
        w.u32(3).f32s(&[1.0, -2.0, 0.5]).u64(99);
        w.finish().unwrap()
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let mut r = open(&bytes, 0x0101).unwrap();
        let n = r.count(1000, "n").unwrap();
        assert_eq!(r.finite_f32_vec(n, "v").unwrap(), [1.0, -2.0, 0.5]);
        assert_eq!(r.u64().unwrap(), 99);
        r.finish().unwrap();
        assert_eq!(peek_kind(&bytes).unwrap(), 0x0101);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            assert!(open(&bytes[..cut], 0x0101).is_err(), "cut {cut}");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(open(&b, 0x0101).is_err(), "flip {i}.{bit}");
            }
        }
        assert_eq!(open(&bytes, 0x0102).unwrap_err(), Error::WrongKind { expected: 0x0102, got: 0x0101 });
    }

    #[test]
    fn lying_counts_do_not_allocate() {
        let mut w = Writer::new(1);
        w.u32(u32::MAX);
        let bytes = w.finish().unwrap();
        let mut r = open(&bytes, 1).unwrap();
        let n = r.u32().unwrap() as usize;
        assert_eq!(r.f32_vec(n).unwrap_err(), Error::Truncated);
    }
}
