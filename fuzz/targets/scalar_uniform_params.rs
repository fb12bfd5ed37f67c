//! Fuzz body: `PerDim::from_bytes` must reject or accept arbitrary bytes without panicking; an
//! accepted codec must encode, decode and score without panicking; the no-heap loader and the zero-copy view must agree. The same bytes are also fed
//! as codes to per-block codecs (hostile scales must give `Err`, never a panic).

use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::scalar::uniform::{BlockUniform, PerDim};
use vector_codecs::{Codec, Decode, Score, ScoreSymmetric};

pub fn run(data: &[u8]) {
    // The no-heap loader: same parameters (or the same error) as the owned one.
    let mut storage = vec![0f32; data.len() / 4 + 1];
    let borrowed = vector_codecs::scalar::uniform::PerDimUniform::from_bytes_in(data, &mut storage)
        .map(|b| (b.base().to_vec(), b.step().to_vec(), b.scan_mode()));
    let owned = PerDim::from_bytes(data).map(|o| (o.base().to_vec(), o.step().to_vec(), o.scan_mode()));
    assert_eq!(borrowed, owned, "no-heap and owned loaders differ");
    // The zero-copy view, the bytes placed so that the floats are 4-byte aligned: the same
    // result, except where a corrupt dimension moves the arrays off that offset.
    let at = vector_codecs::scalar::uniform::PerDimUniform::<&[f32]>::VIEW_FLOATS_AT;
    let mut buf = vec![0u8; data.len() + 3];
    let o = (4 - (buf.as_ptr() as usize + at) % 4) % 4;
    buf[o..o + data.len()].copy_from_slice(data);
    let view = vector_codecs::scalar::uniform::PerDimUniform::view_from_bytes(&buf[o..o + data.len()])
        .map(|b| (b.base().to_vec(), b.step().to_vec(), b.scan_mode()));
    if !matches!(view, Err(vector_codecs::Error::InvalidParameter(_))) || owned.is_ok() {
        assert_eq!(view, owned, "zero-copy view and owned loader differ");
    }
    if let Ok(c) = PerDim::from_bytes(data) {
        let d = c.dim();
        if d <= 4096 {
            let x: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut code = vec![0u8; c.code_len()];
            c.encode_into(&x, &mut code).expect("encode of finite data");
            let mut out = vec![0f32; d];
            c.decode_into(&code, &mut out).expect("decode of own code");
            let mut s = vec![0f32; c.query_scratch_len()];
            if let Ok(q) = c.prepare(&x, &mut s) {
                let _ = c.score(&q, &code);
            }
            let _ = c.score_codes(&code, &code);
            for mode in [ScanMode::Float, ScanMode::I8, ScanMode::I16] {
                if let Ok(sc) = c.clone().with_scan(mode) {
                    let mut s = vec![0f32; sc.query_scratch_len()];
                    if let Ok(q) = sc.prepare(&x, &mut s) {
                        let _ = sc.score(&q, &code);
                    }
                }
            }
        }
    }
    // Arbitrary bytes as codes of block codecs.
    if let Some((&sel, rest)) = data.split_first() {
        let bits = u32::from(sel % 8) + 1;
        let block = [None, Some(16), Some(32), Some(64), Some(128)][usize::from(sel / 8) % 5];
        let sym = sel & 0x80 != 0;
        if let Ok(c) = BlockUniform::new(40, bits, block, sym) {
            let n = c.code_len();
            if rest.len() >= n {
                let code = &rest[..n];
                let mut out = [0f32; 40];
                let _ = c.decode_into(code, &mut out);
                let mut s = vec![0f32; c.query_scratch_len()];
                if let Ok(q) = c.prepare(&[0.5; 40], &mut s) {
                    let _ = c.score(&q, code);
                }
                let _ = c.score_codes(code, code);
            }
        }
    }
}
