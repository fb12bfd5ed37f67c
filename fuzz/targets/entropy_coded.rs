//! Fuzz body: decoding an entropy-coded block (per-position models over a tiny `Symbols`
//! codec) must be total on arbitrary bytes. Byte 0: vectors in the block; the rest: the block.
//! The same bytes then fill the public fields of a whole `CodedBlocks` collection (`n` and
//! `block_vectors` up to far beyond memory, a few offsets), which the decoders must refuse or
//! decode without allocating for what the fields claim.

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
    hostile_collection(data);
}

fn hostile_collection(data: &[u8]) {
    use vector_codecs::entropy::coded::{CodedBlocks, EntropyCoded};
    const SAMPLE: [u8; 16] = [0, 0, 1, 2, 3, 4, 5, 6, 1, 1, 7, 7, 0, 0, 1, 2];
    let Ok(ec) = EntropyCoded::train(Tiny, &SAMPLE) else { return };
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let word = |i: usize| u64::from(u16::from_le_bytes([byte(i), byte(i + 1)]));
    // `n` and `block_vectors`: 16-bit values shifted by up to 63 bits (so 1 << 40 and beyond).
    let n = usize::try_from(word(1) << (byte(3) % 64)).unwrap_or(usize::MAX);
    let bv = usize::try_from(word(4) << (byte(6) % 64)).unwrap_or(usize::MAX);
    let k = usize::from(byte(7) % 8);
    let mut offsets = Vec::with_capacity(k);
    let mut end = 0u32;
    for i in 0..k {
        end += u32::from(byte(8 + i));
        offsets.push(end);
    }
    let blocks = CodedBlocks { n, dim: 6, block_vectors: bv, offsets, data: data.get(16..).unwrap_or(&[]).to_vec() };
    let _ = blocks.bits_per_dim();
    let mut codes = vec![0u8; n.min(4096) * 8];
    let _ = ec.decode_codes(&blocks, &mut codes);
    let mut one = vec![0u8; bv.min(4096) * 8];
    let _ = ec.decode_block(&blocks, 0, &mut one);
}
