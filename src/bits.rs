//! Bit packing of `b`-bit codes, LSB-first, little-endian.
//!
//! Value `i` of width `b` occupies bits `i·b .. i·b + b` of the byte string, where bit `k` of the
//! string is bit `k % 8` of byte `k / 8`. Values may straddle bytes (widths 3, 5, 6, 7, …). This
//! is the layout faiss, QJL and ggml use for sub-byte codes. Widths 1..=8 pack `u8` values and
//! widths 1..=16 pack `u16` values; bits of a value above its width are ignored when packing.
//! The last byte's unused high bits are written as zero.

use crate::error::{Error, Result};

/// Bytes needed for `n` values of `width` bits: `⌈n·width / 8⌉`.
#[inline]
pub const fn packed_len(n: usize, width: u32) -> usize {
    (n * width as usize).div_ceil(8)
}

#[inline]
fn check_width(width: u32, max: u32) -> Result<()> {
    if width == 0 || width > max { Err(Error::InvalidParameter("bit width")) } else { Ok(()) }
}

#[inline]
fn check_len(n: usize, width: u32, bytes: usize) -> Result<()> {
    let need = packed_len(n, width);
    if bytes == need { Ok(()) } else { Err(Error::CodeLength { expected: need, got: bytes }) }
}

/// The general LSB-first packer behind [`pack`] and [`pack_u16`]: `out` must be exactly
/// `packed_len(n, width)` bytes for the `n` values, `width ∈ 1..=16`; bits above `width` are dropped.
fn pack_bits(values: impl Iterator<Item = u32>, width: u32, out: &mut [u8]) {
    out.fill(0);
    let mask = (1u32 << width) - 1;
    let mut acc: u32 = 0;
    let mut nacc: u32 = 0;
    let mut bytes = out.iter_mut();
    for v in values {
        acc |= (v & mask) << nacc;
        nacc += width;
        while nacc >= 8 {
            if let Some(b) = bytes.next() {
                *b = acc as u8;
            }
            acc >>= 8;
            nacc -= 8;
        }
    }
    if let (true, Some(b)) = (nacc > 0, bytes.next()) {
        *b = acc as u8;
    }
}

/// The general LSB-first unpacker behind [`unpack`] and [`unpack_u16`]: `out.len()` values of
/// `width ∈ 1..=16` bits, each masked to `width` bits before `conv`.
fn unpack_bits<T>(bytes: &[u8], width: u32, out: &mut [T], conv: impl Fn(u32) -> T) {
    let mask = (1u32 << width) - 1;
    let mut acc: u32 = 0;
    let mut nacc: u32 = 0;
    let mut src = bytes.iter();
    for v in out.iter_mut() {
        while nacc < width {
            acc |= u32::from(*src.next().unwrap_or(&0)) << nacc;
            nacc += 8;
        }
        *v = conv(acc & mask);
        acc >>= width;
        nacc -= width;
    }
}

/// Packs `values` (each `< 2^width`, `width ∈ 1..=8`) into exactly `packed_len(values.len(),
/// width)` bytes.
///
/// # Errors
/// [`Error::InvalidParameter`] for a width outside `1..=8`; [`Error::CodeLength`] if `out` has
/// the wrong length.
pub fn pack(values: &[u8], width: u32, out: &mut [u8]) -> Result<()> {
    check_width(width, 8)?;
    check_len(values.len(), width, out.len())?;
    if crate::simd::portable::ROLLED {
        // One loop for every width where code size matters more (same bytes; see `pack_u16`).
        pack_bits(values.iter().map(|&v| u32::from(v)), width, out);
        return Ok(());
    }
    let mask = ((1u32 << width) - 1) as u8;
    match width {
        8 => out.copy_from_slice(values),
        4 => {
            let mut pairs = values.chunks_exact(2);
            for (o, p) in out.iter_mut().zip(&mut pairs) {
                *o = (p[0] & 0xF) | (p[1] << 4);
            }
            if let [last] = pairs.remainder() {
                out[out.len() - 1] = last & 0xF;
            }
        }
        1 | 2 => {
            let per = (8 / width) as usize;
            for (o, chunk) in out.iter_mut().zip(values.chunks(per)) {
                let mut byte = 0u8;
                for (k, &v) in chunk.iter().enumerate() {
                    byte |= (v & mask) << (k as u32 * width);
                }
                *o = byte;
            }
        }
        _ => {
            pack_bits(values.iter().map(|&v| u32::from(v)), width, out);
        }
    }
    Ok(())
}

/// Unpacks `out.len()` values of `width ∈ 1..=8` bits from `bytes` (exactly
/// `packed_len(out.len(), width)` long).
///
/// # Errors
/// As [`pack`].
pub fn unpack(bytes: &[u8], width: u32, out: &mut [u8]) -> Result<()> {
    check_width(width, 8)?;
    check_len(out.len(), width, bytes.len())?;
    if crate::simd::portable::ROLLED {
        // One loop for every width where code size matters more (same levels).
        unpack_bits(bytes, width, out, |v| v as u8);
        return Ok(());
    }
    let mask = ((1u32 << width) - 1) as u8;
    match width {
        8 => out.copy_from_slice(bytes),
        4 => {
            let mut pairs = out.chunks_exact_mut(2);
            for (p, &b) in (&mut pairs).zip(bytes) {
                p[0] = b & 0xF;
                p[1] = b >> 4;
            }
            if let [last] = pairs.into_remainder() {
                *last = bytes[bytes.len() - 1] & 0xF;
            }
        }
        1 | 2 => {
            let per = (8 / width) as usize;
            for (chunk, &b) in out.chunks_mut(per).zip(bytes) {
                for (k, v) in chunk.iter_mut().enumerate() {
                    *v = (b >> (k as u32 * width)) & mask;
                }
            }
        }
        _ => {
            unpack_bits(bytes, width, out, |v| v as u8);
        }
    }
    Ok(())
}

/// Packs `u16` values of `width ∈ 1..=16` bits (see the module docs for the layout).
///
/// # Errors
/// [`Error::InvalidParameter`] for a width outside `1..=16`; [`Error::CodeLength`] if `out` has
/// the wrong length.
pub fn pack_u16(values: &[u16], width: u32, out: &mut [u8]) -> Result<()> {
    check_width(width, 16)?;
    check_len(values.len(), width, out.len())?;
    pack_bits(values.iter().map(|&v| u32::from(v)), width, out);
    Ok(())
}

/// Unpacks `out.len()` values of `width ∈ 1..=16` bits.
///
/// # Errors
/// As [`pack_u16`].
pub fn unpack_u16(bytes: &[u8], width: u32, out: &mut [u16]) -> Result<()> {
    check_width(width, 16)?;
    check_len(out.len(), width, bytes.len())?;
    unpack_bits(bytes, width, out, |v| v as u16);
    Ok(())
}

/// Reads value `i` of width `width ∈ 1..=16` from a packed string; `None` if out of range.
#[inline]
pub fn get(bytes: &[u8], i: usize, width: u32) -> Option<u16> {
    if width == 0 || width > 16 {
        return None;
    }
    let bit = i.checked_mul(width as usize)?;
    let end = bit.checked_add(width as usize)?;
    if end > bytes.len() * 8 {
        return None;
    }
    let byte = bit / 8;
    let mut word: u32 = 0;
    for k in 0..3 {
        if let Some(&b) = bytes.get(byte + k) {
            word |= u32::from(b) << (8 * k);
        }
    }
    Some(((word >> (bit % 8)) & ((1u32 << width) - 1)) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_pack(values: &[u16], width: u32) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec![0u8; packed_len(values.len(), width)];
        for (i, &v) in values.iter().enumerate() {
            for k in 0..width as usize {
                if (v >> k) & 1 == 1 {
                    let bit = i * width as usize + k;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn pack_matches_naive_u8(width in 1u32..=8, raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let vals: alloc::vec::Vec<u8> = raw.iter().map(|v| v & ((1u16 << width) - 1) as u8).collect();
            let wide: alloc::vec::Vec<u16> = vals.iter().map(|&v| u16::from(v)).collect();
            let mut out = alloc::vec![0u8; packed_len(vals.len(), width)];
            pack(&vals, width, &mut out).unwrap();
            prop_assert_eq!(&out, &naive_pack(&wide, width));
            let mut back = alloc::vec![0u8; vals.len()];
            unpack(&out, width, &mut back).unwrap();
            prop_assert_eq!(&back, &vals);
            for (i, &v) in vals.iter().enumerate() {
                prop_assert_eq!(get(&out, i, width), Some(u16::from(v)));
            }
        }

        #[test]
        fn pack_matches_naive_u16(width in 1u32..=16, raw in proptest::collection::vec(any::<u16>(), 0..300)) {
            let vals: alloc::vec::Vec<u16> = raw.iter().map(|v| ((u32::from(*v)) & ((1u32 << width) - 1)) as u16).collect();
            let mut out = alloc::vec![0u8; packed_len(vals.len(), width)];
            pack_u16(&vals, width, &mut out).unwrap();
            prop_assert_eq!(&out, &naive_pack(&vals, width));
            let mut back = alloc::vec![0u16; vals.len()];
            unpack_u16(&out, width, &mut back).unwrap();
            prop_assert_eq!(&back, &vals);
        }
    }

    #[test]
    fn lsb_first_layout() {
        let mut out = [0u8; 1];
        pack(&[1, 0, 1, 1, 0, 0, 0, 1], 1, &mut out).unwrap();
        assert_eq!(out[0], 0b1000_1101);
        let mut out = [0u8; 2];
        pack(&[0x3, 0xA, 0x5], 4, &mut out).unwrap();
        assert_eq!(out, [0xA3, 0x05]);
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut out = [0u8; 1];
        assert!(pack(&[1, 2, 3], 4, &mut out).is_err());
        assert!(pack(&[1], 0, &mut out).is_err());
        assert!(pack(&[1], 9, &mut out).is_err());
        assert!(unpack(&[0, 0], 4, &mut [0u8; 1]).is_err());
        assert_eq!(get(&[0xFF], 8, 1), None);
        assert_eq!(get(&[0xFF], 0, 17), None);
    }
}
