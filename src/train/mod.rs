//! Training algorithms shared by the trained codecs (feature `alloc`): k-means ([`mod@kmeans`]) and
//! the small dense linear algebra of OPQ ([`linalg`]: one-sided Jacobi SVD, orthogonal
//! Procrustes).
//!
//! Everything here is deterministic: the same data, configuration and seed give the same bits on
//! every target and SIMD backend (sums that feed parameters run in a fixed order, distances use
//! the lane-per-centroid kernels of [`crate::simd::pq`]).

pub mod kmeans;
pub mod linalg;

pub use kmeans::{Init, KMeans, KMeansConfig, kmeans};
