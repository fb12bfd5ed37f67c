//! # vector-codecs
//!
//! Vector compression codecs behind one small set of traits: scalar quantization (uniform
//! integer, Lloyd–Max, f16/bf16/FP8/FP4/MX/NVFP4 float formats), binary codes, rotations, QJL,
//! TurboQuant and RaBitQ, product, pyramid ([`pvq`]) and sign-split vector quantization,
//! activation-aware weight quantization (`weights`), and entropy coders (rANS, range coding)
//! including lossless float compression. `no_std`: encode, decode and score need no allocator;
//! training needs `alloc`.
//!
//! ## The traits
//!
//! * [`Codec`] — fixed-rate encoding of a `dim()`-vector into `code_len()` bytes;
//! * [`Decode`] — reconstruction of `x̂` from a code;
//! * [`Score`] — a query prepared once into caller scratch, scored against codes (estimates
//!   `⟨q, x⟩`; [`Estimator`] says whether exactly on the reconstruction, unbiased, or biased);
//! * [`ScoreSymmetric`] — code against code;
//! * [`Symbols`] — a code as symbols for the entropy coders.
//!
//! Compositions (rotation ∘ scalar, residual stages, entropy-coded X) are generic wrappers over
//! these traits; see [`codec`].
//!
//! ## Features
//!
//! * `std` (default): runtime CPU-feature detection for the SIMD arch paths; implies `alloc`.
//! * `alloc`: training, serialization to `Vec<u8>`, owned query scratch helpers.
//! * `parallel` (implies `std`, adds the `rayon` dependency): batch encode/decode, scans to
//!   top-k and training on all cores (rayon's pool, `RAYON_NUM_THREADS`), with results identical
//!   to one thread; see [`par`].
//!
//! Without default features the crate builds for bare-metal targets such as
//! `thumbv7em-none-eabihf`.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod bits;
mod buf;
pub mod codec;
pub mod compose;
pub mod dynamic;
pub mod error;
#[cfg(feature = "alloc")]
pub mod factory;
pub mod format;
#[cfg(feature = "std")]
pub mod io;
#[cfg(feature = "alloc")]
pub mod kv;
pub mod metric;
pub mod par;
pub mod persist;
pub mod pq;
pub mod rerank;
pub mod rng;
pub mod simd;
#[cfg(feature = "alloc")]
pub mod ssvq;
pub mod topk;
#[cfg(feature = "alloc")]
pub mod train;

pub mod binary;
pub mod entropy;
pub mod pvq;
pub mod qjl;
pub mod rabitq;
pub mod scalar;
pub mod transform;
pub mod turbo;
#[cfg(feature = "alloc")]
pub mod weights;

pub use codec::{Codec, Decode, Estimator, MAX_NORM, ScanMode, ScanModes, Score, ScoreSymmetric, Symbols};
pub use error::{Error, Result};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
