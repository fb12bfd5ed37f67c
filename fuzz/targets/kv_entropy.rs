//! Fuzz body for `kv::EntropyBlock`: the first byte picks the mode. Even: the rest are saved
//! parameters; restore must return `Err` or a codec that round-trips its bytes and encodes,
//! decodes and scores a block with finite results. Odd: the rest is a block code for a fixed
//! calibrated codec; decode, logits and attend must return `Err` or finite results, with logits
//! equal to decode-then-dot within float rounding.

#[path = "kv_support.rs"]
mod kv_support;

use vector_codecs::kv::{EntropyBlock, TokenBlock};
use vector_codecs::{Codec, Decode};

/// A fixed codec: `d = 8`, 16 tokens, 3 bits/dim, query-weighted KLT of a deterministic sample.
pub fn fixed() -> EntropyBlock {
    let x: Vec<f32> = (0..8 * 32).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03 + (i % 8) as f32 * 0.1).collect();
    let q: Vec<f32> = (0..8 * 16).map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.02).collect();
    EntropyBlock::new(8, 16, 3.0).unwrap().calibrate(&x, Some(&q)).unwrap()
}

fn exercise(c: &EntropyBlock) {
    let (n, d, b) = (c.dim(), c.head_dim(), c.block_tokens());
    let x: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03).collect();
    let mut code = vec![0u8; c.code_len()];
    if c.encode_into(&x, &mut code).is_err() {
        return;
    }
    let mut y = vec![0f32; n];
    if c.decode_into(&code, &mut y).is_ok() {
        assert!(y.iter().all(|v| v.is_finite()));
    }
    let q: Vec<f32> = (0..d).map(|i| (i as f32 * 0.3).cos()).collect();
    let mut l = vec![0f32; b];
    let _ = c.logits(&q, &code, &mut l);
    let p = vec![1.0 / b as f32; b];
    let mut o = vec![0f32; d];
    let _ = c.attend(&p, &code, &mut o);
}

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    if sel % 2 == 0 {
        if let Ok(c) = EntropyBlock::from_bytes(rest) {
            assert_eq!(EntropyBlock::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
            exercise(&c);
        }
    } else {
        kv_support::check_block(&fixed(), rest, 1e-3);
    }
}
