//! Serialization of TurboQuant parameters ([`TurboMse`], [`TurboProd`], [`TurboMseSplit`],
//! [`TurboProdSplit`], [`TurboMseIp`]) through the crate's
//! [`crate::format`] container.
//!
//! The rotation is not stored: it is regenerated from its kind and seed (randomized Hadamard:
//! `O(d log d)`, nothing allocated; Haar: `O(d³)` time and `d²` floats, so its dimension is capped
//! by [`MAX_HAAR_LOAD_DIM`]). The coordinate codebook **is** stored (at most 256 `f32` levels, 1 KiB),
//! so decoding never depends on re-running the Lloyd–Max solver; a one-byte [`CodebookTag`]
//! records where the levels came from.
//!
//! # Payloads (little-endian)
//!
//! [`KIND_MSE`] (`0x0510`), TurboQuant-MSE:
//!
//! | size | field |
//! |---|---|
//! | 4 | `dim` (`u32`, `2..=MAX_DIM`) |
//! | 1 | `bits` per coordinate (`1..=8`) |
//! | 8 | rotation `seed` (`u64`) |
//! | 1 | rotation kind: 0 randomized Hadamard, 1 Haar (`dim ≤ MAX_HAAR_LOAD_DIM`) |
//! | 1 | codebook tag: 0 Gaussian table/√d, 1 Beta Lloyd–Max, 2 explicit |
//! | 2 | number of levels `K` (`u16`; `2^(bits−1) < K ≤ 2^bits`, and `K = 2^bits` for tags 0 and 1; tag 0 needs `bits ≤ 4`) |
//! | 4K | the levels (`f32`, finite, strictly increasing, magnitude at most [`MAX_LEVEL`]) |
//!
//! [`KIND_PROD`] (`0x0511`), TurboQuant-prod: the MSE payload of its first stage (at `b − 1`
//! bits), then the QJL stage's `m` (`u32`) and `seed` (`u64`); the QJL dimension is the MSE
//! dimension and `m·dim ≤ `[`qjl::params::MAX_ENTRIES`](crate::qjl::params::MAX_ENTRIES).
//!
//! [`KIND_MSE_SPLIT`] (`0x0512`, [`MseSplitParams`]: the fractional-rate `tqN.5` codecs),
//! [`KIND_PROD_SPLIT`] (`0x0513`, [`ProdSplitParams`]: `tqpN.5`) and [`KIND_MSE_IP`] (`0x0514`,
//! [`MseIpParams`]: `tqN-ip`, the [`KIND_MSE`] payload under its own kind) are described on
//! their types, as are [`KIND_PROD_ORTHO`] (`0x0515`, [`ProdOrthoParams`]: `tqpN-orth`) and
//! the orthogonal QJL sketch ([`crate::qjl::ortho::KIND`], `0x0412`, [`OrthoQjlParams`]).
//!
//! `from_bytes` validates every field before building anything and rejects trailing bytes; a
//! hostile container can make `build` allocate at most `28·MAX_HAAR_LOAD_DIM²` bytes (28 MiB
//! while building a Haar rotation, 4 MiB kept; about `4·1024³` floating-point operations) or
//! `4·`[`qjl::params::MAX_ENTRIES`](crate::qjl::params::MAX_ENTRIES) bytes (the QJL
//! projection), never more.

use super::split::CodebookScalar;
use super::{
    CodebookKind, NormScalar, Rotation, RotationKind, TurboMse, TurboMseIp, TurboMseSplit, TurboProd, TurboProdOrtho,
    TurboProdSplit, coordinate_codebook,
};
use crate::codec::Codec;
use crate::compose::{IpNormalized, Normalized, Residual, Rotated, Split};
use crate::error::{Error, Result};
use crate::format::{Reader, open};
use crate::qjl::ortho::OrthoQjl;
use crate::qjl::params::QjlParams;
use crate::scalar::lloyd::{Codebook, MAX_LEVELS};
#[cfg(feature = "alloc")]
use crate::transform::HaarRotation;
use crate::transform::RandomizedHadamard;

/// Container kind tag of [`TurboMse`] parameters (`0x0510`).
pub const KIND_MSE: u16 = crate::format::kind::TURBO + 0x10;
/// Container kind tag of [`TurboProd`] parameters (`0x0511`).
pub const KIND_PROD: u16 = crate::format::kind::TURBO + 0x11;
/// Container kind tag of [`TurboMseSplit`] parameters (`0x0512`).
pub const KIND_MSE_SPLIT: u16 = crate::format::kind::TURBO + 0x12;
/// Container kind tag of [`TurboProdSplit`] parameters (`0x0513`).
pub const KIND_PROD_SPLIT: u16 = crate::format::kind::TURBO + 0x13;
/// Container kind tag of [`TurboMseIp`] parameters (`0x0514`).
pub const KIND_MSE_IP: u16 = crate::format::kind::TURBO + 0x14;
/// Container kind tag of [`TurboProdOrtho`] parameters (`0x0515`, [`ProdOrthoParams`]).
pub const KIND_PROD_ORTHO: u16 = crate::format::kind::TURBO + 0x15;

/// Largest dimension accepted by [`MseParams::from_bytes`] (2¹⁶).
pub const MAX_DIM: usize = 1 << 16;

/// Largest magnitude of a stored codebook level (4). Coordinates of a unit vector lie in
/// `[−1, 1]`, but the Gaussian table/√d exceeds 1 for tiny `d` (1.93 at `d = 2`, `b = 4`); the
/// bound keeps reconstructions of finite codes finite.
pub const MAX_LEVEL: f32 = 4.0;

/// Largest dimension of a Haar rotation the crate builds at all
/// ([`HaarRotation::new`](crate::transform::HaarRotation::new), 2048; see
/// [`crate::transform::haar::MAX_DIM`] for its cost).
pub const MAX_HAAR_DIM: usize = 2048;

/// Largest dimension of a Haar rotation accepted by the parameter types and their `from_bytes`
/// (1024): building it from a few untrusted bytes costs `28·d²` = 28 MiB at its peak (4 MiB kept)
/// and `≈ 4d³` floating-point operations (about 2.5 s on one core in an optimized build).
/// Codecs with a larger Haar rotation cannot be serialized.
pub const MAX_HAAR_LOAD_DIM: usize = 1024;

/// Where a stored coordinate codebook came from. The stored levels are authoritative; the tag is
/// provenance (checked only for the structural rules of the payload table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodebookTag {
    /// [`CodebookKind::Gaussian`]: the Gaussian Lloyd–Max table scaled by `1/√d`.
    Gaussian,
    /// [`CodebookKind::Beta`]: the exact Lloyd–Max codebook of the coordinate density.
    Beta,
    /// Any other codebook (e.g. trained on data).
    Explicit,
}

impl CodebookTag {
    #[cfg(feature = "alloc")]
    fn to_u8(self) -> u8 {
        match self {
            CodebookTag::Gaussian => 0,
            CodebookTag::Beta => 1,
            CodebookTag::Explicit => 2,
        }
    }
    fn from_u8(v: u8) -> Result<Self> {
        match v {
            0 => Ok(CodebookTag::Gaussian),
            1 => Ok(CodebookTag::Beta),
            2 => Ok(CodebookTag::Explicit),
            _ => Err(Error::Corrupt("TurboQuant codebook tag")),
        }
    }
}

/// The codebook rules of the payload table: `bits ∈ 1..=8`, `2^bits` levels for the Gaussian
/// (`bits ≤ 4`) and Beta tags, levels within `±MAX_LEVEL`.
fn check_codebook(tag: CodebookTag, codebook: &Codebook) -> Result<()> {
    let (bits, k) = (codebook.bits(), codebook.len());
    if !(1..=8).contains(&bits) {
        return Err(Error::InvalidParameter("TurboQuant params: bits must be in 1..=8"));
    }
    let full = k == 1usize << bits;
    match tag {
        CodebookTag::Gaussian if !(full && bits <= 4) => {
            return Err(Error::InvalidParameter("TurboQuant params: Gaussian codebook needs 2^bits levels, bits <= 4"));
        }
        CodebookTag::Beta if !full => {
            return Err(Error::InvalidParameter("TurboQuant params: Beta codebook needs 2^bits levels"));
        }
        _ => {}
    }
    if codebook.levels().iter().any(|l| l.abs() > MAX_LEVEL) {
        return Err(Error::InvalidParameter("TurboQuant params: codebook levels must lie in [-4, 4]"));
    }
    Ok(())
}

/// The provenance tag of `codebook` for `dim`-vectors (see [`MseParams::of`]).
fn tag_of(dim: usize, codebook: &Codebook) -> CodebookTag {
    let bits = codebook.bits();
    let same = |kind| coordinate_codebook(dim, bits, kind).is_ok_and(|c| &c == codebook);
    if dim >= 2 && same(CodebookKind::Gaussian) {
        CodebookTag::Gaussian
    } else if cfg!(feature = "alloc") && dim >= 2 && same(CodebookKind::Beta) {
        CodebookTag::Beta
    } else {
        CodebookTag::Explicit
    }
}

/// Writes `bits` (`u8`), the tag (`u8`), the level count (`u16`) and the levels.
#[cfg(feature = "alloc")]
fn write_codebook(w: &mut crate::format::Writer, tag: CodebookTag, codebook: &Codebook) {
    let lv = codebook.levels();
    w.u8(codebook.bits() as u8).u8(tag.to_u8()).u16(lv.len() as u16).f32s(lv);
}

/// Reads what [`write_codebook`] writes, checking the structural rules (not the tag rules).
fn read_codebook(r: &mut Reader<'_>) -> Result<(CodebookTag, Codebook)> {
    let bits = u32::from(r.u8()?);
    let tag = CodebookTag::from_u8(r.u8()?)?;
    let k = usize::from(r.u16()?);
    if !(1..=8).contains(&bits) || !(2..=MAX_LEVELS).contains(&k) {
        return Err(Error::Corrupt("TurboQuant bits or level count"));
    }
    let mut lv = [0.0f32; MAX_LEVELS];
    r.f32_into(k, &mut lv)?;
    let codebook = Codebook::new(&lv[..k]).map_err(|_| Error::Corrupt("TurboQuant codebook levels"))?;
    if codebook.bits() != bits {
        return Err(Error::Corrupt("TurboQuant level count does not match bits"));
    }
    Ok((tag, codebook))
}

#[cfg(feature = "alloc")]
fn rotation_to_u8(r: RotationKind) -> u8 {
    match r {
        RotationKind::Hadamard => 0,
        RotationKind::Haar => 1,
    }
}

fn rotation_from_u8(v: u8) -> Result<RotationKind> {
    match v {
        0 => Ok(RotationKind::Hadamard),
        1 => Ok(RotationKind::Haar),
        _ => Err(Error::Corrupt("TurboQuant rotation kind")),
    }
}

/// The rotation of a codec and its kind and seed.
fn rotation_of(r: &Rotation) -> (RotationKind, u64) {
    match r {
        Rotation::Hadamard(t) => (RotationKind::Hadamard, t.seed()),
        #[cfg(feature = "alloc")]
        Rotation::Haar(t) => (RotationKind::Haar, t.seed()),
    }
}

/// Checks `dim` and the rotation's size limit.
fn check_dim_rotation(dim: usize, rotation: RotationKind) -> Result<()> {
    if !(2..=MAX_DIM).contains(&dim) {
        return Err(Error::InvalidParameter("TurboQuant params: dim must be in 2..=65536"));
    }
    if rotation == RotationKind::Haar && dim > MAX_HAAR_LOAD_DIM {
        return Err(Error::InvalidParameter("TurboQuant params: Haar rotation dim must be at most 1024"));
    }
    Ok(())
}

/// The parameters of a [`TurboMse`] codec: dimension, rotation kind and seed, and the coordinate
/// codebook (whose size gives the bits per coordinate).
#[derive(Clone, Debug, PartialEq)]
pub struct MseParams {
    /// Vector dimension `d`.
    pub dim: usize,
    /// Rotation seed.
    pub seed: u64,
    /// Rotation kind.
    pub rotation: RotationKind,
    /// Provenance of the codebook.
    pub tag: CodebookTag,
    /// The coordinate codebook (levels for the coordinates of the unit vector `Πx/‖x‖`).
    pub codebook: Codebook,
}

impl MseParams {
    /// The parameters [`turbo_mse`](super::turbo_mse) uses for the same arguments.
    ///
    /// # Errors
    /// As [`coordinate_codebook`], plus [`validate`](MseParams::validate).
    pub fn new(dim: usize, bits: u32, seed: u64, rotation: RotationKind, codebook: CodebookKind) -> Result<Self> {
        if !(2..=MAX_DIM).contains(&dim) {
            return Err(Error::InvalidParameter("TurboQuant params: dim must be in 2..=65536"));
        }
        let tag = match codebook {
            CodebookKind::Gaussian => CodebookTag::Gaussian,
            CodebookKind::Beta => CodebookTag::Beta,
        };
        let p = MseParams { dim, seed, rotation, tag, codebook: coordinate_codebook(dim, bits, codebook)? };
        p.validate()?;
        Ok(p)
    }

    /// The parameters of an existing codec. The tag is [`CodebookTag::Gaussian`] if the levels
    /// equal the Gaussian table/√d, [`CodebookTag::Beta`] (under `alloc`, recomputing the Beta
    /// codebook, a few ms) if they equal that, else [`CodebookTag::Explicit`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    pub fn of(codec: &TurboMse) -> Result<Self> {
        let dim = codec.dim();
        let (rotation, seed) = rotation_of(&codec.transform);
        let codebook = codec.inner.codebook().clone();
        let tag = tag_of(dim, &codebook);
        let p = MseParams { dim, seed, rotation, tag, codebook };
        p.validate()?;
        Ok(p)
    }

    /// Bits per coordinate of the indices.
    pub fn bits(&self) -> u32 {
        self.codebook.bits()
    }

    /// Checks the rules of the payload table (module docs).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the violated rule.
    pub fn validate(&self) -> Result<()> {
        if !(2..=MAX_DIM).contains(&self.dim) {
            return Err(Error::InvalidParameter("TurboQuant params: dim must be in 2..=65536"));
        }
        if self.rotation == RotationKind::Haar && self.dim > MAX_HAAR_LOAD_DIM {
            return Err(Error::InvalidParameter("TurboQuant params: Haar rotation dim must be at most 1024"));
        }
        check_codebook(self.tag, &self.codebook)
    }

    /// Builds the codec: the rotation from kind and seed, the [`NormScalar`] from the stored
    /// codebook. For parameters from [`new`](MseParams::new) this equals
    /// [`turbo_mse`](super::turbo_mse) with the same arguments.
    ///
    /// # Errors
    /// As [`validate`](MseParams::validate); [`Error::InvalidParameter`] for a Haar rotation
    /// without `alloc`.
    pub fn build(&self) -> Result<TurboMse> {
        self.validate()?;
        let rot = match self.rotation {
            RotationKind::Hadamard => Rotation::Hadamard(RandomizedHadamard::new(self.dim, self.seed)?),
            #[cfg(feature = "alloc")]
            RotationKind::Haar => Rotation::Haar(HaarRotation::new(self.dim, self.seed)?),
            #[cfg(not(feature = "alloc"))]
            RotationKind::Haar => return Err(Error::InvalidParameter("Haar rotation needs the alloc feature")),
        };
        Rotated::new(rot, NormScalar::new(self.dim, self.codebook.clone())?)
    }

    #[cfg(feature = "alloc")]
    fn write(&self, w: &mut crate::format::Writer) {
        let lv = self.codebook.levels();
        w.u32(self.dim as u32)
            .u8(self.bits() as u8)
            .u64(self.seed)
            .u8(match self.rotation {
                RotationKind::Hadamard => 0,
                RotationKind::Haar => 1,
            })
            .u8(self.tag.to_u8())
            .u16(lv.len() as u16)
            .f32s(lv);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let dim = r.count(MAX_DIM, "TurboQuant dim")?;
        let bits = u32::from(r.u8()?);
        let seed = r.u64()?;
        let rotation = match r.u8()? {
            0 => RotationKind::Hadamard,
            1 => RotationKind::Haar,
            _ => return Err(Error::Corrupt("TurboQuant rotation kind")),
        };
        let tag = CodebookTag::from_u8(r.u8()?)?;
        let k = usize::from(r.u16()?);
        if !(1..=8).contains(&bits) || !(2..=MAX_LEVELS).contains(&k) {
            return Err(Error::Corrupt("TurboQuant bits or level count"));
        }
        let mut lv = [0.0f32; MAX_LEVELS];
        r.f32_into(k, &mut lv)?;
        let codebook = Codebook::new(&lv[..k]).map_err(|_| Error::Corrupt("TurboQuant codebook levels"))?;
        if codebook.bits() != bits {
            return Err(Error::Corrupt("TurboQuant level count does not match bits"));
        }
        let p = MseParams { dim, seed, rotation, tag, codebook };
        p.validate().map_err(|_| Error::Corrupt("TurboQuant params out of range"))?;
        Ok(p)
    }

    /// Serializes into a container of kind [`KIND_MSE`] (`33 + 4K` bytes, `K` levels).
    ///
    /// # Errors
    /// As [`validate`](MseParams::validate).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.validate()?;
        let mut w = crate::format::Writer::new(KIND_MSE);
        self.write(&mut w);
        w.finish()
    }

    /// Parses a container written by [`to_bytes`](MseParams::to_bytes). Total and
    /// allocation-free.
    ///
    /// # Errors
    /// Container errors ([`Error::Truncated`], [`Error::BadMagic`], [`Error::Checksum`],
    /// [`Error::WrongKind`], …); [`Error::Corrupt`] for any field breaking the payload rules or
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, KIND_MSE)?;
        let p = Self::read(&mut r)?;
        r.finish()?;
        Ok(p)
    }
}

/// The parameters of a [`TurboProd`] codec: its MSE stage (at `b − 1` bits) and its QJL stage.
#[derive(Clone, Debug, PartialEq)]
pub struct ProdParams {
    /// The first (MSE) stage.
    pub mse: MseParams,
    /// The residual QJL stage (`qjl.dim == mse.dim`).
    pub qjl: QjlParams,
}

impl ProdParams {
    /// The parameters [`turbo_prod`](super::turbo_prod) uses for the same arguments (MSE at
    /// `bits − 1` seeded with `seed`, QJL with `m = dim` seeded with `seed + 1`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `bits < 2`; as [`MseParams::new`] and
    /// [`validate`](ProdParams::validate).
    pub fn new(dim: usize, bits: u32, seed: u64, rotation: RotationKind, codebook: CodebookKind) -> Result<Self> {
        if bits < 2 {
            return Err(Error::InvalidParameter("TurboQuant-prod needs at least 2 bits"));
        }
        let p = ProdParams {
            mse: MseParams::new(dim, bits - 1, seed, rotation, codebook)?,
            qjl: QjlParams { dim, m: dim, seed: seed.wrapping_add(1) },
        };
        p.validate()?;
        Ok(p)
    }

    /// The parameters of an existing codec (see [`MseParams::of`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    pub fn of(codec: &TurboProd) -> Result<Self> {
        let p = ProdParams { mse: MseParams::of(&codec.first)?, qjl: codec.second.params() };
        p.validate()?;
        Ok(p)
    }

    /// Total bits per coordinate `b` (MSE bits + 1 sign bit per QJL row when `m = d`).
    pub fn bits(&self) -> u32 {
        self.mse.bits() + 1
    }

    /// Checks both stages and that their dimensions agree.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the violated rule.
    pub fn validate(&self) -> Result<()> {
        self.mse.validate()?;
        self.qjl.validate()?;
        if self.qjl.dim != self.mse.dim {
            return Err(Error::InvalidParameter("TurboQuant-prod params: QJL dim differs from MSE dim"));
        }
        Ok(())
    }

    /// Builds the codec. For parameters from [`new`](ProdParams::new) this equals
    /// [`turbo_prod`](super::turbo_prod) with the same arguments.
    ///
    /// # Errors
    /// As [`validate`](ProdParams::validate) and [`MseParams::build`].
    pub fn build(&self) -> Result<TurboProd> {
        self.validate()?;
        Residual::new(self.mse.build()?, self.qjl.build()?)
    }

    /// Serializes into a container of kind [`KIND_PROD`].
    ///
    /// # Errors
    /// As [`validate`](ProdParams::validate).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.validate()?;
        let mut w = crate::format::Writer::new(KIND_PROD);
        self.mse.write(&mut w);
        w.u32(self.qjl.m as u32).u64(self.qjl.seed);
        w.finish()
    }

    /// Parses a container written by [`to_bytes`](ProdParams::to_bytes). Total and
    /// allocation-free.
    ///
    /// # Errors
    /// As [`MseParams::from_bytes`], with kind [`KIND_PROD`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, KIND_PROD)?;
        let mse = MseParams::read(&mut r)?;
        let m = r.count(crate::qjl::MAX_SKETCH, "TurboQuant-prod QJL sketch length")?;
        let seed = r.u64()?;
        r.finish()?;
        let p = ProdParams { qjl: QjlParams { dim: mse.dim, m, seed }, mse };
        p.validate().map_err(|_| Error::Corrupt("TurboQuant-prod params out of range"))?;
        Ok(p)
    }
}

/// The parameters of a [`TurboMseIp`] codec (`tq1-ip` … `tq8-ip`): the same fields and payload
/// as [`MseParams`], stored under kind [`KIND_MSE_IP`] (the codes differ in what their `f32`
/// means, so the kinds keep the two apart).
#[derive(Clone, Debug, PartialEq)]
pub struct MseIpParams {
    /// Dimension, rotation and codebook, with the rules of [`MseParams`].
    pub mse: MseParams,
}

impl MseIpParams {
    /// The parameters [`turbo_mse_ip`](super::turbo_mse_ip) uses for the same arguments.
    ///
    /// # Errors
    /// As [`MseParams::new`].
    pub fn new(dim: usize, bits: u32, seed: u64, rotation: RotationKind, codebook: CodebookKind) -> Result<Self> {
        Ok(MseIpParams { mse: MseParams::new(dim, bits, seed, rotation, codebook)? })
    }

    /// The parameters of an existing codec (tag as in [`MseParams::of`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    pub fn of(codec: &TurboMseIp) -> Result<Self> {
        let dim = codec.dim();
        let (rotation, seed) = rotation_of(&codec.transform);
        let codebook = codec.inner.normalized.inner.codebook().clone();
        let mse = MseParams { dim, seed, rotation, tag: tag_of(dim, &codebook), codebook };
        mse.validate()?;
        Ok(MseIpParams { mse })
    }

    /// Builds the codec. For parameters from [`new`](MseIpParams::new) this equals
    /// [`turbo_mse_ip`](super::turbo_mse_ip) with the same arguments.
    ///
    /// # Errors
    /// As [`MseParams::build`].
    pub fn build(&self) -> Result<TurboMseIp> {
        self.mse.validate()?;
        let rot = Rotation::new(self.mse.rotation, self.mse.dim, self.mse.seed)?;
        let inner = CodebookScalar::new(self.mse.dim, self.mse.codebook.clone())?;
        Rotated::new(rot, IpNormalized::new(inner))
    }

    /// Serializes into a container of kind [`KIND_MSE_IP`] (the [`KIND_MSE`] payload).
    ///
    /// # Errors
    /// As [`MseParams::validate`].
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.mse.validate()?;
        let mut w = crate::format::Writer::new(KIND_MSE_IP);
        self.mse.write(&mut w);
        w.finish()
    }

    /// Parses a container written by [`to_bytes`](MseIpParams::to_bytes). Total and
    /// allocation-free.
    ///
    /// # Errors
    /// As [`MseParams::from_bytes`], with kind [`KIND_MSE_IP`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, KIND_MSE_IP)?;
        let mse = MseParams::read(&mut r)?;
        r.finish()?;
        Ok(MseIpParams { mse })
    }
}

/// The parameters of a [`TurboMseSplit`] codec (`tq1.5` … `tq7.5`, or any
/// [`turbo_mse_split`](super::turbo_mse_split)): the first `k` rotated coordinates use
/// `first`, the other `dim − k` use `second`.
///
/// Payload of kind [`KIND_MSE_SPLIT`] (`0x0512`), little-endian: `dim` (`u32`, `2..=MAX_DIM`),
/// `k` (`u32`, `1..dim`), `seed` (`u64`), rotation kind (`u8`, as [`KIND_MSE`]), then for each
/// of the two codebooks: `bits` (`u8`), tag (`u8`), level count `K` (`u16`) and the `K` levels
/// (`f32`), with the codebook rules of the [`KIND_MSE`] table.
#[derive(Clone, Debug, PartialEq)]
pub struct MseSplitParams {
    /// Vector dimension `d`.
    pub dim: usize,
    /// Number of rotated coordinates coded with `first` (`0 < k < d`).
    pub k: usize,
    /// Rotation seed.
    pub seed: u64,
    /// Rotation kind.
    pub rotation: RotationKind,
    /// Provenance and levels of the first group's codebook.
    pub first: (CodebookTag, Codebook),
    /// Provenance and levels of the second group's codebook.
    pub second: (CodebookTag, Codebook),
}

impl MseSplitParams {
    /// The parameters [`turbo_mse_half`](super::turbo_mse_half) uses for the same arguments
    /// (`⌈dim/2⌉` coordinates at `bits + 1`, the rest at `bits`).
    ///
    /// # Errors
    /// As [`turbo_mse_half`](super::turbo_mse_half) and [`validate`](MseSplitParams::validate).
    pub fn half(dim: usize, bits: u32, seed: u64, rotation: RotationKind, codebook: CodebookKind) -> Result<Self> {
        if bits == 0 || bits >= 8 {
            return Err(Error::InvalidParameter("TurboQuant b+½: need 1 ≤ b ≤ 7"));
        }
        let tag = match codebook {
            CodebookKind::Gaussian => CodebookTag::Gaussian,
            CodebookKind::Beta => CodebookTag::Beta,
        };
        check_dim_rotation(dim, rotation)?;
        let p = MseSplitParams {
            dim,
            k: dim.div_ceil(2),
            seed,
            rotation,
            first: (tag, coordinate_codebook(dim, bits + 1, codebook)?),
            second: (tag, coordinate_codebook(dim, bits, codebook)?),
        };
        p.validate()?;
        Ok(p)
    }

    /// The parameters of an existing codec (tags as in [`MseParams::of`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    pub fn of(codec: &TurboMseSplit) -> Result<Self> {
        let dim = codec.dim();
        let (rotation, seed) = rotation_of(&codec.transform);
        let split = &codec.inner.inner;
        let (a, b) = (split.first.codebook().clone(), split.second.codebook().clone());
        let p = MseSplitParams {
            dim,
            k: split.split_at(),
            seed,
            rotation,
            first: (tag_of(dim, &a), a),
            second: (tag_of(dim, &b), b),
        };
        p.validate()?;
        Ok(p)
    }

    /// Bits per coordinate of the two groups.
    pub fn bits(&self) -> (u32, u32) {
        (self.first.1.bits(), self.second.1.bits())
    }

    /// Checks the rules of the payload (type docs).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the violated rule.
    pub fn validate(&self) -> Result<()> {
        check_dim_rotation(self.dim, self.rotation)?;
        if self.k == 0 || self.k >= self.dim {
            return Err(Error::InvalidParameter("TurboQuant split params: need 0 < k < dim"));
        }
        check_codebook(self.first.0, &self.first.1)?;
        check_codebook(self.second.0, &self.second.1)
    }

    /// Builds the codec. For parameters from [`half`](MseSplitParams::half) this equals
    /// [`turbo_mse_half`](super::turbo_mse_half) with the same arguments.
    ///
    /// # Errors
    /// As [`validate`](MseSplitParams::validate); [`Error::InvalidParameter`] for a Haar rotation
    /// without `alloc`.
    pub fn build(&self) -> Result<TurboMseSplit> {
        self.validate()?;
        let a = CodebookScalar::new(self.k, self.first.1.clone())?;
        let b = CodebookScalar::new(self.dim - self.k, self.second.1.clone())?;
        let rot = Rotation::new(self.rotation, self.dim, self.seed)?;
        Rotated::new(rot, Normalized::new(Split::new(a, b)?))
    }

    #[cfg(feature = "alloc")]
    fn write(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32).u32(self.k as u32).u64(self.seed).u8(rotation_to_u8(self.rotation));
        write_codebook(w, self.first.0, &self.first.1);
        write_codebook(w, self.second.0, &self.second.1);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let dim = r.count(MAX_DIM, "TurboQuant split dim")?;
        let k = r.count(MAX_DIM, "TurboQuant split k")?;
        let seed = r.u64()?;
        let rotation = rotation_from_u8(r.u8()?)?;
        let first = read_codebook(r)?;
        let second = read_codebook(r)?;
        let p = MseSplitParams { dim, k, seed, rotation, first, second };
        p.validate().map_err(|_| Error::Corrupt("TurboQuant split params out of range"))?;
        Ok(p)
    }

    /// Serializes into a container of kind [`KIND_MSE_SPLIT`] (`37 + 4K₁ + 4K₂` bytes).
    ///
    /// # Errors
    /// As [`validate`](MseSplitParams::validate).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.validate()?;
        let mut w = crate::format::Writer::new(KIND_MSE_SPLIT);
        self.write(&mut w);
        w.finish()
    }

    /// Parses a container written by [`to_bytes`](MseSplitParams::to_bytes). Total and
    /// allocation-free.
    ///
    /// # Errors
    /// Container errors; [`Error::Corrupt`] for any field breaking the payload rules or
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, KIND_MSE_SPLIT)?;
        let p = Self::read(&mut r)?;
        r.finish()?;
        Ok(p)
    }
}

/// The parameters of a [`TurboProdSplit`] codec (`tqp2.5` … `tqp8.5`): its mixed-width MSE stage
/// and its QJL stage. Payload of kind [`KIND_PROD_SPLIT`] (`0x0513`): the [`KIND_MSE_SPLIT`]
/// payload, then the QJL `m` (`u32`) and `seed` (`u64`), with the rules of [`KIND_PROD`].
#[derive(Clone, Debug, PartialEq)]
pub struct ProdSplitParams {
    /// The first (MSE) stage.
    pub mse: MseSplitParams,
    /// The residual QJL stage (`qjl.dim == mse.dim`).
    pub qjl: QjlParams,
}

impl ProdSplitParams {
    /// The parameters [`turbo_prod_half`](super::turbo_prod_half) uses for the same arguments.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `bits < 2`; as [`MseSplitParams::half`].
    pub fn half(dim: usize, bits: u32, seed: u64, rotation: RotationKind, codebook: CodebookKind) -> Result<Self> {
        if bits < 2 {
            return Err(Error::InvalidParameter("TurboQuant-prod b+½ needs b ≥ 2"));
        }
        let p = ProdSplitParams {
            mse: MseSplitParams::half(dim, bits - 1, seed, rotation, codebook)?,
            qjl: QjlParams { dim, m: dim, seed: seed.wrapping_add(1) },
        };
        p.validate()?;
        Ok(p)
    }

    /// The parameters of an existing codec.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    pub fn of(codec: &TurboProdSplit) -> Result<Self> {
        let p = ProdSplitParams { mse: MseSplitParams::of(&codec.first)?, qjl: codec.second.params() };
        p.validate()?;
        Ok(p)
    }

    /// Checks both stages and that their dimensions agree.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the violated rule.
    pub fn validate(&self) -> Result<()> {
        self.mse.validate()?;
        self.qjl.validate()?;
        if self.qjl.dim != self.mse.dim {
            return Err(Error::InvalidParameter("TurboQuant-prod params: QJL dim differs from MSE dim"));
        }
        Ok(())
    }

    /// Builds the codec. For parameters from [`half`](ProdSplitParams::half) this equals
    /// [`turbo_prod_half`](super::turbo_prod_half) with the same arguments.
    ///
    /// # Errors
    /// As [`validate`](ProdSplitParams::validate) and [`MseSplitParams::build`].
    pub fn build(&self) -> Result<TurboProdSplit> {
        self.validate()?;
        Residual::new(self.mse.build()?, self.qjl.build()?)
    }

    /// Serializes into a container of kind [`KIND_PROD_SPLIT`].
    ///
    /// # Errors
    /// As [`validate`](ProdSplitParams::validate).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.validate()?;
        let mut w = crate::format::Writer::new(KIND_PROD_SPLIT);
        self.mse.write(&mut w);
        w.u32(self.qjl.m as u32).u64(self.qjl.seed);
        w.finish()
    }

    /// Parses a container written by [`to_bytes`](ProdSplitParams::to_bytes). Total and
    /// allocation-free.
    ///
    /// # Errors
    /// As [`MseSplitParams::from_bytes`], with kind [`KIND_PROD_SPLIT`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, KIND_PROD_SPLIT)?;
        let mse = MseSplitParams::read(&mut r)?;
        let m = r.count(crate::qjl::MAX_SKETCH, "TurboQuant-prod QJL sketch length")?;
        let seed = r.u64()?;
        r.finish()?;
        let p = ProdSplitParams { qjl: QjlParams { dim: mse.dim, m, seed }, mse };
        p.validate().map_err(|_| Error::Corrupt("TurboQuant-prod split params out of range"))?;
        Ok(p)
    }
}

impl Rotated<Rotation, IpNormalized<CodebookScalar>> {
    /// Serializes a [`TurboMseIp`] codec's parameters ([`MseIpParams`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        MseIpParams::of(self)?.to_bytes()
    }

    /// Parses parameters written by [`to_bytes`](Rotated::to_bytes) and rebuilds the codec.
    ///
    /// # Errors
    /// As [`MseIpParams::from_bytes`] and [`MseIpParams::build`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        MseIpParams::from_bytes(bytes)?.build()
    }
}

impl Rotated<Rotation, Normalized<Split<CodebookScalar, CodebookScalar>>> {
    /// Serializes a [`TurboMseSplit`] codec's parameters ([`MseSplitParams`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        MseSplitParams::of(self)?.to_bytes()
    }

    /// Parses parameters written by [`to_bytes`](Rotated::to_bytes) and rebuilds the codec.
    ///
    /// # Errors
    /// As [`MseSplitParams::from_bytes`] and [`MseSplitParams::build`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        MseSplitParams::from_bytes(bytes)?.build()
    }
}

impl Residual<TurboMseSplit, crate::qjl::Qjl> {
    /// Serializes a [`TurboProdSplit`] codec's parameters ([`ProdSplitParams`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        ProdSplitParams::of(self)?.to_bytes()
    }

    /// Parses parameters written by [`to_bytes`](Residual::to_bytes) and rebuilds the codec.
    ///
    /// # Errors
    /// As [`ProdSplitParams::from_bytes`] and [`ProdSplitParams::build`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        ProdSplitParams::from_bytes(bytes)?.build()
    }
}

impl Rotated<Rotation, NormScalar> {
    /// Serializes a [`TurboMse`] codec's parameters (see [`MseParams::of`] and
    /// [`MseParams::to_bytes`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        MseParams::of(self)?.to_bytes()
    }

    /// Parses parameters written by [`to_bytes`](Rotated::to_bytes) and rebuilds the
    /// [`TurboMse`] codec (Haar: `O(d³)` time, `d ≤ 4096`).
    ///
    /// # Errors
    /// As [`MseParams::from_bytes`] and [`MseParams::build`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        MseParams::from_bytes(bytes)?.build()
    }
}

impl Residual<TurboMse, crate::qjl::Qjl> {
    /// Serializes a [`TurboProd`] codec's parameters (see [`ProdParams::to_bytes`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        ProdParams::of(self)?.to_bytes()
    }

    /// Parses parameters written by [`to_bytes`](Residual::to_bytes) and rebuilds the
    /// [`TurboProd`] codec.
    ///
    /// # Errors
    /// As [`ProdParams::from_bytes`] and [`ProdParams::build`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        ProdParams::from_bytes(bytes)?.build()
    }
}

/// The parameters of an [`OrthoQjl`] sketch. Payload of kind [`crate::qjl::ortho::KIND`]
/// (`0x0412`), little-endian: `dim` (`u32`, `2..=MAX_DIM`), rotation kind (`u8`: 0 randomized
/// Hadamard, 1 Haar with `dim ≤ MAX_HAAR_LOAD_DIM`), `seed` (`u64`) — 13 bytes. The two levels
/// `±1/(d·c_d)` follow from `dim`, so nothing else is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrthoQjlParams {
    /// Vector dimension `d`.
    pub dim: usize,
    /// Rotation kind.
    pub rotation: RotationKind,
    /// Rotation seed.
    pub seed: u64,
}

impl OrthoQjlParams {
    /// The parameters of an existing sketch.
    pub fn of(codec: &OrthoQjl) -> Self {
        OrthoQjlParams { dim: codec.dim(), rotation: codec.rotation_kind(), seed: codec.seed() }
    }

    /// Checks the dimension and the Haar size limit.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the violated rule.
    pub fn validate(&self) -> Result<()> {
        check_dim_rotation(self.dim, self.rotation)
    }

    /// Builds the sketch.
    ///
    /// # Errors
    /// As [`validate`](OrthoQjlParams::validate) and [`OrthoQjl::new`].
    pub fn build(&self) -> Result<OrthoQjl> {
        self.validate()?;
        OrthoQjl::new(self.dim, self.rotation, self.seed)
    }

    #[cfg(feature = "alloc")]
    fn write(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32).u8(rotation_to_u8(self.rotation)).u64(self.seed);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let dim = r.count(MAX_DIM, "orthogonal QJL dim")?;
        let rotation = rotation_from_u8(r.u8()?)?;
        let seed = r.u64()?;
        let p = OrthoQjlParams { dim, rotation, seed };
        p.validate().map_err(|_| Error::Corrupt("orthogonal QJL params out of range"))?;
        Ok(p)
    }

    /// Serializes into a container of kind [`crate::qjl::ortho::KIND`] (29 bytes in all).
    ///
    /// # Errors
    /// As [`validate`](OrthoQjlParams::validate).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.validate()?;
        let mut w = crate::format::Writer::new(crate::qjl::ortho::KIND);
        self.write(&mut w);
        w.finish()
    }

    /// Parses a container written by [`to_bytes`](OrthoQjlParams::to_bytes). Total and
    /// allocation-free.
    ///
    /// # Errors
    /// Container errors; [`Error::Corrupt`] for a field out of range or trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, crate::qjl::ortho::KIND)?;
        let p = Self::read(&mut r)?;
        r.finish()?;
        Ok(p)
    }
}

/// The parameters of a [`TurboProdOrtho`] codec (`tqpN-orth`): its MSE stage (at `b − 1` bits)
/// and its orthogonal sketch. Payload of kind [`KIND_PROD_ORTHO`] (`0x0515`): the [`KIND_MSE`]
/// payload, then the sketch's rotation kind (`u8`) and seed (`u64`); the sketch dimension is
/// the MSE dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct ProdOrthoParams {
    /// The first (MSE) stage.
    pub mse: MseParams,
    /// The residual sketch (`sketch.dim == mse.dim`).
    pub sketch: OrthoQjlParams,
}

impl ProdOrthoParams {
    /// The parameters [`turbo_prod_ortho`](super::turbo_prod_ortho) uses for the same arguments.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `bits < 2`; as [`MseParams::new`] and
    /// [`validate`](ProdOrthoParams::validate).
    pub fn new(
        dim: usize,
        bits: u32,
        seed: u64,
        rotation: RotationKind,
        codebook: CodebookKind,
        sketch_rotation: RotationKind,
    ) -> Result<Self> {
        if bits < 2 {
            return Err(Error::InvalidParameter("TurboQuant-prod needs at least 2 bits"));
        }
        let p = ProdOrthoParams {
            mse: MseParams::new(dim, bits - 1, seed, rotation, codebook)?,
            sketch: OrthoQjlParams { dim, rotation: sketch_rotation, seed: seed.wrapping_add(1) },
        };
        p.validate()?;
        Ok(p)
    }

    /// The parameters of an existing codec (see [`MseParams::of`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    pub fn of(codec: &TurboProdOrtho) -> Result<Self> {
        let p = ProdOrthoParams { mse: MseParams::of(&codec.first)?, sketch: OrthoQjlParams::of(&codec.second) };
        p.validate()?;
        Ok(p)
    }

    /// Total bits per coordinate `b` (MSE bits + 1 sign bit).
    pub fn bits(&self) -> u32 {
        self.mse.bits() + 1
    }

    /// Checks both stages and that their dimensions agree.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the violated rule.
    pub fn validate(&self) -> Result<()> {
        self.mse.validate()?;
        self.sketch.validate()?;
        if self.sketch.dim != self.mse.dim {
            return Err(Error::InvalidParameter("TurboQuant-prod params: sketch dim differs from MSE dim"));
        }
        Ok(())
    }

    /// Builds the codec.
    ///
    /// # Errors
    /// As [`validate`](ProdOrthoParams::validate) and [`MseParams::build`].
    pub fn build(&self) -> Result<TurboProdOrtho> {
        self.validate()?;
        Residual::new(self.mse.build()?, self.sketch.build()?)
    }

    /// Serializes into a container of kind [`KIND_PROD_ORTHO`].
    ///
    /// # Errors
    /// As [`validate`](ProdOrthoParams::validate).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        self.validate()?;
        let mut w = crate::format::Writer::new(KIND_PROD_ORTHO);
        self.mse.write(&mut w);
        w.u8(rotation_to_u8(self.sketch.rotation)).u64(self.sketch.seed);
        w.finish()
    }

    /// Parses a container written by [`to_bytes`](ProdOrthoParams::to_bytes). Total and
    /// allocation-free.
    ///
    /// # Errors
    /// As [`MseParams::from_bytes`], with kind [`KIND_PROD_ORTHO`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, KIND_PROD_ORTHO)?;
        let mse = MseParams::read(&mut r)?;
        let rotation = rotation_from_u8(r.u8()?)?;
        let seed = r.u64()?;
        r.finish()?;
        let p = ProdOrthoParams { sketch: OrthoQjlParams { dim: mse.dim, rotation, seed }, mse };
        p.validate().map_err(|_| Error::Corrupt("TurboQuant-prod params out of range"))?;
        Ok(p)
    }
}

impl Residual<TurboMse, OrthoQjl> {
    /// Serializes a [`TurboProdOrtho`] codec's parameters ([`ProdOrthoParams`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec is outside the serializable ranges.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        ProdOrthoParams::of(self)?.to_bytes()
    }

    /// Parses parameters written by [`to_bytes`](Residual::to_bytes) and rebuilds the codec.
    ///
    /// # Errors
    /// As [`ProdOrthoParams::from_bytes`] and [`ProdOrthoParams::build`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        ProdOrthoParams::from_bytes(bytes)?.build()
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    extern crate std;
    use super::super::{turbo_mse, turbo_prod};
    use super::*;
    use crate::codec::{Decode, Score};
    use std::vec;

    #[test]
    fn mse_round_trips_every_kind() {
        for (dim, bits, rot, cb) in [
            (64, 4, RotationKind::Hadamard, CodebookKind::Gaussian),
            (13, 1, RotationKind::Hadamard, CodebookKind::Gaussian),
            (48, 3, RotationKind::Haar, CodebookKind::Beta),
            (100, 8, RotationKind::Hadamard, CodebookKind::Beta),
        ] {
            let c = turbo_mse(dim, bits, 5, rot, cb).unwrap();
            let b = c.to_bytes().unwrap();
            assert_eq!(b.len(), 12 + 17 + 4 * (1 << bits) + 4);
            let p = MseParams::from_bytes(&b).unwrap();
            assert_eq!(p, MseParams::new(dim, bits, 5, rot, cb).unwrap());
            let back = TurboMse::from_bytes(&b).unwrap();
            assert_eq!(back, c);
            // Same codes from the rebuilt codec.
            let x: vec::Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin()).collect();
            let (mut c1, mut c2) = (vec![0u8; c.code_len()], vec![0u8; c.code_len()]);
            c.encode_into(&x, &mut c1).unwrap();
            back.encode_into(&x, &mut c2).unwrap();
            assert_eq!(c1, c2);
        }
    }

    #[test]
    fn explicit_codebook_is_tagged_explicit() {
        let cb = Codebook::new(&[-0.2, 0.0, 0.3]).unwrap();
        let c =
            Rotated::new(Rotation::Hadamard(RandomizedHadamard::new(16, 1).unwrap()), NormScalar::new(16, cb).unwrap())
                .unwrap();
        let p = MseParams::of(&c).unwrap();
        assert_eq!((p.tag, p.bits()), (CodebookTag::Explicit, 2));
        assert_eq!(TurboMse::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
        // Levels outside [-4, 4] are not serializable.
        let wide = Codebook::new(&[-5.0, 5.0]).unwrap();
        let c = Rotated::new(
            Rotation::Hadamard(RandomizedHadamard::new(16, 1).unwrap()),
            NormScalar::new(16, wide).unwrap(),
        )
        .unwrap();
        assert!(c.to_bytes().is_err());
    }

    #[test]
    fn prod_round_trips_and_scores_identically() {
        let c = turbo_prod(40, 3, 11, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
        let b = c.to_bytes().unwrap();
        let p = ProdParams::from_bytes(&b).unwrap();
        assert_eq!(p.bits(), 3);
        assert_eq!(p, ProdParams::new(40, 3, 11, RotationKind::Hadamard, CodebookKind::Beta).unwrap());
        let back = TurboProd::from_bytes(&b).unwrap();
        assert_eq!(back, c);
        let x: vec::Vec<f32> = (0..40).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let (mut s1, mut s2) = (c.scratch(), back.scratch());
        let q1 = c.prepare(&x, &mut s1).unwrap();
        let q2 = back.prepare(&x, &mut s2).unwrap();
        assert_eq!(c.score(&q1, &code).unwrap(), back.score(&q2, &code).unwrap());
        let mut y = vec![0.0f32; 40];
        back.decode_into(&code, &mut y).unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        // Wrong kind: an MSE container is not a prod container and vice versa.
        assert!(matches!(ProdParams::from_bytes(&c.first.to_bytes().unwrap()), Err(Error::WrongKind { .. })));
        assert!(matches!(MseParams::from_bytes(&b), Err(Error::WrongKind { .. })));
    }

    #[test]
    fn every_truncation_and_flip_is_an_error() {
        let b = turbo_prod(24, 3, 2, RotationKind::Haar, CodebookKind::Gaussian).unwrap().to_bytes().unwrap();
        for cut in 0..b.len() {
            assert!(ProdParams::from_bytes(&b[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..b.len() {
            for bit in [0, 3, 7] {
                let mut c = b.clone();
                c[i] ^= 1 << bit;
                assert!(ProdParams::from_bytes(&c).is_err(), "flip {i}.{bit}");
            }
        }
    }

    /// A few bytes asking for a large Haar rotation are refused before any `O(d³)` build, in
    /// every container that can hold one (MSE, orthogonal QJL, prod-orth).
    #[test]
    fn hostile_haar_dimension_is_refused_fast() {
        let ok = [-0.5f32, 0.5];
        for dim in [MAX_HAAR_LOAD_DIM as u32 + 1, 2048, 4096, 65536] {
            let mut w = crate::format::Writer::new(KIND_MSE);
            w.u32(dim).u8(1).u64(1).u8(1).u8(2).u16(2).f32s(&ok);
            let b = w.finish().unwrap();
            assert!(matches!(MseParams::from_bytes(&b), Err(Error::Corrupt(_))), "mse {dim}");
            assert!(TurboMse::from_bytes(&b).is_err(), "mse {dim}");
            let mut w = crate::format::Writer::new(crate::qjl::ortho::KIND);
            w.u32(dim).u8(1).u64(1);
            let b = w.finish().unwrap();
            assert!(matches!(OrthoQjlParams::from_bytes(&b), Err(Error::Corrupt(_))), "ortho {dim}");
            assert!(OrthoQjl::from_bytes(&b).is_err(), "ortho {dim}");
            for (r0, r1) in [(0u8, 1u8), (1, 0)] {
                let mut w = crate::format::Writer::new(KIND_PROD_ORTHO);
                w.u32(dim).u8(1).u64(1).u8(r0).u8(2).u16(2).f32s(&ok).u8(r1).u64(2);
                let b = w.finish().unwrap();
                assert!(ProdOrthoParams::from_bytes(&b).is_err(), "prod-orth {dim} {r0} {r1}");
            }
        }
        // Codecs with a Haar rotation above the load bound are not written.
        let big = turbo_mse(MAX_HAAR_LOAD_DIM + 1, 1, 1, RotationKind::Haar, CodebookKind::Gaussian);
        assert!(big.is_ok_and(|c| c.to_bytes().is_err()));
        assert!(HaarRotation::new(MAX_HAAR_DIM + 1, 1).is_err());
    }

    /// Hand-written MSE payloads (valid checksum) with one field broken each.
    #[test]
    fn hostile_fields_are_corrupt() {
        let mk = |dim: u32, bits: u8, rot: u8, tag: u8, levels: &[f32]| {
            let mut w = crate::format::Writer::new(KIND_MSE);
            w.u32(dim).u8(bits).u64(1).u8(rot).u8(tag).u16(levels.len() as u16).f32s(levels);
            w.finish().unwrap()
        };
        let ok = [-0.5f32, 0.5];
        assert!(MseParams::from_bytes(&mk(8, 1, 0, 2, &ok)).is_ok());
        let bad = [
            mk(1, 1, 0, 2, &ok),                       // dim < 2
            mk(u32::MAX, 1, 0, 2, &ok),                // absurd dim
            mk(MAX_HAAR_DIM as u32 + 1, 1, 1, 2, &ok), // Haar too large
            mk(8, 0, 0, 2, &ok),                       // bits 0
            mk(8, 9, 0, 2, &ok),                       // bits 9
            mk(8, 2, 0, 2, &ok),                       // 2 levels but 2 bits
            mk(8, 1, 2, 2, &ok),                       // rotation kind
            mk(8, 1, 0, 3, &ok),                       // codebook tag
            mk(8, 1, 0, 2, &[0.5, -0.5]),              // not increasing
            mk(8, 1, 0, 2, &[f32::NAN, 0.5]),          // NaN level
            mk(8, 1, 0, 2, &[-4.5, 0.5]),              // outside [-4, 4]
            mk(8, 2, 0, 0, &[-0.5, 0.0, 0.5]),         // Gaussian with 3 levels
            mk(8, 5, 0, 0, &[0.0; 32]),                // Gaussian at 5 bits (and equal levels)
        ];
        for (i, b) in bad.iter().enumerate() {
            assert!(matches!(MseParams::from_bytes(b), Err(Error::Corrupt(_))), "case {i}");
        }
        // A level count larger than the bytes present is Truncated, not an allocation.
        let mut w = crate::format::Writer::new(KIND_MSE);
        w.u32(8).u8(8).u64(1).u8(0).u8(2).u16(256).f32(0.0);
        assert_eq!(MseParams::from_bytes(&w.finish().unwrap()), Err(Error::Truncated));
        // Prod: QJL m too large for the dim.
        let mut w = crate::format::Writer::new(KIND_PROD);
        w.u32(4096).u8(1).u64(1).u8(0).u8(2).u16(2).f32s(&ok).u32(65536).u64(3);
        assert!(matches!(ProdParams::from_bytes(&w.finish().unwrap()), Err(Error::Corrupt(_))));
    }

    #[test]
    fn split_and_ip_round_trip_and_match_constructors() {
        use super::super::{turbo_mse_half, turbo_mse_ip, turbo_prod_half};
        for (dim, bits, rot, cb) in [
            (64, 2, RotationKind::Hadamard, CodebookKind::Gaussian),
            (13, 1, RotationKind::Haar, CodebookKind::Beta),
            (100, 3, RotationKind::Hadamard, CodebookKind::Beta),
        ] {
            let x: vec::Vec<f32> = (0..dim).map(|i| (i as f32 * 0.41).sin() + 0.1).collect();
            let c = turbo_mse_half(dim, bits, 7, rot, cb).unwrap();
            let b = c.to_bytes().unwrap();
            let p = MseSplitParams::from_bytes(&b).unwrap();
            assert_eq!(p, MseSplitParams::half(dim, bits, 7, rot, cb).unwrap());
            assert_eq!((p.k, p.bits()), (dim.div_ceil(2), (bits + 1, bits)));
            assert_eq!(b.len(), 12 + 17 + 8 + 4 * ((1 << (bits + 1)) + (1 << bits)) + 4);
            let back = TurboMseSplit::from_bytes(&b).unwrap();
            assert_eq!(back, c);
            let (mut c1, mut c2) = (vec![0u8; c.code_len()], vec![0u8; c.code_len()]);
            c.encode_into(&x, &mut c1).unwrap();
            back.encode_into(&x, &mut c2).unwrap();
            assert_eq!(c1, c2);

            let c = turbo_mse_ip(dim, bits, 8, rot, cb).unwrap();
            let b = c.to_bytes().unwrap();
            assert_eq!(MseIpParams::from_bytes(&b).unwrap(), MseIpParams::new(dim, bits, 8, rot, cb).unwrap());
            let back = TurboMseIp::from_bytes(&b).unwrap();
            assert_eq!(back, c);
            // Same payload as the MSE kind, different kind tag.
            let mse = turbo_mse(dim, bits, 8, rot, cb).unwrap().to_bytes().unwrap();
            assert_eq!(b[12..b.len() - 4], mse[12..mse.len() - 4]);
            assert!(matches!(MseParams::from_bytes(&b), Err(Error::WrongKind { .. })));

            if bits >= 2 {
                let c = turbo_prod_half(dim, bits, 9, rot, cb).unwrap();
                let b = c.to_bytes().unwrap();
                assert_eq!(
                    ProdSplitParams::from_bytes(&b).unwrap(),
                    ProdSplitParams::half(dim, bits, 9, rot, cb).unwrap()
                );
                let back = TurboProdSplit::from_bytes(&b).unwrap();
                assert_eq!(back, c);
                let mut code = vec![0u8; c.code_len()];
                c.encode_into(&x, &mut code).unwrap();
                let (mut s1, mut s2) = (c.scratch(), back.scratch());
                let q1 = c.prepare(&x, &mut s1).unwrap();
                let q2 = back.prepare(&x, &mut s2).unwrap();
                assert_eq!(c.score(&q1, &code).unwrap(), back.score(&q2, &code).unwrap());
                assert!(matches!(MseSplitParams::from_bytes(&b), Err(Error::WrongKind { .. })));
            }
        }
    }

    #[test]
    fn split_truncations_flips_and_hostile_fields_are_errors() {
        let b = super::super::turbo_prod_half(24, 3, 2, RotationKind::Haar, CodebookKind::Gaussian)
            .unwrap()
            .to_bytes()
            .unwrap();
        for cut in 0..b.len() {
            assert!(ProdSplitParams::from_bytes(&b[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..b.len() {
            for bit in [0, 3, 7] {
                let mut c = b.clone();
                c[i] ^= 1 << bit;
                assert!(ProdSplitParams::from_bytes(&c).is_err(), "flip {i}.{bit}");
            }
        }
        let mk = |dim: u32, k: u32, rot: u8, a: (u8, u8, &[f32]), b: (u8, u8, &[f32])| {
            let mut w = crate::format::Writer::new(KIND_MSE_SPLIT);
            w.u32(dim).u32(k).u64(1).u8(rot);
            for (bits, tag, lv) in [a, b] {
                w.u8(bits).u8(tag).u16(lv.len() as u16).f32s(lv);
            }
            w.finish().unwrap()
        };
        let two: &[f32] = &[-0.5, 0.5];
        let four: &[f32] = &[-0.6, -0.2, 0.2, 0.6];
        assert!(MseSplitParams::from_bytes(&mk(8, 4, 0, (2, 2, four), (1, 2, two))).is_ok());
        let bad = [
            mk(8, 0, 0, (2, 2, four), (1, 2, two)),              // k = 0
            mk(8, 8, 0, (2, 2, four), (1, 2, two)),              // k = dim
            mk(1, 1, 0, (2, 2, four), (1, 2, two)),              // dim < 2
            mk(u32::MAX, 4, 0, (2, 2, four), (1, 2, two)),       // absurd dim
            mk(5000, 4, 1, (2, 2, four), (1, 2, two)),           // Haar too large
            mk(8, 4, 3, (2, 2, four), (1, 2, two)),              // rotation kind
            mk(8, 4, 0, (1, 2, four), (1, 2, two)),              // 4 levels at 1 bit
            mk(8, 4, 0, (2, 2, four), (1, 9, two)),              // tag
            mk(8, 4, 0, (2, 2, four), (1, 2, &[0.5, -0.5])),     // not increasing
            mk(8, 4, 0, (2, 2, four), (1, 2, &[f32::NAN, 0.5])), // NaN
            mk(8, 4, 0, (2, 2, four), (1, 2, &[-5.0, 0.5])),     // outside [-4, 4]
            mk(8, 4, 0, (2, 1, &[-0.5, 0.0, 0.5]), (1, 2, two)), // Beta with 3 levels
        ];
        for (i, b) in bad.iter().enumerate() {
            assert!(matches!(MseSplitParams::from_bytes(b), Err(Error::Corrupt(_))), "case {i}");
        }
        // Trailing bytes.
        let mut w = crate::format::Writer::new(KIND_MSE_SPLIT);
        w.u32(8).u32(4).u64(1).u8(0).u8(2).u8(2).u16(4).f32s(four).u8(1).u8(2).u16(2).f32s(two).u8(0);
        assert!(MseSplitParams::from_bytes(&w.finish().unwrap()).is_err());
    }
}
