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

/// `c`'s parameters in the crate's container of kind `kind` (see `FORMAT.md`), after a one-byte
/// sub-tag when `tag` is given: the body of every family's `to_bytes`.
///
/// # Errors
/// [`Error::Overflow`] if the payload exceeds the container's 4 GiB.
#[cfg(feature = "alloc")]
pub fn to_container<C: Persist>(kind: u16, tag: Option<u8>, c: &C) -> Result<alloc::vec::Vec<u8>> {
    let mut w = Writer::new(kind);
    if let Some(t) = tag {
        w.u8(t);
    }
    c.persist(&mut w);
    w.finish()
}

/// Reads a container written by [`to_container`]: checks the kind (and the sub-tag, when
/// `tag = Some((t, what))`), restores `C`, and refuses trailing bytes — the body of every
/// family's `from_bytes`.
///
/// # Errors
/// The container's errors ([`Error::BadMagic`], [`Error::Checksum`], …); [`Error::Corrupt`]
/// with `what` for a different sub-tag; `C::restore`'s errors; [`Error::Corrupt`] for trailing
/// bytes.
pub fn from_container<C: Persist>(bytes: &[u8], kind: u16, tag: Option<(u8, &'static str)>) -> Result<C> {
    let mut r = crate::format::open(bytes, kind)?;
    if let Some((t, what)) = tag
        && r.u8()? != t
    {
        return Err(Error::Corrupt(what));
    }
    let c = C::restore(&mut r)?;
    r.finish()?;
    Ok(c)
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

/// Takes the first `n` floats of `*storage` (caller-provided parameter storage of a no-heap
/// loader), leaving the rest in `*storage` for the next part.
///
/// # Errors
/// [`Error::BufferTooSmall`] if fewer than `n` floats are left (`*storage` is then unchanged).
pub fn take_f32s<'a>(storage: &mut &'a mut [f32], n: usize) -> Result<&'a mut [f32]> {
    if storage.len() < n {
        return Err(Error::BufferTooSmall { needed: n, got: storage.len() });
    }
    let (head, tail) = core::mem::take(storage).split_at_mut(n);
    *storage = tail;
    Ok(head)
}

/// The header of a codec saved by `DynCodec::save` (a [`crate::format`] container of kind
/// [`kind::CODEC`](crate::format::kind::CODEC)), opened without an allocator: the configuration
/// name, metric, dimension and seed, and a [`Reader`] positioned on the codec's parameters.
///
/// A no-heap loader reads the parameters with the concrete codec's `restore_in` (or
/// [`Persist::restore`] for codecs without stored arrays) and then calls
/// [`Reader::finish`]. For [`Metric::L2`](crate::metric::Metric::L2) and
/// [`Metric::Cosine`](crate::metric::Metric::Cosine) the parameters start with the metric tag of
/// [`WithNorm`](crate::metric::WithNorm) (read it with [`Persist::restore`] on
/// [`Metric`](crate::metric::Metric)); for inner product they are the codec's fields directly.
///
/// Unlike `factory::load` this does not rebuild untrained codecs from their name to compare the
/// bytes: the caller picks the concrete type, so check [`name`](SavedCodec::name) (and
/// [`dim`](SavedCodec::dim)) against what the firmware expects.
#[derive(Clone, Debug)]
pub struct SavedCodec<'a> {
    /// The configuration name (`sq8`, `bin1`, `tq4`, …).
    pub name: &'a str,
    /// The metric scores are computed in.
    pub metric: crate::metric::Metric,
    /// The vector dimension (checked to be in `1..=`[`MAX_DIM`]).
    pub dim: usize,
    /// The seed the codec was built with.
    pub seed: u64,
    /// The codec's parameters.
    pub params: Reader<'a>,
}

/// Opens a saved codec container (see [`SavedCodec`]); needs no allocator and validates the
/// header exactly as `factory::load` does (same errors for the same bytes up to the parameters).
///
/// # Errors
/// The container's errors ([`Error::BadMagic`], [`Error::Checksum`], [`Error::Truncated`],
/// [`Error::WrongKind`], …); [`Error::Corrupt`] for a name that is not UTF-8, an unknown metric
/// tag, or a dimension outside `1..=65536`.
pub fn open_saved(bytes: &[u8]) -> Result<SavedCodec<'_>> {
    let mut r = crate::format::open(bytes, crate::format::kind::CODEC)?;
    let name_len = usize::from(r.u8()?);
    let name = core::str::from_utf8(r.bytes(name_len)?).map_err(|_| Error::Corrupt("codec name is not UTF-8"))?;
    let metric = crate::metric::Metric::from_tag(r.u8()?)?;
    let dim = r.u32()? as usize;
    let seed = r.u64()?;
    if dim == 0 || dim > MAX_DIM {
        return Err(Error::Corrupt("saved dimension outside 1..=65536"));
    }
    Ok(SavedCodec { name, metric, dim, seed, params: r })
}
