//! Raw bit kernels on packed codes: Hamming distance, bit-sliced dot products, and their batch
//! forms over contiguous code arrays.
//!
//! These functions work on plain bytes, for users of pure binary codes (SimHash, sign codes from
//! elsewhere) as well as for [`BinaryCodec`](super::BinaryCodec). The batch kernels choose a
//! popcount backend once per process (see [`PopcntBackend`]): AVX-512 VPOPCNTDQ, AVX2 nibble
//! lookup (`vpshufb`) or the portable `u64::count_ones` loop; [`hamming_batch_with`] and
//! [`weighted_hamming_batch_with`] take the backend explicitly (tests and benchmarks compare them).

use crate::error::{Error, Result, check_code};
use crate::simd::Backend;

/// A popcount implementation for the batch kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PopcntBackend {
    /// Portable: `u64::count_ones` on 8-byte words (a `popcnt` instruction where the target has
    /// one at compile time, a bit-twiddling sequence otherwise).
    Scalar,
    /// x86-64 AVX2: 4-bit nibble lookup with `vpshufb`, summed with `vpsadbw`.
    Avx2,
    /// x86-64 AVX-512 F/BW with VPOPCNTDQ: `vpopcntq` on 64-byte chunks, masked tails.
    Avx512,
}

impl PopcntBackend {
    /// The fastest backend this CPU supports (detected once and cached by `crate::simd`;
    /// `VECTOR_CODECS_SIMD=portable|avx2` lowers it for testing).
    pub fn detect() -> PopcntBackend {
        if crate::simd::popcnt_available(Backend::Avx512) {
            return PopcntBackend::Avx512;
        }
        if crate::simd::popcnt_available(Backend::Avx2) {
            return PopcntBackend::Avx2;
        }
        PopcntBackend::Scalar
    }

    /// The arch backend of `crate::simd` this one runs on (`None` for the portable one).
    pub(crate) fn arch(self) -> Option<Backend> {
        match self {
            PopcntBackend::Scalar => None,
            PopcntBackend::Avx2 => Some(Backend::Avx2),
            PopcntBackend::Avx512 => Some(Backend::Avx512),
        }
    }

    /// Whether this CPU can run the backend.
    pub fn is_available(self) -> bool {
        self.arch().is_none_or(crate::simd::popcnt_available)
    }
}

/// Hamming distance `popcount(a ⊕ b)` of two equally long byte strings.
///
/// # Errors
/// [`Error::CodeLength`] if the lengths differ.
#[inline]
pub fn hamming(a: &[u8], b: &[u8]) -> Result<u32> {
    check_code(a.len(), b.len())?;
    u32::try_from(crate::simd::hamming(a, b)).map_err(|_| Error::Overflow)
}

/// Bit-sliced dot product `Σ_j 2^j · popcount(code & plane_j)` of a 1-bit code with a
/// `planes.len() / code.len()`-bit query stored as bit planes (plane `j` = bit `j` of every query
/// coordinate, packed like the code). It equals `Σ_i u_i·b_i` exactly, with `u_i` the query's
/// unsigned integer coordinates and `b_i` the code bits.
///
/// # Errors
/// [`Error::CodeLength`] if `planes.len()` is not `B · code.len()` for `B ∈ 1..=16`
/// (`code.len() == 0` is accepted with empty planes and returns 0).
pub fn bitsliced_and_dot(code: &[u8], planes: &[u8]) -> Result<u64> {
    let nb = code.len();
    if nb == 0 {
        return if planes.is_empty() { Ok(0) } else { Err(Error::CodeLength { expected: 0, got: planes.len() }) };
    }
    let b = planes.len() / nb;
    if !planes.len().is_multiple_of(nb) || !(1..=16).contains(&b) {
        return Err(Error::CodeLength { expected: nb * 4, got: planes.len() });
    }
    Ok(planes.chunks_exact(nb).enumerate().map(|(j, p)| crate::simd::and_popcount(code, p) << j).sum())
}

/// Weighted Hamming distance `Σ_j 2^j · popcount(code ⊕ plane_j)` of a 1-bit code against
/// `planes.len() / code.len()` bit planes (the quantity the bit-sliced asymmetric scorer uses:
/// see [`BitslicedQuery`](super::BitslicedQuery)).
///
/// # Errors
/// As [`bitsliced_and_dot`].
pub fn weighted_hamming(code: &[u8], planes: &[u8]) -> Result<u64> {
    let nb = code.len();
    if nb == 0 {
        return if planes.is_empty() { Ok(0) } else { Err(Error::CodeLength { expected: 0, got: planes.len() }) };
    }
    let b = planes.len() / nb;
    if !planes.len().is_multiple_of(nb) || !(1..=16).contains(&b) {
        return Err(Error::CodeLength { expected: nb * 4, got: planes.len() });
    }
    Ok(planes.chunks_exact(nb).enumerate().map(|(j, p)| crate::simd::hamming(code, p) << j).sum())
}

/// Checks the geometry of a strided batch: `n` codes, each `len` bytes read at `offset + i·stride`.
fn check_batch(len: usize, codes: &[u8], stride: usize, offset: usize, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    if stride < len || offset.checked_add(len).is_none_or(|e| e > stride) {
        return Err(Error::InvalidParameter("stride must hold offset + code length"));
    }
    let need = (n - 1).checked_mul(stride).and_then(|v| v.checked_add(offset + len)).ok_or(Error::Overflow)?;
    if codes.len() < need {
        return Err(Error::CodeLength { expected: need, got: codes.len() });
    }
    Ok(())
}

/// Hamming distances of one `query` against `out.len()` codes of `query.len()` bytes stored
/// contiguously in `codes` (`codes.len() == out.len() · query.len()`), with the backend
/// detected for this CPU.
///
/// # Errors
/// [`Error::CodeLength`] if `codes.len() != out.len() · query.len()`; [`Error::Overflow`] if a
/// code is longer than 2²⁹ bytes (the distance would not fit `u32`).
pub fn hamming_batch(query: &[u8], codes: &[u8], out: &mut [u32]) -> Result<()> {
    check_code(out.len().checked_mul(query.len()).ok_or(Error::Overflow)?, codes.len())?;
    hamming_strided(PopcntBackend::detect(), query, codes, query.len(), 0, out)
}

/// [`hamming_batch`] with an explicit backend.
///
/// # Errors
/// As [`hamming_batch`]; [`Error::InvalidParameter`] if this CPU cannot run `backend`.
pub fn hamming_batch_with(backend: PopcntBackend, query: &[u8], codes: &[u8], out: &mut [u32]) -> Result<()> {
    check_code(out.len().checked_mul(query.len()).ok_or(Error::Overflow)?, codes.len())?;
    hamming_strided(backend, query, codes, query.len(), 0, out)
}

/// Hamming distances of `query` against `out.len()` byte strings read at `offset + i·stride` in
/// `codes` (for example one stage of multi-stage codes). Bytes outside the read windows are
/// ignored.
///
/// # Errors
/// [`Error::InvalidParameter`] if `offset + query.len() > stride` or the backend is unavailable;
/// [`Error::CodeLength`] if `codes` is too short; [`Error::Overflow`] for codes over 2²⁹ bytes.
pub fn hamming_strided(
    backend: PopcntBackend,
    query: &[u8],
    codes: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [u32],
) -> Result<()> {
    if query.len() > (1 << 29) {
        return Err(Error::Overflow);
    }
    check_batch(query.len(), codes, stride, offset, out.len())?;
    if out.is_empty() {
        return Ok(());
    }
    let codes = codes.get(offset..).ok_or(Error::Truncated)?;
    match backend {
        PopcntBackend::Scalar => {
            scalar_hamming_strided(query, codes, stride, out);
            Ok(())
        }
        PopcntBackend::Avx2 => crate::simd::hamming_strided_on(Backend::Avx2, query, codes, stride, out)
            .ok_or(Error::InvalidParameter("AVX2 unavailable")),
        PopcntBackend::Avx512 => crate::simd::hamming_strided_on(Backend::Avx512, query, codes, stride, out)
            .ok_or(Error::InvalidParameter("AVX-512 VPOPCNTDQ unavailable")),
    }
}

/// Weighted Hamming distances `Σ_j 2^j · popcount(code ⊕ plane_j)` of `planes` (`B` planes of
/// `nb` bytes, `planes.len() == B·nb`, `B ∈ 1..=8`) against `out.len()` codes of `nb` bytes read
/// at `offset + i·stride` in `codes`.
///
/// # Errors
/// [`Error::CodeLength`] if `planes.len()` is not `B·nb` with `B ∈ 1..=8` or `codes` is too
/// short; [`Error::InvalidParameter`] as for [`hamming_strided`]; [`Error::Overflow`] for codes
/// over 2²⁰ bytes.
pub fn weighted_hamming_strided(
    backend: PopcntBackend,
    planes: &[u8],
    nb: usize,
    codes: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [u32],
) -> Result<()> {
    if nb == 0 || nb > (1 << 20) || !planes.len().is_multiple_of(nb) || !(1..=8).contains(&(planes.len() / nb)) {
        return Err(Error::CodeLength { expected: nb.saturating_mul(4), got: planes.len() });
    }
    check_batch(nb, codes, stride, offset, out.len())?;
    if out.is_empty() {
        return Ok(());
    }
    let codes = codes.get(offset..).ok_or(Error::Truncated)?;
    match backend {
        PopcntBackend::Scalar => {
            scalar_weighted_strided(planes, nb, codes, stride, out);
            Ok(())
        }
        PopcntBackend::Avx2 => crate::simd::weighted_hamming_strided_on(Backend::Avx2, planes, nb, codes, stride, out)
            .ok_or(Error::InvalidParameter("AVX2 unavailable")),
        PopcntBackend::Avx512 => {
            crate::simd::weighted_hamming_strided_on(Backend::Avx512, planes, nb, codes, stride, out)
                .ok_or(Error::InvalidParameter("AVX-512 VPOPCNTDQ unavailable"))
        }
    }
}

/// [`weighted_hamming_strided`] over contiguous `nb`-byte codes with the detected backend.
///
/// # Errors
/// As [`weighted_hamming_strided`]; [`Error::CodeLength`] if `codes.len() != out.len() · nb`.
pub fn weighted_hamming_batch(planes: &[u8], nb: usize, codes: &[u8], out: &mut [u32]) -> Result<()> {
    check_code(out.len().checked_mul(nb).ok_or(Error::Overflow)?, codes.len())?;
    weighted_hamming_strided(PopcntBackend::detect(), planes, nb, codes, nb, 0, out)
}

/// [`weighted_hamming_batch`] with an explicit backend.
///
/// # Errors
/// As [`weighted_hamming_batch`]; [`Error::InvalidParameter`] if the backend is unavailable.
pub fn weighted_hamming_batch_with(
    backend: PopcntBackend,
    planes: &[u8],
    nb: usize,
    codes: &[u8],
    out: &mut [u32],
) -> Result<()> {
    check_code(out.len().checked_mul(nb).ok_or(Error::Overflow)?, codes.len())?;
    weighted_hamming_strided(backend, planes, nb, codes, nb, 0, out)
}

/// Portable strided Hamming: `codes` starts at the first window; windows may be shorter than
/// `stride` (only `query.len()` bytes of each are read). Callers checked the geometry.
fn scalar_hamming_strided(query: &[u8], codes: &[u8], stride: usize, out: &mut [u32]) {
    let len = query.len();
    for (i, o) in out.iter_mut().enumerate() {
        let start = i * stride;
        *o = codes.get(start..start + len).map_or(0, |c| crate::simd::portable::hamming(query, c) as u32);
    }
}

fn scalar_weighted_strided(planes: &[u8], nb: usize, codes: &[u8], stride: usize, out: &mut [u32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let start = i * stride;
        *o = codes.get(start..start + nb).map_or(0, |c| {
            planes.chunks_exact(nb).enumerate().map(|(j, p)| (crate::simd::portable::hamming(c, p) as u32) << j).sum()
        });
    }
}
