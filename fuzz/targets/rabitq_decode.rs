//! Fuzz body: RaBitQ parameter containers and raw codes. `from_bytes` must accept or reject any
//! bytes without panicking, and an accepted container must re-serialize to the same bytes;
//! arbitrary code bytes must decode and score to `Ok` or `Err`, never a panic.

use vector_codecs::rabitq::RaBitQ;
use vector_codecs::transform::Identity;
use vector_codecs::{Codec, Decode, Score};

pub fn run(data: &[u8]) {
    // 1. The bytes as a parameter container (dimensions 8 and 16 are what the corpus uses).
    for d in [8usize, 16] {
        if let Ok(codec) = RaBitQ::from_bytes(data, Identity(d)) {
            assert_eq!(codec.to_bytes().ok().as_deref(), Some(data));
            let x: [f32; 16] = core::array::from_fn(|i| i as f32 - 7.5);
            let mut code = vec![0u8; codec.code_len()];
            codec.encode_into(&x[..d], &mut code).expect("finite input encodes");
            let mut out = vec![0f32; d];
            codec.decode_into(&code, &mut out).expect("own code decodes");
        }
    }
    // 2. The bytes as one code: first byte picks the bit width, the rest is the code.
    if let Some((&sel, rest)) = data.split_first() {
        let bits = sel % 8 + 1;
        let Ok(codec) = RaBitQ::new(Identity(13), bits) else { return };
        let codec = codec.with_query_mode(
            if sel & 0x80 != 0 {
                vector_codecs::rabitq::QueryMode::Quantized4
            } else {
                vector_codecs::rabitq::QueryMode::Float
            },
            7,
        );
        let mut out = [0f32; 13];
        let _ = codec.decode_into(rest, &mut out);
        let mut scratch = codec.scratch();
        let q: [f32; 13] = core::array::from_fn(|i| (i as f32).cos());
        if let Ok(p) = codec.prepare(&q, &mut scratch) {
            let _ = codec.score(&p, rest);
        }
    }
}
