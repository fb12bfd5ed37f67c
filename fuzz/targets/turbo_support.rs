//! Shared by the TurboQuant parameter fuzz bodies (included with `#[path]`): which parameter
//! sets are small enough to build on every input, the vector derived from the input, and the
//! checks every accepted codec must pass.

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
