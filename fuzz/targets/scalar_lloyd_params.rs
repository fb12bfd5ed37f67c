//! Fuzz body: `TrainedLloydCodec::from_bytes` must accept or reject arbitrary bytes without
//! panicking, and a codec it accepts must encode, decode and score without panicking.
use vector_codecs::scalar::lloyd::TrainedLloydCodec;
use vector_codecs::{Codec, Decode, Score};

pub fn run(data: &[u8]) {
    if let Ok(c) = TrainedLloydCodec::from_bytes(data) {
        if c.dim() > 4096 {
            return;
        }
        let x: Vec<f32> = (0..c.dim()).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut out = vec![0f32; c.dim()];
        c.decode_into(&code, &mut out).unwrap();
        let mut s = c.scratch();
        let q = c.prepare(&x, &mut s).unwrap();
        let _ = c.score(&q, &code).unwrap();
        assert_eq!(TrainedLloydCodec::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
    }
}
