//! Entropy coding: static models, rANS (single-state 32/64-bit and interleaved), an Opus-style
//! range coder with adaptive models, entropy-coded codes and lossless float compression.
//!
//! * [`model`] — static frequency models normalized to `2^n`, serializable (kind `0x0601`).
//! * [`rans`] — [`rans::rans32`] (byte renormalisation) and [`rans::rans64`] (32-bit words).
//! * [`word`] — the interleaved rANS coder: 4/8/32 lanes of 32-bit states sharing one stream of
//!   16-bit words (model scale ≤ 15), with AVX2 encoder and decoders.
//! * [`range`] — range coder: adaptive binary/multi-symbol models, raw bits, uniform integers.
//! * [`coded`] — `EntropyCoded<C: Symbols>`: variable-rate storage of any codec's codes.
//! * [`lossless`] — bit-exact bf16/f16/f32 compression with random access by block.
//!
//! Every decoder reads from `&[u8]` without an allocator and is total on arbitrary bytes
//! (`Err`, never a panic, out-of-bounds read or endless loop).
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use vector_codecs::entropy::{model::Model, word::{self, Lanes}};
//! let data: Vec<u16> = (0..1000u32).map(|i| ((i * 7) % 5) as u16).collect();
//! let model = Model::from_symbols(&data, 5, 12).unwrap();
//! let bytes = word::encode_vec(&[model.view()], Lanes::L8, &data).unwrap();
//! let mut back = vec![0u16; data.len()];
//! word::decode(&model.view(), Lanes::L8, &bytes, &mut back).unwrap();
//! assert_eq!(back, data);
//! # }
//! ```

pub mod coded;
pub mod lossless;
pub mod model;
pub mod range;
pub mod rans;
pub mod word;
