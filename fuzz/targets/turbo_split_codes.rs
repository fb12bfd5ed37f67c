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
#[path = "turbo_support.rs"]
mod support;
use support::check;

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
