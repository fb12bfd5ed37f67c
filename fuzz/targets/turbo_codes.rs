//! Fuzz body: arbitrary code bytes for a few fixed TurboQuant configurations. The first byte
//! picks the configuration, the rest is the code. Decode and score must return `Err` (wrong
//! length, NaN/inf/negative norm) or a finite result, never panic.
//!
//! Stored norms above `MAX_NORM` are `Corrupt`, so a successful decode is always finite; the
//! score is asserted finite for stored norms up to 1e30 (a huge query may still overflow it).

use std::sync::OnceLock;
use vector_codecs::turbo::{CodebookKind, RotationKind, TurboMse, TurboProd, turbo_mse, turbo_prod};
use vector_codecs::{Codec, Decode, Score};

/// The stored norms of a code: `f32` fields at the given byte offsets.
fn norms_ok(code: &[u8], offsets: &[usize]) -> bool {
    offsets
        .iter()
        .all(|&o| code.get(o..o + 4).is_some_and(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).abs() <= 1e30))
}

fn check<C: Codec + Decode + Score>(c: &C, code: &[u8], norm_offsets: &[usize]) {
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

/// The fixed configurations, built once (the Beta codebooks cost a few ms each).
struct Fixed {
    mse64: TurboMse,
    mse13: TurboMse,
    prod32: TurboProd,
    prod20: TurboProd,
}

fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| Fixed {
        mse64: turbo_mse(64, 4, 1, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap(),
        mse13: turbo_mse(13, 3, 2, RotationKind::Haar, CodebookKind::Beta).unwrap(),
        prod32: turbo_prod(32, 3, 3, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap(),
        prod20: turbo_prod(20, 2, 4, RotationKind::Hadamard, CodebookKind::Beta).unwrap(),
    })
}

pub fn run(data: &[u8]) {
    let Some((&sel, code)) = data.split_first() else { return };
    let f = fixed();
    match sel % 4 {
        0 => check(&f.mse64, code, &[32]),
        1 => check(&f.mse13, code, &[5]),
        // prod 3-bit: MSE at 2 bits (8 B + 4 B norm) then QJL (4 B signs + 4 B γ).
        2 => check(&f.prod32, code, &[8, 16]),
        // prod 2-bit: MSE at 1 bit (3 B + 4 B norm) then QJL with m = 20 (3 B + 4 B γ).
        _ => check(&f.prod20, code, &[3, 10]),
    }
}
