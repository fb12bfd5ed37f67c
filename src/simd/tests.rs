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
