//! Serialization that composes: every building block writes and reads its own parameters
//! ([`Persist`], implemented next to each type), and every wrapper of [`crate::compose`] persists
//! generically as its parts in order. A codec's saved form is therefore the concatenation of its parts' fields; the type that
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

use crate::error::{Error, Result};
use crate::format::Reader;
#[cfg(feature = "alloc")]
use crate::format::Writer;

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
