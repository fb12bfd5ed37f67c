//! [`Rotation`]: a random rotation whose kind ([`RotationKind`]: randomized Hadamard or Haar) is
//! chosen at run time, saved as its kind, dimension and seed and re-derived on load.

#[cfg(feature = "alloc")]
use super::HaarRotation;
use super::{RandomizedHadamard, Transform};
use crate::error::{Error, Result};

/// A random rotation chosen at run time: randomized Hadamard or Haar. TurboQuant
/// ([`TurboMse`](crate::turbo::TurboMse)) and orthogonal QJL ([`OrthoQjl`](crate::qjl::ortho::OrthoQjl))
/// rotate with it.
// The Hadamard variant stores its precomputed sign bits inline (no-alloc); boxing would need alloc.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Rotation {
    /// Randomized Hadamard (`O(d log d)`, nothing stored).
    Hadamard(RandomizedHadamard),
    /// Dense Haar-random orthogonal matrix (`d²` floats).
    #[cfg(feature = "alloc")]
    Haar(HaarRotation),
}

impl Rotation {
    /// The rotation of kind `kind` for `dim`-vectors, seeded with `seed`.
    ///
    /// # Errors
    /// As the rotation's constructor; [`Error::InvalidParameter`] for a Haar rotation without
    /// `alloc`.
    pub fn new(kind: RotationKind, dim: usize, seed: u64) -> Result<Self> {
        match kind {
            RotationKind::Hadamard => Ok(Rotation::Hadamard(RandomizedHadamard::new(dim, seed)?)),
            #[cfg(feature = "alloc")]
            RotationKind::Haar => Ok(Rotation::Haar(HaarRotation::new(dim, seed)?)),
            #[cfg(not(feature = "alloc"))]
            RotationKind::Haar => {
                let _ = (dim, seed);
                Err(Error::InvalidParameter("Haar rotation needs the alloc feature"))
            }
        }
    }

    /// The kind of rotation.
    pub fn kind(&self) -> RotationKind {
        match self {
            Rotation::Hadamard(_) => RotationKind::Hadamard,
            #[cfg(feature = "alloc")]
            Rotation::Haar(_) => RotationKind::Haar,
        }
    }

    /// The seed it was derived from.
    pub fn seed(&self) -> u64 {
        match self {
            Rotation::Hadamard(t) => t.seed(),
            #[cfg(feature = "alloc")]
            Rotation::Haar(t) => t.seed(),
        }
    }
}

/// The largest dimension of a Haar rotation [`Persist::restore`](crate::persist::Persist) re-derives:
/// deriving one costs `O(d³)` (a QR factorization of a `d × d` Gaussian matrix), so a saved
/// Haar rotation above this is [`Error::Corrupt`] on load (about a second at the bound). Such
/// codecs can still be built, just not loaded; randomized Hadamard rotations go up to
/// [`MAX_DIM`](crate::persist::MAX_DIM).
pub const MAX_HAAR_RESTORE_DIM: usize = 1024;

/// Saved as `u8` kind (0 Hadamard, 1 Haar), `u32` dimension, `u64` seed; re-derived on restore.
impl crate::persist::Persist for Rotation {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u8(u8::from(self.kind() == RotationKind::Haar)).u32(self.dim_in() as u32).u64(self.seed());
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let kind = match r.u8()? {
            0 => RotationKind::Hadamard,
            1 => RotationKind::Haar,
            _ => return Err(Error::Corrupt("TurboQuant: unknown rotation kind")),
        };
        let max = if kind == RotationKind::Haar { MAX_HAAR_RESTORE_DIM } else { crate::persist::MAX_DIM };
        let dim = crate::persist::read_dim(r, max, "TurboQuant: rotation dimension too large")?;
        let seed = r.u64()?;
        Rotation::new(kind, dim, seed).map_err(|_| Error::Corrupt("TurboQuant: invalid rotation"))
    }
}

impl Transform for Rotation {
    fn dim_in(&self) -> usize {
        match self {
            Rotation::Hadamard(t) => t.dim_in(),
            #[cfg(feature = "alloc")]
            Rotation::Haar(t) => t.dim_in(),
        }
    }
    fn dim_out(&self) -> usize {
        self.dim_in()
    }
    fn is_orthogonal(&self) -> bool {
        true
    }
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        match self {
            Rotation::Hadamard(t) => t.forward(x, out),
            #[cfg(feature = "alloc")]
            Rotation::Haar(t) => t.forward(x, out),
        }
    }
    fn batch_block(&self) -> usize {
        match self {
            Rotation::Hadamard(t) => t.batch_block(),
            #[cfg(feature = "alloc")]
            Rotation::Haar(t) => t.batch_block(),
        }
    }
    fn forward_batch(&self, xs: &[f32], out: &mut [f32]) -> Result<()> {
        match self {
            Rotation::Hadamard(t) => t.forward_batch(xs, out),
            #[cfg(feature = "alloc")]
            Rotation::Haar(t) => t.forward_batch(xs, out),
        }
    }
    fn transpose_batch(&self, ys: &[f32], out: &mut [f32]) -> Result<()> {
        match self {
            Rotation::Hadamard(t) => t.transpose_batch(ys, out),
            #[cfg(feature = "alloc")]
            Rotation::Haar(t) => t.transpose_batch(ys, out),
        }
    }
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        match self {
            Rotation::Hadamard(t) => t.transpose(y, out),
            #[cfg(feature = "alloc")]
            Rotation::Haar(t) => t.transpose(y, out),
        }
    }
}

/// Which rotation a [`Rotation`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationKind {
    /// [`RandomizedHadamard`].
    Hadamard,
    /// [`HaarRotation`] (needs `alloc`).
    Haar,
}
