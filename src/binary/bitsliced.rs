//! [`ScanMode::Bitsliced`](crate::codec::ScanMode::Bitsliced) of [`BinaryCodec`]: asymmetric
//! scoring with a 4-bit quantized, bit-sliced query.

use super::codec::{BinaryCodec, MAX_STAGES};
use super::kernels::{PopcntBackend, weighted_hamming_strided};
use crate::codec::{Codec, check_scratch};
use crate::error::{Error, Result, check_code, check_dim};

/// Bits of the quantized query.
pub const QUERY_BITS: usize = 4;

/// Codes scored per kernel call in batch scans.
pub(crate) const BLOCK: usize = 256;

/// A query prepared for [`ScanMode::Bitsliced`](crate::codec::ScanMode::Bitsliced): the query
/// quantized to 4 bits and stored as bit planes (in the caller's scratch) and the step `Δ`.
///
/// **Query.** With `m = max |q_i|` and `Δ = 2m/15`, each coordinate is rounded to the nearest
/// point of the symmetric grid `q̃_i = Δ·(u_i − 7.5)`, `u_i ∈ 0..=15` (round to nearest,
/// deterministic). Plane `j` holds bit `j` of every `u_i`, packed like a code.
///
/// **Score.** Writing `u_i − 7.5 = Σ_j 2^(j−1)·(2p_ij − 1)` turns every plane into a `±1`
/// vector, so `⟨q̃, 2b − 1⟩ = Δ·Σ_j 2^(j−1)(d − 2·popcount(b ⊕ p_j)) = Δ·(7.5·d − W)` with the
/// integer `W = Σ_j 2^j·popcount(b ⊕ p_j)`: four XOR-popcount passes and no per-code
/// `popcount(b)`. (This is the AND form `Σ_j 2^j·popcount(b & p_j)` of
/// [`bitsliced_and_dot`](super::bitsliced_and_dot) rewritten with
/// `popcount(b ⊕ p) = popcount(b) + popcount(p) − 2·popcount(b & p)`; tests check both against a
/// naive sum.) The score is `Σ_t α_t·Δ·(7.5·d − W_t)` = `⟨q̃, x̂⟩`, computed from exact integers
/// with one final float rescale ([`CenteredBinary`](super::CenteredBinary) adds the exact
/// `⟨q, μ⟩`).
///
/// **Estimator:** [`Estimator::Biased`](crate::Estimator::Biased): exact on the reconstruction for
/// the *rounded* query `q̃`; the rounding error `|q_i − q̃_i| ≤ Δ/2 = m/15` is deterministic, so the
/// score is biased for `⟨q, x̂⟩` (and for `⟨q, x⟩`) by `⟨q̃ − q, x̂⟩`. The ranking loss is small
/// for dense embedding queries (see the crate's recall tests).
#[derive(Clone, Copy, Debug)]
pub struct BitslicedQuery<'s> {
    planes: &'s [u8],
    delta: f32,
}

impl BitslicedQuery<'_> {
    /// The bit planes: `QUERY_BITS` planes of `⌈d/8⌉` bytes.
    pub fn planes(&self) -> &[u8] {
        self.planes
    }

    /// The quantization step `Δ`.
    pub fn delta(&self) -> f32 {
        self.delta
    }
}

impl BinaryCodec {
    #[inline]
    fn combine(&self, q: &BitslicedQuery<'_>, w: &[u32; MAX_STAGES], scales: &[f32; MAX_STAGES]) -> f32 {
        // 32-bit integers (no 64-bit soft arithmetic on 32-bit targets): `d ≤ MAX_DIM = 2^16`
        // and `w_t ≤ 15·8·⌈d/8⌉`, so both terms stay far below `2^31`; the conversion to `f32`
        // rounds the same integer as before.
        let d15 = 15 * self.dim() as i32;
        let mut s = 0.0f32;
        for t in 0..self.stages() {
            s += scales[t] * (d15 - 2 * w[t] as i32) as f32;
        }
        0.5 * q.delta * s
    }

    /// Batch scores against a bit-sliced query with an explicit popcount backend.
    pub(crate) fn score_batch_bitsliced(
        &self,
        backend: PopcntBackend,
        q: &BitslicedQuery<'_>,
        codes: &[u8],
        out: &mut [f32],
    ) -> Result<()> {
        let c = self.code_len();
        let nb = self.plane_len();
        let stages = self.stages();
        check_code(out.len().checked_mul(c).ok_or(Error::Overflow)?, codes.len())?;
        let mut w = [[0u32; BLOCK]; MAX_STAGES];
        for (block, o) in codes.chunks(BLOCK * c).zip(out.chunks_mut(BLOCK)) {
            let n = o.len();
            for (t, wt) in w.iter_mut().enumerate().take(stages) {
                weighted_hamming_strided(backend, q.planes, nb, block, c, t * nb, &mut wt[..n])?;
            }
            for (i, (code, oi)) in block.chunks_exact(c).zip(o.iter_mut()).enumerate() {
                self.check_padding(code)?;
                let mut scales = [0.0f32; MAX_STAGES];
                self.read_scales(code, &mut scales)?;
                let mut wi = [0u32; MAX_STAGES];
                for t in 0..stages {
                    wi[t] = w[t][i];
                }
                *oi = self.combine(q, &wi, &scales);
            }
        }
        Ok(())
    }

    /// Scratch words of the bit-sliced query: `⌈4·⌈d/8⌉ / 4⌉ = ⌈d/8⌉` (planes stored as bytes).
    pub(crate) fn bitsliced_scratch_len(&self) -> usize {
        self.plane_len()
    }

    /// Quantizes `q` to 4 bit planes in `scratch` (see [`BitslicedQuery`]).
    pub(crate) fn prepare_bitsliced<'s>(&self, q: &[f32], scratch: &'s mut [f32]) -> Result<BitslicedQuery<'s>> {
        let d = self.dim();
        check_dim(d, q.len())?;
        let nb = self.plane_len();
        check_scratch(self.bitsliced_scratch_len(), scratch.len())?;
        if !q.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let planes: &mut [u8] = bytemuck::cast_slice_mut(&mut scratch[..nb]);
        planes.fill(0);
        let m = q.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
        let delta = m * (2.0 / 15.0);
        if delta > 0.0 {
            for (i, &v) in q.iter().enumerate() {
                let u = libm::floorf(v / delta + 8.0).clamp(0.0, 15.0) as u8;
                for j in 0..QUERY_BITS {
                    if (u >> j) & 1 == 1 {
                        planes[j * nb + i / 8] |= 1 << (i % 8);
                    }
                }
            }
        }
        // Otherwise q = 0: Δ = 0 makes every score 0 whatever the planes hold.
        let planes: &'s [u8] = bytemuck::cast_slice(&scratch[..nb]);
        Ok(BitslicedQuery { planes: &planes[..QUERY_BITS * nb], delta })
    }

    /// One code against a bit-sliced query.
    pub(crate) fn score_bitsliced(&self, q: &BitslicedQuery<'_>, code: &[u8]) -> Result<f32> {
        let scales = self.code_scales(code)?;
        let nb = self.plane_len();
        let mut w = [0u32; MAX_STAGES];
        for (t, plane) in code.chunks_exact(nb).take(self.stages()).enumerate() {
            w[t] = super::kernels::weighted_hamming(plane, q.planes)? as u32;
        }
        Ok(self.combine(q, &w, &scales))
    }
}
