//! Tests of the codebook cell search and of TurboQuant's inner codec
//! ([`NormScalar`](crate::turbo::NormScalar) = `Normalized<CodebookScalar>`) against the plain
//! definitions (per-coordinate `Codebook::index`, sequential `f64` norm, `bits::pack`).
extern crate std;
use super::*;
use crate::codec::{Codec, Decode};
use crate::compose::norm_f64;
use crate::error::Error;
use crate::turbo::{NormScalar, norm_scalar};
use std::vec;

/// The pre-optimization binary search (upper bound, ties to the upper cell).
fn index_ref(cb: &Codebook, x: f32) -> u8 {
    let t = cb.thresholds();
    let mut c = 0usize;
    while c < t.len() && t[c] <= x {
        c += 1;
    }
    c as u8
}

/// Per-coordinate reference of [`cells_pack`]: `Codebook::index` and LSB-first packing.
fn cells_pack_ref(cb: &Codebook, y: &[f32], inv: f32) -> std::vec::Vec<u8> {
    let b = cb.bits();
    let idx: std::vec::Vec<u8> = y.iter().map(|&v| cb.index(v * inv)).collect();
    let mut out = vec![0u8; (y.len() * b as usize).div_ceil(8)];
    crate::bits::pack(&idx, b, &mut out).unwrap();
    out
}

#[test]
fn cells_pack_matches_reference_on_awkward_lengths() {
    let mut rng = crate::rng::Rng::new(17);
    let mut lens = vec![0usize, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 39, 63, 64, 65, 1023];
    lens.extend((0..6).map(|_| (rng.next_u64() % 3000) as usize));
    for kind in [CodebookKind::Gaussian, CodebookKind::Beta] {
        for bits in 1..=4u32 {
            let cb = coordinate_codebook(64, bits, kind).unwrap();
            for &n in &lens {
                let mut y = vec![0.0f32; n];
                rng.fill_gaussian(&mut y);
                // Exact thresholds, their neighbours, zeros and non-finite values.
                for (i, v) in y.iter_mut().enumerate() {
                    let t = cb.thresholds()[i % cb.thresholds().len()] * 8.0;
                    match i % 11 {
                        1 => *v = t,
                        2 => *v = f32::from_bits(t.to_bits() + 1),
                        3 => *v = -0.0,
                        4 if i % 3 == 0 => *v = f32::NAN,
                        5 if i % 3 == 0 => *v = f32::INFINITY,
                        6 if i % 3 == 0 => *v = f32::NEG_INFINITY,
                        _ => {}
                    }
                }
                let inv = 0.125f32;
                let want = cells_pack_ref(&cb, &y, inv);
                let mut got = vec![0xA5u8; want.len()];
                cells_pack(&y, inv, cb.thresholds(), bits, &mut got);
                assert_eq!(got, want, "{kind:?} bits {bits} n {n}");
                let mut got = vec![0x5Au8; want.len()];
                let full = match bits {
                    1 => cells_pack_portable::<1>(&y, inv, cb.thresholds(), &mut got),
                    2 => cells_pack_portable::<2>(&y, inv, cb.thresholds(), &mut got),
                    3 => cells_pack_portable::<3>(&y, inv, cb.thresholds(), &mut got),
                    _ => cells_pack_portable::<4>(&y, inv, cb.thresholds(), &mut got),
                };
                assert_eq!(full, n / 8 * 8);
                let nb = n / 8 * bits as usize;
                assert_eq!(got[..nb], want[..nb], "portable {kind:?} bits {bits} n {n}");
            }
        }
    }
}

#[test]
fn norm_kernels_bit_identical() {
    let mut rng = crate::rng::Rng::new(8);
    for n in [0usize, 1, 7, 8, 9, 31, 1023, 4097] {
        let mut y = vec![0.0f32; n];
        rng.fill_gaussian(&mut y);
        if n > 2 {
            y[1] = 3.0e38;
        }
        // The dispatched kernel (AVX2 where the CPU has it) against the portable one.
        let want = libm::sqrt(crate::simd::portable::sum_sq_f64(&y));
        assert_eq!(norm_f64(&y).to_bits(), want.to_bits(), "n {n}");
        let seq = libm::sqrt(y.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>());
        assert!((want - seq).abs() <= 1e-12 * seq, "n {n}");
    }
}

/// The pre-optimization encoder (sequential f64 norm, per-coordinate index).
fn encode_ref(c: &NormScalar, y: &[f32]) -> Result<std::vec::Vec<u8>> {
    if y.iter().any(|v| !v.is_finite()) {
        return Err(Error::NonFinite);
    }
    let norm = libm::sqrt(y.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>()) as f32;
    if !norm.is_finite() {
        return Err(Error::NonFinite);
    }
    let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    let mut out = cells_pack_ref(c.inner.codebook(), y, inv);
    out.extend_from_slice(&norm.to_le_bytes());
    Ok(out)
}

#[test]
fn norm_scalar_encode_decode_match_reference() {
    let mut rng = crate::rng::Rng::new(3);
    for d in [1usize, 2, 7, 8, 9, 31, 64, 384, 768, 1023] {
        for bits in 1..=5u32 {
            let kind = if bits == 5 { CodebookKind::Beta } else { CodebookKind::Gaussian };
            let cb = coordinate_codebook(d.max(2), bits, kind).unwrap();
            let c = norm_scalar(d, cb).unwrap();
            let mut code = vec![0u8; c.code_len()];
            for trial in 0..20 {
                let mut y = vec![0.0f32; d];
                rng.fill_gaussian(&mut y);
                if trial == 0 {
                    y.fill(0.0);
                }
                c.encode_into(&y, &mut code).unwrap();
                assert_eq!(code, encode_ref(&c, &y).unwrap(), "d {d} bits {bits} trial {trial}");
                let mut out = vec![0.0f32; d];
                c.decode_into(&code, &mut out).unwrap();
                let norm = f32::from_le_bytes(code[code.len() - 4..].try_into().unwrap());
                for (i, &o) in out.iter().enumerate() {
                    let idx = crate::bits::get(&code, i, bits).unwrap() as u8;
                    assert_eq!(o.to_bits(), (norm * c.inner.codebook().level(idx)).to_bits());
                }
            }
            let mut y = vec![1.0f32; d];
            y[d / 2] = f32::NAN;
            assert_eq!(c.encode_into(&y, &mut code), Err(Error::NonFinite));
            y[d / 2] = f32::NEG_INFINITY;
            assert_eq!(c.encode_into(&y, &mut code), Err(Error::NonFinite));
            y[d / 2] = f32::MAX;
            y[0] = f32::MAX;
            let want = if d > 1 { Error::NonFinite } else { Error::Overflow };
            assert_eq!(c.encode_into(&y, &mut code), Err(want), "overflowing norm");
            y.fill(1.0);
            y[0] = 1e30;
            assert_eq!(c.encode_into(&y, &mut code), Err(Error::Overflow), "norm above MAX_NORM");
        }
    }
}

/// The batch equals row-by-row encoding, and a bad row stops it with every earlier row
/// written.
#[test]
fn norm_scalar_batch_pipeline_matches_rows_and_stops_at_bad_row() {
    let mut rng = crate::rng::Rng::new(21);
    for d in [1usize, 5, 8, 33, 100, 768] {
        for bits in 1..=4u32 {
            let c = norm_scalar(d, coordinate_codebook(d.max(2), bits, CodebookKind::Gaussian).unwrap()).unwrap();
            let (n, cl) = (9usize, c.code_len());
            let mut ys = vec![0.0f32; n * d];
            rng.fill_gaussian(&mut ys);
            ys[2 * d..3 * d].fill(0.0);
            let mut want = vec![0u8; n * cl];
            for (y, code) in ys.chunks_exact(d).zip(want.chunks_exact_mut(cl)) {
                code.copy_from_slice(&encode_ref(&c, y).unwrap());
            }
            let mut got = vec![0xEEu8; n * cl];
            c.encode_batch(&ys, &mut got).unwrap();
            assert_eq!(got, want, "d {d} bits {bits}");
            ys[6 * d + d / 2] = f32::INFINITY;
            let mut got = vec![0xEEu8; n * cl];
            assert_eq!(c.encode_batch(&ys, &mut got), Err(Error::NonFinite));
            assert_eq!(got[..6 * cl], want[..6 * cl], "rows before the bad one, d {d} bits {bits}");
        }
    }
}

#[test]
fn linear_index_matches_reference_including_thresholds() {
    for bits in 1..=4 {
        let cb = coordinate_codebook(768, bits, CodebookKind::Gaussian).unwrap();
        let mut vals = vec![f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0];
        for &t in cb.thresholds() {
            vals.extend([t, f32::from_bits(t.to_bits().wrapping_add(1)), f32::from_bits(t.to_bits().wrapping_sub(1))]);
        }
        for i in -20000..=20000 {
            vals.push(i as f32 * 1e-5);
        }
        for &x in &vals {
            assert_eq!(cb.index(x), index_ref(&cb, x), "bits {bits} x {x}");
        }
    }
}

/// Every path of `Normalized::encode_batch` — the fused kernel (`b ≤ 4`, `f32` and `f16` norms),
/// the interleaved norms with the scaled encoder (`b = 5`, a split of two codebooks), and a
/// batch longer than one block of 64 rows — equals `encode_into` row by row, and stops at a bad
/// row with every earlier row written.
#[test]
fn normalized_batch_paths_match_rows() {
    use crate::compose::{NormF16, Normalized, Split};
    fn check<C: Codec>(c: &C, d: usize, n: usize, rng: &mut crate::rng::Rng, what: &str) {
        let cl = c.code_len();
        let mut ys = vec![0.0f32; n * d];
        rng.fill_gaussian(&mut ys);
        ys[d..2 * d].fill(0.0);
        let mut want = vec![0u8; n * cl];
        for (y, code) in ys.chunks_exact(d).zip(want.chunks_exact_mut(cl)) {
            c.encode_into(y, code).unwrap();
        }
        let mut got = vec![0xEEu8; n * cl];
        c.encode_batch(&ys, &mut got).unwrap();
        assert_eq!(got, want, "{what} d {d} n {n}");
        let bad = n - 2;
        ys[bad * d + d / 2] = f32::NAN;
        let mut got = vec![0xEEu8; n * cl];
        assert_eq!(c.encode_batch(&ys, &mut got), Err(Error::NonFinite), "{what}");
        assert_eq!(got[..bad * cl], want[..bad * cl], "{what}: rows before the bad one");
    }
    let mut rng = crate::rng::Rng::new(5);
    for d in [2usize, 7, 33, 100] {
        for n in [3usize, 70, 131] {
            for bits in [2u32, 4, 5] {
                let cb = coordinate_codebook(d, bits, CodebookKind::Beta).unwrap();
                let plain = Normalized::new(CodebookScalar::new(d, cb.clone()).unwrap());
                check(&plain, d, n, &mut rng, "f32 norm");
                let h16: Normalized<_, NormF16> = Normalized::with_norm(CodebookScalar::new(d, cb.clone()).unwrap());
                check(&h16, d, n, &mut rng, "f16 norm");
                let k = d / 2;
                let split = Normalized::new(
                    Split::new(
                        CodebookScalar::new(k.max(1), cb.clone()).unwrap(),
                        CodebookScalar::new(d - k.max(1), cb).unwrap(),
                    )
                    .unwrap(),
                );
                check(&split, d, n, &mut rng, "split");
            }
        }
    }
}

/// The interleaved sums of squares equal the one-row kernel (dispatched and portable) bit for
/// bit, on awkward row lengths and counts.
#[test]
fn sum_sq_rows_match_single_rows() {
    let mut rng = crate::rng::Rng::new(9);
    for d in [1usize, 3, 8, 9, 17, 64, 100] {
        for n in [0usize, 1, 3, 4, 5, 9] {
            let mut ys = vec![0.0f32; n * d];
            rng.fill_gaussian(&mut ys);
            let mut out = vec![-1.0f64; n];
            crate::simd::sum_sq_f64_rows(&ys, d, &mut out);
            for (y, &o) in ys.chunks_exact(d).zip(&out) {
                assert_eq!(o.to_bits(), crate::simd::sum_sq_f64(y).to_bits(), "d {d} n {n}");
                assert_eq!(o.to_bits(), crate::simd::portable::sum_sq_f64(y).to_bits(), "d {d} n {n}");
            }
        }
    }
}

#[test]
fn check_finite_finds_every_position() {
    for n in [1usize, 7, 255, 256, 257, 1000] {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for pos in [0, n / 2, n - 1] {
                let mut x = vec![1.5f32; n];
                assert_eq!(crate::error::check_finite(&x), Ok(()));
                x[pos] = bad;
                assert_eq!(crate::error::check_finite(&x), Err(Error::NonFinite), "n {n} pos {pos}");
            }
        }
        assert_eq!(crate::error::check_finite(&vec![f32::MAX; n]), Ok(()));
    }
}
