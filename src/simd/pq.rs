//! Kernels of product quantization and k-means: blocked squared-L2 / inner-product distances of
//! one vector to 8 centroids at a time, and the 4-bit fast-scan lookup-accumulate.
//!
//! **Determinism.** The float kernels here feed trained parameters (k-means assignments, hence
//! codebooks) and codes, so they compute the same bits on every backend: lanes run across 8
//! centroids and each lane sums its terms sequentially over the dimension (multiply, then add;
//! never fused), so there is no horizontal reduction whose order a backend could change. They are
//! written once with `wide::f32x8`, whose lane-wise IEEE operations are identical on SSE, AVX,
//! NEON, wasm and the scalar fallback.
//!
//! The fast-scan kernel is integer-exact, so its arch paths (AVX2, AVX-512 BW in
//! `x86::pq`) return exactly the portable result.

use wide::f32x8;

/// Centroids per block of the blocked (transposed) codebook layout.
pub const LANES: usize = 8;

/// Lays out `k` centroids of `d` floats (row-major) as `⌈k/8⌉` blocks of `d × 8` floats
/// (`out[(b·d + j)·8 + l] = c[(8b + l)·d + j]`); missing centroids of the last block are 0.
/// `out` must hold `⌈k/8⌉·8·d` floats (extra is left unchanged).
pub fn transpose_blocks(c: &[f32], k: usize, d: usize, out: &mut [f32]) {
    for b in 0..k.div_ceil(LANES) {
        for j in 0..d {
            for l in 0..LANES {
                let i = b * LANES + l;
                let v = if i < k { c.get(i * d + j).copied().unwrap_or(0.0) } else { 0.0 };
                if let Some(o) = out.get_mut((b * d + j) * LANES + l) {
                    *o = v;
                }
            }
        }
    }
}

/// Squared L2 distances of `x` (`d` floats) to the 8 centroids of one block (`d × 8` floats, see
/// [`transpose_blocks`]): lane `l` is `Σ_j (x_j − c_{l,j})²`, summed in order `j = 0, 1, …`.
#[inline]
pub fn l2_block(x: &[f32], block: &[f32]) -> [f32; LANES] {
    let mut acc = f32x8::ZERO;
    for (&xj, c) in x.iter().zip(block.chunks_exact(LANES)) {
        let c = f32x8::from(<[f32; LANES]>::try_from(c).unwrap_or([0.0; LANES]));
        let t = f32x8::splat(xj) - c;
        acc += t * t;
    }
    acc.to_array()
}

/// Inner products of `x` with the 8 centroids of one block: lane `l` is `Σ_j x_j·c_{l,j}`, summed
/// in order.
#[inline]
pub fn ip_block(x: &[f32], block: &[f32]) -> [f32; LANES] {
    let mut acc = f32x8::ZERO;
    for (&xj, c) in x.iter().zip(block.chunks_exact(LANES)) {
        let c = f32x8::from(<[f32; LANES]>::try_from(c).unwrap_or([0.0; LANES]));
        acc += f32x8::splat(xj) * c;
    }
    acc.to_array()
}

/// The nearest of `k` centroids in blocked layout to `x` and its squared distance (ties to the
/// lowest index; NaN distances never win, index 0 if all are NaN).
#[inline]
pub fn nearest(x: &[f32], blocks: &[f32], k: usize) -> (usize, f32) {
    let d = x.len();
    let (mut best, mut bd) = (0usize, f32::INFINITY);
    if d == 0 {
        return (0, 0.0);
    }
    for (b, block) in blocks.chunks_exact(d * LANES).enumerate() {
        let dist = l2_block(x, block);
        for (l, &v) in dist.iter().enumerate() {
            let i = b * LANES + l;
            if i < k && v < bd {
                best = i;
                bd = v;
            }
        }
    }
    (best, bd)
}

/// Writes `out[i]` = the squared distance (`ip == false`) or inner product (`ip == true`) of `x`
/// to centroid `i < min(k, out.len())` of the blocked layout.
pub fn table(x: &[f32], blocks: &[f32], k: usize, ip: bool, out: &mut [f32]) {
    let d = x.len();
    if d == 0 {
        out.iter_mut().take(k).for_each(|o| *o = 0.0);
        return;
    }
    for (b, block) in blocks.chunks_exact(d * LANES).enumerate() {
        let v = if ip { ip_block(x, block) } else { l2_block(x, block) };
        for (l, &s) in v.iter().enumerate() {
            let i = b * LANES + l;
            if i < k
                && let Some(o) = out.get_mut(i)
            {
                *o = s;
            }
        }
    }
}

/// `perm0` of the fast-scan layout: byte `j` of a 16-byte half holds vectors `PERM0[j]` (low
/// nibble) and `PERM0[j] + 16` (high nibble).
pub const PERM0: [usize; 16] = [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15];

/// Fast-scan accumulation over `nblocks` blocks of 32 vectors (SPECS §4 layout, `npairs` pairs
/// of 4-bit sub-quantizers per block, 32 bytes per pair): `out[32b + v] = Σ_m lut[16m + c_{v,m}]`
/// for `m < 2·npairs`, exact in `u32`. `lut` holds `2·npairs` rows of 16 bytes; `codes`
/// `nblocks·npairs·32` bytes; `out` `32·nblocks` values (missing input reads as 0, extra output
/// is left unchanged). Dispatches to AVX-512 BW / AVX2 where detected; every backend returns the
/// same integers.
pub fn fastscan_accumulate(lut: &[u8], codes: &[u8], npairs: usize, out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if super::x86::pq::fastscan_accumulate(lut, codes, npairs, out).is_some() {
        return;
    }
    fastscan_accumulate_portable(lut, codes, npairs, out)
}

/// The fast-scan kernel of one `backend` (for tests comparing backends): `None` when this CPU
/// (or target) lacks it. [`Backend::Portable`](super::Backend::Portable) always runs.
#[doc(hidden)]
pub fn fastscan_accumulate_on(
    backend: super::Backend,
    lut: &[u8],
    codes: &[u8],
    npairs: usize,
    out: &mut [u32],
) -> Option<()> {
    match backend {
        super::Backend::Portable => {
            fastscan_accumulate_portable(lut, codes, npairs, out);
            Some(())
        }
        #[cfg(target_arch = "x86_64")]
        super::Backend::Avx2 => super::x86::pq::fastscan_accumulate_avx2(lut, codes, npairs, out),
        #[cfg(target_arch = "x86_64")]
        super::Backend::Avx512 => super::x86::pq::fastscan_accumulate_avx512(lut, codes, npairs, out),
        #[cfg(not(target_arch = "x86_64"))]
        _ => None,
    }
}

/// The arch re-layout of one full block of 32 flat 4-bit codes (`pq::fastscan::relayout_block`),
/// where this CPU has one; `None` otherwise (the caller runs the portable re-layout).
#[inline]
#[cfg(feature = "alloc")]
pub(crate) fn relayout_block_arch(codes: &[u8], code_len: usize, out: &mut [u8]) -> Option<()> {
    x86_or!(
        super::x86::pq::relayout_block(codes, code_len, out),
        None;
        codes, code_len, out
    )
}

/// The portable (scalar) fast-scan kernel; the reference of [`fastscan_accumulate`].
pub fn fastscan_accumulate_portable(lut: &[u8], codes: &[u8], npairs: usize, out: &mut [u32]) {
    if npairs == 0 || lut.len() < 32 * npairs {
        for o in out.iter_mut() {
            *o = 0;
        }
        return;
    }
    for (blk, o) in codes.chunks_exact(32 * npairs).zip(out.chunks_exact_mut(32)) {
        let mut acc = [0u32; 32];
        for (p, bytes) in blk.chunks_exact(32).enumerate() {
            let (l0, l1) = (&lut[32 * p..32 * p + 16], &lut[32 * p + 16..32 * p + 32]);
            for j in 0..16 {
                let (a, b) = (bytes[j], bytes[16 + j]);
                let v = PERM0[j];
                acc[v] += u32::from(l0[usize::from(a & 15)]) + u32::from(l1[usize::from(b & 15)]);
                acc[v + 16] += u32::from(l0[usize::from(a >> 4)]) + u32::from(l1[usize::from(b >> 4)]);
            }
        }
        o.copy_from_slice(&acc);
    }
}
