//! Pyramid vector quantization (Fischer 1986; the CWRS enumeration of Opus; SPECS §5).
//!
//! A direction is coded as a point of the pyramid `P(N, K) = {y ∈ ℤ^N : Σ|y_i| = K}` by its
//! index in `[0, V(N, K))`; an amplitude (gain) is coded separately. Reconstruction:
//! `x̂ = g·y/‖y‖₂`.
//!
//! * [`count`] — `V(N, K)`, `U(N, K)` with checked `u32`/`u64`/`u128` arithmetic, the
//!   enumeration [`icwrs`]/[`cwrsi`] in Opus order, and
//!   [`PulseTable`](count::PulseTable) for fast indexing (no allocator needed except for the
//!   table).
//! * [`search`] — the pulse search: Opus's projection + greedy, and a refined search with
//!   pulse moves.
//! * [`gain`] — gain quantizers: uniform in the log domain, or levels fitted to data.
//! * [`codec`] (feature `alloc`) — [`PvqCodec`]: gain–shape coding of vectors in fixed groups,
//!   indexes at fixed length (`⌈log2 V⌉` bits) or range coded (`log2 V` bits, fractional
//!   rates), implementing [`Codec`](crate::Codec), [`Decode`](crate::Decode),
//!   [`Score`](crate::Score) and [`Persist`](crate::persist::Persist). Factory names
//!   `pvq{R}`, `pvq{R}.{F}`, … (see [`crate::factory`]).
//! * [`weights`] (feature `alloc`) — PVQ for weight matrices (arXiv 2410.16926): randomized
//!   Hadamard per row, groups, PVQ direction + quantized amplitude, exact bit count.
//!
//! * [`split`] (feature `alloc`) — [`SplitCodec`]: Opus-style recursive splitting with a
//!   coded split angle for long vectors (one gain per vector, angles carry the energy
//!   distribution, bits follow the energy, leaves indexed in `u32`, `u64` or `u128`),
//!   implementing [`Codec`](crate::Codec), [`Decode`](crate::Decode),
//!   [`Score`](crate::Score) (from the pulses) and [`Persist`](crate::persist::Persist).
//!   Factory names `pvq{R}-split`, `pvq{R}.{F}-split`.
//!
//! In [`PvqCodec`], groups whose `V` exceeds 2^128 are refused with
//! [`Error::Overflow`](crate::Error); [`SplitCodec`] has no such limit.

#[cfg(feature = "alloc")]
pub mod codec;
pub mod count;
pub mod gain;
pub mod search;
#[cfg(feature = "alloc")]
pub mod split;
#[cfg(feature = "alloc")]
mod stream;
#[cfg(feature = "alloc")]
pub mod weights;

#[cfg(feature = "alloc")]
pub use codec::{IndexCoding, PvqCodec};

/// The container kind of standalone PVQ parameters (`to_bytes`; family range `0x0B00..0x0C00`).
pub const KIND: u16 = 0x0B00;

/// The container sub-tag of [`PvqCodec`] parameters.
pub const GROUPS_TAG: u8 = 1;

/// The container sub-tag of [`SplitCodec`] parameters.
pub const SPLIT_TAG: u8 = 2;
pub use count::{PvqInt, cwrsi, icwrs, u_count, v_count};
pub use gain::GainQuantizer;
pub use search::Search;
#[cfg(feature = "alloc")]
pub use split::SplitCodec;
