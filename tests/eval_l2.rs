//! L2 search on the shipped real uint8 set (`data/digits_*.bvecs`: UCI handwritten digits,
//! 1,697 base images and 100 queries, 64 pixel counts 0..=16 each; see `data/README.md`):
//! codecs built by the factory for [`Metric::L2`] must find the exact L2 neighbours.
//!
//! Recall@10 is tie-aware: a returned image counts when its exact squared distance is at most
//! the 10th true one (integer data have exact ties at the 10th place for 5 of the 100 queries,
//! and which of the tied ids a codec returns is not an error).
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)

mod common;

use vector_codecs::dynamic::DynCodec;
use vector_codecs::factory;
use vector_codecs::io::{Matrix, read_bvecs, read_bvecs_u8, read_ivecs};
use vector_codecs::metric::Metric;

const SEED: u64 = 42;

fn digits() -> (Matrix, Matrix) {
    let dir = common::shipped_dir();
    let base = read_bvecs(dir.join("digits_base.bvecs")).expect("shipped digits base");
    let query = read_bvecs(dir.join("digits_query.bvecs")).expect("shipped digits queries");
    (base, query)
}

/// Exact squared L2 distance in `f64`.
fn dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum()
}

/// The exact distance of the 10th nearest base vector, per query.
fn tenth(base: &Matrix, queries: &Matrix) -> Vec<f64> {
    queries
        .data
        .chunks_exact(queries.dim)
        .map(|q| {
            let mut d: Vec<f64> = base.data.chunks_exact(base.dim).map(|x| dist(q, x)).collect();
            d.sort_by(f64::total_cmp);
            d[9]
        })
        .collect()
}

/// Mean tie-aware recall@10 of `top10(query index, query)` (returned ids, best first).
fn recall(base: &Matrix, queries: &Matrix, mut top10: impl FnMut(usize, &[f32]) -> Vec<u32>) -> f64 {
    let d = base.dim;
    let limits = tenth(base, queries);
    let mut hits = 0usize;
    for (qi, q) in queries.data.chunks_exact(d).enumerate() {
        let got = top10(qi, q);
        assert_eq!(got.len(), 10);
        hits += got.iter().filter(|&&id| dist(q, &base.data[id as usize * d..][..d]) <= limits[qi]).count().min(10);
    }
    hits as f64 / (10 * queries.rows()) as f64
}

fn factory_recall(name: &str, base: &Matrix, queries: &Matrix) -> f64 {
    let codec = factory::build(name, base.dim, Metric::L2, SEED, &base.data).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(codec.metric(), Metric::L2);
    let mut codes = vec![0u8; base.rows() * codec.code_len()];
    codec.encode_batch(&base.data, &mut codes).unwrap();
    let codec: &dyn DynCodec = codec.as_ref();
    recall(base, queries, |_, q| codec.scan_topk(q, &codes, 10).unwrap().into_iter().map(|(id, _)| id).collect())
}

#[test]
fn shipped_digits_are_the_documented_uint8_set() {
    let dir = common::shipped_dir();
    let (dim, bytes) = read_bvecs_u8(dir.join("digits_base.bvecs")).unwrap();
    assert_eq!((dim, bytes.len() / dim), (64, 1697));
    assert!(bytes.iter().all(|&v| v <= 16));
    let (base, queries) = digits();
    assert_eq!((queries.dim, queries.rows()), (64, 100));
    // The shipped ground truth is the exact L2 top-100, best first (up to ties).
    let (k, ids) = read_ivecs(dir.join("digits_groundtruth_l2.ivecs")).unwrap();
    assert_eq!((k, ids.len()), (100, 100 * 100));
    for (qi, q) in queries.data.chunks_exact(64).enumerate() {
        let mut all: Vec<f64> = base.data.chunks_exact(64).map(|x| dist(q, x)).collect();
        all.sort_by(f64::total_cmp);
        let got: Vec<f64> = ids[qi * k..][..k].iter().map(|&i| dist(q, &base.data[i as usize * 64..][..64])).collect();
        assert_eq!(got, all[..k], "query {qi}");
    }
}

#[test]
fn f16_l2_recall_on_uint8_digits() {
    let (base, queries) = digits();
    let r = factory_recall("f16", &base, &queries);
    eprintln!("f16 L2 recall@10 on digits: {r}");
    assert!(r >= 0.99, "f16 L2 recall@10 {r}");
}

/// `SQ8` (FAISS spelling) through the factory at L2. Where the factory has no uniform scalar
/// entry (a build before it), the codec it wraps — the trained per-dimension 8-bit min/max grid
/// inside [`WithNorm`](vector_codecs::metric::WithNorm) — is checked directly.
#[test]
fn sq8_l2_recall_on_uint8_digits() {
    let (base, queries) = digits();
    let name = ["SQ8", "sq8"].into_iter().find(|n| factory::lookup(n).is_ok());
    let r = match name {
        Some(name) => factory_recall(name, &base, &queries),
        None => {
            use vector_codecs::scalar::uniform::{PerDim, RangeEstimator};
            use vector_codecs::{Codec, Score, metric::WithNorm};
            eprintln!("SQ8 is not in the factory on this build: checking WithNorm<sq8> directly");
            let inner = PerDim::train(&base.data, base.dim, 8, RangeEstimator::MinMax, false).unwrap();
            let codec = WithNorm::new(inner, Metric::L2);
            let n = base.rows();
            let mut codes = vec![0u8; n * codec.code_len()];
            codec.encode_batch(&base.data, &mut codes).unwrap();
            let mut scratch = vec![0f32; codec.query_scratch_len()];
            let mut scores = vec![0f32; n];
            recall(&base, &queries, |_, q| {
                let p = codec.prepare(q, &mut scratch).unwrap();
                codec.score_batch(&p, &codes, &mut scores).unwrap();
                let mut ids: Vec<u32> = (0..n as u32).collect();
                ids.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
                ids.truncate(10);
                ids
            })
        }
    };
    eprintln!("SQ8 L2 recall@10 on digits: {r}");
    assert!(r >= 0.98, "SQ8 L2 recall@10 {r}");
}
