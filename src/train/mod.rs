//! Training algorithms shared by the trained codecs (feature `alloc`): k-means ([`mod@kmeans`]) and
//! the small dense linear algebra of OPQ ([`linalg`]: one-sided Jacobi SVD, orthogonal
//! Procrustes).
//!
//! Everything here is deterministic: the same data, configuration and seed give the same bits on
//! every target and SIMD backend (sums that feed parameters run in a fixed order, distances use
//! the lane-per-centroid kernels of [`crate::simd::pq`]).

pub mod kmeans;
pub mod linalg;

pub use kmeans::{Init, KMeans, KMeansConfig, gather_rows, kmeans, subsample};

use alloc::vec::Vec;

/// The column means of `data` (`n × dim`, row-major, whole rows only): `μ_j = (Σ_i x_ij) / n`,
/// summed in `f64` in row order and rounded once to `f32`, so the same bits on every target.
/// The training mean of every codec that centres (`Centered::train_mean`, calibrated and PCA
/// TurboQuant, OPQ's eigen-allocation start, KV key bases). Returns zeros when `n = 0` or
/// `dim = 0` (callers check their own minimum row count).
pub fn column_mean(data: &[f32], dim: usize) -> Vec<f32> {
    if dim == 0 {
        return Vec::new();
    }
    let mut acc = alloc::vec![0.0f64; dim];
    let mut n = 0usize;
    for row in data.chunks_exact(dim) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += f64::from(v);
        }
        n += 1;
    }
    let n = n.max(1) as f64;
    acc.iter().map(|&a| (a / n) as f32).collect()
}
