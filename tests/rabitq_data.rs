//! RaBitQ recall@10 on the real WordNet MiniLM embeddings (skips when the data is absent).
//! Thresholds sit below the full-run measurements (1,000 queries, seeds 1–3: rabitq1 0.735–0.742,
//! rabitq4 0.955–0.959) by more than the sampling error of 100 queries.
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)

mod common;

use vector_codecs::rabitq::{CenteredRaBitQ, from_config};
use vector_codecs::topk::TopK;
use vector_codecs::transform::haar::HaarRotation;
use vector_codecs::transform::{Identity, Transform};
use vector_codecs::{Codec, Score};

/// The crate's seeded Haar-random rotation (Householder QR of a Gaussian matrix).
fn haar(d: usize, seed: u64) -> HaarRotation {
    HaarRotation::new(d, seed).unwrap()
}

fn recall(codec: &CenteredRaBitQ<Identity>, codes: &[u8], queries: &[f32], gt: &[i32], gt_k: usize, nq: usize) -> f64 {
    let d = codec.dim();
    let n = codes.len() / codec.code_len();
    let mut scratch = codec.scratch();
    let mut scores = vec![0f32; n];
    let mut hits = 0;
    for qi in 0..nq {
        let p = codec.prepare(&queries[qi * d..(qi + 1) * d], &mut scratch).unwrap();
        codec.score_batch(&p, codes, &mut scores).unwrap();
        let mut top = TopK::<10>::new(10);
        top.push_batch(&scores, 0);
        let mut res = [(0f32, 0u32); 10];
        let k = top.drain_sorted(&mut res);
        let truth = &gt[qi * gt_k..qi * gt_k + 10];
        hits += res[..k].iter().filter(|(_, id)| truth.contains(&(*id as i32))).count();
    }
    hits as f64 / (10 * nq) as f64
}

#[test]
fn wordnet_recall_at_10() {
    let Some(dir) = common::data_dir("wordnet-minilm-l6") else { return };
    let base = vector_codecs::io::read_fvecs(dir.join("wordnet_base.fvecs")).unwrap();
    let queries = vector_codecs::io::read_fvecs(dir.join("wordnet_query.fvecs")).unwrap();
    let (gt_k, gt) = vector_codecs::io::read_ivecs(dir.join("wordnet_groundtruth.ivecs")).unwrap();
    let d = base.dim;
    let nq = 100;
    // Rotate once with a seeded Haar matrix, then run the codecs with the identity transform on
    // the rotated vectors: the same codes as RaBitQ<Haar>, at half the test time.
    let rot = haar(d, 1);
    let rotate = |m: &[f32]| {
        let mut out = vec![0f32; m.len()];
        for (x, o) in m.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            rot.forward(x, o).unwrap();
        }
        out
    };
    let (base_r, queries_r) = (rotate(&base.data), rotate(&queries.data[..nq * d]));
    for (name, min) in [("rabitq1", 0.69), ("rabitq4", 0.93)] {
        let codec = from_config(name, Identity(d), &base_r, 7).unwrap();
        let mut codes = vec![0u8; base.rows() * codec.code_len()];
        codec.encode_batch(&base_r, &mut codes).unwrap();
        let r = recall(&codec, &codes, &queries_r, &gt, gt_k, nq);
        eprintln!("{name}: recall@10 {r:.4} over {nq} queries");
        assert!(r >= min, "{name}: recall@10 {r} < {min}");
    }
}
