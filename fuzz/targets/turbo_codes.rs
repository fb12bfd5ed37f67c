//! Fuzz body: arbitrary code bytes for a few fixed TurboQuant configurations. The first byte
//! picks the configuration, the rest is the code. Decode and score must return `Err` (wrong
//! length, NaN/inf/negative norm) or a finite result, never panic.
//!
//! Stored norms above `MAX_NORM` are `Corrupt`, so a successful decode is always finite; the
//! score is asserted finite for stored norms up to 1e30 (a huge query may still overflow it).

use std::sync::OnceLock;
use vector_codecs::turbo::{CodebookKind, RotationKind, TurboMse, TurboProd, turbo_mse, turbo_prod};
#[path = "turbo_support.rs"]
mod support;
use support::check;

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
