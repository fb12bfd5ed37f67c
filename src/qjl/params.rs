//! Serialization of [`Qjl`] parameters through the crate's [`crate::format`] container.
//!
//! A QJL codec is fully determined by `(dim, m, seed)`: the projection `S` is regenerated from the
//! seed (see [`crate::transform::GaussianProjection`]), so nothing else is stored.
//!
//! Payload of kind [`KIND`] (`0x0410`), little-endian:
//!
//! | size | field |
//! |---|---|
//! | 4 | `dim` (`u32`, `1..=MAX_DIM`) |
//! | 4 | `m` sketch length (`u32`, `1..=MAX_SKETCH`) |
//! | 8 | `seed` (`u64`) |
//!
//! [`QjlParams::from_bytes`] validates every field (and `m·dim ≤ MAX_ENTRIES`) before anything
//! is built, so a hostile container can make [`QjlParams::build`] allocate at most
//! `4·MAX_ENTRIES` bytes (16 MiB; under `alloc` the projection is stored), never more.

use super::{MAX_SKETCH, Qjl};
use crate::codec::Codec;
use crate::error::{Error, Result};

/// Container kind tag of [`Qjl`] parameters (`0x0410`, in the QJL range).
pub const KIND: u16 = crate::format::kind::QJL + 0x10;

/// Largest input dimension accepted by [`QjlParams::from_bytes`] (2¹⁶).
pub const MAX_DIM: usize = 1 << 16;

/// Largest `m · dim` (entries of the stored projection) accepted by [`QjlParams::from_bytes`]
/// (2²² floats = 16 MiB; constructors accept up to
/// [`gaussian::MAX_ENTRIES`](crate::transform::gaussian::MAX_ENTRIES) = 2²⁴).
pub const MAX_ENTRIES: usize = 1 << 22;

/// The parameters of a [`Qjl`] codec: plain data, cheap to parse and validate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QjlParams {
    /// Input dimension `d`.
    pub dim: usize,
    /// Sketch length `m` (bits per code, before the 32-bit norm).
    pub m: usize,
    /// Seed of the Gaussian projection.
    pub seed: u64,
}

impl QjlParams {
    /// Checks the ranges `1 ≤ dim ≤ MAX_DIM`, `1 ≤ m ≤ MAX_SKETCH`, `m·dim ≤ MAX_ENTRIES`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field out of range.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_DIM).contains(&self.dim) {
            return Err(Error::InvalidParameter("QJL params: dim must be in 1..=65536"));
        }
        if !(1..=MAX_SKETCH).contains(&self.m) {
            return Err(Error::InvalidParameter("QJL params: m must be in 1..=65536"));
        }
        if self.m.checked_mul(self.dim).is_none_or(|e| e > MAX_ENTRIES) {
            return Err(Error::InvalidParameter("QJL params: m*dim must be at most 2^22"));
        }
        Ok(())
    }

    /// Builds the codec ([`Qjl::new`]); under `alloc` this stores `m·dim` floats.
    ///
    /// # Errors
    /// As [`validate`](QjlParams::validate) and [`Qjl::new`].
    pub fn build(&self) -> Result<Qjl> {
        self.validate()?;
        Qjl::new(self.dim, self.m, self.seed)
    }

    /// Appends the payload fields (`u32 dim, u32 m, u64 seed`) to `w`.
    #[cfg(feature = "alloc")]
    pub(crate) fn write(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32).u32(self.m as u32).u64(self.seed);
    }

    /// Reads and validates the payload fields written by `write`.
    pub(crate) fn read(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let dim = r.count(MAX_DIM, "QJL dim")?;
        let m = r.count(MAX_SKETCH, "QJL sketch length")?;
        let seed = r.u64()?;
        let p = QjlParams { dim, m, seed };
        p.validate().map_err(|_| Error::Corrupt("QJL params out of range"))?;
        Ok(p)
    }

    /// Serializes into a container of kind [`KIND`] (28 bytes in all).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the parameters do not [`validate`](QjlParams::validate).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.validate()?;
        let mut w = crate::format::Writer::new(KIND);
        self.write(&mut w);
        w.finish()
    }

    /// Parses a container written by [`to_bytes`](QjlParams::to_bytes). Total and
    /// allocation-free: every field is range-checked, trailing bytes are rejected.
    ///
    /// # Errors
    /// Container errors ([`Error::Truncated`], [`Error::BadMagic`], [`Error::Checksum`],
    /// [`Error::WrongKind`], …), [`Error::Corrupt`] for out-of-range fields or trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = crate::format::open(bytes, KIND)?;
        let p = Self::read(&mut r)?;
        r.finish()?;
        Ok(p)
    }
}

impl Qjl {
    /// The parameters `(dim, m, seed)` this codec was built from.
    pub fn params(&self) -> QjlParams {
        QjlParams { dim: self.dim(), m: self.sketch_len(), seed: self.seed() }
    }

    /// Serializes the parameters (see [`QjlParams::to_bytes`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec exceeds the serializable ranges
    /// ([`MAX_DIM`], [`MAX_ENTRIES`]).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.params().to_bytes()
    }

    /// Parses parameters written by [`to_bytes`](Qjl::to_bytes) and rebuilds the codec
    /// (`O(m·dim)` time; `m·dim ≤ 2²²` floats stored under `alloc`).
    ///
    /// # Errors
    /// As [`QjlParams::from_bytes`] and [`QjlParams::build`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        QjlParams::from_bytes(bytes)?.build()
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_corruption_is_an_error() {
        let q = Qjl::new(24, 40, 77).unwrap();
        let b = q.to_bytes().unwrap();
        assert_eq!(b.len(), crate::format::HEADER_LEN + 16 + 4);
        assert_eq!(Qjl::from_bytes(&b).unwrap(), q);
        for cut in 0..b.len() {
            assert!(QjlParams::from_bytes(&b[..cut]).is_err());
        }
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x10;
            assert!(QjlParams::from_bytes(&c).is_err(), "flip at {i}");
        }
    }

    #[test]
    fn out_of_range_fields_are_rejected_before_building() {
        let bad = [
            QjlParams { dim: 0, m: 8, seed: 1 },
            QjlParams { dim: 8, m: 0, seed: 1 },
            QjlParams { dim: MAX_DIM + 1, m: 1, seed: 1 },
            QjlParams { dim: 8, m: MAX_SKETCH + 1, seed: 1 },
            QjlParams { dim: 4096, m: 8192, seed: 1 },
        ];
        for p in bad {
            assert!(p.to_bytes().is_err(), "{p:?}");
            // Hand-written container with the same fields.
            let mut w = crate::format::Writer::new(KIND);
            w.u32(p.dim as u32).u32(p.m as u32).u64(p.seed);
            let bytes = w.finish().unwrap();
            assert!(matches!(QjlParams::from_bytes(&bytes), Err(Error::Corrupt(_))), "{p:?}");
        }
        let mut w = crate::format::Writer::new(KIND);
        w.u32(8).u32(8).u64(1).u8(0);
        assert_eq!(
            QjlParams::from_bytes(&w.finish().unwrap()),
            Err(Error::Corrupt("unexpected trailing payload bytes"))
        );
    }
}
