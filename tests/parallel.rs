//! The `parallel` feature gives the single-threaded results, bit for bit: batch encode and
//! decode, top-k scans over codes and search layouts, k-means, PCA and Lloyd–Max training, on
//! pools of 1, 2 and 3 threads (`vector_codecs::par::with_threads`).
//!
//! Run with `cargo test --features parallel --test parallel`. Without the feature the same
//! assertions run (every pool is then the calling thread) so the file compiles and passes in
//! every build; with it, one thread is the default build's code path and 2 or 3 threads split
//! the work.
#![cfg(feature = "std")]

mod common;

use vector_codecs::dynamic::DynCodec;
use vector_codecs::factory;
use vector_codecs::metric::Metric;
use vector_codecs::par::with_threads;
use vector_codecs::rng::Rng;
use vector_codecs::scalar::lloyd::TrainedLloydCodec;
use vector_codecs::train::{Init, KMeansConfig, kmeans};
use vector_codecs::transform::pca::Pca;

const DIM: usize = 96;
const POOLS: [usize; 2] = [2, 3];

/// `rows` vectors of the shipped WordNet subset cut to `DIM` (cycling through its 4,000 rows, so
/// that large sets hold many identical vectors: ties in every scan).
fn rows(rows: usize) -> Vec<f32> {
    let bytes = std::fs::read(common::shipped_dir().join("wordnet_base.fvecs")).expect("shipped base");
    let full = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    let all: Vec<&[u8]> = bytes.chunks_exact(4 + 4 * full).collect();
    (0..rows)
        .flat_map(|i| {
            all[i % all.len()][4..4 + 4 * DIM].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        })
        .collect()
}

fn build(name: &str, metric: Metric, train: &[f32]) -> Box<dyn DynCodec> {
    factory::build(name, DIM, metric, 0xC0DE, train).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every pool's result equals the one-thread result.
fn same_on_every_pool<R: Send + PartialEq + std::fmt::Debug>(what: &str, f: impl Fn() -> R + Sync) -> R {
    let one = with_threads(1, &f).unwrap();
    // Without the feature every pool is the calling thread: once is enough.
    let pools: &[usize] = if vector_codecs::par::ENABLED { &POOLS } else { &[] };
    for &t in pools {
        assert_eq!(with_threads(t, &f).unwrap(), one, "{what}: {t} threads");
    }
    one
}

const CODECS: [(&str, Metric); 8] = [
    ("sq8", Metric::L2),
    ("tq4-ip-i8", Metric::InnerProduct),
    ("bin1", Metric::InnerProduct),
    ("PQ96x4fs", Metric::L2),
    ("PQ24x8", Metric::InnerProduct),
    ("pca2-ip", Metric::InnerProduct),
    ("lloyd4-trained-dim", Metric::InnerProduct),
    ("sq4+rans", Metric::L2),
];

#[test]
fn batch_encode_and_decode_match_one_thread_and_one_row_at_a_time() {
    let train = rows(1000);
    // 5,000 rows: about 7 pieces of 704 rows at d = 96.
    let xs = rows(5000);
    for (name, metric) in CODECS {
        let c = build(name, metric, &train);
        let n = xs.len() / DIM;
        let codes = same_on_every_pool(name, || {
            let mut codes = vec![0u8; n * c.code_len()];
            c.encode_batch(&xs, &mut codes).unwrap();
            codes
        });
        // One row per call never splits: the plain single-threaded path.
        let cl = c.code_len();
        for (i, x) in xs.chunks_exact(DIM).enumerate().step_by(97) {
            let mut one = vec![0u8; cl];
            c.encode_batch(x, &mut one).unwrap();
            assert_eq!(one, codes[i * cl..(i + 1) * cl], "{name}: row {i}");
        }
        let dec = same_on_every_pool(name, || {
            let mut out = vec![0f32; n * DIM];
            c.decode_batch(&codes, &mut out).unwrap();
            out.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
        });
        assert_eq!(dec.len(), xs.len());
    }
}

#[test]
fn batch_encode_errors_are_the_first_failing_row() {
    let train = rows(1000);
    let c = build("sq8", Metric::L2, &train);
    let mut xs = rows(5000);
    xs[3100 * DIM + 5] = f32::NAN;
    xs[4500 * DIM] = f32::INFINITY;
    let err = same_on_every_pool("nan", || {
        let mut codes = vec![0u8; 5000 * c.code_len()];
        c.encode_batch(&xs, &mut codes).unwrap_err()
    });
    let mut one = vec![0u8; c.code_len()];
    assert_eq!(c.encode_batch(&xs[3100 * DIM..3101 * DIM], &mut one).unwrap_err(), err);
    // Wrong lengths are still the plain errors.
    let mut short = vec![0u8; 10];
    assert!(with_threads(2, || c.encode_batch(&xs, &mut short)).unwrap().is_err());
}

/// The `k` best of `scores` by (score desc, id asc), NaN excluded: the naive reference.
fn naive_topk(scores: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> =
        scores.iter().enumerate().filter(|(_, s)| !s.is_nan()).map(|(i, &s)| (i as u32, s)).collect();
    all.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

#[test]
fn topk_scans_match_one_thread_and_a_full_sort() {
    let train = rows(1000);
    // 34,000 codes: three ranges of 16,384 (the last shorter); the codes of the 4,000 shipped
    // rows repeated, so each score occurs eight or nine times and ties cross range boundaries.
    let base = rows(4000);
    let queries = rows(4003);
    let n = 34_000;
    for (name, metric) in CODECS {
        let c = build(name, metric, &train);
        let mut block = vec![0u8; 4000 * c.code_len()];
        c.encode_batch(&base, &mut block).unwrap();
        let codes: Vec<u8> = block.iter().copied().cycle().take(n * c.code_len()).collect();
        let layout = c.layout(&codes).unwrap();
        for (qi, k) in [(4000usize, 1usize), (4001, 10), (4002, 100)] {
            let q = &queries[qi * DIM..(qi + 1) * DIM];
            let top = same_on_every_pool(name, || c.scan_topk(q, &codes, k).unwrap());
            let mut scores = vec![0f32; n];
            c.scan(q, &codes, &mut scores).unwrap();
            assert_eq!(top, naive_topk(&scores, k), "{name} k {k}");
            // Ties: the reference keeps the smallest ids of equal scores, whichever range they are in.
            assert!(top.len() == k.min(n));
            let lay = same_on_every_pool(name, || c.scan_layout_topk(q, &layout, n, k).unwrap());
            assert_eq!(lay, top, "{name} layout k {k}");
        }
    }
}

#[test]
fn layout_topk_checks_its_input() {
    let train = rows(1000);
    let c = build("PQ96x4fs", Metric::L2, &train);
    let xs = rows(100);
    let mut codes = vec![0u8; 100 * c.code_len()];
    c.encode_batch(&xs, &mut codes).unwrap();
    let layout = c.layout(&codes).unwrap();
    let q = &xs[..DIM];
    assert!(c.scan_layout_topk(q, &layout[..layout.len() - 1], 100, 5).is_err());
    assert!(c.scan_layout_topk(q, &layout, 100, 5000).is_err());
    assert_eq!(c.scan_layout_topk(q, &layout, 0, 5).unwrap(), vec![]);
    assert_eq!(c.scan_layout_topk(q, &layout, 37, 5).unwrap(), c.scan_topk(q, &codes[..37 * c.code_len()], 5).unwrap());
}

fn gaussian(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n * d).map(|_| r.gaussian() as f32).collect()
}

#[test]
fn kmeans_centroids_are_bit_identical() {
    let data = rows(4000);
    let w: Vec<f32> = (0..4000).map(|i| 0.5 + (i % 7) as f32).collect();
    for (k, init, spherical, weights) in
        [(64, Init::Random, false, false), (16, Init::KMeansPlusPlus, true, true), (200, Init::Random, false, true)]
    {
        let cfg = KMeansConfig { niter: 8, init, spherical, ..KMeansConfig::default() };
        let wts = weights.then_some(&w[..]);
        let r = same_on_every_pool("kmeans", || kmeans(&data, DIM, k, &cfg, wts, None).unwrap());
        let bits: Vec<u32> = r.centroids.iter().map(|v| v.to_bits()).collect();
        let again = with_threads(2, || kmeans(&data, DIM, k, &cfg, wts, None).unwrap()).unwrap();
        assert_eq!(again.centroids.iter().map(|v| v.to_bits()).collect::<Vec<u32>>(), bits);
        assert_eq!(r.objective, again.objective);
    }
    // Many points, few dimensions (many assignment pieces).
    let g = gaussian(20_000, 8, 3);
    same_on_every_pool("kmeans 8-d", || kmeans(&g, 8, 32, &KMeansConfig::default(), None, None).unwrap());
}

#[test]
fn pca_is_bit_identical() {
    let data = rows(3000);
    let mean: Vec<f32> = (0..DIM).map(|j| data.iter().skip(j).step_by(DIM).sum::<f32>() / 3000.0).collect();
    let p = same_on_every_pool("pca", || Pca::train(&data, DIM, &mean).unwrap());
    assert!(p.variances().windows(2).all(|w| w[0] >= w[1]));
    // An odd dimension and a row count that is not a multiple of the centring block.
    let g = gaussian(1001, 37, 5);
    same_on_every_pool("pca 37", || Pca::train(&g, 37, &[0.0; 37]).unwrap());
}

#[test]
fn lloyd_training_is_bit_identical() {
    let data = rows(4000);
    for per_dim in [true, false] {
        same_on_every_pool("lloyd", || TrainedLloydCodec::train(DIM, 4, per_dim, &data, 20).unwrap());
    }
    let mut bad = data.clone();
    bad[17 * DIM + 40] = f32::NAN;
    same_on_every_pool("lloyd nan", || TrainedLloydCodec::train(DIM, 4, true, &bad, 20).unwrap_err());
}
