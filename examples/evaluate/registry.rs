//! Short names → codec constructors: one section per codec family.
//!
//! Adding a configuration is adding one [`Entry`] line to its family's section; adding a family
//! is adding a section (and its function to [`all`]). Every constructor takes the training data
//! (the base vectors) and returns the codec behind the object-safe [`EvalCodec`] view; fixed-rate
//! codecs implementing `Decode + Score` are boxed as they are, pure scorers go through
//! [`ScoreOnly`](crate::adapter::ScoreOnly), variable-rate (entropy-coded) ones through
//! [`VariableRate`](crate::adapter::VariableRate).

use crate::adapter::{EvalCodec, TrainData};
use crate::baseline::F32Codec;
use vector_codecs::Result;

/// A constructor: trains (where needed) on the training data and returns the codec.
pub type Build = fn(&TrainData) -> Result<Box<dyn EvalCodec>>;

/// One codec configuration of the table.
pub struct Entry {
    /// The short name used by `--codecs` and printed in the table.
    pub name: &'static str,
    /// The family (module) it comes from.
    pub family: &'static str,
    /// One line on what the configuration is.
    pub about: &'static str,
    /// Whether `--quick` runs it (keep the quick set small: CI runs it).
    pub quick: bool,
    /// The constructor.
    pub build: Build,
}

const fn entry(name: &'static str, family: &'static str, about: &'static str, quick: bool, build: Build) -> Entry {
    Entry { name, family, about, quick, build }
}

// ---------------------------------------------------------------------------------------------
// Baseline: uncompressed f32 (the exact-search reference row).
// ---------------------------------------------------------------------------------------------
fn baseline() -> Vec<Entry> {
    vec![entry("f32", "baseline", "raw little-endian f32, 32 bits/dim (exact reference)", true, |t| {
        Ok(Box::new(F32Codec::new(t.dim)))
    })]
}

/// Every configuration, in table order.
pub fn all() -> Vec<Entry> {
    let mut v = Vec::new();
    v.extend(baseline());
    v
}

/// The configurations `--quick` runs.
pub fn quick() -> Vec<Entry> {
    all().into_iter().filter(|e| e.quick).collect()
}
