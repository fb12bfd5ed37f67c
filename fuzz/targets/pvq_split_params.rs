//! Fuzz body: [`SplitCodec`](vector_codecs::pvq::SplitCodec) parameters from arbitrary bytes,
//! both as a bare `Persist` block (`restore`) and as a container (`from_bytes`): accepted or
//! rejected without panicking; an accepted codec (bounded size) encodes, decodes and scores
//! (the score equals decode-then-dot within rounding), and its bytes restore to the same codec.
use vector_codecs::format::Reader;
use vector_codecs::persist::Persist;
use vector_codecs::pvq::SplitCodec;
use vector_codecs::{Codec, Decode, Score};

fn exercise(c: &SplitCodec) {
    assert!(c.dim() >= 1 && c.dim() <= 1 << 16 && c.code_len() <= 8 * c.dim());
    if c.dim() > 4096 {
        return;
    }
    let x: Vec<f32> = (0..c.dim()).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    let mut out = vec![0f32; c.dim()];
    c.decode_into(&code, &mut out).unwrap();
    assert!(out.iter().all(|v| v.is_finite()));
    let mut s = c.scratch();
    let q = c.prepare(&x, &mut s).unwrap();
    let got = c.score(&q, &code).unwrap();
    let want: f64 = x.iter().zip(&out).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
    let mag: f64 = x.iter().zip(&out).map(|(a, b)| f64::from((a * b).abs())).sum();
    assert!((f64::from(got) - want).abs() <= 1e-4 * mag + 1e-6, "score {got} vs {want}");
    let bytes = c.to_bytes().unwrap();
    assert_eq!(&SplitCodec::from_bytes(&bytes).unwrap(), c);
}

pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    if let Ok(c) = SplitCodec::restore(&mut r) {
        exercise(&c);
    }
    if let Ok(c) = SplitCodec::from_bytes(data) {
        exercise(&c);
    }
}
