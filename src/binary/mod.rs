//! Binary codes: 1-bit sign codes, multi-stage residual binarization, Hamming and asymmetric
//! scoring at memory speed.
//!
//! * [`BinaryCodec`] — `T ∈ 1..=8` stages of sign bits (`bit = 1` iff the value is `> 0`,
//!   LSB-first, `⌈d/8⌉` bytes per stage) of the running residual, each with its L2-optimal scale
//!   `α_t = ‖r_{t−1}‖₁/d`. One stage with a shared scale ([`ScaleFormat::Shared`]) is the plain
//!   sign code: exactly `⌈d/8⌉` bytes.
//! * [`CenteredBinary`] — the same codes of `x − μ` for a trained mean `μ`: the generic
//!   [`Centered`](crate::compose::Centered)`<BinaryCodec>` (no centring code of its own), with
//!   the code × code centring terms, Hamming scans and a zero-copy loader added here.
//! * Scoring: a float query ([`Score`](crate::Score) on [`BinaryCodec`], exactly `⟨q, x̂⟩`); code
//!   against code ([`ScoreSymmetric`](crate::ScoreSymmetric), `Σ_t Σ_u α_t β_u (d − 2H(b_t, c_u))`);
//!   a 4-bit bit-sliced query ([`ScanMode::Bitsliced`](crate::codec::ScanMode::Bitsliced) through
//!   [`ScanModes`](crate::codec::ScanModes), or [`BinaryCodec::bitsliced`]); raw Hamming distances ([`hamming`],
//!   [`hamming_batch`], [`hamming_scan_topk`]).
//! * Batch scans choose a popcount kernel at run time on x86-64 ([`PopcntBackend`]: AVX-512
//!   VPOPCNTDQ, AVX2 nibble lookup, portable `count_ones`).
//!
//! ```
//! use vector_codecs::binary::{BinaryCodec, hamming};
//! use vector_codecs::{Codec, Decode};
//! let codec = BinaryCodec::residual(8, 2).unwrap();
//! let x = [0.9, -0.2, 0.4, -1.3, 0.0, 2.2, -0.7, 0.1];
//! let mut code = [0u8; 10]; // 2 planes of 1 byte + 2 f32 scales
//! assert_eq!(codec.code_len(), code.len());
//! codec.encode_into(&x, &mut code).unwrap();
//! assert_eq!(code[0], 0b1010_0101); // stage 1: bit i = [x_i > 0]
//! let mut y = [0.0f32; 8];
//! codec.decode_into(&code, &mut y).unwrap();
//! let err: f32 = x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
//! assert!(err < x.iter().map(|a| a * a).sum::<f32>());
//! assert_eq!(hamming(&[0b1010_0101], &[0b0000_0101]).unwrap(), 2);
//! ```

mod bitsliced;
mod centred;
mod codec;
pub mod kernels;
pub mod scan;

pub use bitsliced::{BitslicedQuery, QUERY_BITS};
pub use centred::CenteredBinary;
pub use codec::{
    BinaryCodec, BinaryConfig, BinaryQuery, FloatLayout, FloatQuery, MAX_DIM, MAX_SCALE, MAX_STAGES, ScaleFormat,
};
pub(crate) use codec::{build_lut, lut_len};
pub use kernels::{
    PopcntBackend, bitsliced_and_dot, hamming, hamming_batch, hamming_batch_with, weighted_hamming,
    weighted_hamming_batch, weighted_hamming_batch_with,
};
pub use scan::{hamming_scan_topk, hamming_scan_topk_with};

/// Container kind tag of [`BinaryCodec`] parameters (`crate::format`).
pub const KIND: u16 = crate::format::kind::BINARY;
/// Container kind tag of [`CenteredBinary`] parameters (the mean, then a [`BinaryCodec`]).
pub const CENTRED_KIND: u16 = crate::format::kind::BINARY + 1;

/// The configuration names the `evaluate` harness knows: `bin1` (sign bits with a trained shared
/// scale), `bin1-centred` (the same after subtracting the training mean: a [`CenteredBinary`]),
/// `bin2` and `bin4` (residual binarization with 2 and 4 stages and per-vector `f32` scales).
pub const CONFIG_NAMES: [&str; 4] = ["bin1", "bin1-centred", "bin2", "bin4"];

/// The training configuration named `name`: `bin1`, `bin1-centred`, or `binT` / `binT-centred`
/// for `T ∈ 2..=8` (residual stages with `f32` scales). `None` for any other name. Train an
/// uncentred configuration with [`BinaryCodec::train`], a centred one (a [`CenteredBinary`])
/// with [`BinaryCodec::train_centred`].
pub fn config(name: &str) -> Option<BinaryConfig> {
    let (body, centred) = match name.strip_suffix("-centred") {
        Some(b) => (b, true),
        None => (name, false),
    };
    let t: usize = body.strip_prefix("bin")?.parse().ok()?;
    if !(1..=MAX_STAGES).contains(&t) {
        return None;
    }
    let scales = if t == 1 { ScaleFormat::Shared } else { ScaleFormat::F32 };
    Some(BinaryConfig { stages: t, centred, scales })
}
