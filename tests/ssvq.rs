//! Sign-split VQ: decode = sign ⊙ codeword, encode = nearest magnitude centroid (naive
//! reference), the sign-aware table score = ⟨q, x̂⟩, symmetric scores, exact round trips,
//! persistence and bad input.

use vector_codecs::format::Reader;
use vector_codecs::persist::Persist;
use vector_codecs::pq::ProductQuantizer;
use vector_codecs::rng::Rng;
use vector_codecs::ssvq::SignSplitVq;
use vector_codecs::train::KMeansConfig;
use vector_codecs::{Codec, Decode, Error, Score, ScoreSymmetric, Symbols};

fn gauss(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n * d).map(|_| r.gaussian() as f32).collect()
}

fn fast() -> KMeansConfig {
    KMeansConfig { niter: 8, ..KMeansConfig::default() }
}

fn dotf(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

#[test]
fn decode_is_sign_times_codeword_and_encode_is_nearest_magnitude() {
    for (d, ds, nbits) in [(16usize, 2usize, 3u32), (24, 3, 4), (16, 4, 5), (24, 8, 2), (10, 5, 1), (21, 7, 6)] {
        let x = gauss(300, d, ds as u64 * 31 + u64::from(nbits));
        let vq = SignSplitVq::train(&x, d, ds, nbits, &fast()).unwrap();
        assert!(vq.centroids().iter().all(|&c| c >= 0.0));
        assert_eq!(vq.code_len(), d.div_ceil(8) + (d / ds * nbits as usize).div_ceil(8));
        let mut code = vec![0u8; vq.code_len()];
        let mut y = vec![0f32; d];
        for row in x.chunks_exact(d).take(40) {
            vq.encode_into(row, &mut code).unwrap();
            vq.decode_into(&code, &mut y).unwrap();
            for m in 0..d / ds {
                let j = vq.index(&code, m);
                let c = &vq.centroids()[j * ds..(j + 1) * ds];
                // Naive nearest magnitude centroid, ties to the lowest index.
                let mut best = (0usize, f64::INFINITY);
                for (jj, cj) in vq.centroids().chunks_exact(ds).enumerate() {
                    let dist: f64 =
                        row[m * ds..(m + 1) * ds].iter().zip(cj).map(|(a, b)| f64::from(a.abs() - b).powi(2)).sum();
                    if dist < best.1 - 1e-9 {
                        best = (jj, dist);
                    }
                }
                let got: f64 =
                    row[m * ds..(m + 1) * ds].iter().zip(c).map(|(a, b)| f64::from(a.abs() - b).powi(2)).sum();
                assert!(got <= best.1 + 1e-5, "not the nearest magnitude centroid");
                for i in 0..ds {
                    let v = row[m * ds + i];
                    let want = if v > 0.0 { c[i] } else { -c[i] };
                    assert_eq!(y[m * ds + i].to_bits(), want.to_bits(), "decode = sign ⊙ codeword");
                    assert_eq!(vq.signs(&code, m) >> i & 1 == 1, v > 0.0);
                }
            }
        }
    }
}

#[test]
fn table_score_equals_inner_product_with_reconstruction() {
    for (d, ds, nbits) in [(16usize, 2usize, 4u32), (24, 3, 3), (32, 4, 6), (40, 5, 4), (48, 8, 5), (14, 7, 2)] {
        let x = gauss(200, d, 5 + d as u64);
        let vq = SignSplitVq::train(&x, d, ds, nbits, &fast()).unwrap();
        let c = vq.code_len();
        let n = 37;
        let mut codes = vec![0u8; n * c];
        vq.encode_batch(&x[..n * d], &mut codes).unwrap();
        let mut dec = vec![0f32; n * d];
        vq.decode_batch(&codes, &mut dec).unwrap();
        let q = gauss(1, d, 99);
        let mut scratch = vq.scratch();
        let pq = vq.prepare(&q, &mut scratch).unwrap();
        let mut batch = vec![0f32; n];
        vq.score_batch(&pq, &codes, &mut batch).unwrap();
        for i in 0..n {
            let want = dotf(&q, &dec[i * d..(i + 1) * d]);
            let s = vq.score(&pq, &codes[i * c..(i + 1) * c]).unwrap();
            assert!((f64::from(s) - want).abs() <= 1e-4 * (1.0 + want.abs()), "{s} vs {want}");
            assert_eq!(s.to_bits(), batch[i].to_bits());
            let j = (i + 3) % n;
            let sym = vq.score_codes(&codes[i * c..(i + 1) * c], &codes[j * c..(j + 1) * c]).unwrap();
            let want = dotf(&dec[i * d..(i + 1) * d], &dec[j * d..(j + 1) * d]);
            assert!((f64::from(sym) - want).abs() <= 1e-4 * (1.0 + want.abs()));
        }
    }
}

#[test]
fn exact_when_magnitudes_come_from_a_small_palette() {
    let (d, ds, nbits) = (12usize, 3usize, 3u32);
    let mut r = Rng::new(4);
    let pal: Vec<f32> = (0..8 * ds).map(|_| r.below(100) as f32 / 8.0 + 0.125).collect();
    let n = 100;
    let x: Vec<f32> = (0..n * d / ds)
        .flat_map(|_| {
            let j = r.below(8) as usize;
            let s: Vec<f32> = (0..ds).map(|i| pal[j * ds + i] * r.sign()).collect();
            s
        })
        .collect();
    let vq = SignSplitVq::train(&x, d, ds, nbits, &fast()).unwrap();
    assert!(vq.mse(&x).unwrap() < 1e-10);
}

#[test]
fn sign_split_beats_plain_vq_with_the_same_index_bits_and_the_sign_bit_costs() {
    // Same codebook size k and sub-vector length: SSVQ spends d extra sign bits and must be better
    // than plain VQ with the same k; plain VQ given those bits (k·2^ds centroids) is the
    // equal-rate comparison, reported by examples/weights.
    let (d, ds, nbits) = (16usize, 4usize, 4u32);
    let x = gauss(2000, d, 8);
    let ss = SignSplitVq::train(&x, d, ds, nbits, &fast()).unwrap();
    let pv = ProductQuantizer::train_shared(&x, d, d / ds, nbits, &fast()).unwrap();
    assert!(ss.mse(&x).unwrap() < pv.mse(&x).unwrap());
    // The shared PQ has M equal codebooks.
    let per = pv.ksub() * pv.dsub();
    assert!(pv.centroids().chunks_exact(per).all(|b| b == &pv.centroids()[..per]));
}

#[test]
fn persist_round_trip_and_symbols() {
    let (d, ds, nbits) = (20usize, 4usize, 5u32);
    let x = gauss(300, d, 12);
    let vq = SignSplitVq::train(&x, d, ds, nbits, &fast()).unwrap();
    let b = vq.to_bytes().unwrap();
    let back = SignSplitVq::from_bytes(&b).unwrap();
    assert_eq!(back, vq);
    let mut code = vec![0u8; vq.code_len()];
    vq.encode_into(&x[..d], &mut code).unwrap();
    let mut sy = vec![0u16; vq.symbols_per_vector()];
    let mut side = vec![0u8; vq.side_len()];
    vq.split_symbols(&code, &mut sy, &mut side).unwrap();
    let mut again = vec![0u8; vq.code_len()];
    vq.join_symbols(&sy, &side, &mut again).unwrap();
    assert_eq!(again, code);
    sy[0] = 1 << nbits;
    assert!(matches!(vq.join_symbols(&sy, &side, &mut again), Err(Error::Corrupt(_))));
    for cut in 0..b.len() {
        assert!(SignSplitVq::from_bytes(&b[..cut]).is_err());
    }
}

#[test]
fn bad_input_is_an_error() {
    let c = vec![0.5f32; 16 * 4];
    assert!(SignSplitVq::new(16, 4, 4, c.clone()).is_ok());
    assert!(SignSplitVq::new(18, 4, 4, c.clone()).is_err(), "ds must divide d");
    assert!(SignSplitVq::new(16, 1, 4, vec![0.5; 16]).is_err(), "ds ≥ 2");
    assert!(SignSplitVq::new(16, 9, 4, c.clone()).is_err());
    assert!(SignSplitVq::new(16, 4, 13, vec![0.5; 4 << 13]).is_err(), "nbits ≤ 12");
    assert!(SignSplitVq::new(16, 4, 4, vec![0.5; 63]).is_err());
    let mut neg = c.clone();
    neg[5] = -0.1;
    assert!(SignSplitVq::new(16, 4, 4, neg).is_err());
    let mut nan = c.clone();
    nan[5] = f32::NAN;
    assert_eq!(SignSplitVq::new(16, 4, 4, nan), Err(Error::NonFinite));
    let vq = SignSplitVq::new(16, 4, 4, c).unwrap();
    let mut code = vec![0u8; vq.code_len()];
    assert!(vq.encode_into(&[0.0; 15], &mut code).is_err());
    assert!(vq.encode_into(&[0.0; 16], &mut code[..3]).is_err());
    let mut x = [0.25f32; 16];
    x[3] = f32::INFINITY;
    assert_eq!(vq.encode_into(&x, &mut code), Err(Error::NonFinite));
    let mut y = [0f32; 16];
    assert!(vq.decode_into(&code[..3], &mut y).is_err());
    let mut s = vq.scratch();
    let q = vq.prepare(&[1.0; 16], &mut s).unwrap();
    assert!(vq.score(&q, &code[1..]).is_err());
    assert!(SignSplitVq::train(&[1.0; 16], 16, 4, 4, &fast()).is_err(), "4 sub-vectors < 16 centroids");
    // Raw restore of a negative centroid is Corrupt.
    let mut w = vector_codecs::format::Writer::new(0);
    w.u32(8).u8(4).u8(1).f32s(&[0.5, 0.5, 0.5, 0.5, 0.5, -1.0, 0.5, 0.5]);
    let b = w.finish().unwrap();
    let body = &b[12..b.len() - 4];
    assert!(matches!(SignSplitVq::restore(&mut Reader::new(body)), Err(Error::Corrupt(_))));
}

#[test]
fn every_code_of_the_right_length_is_valid() {
    let (d, ds, nbits) = (13 * 3, 3usize, 5u32);
    let x = gauss(200, d, 3);
    let vq = SignSplitVq::train(&x, d, ds, nbits, &fast()).unwrap();
    let mut r = Rng::new(1);
    let mut y = vec![0f32; d];
    let mut s = vq.scratch();
    let q = vq.prepare(&x[..d], &mut s).unwrap();
    for _ in 0..200 {
        let code: Vec<u8> = (0..vq.code_len()).map(|_| r.next_u32() as u8).collect();
        vq.decode_into(&code, &mut y).unwrap();
        let sc = vq.score(&q, &code).unwrap();
        assert!((f64::from(sc) - dotf(&x[..d], &y)).abs() < 1e-3);
    }
}
