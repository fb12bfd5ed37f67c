//! Fuzz body: arbitrary block code bytes for fixed KV codecs (the first byte picks one). Decode,
//! logits and attend must return `Err` (for a wrong length or a corrupt header) or finite
//! results, and agree with each other: logits equal decode-then-dot within float rounding.

#[path = "kv_support.rs"]
mod kv_support;

use kv_support::check_block;
use vector_codecs::kv::{ChannelKeys, Outliers, TokenValues};
use vector_codecs::scalar::side::SideFormat;

pub fn run(data: &[u8]) {
    let Some((&sel, code)) = data.split_first() else { return };
    match sel % 5 {
        0 => check_block(&ChannelKeys::new(8, 8, 3.0, SideFormat::F16).unwrap(), code, 1e-4),
        1 => check_block(&ChannelKeys::new(5, 16, 2.4, SideFormat::F32).unwrap(), code, 1e-4),
        2 => check_block(&TokenValues::new(16, 4, 3, 8, sel & 0x80 != 0, SideFormat::Bf16).unwrap(), code, 1e-4),
        3 => check_block(
            &Outliers::new(ChannelKeys::new(8, 8, 2.5, SideFormat::Bf16).unwrap(), 3, 8).unwrap(),
            code,
            1e-4,
        ),
        _ => check_block(&TokenValues::new(8, 2, 2, 4, false, SideFormat::F16).unwrap(), code, 1e-4),
    }
}
