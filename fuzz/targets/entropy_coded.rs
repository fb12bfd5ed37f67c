//! Fuzz body: decoding an entropy-coded block (per-position models over a tiny `Symbols`
//! codec) must be total on arbitrary bytes. Byte 0: vectors in the block; the rest: the block.

use vector_codecs::{Codec, Error, Result, Symbols};

/// 6 symbols of 3 bits (one per byte) plus 2 side bytes.
struct Tiny;
impl Codec for Tiny {
    fn dim(&self) -> usize {
        6
    }
    fn code_len(&self) -> usize {
        8
    }
    fn encode_into(&self, _x: &[f32], _code: &mut [u8]) -> Result<()> {
        Err(Error::InvalidParameter("decode-only fuzz codec"))
    }
}
impl Symbols for Tiny {
    fn symbols_per_vector(&self) -> usize {
        6
    }
    fn alphabet_size(&self) -> u32 {
        8
    }
    fn side_len(&self) -> usize {
        2
    }
    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        if code.len() != 8 || symbols.len() != 6 || side.len() != 2 {
            return Err(Error::CodeLength { expected: 8, got: code.len() });
        }
        side.copy_from_slice(&code[..2]);
        for (s, &c) in symbols.iter_mut().zip(&code[2..]) {
            *s = u16::from(c);
        }
        Ok(())
    }
    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        if code.len() != 8 || symbols.len() != 6 || side.len() != 2 {
            return Err(Error::CodeLength { expected: 8, got: code.len() });
        }
        code[..2].copy_from_slice(side);
        for (c, &s) in code[2..].iter_mut().zip(symbols) {
            *c = u8::try_from(s).map_err(|_| Error::Corrupt("symbol"))?;
        }
        Ok(())
    }
}

pub fn run(data: &[u8]) {
    use vector_codecs::entropy::coded::decode_block_with;
    use vector_codecs::entropy::model::Model;
    let models: Vec<Model> =
        (0..6u64).filter_map(|p| Model::from_counts(&[1 + p, 5, 9, 1, 2, 30, 1, 7], 12).ok()).collect();
    let views: Vec<_> = models.iter().map(Model::view).collect();
    let nb = usize::from(data.first().copied().unwrap_or(0) % 64);
    let mut syms = vec![0u16; nb * 6];
    let mut codes = vec![0u8; nb * 8];
    let _ = decode_block_with(&Tiny, &views, data.get(1..).unwrap_or(&[]), nb, &mut syms, &mut codes);
}
