//! Fuzz body: arbitrary QJL code bytes for fixed configurations (first byte picks one; bytes
//! `≥ 0x80` pick a `QjlOutlier` configuration). Decode
//! and score must return `Err` (wrong length, NaN/inf/negative norm) or a finite result, never
//! panic. Finiteness is asserted for stored norms up to 1e30 (a finite norm near `f32::MAX` can
//! legitimately overflow).

use vector_codecs::qjl::Qjl;
use vector_codecs::qjl::outlier::QjlOutlier;
use vector_codecs::{Codec, Decode, Score};

/// `QjlOutlier` codes: the exact values and the remainder norm bounded by 1e30 ⇒ finite results.
fn outlier(sel: u8, code: &[u8]) {
    let (dim, m, o) = [(16usize, 16usize, 3usize), (24, 64, 8), (9, 13, 9), (128, 256, 0)][usize::from(sel % 4)];
    let c = QjlOutlier::new(dim, m, u64::from(sel), o).unwrap();
    let f = |b: &[u8]| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).abs() <= 1e30;
    let nb = 6 * o + m.div_ceil(8);
    let bounded = code.len() == c.code_len() && code[2 * o..6 * o].chunks_exact(4).all(f) && f(&code[nb..]);
    let mut y = vec![0.0f32; dim];
    if c.decode_into(code, &mut y).is_ok() {
        assert!(!bounded || y.iter().all(|v| v.is_finite()));
    }
    let q: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.3).cos()).collect();
    let mut scratch = c.scratch();
    let p = c.prepare(&q, &mut scratch).unwrap();
    match c.score(&p, code) {
        Ok(s) => assert!(!bounded || s.is_finite()),
        Err(_) => assert!(c.decode_into(code, &mut y).is_err(), "score and decode agree on validity"),
    }
    if code.len() != c.code_len() {
        assert!(c.score(&p, code).is_err());
    }
}

pub fn run(data: &[u8]) {
    let Some((&sel, code)) = data.split_first() else { return };
    if sel >= 0x80 {
        return outlier(sel, code);
    }
    let (dim, m) = [(16usize, 16usize), (24, 64), (9, 13), (128, 256)][usize::from(sel % 4)];
    let c = Qjl::new(dim, m, u64::from(sel)).unwrap();
    let nb = m.div_ceil(8);
    let bounded = code.get(nb..nb + 4).is_some_and(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).abs() <= 1e30);
    let mut y = vec![0.0f32; dim];
    if c.decode_into(code, &mut y).is_ok() {
        assert!(y.iter().all(|v| v.is_finite()));
    } else if code.len() == c.code_len() {
        // Only a bad norm makes a correctly sized code invalid.
        let n = f32::from_le_bytes([code[nb], code[nb + 1], code[nb + 2], code[nb + 3]]);
        assert!(!(0.0..=vector_codecs::MAX_NORM).contains(&n));
    }
    let q: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.7).sin()).collect();
    let mut scratch = c.scratch();
    let p = c.prepare(&q, &mut scratch).unwrap();
    if let Ok(s) = c.score(&p, code) {
        assert!(!bounded || s.is_finite());
    }
    if code.len() != c.code_len() {
        assert!(c.score(&p, code).is_err());
    }
}
