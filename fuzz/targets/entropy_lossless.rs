//! Fuzz body: opening and decoding a lossless float stream must be total on arbitrary bytes
//! (lying value counts, bad offsets, corrupt models and streams).

pub fn run(data: &[u8]) {
    use vector_codecs::entropy::lossless::{FloatKind, LosslessFloats};
    if let Ok(f) = LosslessFloats::open(data) {
        // A stream that opened holds at most 8 values per data byte: bounded allocation.
        let n = f.len().min(1 << 22);
        if f.kind() == FloatKind::F32 {
            let mut out = vec![0u32; n];
            let _ = f.decode_all(&mut out);
        } else {
            let mut out = vec![0u16; n];
            let _ = f.decode_all(&mut out);
            let mut scratch = vec![0u16; f.block_len().min(1 << 20)];
            let mut blk = vec![0u16; f.block_values(0)];
            let _ = f.decode_block(0, &mut scratch, &mut blk);
        }
    }
}
