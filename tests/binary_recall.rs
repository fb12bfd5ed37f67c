//! Recall@10 of the binary codecs on real embeddings (`wordnet-minilm-l6`: 50,000 × 384
//! all-MiniLM-L6-v2 sentence embeddings, exact top-10 by inner product). Skips when the data
//! folder is absent. Thresholds are conservative bounds under the values measured when the test
//! was written (printed with `--nocapture`).
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)

mod common;

use vector_codecs::binary::{self, BinaryCodec, hamming_scan_topk};
use vector_codecs::compose::Centered;
use vector_codecs::io::{read_fvecs, read_ivecs};
use vector_codecs::topk::TopK;
use vector_codecs::{Codec, Score, ScoreSymmetric};

const QUERIES: usize = 150;

fn recall(found: &[(f32, u32)], gt: &[i32]) -> f64 {
    found.iter().filter(|(_, id)| gt[..10].contains(&(*id as i32))).count() as f64 / 10.0
}

fn top10(scores: &[f32]) -> Vec<(f32, u32)> {
    let mut t = TopK::<16>::new(10);
    t.push_batch(scores, 0);
    let mut out = [(0.0, 0); 16];
    let m = t.drain_sorted(&mut out);
    out[..m].to_vec()
}

#[test]
fn recall_at_10_on_wordnet_minilm() {
    let Some(dir) = common::data_dir("wordnet-minilm-l6") else { return };
    let base = read_fvecs(dir.join("wordnet_base.fvecs")).unwrap();
    let queries = read_fvecs(dir.join("wordnet_query.fvecs")).unwrap();
    let (k, gt) = read_ivecs(dir.join("wordnet_groundtruth.ivecs")).unwrap();
    let d = base.dim;
    let n = base.rows();
    let nq = QUERIES.min(queries.rows());
    let gt_row = |i: usize| &gt[i * k..(i + 1) * k];

    let mut results = Vec::new();
    for name in binary::CONFIG_NAMES {
        // Every configuration as a `CenteredBinary`: the uncentred ones centred on 0 (an exact
        // `+ 0` on every score; the same codes).
        let cfg = binary::config(name).unwrap();
        let codec = if cfg.centred {
            BinaryCodec::train_centred(&base.data, d, &cfg).unwrap()
        } else {
            Centered::new(BinaryCodec::train(&base.data, d, &cfg).unwrap(), vec![0.0; d]).unwrap()
        };
        let c = codec.code_len();
        let mut codes = vec![0u8; n * c];
        codec.encode_batch(&base.data, &mut codes).unwrap();
        let bs = codec.bitsliced();
        let (mut r_float, mut r_bits, mut r_sym) = (0.0, 0.0, 0.0);
        let mut scores = vec![0.0f32; n];
        let mut fs = codec.scratch();
        let mut bsc = bs.scratch();
        let mut qcode = vec![0u8; c];
        for qi in 0..nq {
            let q = queries.row(qi).unwrap();
            let g = gt_row(qi);
            let pq = codec.prepare(q, &mut fs).unwrap();
            codec.score_batch(&pq, &codes, &mut scores).unwrap();
            r_float += recall(&top10(&scores), g);
            let pb = bs.prepare(q, &mut bsc).unwrap();
            let mut t = TopK::<16>::new(10);
            bs.scan_topk(&pb, &codes, 0, &mut t).unwrap();
            let mut out = [(0.0, 0); 16];
            let m = t.drain_sorted(&mut out);
            r_bits += recall(&out[..m], g);
            codec.encode_into(q, &mut qcode).unwrap();
            if codec.inner.stages() == 1 {
                // Pure sign codes: rank by raw Hamming distance.
                let mut t = TopK::<16>::new(10);
                hamming_scan_topk(&qcode, &codes, 0, &mut t).unwrap();
                let m = t.drain_sorted(&mut out);
                r_sym += recall(&out[..m], g);
            } else {
                codec.score_codes_batch(&qcode, &codes, &mut scores).unwrap();
                r_sym += recall(&top10(&scores), g);
                // Spot-check the batch against the trait.
                assert_eq!(scores[17], codec.score_codes(&qcode, &codes[17 * c..18 * c]).unwrap());
            }
        }
        let f = nq as f64;
        let row = (name, codec.bits_per_dim(), r_float / f, r_bits / f, r_sym / f);
        eprintln!(
            "{:<13} {:.3} bits/dim  recall@10: float query {:.4}, 4-bit query {:.4}, symmetric {:.4}",
            row.0, row.1, row.2, row.3, row.4
        );
        results.push(row);
    }
    let get = |name: &str| *results.iter().find(|r| r.0 == name).unwrap();
    let (bin1, bin1c, bin2, bin4) = (get("bin1"), get("bin1-centred"), get("bin2"), get("bin4"));
    // Sign bits with Hamming: faiss measures 0.6162 on this set (ANCHORS.md).
    assert!(bin1.4 > 0.55 && bin1.4 < 0.70, "bin1 Hamming recall {}", bin1.4);
    assert!(bin1.2 > 0.70, "bin1 float-query recall {}", bin1.2);
    assert!(bin1.3 > 0.68, "bin1 4-bit-query recall {}", bin1.3);
    assert!(bin1c.4 > 0.55, "bin1-centred Hamming recall {}", bin1c.4);
    assert!(bin2.2 > bin1.2 && bin4.2 > bin2.2, "recall must grow with stages");
    assert!(bin4.2 > 0.85, "bin4 float-query recall {}", bin4.2);
    assert!(bin4.3 > 0.80, "bin4 4-bit-query recall {}", bin4.3);
    assert!(bin4.4 > bin1.4 + 0.15, "bin4 symmetric recall {}", bin4.4);
}
