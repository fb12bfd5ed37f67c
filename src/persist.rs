//! Serialization that composes: every building block writes and reads its own parameters
//! ([`Persist`]), and every wrapper of [`crate::compose`] persists generically as its parts in
//! order. A codec's saved form is therefore the concatenation of its parts' fields; the type that
//! reads them back is chosen by the configuration name stored in front of them (see
//! [`crate::factory`]), so no part stores a type tag of its own.
//!
//! Rules every implementation follows:
//!
//! * [`Persist::restore`] validates every field and goes through the type's checked constructor,
//!   reads at most what the bytes hold ([`Reader`] checks each read), and allocates at most what
//!   the remaining input justifies (counts are checked against the bytes left before any
//!   allocation).
//! * Seeded blocks (rotations, projections, untrained codebooks) store their seed and sizes, not
//!   their matrices: restore re-derives them exactly (the PRNG is part of the format).
//! * Floats are little-endian `f32`, stored bit for bit; non-finite parameters are
//!   [`Error::Corrupt`] on read.
//!
//! `FORMAT.md` at the repository root documents the fields of every block.

#[cfg(feature = "alloc")]
use crate::compose::{Centered, Scaled};
use crate::compose::{IpNormalized, Normalized, Residual, Rotated, Split};
use crate::error::{Error, Result};
use crate::format::Reader;
#[cfg(feature = "alloc")]
use crate::format::Writer;
use crate::metric::{Metric, WithNorm};
use crate::transform::{Identity, Transform};

/// The largest dimension a persisted block may declare: `2^16` (the bound every codec of the
/// crate documents).
pub const MAX_DIM: usize = 1 << 16;

/// A value that writes its own parameters and reads them back.
///
/// `restore(persist(x))` must give a value that writes identical codes and identical scores.
pub trait Persist: Sized {
    /// Appends this value's parameters to `w`.
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer);

    /// Reads a value written by [`persist`](Persist::persist).
    ///
    /// # Errors
    /// [`Error::Truncated`] when the bytes end early, [`Error::Corrupt`] (or the constructor's
    /// error) for invalid fields.
    fn restore(r: &mut Reader<'_>) -> Result<Self>;
}

/// Reads a dimension stored as `u32`, bounded by `max`.
///
/// # Errors
/// [`Error::Truncated`], or [`Error::Corrupt`] naming `what` if it exceeds `max`.
pub fn read_dim(r: &mut Reader<'_>, max: usize, what: &'static str) -> Result<usize> {
    let d = r.u32()? as usize;
    if d > max {
        return Err(Error::Corrupt(what));
    }
    Ok(d)
}

/// Writes a length-prefixed `f32` slice (`u32` count, then the values).
#[cfg(feature = "alloc")]
pub fn write_f32s(w: &mut Writer, v: &[f32]) {
    w.u32(v.len() as u32).f32s(v);
}

/// Reads a length-prefixed `f32` slice of finite values.
///
/// # Errors
/// [`Error::Truncated`] if the count exceeds the bytes left; [`Error::Corrupt`] on non-finite
/// values.
#[cfg(feature = "alloc")]
pub fn read_f32s(r: &mut Reader<'_>, what: &'static str) -> Result<alloc::vec::Vec<f32>> {
    let n = r.u32()? as usize;
    r.finite_f32_vec(n, what)
}

impl Persist for Metric {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        w.u8(self.tag());
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        Metric::from_tag(r.u8()?)
    }
}

impl Persist for Identity {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        w.u32(self.0 as u32);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Identity(r.u32()? as usize))
    }
}

impl<T: Transform + Persist, C: crate::Codec + Persist> Persist for Rotated<T, C> {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        self.transform.persist(w);
        self.inner.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let t = T::restore(r)?;
        Rotated::new(t, C::restore(r)?)
    }
}

impl<A: crate::Decode + Persist, B: crate::Codec + Persist> Persist for Residual<A, B> {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        self.first.persist(w);
        self.second.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let a = A::restore(r)?;
        Residual::new(a, B::restore(r)?)
    }
}

impl<A: crate::Codec + Persist, B: crate::Codec + Persist> Persist for Split<A, B> {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        self.first.persist(w);
        self.second.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let a = A::restore(r)?;
        Split::new(a, B::restore(r)?)
    }
}

impl<C: crate::Codec + Persist> Persist for Normalized<C> {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        self.inner.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Normalized::new(C::restore(r)?))
    }
}

impl<C: crate::Decode + Persist> Persist for IpNormalized<C> {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        self.normalized.inner.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        Ok(IpNormalized::new(C::restore(r)?))
    }
}

#[cfg(feature = "alloc")]
impl<C: crate::Codec + Persist> Persist for Centered<C, alloc::vec::Vec<f32>> {
    fn persist(&self, w: &mut Writer) {
        write_f32s(w, self.mean());
        self.inner.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let mean = read_f32s(r, "non-finite centring mean")?;
        Centered::new(C::restore(r)?, mean)
    }
}

#[cfg(feature = "alloc")]
impl<C: crate::Codec + Persist> Persist for Scaled<C, alloc::vec::Vec<f32>> {
    fn persist(&self, w: &mut Writer) {
        write_f32s(w, self.scales());
        self.inner.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let scales = read_f32s(r, "non-finite scale")?;
        Scaled::new(C::restore(r)?, scales)
    }
}

impl<C: crate::Decode + crate::Score + Persist> Persist for WithNorm<C> {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut Writer) {
        self.metric.persist(w);
        self.inner.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let m = Metric::restore(r)?;
        Ok(WithNorm::new(C::restore(r)?, m))
    }
}
