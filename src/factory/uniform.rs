//! Factory entries of the uniform scalar codecs ([`crate::scalar::uniform`]): per-dimension
//! grids trained on min/max ranges (saved: the grids and the scan mode), and per-block /
//! per-vector scales stored in the codes (saved: the layout only).

use super::{Args, Entry, Source, make, make_checked, need_rows};
use crate::codec::{ScanMode, ScanModes};
use crate::dynamic::DynCodec;
use crate::error::Result;
use crate::scalar::uniform::{BlockUniform, PerDim, RangeEstimator, ScaleFormat};
use alloc::boxed::Box;

/// A per-dimension `bits`-bit codec on min/max ranges of the training data, scoring in `scan`.
fn per_dim(a: &Args<'_>, src: Source<'_, '_>, bits: u32, scan: ScanMode) -> Result<Box<dyn DynCodec>> {
    make_checked(
        a,
        src,
        |data| {
            need_rows(data, a.dim, 1)?;
            PerDim::train(data, a.dim, bits, RangeEstimator::MinMax, false)?.with_scan(scan)
        },
        |c: &PerDim| c.bits() == bits && !c.symmetric() && c.scan_mode() == scan,
    )
}

/// A codec with scales in the code: per block of `block` coordinates, or per vector (`None`).
fn block(
    a: &Args<'_>,
    src: Source<'_, '_>,
    bits: u32,
    block: Option<usize>,
    symmetric: bool,
    scales: ScaleFormat,
) -> Result<Box<dyn DynCodec>> {
    make(a, src, |_| BlockUniform::with_scales(a.dim, bits, block, symmetric, scales))
}

const fn trained(pattern: &'static str, about: &'static str, quick: bool, build: super::BuildFn) -> Entry {
    Entry { pattern, family: "scalar-uniform", about, trained: true, quick, examples: &[], build }
}

const fn fixed(pattern: &'static str, about: &'static str, build: super::BuildFn) -> Entry {
    Entry { pattern, family: "scalar-uniform", about, trained: false, quick: false, examples: &[], build }
}

pub(super) const ENTRIES: &[Entry] = &[
    trained("sq8", "8-bit per-dimension min/max grid (trained), float query", true, |a, s| {
        per_dim(a, s, 8, ScanMode::Float)
    }),
    trained("SQ8", "FAISS spelling of sq8 (per-dimension min/max, 8-bit)", false, |a, s| {
        per_dim(a, s, 8, ScanMode::Float)
    }),
    trained("sq8-i8", "sq8 scanned with the i8 integer query (exact u8×i8 dot, biased)", false, |a, s| {
        per_dim(a, s, 8, ScanMode::I8)
    }),
    trained("sq8-i16", "sq8 scanned with the i16 integer query (exact u8×i16 dot, biased)", false, |a, s| {
        per_dim(a, s, 8, ScanMode::I16)
    }),
    trained("sq4", "4-bit per-dimension min/max grid (trained), float query", true, |a, s| {
        per_dim(a, s, 4, ScanMode::Float)
    }),
    trained("SQ4", "FAISS spelling of sq4 (per-dimension min/max, 4-bit)", false, |a, s| {
        per_dim(a, s, 4, ScanMode::Float)
    }),
    trained("sq4-i8", "sq4 scanned with the i8 integer query (exact u8×i8 dot, biased)", false, |a, s| {
        per_dim(a, s, 4, ScanMode::I8)
    }),
    fixed("sq8-b32", "8-bit, f16 min and Δ per block of 32 in the code (9 bits/dim)", |a, s| {
        block(a, s, 8, Some(32), false, ScaleFormat::F16)
    }),
    fixed("sq4-b32", "4-bit, f16 min and Δ per block of 32 in the code (5 bits/dim, ≈ ggml Q4_1)", |a, s| {
        block(a, s, 4, Some(32), false, ScaleFormat::F16)
    }),
    fixed(
        "sq4-b32-sym",
        "4-bit symmetric (levels −7..=7), f16 Δ = absmax/7 per block of 32 (4.5 bits/dim, ≈ ggml Q4_0)",
        |a, s| block(a, s, 4, Some(32), true, ScaleFormat::F16),
    ),
    fixed("sq8-vec", "8-bit, f32 min and Δ per vector in the code (8 + 64/d bits/dim)", |a, s| {
        block(a, s, 8, None, false, ScaleFormat::F32)
    }),
];
