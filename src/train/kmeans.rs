//! k-means clustering, faithful to FAISS's `Clustering` defaults and edge cases (SPECS §3).
//!
//! * Defaults ([`KMeansConfig::default`]): 25 iterations, 1 run, seed 1234, at most 256 and
//!   (advisory) at least 39 points per centroid, random initialisation.
//! * Checks: every input value finite ([`Error::NonFinite`]); `n < k` is
//!   [`Error::NotEnoughData`]; `n == k` returns the points themselves; `n > 256·k` trains on the
//!   first `256·k` points of a seeded random permutation; `n < 39·k` sets
//!   [`KMeans::few_points`] (FAISS prints a warning).
//! * Initialisation: the first `k` points of a random permutation (seed `seed + 1 + 15486557·redo`),
//!   or k-means++ (D² sampling).
//! * Iteration: assign every point to its nearest centroid (squared L2, ties to the lowest
//!   index; objective `Σ w·min dist²`), stop early when the objective is unchanged, then move
//!   each centroid to the (weighted) mean of its points and split empty clusters as FAISS's
//!   `split_clusters` does (a donor cluster chosen with probability `(size − 1)/(n − k)`,
//!   copied and perturbed by the factors `1 ± 1/1024`, alternating by coordinate parity, its
//!   count halved). With `spherical`, centroids are L2-normalised after each update.
//! * The best of `nredo` runs by final objective is kept.
//!
//! One extension: when the (subsampled) data has at most `k` distinct points, the centroids are
//! those points (the remaining centroids repeat the first one), which is the exact optimum (zero
//! objective) that Lloyd iterations from a random start do not always reach.
//!
//! Determinism: assignments use [`crate::simd::pq::nearest_batch`], bit for bit
//! [`crate::simd::pq::nearest`] (one lane per centroid, sequential sum over coordinates: the same
//! bits on every backend; AVX-512 screens with norms and re-scores the close candidates exactly); objectives and centroid sums are `f64`
//! in point order. Cost: `O(niter · n · k · d)`.
//!
//! With the `parallel` feature the assignment step (and the k-means++ distances) run over
//! pieces of points and the update over pieces of centroids, each centroid still summing its
//! points in point order and the objective still added in point order: the centroids are the
//! same bits as with one thread (see [`crate::par`]).

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::simd::pq::{LANES, half_norms, nearest, nearest_batch, transpose_blocks};

/// How initial centroids are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Init {
    /// The first `k` points of a seeded random permutation (FAISS's default).
    #[default]
    Random,
    /// k-means++: the first centroid uniformly, each next one with probability proportional to
    /// the squared distance to the nearest chosen centroid.
    KMeansPlusPlus,
}

/// Configuration of [`kmeans`]; [`Default`] gives FAISS's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KMeansConfig {
    /// Lloyd iterations per run (FAISS: 25).
    pub niter: usize,
    /// Runs with different initialisations; the lowest objective wins (FAISS: 1).
    pub nredo: usize,
    /// Seed of the subsampling, the initialisation and the empty-cluster splitting (FAISS: 1234).
    pub seed: u64,
    /// Above `k ·` this many points, a seeded random subset of that size is used (FAISS: 256).
    pub max_points_per_centroid: usize,
    /// Below `k ·` this many points, [`KMeans::few_points`] is set (FAISS: 39).
    pub min_points_per_centroid: usize,
    /// L2-normalise the centroids after every update (inner-product clustering).
    pub spherical: bool,
    /// Initialisation method.
    pub init: Init,
}

impl Default for KMeansConfig {
    fn default() -> Self {
        KMeansConfig {
            niter: 25,
            nredo: 1,
            seed: 1234,
            max_points_per_centroid: 256,
            min_points_per_centroid: 39,
            spherical: false,
            init: Init::Random,
        }
    }
}

/// The result of [`kmeans`].
#[derive(Clone, Debug, PartialEq)]
pub struct KMeans {
    /// `k` centroids of `dim` floats, row-major.
    pub centroids: Vec<f32>,
    /// Number of centroids.
    pub k: usize,
    /// Dimension.
    pub dim: usize,
    /// The objective `Σ w·min dist²` at each assignment of the kept run (the last entry is the
    /// objective of the centroids before their final update).
    pub objective: Vec<f64>,
    /// Number of empty clusters split over the kept run.
    pub splits: usize,
    /// Whether fewer than `k · min_points_per_centroid` points were given.
    pub few_points: bool,
}

impl KMeans {
    /// The nearest centroid of `x` (ties to the lowest index) and its squared distance.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `x.len() != dim`.
    pub fn assign(&self, x: &[f32]) -> Result<(usize, f32)> {
        crate::error::check_dim(self.dim, x.len())?;
        let mut blocks = vec![0f32; self.k.div_ceil(LANES) * LANES * self.dim];
        transpose_blocks(&self.centroids, self.k, self.dim, &mut blocks);
        Ok(nearest(x, &blocks, self.k))
    }
}

/// Clusters the `n = data.len() / dim` row-major points of `data` into `k` centroids.
///
/// `weights` (one per point, finite and `≥ 0`) weight the means and the objective. `init`
/// (`k · dim` floats), when given, replaces the initialisation (a "hot start"; with it `nredo`
/// is 1).
///
/// # Errors
/// [`Error::InvalidParameter`] for `dim == 0`, `k == 0`, `niter == 0`, `nredo == 0`, a
/// `max_points_per_centroid` of 0, or wrong `weights` / `init` lengths;
/// [`Error::DimensionMismatch`] if `data.len()` is not a multiple of `dim`; [`Error::NonFinite`]
/// for NaN/inf data, weights or init (or negative weights); [`Error::NotEnoughData`] if `n < k`.
pub fn kmeans(
    data: &[f32],
    dim: usize,
    k: usize,
    cfg: &KMeansConfig,
    weights: Option<&[f32]>,
    init: Option<&[f32]>,
) -> Result<KMeans> {
    if dim == 0 || k == 0 || cfg.niter == 0 || cfg.nredo == 0 || cfg.max_points_per_centroid == 0 {
        return Err(Error::InvalidParameter("k-means: dim, k, niter, nredo and max points must be positive"));
    }
    let n = crate::codec::batch_rows(data.len(), dim)?;
    if weights.is_some_and(|w| w.len() != n) {
        return Err(Error::InvalidParameter("k-means: one weight per point"));
    }
    if init.is_some_and(|c| Some(c.len()) != k.checked_mul(dim)) {
        return Err(Error::InvalidParameter("k-means: init must hold k·dim floats"));
    }
    if !data.iter().all(|v| v.is_finite())
        || weights.is_some_and(|w| !w.iter().all(|v| v.is_finite() && *v >= 0.0))
        || init.is_some_and(|c| !c.iter().all(|v| v.is_finite()))
    {
        return Err(Error::NonFinite);
    }
    if n < k {
        return Err(Error::NotEnoughData { needed: k, got: n });
    }
    let few_points = n < k.saturating_mul(cfg.min_points_per_centroid);
    if n == k {
        return Ok(KMeans { centroids: data.to_vec(), k, dim, objective: vec![0.0], splits: 0, few_points });
    }
    // Subsample: the first k·max points of a seeded permutation.
    let owned;
    let owned_w;
    let (x, w) = if let Some(perm) = subsample(n, k, cfg) {
        owned = gather_rows(data, dim, &perm);
        owned_w = weights.map(|w| perm.iter().map(|&i| w[i as usize]).collect::<Vec<f32>>());
        (&owned[..], owned_w.as_deref())
    } else {
        (data, weights)
    };
    if let Some(c) = few_distinct(x, dim, k) {
        return Ok(KMeans { centroids: c, k, dim, objective: vec![0.0], splits: 0, few_points });
    }
    let mut best: Option<KMeans> = None;
    let nredo = if init.is_some() { 1 } else { cfg.nredo };
    for redo in 0..nredo {
        let run = run_once(x, w, dim, k, cfg, init, redo as u64)?;
        let better = match &best {
            None => true,
            Some(b) => run.objective.last() < b.objective.last(),
        };
        if better {
            best = Some(run);
        }
    }
    let mut best = best.ok_or(Error::InvalidParameter("k-means: no run"))?;
    best.few_points = few_points;
    Ok(best)
}

/// The points [`kmeans`] trains on when given `n` points for `k` centroids: `None` for all of
/// them (`n ≤ k · max_points_per_centroid`), else the indices of the first
/// `k · max_points_per_centroid` entries of a permutation seeded with `cfg.seed`, in that order.
///
/// Calling [`kmeans`] on those rows (in that order, e.g. [`gather_rows`]) gives the same result
/// as calling it on all `n` points: callers that cluster several column slices of the same rows
/// with the same configuration (the subspaces of PQ) subsample once.
pub fn subsample(n: usize, k: usize, cfg: &KMeansConfig) -> Option<Vec<u32>> {
    let max = k.saturating_mul(cfg.max_points_per_centroid);
    if n <= max {
        return None;
    }
    let mut perm: Vec<u32> = (0..n as u32).collect();
    Rng::new(cfg.seed).shuffle(&mut perm);
    perm.truncate(max);
    Some(perm)
}

/// The rows `idx` (in that order) of the row-major `data` of `dim` columns.
///
/// # Panics
/// If an index is out of range.
pub fn gather_rows(data: &[f32], dim: usize, idx: &[u32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(idx.len() * dim);
    for &i in idx {
        out.extend_from_slice(&data[i as usize * dim..(i as usize + 1) * dim]);
    }
    out
}

/// The distinct points of `x` in first-occurrence order, padded to `k` with the first one, if
/// there are at most `k` of them.
fn few_distinct(x: &[f32], dim: usize, k: usize) -> Option<Vec<f32>> {
    let n = x.len() / dim;
    let key = |i: usize| &x[i * dim..(i + 1) * dim];
    let mut idx: Vec<u32> = (0..n as u32).collect();
    let cmp = |a: &u32, b: &u32| {
        let (a, b) = (key(*a as usize), key(*b as usize));
        a.iter().map(|v| v.to_bits()).cmp(b.iter().map(|v| v.to_bits()))
    };
    idx.sort_unstable_by(|a, b| cmp(a, b).then(a.cmp(b)));
    let mut firsts: Vec<u32> = Vec::new();
    for (j, &i) in idx.iter().enumerate() {
        if j == 0 || cmp(&idx[j - 1], &i) != core::cmp::Ordering::Equal {
            firsts.push(i);
            if firsts.len() > k {
                return None;
            }
        }
    }
    firsts.sort_unstable();
    let mut c: Vec<f32> = firsts.iter().flat_map(|&i| key(i as usize).iter().copied()).collect();
    let first = c[..dim].to_vec();
    while c.len() < k * dim {
        c.extend_from_slice(&first);
    }
    Some(c)
}

fn run_once(
    x: &[f32],
    w: Option<&[f32]>,
    dim: usize,
    k: usize,
    cfg: &KMeansConfig,
    init: Option<&[f32]>,
    redo: u64,
) -> Result<KMeans> {
    let n = x.len() / dim;
    let mut c = match init {
        Some(c) => c.to_vec(),
        None => {
            let seed = cfg.seed.wrapping_add(1).wrapping_add(redo.wrapping_mul(15_486_557));
            match cfg.init {
                Init::Random => {
                    let mut perm: Vec<u32> = (0..n as u32).collect();
                    Rng::new(seed).shuffle(&mut perm);
                    perm[..k]
                        .iter()
                        .flat_map(|&i| x[i as usize * dim..(i as usize + 1) * dim].iter().copied())
                        .collect()
                }
                Init::KMeansPlusPlus => plus_plus(x, n, dim, k, seed),
            }
        }
    };
    if cfg.spherical {
        normalize_rows(&mut c, dim);
    }
    let nb = k.div_ceil(LANES);
    let mut blocks = vec![0f32; nb * LANES * dim];
    // (nearest centroid, squared distance) per point; the points of each centroid.
    let mut assign = vec![(0usize, 0f32); n];
    let mut members = vec![0u32; n];
    let grain = assign_grain(k, dim);
    let mut objective = Vec::with_capacity(cfg.niter);
    let mut split_rng = Rng::new(1234);
    let mut splits = 0;
    let mut half = vec![0f32; k];
    for _ in 0..cfg.niter {
        transpose_blocks(&c, k, dim, &mut blocks);
        let cmax = half_norms(&c, k, dim, &mut half);
        // Assignment (parallel over points with `parallel`; each point's nearest centroid does
        // not depend on the split), then the objective in point order.
        crate::par::zip_chunks(x, grain * dim, &mut assign, grain, |_, xs, out| {
            let m = xs.len() / dim;
            let (mut idx, mut dd) = (vec![0u32; m], vec![0f32; m]);
            nearest_batch(xs, dim, m, dim, &c, &blocks, &half, cmax, k, &mut idx, Some(&mut dd));
            for (o, (&a, &d)) in out.iter_mut().zip(idx.iter().zip(&dd)) {
                *o = (a as usize, d);
            }
            Ok(())
        })?;
        let mut obj = 0f64;
        for (i, &(_, d)) in assign.iter().enumerate() {
            obj += f64::from(d) * w.map_or(1.0, |w| f64::from(w[i]));
        }
        let unchanged = objective.last() == Some(&obj);
        objective.push(obj);
        if unchanged {
            break;
        }
        // Update: weighted means in f64, each centroid summing its points in point order (the
        // points bucketed by centroid first, so that centroids can be summed independently).
        let mut counts = vec![0f64; k];
        let mut start = vec![0usize; k + 1];
        for (i, &(a, _)) in assign.iter().enumerate() {
            counts[a] += w.map_or(1.0, |w| f64::from(w[i]));
            start[a + 1] += 1;
        }
        for j in 0..k {
            start[j + 1] += start[j];
        }
        let mut fill = start.clone();
        for (i, &(a, _)) in assign.iter().enumerate() {
            members[fill[a]] = i as u32;
            fill[a] += 1;
        }
        let (counts_ref, start_ref, members_ref) = (&counts, &start, &members);
        crate::par::for_each_chunk_mut(&mut c, UPDATE_GRAIN * dim, |piece, rows| {
            let mut sums = vec![0f64; dim];
            for (r, row) in rows.chunks_exact_mut(dim).enumerate() {
                let j = piece * UPDATE_GRAIN + r;
                if counts_ref[j] > 0.0 {
                    sums.fill(0.0);
                    for &i in &members_ref[start_ref[j]..start_ref[j + 1]] {
                        let i = i as usize;
                        let wi = w.map_or(1.0, |w| f64::from(w[i]));
                        for (s, &v) in sums.iter_mut().zip(&x[i * dim..(i + 1) * dim]) {
                            *s += wi * f64::from(v);
                        }
                    }
                    for (cv, s) in row.iter_mut().zip(&sums) {
                        *cv = (*s / counts_ref[j]) as f32;
                    }
                }
            }
            Ok(())
        })?;
        splits += split_clusters(&mut c, &mut counts, dim, n, &mut split_rng);
        if cfg.spherical {
            normalize_rows(&mut c, dim);
        }
    }
    Ok(KMeans { centroids: c, k, dim, objective, splits, few_points: false })
}

/// Centroids per piece of the parallel update step.
const UPDATE_GRAIN: usize = 4;

/// Points per piece of the parallel assignment: about 2^18 multiply-adds (any split gives the
/// same assignments; this only sets the granularity).
fn assign_grain(k: usize, dim: usize) -> usize {
    ((1usize << 18) / k.saturating_mul(dim).max(1)).clamp(16, 4096)
}

/// FAISS's `split_clusters`: every empty cluster takes a perturbed copy of a donor.
fn split_clusters(c: &mut [f32], counts: &mut [f64], dim: usize, n: usize, rng: &mut Rng) -> usize {
    const EPS: f32 = 1.0 / 1024.0;
    let k = counts.len();
    let total: f64 = counts.iter().sum();
    // Probabilities are relative to the (weighted) mass beyond one point per cluster.
    let denom = if total > 0.0 { total - k as f64 * (total / n as f64) } else { 0.0 };
    let mut nsplit = 0;
    for ci in 0..k {
        if counts[ci] != 0.0 {
            continue;
        }
        let mut cj = 0;
        let mut found = false;
        for _ in 0..10_000 {
            let unit = if total > 0.0 { total / n as f64 } else { 1.0 };
            let p = if denom > 0.0 { (counts[cj] - unit) / denom } else { 0.0 };
            if rng.next_f32() < p as f32 {
                found = true;
                break;
            }
            cj = (cj + 1) % k;
        }
        if !found {
            cj = (0..k).fold(0, |b, j| if counts[j] > counts[b] { j } else { b });
        }
        let (src, dst) = (cj * dim, ci * dim);
        for j in 0..dim {
            let v = c[src + j];
            let (up, down) = (v * (1.0 + EPS), v * (1.0 - EPS));
            if j % 2 == 0 {
                c[dst + j] = up;
                c[src + j] = down;
            } else {
                c[dst + j] = down;
                c[src + j] = up;
            }
        }
        counts[ci] = counts[cj] / 2.0;
        counts[cj] -= counts[ci];
        nsplit += 1;
    }
    nsplit
}

fn normalize_rows(c: &mut [f32], dim: usize) {
    for row in c.chunks_exact_mut(dim) {
        let n2: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        if n2 > 0.0 {
            let inv = 1.0 / libm::sqrt(n2);
            for v in row {
                *v = (f64::from(*v) * inv) as f32;
            }
        }
    }
}

/// k-means++ seeding (D² sampling), deterministic for a seed.
fn plus_plus(x: &[f32], n: usize, dim: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut c = Vec::with_capacity(k * dim);
    let first = rng.below(n as u64) as usize;
    c.extend_from_slice(&x[first * dim..(first + 1) * dim]);
    let mut d2 = vec![f64::INFINITY; n];
    let mut block = vec![0f32; LANES * dim];
    for j in 1..k {
        let last = &c[(j - 1) * dim..j * dim];
        transpose_blocks(last, 1, dim, &mut block);
        let grain = assign_grain(1, dim);
        let _ = crate::par::zip_chunks(x, grain * dim, &mut d2, grain, |_, xs, ds| {
            for (p, d) in xs.chunks_exact(dim).zip(ds.iter_mut()) {
                let (_, dist) = nearest(p, &block, 1);
                *d = d.min(f64::from(dist));
            }
            Ok(())
        });
        let total: f64 = d2.iter().fold(0.0, |t, &d| t + d);
        let pick = if total > 0.0 {
            let r = rng.next_f64() * total;
            let mut acc = 0f64;
            let mut pick = n - 1;
            for (i, &d) in d2.iter().enumerate() {
                acc += d;
                if acc > r {
                    pick = i;
                    break;
                }
            }
            pick
        } else {
            rng.below(n as u64) as usize
        };
        c.extend_from_slice(&x[pick * dim..(pick + 1) * dim]);
    }
    c
}
