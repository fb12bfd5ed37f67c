//! Entropy coding: static models, rANS (single-state 32/64-bit and interleaved), an Opus-style
//! range coder with adaptive models, entropy-coded codes and lossless float compression.
//!
//! * [`model`] — static frequency models normalized to `2^n`, serializable (kind `0x0601`).
//! * [`rans`] — [`rans::rans32`] (byte renormalisation) and [`rans::rans64`] (32-bit words).
//! * [`interleaved`] — 4/8/32-lane rANS with 64-bit states and 32-bit words (coder v1).
//! * [`word`] — 4/8/32-lane rANS with 32-bit states and 16-bit words (coder v2): the fast coder.
//! * [`range`] — range coder: adaptive binary/multi-symbol models, raw bits, uniform integers.
//! * [`coded`] — `EntropyCoded<C: Symbols>`: variable-rate storage of any codec's codes.
//! * [`lossless`] — bit-exact bf16/f16/f32 compression with random access by block.
//!
//! Every decoder reads from `&[u8]` without an allocator and is total on arbitrary bytes
//! (`Err`, never a panic, out-of-bounds read or endless loop).
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use vector_codecs::entropy::{interleaved::{self, Lanes}, model::Model};
//! let data: Vec<u16> = (0..1000u32).map(|i| ((i * 7) % 5) as u16).collect();
//! let model = Model::from_symbols(&data, 5, 12).unwrap();
//! let bytes = interleaved::encode_vec(&[model.view()], Lanes::L8, &data).unwrap();
//! let mut back = vec![0u16; data.len()];
//! interleaved::decode(&model.view(), Lanes::L8, &bytes, &mut back).unwrap();
//! assert_eq!(back, data);
//! # }
//! ```

pub mod coded;
pub mod interleaved;
pub mod lossless;
pub mod model;
pub mod range;
pub mod rans;
pub mod word;
