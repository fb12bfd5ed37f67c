//! Factory entries of sign-split VQ ([`crate::ssvq`]).
//!
//! * `SSVQ{D}x{B}`: sub-vectors of `D ∈ 2..=8` coordinates (dividing the dimension), one sign bit
//!   per coordinate, and one shared k-means codebook of `2^B` (`B ∈ 1..=12`) magnitude centroids:
//!   `1 + B/D` bits per dimension. Trained with FAISS's k-means defaults seeded with the codec's
//!   seed on the `|x|` sub-vectors of the training rows.
//!
//! Inner product uses the sign-aware table (exact on the reconstruction); L2 and cosine go
//! through [`WithNorm`] (a stored `‖x̂‖`).

use alloc::boxed::Box;

use super::{Args, Entry, Source, need_rows};
use crate::dynamic::{DynCodec, Erased};
use crate::error::{Error, Result};
use crate::metric::{Metric, WithNorm};
use crate::persist::Persist;
use crate::ssvq::SignSplitVq;
use crate::train::KMeansConfig;

fn check(v: &SignSplitVq, ds: usize, nbits: u32) -> Result<()> {
    if v.ds() != ds || v.nbits() != nbits {
        return Err(Error::Corrupt("SSVQ parameters differ from the configuration name"));
    }
    Ok(())
}

fn ssvq(a: &Args<'_>, src: Source<'_, '_>, ds: u32, nbits: u32) -> Result<Box<dyn DynCodec>> {
    let ds = ds as usize;
    let train = |data: &[f32]| -> Result<SignSplitVq> {
        need_rows(data, a.dim, 1)?;
        SignSplitVq::train(data, a.dim, ds, nbits, &KMeansConfig { seed: a.seed, ..KMeansConfig::default() })
    };
    if a.metric == Metric::InnerProduct {
        let codec = match src {
            Source::Train(data) => train(data)?,
            Source::Load(r) => SignSplitVq::restore(r)?,
        };
        check(&codec, ds, nbits)?;
        return erase(a, codec);
    }
    let codec = match src {
        Source::Train(data) => WithNorm::new(train(data)?, a.metric),
        Source::Load(r) => WithNorm::<SignSplitVq>::restore(r)?,
    };
    check(&codec.inner, ds, nbits)?;
    if codec.metric != a.metric {
        return Err(Error::Corrupt("metric of the parameters differs from the header's"));
    }
    erase(a, codec)
}

fn erase<C>(a: &Args<'_>, codec: C) -> Result<Box<dyn DynCodec>>
where
    C: crate::Decode + crate::Score + Persist + Send + Sync + 'static,
{
    if codec.dim() != a.dim {
        return Err(Error::DimensionMismatch { expected: a.dim, got: codec.dim() });
    }
    Ok(Box::new(Erased::new(a.name, a.about, a.metric, a.seed, codec)?))
}

pub(super) const ENTRIES: &[Entry] = &[Entry {
    pattern: "SSVQ{N}x{N}",
    family: "ssvq",
    about: "sign-split VQ: 1 sign bit/dim + shared k-means codebook of 2^B magnitude sub-vectors of D dims",
    trained: true,
    quick: true,
    examples: &["SSVQ4x8", "SSVQ2x4"],
    build: |a, s| ssvq(a, s, a.p(0), a.p(1)),
}];
