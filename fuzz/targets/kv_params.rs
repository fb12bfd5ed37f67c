//! Fuzz body: arbitrary bytes as saved KV codec parameters (`ChannelKeys`, `TokenValues`,
//! `Outliers<ChannelKeys>`). Restore must return `Err` or a codec that encodes, decodes and
//! scores a block without panicking and with finite results.

use vector_codecs::kv::{ChannelKeys, Outliers, TokenBlock, TokenValues};

fn exercise<C: TokenBlock>(c: &C) {
    let n = c.dim();
    if n > 1 << 16 {
        return;
    }
    let d = c.head_dim();
    let x: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03).collect();
    let mut code = vec![0u8; c.code_len()];
    if c.encode_into(&x, &mut code).is_err() {
        return;
    }
    let mut y = vec![0f32; n];
    c.decode_into(&code, &mut y).unwrap();
    assert!(y.iter().all(|v| v.is_finite()));
    let q: Vec<f32> = (0..d).map(|i| (i as f32 * 0.3).cos()).collect();
    let mut l = vec![0f32; c.block_tokens()];
    c.logits(&q, &code, &mut l).unwrap();
    let p = vec![1.0 / c.block_tokens() as f32; c.block_tokens()];
    let mut o = vec![0f32; d];
    c.attend(&p, &code, &mut o).unwrap();
}

pub fn run(data: &[u8]) {
    if let Ok(c) = ChannelKeys::from_bytes(data) {
        let back = ChannelKeys::from_bytes(&c.to_bytes().unwrap()).unwrap();
        assert_eq!(back, c);
        exercise(&c);
    }
    if let Ok(c) = TokenValues::from_bytes(data) {
        assert_eq!(TokenValues::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
        exercise(&c);
    }
    if let Ok(c) = Outliers::<ChannelKeys>::from_bytes(data) {
        exercise(&c);
    }
}
