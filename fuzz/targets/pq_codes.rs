//! Fuzz body: arbitrary PQ code bytes for fixed configurations (the first byte picks one:
//! dimension, M, nbits, metric, scan mode). Every code of the right length is valid: decode and
//! score must succeed with finite results (the float and quantized scores agree within the
//! table-quantization bound, batch scores equal per-code scores); wrong lengths are `Err`; the
//! fast-scan block layout round-trips the codes.

use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::pq::fastscan::{pack_blocks, unpack_blocks};
use vector_codecs::pq::{PqMetric, ProductQuantizer};
use vector_codecs::{Codec, Decode, Score, ScoreSymmetric};

const CONFIGS: [(usize, usize, u32); 6] = [(8, 4, 4), (12, 3, 8), (10, 5, 3), (6, 2, 9), (14, 7, 4), (4, 4, 1)];

pub fn run(data: &[u8]) {
    let Some((&sel, codes)) = data.split_first() else { return };
    let (d, m, nbits) = CONFIGS[usize::from(sel % 6)];
    let ksub = 1usize << nbits;
    let cents: Vec<f32> = (0..ksub * d).map(|i| ((i * 7919) % 211) as f32 / 17.0 - 6.0).collect();
    let metric = if sel & 0x40 != 0 { PqMetric::L2 } else { PqMetric::InnerProduct };
    let fl = ProductQuantizer::new(d, m, nbits, cents, metric).unwrap();
    let q8 = fl.clone().with_scan(ScanMode::I8).unwrap();
    let c = fl.code_len();
    let n = codes.len() / c;
    let qv: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
    let (mut s1, mut s2) = (fl.scratch(), q8.scratch());
    let pf = fl.prepare(&qv, &mut s1).unwrap();
    let pi = q8.prepare(&qv, &mut s2).unwrap();
    let bound = m as f64 * 0.5 / pi.scale_bias().0 + 1e-3;
    let (mut bf, mut bi) = (vec![0f32; n], vec![0f32; n]);
    let whole = &codes[..n * c];
    fl.score_batch(&pf, whole, &mut bf).unwrap();
    q8.score_batch(&pi, whole, &mut bi).unwrap();
    let mut y = vec![0f32; d];
    for (i, code) in whole.chunks_exact(c).enumerate() {
        fl.decode_into(code, &mut y).unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        let s = fl.score(&pf, code).unwrap();
        assert_eq!(s.to_bits(), bf[i].to_bits());
        let t = q8.score(&pi, code).unwrap();
        assert_eq!(t.to_bits(), bi[i].to_bits());
        assert!((f64::from(s) - f64::from(t)).abs() <= bound * 1.01, "{s} vs {t}");
        let _ = fl.score_codes(code, code).unwrap();
    }
    if !codes.len().is_multiple_of(c) {
        assert!(fl.decode_into(codes, &mut y).is_err() || codes.len() == c);
        assert!(fl.score_batch(&pf, codes, &mut bf).is_err());
    }
    if nbits == 4 {
        let b = pack_blocks(whole, m).unwrap();
        assert_eq!(unpack_blocks(&b, m, n).unwrap(), whole);
    }
}
