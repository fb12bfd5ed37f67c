//! Factory entries of QJL ([`crate::qjl`]): seeded, nothing trained; saved as dimension, sketch
//! length / rotation kind and seed, re-derived on load.

use super::{Args, Entry, Source, make};
use crate::dynamic::DynCodec;
use crate::error::Result;
use crate::qjl::Qjl;
use crate::qjl::ortho::OrthoQjl;
use crate::transform::RotationKind;
use alloc::boxed::Box;

fn ortho(a: &Args<'_>, s: Source<'_, '_>, kind: RotationKind) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| OrthoQjl::new(a.dim, kind, a.seed))
}

const fn entry(pattern: &'static str, about: &'static str, build: super::BuildFn) -> Entry {
    Entry { pattern, family: "qjl", about, trained: false, quick: false, examples: &[], build }
}

pub(super) const ENTRIES: &[Entry] = &[
    entry("qjl", "QJL sign sketch (Gaussian S, m = d) + f32 norm, unbiased", |a, s| {
        make(a, s, |_| Qjl::new(a.dim, a.dim, a.seed))
    }),
    entry("qjl-orth", "QJL through a Haar rotation (m = d) + norm, unbiased, lower variance", |a, s| {
        ortho(a, s, RotationKind::Haar)
    }),
    entry("qjl-orth-h", "QJL through a randomized Hadamard rotation (O(d log d)) + norm, biased", |a, s| {
        ortho(a, s, RotationKind::Hadamard)
    }),
];
