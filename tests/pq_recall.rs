//! Recall@10 of the PQ factory names on the full `wordnet-minilm-l6` set (50,000 × 384 base,
//! 1,000 queries, exact top-100 shipped) — the numbers compared against faiss-cpu in the PQ
//! notes. Ignored by default (minutes of training); run with
//! `cargo test --release --test pq_recall -- --ignored --nocapture`.
//! Set `PQ_RECALL_NAMES=PQ48x8,PQ96x4fs` to pick names and `PQ_RECALL_TRAIN=20000` for the
//! training rows (the first rows of the base).
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)

mod common;

use std::time::Instant;
use vector_codecs::factory;
use vector_codecs::metric::Metric;

#[test]
#[ignore = "minutes: full wordnet-minilm-l6 recall"]
fn recall_at_10_on_wordnet() {
    let Some(dir) = common::data_dir("wordnet-minilm-l6") else { return };
    let base = vector_codecs::io::read_fvecs(dir.join("wordnet_base.fvecs")).unwrap();
    let query = vector_codecs::io::read_fvecs(dir.join("wordnet_query.fvecs")).unwrap();
    let (gk, gt) = vector_codecs::io::read_ivecs(dir.join("wordnet_groundtruth.ivecs")).unwrap();
    let d = base.dim;
    let n = base.data.len() / d;
    let ntrain: usize = std::env::var("PQ_RECALL_TRAIN").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let names = std::env::var("PQ_RECALL_NAMES")
        .unwrap_or_else(|_| "PQ48x8,PQ96x4fs,PQ96x4,OPQ48,PQ48,PQ96x8,PQ192x4fs,OPQ96,PQ96".into());
    // Split on commas that start a new name (OPQ names contain one).
    let mut list: Vec<String> = Vec::new();
    for part in names.split(',') {
        if part.starts_with("PQ") && list.last().is_some_and(|l| l.starts_with("OPQ") && !l.contains(",PQ")) {
            let last = list.last_mut().unwrap();
            last.push(',');
            last.push_str(part);
        } else {
            list.push(part.to_string());
        }
    }
    let train = &base.data[..ntrain.min(n) * d];
    for name in &list {
        let t = Instant::now();
        let c = factory::build(name, d, Metric::InnerProduct, 1234, train).unwrap();
        let tb = t.elapsed();
        let mut codes = vec![0u8; n * c.code_len()];
        let t = Instant::now();
        c.encode_batch(&base.data, &mut codes).unwrap();
        let te = t.elapsed();
        let t = Instant::now();
        let mut hits = 0usize;
        let nq = query.data.len() / d;
        for (qi, q) in query.data.chunks_exact(d).enumerate() {
            let top = c.scan_topk(q, &codes, 10).unwrap();
            let want = &gt[qi * gk..qi * gk + 10];
            hits += top.iter().filter(|(id, _)| want.contains(&(*id as i32))).count();
        }
        let ts = t.elapsed();
        println!(
            "{name:>12} {:>3} B  recall@10 {:.4}  train {:>6.1?}  encode {:>6.1?}  search {:.2} ms/query",
            c.code_len(),
            hits as f64 / (10 * nq) as f64,
            tb,
            te,
            ts.as_secs_f64() * 1e3 / nq as f64
        );
    }
}

/// OPQ48,PQ48 with more alternations than the factory's 8 (FAISS uses 50), through the API:
/// `PQ_OPQ_NITER=25 cargo test --release --test pq_recall opq_iterations -- --ignored --nocapture`.
#[test]
#[ignore = "minutes: OPQ iteration sweep on wordnet-minilm-l6"]
fn opq_iterations() {
    use vector_codecs::pq::opq::{OpqConfig, train_opq};
    use vector_codecs::train::KMeansConfig;
    use vector_codecs::{Codec, Score};
    let Some(dir) = common::data_dir("wordnet-minilm-l6") else { return };
    let base = vector_codecs::io::read_fvecs(dir.join("wordnet_base.fvecs")).unwrap();
    let query = vector_codecs::io::read_fvecs(dir.join("wordnet_query.fvecs")).unwrap();
    let (gk, gt) = vector_codecs::io::read_ivecs(dir.join("wordnet_groundtruth.ivecs")).unwrap();
    let d = base.dim;
    let n = base.data.len() / d;
    let niters: Vec<usize> =
        std::env::var("PQ_OPQ_NITER").unwrap_or_else(|_| "25".into()).split(',').map(|s| s.parse().unwrap()).collect();
    for niter in niters {
        let t = Instant::now();
        let cfg = OpqConfig { niter, kmeans: KMeansConfig { seed: 1234, ..Default::default() }, ..Default::default() };
        let (opq, mses) = train_opq(&base.data[..20_000 * d], d, d, 48, 8, &cfg).unwrap();
        let tb = t.elapsed();
        let mut codes = vec![0u8; n * opq.code_len()];
        opq.encode_batch(&base.data, &mut codes).unwrap();
        let mut scratch = opq.scratch();
        let mut scores = vec![0f32; n];
        let mut hits = 0;
        for (qi, q) in query.data.chunks_exact(d).enumerate() {
            let p = opq.prepare(q, &mut scratch).unwrap();
            opq.score_batch(&p, &codes, &mut scores).unwrap();
            let mut ids: Vec<u32> = (0..n as u32).collect();
            ids.select_nth_unstable_by(10, |&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
            hits += ids[..10].iter().filter(|&&i| gt[qi * gk..qi * gk + 10].contains(&(i as i32))).count();
        }
        println!(
            "OPQ48(niter={niter}),PQ48 recall@10 {:.4} train {tb:.1?} rotated-space MSE first {:.4} last {:.4}",
            hits as f64 / 10_000.0,
            mses[0],
            mses.last().unwrap()
        );
    }
}
