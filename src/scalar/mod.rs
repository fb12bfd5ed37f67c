//! Scalar quantization: each coordinate coded on its own.
//!
//! * [`uniform`] — uniform integer codes, `b ∈ 1..=8` bits, with scale/offset per vector, per
//!   block or per dimension; symmetric (absmax) or asymmetric (min/max).
//! * [`lloyd`] — non-uniform Lloyd–Max codes: Gaussian tables and data-trained codebooks.
//! * [`float`] — low-precision float formats: f16, bf16, FP8 (E4M3, E5M2), FP4 (E2M1) and the
//!   block formats MXFP4, MXFP8 and NVFP4.
//! * [`codebook`] — coordinate codebooks of a rotated unit vector (Gaussian, Beta) and
//!   [`CodebookScalar`](codebook::CodebookScalar), one fixed codebook on every coordinate.
//! * [`side`] — [`SideFormat`](side::SideFormat): `f32` / `f16` / `bf16` storage of norms and scales.

pub mod codebook;
pub mod float;
pub mod lloyd;
pub mod side;
pub mod uniform;
