//! Fuzz body for `kv::encode_shared_step` and `EntropyBlock::encode_at_step` on arbitrary
//! input: byte 0 picks the number of heads (1–4), byte 1 the joint budget (`byte · heads`
//! bytes; 0 is refused), bytes 2–3 a caller's step (an f16 pattern, any value); the rest are
//! little-endian f32 values (NaN, inf and huge ones included) filling the heads' blocks
//! (missing values are 0). Both must return `Err` or codes within their budgets that decode to
//! finite values, never panic.

use vector_codecs::kv::{EntropyBlock, encode_shared_step};
use vector_codecs::{Codec, Decode};

/// Four fixed codecs: `d = 8`, 16 tokens, a 6-bit buffer (twice a 3-bit budget); heads 1 and 3
/// in a PCA basis of a deterministic sample, 2 with fine tokens.
pub fn codecs() -> Vec<EntropyBlock> {
    let x: Vec<f32> = (0..8 * 32).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03 + (i % 8) as f32 * 0.1).collect();
    let q: Vec<f32> = (0..8 * 16).map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.02).collect();
    let plain = EntropyBlock::new(8, 16, 6.0).unwrap();
    vec![
        plain.clone(),
        plain.clone().calibrate(&x, None).unwrap(),
        plain.clone().calibrate(&x, Some(&q)).unwrap().with_importance(&q[..16], 4).unwrap(),
        plain.calibrate(&x, Some(&q)).unwrap(),
    ]
}

pub fn run(data: &[u8]) {
    let _ = check(data);
}

/// The body: `None` for input too short to parse, else whether `encode_shared_step` coded the
/// blocks (all its checks passed either way).
pub fn check(data: &[u8]) -> Option<bool> {
    if data.len() < 4 {
        return None;
    }
    let heads = 1 + usize::from(data[0] % 4);
    let budget = usize::from(data[1]) * heads;
    let step = vector_codecs::scalar::float::f16_to_f32(u16::from_le_bytes([data[2], data[3]]));
    let all = codecs();
    let cs: Vec<&EntropyBlock> = all.iter().take(heads).collect();
    let n = cs[0].dim();
    let mut vals = data[4..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let blocks: Vec<Vec<f32>> = (0..heads).map(|_| (0..n).map(|_| vals.next().unwrap_or(0.0)).collect()).collect();
    let brefs: Vec<&[f32]> = blocks.iter().map(|b| b.as_slice()).collect();
    let cl = cs[0].code_len();
    let mut codes = vec![0u8; heads * cl];
    let mut out = vec![0f32; n];
    let shared = encode_shared_step(&cs, &brefs, budget, &mut codes);
    let coded = shared.is_ok();
    if let Ok(r) = shared {
        assert!(budget > 0 && r.bytes.len() == heads);
        assert!(r.bytes.iter().sum::<usize>() <= budget);
        assert!(r.step.is_finite() && r.step > 0.0);
        for (i, c) in cs.iter().enumerate() {
            assert!(r.bytes[i] <= cl);
            let code = &codes[i * cl..(i + 1) * cl];
            assert!(code[r.bytes[i]..].iter().all(|&v| v == 0));
            if c.decode_into(code, &mut out).is_ok() {
                assert!(out.iter().all(|v| v.is_finite()));
            }
        }
    }
    let mut code = vec![0u8; cl];
    if let Ok(used) = cs[0].encode_at_step(&blocks[0], step, &mut code) {
        assert!(used <= cl && code[used..].iter().all(|&v| v == 0));
        if cs[0].decode_into(&code, &mut out).is_ok() {
            assert!(out.iter().all(|v| v.is_finite()));
        }
    }
    Some(coded)
}
