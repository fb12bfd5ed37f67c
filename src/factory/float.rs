//! Factory entries of the float formats ([`crate::scalar::float`]): no training, nothing but the
//! dimension and format is saved.

use super::{Args, Entry, Source, make};
use crate::dynamic::DynCodec;
use crate::error::Result;
use crate::scalar::float::{FloatCodec, FloatFormat};
use alloc::boxed::Box;

fn float(a: &Args<'_>, src: Source<'_, '_>, f: FloatFormat) -> Result<Box<dyn DynCodec>> {
    make(a, src, |_| FloatCodec::new(a.dim, f))
}

const fn entry(pattern: &'static str, about: &'static str, quick: bool, build: super::BuildFn) -> Entry {
    Entry { pattern, family: "scalar-float", about, trained: false, quick, examples: &[], build }
}

pub(super) const ENTRIES: &[Entry] = &[
    entry("f16", "IEEE binary16, 16 bits/dim", true, |a, s| float(a, s, FloatFormat::F16)),
    entry("SQfp16", "FAISS spelling of f16", false, |a, s| float(a, s, FloatFormat::F16)),
    entry("bf16", "bfloat16, 16 bits/dim", false, |a, s| float(a, s, FloatFormat::Bf16)),
    entry("SQbf16", "FAISS spelling of bf16", false, |a, s| float(a, s, FloatFormat::Bf16)),
    entry("fp8e4m3", "FP8 E4M3 with an f32 scale per vector", true, |a, s| float(a, s, FloatFormat::E4M3)),
    entry("fp8e5m2", "FP8 E5M2 with an f32 scale per vector", false, |a, s| float(a, s, FloatFormat::E5M2)),
    entry("fp4e2m1", "FP4 E2M1 with an f32 scale per vector", false, |a, s| float(a, s, FloatFormat::E2M1)),
    entry("mxfp8", "MXFP8: E4M3 + an E8M0 scale per 32", false, |a, s| float(a, s, FloatFormat::MxFp8)),
    entry("mxfp4", "MXFP4: E2M1 + an E8M0 scale per 32", false, |a, s| float(a, s, FloatFormat::MxFp4)),
    entry("nvfp4", "NVFP4: E2M1 + an E4M3 scale per 16 + an f32 scale per vector", false, |a, s| {
        float(a, s, FloatFormat::NvFp4)
    }),
];
