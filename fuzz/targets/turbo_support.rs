//! Shared by the TurboQuant fuzz bodies (included with `#[path]`): which parameter sets are
//! small enough to build on every input, the vector derived from the input, the checks every
//! accepted codec must pass, and the checks of arbitrary code bytes.
#![allow(dead_code)] // each body uses a part

use vector_codecs::turbo::RotationKind;
use vector_codecs::{Codec, Decode, Score};

/// Larger dimensions are valid but too slow to build on every fuzz input (Haar is `O(d³)`).
pub fn small(dim: usize, rotation: RotationKind) -> bool {
    match rotation {
        RotationKind::Hadamard => dim <= 2048,
        RotationKind::Haar => dim <= 96,
    }
}

/// A finite vector of length `dim` derived from the fuzz input.
pub fn vector(data: &[u8], dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|i| f32::from(data.get(i % data.len().max(1)).copied().unwrap_or(1)) - 127.5 + i as f32 * 0.01)
        .collect()
}

/// Encodes, decodes and scores the input's vector with finite results; wrong lengths are errors.
/// Returns the code.
pub fn exercise<C: Codec + Decode + Score>(c: &C, data: &[u8]) -> Vec<u8> {
    let x = vector(data, c.dim());
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).expect("finite input encodes");
    let mut y = vec![0.0f32; c.dim()];
    c.decode_into(&code, &mut y).expect("own code decodes");
    assert!(y.iter().all(|v| v.is_finite()));
    let mut scratch = c.scratch();
    let q = c.prepare(&x, &mut scratch).expect("finite query prepares");
    assert!(c.score(&q, &code).expect("own code scores").is_finite());
    // Wrong lengths are errors.
    assert!(c.decode_into(&code[1..], &mut y).is_err());
    assert!(c.score(&q, &code[1..]).is_err());
    code
}

/// The stored norms of a code: `f32` fields at the given byte offsets.
pub fn norms_ok(code: &[u8], offsets: &[usize]) -> bool {
    offsets
        .iter()
        .all(|&o| code.get(o..o + 4).is_some_and(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).abs() <= 1e30))
}

/// Arbitrary code bytes: decode and score give `Err` or finite values (scores: for stored
/// norms up to 1e30 at `norm_offsets`), wrong lengths are errors, a batch of two copies scores
/// like the single code.
pub fn check<C: Codec + Decode + Score>(c: &C, code: &[u8], norm_offsets: &[usize]) {
    let bounded = norms_ok(code, norm_offsets);
    let mut y = vec![0.0f32; c.dim()];
    if c.decode_into(code, &mut y).is_ok() {
        assert!(y.iter().all(|v| v.is_finite()), "decode gave non-finite values");
    }
    let q: Vec<f32> = (0..c.dim()).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25).collect();
    let mut scratch = c.scratch();
    let p = c.prepare(&q, &mut scratch).expect("finite query prepares");
    if let Ok(s) = c.score(&p, code) {
        assert!(!bounded || s.is_finite(), "score gave a non-finite value");
    }
    if code.len() != c.code_len() {
        assert!(c.decode_into(code, &mut y).is_err());
        assert!(c.score(&p, code).is_err());
    }
    // A batch of two copies scores like the single code.
    let mut two = code.to_vec();
    two.extend_from_slice(code);
    let mut out = [0.0f32; 2];
    if let (Ok(()), Ok(s)) = (c.score_batch(&p, &two, &mut out), c.score(&p, code)) {
        assert!(out[0].to_bits() == s.to_bits() || (out[0].is_nan() && s.is_nan()));
    }
}
