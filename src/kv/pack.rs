//! Bit packing of the KV codes in groups of 8: eight `w`-bit codes fill exactly `w` bytes,
//! least significant bits first (the same bits as one LSB-first stream), so a group is one
//! little-endian `u64` read and eight shifts.

/// Packs `codes` (length a multiple of 8, each `< 2^w`) at `w ∈ 1..=8` bits into `out`
/// (`codes.len() / 8 · w` bytes).
pub(crate) fn pack(codes: &[u8], w: usize, out: &mut [u8]) {
    debug_assert!((1..=8).contains(&w) && codes.len() % 8 == 0 && out.len() == codes.len() / 8 * w);
    for (c8, o) in codes.chunks_exact(8).zip(out.chunks_exact_mut(w)) {
        let mut v = 0u64;
        for (j, &c) in c8.iter().enumerate() {
            v |= u64::from(c) << (j * w);
        }
        o.copy_from_slice(&v.to_le_bytes()[..w]);
    }
}

/// The 8 codes of one group of `w` bytes, as a `u64` to shift.
#[inline(always)]
pub(crate) fn group(b: &[u8], w: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf[..w].copy_from_slice(&b[..w]);
    u64::from_le_bytes(buf)
}

/// Unpacks `out.len()` (a multiple of 8) codes of `w ∈ 1..=8` bits.
pub(crate) fn unpack(bytes: &[u8], w: usize, out: &mut [u8]) {
    let mask = (1u64 << w) - 1;
    for (o8, b) in out.chunks_exact_mut(8).zip(bytes.chunks_exact(w)) {
        let v = group(b, w);
        for (j, o) in o8.iter_mut().enumerate() {
            *o = ((v >> (j * w)) & mask) as u8;
        }
    }
}

/// `out[t] += a · code[t]` for the `out.len()` (a multiple of 8) codes of width `w ∈ 1..=8`.
#[inline]
pub(crate) fn axpy(bytes: &[u8], w: usize, a: f32, out: &mut [f32]) {
    let mask = (1u64 << w) - 1;
    for (o8, b) in out.chunks_exact_mut(8).zip(bytes.chunks_exact(w)) {
        let v = group(b, w);
        for (j, o) in o8.iter_mut().enumerate() {
            *o += a * ((v >> (j * w)) & mask) as f32;
        }
    }
}

/// `Σ_t p[t] · code[t]` for the `p.len()` (a multiple of 8) codes of width `w ∈ 1..=8`.
#[inline]
pub(crate) fn dot(bytes: &[u8], w: usize, p: &[f32]) -> f32 {
    let mask = (1u64 << w) - 1;
    let mut acc = [0f32; 8];
    for (p8, b) in p.chunks_exact(8).zip(bytes.chunks_exact(w)) {
        let v = group(b, w);
        for (j, a) in acc.iter_mut().enumerate() {
            *a += p8[j] * ((v >> (j * w)) & mask) as f32;
        }
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pack_matches_lsb_first_stream() {
        let mut rng = crate::rng::Rng::new(1);
        for w in 1..=8usize {
            let codes: alloc::vec::Vec<u8> = (0..64).map(|_| (rng.next_u32() % (1 << w)) as u8).collect();
            let mut a = alloc::vec![0u8; 8 * w];
            super::pack(&codes, w, &mut a);
            let mut b = alloc::vec![0u8; 8 * w];
            crate::bits::pack(&codes, w as u32, &mut b).unwrap();
            assert_eq!(a, b, "w = {w}");
            let mut back = alloc::vec![0u8; 64];
            super::unpack(&a, w, &mut back);
            assert_eq!(back, codes);
            let p: alloc::vec::Vec<f32> = (0..64).map(|i| i as f32 * 0.25).collect();
            let want: f32 = codes.iter().zip(&p).map(|(&c, &q)| f32::from(c) * q).sum();
            assert!((super::dot(&a, w, &p) - want).abs() <= 1e-3 * want.abs().max(1.0));
            let mut o = alloc::vec![1f32; 64];
            super::axpy(&a, w, 2.0, &mut o);
            assert!(o.iter().zip(&codes).all(|(&o, &c)| o == 1.0 + 2.0 * f32::from(c)));
        }
    }
}
