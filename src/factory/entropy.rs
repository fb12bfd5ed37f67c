//! Factory entries of the entropy-coded codecs ([`crate::entropy::coded`]): a fixed-rate codec's
//! symbols through static rANS models (per position), trained on the training set's codes.
//!
//! Codes in memory are the inner codec's fixed-rate codes (scans and decodes run on them); the
//! stored form is what the models add: [`DynCodec::stored_bytes`], [`DynCodec::compress`] and
//! [`DynCodec::decompress`] entropy code them for real. For the L2 and cosine metrics the
//! stored norm of [`WithNorm`] is one more raw side field of every vector. Saved: the inner
//! codec's parameters (inside [`WithNorm`] for L2/cosine), then the models.

use super::{Args, Entry, Source};
use crate::codec::{Codec, Decode, Estimator, Score, Symbols};
use crate::dynamic::{DynCodec, Erased, PreparedQuery};
use crate::entropy::coded::EntropyCoded;
use crate::error::{Error, Result};
use crate::metric::{Metric, WithNorm};
use crate::persist::Persist;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Trains the models of `inner` on the codes of `data` (row-major training vectors).
fn train_models<C: Symbols>(inner: C, data: &[f32]) -> Result<EntropyCoded<C>> {
    let n = crate::codec::batch_rows(data.len(), inner.dim())?;
    let mut sample = alloc::vec![0u8; n * inner.code_len()];
    inner.encode_batch(data, &mut sample)?;
    EntropyCoded::train(inner, &sample)
}

/// Builds (trains or restores) the entropy-coded form of the codec `train` makes: the inner
/// codec for the inner product, [`WithNorm`] of it for L2 and cosine, then the models. A
/// restored inner codec must be the configuration the name says (`named`).
///
/// # Errors
/// As `train`, [`EntropyCoded::train`] and [`Persist::restore`]; [`Error::Corrupt`] where
/// `named` refuses the restored inner codec.
pub(super) fn coded<C, F, K>(a: &Args<'_>, src: Source<'_, '_>, train: F, named: K) -> Result<Box<dyn DynCodec>>
where
    C: Symbols + Decode + Score + Persist + Send + Sync + 'static,
    F: FnOnce(&[f32]) -> Result<C>,
    K: Fn(&C) -> bool,
{
    let refuse = Error::Corrupt("parameters differ from what the configuration name builds");
    if a.metric == Metric::InnerProduct {
        let codec = match src {
            Source::Train(d) => train_models(train(d)?, d)?,
            Source::Load(r) => EntropyCoded::<C>::restore(r)?,
        };
        if !named(codec.inner()) {
            return Err(refuse);
        }
        erase(a, codec)
    } else {
        let codec = match src {
            Source::Train(d) => train_models(WithNorm::new(train(d)?, a.metric), d)?,
            Source::Load(r) => EntropyCoded::<WithNorm<C>>::restore(r)?,
        };
        if !named(&codec.inner().inner) {
            return Err(refuse);
        }
        if codec.inner().metric != a.metric {
            return Err(Error::Corrupt("metric of the parameters differs from the header's"));
        }
        erase(a, codec)
    }
}

fn erase<C>(a: &Args<'_>, codec: EntropyCoded<C>) -> Result<Box<dyn DynCodec>>
where
    C: Symbols + Decode + Score + Persist + Send + Sync + 'static,
{
    if codec.dim() != a.dim {
        return Err(Error::DimensionMismatch { expected: a.dim, got: codec.dim() });
    }
    Ok(Box::new(Coded(Erased::new(a.name, a.about, a.metric, a.seed, codec)?)))
}

/// An entropy-coded codec behind [`DynCodec`]: [`Erased`] for everything, with the stored form
/// compressed by the models.
struct Coded<C: Symbols>(Erased<EntropyCoded<C>>);

impl<C> DynCodec for Coded<C>
where
    C: Symbols + Decode + Score + Persist + Send + Sync,
{
    fn name(&self) -> &str {
        self.0.name()
    }
    fn about(&self) -> &str {
        self.0.about()
    }
    fn metric(&self) -> Metric {
        self.0.metric()
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn code_len(&self) -> usize {
        self.0.code_len()
    }
    fn estimator(&self) -> Estimator {
        self.0.estimator()
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        self.0.encode_batch(xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.0.decode_batch(codes, out)
    }
    fn layout_block(&self) -> (usize, usize) {
        self.0.layout_block()
    }
    fn to_layout(&self, codes: &[u8], out: &mut [u8]) -> Result<()> {
        self.0.to_layout(codes, out)
    }
    fn query_scratch_len(&self) -> usize {
        self.0.query_scratch_len()
    }
    fn with_query(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        f: &mut dyn FnMut(&dyn PreparedQuery) -> Result<()>,
    ) -> Result<()> {
        self.0.with_query(q, scratch, f)
    }
    fn save(&self) -> Result<Vec<u8>> {
        self.0.save()
    }
    /// The size of [`compress`](DynCodec::compress)'s output.
    fn stored_bytes(&self, codes: &[u8]) -> Result<usize> {
        Ok(self.0.codec.compress(codes)?.len())
    }
    fn compress(&self, codes: &[u8]) -> Result<Vec<u8>> {
        self.0.codec.compress(codes)
    }
    fn decompress(&self, stored: &[u8]) -> Result<Vec<u8>> {
        self.0.codec.decompress(stored)
    }
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        pattern: "sq4+rans",
        family: "entropy",
        about: "sq4 levels entropy-coded with rANS (bits/dim measured)",
        trained: true,
        quick: true,
        examples: &[],
        build: |a, s| coded(a, s, |d| sq(a, d, 4), |c| sq_named(c, 4)),
    },
    Entry {
        pattern: "sq8+rans",
        family: "entropy",
        about: "sq8 levels entropy-coded with rANS (bits/dim measured)",
        trained: true,
        quick: false,
        examples: &[],
        build: |a, s| coded(a, s, |d| sq(a, d, 8), |c| sq_named(c, 8)),
    },
];

/// Whether a restored inner codec is `sq{bits}`'s configuration.
fn sq_named(c: &crate::scalar::uniform::PerDim, bits: u32) -> bool {
    use crate::codec::{ScanMode, ScanModes};
    c.bits() == bits && !c.symmetric() && c.scan_mode() == ScanMode::Float
}

/// The inner codec of `sq{bits}+rans`: the per-dimension min/max grid of `sq{bits}`, trained on
/// `data`.
fn sq(a: &Args<'_>, data: &[f32], bits: u32) -> Result<crate::scalar::uniform::PerDim> {
    use crate::scalar::uniform::{PerDim, RangeEstimator};
    super::need_rows(data, a.dim, 1)?;
    PerDim::train(data, a.dim, bits, RangeEstimator::MinMax, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::float::{FloatCodec, FloatFormat};

    /// The generic entropy-coded path (train, scan, compress, save, restore) over a codec that
    /// has `Persist` on this branch (FP8 with a per-vector scale side field).
    #[test]
    fn coded_float_round_trips_for_every_metric() {
        let dim = 24;
        let n = 300;
        let data: Vec<f32> = (0..n * dim).map(|i| (((i * 7919) % 211) as f32 - 105.0) / 40.0).collect();
        for metric in [Metric::InnerProduct, Metric::L2, Metric::Cosine] {
            let args = Args { name: "fp8e4m3", params: [0; 4], dim, metric, seed: 5, about: "test" };
            let c = coded(&args, Source::Train(&data), |_| FloatCodec::new(dim, FloatFormat::E4M3), |_| true).unwrap();
            let mut codes = alloc::vec![0u8; n * c.code_len()];
            c.encode_batch(&data, &mut codes).unwrap();
            let stored = c.compress(&codes).unwrap();
            assert_eq!(c.stored_bytes(&codes).unwrap(), stored.len());
            assert_eq!(c.decompress(&stored).unwrap(), codes);
            for cut in [0, 3, stored.len() / 2, stored.len() - 1] {
                let _ = c.decompress(&stored[..cut]);
            }
            let saved = c.save().unwrap();
            // The header fields `factory::load` reads, then the codec's own.
            let mut r = crate::format::open(&saved, super::super::KIND).unwrap();
            let len = usize::from(r.u8().unwrap());
            r.bytes(len).unwrap();
            assert_eq!(Metric::from_tag(r.u8().unwrap()).unwrap(), metric);
            assert_eq!(r.u32().unwrap() as usize, dim);
            r.u64().unwrap();
            let back =
                coded(&args, Source::Load(&mut r), |_| FloatCodec::new(dim, FloatFormat::E4M3), |_| true).unwrap();
            r.finish().unwrap();
            assert_eq!(back.save().unwrap(), saved);
            assert_eq!(back.compress(&codes).unwrap(), stored);
            let q = &data[..dim];
            let (mut s1, mut s2) = (alloc::vec![0f32; n], alloc::vec![0f32; n]);
            (*c).scan(q, &codes, &mut s1).unwrap();
            (*back).scan(q, &codes, &mut s2).unwrap();
            assert_eq!(s1, s2);
            let params = &saved[12 + 1 + "fp8e4m3".len() + 1 + 4 + 8..saved.len() - 4];
            for cut in [0, params.len() / 2, params.len() - 1] {
                let mut r = crate::format::Reader::new(&params[..cut]);
                assert!(
                    coded(&args, Source::Load(&mut r), |_| FloatCodec::new(dim, FloatFormat::E4M3), |_| true).is_err()
                );
            }
        }
    }
}
