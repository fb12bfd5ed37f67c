//! Fuzz body: arbitrary code bytes for fixed fractional-rate TurboQuant configurations
//! (`tq2.5`, `tqp3.5`) and TurboQuant-MSE with the inner-product-corrected norm (`tq2-ip`,
//! `tq1-ip`). The first byte picks the configuration, the rest is the code. Decode and score must
//! return `Err` (wrong length, NaN/inf/negative stored scalar) or a finite result, never panic.
//!
//! Stored norms above `MAX_NORM` are `Corrupt`, so a successful decode is always finite; the
//! score is asserted finite for stored norms up to 1e30.

use std::sync::OnceLock;
use vector_codecs::turbo::{
    CodebookKind, RotationKind, TurboMseIp, TurboMseSplit, TurboProdSplit, turbo_mse_half, turbo_mse_ip,
    turbo_prod_half,
};
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
    /// `tq2.5`, d = 20: 10 coordinates at 3 bits (4 B), 10 at 2 bits (3 B), norm at byte 7.
    half20: TurboMseSplit,
    /// `tqp3.5`, d = 16: MSE 2.5 (3 B + 2 B, norm at 5), QJL (2 B signs, γ at 11).
    prod16: TurboProdSplit,
    /// `tq2-ip`, d = 24: 6 B of indices, scale at byte 6.
    ip24: TurboMseIp,
    /// `tq1-ip`, d = 13, Haar: 2 B of indices, scale at byte 2.
    ip13: TurboMseIp,
}

/// The configurations of [`run`].
fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| Fixed {
        half20: turbo_mse_half(20, 2, 1, RotationKind::Hadamard, CodebookKind::Beta).unwrap(),
        prod16: turbo_prod_half(16, 3, 2, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap(),
        ip24: turbo_mse_ip(24, 2, 3, RotationKind::Hadamard, CodebookKind::Beta).unwrap(),
        ip13: turbo_mse_ip(13, 1, 4, RotationKind::Haar, CodebookKind::Gaussian).unwrap(),
    })
}

pub fn run(data: &[u8]) {
    let Some((&sel, code)) = data.split_first() else { return };
    let f = fixed();
    match sel % 4 {
        0 => check(&f.half20, code, &[7]),
        1 => check(&f.prod16, code, &[5, 11]),
        2 => check(&f.ip24, code, &[6]),
        _ => check(&f.ip13, code, &[2]),
    }
}
