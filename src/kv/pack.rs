//! Bit packing of the KV codes in groups of 8: eight `w`-bit codes fill exactly `w` bytes,
//! least significant bits first (the same bits as one LSB-first stream), so a group is one
//! little-endian `u64` read and eight shifts.

/// Packs `codes` (length a multiple of 8, each `< 2^w`) at `w ∈ 1..=8` bits into `out`
/// (`codes.len() / 8 · w` bytes).
pub(crate) fn pack(codes: &[u8], w: usize, out: &mut [u8]) {
    debug_assert!((1..=8).contains(&w) && codes.len().is_multiple_of(8) && out.len() == codes.len() / 8 * w);
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

/// Calls `$f::<W>` for the width `$w ∈ 1..=8` (constant shifts and masks in each copy).
macro_rules! by_width {
    ($w:expr, $f:ident($($a:expr),*)) => {
        match $w {
            1 => $f::<1>($($a),*),
            2 => $f::<2>($($a),*),
            3 => $f::<3>($($a),*),
            4 => $f::<4>($($a),*),
            5 => $f::<5>($($a),*),
            6 => $f::<6>($($a),*),
            7 => $f::<7>($($a),*),
            _ => $f::<8>($($a),*),
        }
    };
}

#[inline(always)]
fn codes8<const W: usize>(b: &[u8]) -> [f32; 8] {
    let v = group(b, W);
    let mask = (1u64 << W) - 1;
    let mut c = [0f32; 8];
    for (j, c) in c.iter_mut().enumerate() {
        // Through `i32` (a level is below 256): a signed 32-bit conversion, not `u64 → f32`.
        *c = (((v >> (j * W)) & mask) as i32) as f32;
    }
    c
}

fn unpack_w<const W: usize>(bytes: &[u8], out: &mut [u8]) {
    let mask = (1u64 << W) - 1;
    for (o8, b) in out.chunks_exact_mut(8).zip(bytes.chunks_exact(W)) {
        let v = group(b, W);
        for (j, o) in o8.iter_mut().enumerate() {
            *o = ((v >> (j * W)) & mask) as u8;
        }
    }
}

/// Unpacks `out.len()` (a multiple of 8) codes of `w ∈ 1..=8` bits.
pub(crate) fn unpack(bytes: &[u8], w: usize, out: &mut [u8]) {
    by_width!(w, unpack_w(bytes, out))
}

fn unpack_f32_w<const W: usize>(bytes: &[u8], out: &mut [f32]) {
    for (o8, b) in out.chunks_exact_mut(8).zip(bytes.chunks_exact(W)) {
        o8.copy_from_slice(&codes8::<W>(b));
    }
}

/// Unpacks `out.len()` (a multiple of 8) codes of `w ∈ 1..=8` bits as floats.
pub(crate) fn unpack_f32(bytes: &[u8], w: usize, out: &mut [f32]) {
    by_width!(w, unpack_f32_w(bytes, out))
}

fn axpy_w<const W: usize>(bytes: &[u8], a: f32, out: &mut [f32]) {
    for (o8, b) in out.chunks_exact_mut(8).zip(bytes.chunks_exact(W)) {
        let c = codes8::<W>(b);
        for (o, c) in o8.iter_mut().zip(c) {
            *o += a * c;
        }
    }
}

/// `out[t] += a · code[t]` for the `out.len()` (a multiple of 8) codes of width `w ∈ 1..=8`.
pub(crate) fn axpy(bytes: &[u8], w: usize, a: f32, out: &mut [f32]) {
    by_width!(w, axpy_w(bytes, a, out))
}

fn dot_w<const W: usize>(bytes: &[u8], p: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (p8, b) in p.chunks_exact(8).zip(bytes.chunks_exact(W)) {
        let c = codes8::<W>(b);
        for ((a, &p), c) in acc.iter_mut().zip(p8).zip(c) {
            *a += p * c;
        }
    }
    acc.iter().sum()
}

/// `Σ_t p[t] · code[t]` for the `p.len()` (a multiple of 8) codes of width `w ∈ 1..=8`.
pub(crate) fn dot(bytes: &[u8], w: usize, p: &[f32]) -> f32 {
    by_width!(w, dot_w(bytes, p))
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
