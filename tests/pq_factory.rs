//! The PQ factory names on the shipped real data (d = 384): build time, code sizes (native L2
//! stores no norm), recall@10 against exact search, save/load, and names that must fail.
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)

mod common;

use std::time::Instant;
use vector_codecs::factory;
use vector_codecs::metric::Metric;

fn shipped() -> (vector_codecs::io::Matrix, vector_codecs::io::Matrix) {
    let dir = common::shipped_dir();
    (
        vector_codecs::io::read_fvecs(dir.join("wordnet_base.fvecs")).unwrap(),
        vector_codecs::io::read_fvecs(dir.join("wordnet_query.fvecs")).unwrap(),
    )
}

fn exact_top(metric: Metric, q: &[f32], base: &[f32], d: usize, k: usize) -> Vec<u32> {
    let mut s: Vec<(f32, u32)> =
        base.chunks_exact(d).enumerate().map(|(i, x)| (metric.exact(q, x).unwrap(), i as u32)).collect();
    s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    s[..k].iter().map(|t| t.1).collect()
}

#[test]
fn pq_names_reach_real_recall() {
    let (base, query) = shipped();
    let d = base.dim;
    let train = &base.data[..1000 * d];
    let db = &base.data[1000 * d..4000 * d];
    let n = db.len() / d;
    let all = [Metric::InnerProduct, Metric::L2, Metric::Cosine];
    let cases: [(&str, f64, &[Metric]); 6] = [
        ("PQ48x8", 0.55, &all),
        ("PQ96x4fs", 0.45, &all),
        ("PQ96x4", 0.45, &all),
        ("OPQ48,PQ48", 0.55, &[Metric::InnerProduct]),
        ("OPQ16_64,PQ16", 0.2, &[Metric::L2]),
        ("PQ16", 0.25, &[Metric::Cosine]),
    ];
    for (name, min_recall, metrics) in cases {
        for &metric in metrics {
            let t = Instant::now();
            let c = factory::build(name, d, metric, 7, train).unwrap_or_else(|e| panic!("{name}: {e}"));
            let built = t.elapsed();
            let m: usize = name
                .trim_start_matches('O')
                .trim_start_matches("PQ")
                .split(|ch: char| !ch.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let bytes = if name.contains("x4") { m / 2 } else { m };
            let native = metric == Metric::InnerProduct || (metric == Metric::L2 && !name.contains('_'));
            assert_eq!(c.code_len(), bytes + if native { 0 } else { 4 }, "{name} {metric:?}");
            let mut codes = vec![0u8; n * c.code_len()];
            let t = Instant::now();
            c.encode_batch(db, &mut codes).unwrap();
            let enc = t.elapsed();
            let loaded = factory::load(&c.save().unwrap()).unwrap();
            let mut hits = 0;
            let nq = 50;
            for q in query.data.chunks_exact(d).take(nq) {
                let want = exact_top(metric, q, db, d, 10);
                let got = loaded.scan_topk(q, &codes, 10).unwrap();
                hits += got.iter().filter(|g| want.contains(&g.0)).count();
            }
            let recall = hits as f64 / (10 * nq) as f64;
            eprintln!(
                "{name:>14} {:>4} build {:>7.2?} encode {n} {:>7.2?} recall@10 {recall:.3}",
                metric.name(),
                built,
                enc
            );
            assert!(recall >= min_recall, "{name} {metric:?}: recall {recall}");
        }
    }
}

#[test]
fn bad_pq_names_are_errors() {
    let (base, _) = shipped();
    let d = base.dim;
    let train = &base.data[..300 * d];
    for name in ["PQ7x8", "PQ48x0", "PQ48x17", "PQ0x8", "OPQ48,PQ24", "OPQ48_400,PQ48", "PQ48x10"] {
        assert!(factory::build(name, d, Metric::L2, 1, train).is_err(), "{name}");
    }
    // NaN training data.
    let mut bad = train.to_vec();
    bad[5] = f32::NAN;
    assert!(factory::build("PQ48x4", d, Metric::InnerProduct, 1, &bad).is_err());
}

/// IP, native L2 and cosine scores of the PQ names equal the metric on the decoded vectors.
#[test]
fn scores_are_exact_on_the_reconstruction() {
    let (base, query) = shipped();
    let d = base.dim;
    let train = &base.data[..600 * d];
    let xs = &base.data[600 * d..900 * d];
    let cases = [
        ("PQ24x8", &[Metric::InnerProduct, Metric::L2, Metric::Cosine][..]),
        ("PQ12x4", &[Metric::L2][..]),
        ("OPQ24,PQ24", &[Metric::L2][..]),
    ];
    for (name, metrics) in cases {
        for &metric in metrics {
            let c = factory::build(name, d, metric, 5, train).unwrap();
            assert_eq!(c.estimator(), vector_codecs::Estimator::Reconstruction, "{name} {metric:?}");
            let mut codes = vec![0u8; 300 * c.code_len()];
            c.encode_batch(xs, &mut codes).unwrap();
            let mut dec = vec![0f32; xs.len()];
            c.decode_batch(&codes, &mut dec).unwrap();
            let q = &query.data[..d];
            let mut s = vec![0f32; 300];
            c.scan(q, &codes, &mut s).unwrap();
            for (x, &got) in dec.chunks_exact(d).zip(&s) {
                let want = metric.exact(q, x).unwrap();
                assert!((got - want).abs() <= 2e-4 * (1.0 + want.abs()), "{name} {metric:?}: {got} vs {want}");
            }
        }
    }
}
