//! Fuzz body: the range decoder must be total on arbitrary bytes through every operation:
//! uniform integers (small and full 64-bit), raw bits, adaptive models, bit_logp.

pub fn run(data: &[u8]) {
    use vector_codecs::entropy::range::{AdaptiveBit, AdaptiveFreq, RangeDecoder};
    let mut d = RangeDecoder::new(data);
    let Ok(mut mf) = AdaptiveFreq::<16>::new(24, 1 << 13) else { return };
    let mut mb = AdaptiveBit::new(4);
    for i in 0..64u64 {
        let _ = d.dec_uint(i * i + 2);
        let _ = d.dec_uint_max(u64::MAX >> (i % 64));
        let _ = d.dec_bits((i % 33) as u32);
        let _ = d.dec_adaptive(&mut mf);
        let _ = d.dec_adaptive_bit(&mut mb);
        let _ = d.dec_bit_logp(1 + (i % 15) as u32);
        let _ = d.tell();
    }
    let _ = d.check();
}
