//! Fuzz body: `BinaryCodec::from_bytes` must reject or accept arbitrary bytes without panicking
//! or over-allocating; parameters it accepts must serialize back to the same bytes and encode,
//! decode and score a vector without error. The no-heap loader (`from_bytes_in`) and the zero-copy view (`view_from_bytes`) must agree.

use vector_codecs::binary::BinaryCodec;
use vector_codecs::{Codec, Decode, Score, ScoreSymmetric};

pub fn run(data: &[u8]) {
    // The no-heap loader: same result (or the same error) as the owned one.
    let mut storage = vec![0f32; data.len() / 4 + 1];
    let borrowed = BinaryCodec::from_bytes_in(data, &mut storage).map(|b| b.to_owned_codec());
    assert_eq!(borrowed, BinaryCodec::from_bytes(data), "no-heap and owned loaders differ");
    // The zero-copy view, the bytes placed so that a mean is 4-byte aligned.
    let at = BinaryCodec::<&[f32]>::VIEW_FLOATS_AT;
    let mut buf = vec![0u8; data.len() + 3];
    let o = (4 - (buf.as_ptr() as usize + at) % 4) % 4;
    buf[o..o + data.len()].copy_from_slice(data);
    let view = BinaryCodec::view_from_bytes(&buf[o..o + data.len()]).map(|b| b.to_owned_codec());
    assert_eq!(view, BinaryCodec::from_bytes(data), "zero-copy view and owned loader differ");
    let Ok(c) = BinaryCodec::from_bytes(data) else { return };
    assert_eq!(c.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
    if c.dim() > 4096 {
        return;
    }
    let x: Vec<f32> = (0..c.dim()).map(|i| ((i * 7919) % 13) as f32 - 6.0).collect();
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    let mut y = vec![0.0f32; c.dim()];
    c.decode_into(&code, &mut y).unwrap();
    assert!(y.iter().all(|v| v.is_finite()));
    let mut scratch = c.scratch();
    let q = c.prepare(&x, &mut scratch).unwrap();
    assert!(c.score(&q, &code).unwrap().is_finite());
    assert!(c.score_codes(&code, &code).unwrap().is_finite());
}
