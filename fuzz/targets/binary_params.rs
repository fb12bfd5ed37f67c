//! Fuzz body: `BinaryCodec::from_bytes` and `CenteredBinary::from_bytes` must reject or accept
//! arbitrary bytes without panicking or over-allocating; parameters they accept must serialize
//! back to the same bytes and encode, decode and score a vector without error. For the centred
//! container the no-heap loader (`from_bytes_in`) and the zero-copy view (`view_from_bytes`)
//! must agree with the owned one.

use vector_codecs::binary::{BinaryCodec, CenteredBinary};
use vector_codecs::{Codec, Decode, Score, ScoreSymmetric};

fn exercise<C: Decode + Score + ScoreSymmetric>(c: &C) {
    if c.dim() > 4096 {
        return;
    }
    let x: Vec<f32> = (0..c.dim()).map(|i| ((i * 7919) % 13) as f32 - 6.0).collect();
    let mut code = vec![0u8; c.code_len()];
    // Small inputs always encode without a mean; a mean near the float range may make the
    // centred residual's scales overflow (an error, never a panic).
    if c.encode_into(&x, &mut code).is_err() {
        return;
    }
    let mut y = vec![0.0f32; c.dim()];
    // A mean near the float range can overflow a reconstruction: an error, never a panic.
    if c.decode_into(&code, &mut y).is_ok() {
        assert!(y.iter().all(|v| v.is_finite()));
    }
    let mut scratch = c.scratch();
    if let Ok(q) = c.prepare(&x, &mut scratch) {
        let _ = c.score(&q, &code);
    }
    let _ = c.score_codes(&code, &code);
}

pub fn run(data: &[u8]) {
    // Uncentred parameters: one loader, allocation-free.
    if let Ok(c) = BinaryCodec::from_bytes(data) {
        assert_eq!(c.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
        let mut code = vec![0u8; c.code_len()];
        if c.dim() <= 4096 {
            c.encode_into(&vec![1.0; c.dim()], &mut code).unwrap();
        }
        exercise(&c);
    }
    // Centred: the no-heap loader gives the same result (or the same error) as the owned one.
    let owned = CenteredBinary::from_bytes(data);
    let as_parts = |c: &CenteredBinary<&[f32]>| (c.inner, c.mean().to_vec());
    let want = owned.as_ref().map(|c| (c.inner, c.mean().to_vec())).map_err(|&e| e);
    let mut storage = vec![0f32; data.len() / 4 + 1];
    let borrowed = CenteredBinary::from_bytes_in(data, &mut storage).map(|b| as_parts(&b));
    assert_eq!(borrowed, want, "no-heap and owned loaders differ");
    // The zero-copy view, the bytes placed so that the mean is 4-byte aligned.
    let at = CenteredBinary::<&[f32]>::VIEW_FLOATS_AT;
    let mut buf = vec![0u8; data.len() + 3];
    let o = (4 - (buf.as_ptr() as usize + at) % 4) % 4;
    buf[o..o + data.len()].copy_from_slice(data);
    let view = CenteredBinary::view_from_bytes(&buf[o..o + data.len()]).map(|b| as_parts(&b));
    assert_eq!(view, want, "zero-copy view and owned loader differ");
    let Ok(c) = owned else { return };
    assert_eq!(c.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
    exercise(&c);
}
