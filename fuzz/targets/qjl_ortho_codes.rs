//! Fuzz body: arbitrary code bytes for fixed orthogonal-QJL configurations (`OrthoQjl` with a
//! Hadamard and a Haar rotation, `OrthoQjlBlocks` with 3 blocks, `tqp3-orth`). The first byte
//! picks the configuration, the rest is the code. Decode and score must return `Err` (wrong
//! length, NaN/inf/negative stored norm) or a finite result, never panic.

use std::sync::OnceLock;
use vector_codecs::qjl::ortho::{OrthoQjl, OrthoQjlBlocks};
use vector_codecs::turbo::{CodebookKind, RotationKind, TurboProdOrtho, turbo_prod_ortho};
#[path = "turbo_support.rs"]
mod support;
use support::check;

/// The fixed configurations, built once.
struct Fixed {
    /// d = 24, Hadamard: 3 sign bytes, norm at byte 3.
    h24: OrthoQjl,
    /// d = 13, Haar: 2 sign bytes, norm at byte 2.
    haar13: OrthoQjl,
    /// d = 16, 3 Haar blocks: 6 sign bytes, norm at byte 6.
    blocks16: OrthoQjlBlocks,
    /// `tqp3-orth`, d = 20: MSE at 2 bits (5 B, norm at 5), sketch (3 B, γ at 12).
    prod20: TurboProdOrtho,
}

fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| Fixed {
        h24: OrthoQjl::new(24, RotationKind::Hadamard, 1).unwrap(),
        haar13: OrthoQjl::new(13, RotationKind::Haar, 2).unwrap(),
        blocks16: OrthoQjlBlocks::new(16, 3, RotationKind::Haar, 3).unwrap(),
        prod20: turbo_prod_ortho(20, 3, 4, RotationKind::Hadamard, CodebookKind::Beta, RotationKind::Haar).unwrap(),
    })
}

pub fn run(data: &[u8]) {
    let Some((&sel, code)) = data.split_first() else { return };
    let f = fixed();
    match sel % 4 {
        0 => check(&f.h24, code, &[3]),
        1 => check(&f.haar13, code, &[2]),
        2 => check(&f.blocks16, code, &[6]),
        _ => check(&f.prod20, code, &[5, 12]),
    }
}
