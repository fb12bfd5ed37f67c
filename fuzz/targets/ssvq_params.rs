//! Fuzz body: arbitrary bytes as a saved sign-split VQ (`SignSplitVq::from_bytes`, and
//! `Persist::restore` on the raw bytes so that mutations reach the field checks without a valid
//! checksum). Parsing must return `Err` or a value that encodes, decodes and scores without
//! panicking, with finite results, and whose saved bytes read back equal.

use vector_codecs::format::Reader;
use vector_codecs::persist::Persist;
use vector_codecs::ssvq::SignSplitVq;
use vector_codecs::{Codec, Decode, Score, ScoreSymmetric};

/// Largest sign-aware table the body builds (the table is `≤ 8·d·2^nbits` floats; `d` is not
/// backed by input bytes, so the body bounds it rather than allocate gigabytes).
const MAX_TABLE: usize = 1 << 22;

pub fn run(data: &[u8]) {
    let raw = SignSplitVq::restore(&mut Reader::new(data)).ok();
    let boxed = SignSplitVq::from_bytes(data).ok();
    for v in raw.into_iter().chain(boxed) {
        let d = v.dim();
        assert!(v.centroids().iter().all(|c| c.is_finite() && *c >= 0.0));
        let x: Vec<f32> = (0..d).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
        let mut code = vec![0u8; v.code_len()];
        v.encode_into(&x, &mut code).unwrap();
        let mut y = vec![0f32; d];
        v.decode_into(&code, &mut y).unwrap();
        assert!(y.iter().all(|t| t.is_finite()));
        for (a, b) in x.iter().zip(&y) {
            assert!(a * b >= 0.0 || *a == 0.0, "decode keeps the sign");
        }
        let _ = v.score_codes(&code, &code).unwrap();
        if v.query_scratch_len() <= MAX_TABLE {
            let mut scratch = v.scratch();
            let q = v.prepare(&x, &mut scratch).unwrap();
            let s = v.score(&q, &code).unwrap();
            let mut b = [0f32; 1];
            v.score_batch(&q, &code, &mut b).unwrap();
            assert_eq!(s.to_bits(), b[0].to_bits());
        }
        assert_eq!(SignSplitVq::from_bytes(&v.to_bytes().unwrap()).unwrap(), v);
    }
}
