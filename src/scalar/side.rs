//! [`SideFormat`]: how a codec stores its side information (norms, scales, offsets): `f32`,
//! IEEE `f16` or `bf16`.
//!
//! At small dimensions the side information is a large part of a code: one `f32` norm costs
//! 1 bit per dimension at `d = 32`, an `f16` one 0.5. Where the norm or scale only multiplies a
//! quantized value, its 2⁻¹¹ (`f16`) or 2⁻⁸ (`bf16`) relative rounding is far below the
//! quantization error of a few-bit code, so the cheaper formats buy bits for nothing measurable.
//! `f16` covers magnitudes up to 65504 (values above it are rejected, never stored as ±inf);
//! `bf16` has `f32`'s range with 8 significant bits.

use crate::error::{Error, Result};
use crate::scalar::float::{bf16_from_f32, bf16_to_f32, f16_from_f32, f16_to_f32};

/// The storage format of a side value (norm, scale, offset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SideFormat {
    /// Little-endian `f32`, 32 bits, exact.
    #[default]
    F32,
    /// IEEE binary16, 16 bits, round to nearest even; relative error ≤ 2⁻¹¹ for normal values,
    /// magnitudes up to 65504.
    F16,
    /// bfloat16, 16 bits, round to nearest even; relative error ≤ 2⁻⁸, `f32`'s range.
    Bf16,
}

impl SideFormat {
    /// Bytes per stored value: 4 or 2.
    #[inline]
    pub const fn bytes(self) -> usize {
        match self {
            SideFormat::F32 => 4,
            SideFormat::F16 | SideFormat::Bf16 => 2,
        }
    }

    /// Bits per stored value: 32 or 16.
    #[inline]
    pub const fn bits(self) -> usize {
        8 * self.bytes()
    }

    /// A one-byte tag for serialized parameters: 0 = `F32`, 1 = `F16`, 2 = `Bf16`.
    #[inline]
    pub const fn tag(self) -> u8 {
        match self {
            SideFormat::F32 => 0,
            SideFormat::F16 => 1,
            SideFormat::Bf16 => 2,
        }
    }

    /// The format of a [`tag`](SideFormat::tag).
    ///
    /// # Errors
    /// [`Error::Corrupt`] for an unknown tag.
    pub fn from_tag(t: u8) -> Result<Self> {
        match t {
            0 => Ok(SideFormat::F32),
            1 => Ok(SideFormat::F16),
            2 => Ok(SideFormat::Bf16),
            _ => Err(Error::Corrupt("side format: unknown tag")),
        }
    }

    /// The short name used in configuration names: `""` for `F32` (the historical default, so
    /// existing names are unchanged), `"h16"` for `F16`, `"b16"` for `Bf16`.
    pub const fn suffix(self) -> &'static str {
        match self {
            SideFormat::F32 => "",
            SideFormat::F16 => "h16",
            SideFormat::Bf16 => "b16",
        }
    }

    /// The value `x` becomes once stored and read back.
    ///
    /// # Errors
    /// [`Error::NonFinite`] for NaN/inf `x`; [`Error::Overflow`] if `x` is finite but not
    /// representable (beyond ±65504 in `F16`, beyond bf16's largest finite value in `Bf16`).
    #[inline]
    pub fn round(self, x: f32) -> Result<f32> {
        if !x.is_finite() {
            return Err(Error::NonFinite);
        }
        let y = match self {
            SideFormat::F32 => x,
            SideFormat::F16 => f16_to_f32(f16_from_f32(x)),
            SideFormat::Bf16 => bf16_to_f32(bf16_from_f32(x)),
        };
        if y.is_finite() { Ok(y) } else { Err(Error::Overflow) }
    }

    /// Writes `x` (which should be a value of [`round`](SideFormat::round), so that reading it
    /// back gives `x` exactly) into `out[..bytes()]`, little-endian.
    ///
    /// # Errors
    /// As [`round`](SideFormat::round); [`Error::BufferTooSmall`] if `out` is shorter than
    /// [`bytes`](SideFormat::bytes).
    #[inline]
    pub fn write(self, x: f32, out: &mut [u8]) -> Result<()> {
        let y = self.round(x)?;
        let got = out.len();
        let o = out.get_mut(..self.bytes()).ok_or(Error::BufferTooSmall { needed: self.bytes(), got })?;
        match self {
            SideFormat::F32 => o.copy_from_slice(&y.to_le_bytes()),
            SideFormat::F16 => o.copy_from_slice(&f16_from_f32(y).to_le_bytes()),
            SideFormat::Bf16 => o.copy_from_slice(&bf16_from_f32(y).to_le_bytes()),
        }
        Ok(())
    }

    /// Reads a value from `b[..bytes()]` (little-endian). The result may be NaN or ±inf if the
    /// bytes say so: callers validate it.
    ///
    /// # Errors
    /// [`Error::Truncated`] if `b` is shorter than [`bytes`](SideFormat::bytes).
    #[inline]
    pub fn read(self, b: &[u8]) -> Result<f32> {
        let b = b.get(..self.bytes()).ok_or(Error::Truncated)?;
        Ok(match self {
            SideFormat::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            SideFormat::F16 => f16_to_f32(u16::from_le_bytes([b[0], b[1]])),
            SideFormat::Bf16 => bf16_to_f32(u16::from_le_bytes([b[0], b[1]])),
        })
    }
}

impl SideFormat {
    /// Reads `out.len()` values, value `i` from `b[i·stride..]` (as [`read`](SideFormat::read),
    /// unchecked: the caller validates them), with the format matched once for the whole run.
    ///
    /// # Panics
    /// If `b` is shorter than `(out.len() − 1)·stride + bytes()`.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    pub(crate) fn read_strided(self, b: &[u8], stride: usize, out: &mut [f32]) {
        let at = |i: usize| &b[i * stride..i * stride + self.bytes()];
        match self {
            SideFormat::F32 => out.iter_mut().enumerate().for_each(|(i, o)| {
                let c = at(i);
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }),
            SideFormat::F16 => out.iter_mut().enumerate().for_each(|(i, o)| {
                let c = at(i);
                *o = f16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }),
            SideFormat::Bf16 => out.iter_mut().enumerate().for_each(|(i, o)| {
                let c = at(i);
                *o = bf16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SideFormat;

    #[test]
    fn round_trip_and_errors() {
        for f in [SideFormat::F32, SideFormat::F16, SideFormat::Bf16] {
            assert_eq!(SideFormat::from_tag(f.tag()), Ok(f));
            let mut b = [0u8; 4];
            for x in [0.0f32, -1.5, 3.25, 1e-3, 60000.0] {
                let y = f.round(x).unwrap();
                f.write(y, &mut b).unwrap();
                assert_eq!(f.read(&b).unwrap(), y);
                assert!((y - x).abs() <= x.abs() * 2f32.powi(-8));
            }
            assert!(f.round(f32::NAN).is_err());
            assert!(f.read(&b[..1]).is_err());
        }
        assert_eq!(SideFormat::F16.round(1e6), Err(crate::Error::Overflow));
        assert_eq!(SideFormat::Bf16.round(1e6).unwrap(), 999424.0);
        assert!(SideFormat::from_tag(3).is_err());
    }
}
