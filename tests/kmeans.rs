//! k-means (FAISS defaults and edge cases) and the small linear algebra of OPQ.

use vector_codecs::Error;
use vector_codecs::rng::Rng;
use vector_codecs::train::linalg::{orthogonality_error, procrustes, random_orthogonal, svd};
use vector_codecs::train::{Init, KMeansConfig, kmeans};

fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let centers: Vec<f32> = (0..k * d).map(|_| rng.gaussian() as f32 * 10.0).collect();
    (0..n)
        .flat_map(|i| {
            let c = i % k;
            (0..d).map(|j| centers[c * d + j] + 0.3 * rng.gaussian() as f32).collect::<Vec<_>>()
        })
        .collect()
}

fn brute_objective(x: &[f32], d: usize, c: &[f32]) -> f64 {
    x.chunks_exact(d)
        .map(|p| {
            c.chunks_exact(d)
                .map(|cc| p.iter().zip(cc).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>())
                .fold(f64::INFINITY, f64::min)
        })
        .sum()
}

#[test]
fn objective_never_increases_and_matches_brute_force() {
    for (d, k, init) in
        [(3usize, 7usize, Init::Random), (8, 16, Init::Random), (13, 9, Init::KMeansPlusPlus), (1, 4, Init::Random)]
    {
        let mut rng = Rng::new(d as u64);
        let x: Vec<f32> = (0..600 * d).map(|_| rng.gaussian() as f32).collect();
        let cfg = KMeansConfig { init, niter: 30, ..KMeansConfig::default() };
        let km = kmeans(&x, d, k, &cfg, None, None).unwrap();
        assert_eq!(km.splits, 0, "continuous data: no empty clusters expected");
        for w in km.objective.windows(2) {
            assert!(w[1] <= w[0] * (1.0 + 1e-6), "objective increased: {:?}", km.objective);
        }
        // The objective of the final centroids is not above the last recorded one.
        let fin = brute_objective(&x, d, &km.centroids);
        assert!(fin <= km.objective.last().unwrap() * (1.0 + 1e-6));
    }
}

#[test]
fn finds_well_separated_clusters() {
    let (d, k) = (5, 6);
    let x = blobs(1200, d, k, 3);
    let km = kmeans(&x, d, k, &KMeansConfig { init: Init::KMeansPlusPlus, ..Default::default() }, None, None).unwrap();
    // Each point within a few σ of its centroid.
    let obj = brute_objective(&x, d, &km.centroids) / 1200.0;
    assert!(obj < 5.0 * 0.09 * 1.5, "mean distortion {obj}");
}

#[test]
fn edge_cases() {
    let x: Vec<f32> = (0..40).map(|i| i as f32).collect();
    let cfg = KMeansConfig::default();
    // n < k.
    assert_eq!(kmeans(&x, 4, 11, &cfg, None, None), Err(Error::NotEnoughData { needed: 11, got: 10 }));
    // n == k: the points themselves.
    let km = kmeans(&x, 4, 10, &cfg, None, None).unwrap();
    assert_eq!(km.centroids, x);
    assert!(km.few_points);
    // Non-finite data, weights.
    let mut bad = x.clone();
    bad[7] = f32::NAN;
    assert_eq!(kmeans(&bad, 4, 2, &cfg, None, None), Err(Error::NonFinite));
    bad[7] = f32::INFINITY;
    assert_eq!(kmeans(&bad, 4, 2, &cfg, None, None), Err(Error::NonFinite));
    assert_eq!(
        kmeans(&x, 4, 2, &cfg, Some(&[1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]), None),
        Err(Error::NonFinite)
    );
    // Bad shapes.
    assert!(kmeans(&x, 0, 2, &cfg, None, None).is_err());
    assert!(kmeans(&x, 4, 0, &cfg, None, None).is_err());
    assert!(kmeans(&x, 3, 2, &cfg, None, None).is_err());
    assert!(kmeans(&x, 4, 2, &cfg, Some(&[1.0]), None).is_err());
    assert!(kmeans(&x, 4, 2, &KMeansConfig { niter: 0, ..cfg }, None, None).is_err());
    assert!(kmeans(&x, 4, 2, &cfg, None, Some(&[0.0; 7])).is_err());
}

#[test]
fn few_distinct_points_are_recovered_exactly() {
    // 3 distinct points repeated, k = 4: centroids contain each point exactly.
    let pts = [[1.0f32, 2.0], [-3.0, 0.5], [7.0, 7.0]];
    let x: Vec<f32> = (0..300).flat_map(|i| pts[(i * 7) % 3]).collect();
    let km = kmeans(&x, 2, 4, &KMeansConfig::default(), None, None).unwrap();
    for p in pts {
        assert!(km.centroids.chunks_exact(2).any(|c| c == p));
    }
}

#[test]
fn empty_clusters_are_split() {
    // Two tight blobs, 8 centroids initialised on one blob by a hot start: the empty clusters
    // are split from populated ones and the run still ends with 8 distinct centroids.
    let mut rng = Rng::new(9);
    let x: Vec<f32> = (0..400)
        .flat_map(|i| {
            let c = if i % 2 == 0 { 0.0 } else { 100.0 };
            [c + rng.gaussian() as f32, c + rng.gaussian() as f32]
        })
        .collect();
    let init: Vec<f32> = (0..8).flat_map(|i| [1000.0 + i as f32, 1000.0]).collect();
    let km = kmeans(&x, 2, 8, &KMeansConfig::default(), None, Some(&init)).unwrap();
    assert!(km.splits >= 6, "splits {}", km.splits);
    let mut c: Vec<(u32, u32)> = km.centroids.chunks_exact(2).map(|v| (v[0].to_bits(), v[1].to_bits())).collect();
    c.sort();
    c.dedup();
    assert_eq!(c.len(), 8);
}

#[test]
fn subsampling_weights_spherical_and_determinism() {
    let d = 4;
    let mut rng = Rng::new(1);
    let x: Vec<f32> = (0..3000 * d).map(|_| rng.gaussian() as f32).collect();
    let cfg = KMeansConfig { max_points_per_centroid: 50, ..Default::default() };
    let a = kmeans(&x, d, 8, &cfg, None, None).unwrap();
    let b = kmeans(&x, d, 8, &cfg, None, None).unwrap();
    assert_eq!(a, b, "same seed, same result");
    let c = kmeans(&x, d, 8, &KMeansConfig { seed: 99, ..cfg }, None, None).unwrap();
    assert_ne!(a.centroids, c.centroids);
    // Weights: zero weight on half the points = clustering the other half.
    let w: Vec<f32> = (0..3000).map(|i| if i < 1500 { 1.0 } else { 0.0 }).collect();
    let kw = kmeans(&x, d, 8, &KMeansConfig::default(), Some(&w), None).unwrap();
    assert!(kw.centroids.iter().all(|v| v.is_finite()));
    // Spherical: unit centroids.
    let ks = kmeans(&x, d, 8, &KMeansConfig { spherical: true, ..Default::default() }, None, None).unwrap();
    for c in ks.centroids.chunks_exact(d) {
        let n: f32 = c.iter().map(|v| v * v).sum();
        assert!((n - 1.0).abs() < 1e-5);
    }
    // nredo keeps the best run.
    let k3 = kmeans(&x, d, 8, &KMeansConfig { nredo: 3, ..Default::default() }, None, None).unwrap();
    let k1 = kmeans(&x, d, 8, &KMeansConfig::default(), None, None).unwrap();
    // Run 0 of nredo = 3 is the nredo = 1 run, so the kept run is at least as good.
    assert!(k3.objective.last().unwrap() <= k1.objective.last().unwrap());
}

fn matmul(a: &[f64], b: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
    let mut c = vec![0f64; n * m];
    for i in 0..n {
        for j in 0..m {
            c[i * m + j] = (0..k).map(|t| a[i * k + t] * b[t * m + j]).sum();
        }
    }
    c
}

#[test]
fn svd_reconstructs_and_is_orthogonal() {
    for (rows, cols) in [(1usize, 1usize), (5, 3), (17, 17), (40, 9), (64, 64)] {
        let mut rng = Rng::new(rows as u64 * 31 + cols as u64);
        let mut a: Vec<f64> = (0..rows * cols).map(|_| rng.gaussian()).collect();
        if cols > 2 {
            // Rank deficiency: column 1 = column 0.
            for i in 0..rows {
                a[i * cols + 1] = a[i * cols];
            }
        }
        let s = svd(&a, rows, cols).unwrap();
        assert!(s.s.windows(2).all(|w| w[0] >= w[1]));
        let mut us = s.u.clone();
        for i in 0..rows {
            for k in 0..cols {
                us[i * cols + k] *= s.s[k];
            }
        }
        let mut vt = vec![0f64; cols * cols];
        for i in 0..cols {
            for j in 0..cols {
                vt[i * cols + j] = s.v[j * cols + i];
            }
        }
        let back = matmul(&us, &vt, rows, cols, cols);
        let err = back.iter().zip(&a).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(err < 1e-10, "{rows}x{cols}: reconstruction error {err}");
        assert!(orthogonality_error(&s.v, cols) < 1e-12);
        // UᵀU = I (columns orthonormal, including the completed one).
        for p in 0..cols {
            for q in 0..cols {
                let d: f64 = (0..rows).map(|i| s.u[i * cols + p] * s.u[i * cols + q]).sum();
                assert!((d - if p == q { 1.0 } else { 0.0 }).abs() < 1e-10, "{rows}x{cols} U not orthonormal");
            }
        }
    }
    assert!(svd(&[1.0, f64::NAN], 2, 1).is_err());
    assert!(svd(&[1.0; 6], 2, 3).is_err());
}

#[test]
fn procrustes_recovers_a_rotation() {
    let d = 12;
    let r = random_orthogonal(d, 5);
    assert!(orthogonality_error(&r, d) < 1e-12);
    let mut rng = Rng::new(2);
    let n = 50;
    let x: Vec<f64> = (0..n * d).map(|_| rng.gaussian()).collect();
    let y = matmul(&x, &r, n, d, d);
    // M = Xᵀ Y.
    let mut xt = vec![0f64; d * n];
    for i in 0..n {
        for j in 0..d {
            xt[j * n + i] = x[i * d + j];
        }
    }
    let m = matmul(&xt, &y, d, n, d);
    let got = procrustes(&m, d, d).unwrap();
    let err = got.iter().zip(&r).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(err < 1e-9, "{err}");
}

#[test]
fn hot_started_svd_matches_and_converges_faster() {
    let d = 24;
    let mut rng = Rng::new(12);
    let a: Vec<f64> = (0..d * d).map(|_| rng.gaussian()).collect();
    let cold = svd(&a, d, d).unwrap();
    // A nearby matrix, hot-started from the first SVD's V.
    let b: Vec<f64> = a.iter().map(|&x| x + 1e-3 * rng.gaussian()).collect();
    let hot = vector_codecs::train::linalg::svd_from(&b, d, d, Some(&cold.v)).unwrap();
    let cold_b = svd(&b, d, d).unwrap();
    assert!(hot.sweeps < cold_b.sweeps, "{} vs {}", hot.sweeps, cold_b.sweeps);
    for (x, y) in hot.s.iter().zip(&cold_b.s) {
        assert!((x - y).abs() < 1e-10);
    }
    let (r1, _) = vector_codecs::train::linalg::procrustes_from(&b, d, d, Some(&cold.v)).unwrap();
    let r2 = procrustes(&b, d, d).unwrap();
    assert!(r1.iter().zip(&r2).all(|(x, y)| (x - y).abs() < 1e-9));
    assert!(orthogonality_error(&r1, d) < 1e-12);
}
