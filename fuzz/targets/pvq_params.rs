//! Fuzz body: `PvqCodec` parameters restored from arbitrary bytes (`Persist::restore`) are
//! accepted or rejected without panicking; an accepted codec (bounded size) encodes, decodes
//! and scores, and persists to bytes that restore to the same codec.
use vector_codecs::format::{Reader, Writer, open};
use vector_codecs::persist::Persist;
use vector_codecs::pvq::PvqCodec;
use vector_codecs::{Codec, Decode, Score};

/// Container kind used for the round trip.
const KIND: u16 = 0x0700;

pub fn run(data: &[u8]) {
    let Ok(c) = PvqCodec::restore(&mut Reader::new(data)) else { return };
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
    assert!(c.score(&q, &code).unwrap().is_finite());
    let mut w = Writer::new(KIND);
    c.persist(&mut w);
    let bytes = w.finish().unwrap();
    let back = PvqCodec::restore(&mut open(&bytes, KIND).unwrap()).unwrap();
    assert_eq!(back, c);
}
