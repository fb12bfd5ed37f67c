//! Every kernel against its scalar reference on awkward lengths.

use super::*;
use crate::rng::Rng;
use alloc::vec::Vec;

const LENGTHS: &[usize] = &[0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255, 384, 768, 1023];

fn lengths() -> Vec<usize> {
    let mut r = Rng::new(99);
    let mut v = LENGTHS.to_vec();
    v.extend((0..20).map(|_| r.below(3000) as usize));
    v
}

fn floats(r: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| r.gaussian() as f32).collect()
}

fn close(got: f32, want: f64, n: usize, scale: f64) {
    let tol = 1e-5 * (n as f64 + 1.0).sqrt() * scale.max(1.0);
    assert!((f64::from(got) - want).abs() <= tol, "got {got}, want {want}, n {n}");
}

#[test]
fn float_kernels_match_reference() {
    let mut r = Rng::new(1);
    for n in lengths() {
        let a = floats(&mut r, n);
        let b = floats(&mut r, n);
        let scale = reference::dot(&a, &a).max(reference::dot(&b, &b)).sqrt();
        close(dot(&a, &b), reference::dot(&a, &b), n, scale);
        close(portable::dot(&a, &b), reference::dot(&a, &b), n, scale);
        // The fixed-order dot is bit-identical to its plain definition on every backend.
        assert_eq!(dot_fixed(&a, &b).to_bits(), reference::dot_fixed(&a, &b).to_bits(), "n {n}");
        close(dot_fixed(&a, &b), reference::dot(&a, &b), n, scale);
        let c = floats(&mut r, n);
        let e = floats(&mut r, n);
        let four = dot_fixed4([&a, &b, &c, &e], &b);
        for (got, row) in four.iter().zip([&a, &b, &c, &e]) {
            assert_eq!(got.to_bits(), reference::dot_fixed(row, &b).to_bits(), "n {n}");
        }
        close(l2sq(&a, &b), reference::l2sq(&a, &b), n, scale * scale);
        close(portable::l2sq(&a, &b), reference::l2sq(&a, &b), n, scale * scale);
        close(sum(&a), reference::sum(&a), n, 1.0);
        assert_eq!(min_max(&a), reference::min_max(&a), "n {n}");
        assert_eq!(abs_max(&a), reference::abs_max(&a), "n {n}");
    }
}

#[test]
fn min_max_ignores_nan() {
    let mut v = alloc::vec![f32::NAN; 19];
    v[3] = -2.0;
    v[17] = 5.0;
    assert_eq!(min_max(&v), (-2.0, 5.0));
    assert_eq!(abs_max(&v), 5.0);
    assert_eq!(min_max(&[]), (f32::INFINITY, f32::NEG_INFINITY));
}

#[test]
fn integer_kernels_match_reference_exactly() {
    let mut r = Rng::new(2);
    let mut ls = lengths();
    ls.push(300_000); // crosses the i32 spill boundary of the portable kernels
    for n in ls {
        let a: Vec<u8> = (0..n).map(|_| r.next_u32() as u8).collect();
        let b: Vec<i8> = (0..n).map(|_| r.next_u32() as i8).collect();
        let c: Vec<i8> = (0..n).map(|_| r.next_u32() as i8).collect();
        let w: Vec<i16> = (0..n).map(|_| r.next_u32() as i16).collect();
        assert_eq!(dot_u8_i8(&a, &b), reference::dot_u8_i8(&a, &b), "n {n}");
        assert_eq!(portable::dot_u8_i8(&a, &b), reference::dot_u8_i8(&a, &b), "n {n}");
        assert_eq!(dot_i8_i8(&b, &c), reference::dot_i8_i8(&b, &c), "n {n}");
        assert_eq!(portable::dot_i8_i8(&b, &c), reference::dot_i8_i8(&b, &c), "n {n}");
        assert_eq!(dot_u8_i16(&a, &w), reference::dot_u8_i16(&a, &w), "n {n}");
        assert_eq!(portable::dot_u8_i16(&a, &w), reference::dot_u8_i16(&a, &w), "n {n}");
    }
    // Extremes: every product at its maximum magnitude.
    let a = alloc::vec![255u8; 70_000];
    let b = alloc::vec![-128i8; 70_000];
    assert_eq!(dot_u8_i8(&a, &b), -255 * 128 * 70_000);
    assert_eq!(dot_i8_i8(&b, &b), 128 * 128 * 70_000);
}

#[test]
fn bit_kernels_match_reference_exactly() {
    let mut r = Rng::new(3);
    for n in lengths() {
        let a: Vec<u8> = (0..n).map(|_| r.next_u32() as u8).collect();
        let b: Vec<u8> = (0..n).map(|_| r.next_u32() as u8).collect();
        assert_eq!(popcount(&a), reference::popcount(&a), "n {n}");
        assert_eq!(portable::popcount(&a), reference::popcount(&a), "n {n}");
        assert_eq!(hamming(&a, &b), reference::hamming(&a, &b), "n {n}");
        assert_eq!(portable::hamming(&a, &b), reference::hamming(&a, &b), "n {n}");
        assert_eq!(and_popcount(&a, &b), reference::and_popcount(&a, &b), "n {n}");
        assert_eq!(portable::and_popcount(&a, &b), reference::and_popcount(&a, &b), "n {n}");
    }
}

#[test]
fn mismatched_lengths_use_the_shorter() {
    let a = [1.0f32; 10];
    let b = [2.0f32; 7];
    assert_eq!(dot(&a, &b), 14.0);
    assert_eq!(hamming(&[0xFF; 3], &[0x00; 2]), 16);
}

/// Widening kernels against the `f64` reference: weights Gaussian, levels uniform bytes; the
/// tolerance scales with `√n · 255 · max|w|`.
#[test]
fn widening_kernels_match_reference() {
    let mut r = Rng::new(4);
    let mut ls = lengths();
    ls.extend([2, 3, 5, 30, 33, 47, 48, 49, 767, 769]);
    for n in ls {
        let w = floats(&mut r, n);
        let a: Vec<u8> = (0..n).map(|_| r.next_u32() as u8).collect();
        let scale = 255.0 * reference::dot(&w, &w).sqrt();
        close(dot_u8_f32(&a, &w), reference::dot_u8_f32(&a, &w), n, scale);
        close(portable::dot_u8_f32(&a, &w), reference::dot_u8_f32(&a, &w), n, scale);
        // 4-bit: n levels in ⌈n/2⌉ bytes (an odd n leaves the last high nibble unused) …
        let p = &a[..n.div_ceil(2)];
        let s4 = 15.0 * reference::dot(&w, &w).sqrt();
        close(dot_u4_f32(p, &w), reference::dot_u4_f32(p, &w), n, s4);
        close(portable::dot_u4_f32(p, &w), reference::dot_u4_f32(p, &w), n, s4);
        // … and all 2n levels of n bytes against a shorter query (only the first n are used).
        close(dot_u4_f32(&a, &w), reference::dot_u4_f32(&a, &w), n, s4);
        // Mismatched lengths use the shorter.
        if n > 0 {
            close(dot_u8_f32(&a[..n - 1], &w), reference::dot_u8_f32(&a[..n - 1], &w), n, scale);
            close(dot_u8_f32(&a, &w[..n - 1]), reference::dot_u8_f32(&a, &w[..n - 1]), n, scale);
        }
    }
    // Exact small cases: every level value.
    let a: Vec<u8> = (0..=255).collect();
    let w = alloc::vec![1.0f32; 256];
    assert_eq!(dot_u8_f32(&a, &w), 255.0 * 128.0);
    assert_eq!(portable::dot_u8_f32(&a, &w), 255.0 * 128.0);
    let nib = [0x10u8, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0xA5];
    let wi: Vec<f32> = (0..18).map(|i| (1u32 << i) as f32).collect();
    let want: f32 = (0..17).map(|i| (if i < 16 { i as f32 } else { 5.0 }) * (1u32 << i) as f32).sum();
    assert_eq!(dot_u4_f32(&nib, &wi[..17]), want);
    assert_eq!(portable::dot_u4_f32(&nib, &wi[..17]), want);
    assert_eq!(dot_u4_f32(&nib, &wi), want + 10.0 * (1u32 << 17) as f32);
    assert_eq!(dot_u8_f32(&[], &w), 0.0);
    assert_eq!(dot_u4_f32(&[], &w), 0.0);
}

/// Fewer outputs than codes: the row kernels score only `out.len()` rows, and their prefetch of
/// the group after next (rows beyond `out`) stays in range (it once underflowed here in debug).
#[test]
fn widening_rows_with_fewer_outputs_than_codes() {
    let mut r = Rng::new(6);
    let stride = 96;
    let codes: Vec<u8> = (0..20 * stride).map(|_| r.next_u32() as u8).collect();
    let w = floats(&mut r, stride);
    for rows in [5usize, 8, 9, 13] {
        let mut out = alloc::vec![0f32; rows];
        dot_u8_f32_rows(&codes, stride, &w, &mut out);
        for (k, c) in codes.chunks_exact(stride).take(rows).enumerate() {
            assert_eq!(out[k].to_bits(), dot_u8_f32(c, &w).to_bits(), "u8 rows {rows} row {k}");
        }
        dot_u4_f32_rows(&codes, stride, &w, &mut out);
        for (k, c) in codes.chunks_exact(stride).take(rows).enumerate() {
            assert_eq!(out[k].to_bits(), dot_u4_f32(c, &w).to_bits(), "u4 rows {rows} row {k}");
        }
    }
}

/// The row kernels equal the single-code kernels bit for bit, for every group/remainder split,
/// and leave rows without a code untouched.
#[test]
fn widening_rows_equal_single_calls() {
    let mut r = Rng::new(5);
    for (rows, stride) in
        [(0usize, 5usize), (1, 1), (3, 7), (4, 16), (5, 17), (9, 33), (13, 384), (6, 768), (7, 1023), (25, 96)]
    {
        let codes: Vec<u8> = (0..rows * stride).map(|_| r.next_u32() as u8).collect();
        for wl in [stride, 2 * stride, stride.saturating_sub(3), 2 * stride - 1] {
            let w = floats(&mut r, wl);
            let mut out = alloc::vec![f32::NAN; rows + 2];
            let mut out_p = out.clone();
            dot_u8_f32_rows(&codes, stride, &w, &mut out);
            portable::dot_u8_f32_rows(&codes, stride, &w, &mut out_p);
            for (k, c) in codes.chunks_exact(stride).enumerate() {
                assert_eq!(out[k].to_bits(), dot_u8_f32(c, &w).to_bits(), "u8 rows {rows} stride {stride} row {k}");
                assert_eq!(out_p[k].to_bits(), portable::dot_u8_f32(c, &w).to_bits(), "portable u8 row {k}");
            }
            assert!(out[rows..].iter().chain(&out_p[rows..]).all(|v| v.is_nan()));
            dot_u4_f32_rows(&codes, stride, &w, &mut out);
            portable::dot_u4_f32_rows(&codes, stride, &w, &mut out_p);
            for (k, c) in codes.chunks_exact(stride).enumerate() {
                assert_eq!(out[k].to_bits(), dot_u4_f32(c, &w).to_bits(), "u4 rows {rows} stride {stride} row {k}");
                assert_eq!(out_p[k].to_bits(), portable::dot_u4_f32(c, &w).to_bits(), "portable u4 row {k}");
            }
            assert!(out[rows..].iter().all(|v| v.is_nan()));
        }
    }
    // Fewer outputs than codes: only out.len() rows; stride 0: all zero.
    let codes = [1u8; 40];
    let mut out = [0f32; 3];
    dot_u8_f32_rows(&codes, 8, &[1.0; 8], &mut out);
    assert_eq!(out, [8.0; 3]);
    dot_u8_f32_rows(&codes, 0, &[1.0; 8], &mut out);
    assert_eq!(out, [0.0; 3]);
    portable::dot_u4_f32_rows(&codes, 0, &[1.0; 8], &mut out);
    assert_eq!(out, [0.0; 3]);
}

/// The quantizer equals its reference exactly (levels and the finiteness flag), including
/// clamping, zero steps, exact half-way points and non-finite inputs.
#[test]
fn quantize_matches_reference_exactly() {
    let mut r = Rng::new(6);
    for n in lengths() {
        for qmax in [255.0f32, 15.0, 1.0] {
            let x: Vec<f32> = (0..n).map(|_| 3.0 * r.gaussian() as f32).collect();
            let base: Vec<f32> = (0..n).map(|_| -2.0 + 0.1 * r.gaussian() as f32).collect();
            let mut step: Vec<f32> = (0..n).map(|_| 4.0 / qmax * (0.5 + r.next_f64() as f32)).collect();
            if n > 3 {
                step[n / 2] = 0.0;
                step[n / 3] = 0.0;
            }
            let (mut want, mut got, mut got_p) = (alloc::vec![0u8; n], alloc::vec![1u8; n], alloc::vec![2u8; n]);
            assert!(reference::quantize_u8(&x, &base, &step, qmax, &mut want));
            assert!(quantize_u8(&x, &base, &step, qmax, &mut got), "n {n}");
            assert!(portable::quantize_u8(&x, &base, &step, qmax, &mut got_p), "n {n}");
            assert_eq!(got, want, "n {n} qmax {qmax}");
            assert_eq!(got_p, want, "n {n} qmax {qmax}");
            assert!(want.iter().all(|&l| f32::from(l) <= qmax));
            if n > 0 {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut xb = x.clone();
                    xb[r.below(n as u64) as usize] = bad;
                    assert!(!quantize_u8(&xb, &base, &step, qmax, &mut got), "n {n}");
                    assert!(!portable::quantize_u8(&xb, &base, &step, qmax, &mut got_p), "n {n}");
                    assert!(!reference::quantize_u8(&xb, &base, &step, qmax, &mut want));
                }
            }
        }
    }
    // Half-way points round up; out-of-range values clamp.
    let x = [0.5f32, 1.5, 2.49, -7.0, 1e30, 0.0, 3.0, 254.5, 255.6];
    let mut out = [0u8; 9];
    assert!(quantize_u8(&x, &[0.0; 9], &[1.0; 9], 255.0, &mut out));
    assert_eq!(out, [1, 2, 2, 0, 255, 0, 3, 255, 255]);
}

/// `dot_lut_f32_rows`: each row bit for bit `dot_lut_f32` of that row (dispatched and portable),
/// every width, awkward lengths, rows contiguous and strided, queries shorter and longer than a
/// row, extra `out` entries left unchanged.
#[test]
fn lut_rows_kernel_is_the_lut_kernel_per_row() {
    let mut r = Rng::new(23);
    for bits in [1u32, 2, 3, 4, 5, 8] {
        let table = floats(&mut r, (1 << bits) - 1);
        for &n in &[1usize, 7, 8, 9, 31, 64, 65, 127, 384, 385] {
            for (cl_extra, q_extra) in [(0usize, 0usize), (3, 0), (0, 5)] {
                let cl = crate::bits::packed_len(n, bits) + cl_extra;
                let q = floats(&mut r, n + q_extra);
                for (rows, gap) in [(0usize, 0usize), (1, 0), (2, 3), (5, 0), (33, 1), (33, 64)] {
                    // Rows `cl` bytes long, `cl + gap` apart (the last one without its gap).
                    let stride = cl + gap;
                    let len = if rows == 0 { 0 } else { (rows - 1) * stride + cl };
                    let codes: Vec<u8> = (0..len).map(|_| r.next_u32() as u8).collect();
                    let want: Vec<u32> = (0..rows)
                        .map(|i| dot_lut_f32(&codes[i * stride..i * stride + cl], bits, &table, &q).to_bits())
                        .collect();
                    let mut out = alloc::vec![7.0f32; rows + 2];
                    dot_lut_f32_rows(&codes, stride, cl, bits, &table, &q, &mut out);
                    let mut port = alloc::vec![7.0f32; rows + 2];
                    portable::dot_lut_f32_rows(&codes, stride, cl, bits, &table, &q, &mut port);
                    let got: Vec<u32> = out[..rows].iter().map(|v| v.to_bits()).collect();
                    let gotp: Vec<u32> = port[..rows].iter().map(|v| v.to_bits()).collect();
                    assert_eq!(got, want, "bits {bits} n {n} rows {rows}");
                    assert_eq!(gotp, want, "bits {bits} n {n} rows {rows}");
                    assert_eq!(&out[rows..], &[7.0, 7.0]);
                }
            }
        }
    }
}

/// `dot_lut_f32_scaled`: bit for bit `dot_lut_f32` of the materialized scaled query, on the
/// dispatched backend and the portable one, for every width, block sizes 2–64 (the arch kernels
/// take blocks of whole groups), awkward lengths, short codes and short scale lists.
#[test]
fn lut_scaled_kernel_is_the_lut_kernel_of_the_scaled_query() {
    let mut r = Rng::new(22);
    let mut ls = lengths();
    ls.extend([2, 3, 5, 24, 25, 40, 47, 48, 49, 255, 256, 257, 767, 769]);
    for bits in [1u32, 2, 3, 4, 5, 8] {
        let table = floats(&mut r, 1 << bits);
        for shift in [1u32, 3, 4, 5, 6] {
            for &n in &ls {
                let q = floats(&mut r, n);
                let nblocks = n.div_ceil(1 << shift);
                for (extra, drop) in [(0usize, 0usize), (3, 0), (0, 1)] {
                    let scales: Vec<f32> = (0..nblocks.saturating_sub(drop)).map(|_| r.next_f32() * 4.0).collect();
                    let qs: Vec<f32> = q
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| v * scales.get(i >> shift).copied().unwrap_or(0.0))
                        .collect();
                    let nbytes = crate::bits::packed_len(n, bits) + extra;
                    let codes: Vec<u8> = (0..nbytes).map(|_| r.next_u32() as u8).collect();
                    let want = portable::dot_lut_f32(&codes, bits, &table, &qs);
                    let got = dot_lut_f32_scaled(&codes, bits, &table, &q, &scales, shift);
                    let port = portable::dot_lut_f32_scaled(&codes, bits, &table, &q, &scales, shift);
                    let what = (bits, shift, n, extra, drop);
                    assert_eq!(got.to_bits(), want.to_bits(), "{what:?}");
                    assert_eq!(port.to_bits(), want.to_bits(), "{what:?}");
                    assert_eq!(dot_lut_f32(&codes, bits, &table, &qs).to_bits(), want.to_bits(), "{what:?}");
                }
            }
        }
    }
}

/// `dot_lut_f32`: every width, tables shorter, equal and longer than `2^b`, codes shorter and
/// longer than the query; the dispatched kernel is bit-identical to the portable one and close
/// to the `f64` reference.
#[test]
fn lut_kernel_matches_reference() {
    let mut r = Rng::new(21);
    let mut ls = lengths();
    ls.extend([2, 3, 5, 24, 25, 40, 47, 48, 49, 767, 769]);
    for bits in 1..=8u32 {
        for &tlen in &[1usize << bits, (1usize << bits).saturating_sub(3).max(1), (1 << bits) + 5] {
            let table = floats(&mut r, tlen);
            let tmax = table.iter().fold(0.0f32, |m, &t| m.max(t.abs())) as f64;
            for &n in &ls {
                let q = floats(&mut r, n);
                let nbytes = crate::bits::packed_len(n, bits);
                for extra in [0usize, 3] {
                    let codes: Vec<u8> = (0..nbytes + extra).map(|_| r.next_u32() as u8).collect();
                    let want = reference::dot_lut_f32(&codes, bits, &table, &q);
                    let got = dot_lut_f32(&codes, bits, &table, &q);
                    let port = portable::dot_lut_f32(&codes, bits, &table, &q);
                    assert_eq!(got.to_bits(), port.to_bits(), "bits {bits} table {tlen} n {n}");
                    close(got, want, n, tmax * reference::dot(&q, &q).sqrt());
                    // A query longer than the codes: only the coded indices count.
                    if n > 1 && extra == 0 {
                        let short = &codes[..nbytes - 1];
                        let got = dot_lut_f32(short, bits, &table, &q);
                        assert_eq!(got.to_bits(), portable::dot_lut_f32(short, bits, &table, &q).to_bits());
                        close(got, reference::dot_lut_f32(short, bits, &table, &q), n, tmax * 40.0);
                    }
                }
            }
        }
    }
    // Exact small case: 4-bit indices 0..15 then 15 − i, table k ↦ k, query of powers of two.
    let codes = [0x10u8, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0xEF, 0xCD];
    let table: Vec<f32> = (0..16).map(|k| k as f32).collect();
    let q: Vec<f32> = (0..20).map(|i| (1u32 << i) as f32).collect();
    let idx = |i: usize| if i < 16 { i } else { 31 - i };
    let want: f32 = (0..20).map(|i| idx(i) as f32 * (1u32 << i) as f32).sum();
    assert_eq!(dot_lut_f32(&codes, 4, &table, &q), want);
    assert_eq!(dot_lut_f32(&codes, 9, &table, &q), 0.0);
    assert_eq!(dot_lut_f32(&codes, 4, &[], &q), 0.0);
}

/// `dot_lut_i8`: widths 1, 2, 4 on awkward byte lengths (partial last block), extreme values,
/// short queries; every backend equals the reference exactly.
#[test]
fn lut_i8_kernel_matches_reference() {
    let mut r = Rng::new(22);
    for bits in [1u32, 2, 4, 3, 8] {
        let per = if matches!(bits, 1 | 2 | 4) { (8 / bits) as usize } else { 1 };
        for &nb in &[0usize, 1, 5, 31, 32, 33, 63, 64, 96, 100, 384, 1000] {
            let codes: Vec<u8> = (0..nb).map(|_| r.next_u32() as u8).collect();
            let full = nb.div_ceil(32) * 32 * per;
            let mut lut = [0u8; 16];
            lut.iter_mut().for_each(|l| *l = (r.next_u32() % 128) as u8);
            for extreme in [false, true] {
                let q: Vec<i8> = (0..full).map(|_| if extreme { -128 } else { r.next_u32() as i8 }).collect();
                let lut = if extreme { [127u8; 16] } else { lut };
                let want = reference::dot_lut_i8(&codes, bits, &lut, &q);
                assert_eq!(dot_lut_i8(&codes, bits, &lut, &q), want, "bits {bits} nb {nb}");
                assert_eq!(portable::dot_lut_i8(&codes, bits, &lut, &q), want, "bits {bits} nb {nb}");
                // A short query: missing slots are 0 (the arch kernel declines).
                let short = &q[..full / 2];
                let want = reference::dot_lut_i8(&codes, bits, &lut, short);
                assert_eq!(dot_lut_i8(&codes, bits, &lut, short), want);
            }
            // Levels above 127 go to the portable kernel and stay exact.
            let q: Vec<i8> = (0..full).map(|_| r.next_u32() as i8).collect();
            let big = [255u8; 16];
            assert_eq!(dot_lut_i8(&codes, bits, &big, &q), reference::dot_lut_i8(&codes, bits, &big, &q));
        }
    }
    // Layout: 4-bit, byte 0 = 0x21 (fields 1, 2) meets slots 0 and 32.
    let mut q = alloc::vec![0i8; 64];
    q[0] = 3;
    q[32] = 5;
    let lut: [u8; 16] = core::array::from_fn(|k| k as u8 * 10);
    assert_eq!(dot_lut_i8(&[0x21], 4, &lut, &q), 3 * 10 + 5 * 20);
}

/// `lut_expand_f32` equals the reference exactly (one multiply per entry) for every width,
/// table length and awkward length, and leaves the rest of `out` unchanged.
#[test]
fn lut_expand_matches_reference() {
    let mut r = Rng::new(23);
    for bits in 1..=9u32 {
        for tlen in [1usize, 3, 1 << bits.min(8), (1 << bits.min(8)) + 2] {
            let table = floats(&mut r, tlen);
            for n in lengths() {
                let nbytes = crate::bits::packed_len(n, bits.min(8));
                let codes: Vec<u8> = (0..nbytes).map(|_| r.next_u32() as u8).collect();
                for (extra, scale) in [(0usize, 1.0f32), (5, -2.5)] {
                    let mut want = alloc::vec![7.0f32; n + extra];
                    let mut got = want.clone();
                    let mut port = want.clone();
                    reference::lut_expand_f32(&codes, bits, &table, scale, &mut want);
                    lut_expand_f32(&codes, bits, &table, scale, &mut got);
                    portable::lut_expand_f32(&codes, bits, &table, scale, &mut port);
                    assert_eq!(got, want, "bits {bits} table {tlen} n {n}");
                    assert_eq!(port, want, "bits {bits} table {tlen} n {n}");
                }
            }
        }
    }
}

#[test]
fn half_conversions_are_exact_on_every_pattern() {
    for h in 0..=u16::MAX {
        let r = reference::f16_bits_to_f32(h);
        let s = crate::scalar::float::f16_to_f32(h);
        assert!(r.to_bits() == s.to_bits() || (r.is_nan() && s.is_nan()), "{h:#06x}");
        // The dispatched and the portable kernel see one element with weight 1 (−0 sums to +0).
        let b = h.to_le_bytes();
        for got in [dot_f16(&b, &[1.0]), portable::dot_f16(&b, &[1.0])] {
            assert!(got == r || (got.is_nan() && r.is_nan()), "{h:#06x}: {got} vs {r}");
        }
        let bf = f32::from_bits(u32::from(h) << 16);
        for got in [dot_bf16(&b, &[1.0]), portable::dot_bf16(&b, &[1.0])] {
            assert!(got == bf || (got.is_nan() && bf.is_nan()), "{h:#06x}");
        }
    }
}

#[test]
fn half_dots_match_reference() {
    let mut r = Rng::new(5);
    for n in lengths() {
        let q = floats(&mut r, n);
        let x = floats(&mut r, n + 3);
        let f16: Vec<u8> = x.iter().flat_map(|&v| crate::scalar::float::f16_from_f32(v).to_le_bytes()).collect();
        let bf: Vec<u8> = x.iter().flat_map(|&v| ((v.to_bits() >> 16) as u16).to_le_bytes()).collect();
        // `h` longer than `q` (and the other way round): the shorter length counts.
        for m in [n, n.saturating_sub(1)] {
            let scale = reference::dot(&q[..m], &q[..m]).sqrt() * 3.0;
            close(dot_f16(&f16, &q[..m]), reference::dot_f16(&f16, &q[..m]), m, scale);
            close(portable::dot_f16(&f16, &q[..m]), reference::dot_f16(&f16, &q[..m]), m, scale);
            close(dot_bf16(&bf, &q[..m]), reference::dot_bf16(&bf, &q[..m]), m, scale);
            close(portable::dot_bf16(&bf, &q[..m]), reference::dot_bf16(&bf, &q[..m]), m, scale);
            close(dot_f16(&f16[..2 * m], &q), reference::dot_f16(&f16[..2 * m], &q), m, scale);
        }
        // A NaN or inf element anywhere makes the sum non-finite.
        if n > 0 {
            let mut bad = f16.clone();
            let k = r.below(n as u64) as usize;
            bad[2 * k..2 * k + 2].copy_from_slice(&0x7C00u16.to_le_bytes());
            let ones = alloc::vec![1.0f32; n];
            assert!(!dot_f16(&bad, &ones).is_finite());
            assert!(!portable::dot_f16(&bad, &ones).is_finite());
        }
    }
}

#[test]
fn block_scaled_widening_dots_match_reference() {
    let mut r = Rng::new(8);
    for n in lengths() {
        for block in [16usize, 32, 64, 128] {
            let w = floats(&mut r, n);
            let a8: Vec<u8> = (0..n).map(|_| r.below(256) as u8).collect();
            let a4: Vec<u8> = (0..n.div_ceil(2)).map(|_| r.below(256) as u8).collect();
            let nb = n.div_ceil(block);
            // Sometimes fewer steps than blocks: the rest is not counted.
            let ns = if n % 3 == 0 { nb.saturating_sub(1) } else { nb };
            let steps: Vec<f32> = (0..ns).map(|_| r.next_f64() as f32 * 2.0).collect();
            let want = |bits: u32, a: &[u8]| -> f64 {
                (0..ns)
                    .map(|k| {
                        let (s, e) = (k * block, ((k + 1) * block).min(n));
                        let d = if bits == 8 {
                            reference::dot_u8_f32(&a[s..e], &w[s..e])
                        } else {
                            (s..e).map(|i| f64::from((a[i / 2] >> (4 * (i % 2))) & 0xF) * f64::from(w[i])).sum()
                        };
                        f64::from(steps[k]) * d
                    })
                    .sum()
            };
            let scale = 2.0 * 255.0 * reference::dot(&w, &w).sqrt();
            close(dot_u8_f32_blocks(&a8, &w, block, &steps), want(8, &a8), n, scale);
            close(portable::dot_u8_f32_blocks(&a8, &w, block, &steps), want(8, &a8), n, scale);
            close(dot_u4_f32_blocks(&a4, &w, block, &steps), want(4, &a4), n, scale);
            close(portable::dot_u4_f32_blocks(&a4, &w, block, &steps), want(4, &a4), n, scale);
        }
        assert_eq!(dot_u8_f32_blocks(&[1; 40], &[1.0; 40], 24, &[1.0; 2]), 0.0);
    }
}

/// The rolled kernels of targets without a vector unit (Cortex-M, …) give the `wide` kernels'
/// bits exactly, on awkward lengths and mismatched lengths, with signed zeros and large values
/// (checked where `wide` itself multiplies and adds separately and sums `f32x8` as two halves:
/// every build without AVX/FMA, the default `x86-64` and `aarch64` ones included).
#[test]
#[cfg(not(any(target_feature = "avx", target_feature = "fma")))]
fn rolled_kernels_match_wide_bit_for_bit() {
    use super::portable::rolled;
    let mut r = Rng::new(17);
    for n in lengths() {
        let mut a = floats(&mut r, n);
        let b = floats(&mut r, n + 3);
        if n > 2 {
            a[1] = -0.0;
            a[2] = 3.0e30;
        }
        let w: Vec<f32> = b.iter().map(|v| v * 0.37).collect();
        let levels: Vec<u8> = (0..n).map(|_| r.below(256) as u8).collect();
        let q8: Vec<i8> = (0..n).map(|_| (r.below(256) as i32 - 128) as i8).collect();
        let q16: Vec<i16> = (0..n).map(|_| (r.below(65536) as i32 - 32768) as i16).collect();
        assert_eq!(rolled::dot(&a, &b).to_bits(), portable::dot(&a, &b).to_bits(), "dot n {n}");
        assert_eq!(rolled::dot(&b, &a).to_bits(), portable::dot(&b, &a).to_bits(), "dot n {n}");
        let n8 = levels.len().min(w.len());
        assert_eq!(
            rolled::widen::<8>(&levels, n8, &w).to_bits(),
            portable::dot_u8_f32(&levels, &w).to_bits(),
            "u8 n {n}"
        );
        let half = &levels[..n / 2];
        for wl in [&w[..], &w[..n.min(w.len()) / 3]] {
            let n4 = (2 * half.len()).min(wl.len());
            assert_eq!(
                rolled::widen::<4>(half, n4, wl).to_bits(),
                portable::dot_u4_f32(half, wl).to_bits(),
                "u4 n {n}"
            );
        }
        assert_eq!(rolled::dot_int(&levels, &q8), portable::dot_u8_i8(&levels, &q8), "i8 n {n}");
        assert_eq!(rolled::dot_int(&levels, &q16), portable::dot_u8_i16(&levels, &q16), "i16 n {n}");
    }
}

/// The fixed-order matrix product on this process's backend (`VECTOR_CODECS_SIMD` forces a
/// lower one) and the portable kernel: the bits of the plain definition on awkward shapes
/// (widths not multiples of 8 or 16, odd row counts around the register tiles, batches 1..=37,
/// a width past one cache block of rows), and short or empty buffers clamp without panicking.
#[test]
fn matmul_fixed_matches_reference_bits() {
    let mut r = Rng::new(12);
    let shapes: &[(usize, usize)] =
        &[(1, 1), (2, 5), (4, 8), (7, 9), (9, 16), (16, 17), (25, 31), (3, 64), (33, 100), (13, 384), (70, 1100)];
    for &(rows, cols) in shapes {
        for n in (1..=37).step_by(if cols > 500 { 9 } else { 1 }) {
            let m = floats(&mut r, rows * cols);
            let xs = floats(&mut r, n * cols);
            let mut want = alloc::vec![0.0f32; n * rows];
            reference::matmul_fixed(&m, rows, cols, &xs, &mut want);
            for (i, row) in m.chunks_exact(cols).enumerate() {
                assert_eq!(want[i].to_bits(), reference::dot_fixed(row, &xs[..cols]).to_bits());
            }
            let mut got = alloc::vec![f32::NAN; n * rows];
            matmul_fixed(&m, rows, cols, &xs, &mut got);
            assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "rows {rows} cols {cols} n {n}");
            let mut got = alloc::vec![f32::NAN; n * rows];
            portable::matmul_fixed(&m, rows, cols, &xs, &mut got);
            assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "portable {rows}x{cols} n {n}");
        }
    }
    // Short buffers: only whole rows, vectors and outputs are used.
    let m = floats(&mut r, 3 * 10 + 4);
    let xs = floats(&mut r, 2 * 10 + 3);
    let mut got = [f32::NAN; 5];
    matmul_fixed(&m, 3, 10, &xs, &mut got);
    let mut want = [f32::NAN; 5];
    reference::matmul_fixed(&m, 3, 10, &xs, &mut want);
    assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
    assert!(got[3].is_nan());
    let mut zeros = [1.0f32; 4];
    matmul_fixed(&m, 2, 0, &xs, &mut zeros);
    assert_eq!(zeros, [0.0; 4]);
    matmul_fixed(&m, 0, 10, &xs, &mut zeros);
}

#[test]
fn fp8_conversions_are_exact_on_every_code() {
    for b in 0..=u8::MAX {
        for e4 in [true, false] {
            let want = reference::fp8_to_f64(b, e4);
            let table = if e4 { crate::scalar::float::E4M3_TABLE } else { crate::scalar::float::E5M2_TABLE };
            let t = f64::from(table[b as usize]);
            assert!(t == want || (t.is_nan() && want.is_nan()), "{b:#04x} e4 {e4}: table {t} vs {want}");
            // One element with weight 1, at every position of a 40-element run (main loop, the
            // 8-groups and the tail), the others code 0.
            for at in [0usize, 7, 8, 31, 32, 39] {
                let mut a = [0u8; 40];
                a[at] = b;
                let q = [1.0f32; 40];
                let got = if e4 {
                    [dot_e4m3(&a, &q), portable::dot_e4m3(&a, &q)]
                } else {
                    [dot_e5m2(&a, &q), portable::dot_e5m2(&a, &q)]
                };
                for g in got {
                    let g = f64::from(g);
                    assert!(g == want || (g.is_nan() && want.is_nan()), "{b:#04x} e4 {e4} at {at}: {g} vs {want}");
                }
            }
        }
    }
}

#[test]
fn fp8_dots_match_reference() {
    let mut r = Rng::new(6);
    for n in lengths() {
        let q = floats(&mut r, n);
        // Finite codes only (E4M3 NaN is 0x7F/0xFF; E5M2 inf/NaN have exponent 31).
        let a4: Vec<u8> = (0..n + 3)
            .map(|_| {
                loop {
                    let b = r.below(256) as u8;
                    if b & 0x7F != 0x7F {
                        break b;
                    }
                }
            })
            .collect();
        let a5: Vec<u8> = (0..n + 3)
            .map(|_| {
                loop {
                    let b = r.below(256) as u8;
                    if b & 0x7C != 0x7C {
                        break b;
                    }
                }
            })
            .collect();
        for m in [n, n.saturating_sub(1)] {
            let s4 = 448.0 * reference::dot(&q[..m], &q[..m]).sqrt();
            let s5 = 57344.0 * reference::dot(&q[..m], &q[..m]).sqrt();
            close(dot_e4m3(&a4, &q[..m]), reference::dot_fp8(&a4, &q[..m], true), m, s4);
            close(portable::dot_e4m3(&a4, &q[..m]), reference::dot_fp8(&a4, &q[..m], true), m, s4);
            close(dot_e5m2(&a5, &q[..m]), reference::dot_fp8(&a5, &q[..m], false), m, s5);
            close(portable::dot_e5m2(&a5, &q[..m]), reference::dot_fp8(&a5, &q[..m], false), m, s5);
            close(dot_e4m3(&a4[..m], &q), reference::dot_fp8(&a4[..m], &q, true), m, s4);
        }
        if n > 0 {
            let k = r.below(n as u64) as usize;
            let ones = alloc::vec![1.0f32; n];
            let mut bad = a4[..n].to_vec();
            bad[k] = 0xFF;
            assert!(dot_e4m3(&bad, &ones).is_nan() && portable::dot_e4m3(&bad, &ones).is_nan(), "n {n}");
            let mut bad = a5[..n].to_vec();
            bad[k] = 0x7C;
            assert!(!dot_e5m2(&bad, &ones).is_finite() && !portable::dot_e5m2(&bad, &ones).is_finite(), "n {n}");
        }
    }
}

/// The weighted sum of packed rows: every width, awkward channel counts (not a multiple of 8
/// too), row counts and strides (tight, loose, 0), weights for a partial row, and codes that end
/// exactly at the last row's bytes (the arch path's copied tail). Portable equals the reference
/// bit for bit; the dispatched backend within fused-multiply-add rounding.
#[test]
fn packed_row_sums_match_reference() {
    let mut r = Rng::new(17);
    for bits in 1..=8u32 {
        let b = bits as usize;
        for d in [0usize, 5, 8, 16, 24, 32, 40, 56, 64, 72, 96, 120, 128, 136, 200, 1024] {
            let k = d / 8;
            for (rows, extra) in [(0usize, 0usize), (1, 0), (2, 3), (3, 0), (7, 1), (16, 9), (33, 0)] {
                for stride in [k * b, k * b + extra + 1, 0] {
                    let len = if rows == 0 { 0 } else { (rows - 1) * stride + k * b };
                    let codes: Vec<u8> = (0..len).map(|_| r.next_u32() as u8).collect();
                    for wl in [rows * k, (rows * k).saturating_sub(1), rows * k + k + 2] {
                        let w = floats(&mut r, wl);
                        let init = floats(&mut r, d);
                        let mut want = init.clone();
                        reference::axpy_packed_rows(&codes, stride, bits, &w, &mut want);
                        let mut got_p = init.clone();
                        portable::axpy_packed_rows(&codes, stride, bits, &w, &mut got_p);
                        let mut got = init.clone();
                        axpy_packed_rows(&codes, stride, bits, &w, &mut got);
                        let levels = f64::from((1u32 << bits) - 1);
                        let mag: f64 = w.iter().map(|v| f64::from(v.abs()) * levels).sum::<f64>() + 1.0;
                        let ctx = alloc::format!("bits {bits} d {d} rows {rows} stride {stride} w {wl}");
                        for c in 0..d {
                            assert_eq!(got_p[c].to_bits(), want[c].to_bits(), "portable {ctx} c {c}");
                            assert!(
                                (got[c] - want[c]).abs() as f64 <= 1e-6 * mag,
                                "{ctx} c {c}: {} vs {}",
                                got[c],
                                want[c]
                            );
                        }
                        // Channels past the last whole group of 8 are untouched.
                        assert_eq!(&got[k * 8..], &init[k * 8..], "{ctx}");
                        assert_eq!(&got_p[k * 8..], &init[k * 8..], "{ctx}");
                    }
                }
            }
        }
    }
    // The levels themselves: one row of all-ones weights gives the codes of a known stream.
    for bits in 1..=8u32 {
        let levels: Vec<u8> = (0..64).map(|i| (i * 37 % (1 << bits)) as u8).collect();
        let mut packed = alloc::vec![0u8; 8 * bits as usize];
        crate::bits::pack(&levels, bits, &mut packed).unwrap();
        let mut out = alloc::vec![0f32; 64];
        axpy_packed_rows(&packed, 0, bits, &[1.0; 8], &mut out);
        assert!(out.iter().zip(&levels).all(|(&o, &l)| o == f32::from(l)), "bits {bits}: {out:?}");
        let mut out = alloc::vec![0f32; 64];
        reference::axpy_packed_rows(&packed, 0, bits, &[1.0; 8], &mut out);
        assert!(out.iter().zip(&levels).all(|(&o, &l)| o == f32::from(l)), "reference bits {bits}");
    }
    // Width 0 or 9: nothing.
    let mut out = [1f32; 8];
    axpy_packed_rows(&[0xFF; 16], 1, 9, &[1.0; 4], &mut out);
    axpy_packed_rows(&[0xFF; 16], 1, 0, &[1.0; 4], &mut out);
    assert_eq!(out, [1.0; 8]);
}

/// `dot_lut_segs_rows`: dispatched = portable bit for bit, and each row equals the sum of the
/// segments' `reference::dot_lut_f32` up to rounding; every width, awkward segment lengths
/// (0, 1, 7, 31, 33, … terms), queries shorter than a segment, contiguous and strided rows,
/// extra `out` entries left unchanged.
#[test]
fn lut_segs_kernel_matches_portable_and_reference() {
    let mut r = Rng::new(29);
    let widths = [1u32, 2, 3, 4, 5, 6, 7, 8];
    for trial in 0..120usize {
        let k = 1 + trial % LutSegs::CAP;
        let mut specs = Vec::new();
        let mut at = r.below(3) as usize;
        for s in 0..k {
            let bits = widths[(trial + 3 * s + r.below(8) as usize) % widths.len()];
            let n = [0usize, 1, 7, 8, 9, 31, 33, 64, 65, 127, 200][(trial * 7 + s * 3) % 11];
            let len = crate::bits::packed_len(n, bits) + usize::from(trial % 5 == 0);
            let qn = if trial % 7 == 3 { n.saturating_sub(3) } else { n };
            let entries = 1 + r.below((1 << bits) + 2) as usize;
            let table = floats(&mut r, entries);
            specs.push((at, len, bits, table, floats(&mut r, qn)));
            at += len + usize::from(trial % 3 == 1);
        }
        let segs: Vec<LutSeg<'_>> =
            specs.iter().map(|(at, len, bits, t, q)| LutSeg { at: *at, len: *len, bits: *bits, table: t, q }).collect();
        let row_len = segs.iter().map(|s| s.at + s.len).max().unwrap_or(0);
        for (rows, gap) in [(0usize, 0usize), (1, 0), (2, 5), (7, 0), (33, 3)] {
            let stride = row_len + gap;
            let len = if rows == 0 { 0 } else { (rows - 1) * stride + row_len };
            let codes: Vec<u8> = (0..len).map(|_| r.next_u32() as u8).collect();
            let mut out = alloc::vec![7.0f32; rows + 2];
            dot_lut_segs_rows(&codes, stride.max(1), &segs, &mut out);
            let mut port = alloc::vec![7.0f32; rows + 2];
            portable::dot_lut_segs_rows(&codes, stride.max(1), &segs, &mut port);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&port), "trial {trial} rows {rows}");
            assert_eq!(&out[rows..], &[7.0, 7.0]);
            for i in 0..rows {
                let row = &codes[i * stride.max(1)..];
                let want = reference::dot_lut_segs(row, &segs);
                let scale: f64 =
                    segs.iter().map(|s| s.q.iter().map(|v| f64::from(*v).abs()).sum::<f64>()).sum::<f64>() * 4.0;
                close(out[i], want, 8, scale);
            }
        }
    }
}

/// `dot_lut4_dims_rows`: dispatched = portable bit for bit, each row = the reference up to
/// rounding; dimensions with a partial last word and an odd last byte, row counts around the
/// 8- and 16-code blocks, tables shorter than the codes, extra `out` entries unchanged.
#[test]
fn lut4_dims_kernel_matches_portable_and_reference() {
    let mut r = Rng::new(31);
    for &d in &[0usize, 1, 7, 8, 9, 15, 31, 33, 64, 65, 127, 768, 777] {
        for cl_extra in [0usize, 3] {
            let cl = d.div_ceil(2) + cl_extra;
            let tables = floats(&mut r, 16 * d);
            for rows in [0usize, 1, 7, 8, 15, 16, 17, 33, 50] {
                let codes: Vec<u8> = (0..rows * cl).map(|_| r.next_u32() as u8).collect();
                let mut out = alloc::vec![7.0f32; rows + 2];
                dot_lut4_dims_rows(&codes, cl, &tables, &mut out);
                let mut port = alloc::vec![7.0f32; rows + 2];
                portable::dot_lut4_dims_rows(&codes, cl, &tables, &mut port);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out), bits(&port), "d {d} rows {rows}");
                if cl == 0 {
                    // Empty codes: every entry is the empty code's 0.
                    assert!(out.iter().all(|&v| v == 0.0));
                    continue;
                }
                assert_eq!(&out[rows..], &[7.0, 7.0]);
                for (i, code) in codes.chunks_exact(cl).enumerate() {
                    close(out[i], reference::dot_lut4_dims(code, &tables), d, 4.0);
                }
            }
        }
    }
}

/// `dot_bitplanes_rows` = `dot_bitplanes` of each row bit for bit (dispatched and portable):
/// strides equal to, wider than and 0 against the row; row counts around the 4-row groups; planes
/// with and without a partial last block; outputs longer than the rows that fit.
#[test]
fn bitplanes_rows_equal_single_calls() {
    let mut r = Rng::new(41);
    for &plane in &[1usize, 7, 8, 9, 16, 33, 48, 96, 97] {
        for bits in [1u32, 2, 4, 8] {
            let len = bits as usize * plane;
            for extra in [0usize, 5] {
                let stride = len + extra;
                for rows in [0usize, 1, 3, 4, 5, 8, 11] {
                    for q_less in [0usize, 9] {
                        let q = floats(&mut r, (8 * plane).saturating_sub(q_less));
                        let codes: Vec<u8> = (0..rows * stride).map(|_| r.next_u32() as u8).collect();
                        let mut out = alloc::vec![7.0f32; rows + 2];
                        dot_bitplanes_rows(&codes, stride, plane, bits, &q, &mut out);
                        let mut port = alloc::vec![7.0f32; rows + 2];
                        portable::dot_bitplanes_rows(&codes, stride, plane, bits, &q, &mut port);
                        // The last row fits only when its padding is not needed.
                        let fit = if rows == 0 { 0 } else { (rows * stride - len) / stride + 1 };
                        for i in 0..rows + 2 {
                            let want = if i < fit {
                                dot_bitplanes(&codes[i * stride..i * stride + len], plane, bits, &q)
                            } else {
                                7.0
                            };
                            assert_eq!(out[i].to_bits(), want.to_bits(), "plane {plane} bits {bits} row {i}/{rows}");
                            assert_eq!(port[i].to_bits(), want.to_bits(), "portable row {i}");
                        }
                    }
                }
                if len > 0 {
                    let first = alloc::vec![3u8; len];
                    let q = floats(&mut r, 8 * plane);
                    let mut out = [0f32; 6];
                    dot_bitplanes_rows(&first, 0, plane, bits, &q, &mut out);
                    let want = dot_bitplanes(&first, plane, bits, &q);
                    assert!(out.iter().all(|v| v.to_bits() == want.to_bits()), "stride 0");
                }
            }
        }
    }
}

/// `dot_bitplanes`: dispatched = portable bit for bit, = the reference up to rounding; planes of
/// awkward lengths (0, 1, 7, 31, 33, … bytes), queries shorter and longer than a plane, codes
/// shorter than `bits` planes.
#[test]
fn bitplanes_kernel_matches_portable_and_reference() {
    let mut r = Rng::new(37);
    for &plane in &[0usize, 1, 7, 8, 9, 31, 33, 96, 97, 130] {
        for bits in [1u32, 2, 4, 7, 8] {
            for (q_less, code_less) in [(0usize, 0usize), (5, 0), (0, 3), (70, 0)] {
                let n = (8 * plane).saturating_sub(q_less) + usize::from(q_less == 0 && plane % 3 == 1) * 4;
                let q = floats(&mut r, n);
                let len = (bits as usize * plane).saturating_sub(code_less);
                let code: Vec<u8> = (0..len).map(|_| r.next_u32() as u8).collect();
                let got = dot_bitplanes(&code, plane, bits, &q);
                let port = portable::dot_bitplanes(&code, plane, bits, &q);
                assert_eq!(got.to_bits(), port.to_bits(), "plane {plane} bits {bits}");
                let scale = q.iter().map(|v| f64::from(*v).abs()).sum::<f64>() * f64::from(1u32 << bits);
                close(got, reference::dot_bitplanes(&code, plane, bits, &q), 8, scale);
            }
        }
    }
}

/// `matvec_t` = the portable row-order loop bit for bit, on column counts around the 8-, 16-,
/// 32- and 64-wide chunks, row counts from 0, outputs shorter and longer than `cols` (the extra
/// entries untouched) and matrices with fewer rows than `y`; close to an `f64` reference.
#[test]
fn matvec_t_matches_portable_and_reference() {
    let mut r = Rng::new(43);
    for &cols in &[1usize, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 130, 200] {
        for &rows in &[0usize, 1, 3, 17, 40] {
            for (out_delta, m_less) in [(0isize, 0usize), (-3, 0), (2, 0), (0, 1)] {
                let m = floats(&mut r, (rows.saturating_sub(m_less)) * cols);
                let y = floats(&mut r, rows);
                let w = (cols as isize + out_delta).max(0) as usize;
                let mut got = alloc::vec![5.0f32; w];
                matvec_t(&m, cols, &y, &mut got);
                let mut port = alloc::vec![5.0f32; w];
                portable::matvec_t(&m, cols, &y, &mut port);
                let gb: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
                let pb: Vec<u32> = port.iter().map(|v| v.to_bits()).collect();
                assert_eq!(gb, pb, "cols {cols} rows {rows} out {w}");
                let n = rows.saturating_sub(m_less);
                for (j, &g) in got.iter().enumerate().take(cols.min(w)) {
                    let want: f64 = (0..n).map(|i| f64::from(y[i]) * f64::from(m[i * cols + j])).sum();
                    let scale: f64 = (0..n).map(|i| (f64::from(y[i]) * f64::from(m[i * cols + j])).abs()).sum();
                    assert!((f64::from(g) - want).abs() <= 1e-5 * scale.max(1e-30) + 1e-30, "cols {cols} j {j}");
                }
                if w > cols {
                    assert!(got[cols..].iter().all(|&v| v == 5.0));
                }
            }
        }
    }
}

/// `matmul_t` = `matvec_t` per vector bit for bit: vector counts around the 4-vector tiles,
/// column counts around the 64-column chunks, matrices with fewer rows than the vectors, and
/// outputs holding fewer vectors than the inputs (the rest untouched).
#[test]
fn matmul_t_is_matvec_t_per_vector() {
    let mut r = Rng::new(47);
    for &cols in &[1usize, 15, 16, 63, 64, 65, 100, 128, 130] {
        for &rows in &[1usize, 5, 33] {
            for &nv in &[0usize, 1, 3, 4, 5, 9] {
                for m_less in [0usize, 2] {
                    let m = floats(&mut r, rows.saturating_sub(m_less) * cols);
                    let ys = floats(&mut r, nv * rows);
                    let mut got = alloc::vec![5.0f32; nv * cols + 3];
                    matmul_t(&m, cols, rows, &ys, &mut got);
                    for v in 0..nv {
                        let mut want = alloc::vec![0.0f32; cols];
                        matvec_t(&m, cols, &ys[v * rows..(v + 1) * rows], &mut want);
                        let g: Vec<u32> = got[v * cols..(v + 1) * cols].iter().map(|x| x.to_bits()).collect();
                        let w: Vec<u32> = want.iter().map(|x| x.to_bits()).collect();
                        assert_eq!(g, w, "cols {cols} rows {rows} nv {nv} v {v}");
                    }
                    assert!(got[nv * cols..].iter().all(|&x| x == 5.0));
                }
            }
        }
    }
}
