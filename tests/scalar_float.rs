//! Exhaustive tests of the float-format conversions (SPECS §14) and the float codecs.
mod common;

use vector_codecs::rng::Rng;
use vector_codecs::scalar::float::*;

/// Naive reference rounding in f64: nearest value in `grid` (sorted non-negative (value, code)
/// pairs, including a pseudo-level past the max for IEEE overflow), ties to the even code.
fn reference(grid: &[(f64, u32)], a: f64) -> u32 {
    let i = grid.partition_point(|&(v, _)| v < a);
    if i == 0 {
        return grid[0].1;
    }
    if i == grid.len() {
        return grid[grid.len() - 1].1;
    }
    let (lo, lc) = grid[i - 1];
    let (hi, hc) = grid[i];
    if a - lo < hi - a {
        lc
    } else if a - lo > hi - a {
        hc
    } else if lc & 1 == 0 {
        lc
    } else {
        hc
    }
}

/// Grid of a format: non-negative finite codes (by value), plus `inf_code` at value `next`.
fn grid(decode: impl Fn(u32) -> f32, codes: std::ops::Range<u32>, extra: Option<(f64, u32)>) -> Vec<(f64, u32)> {
    let mut g: Vec<(f64, u32)> =
        codes.map(|c| (decode(c) as f64, c)).filter(|(v, _)| v.is_finite() && *v >= 0.0).collect();
    if let Some(e) = extra {
        g.push(e);
    }
    g.sort_by(|a, b| a.partial_cmp(b).unwrap());
    g.dedup_by(|a, b| a.0 == b.0);
    g
}

fn random_f32s(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        v.push(match i % 3 {
            // Uniformly random bit patterns (all exponents).
            0 => f32::from_bits(rng.next_u32()),
            // Moderate exponents: around the formats' ranges.
            1 => {
                let e = (rng.below(60) as i32) - 30;
                let m = rng.next_u32() & 0x7F_FFFF;
                let s = rng.next_u32() & 0x8000_0000;
                f32::from_bits(s | (((e + 127) as u32) << 23) | m)
            }
            // Short mantissas: many exact ties.
            _ => {
                let e = (rng.below(60) as i32) - 30;
                let m = (rng.next_u32() & 0x7F_FFFF) & !((1u32 << (rng.below(20) as u32 + 3)) - 1);
                f32::from_bits((((e + 127) as u32) << 23) | m)
            }
        });
    }
    v
}

fn check_against_reference(
    name: &str,
    from: impl Fn(f32) -> u32,
    g: &[(f64, u32)],
    sign_bit: u32,
    nan_ok: impl Fn(u32) -> bool,
) {
    for x in random_f32s(300_000, 7).into_iter().chain([0.0, -0.0, f32::MAX, f32::MIN_POSITIVE, 1e-45]) {
        let got = from(x);
        if x.is_nan() {
            assert!(nan_ok(got), "{name}: NaN input {x:?} gave {got:#x}");
            continue;
        }
        let want = reference(g, (x as f64).abs()) | if x.is_sign_negative() { sign_bit } else { 0 };
        assert_eq!(got, want, "{name}: x = {x:e} ({:#010x})", x.to_bits());
    }
}

#[test]
fn f16_exhaustive_round_trip() {
    for h in 0..=u16::MAX {
        let x = f16_to_f32(h);
        let exp = (h >> 10) & 0x1F;
        let mant = h & 0x3FF;
        if exp == 0x1F && mant != 0 {
            assert!(x.is_nan());
            // Quiet NaN preserved (quiet bit set, sign kept).
            let back = f16_from_f32(x);
            assert_eq!(back, h | 0x200, "{h:#x}");
            continue;
        }
        // Spec formula.
        let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let want = if exp == 0x1F {
            s * f64::INFINITY
        } else if exp == 0 {
            s * mant as f64 * 2f64.powi(-24)
        } else {
            s * (1.0 + mant as f64 / 1024.0) * 2f64.powi(exp as i32 - 15)
        };
        assert_eq!(x as f64, want, "{h:#x}");
        assert_eq!(f16_from_f32(x), h, "{h:#x}");
    }
    assert_eq!(f16_to_f32(0x7BFF), 65504.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
}

#[test]
fn f16_matches_reference_rounding() {
    let g = grid(|c| f16_to_f32(c as u16), 0..0x7C00, Some((65536.0, 0x7C00)));
    check_against_reference(
        "f16",
        |x| f16_from_f32(x) as u32,
        &g,
        0x8000,
        |c| (c & 0x7C00) == 0x7C00 && (c & 0x3FF) != 0,
    );
    // Overflow boundary: 65519.99 → max, 65520 → inf (tie to even = inf).
    assert_eq!(f16_from_f32(65519.0), 0x7BFF);
    assert_eq!(f16_from_f32(65520.0), 0x7C00);
    assert_eq!(f16_from_f32(-1e10), 0xFC00);
    assert_eq!(f16_from_f32(f32::INFINITY), 0x7C00);
    // Below half the smallest subnormal → 0; exactly half → 0 (even); just above → 1.
    assert_eq!(f16_from_f32(2f32.powi(-25)), 0);
    assert_eq!(f16_from_f32(2f32.powi(-25) * 1.0001), 1);
    assert_eq!(f16_from_f32(3.0 * 2f32.powi(-25)), 2);
}

#[test]
fn bf16_exhaustive_round_trip() {
    for h in 0..=u16::MAX {
        let x = bf16_to_f32(h);
        let exp = (h >> 7) & 0xFF;
        let mant = h & 0x7F;
        if exp == 0xFF && mant != 0 {
            assert!(x.is_nan());
            assert_eq!(bf16_from_f32(x), h | 0x40, "{h:#x}");
            continue;
        }
        let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let want = if exp == 0xFF {
            s * f64::INFINITY
        } else if exp == 0 {
            s * mant as f64 * 2f64.powi(-133)
        } else {
            s * (1.0 + mant as f64 / 128.0) * 2f64.powi(exp as i32 - 127)
        };
        assert_eq!(x as f64, want, "{h:#x}");
        assert_eq!(bf16_from_f32(x), h, "{h:#x}");
    }
}

#[test]
fn bf16_matches_reference_rounding() {
    let g = grid(|c| bf16_to_f32(c as u16), 0..0x7F80, Some((2f64.powi(128), 0x7F80)));
    check_against_reference(
        "bf16",
        |x| bf16_from_f32(x) as u32,
        &g,
        0x8000,
        |c| (c & 0x7F80) == 0x7F80 && (c & 0x7F) != 0,
    );
    assert_eq!(bf16_from_f32(f32::MAX), 0x7F80);
    assert_eq!(bf16_from_f32(f32::NEG_INFINITY), 0xFF80);
}
