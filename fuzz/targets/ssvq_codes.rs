//! Fuzz body: arbitrary sign-split VQ code bytes for fixed configurations (the first byte picks
//! one: dimension, d_s, nbits). Every code of the right length is valid: decode and score must
//! succeed with finite results, the table score must equal `⟨q, x̂⟩` within float rounding, batch
//! scores must equal per-code scores, and the symbol split must round-trip; wrong lengths are
//! `Err`.

use vector_codecs::ssvq::SignSplitVq;
use vector_codecs::{Codec, Decode, Score, ScoreSymmetric, Symbols};

const CONFIGS: [(usize, usize, u32); 6] = [(8, 4, 4), (12, 3, 8), (10, 5, 3), (6, 2, 9), (16, 8, 4), (14, 7, 1)];

pub fn run(data: &[u8]) {
    let Some((&sel, codes)) = data.split_first() else { return };
    let (d, ds, nbits) = CONFIGS[usize::from(sel % 6)];
    let k = 1usize << nbits;
    let cents: Vec<f32> = (0..k * ds).map(|i| ((i * 7919) % 211) as f32 / 17.0).collect();
    let v = SignSplitVq::new(d, ds, nbits, cents).unwrap();
    let c = v.code_len();
    let n = codes.len() / c;
    let qv: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut s1 = v.scratch();
    let pq = v.prepare(&qv, &mut s1).unwrap();
    let mut batch = vec![0f32; n];
    let whole = &codes[..n * c];
    v.score_batch(&pq, whole, &mut batch).unwrap();
    let mut y = vec![0f32; d];
    let mut sy = vec![0u16; v.symbols_per_vector()];
    let mut side = vec![0u8; v.side_len()];
    let mut again = vec![0u8; c];
    for (i, code) in whole.chunks_exact(c).enumerate() {
        v.decode_into(code, &mut y).unwrap();
        assert!(y.iter().all(|t| t.is_finite()));
        let want: f64 = qv.iter().zip(&y).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
        let s = v.score(&pq, code).unwrap();
        assert_eq!(s.to_bits(), batch[i].to_bits());
        assert!((f64::from(s) - want).abs() <= 1e-3 * (1.0 + want.abs()), "{s} vs {want}");
        let _ = v.score_codes(code, code).unwrap();
        v.split_symbols(code, &mut sy, &mut side).unwrap();
        v.join_symbols(&sy, &side, &mut again).unwrap();
        let mut z = vec![0f32; d];
        v.decode_into(&again, &mut z).unwrap();
        assert_eq!(y, z);
    }
    if !codes.len().is_multiple_of(c) {
        assert!(v.decode_into(codes, &mut y).is_err() || codes.len() == c);
        assert!(v.score_batch(&pq, codes, &mut batch).is_err());
    }
}
