//! Fuzz body: `TrainedLloydCodec::from_bytes` must accept or reject arbitrary bytes without
//! panicking, and a codec it accepts must encode, decode and score without panicking; the
//! no-heap loader (`TrainedLloyd::from_bytes_in`) must agree.
use vector_codecs::scalar::lloyd::TrainedLloydCodec;
use vector_codecs::{Codec, Decode, Score};

pub fn run(data: &[u8]) {
    // The no-heap loader: the same codebooks (or the same error) as the owned one.
    {
        use vector_codecs::scalar::lloyd::{Codebook, TrainedLloyd};
        let mut books = vec![Codebook::gaussian(1).unwrap(); (data.len() / 8).min(1 << 12)];
        let owned = TrainedLloydCodec::from_bytes(data);
        let borrowed = TrainedLloyd::from_bytes_in(data, &mut books);
        match (&owned, &borrowed) {
            (Ok(o), Ok(b)) => {
                assert_eq!((o.dim(), o.per_dim(), o.param_bytes()), (b.dim(), b.per_dim(), b.param_bytes()))
            }
            (Err(e), Err(f)) => assert!(e == f || matches!(f, vector_codecs::Error::BufferTooSmall { .. })),
            _ => assert!(matches!(borrowed, Err(vector_codecs::Error::BufferTooSmall { .. })), "loaders differ"),
        }
    }
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
