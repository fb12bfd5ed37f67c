//! The crate's error type.
//!
//! [`Error`] is a small `Copy` enum: every fallible function of the crate returns
//! [`Result<T>`](Result). No function of the crate panics on bad input (wrong lengths,
//! non-finite values, corrupt bytes); it returns one of these variants instead.

use core::fmt;

/// Everything that can go wrong in this crate.
///
/// The enum is `Copy` and allocation-free so that it can be returned from `no_std` decoders and
/// fuzz targets without cost. New variants may be added in minor releases (`#[non_exhaustive]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// A vector's length is not the codec's dimension (or not a multiple of it, for batches).
    DimensionMismatch {
        /// The length the codec expects.
        expected: usize,
        /// The length it was given.
        got: usize,
    },
    /// A code (or batch of codes) has the wrong number of bytes.
    CodeLength {
        /// The length the codec expects.
        expected: usize,
        /// The length it was given.
        got: usize,
    },
    /// A caller-provided output or scratch buffer is too small.
    BufferTooSmall {
        /// The number of elements needed.
        needed: usize,
        /// The number of elements provided.
        got: usize,
    },
    /// An input value is NaN or ±infinity where a finite value is required.
    NonFinite,
    /// A configuration or parameter is outside its allowed range; the string names it.
    InvalidParameter(&'static str),
    /// Not enough training data for the requested configuration.
    NotEnoughData {
        /// Minimum number of training vectors (or samples) required.
        needed: usize,
        /// Number provided.
        got: usize,
    },
    /// Serialized bytes end before the structure they describe.
    Truncated,
    /// Serialized bytes are malformed; the string says which field is wrong.
    Corrupt(&'static str),
    /// The container's magic bytes do not match.
    BadMagic,
    /// The container's format version is not supported by this build.
    UnsupportedVersion(u16),
    /// The container's checksum does not match its contents.
    Checksum,
    /// The container holds parameters of a different codec kind.
    WrongKind {
        /// The kind tag the caller asked for.
        expected: u16,
        /// The kind tag found in the container.
        got: u16,
    },
    /// A result does not fit its type (e.g. a codebook size or index count, or a vector norm
    /// above [`MAX_NORM`](crate::MAX_NORM)).
    Overflow,
}

/// `Result` specialised to this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::DimensionMismatch { expected, got } => {
                write!(f, "dimension mismatch: expected {expected}, got {got}")
            }
            Error::CodeLength { expected, got } => {
                write!(f, "code length mismatch: expected {expected} bytes, got {got}")
            }
            Error::BufferTooSmall { needed, got } => {
                write!(f, "buffer too small: need {needed} elements, got {got}")
            }
            Error::NonFinite => f.write_str("input contains NaN or infinity"),
            Error::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
            Error::NotEnoughData { needed, got } => {
                write!(f, "not enough training data: need {needed}, got {got}")
            }
            Error::Truncated => f.write_str("input bytes are truncated"),
            Error::Corrupt(what) => write!(f, "corrupt input: {what}"),
            Error::BadMagic => f.write_str("bad magic bytes: not a vector-codecs container"),
            Error::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            Error::Checksum => f.write_str("checksum mismatch"),
            Error::WrongKind { expected, got } => {
                write!(f, "wrong codec kind: expected {expected:#06x}, got {got:#06x}")
            }
            Error::Overflow => f.write_str("integer overflow"),
        }
    }
}

impl core::error::Error for Error {}

impl Error {
    /// The error as seen by a loader: a value the constructors reject as a caller's mistake
    /// ([`Error::InvalidParameter`]) is the file's fault when it was read from bytes
    /// ([`Error::Corrupt`], same message); every other error is unchanged.
    #[inline]
    pub(crate) fn when_loading(self) -> Error {
        match self {
            Error::InvalidParameter(m) => Error::Corrupt(m),
            e => e,
        }
    }
}

/// Returns `Err(DimensionMismatch)` unless `got == expected`.
#[inline]
pub(crate) fn check_dim(expected: usize, got: usize) -> Result<()> {
    if expected == got { Ok(()) } else { Err(Error::DimensionMismatch { expected, got }) }
}

/// Returns `Err(CodeLength)` unless `got == expected`.
#[inline]
pub(crate) fn check_code(expected: usize, got: usize) -> Result<()> {
    if expected == got { Ok(()) } else { Err(Error::CodeLength { expected, got }) }
}

/// Returns `Err(NonFinite)` if any value is NaN or infinite.
///
/// Branch-free within chunks of 256 values (an all-ones exponent is NaN or ±inf; the OR of the
/// tests vectorizes), so that the check every encoder makes costs a fraction of the encode.
#[inline]
#[allow(dead_code)]
pub(crate) fn check_finite(x: &[f32]) -> Result<()> {
    const EXP: u32 = 0x7F80_0000;
    for c in x.chunks(256) {
        if c.iter().fold(0u32, |m, v| m | u32::from(v.to_bits() & EXP == EXP)) != 0 {
            return Err(Error::NonFinite);
        }
    }
    Ok(())
}

/// The norm a codec may store for an input whose norm is `norm`: `Err(NonFinite)` for NaN/inf
/// (input with NaN or inf), `Err(Overflow)` above [`MAX_NORM`](crate::MAX_NORM).
#[inline]
pub(crate) fn encode_norm(norm: f32) -> Result<f32> {
    if !norm.is_finite() {
        Err(Error::NonFinite)
    } else if norm > crate::MAX_NORM {
        Err(Error::Overflow)
    } else {
        Ok(norm)
    }
}

/// A norm read from a code: `Err(Corrupt(what))` unless `0 ≤ n ≤ MAX_NORM`.
#[inline]
pub(crate) fn stored_norm(n: f32, what: &'static str) -> Result<f32> {
    if (0.0..=crate::MAX_NORM).contains(&n) { Ok(n) } else { Err(Error::Corrupt(what)) }
}
