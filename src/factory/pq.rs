//! Factory entries of product quantization ([`crate::pq`]), FAISS `index_factory` spellings.
//!
//! * `PQ{M}x{nbits}` / `PQ{M}` (8 bits): float-table ADC.
//! * `PQ{M}x4fs`: 4-bit codes scanned with the fast-scan kernels (quantized `u8` tables,
//!   [`ScanMode::I8`]).
//! * `PQ{M}x4fs-rr{R}`: the same codec and codes, with its top-k scans re-ranked
//!   ([`Rerank`], [`crate::rerank`]): the `R·k` best fast-scan scores are re-scored with the
//!   float-table ADC (exact on the reconstruction) and the `k` best returned. `R ∈ 1..=64`; the
//!   factor is saved with the parameters and checked against the name on load.
//! * `OPQ{M},PQ{M}` / `OPQ{M}_{D},PQ{M}`: a learned rotation (or, for `D < d`, an orthonormal
//!   projection to `D` dimensions), then 8-bit PQ.
//!
//! Metrics: inner product uses the PQ's inner-product table; **L2 uses the PQ's native table of
//! sub-vector squared distances** (no stored norm, so codes are 4 bytes shorter than with
//! [`WithNorm`](crate::metric::WithNorm), and `−‖q − x̂‖²` is exact on the reconstruction without
//! the cancellation of `‖q‖² − 2⟨q, x̂⟩ + ‖x̂‖²`); cosine goes through `WithNorm` (it needs
//! `‖x̂‖`). `OPQ{M}_{D}` with `D < d` is not distance-preserving, so its L2 also uses `WithNorm`.
//!
//! The example names (`PQ24x8`, `PQ24x4fs`, `OPQ24,PQ24`, …) use `M` dividing 24, 96 and 384, the
//! dimensions the crate's tests build every name at; any `M` dividing `d` works (`PQ48x8`,
//! `PQ96x4fs` at d = 384).
//!
//! Training: FAISS's k-means defaults (25 iterations, ≤ 256 points per centroid) seeded with the
//! codec's seed. OPQ starts from the eigenvalue-allocation rotation
//! ([`OpqInit::EigenAllocation`], Ge et al.'s parametric solution) and alternates
//! [`OPQ_NITER`] times with 4 hot-started k-means iterations each; the final PQ (25 iterations
//! on all rows) is hot-started from the last alternation's codebooks
//! ([`OpqConfig::hot_final`]; FAISS trains it from scratch). FAISS starts from a random
//! rotation and alternates 50 times; on `wordnet-minilm-l6` (d = 384, `OPQ48`) the
//! eigenvalue-allocation start with 8 alternations and the hot-started final PQ reaches a lower
//! error (relative MSE 0.144 against FAISS's 0.158) in a fraction of the time; see
//! [`crate::pq::opq`].

use alloc::boxed::Box;

use super::{Args, Entry, Source, make, make_checked};
use crate::codec::{ScanMode, ScanModes};
use crate::dynamic::{DynCodec, Erased};
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::persist::Persist;
use crate::pq::opq::{Opq, OpqConfig, OpqInit, train_opq};
use crate::pq::{PqMetric, ProductQuantizer};
use crate::rerank::Rerank;
use crate::train::KMeansConfig;

/// OPQ alternations used by the factory, from the eigenvalue-allocation start (FAISS: 50 from a
/// random rotation).
pub const OPQ_NITER: usize = 8;

fn kcfg(a: &Args<'_>) -> KMeansConfig {
    KMeansConfig { seed: a.seed, ..KMeansConfig::default() }
}

fn pq_metric(metric: Metric) -> PqMetric {
    if metric == Metric::L2 { PqMetric::L2 } else { PqMetric::InnerProduct }
}

/// Checks that restored parameters are the ones the name says.
fn check_pq(pq: &ProductQuantizer, m: usize, nbits: u32, scan: ScanMode, metric: PqMetric) -> Result<()> {
    if pq.m() != m || pq.nbits() != nbits || pq.scan_mode() != scan || pq.metric() != metric {
        return Err(Error::Corrupt("PQ parameters differ from the configuration name"));
    }
    Ok(())
}

fn pq(a: &Args<'_>, src: Source<'_, '_>, m: u32, nbits: u32, scan: ScanMode) -> Result<Box<dyn DynCodec>> {
    let m = m as usize;
    let train = |metric: PqMetric, data: &[f32]| -> Result<ProductQuantizer> {
        ProductQuantizer::train(data, a.dim, m, nbits, &kcfg(a))?.with_metric(metric).with_scan(scan)
    };
    if a.metric == Metric::Cosine {
        return make(a, src, |data| train(PqMetric::InnerProduct, data));
    }
    let metric = pq_metric(a.metric);
    let codec = match src {
        Source::Train(data) => train(metric, data)?,
        Source::Load(r) => ProductQuantizer::restore(r)?,
    };
    check_pq(&codec, m, nbits, scan, metric)?;
    erase(a, codec)
}

/// `PQ{m}x4fs` re-ranked with factor `factor` (a [`Rerank`] of the fast-scan quantizer; under
/// [`WithNorm`](crate::metric::WithNorm) for cosine).
fn pq_rerank(a: &Args<'_>, src: Source<'_, '_>, m: u32, factor: u32) -> Result<Box<dyn DynCodec>> {
    let (m, factor) = (m as usize, factor as usize);
    if !(1..=crate::rerank::MAX_FACTOR).contains(&factor) {
        return Err(Error::InvalidParameter("PQ{M}x4fs-rr{R}: R must be 1..=64"));
    }
    let train = |metric: PqMetric, data: &[f32]| -> Result<Rerank<ProductQuantizer>> {
        let pq = ProductQuantizer::train(data, a.dim, m, 4, &kcfg(a))?.with_metric(metric).with_scan(ScanMode::I8)?;
        Rerank::new(pq, factor)
    };
    let named = |c: &Rerank<ProductQuantizer>, metric: PqMetric| {
        c.factor() == factor && check_pq(&c.inner, m, 4, ScanMode::I8, metric).is_ok()
    };
    if a.metric == Metric::Cosine {
        return make_checked(a, src, |data| train(PqMetric::InnerProduct, data), |c| named(c, PqMetric::InnerProduct));
    }
    let metric = pq_metric(a.metric);
    let codec = match src {
        Source::Train(data) => train(metric, data)?,
        Source::Load(r) => Rerank::<ProductQuantizer>::restore(r)?,
    };
    if !named(&codec, metric) {
        return Err(Error::Corrupt("re-ranked PQ parameters differ from the configuration name"));
    }
    erase(a, codec)
}

fn opq(a: &Args<'_>, src: Source<'_, '_>, d_out: usize, m: u32, mp: u32) -> Result<Box<dyn DynCodec>> {
    if m != mp {
        return Err(Error::InvalidParameter("OPQ{M},PQ{M}: the two M must be equal"));
    }
    let m = m as usize;
    let train = |metric: PqMetric, data: &[f32]| -> Result<Opq> {
        let cfg = OpqConfig {
            niter: OPQ_NITER,
            kmeans: kcfg(a),
            init: OpqInit::EigenAllocation,
            hot_final: true,
            ..OpqConfig::default()
        };
        let (mut o, _) = train_opq(data, a.dim, d_out, m, 8, &cfg)?;
        o.inner = o.inner.with_metric(metric);
        Ok(o)
    };
    let native = a.metric == Metric::L2 && d_out == a.dim;
    if !native && a.metric != Metric::InnerProduct {
        return make(a, src, |data| train(PqMetric::InnerProduct, data));
    }
    let metric = pq_metric(a.metric);
    let codec = match src {
        Source::Train(data) => train(metric, data)?,
        Source::Load(r) => Opq::restore(r)?,
    };
    check_pq(&codec.inner, m, 8, ScanMode::Float, metric)?;
    if crate::transform::Transform::dim_out(&codec.transform) != d_out {
        return Err(Error::Corrupt("OPQ output dimension differs from the configuration name"));
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

const fn entry(
    pattern: &'static str,
    about: &'static str,
    quick: bool,
    examples: &'static [&'static str],
    build: super::BuildFn,
) -> Entry {
    Entry { pattern, family: "pq", about, trained: true, quick, examples, build }
}

pub(super) const ENTRIES: &[Entry] = &[
    entry(
        "PQ{N}x4fs-rr{N}",
        "fast-scan PQ M×4, top R·k re-scored with the float-table ADC (re-rank factor R)",
        false,
        &["PQ24x4fs-rr4"],
        |a, s| pq_rerank(a, s, a.p(0), a.p(1)),
    ),
    entry("PQ{N}x4fs", "PQ, M sub-quantizers of 4 bits, fast-scan (u8 tables, pshufb)", true, &["PQ24x4fs"], |a, s| {
        pq(a, s, a.p(0), 4, ScanMode::I8)
    }),
    entry(
        "PQ{N}x{N}",
        "product quantization, M sub-quantizers of nbits (1..=16) bits",
        true,
        &["PQ24x8", "PQ12x4"],
        |a, s| pq(a, s, a.p(0), a.p(1), ScanMode::Float),
    ),
    entry("PQ{N}", "product quantization, M sub-quantizers of 8 bits", false, &["PQ8"], |a, s| {
        pq(a, s, a.p(0), 8, ScanMode::Float)
    }),
    entry("OPQ{N}_{N},PQ{N}", "OPQ projection to D dims (D ≤ d), then PQ M×8", false, &["OPQ8_16,PQ8"], |a, s| {
        opq(a, s, a.p(1) as usize, a.p(0), a.p(2))
    }),
    entry("OPQ{N},PQ{N}", "OPQ rotation learned with PQ, then PQ M×8", false, &["OPQ24,PQ24"], |a, s| {
        opq(a, s, a.dim, a.p(0), a.p(1))
    }),
];
