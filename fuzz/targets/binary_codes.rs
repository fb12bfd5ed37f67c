//! Fuzz body: hostile *codes* for `BinaryCodec`. Byte 0 picks the dimension (1..=256), byte 1
//! the stage count and scale format; the rest is a run of codes. Decoding and every scorer
//! (float query, 4-bit query, symmetric, Hamming, batch scans) must return `Ok` or `Err`, never
//! panic, and agree between single and batch scoring.

use vector_codecs::binary::{BinaryCodec, hamming_scan_topk};
use vector_codecs::topk::TopK;
use vector_codecs::{Codec, Decode, Score, ScoreSymmetric};

pub fn run(data: &[u8]) {
    let [a, b, rest @ ..] = data else { return };
    let dim = usize::from(*a) + 1;
    let stages = usize::from(b & 7) + 1;
    let c = if b & 8 == 0 || stages > 1 {
        BinaryCodec::residual(dim, stages).unwrap()
    } else {
        BinaryCodec::sign(dim).unwrap()
    };
    let len = c.code_len();
    let n = rest.len() / len;
    let codes = &rest[..n * len];
    let q: Vec<f32> = (0..dim).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
    let mut out = vec![0.0f32; dim];
    let mut fs = c.scratch();
    let fq = c.prepare(&q, &mut fs).unwrap();
    let bs = c.bitsliced();
    let mut bsc = bs.scratch();
    let bq = bs.prepare(&q, &mut bsc).unwrap();
    let mut batch = vec![0.0f32; n];
    let batch_ok = c.score_batch(&fq, codes, &mut batch).is_ok();
    let mut bbatch = vec![0.0f32; n];
    let bbatch_ok = bs.score_batch(&bq, codes, &mut bbatch).is_ok();
    let mut all_ok = true;
    for (i, code) in codes.chunks_exact(len).enumerate() {
        let dec = c.decode_into(code, &mut out);
        let s = c.score(&fq, code);
        let sb = bs.score(&bq, code);
        let ss = c.score_codes(code, code);
        assert_eq!(dec.is_ok(), s.is_ok());
        assert_eq!(dec.is_ok(), sb.is_ok());
        assert_eq!(dec.is_ok(), ss.is_ok());
        all_ok &= dec.is_ok();
        if let (Ok(s), Ok(sb)) = (s, sb) {
            if batch_ok {
                assert_eq!(batch[i].to_bits(), s.to_bits());
            }
            if bbatch_ok {
                assert_eq!(bbatch[i].to_bits(), sb.to_bits());
            }
        }
    }
    assert_eq!(batch_ok, all_ok);
    assert_eq!(bbatch_ok, all_ok);
    if n > 0 {
        let mut t = TopK::<8>::new(3);
        hamming_scan_topk(&codes[..len], codes, 0, &mut t).unwrap();
        assert_eq!(t.len(), n.min(3));
    }
    // Wrong lengths are errors.
    assert!(c.score(&fq, &rest[..rest.len().min(len + 1)]).is_err() || rest.len() == len);
}
