//! Lloyd–Max codebooks: Gaussian tables, density solver and 1-D k-means (SPECS §2).
use vector_codecs::rng::Rng;
use vector_codecs::scalar::lloyd::{Codebook, GAUSSIAN_HALF_CENTROIDS, GAUSSIAN_MSE};

fn gaussian_samples(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.gaussian() as f32).collect()
}

#[test]
fn gaussian_tables_reproduce_mse() {
    let xs = gaussian_samples(1_000_000, 42);
    for b in 1..=4u32 {
        let cb = Codebook::gaussian(b).unwrap();
        assert_eq!(cb.len(), 1 << b);
        assert_eq!(cb.bits(), b);
        // Symmetric, both halves exact.
        let half = GAUSSIAN_HALF_CENTROIDS[b as usize - 1];
        for (i, &v) in half.iter().enumerate() {
            assert_eq!(cb.levels()[half.len() + i], v);
            assert_eq!(cb.levels()[half.len() - 1 - i], -v);
        }
        let mse = cb.mse(&xs);
        let want = GAUSSIAN_MSE[b as usize - 1];
        assert!((mse / want - 1.0).abs() < 0.01, "b={b}: mse {mse} vs {want}");
    }
    assert!(Codebook::gaussian(0).is_err());
    assert!(Codebook::gaussian(5).is_err());
}

#[test]
fn index_is_upper_bound() {
    let cb = Codebook::new(&[-1.0, 0.0, 2.0]).unwrap();
    assert_eq!(cb.thresholds(), &[-0.5, 1.0]);
    assert_eq!(cb.index(-0.5), 1); // on a threshold: upper cell
    assert_eq!(cb.index(-0.50001), 0);
    assert_eq!(cb.index(1.0), 2);
    assert_eq!(cb.index(0.99), 1);
    assert_eq!(cb.index(f32::NAN), 0);
    assert_eq!(cb.index(f32::INFINITY), 2);
    assert_eq!(cb.index(f32::NEG_INFINITY), 0);
    assert_eq!(cb.level(200), 2.0);
    // Against a linear scan on a 256-level book.
    let lv: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) * 0.25).collect();
    let cb = Codebook::new(&lv).unwrap();
    let mut rng = Rng::new(3);
    for _ in 0..100_000 {
        let x = (rng.next_f32() - 0.5) * 80.0;
        let want = cb.thresholds().iter().filter(|&&t| t <= x).count();
        assert_eq!(cb.index(x) as usize, want, "{x}");
    }
    for t in cb.thresholds().to_vec() {
        let want = cb.thresholds().iter().filter(|&&u| u <= t).count();
        assert_eq!(cb.index(t) as usize, want);
    }
}

#[test]
fn new_validates() {
    assert!(Codebook::new(&[1.0]).is_err());
    assert!(Codebook::new(&[1.0, 1.0]).is_err());
    assert!(Codebook::new(&[2.0, 1.0]).is_err());
    assert!(Codebook::new(&[0.0, f32::NAN]).is_err());
    assert!(Codebook::new(&[-f32::MAX, f32::MAX]).is_err());
    assert!(Codebook::new(&vec![0.0; 257]).is_err());
}

#[test]
fn lloyd_max_density_matches_gaussian_table() {
    let pdf = |x: f64| (-0.5 * x * x).exp();
    for b in 1..=4u32 {
        let cb = Codebook::lloyd_max_density(pdf, -8.0, 8.0, 1 << b, 400_000, 200_000).unwrap();
        let want = Codebook::gaussian(b).unwrap();
        for (g, w) in cb.levels().iter().zip(want.levels()) {
            assert!((g - w).abs() < 1e-4, "b={b}: {g} vs {w}");
        }
    }
    assert!(Codebook::lloyd_max_density(pdf, 1.0, 1.0, 4, 0, 10).is_err());
    assert!(Codebook::lloyd_max_density(|_| f64::NAN, 0.0, 1.0, 4, 0, 10).is_err());
    assert!(Codebook::lloyd_max_density(|_| 0.0, 0.0, 1.0, 4, 0, 10).is_err());
}

#[test]
fn train_on_gaussian_samples() {
    let train = gaussian_samples(200_000, 5);
    let test = gaussian_samples(1_000_000, 6);
    for b in 1..=4u32 {
        let cb = Codebook::train(&train, 1 << b, 100).unwrap();
        let mse = cb.mse(&test);
        let want = GAUSSIAN_MSE[b as usize - 1];
        assert!((mse / want - 1.0).abs() < 0.01, "b={b}: mse {mse} vs {want}");
    }
    // Fewer distinct values than levels: exact on them, padded one ulp upwards.
    let cb = Codebook::train(&[1.0, 1.0, 1.0], 2, 10).unwrap();
    assert_eq!(cb.levels(), &[1.0, f32::from_bits(1.0f32.to_bits() + 1)]);
    assert!(Codebook::train(&[], 2, 10).is_err());
    assert!(Codebook::train(&[1.0, f32::NAN], 2, 10).is_err());
    let cb = Codebook::train(&[1.0, 2.0, 2.0, 1.0], 2, 10).unwrap();
    assert_eq!(cb.levels(), &[1.0, 2.0]);
}

use vector_codecs::scalar::lloyd::LloydCodec;
use vector_codecs::{Codec, Decode, Score, Symbols};

#[test]
fn lloyd_codec_gaussian_mse_and_score() {
    let d = 384;
    let mut rng = Rng::new(9);
    for b in 1..=4u32 {
        let c = LloydCodec::gaussian(d, b).unwrap();
        assert_eq!(c.code_len(), d * b as usize / 8 + 8);
        assert_eq!(c.bits_per_dim(), b as f64 + 64.0 / d as f64);
        let (mut err, mut tot) = (0f64, 0f64);
        let mut s = c.scratch();
        for _ in 0..200 {
            let x: Vec<f32> = (0..d).map(|_| 3.0 + 2.0 * rng.gaussian() as f32).collect();
            let q: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
            let mut code = vec![0u8; c.code_len()];
            c.encode_into(&x, &mut code).unwrap();
            let mut xh = vec![0f32; d];
            c.decode_into(&code, &mut xh).unwrap();
            for (a, bb) in x.iter().zip(&xh) {
                err += ((a - bb) as f64 - 0.0).powi(2);
                tot += 4.0; // σ² = 4
            }
            let pq = c.prepare(&q, &mut s).unwrap();
            let want: f64 = q.iter().zip(&xh).map(|(a, bb)| *a as f64 * *bb as f64).sum();
            let got = c.score(&pq, &code).unwrap() as f64;
            assert!((got - want).abs() < 1e-3 * (1.0 + want.abs()), "{got} vs {want}");
            let mut syms = vec![0u16; d];
            let mut side = [0u8; 8];
            c.split_symbols(&code, &mut syms, &mut side).unwrap();
            let mut back = vec![0u8; c.code_len()];
            c.join_symbols(&syms, &side, &mut back).unwrap();
            assert_eq!(back, code);
        }
        // Per-vector standardisation: normalised MSE close to the Gaussian table value.
        let nmse = err / tot;
        let want = GAUSSIAN_MSE[b as usize - 1];
        assert!((nmse / want - 1.0).abs() < 0.05, "b={b}: {nmse} vs {want}");
        let mut code = vec![0u8; c.code_len()];
        assert!(c.encode_into(&[f32::NAN; 384], &mut code).is_err());
        code[4..8].copy_from_slice(&(-1f32).to_le_bytes());
        let mut xh = vec![0f32; d];
        assert!(c.decode_into(&code, &mut xh).is_err());
    }
}

use vector_codecs::scalar::lloyd::TrainedLloydCodec;

#[test]
fn trained_codec_mse_serialization_and_corpus() {
    let d = 8;
    let mut rng = Rng::new(21);
    // Dimension j has scale (j + 1): per-dimension books adapt, the MSE matches the Gaussian table.
    let data: Vec<f32> = (0..20_000 * d).map(|i| ((i % d) as f32 + 1.0) * rng.gaussian() as f32).collect();
    for (b, per_dim) in [(2u32, true), (4, true), (3, false), (8, true)] {
        let c = TrainedLloydCodec::train(d, b, per_dim, &data, 100).unwrap();
        assert_eq!(c.bits_per_dim(), b as f64);
        let test: Vec<f32> = (0..5000 * d).map(|i| ((i % d) as f32 + 1.0) * rng.gaussian() as f32).collect();
        let mut codes = vec![0u8; 5000 * c.code_len()];
        c.encode_batch(&test, &mut codes).unwrap();
        let mut out = vec![0f32; test.len()];
        c.decode_batch(&codes, &mut out).unwrap();
        if per_dim && b <= 4 {
            let mut nmse = 0.0;
            for j in 0..d {
                let s2 = ((j + 1) * (j + 1)) as f64;
                let e: f64 = (j..test.len()).step_by(d).map(|i| ((test[i] - out[i]) as f64).powi(2)).sum::<f64>();
                nmse += e / 5000.0 / s2 / d as f64;
            }
            let want = GAUSSIAN_MSE[b as usize - 1];
            assert!((nmse / want - 1.0).abs() < 0.05, "b={b}: {nmse} vs {want}");
        }
        let mut s = c.scratch();
        let q = c.prepare(&test[..d], &mut s).unwrap();
        let want: f32 = test[..d].iter().zip(&out[..d]).map(|(a, b)| a * b).sum();
        let got = c.score(&q, &codes[..c.code_len()]).unwrap();
        assert!((got - want).abs() <= 1e-3 * (1.0 + want.abs()));
        let bytes = c.to_bytes().unwrap();
        assert_eq!(bytes.len(), c.param_bytes());
        assert_eq!(TrainedLloydCodec::from_bytes(&bytes).unwrap(), c);
        // Corruptions are errors.
        for cut in [0, 5, bytes.len() - 1] {
            assert!(TrainedLloydCodec::from_bytes(&bytes[..cut]).is_err());
        }
        let mut bad = bytes.clone();
        bad[20] ^= 0x40;
        assert!(TrainedLloydCodec::from_bytes(&bad).is_err());
        // Write seed corpus files (small configs only) when asked.
        if std::env::var_os("WRITE_CORPUS").is_some() && b <= 4 {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/scalar_lloyd_params");
            std::fs::write(format!("{dir}/valid_b{b}_{per_dim}"), &bytes).unwrap();
            std::fs::write(format!("{dir}/corrupt_b{b}_{per_dim}"), &bad).unwrap();
        }
    }
    assert!(TrainedLloydCodec::train(d, 9, true, &data, 10).is_err());
    assert!(TrainedLloydCodec::train(d, 2, true, &data[..7], 10).is_err());
}

/// Per-dimension codebooks: the byte-table (`b` = 8) and nibble-table (`b` = 1, 2) scans, the compact per-dimension
/// table, `score_batch` and decode-then-dot agree on awkward dimensions (a partial last byte).
#[test]
fn trained_per_dim_scores_agree_on_awkward_dims() {
    for d in [1usize, 3, 5, 13, 37] {
        let mut rng = Rng::new(70 + d as u64);
        let data: Vec<f32> = (0..3000 * d).map(|i| ((i % d) as f32 * 0.5 + 1.0) * rng.gaussian() as f32).collect();
        for b in [1u32, 2, 3, 4, 8] {
            let c = TrainedLloydCodec::train(d, b, true, &data, 20).unwrap();
            let n = 77;
            let mut codes = vec![0u8; n * c.code_len()];
            c.encode_batch(&data[..n * d], &mut codes).unwrap();
            let mut dec = vec![0f32; n * d];
            c.decode_batch(&codes, &mut dec).unwrap();
            let q: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
            let mut fast = c.scratch();
            assert_eq!(fast.len(), c.query_scratch_len());
            if c.per_dim() && b == 8 {
                assert_eq!(c.query_scratch_len(), 256 * c.code_len());
            } else if c.per_dim() && b <= 2 {
                // A 16-entry table per code nibble.
                assert_eq!(c.query_scratch_len(), 32 * c.code_len());
            } else {
                assert_eq!(c.query_scratch_len(), c.compact_query_scratch_len());
            }
            let mut compact = vec![0f32; c.compact_query_scratch_len()];
            let pf = c.prepare(&q, &mut fast).unwrap();
            let pc = c.prepare(&q, &mut compact).unwrap();
            let mut batch = vec![0f32; n];
            c.score_batch(&pf, &codes, &mut batch).unwrap();
            let mut batch_c = vec![0f32; n];
            c.score_batch(&pc, &codes, &mut batch_c).unwrap();
            for i in 0..n {
                let code = &codes[i * c.code_len()..(i + 1) * c.code_len()];
                let s = c.score(&pf, code).unwrap();
                assert_eq!(s.to_bits(), batch[i].to_bits(), "d={d} b={b} i={i}");
                assert_eq!(c.score(&pc, code).unwrap().to_bits(), batch_c[i].to_bits());
                let want: f32 = q.iter().zip(&dec[i * d..(i + 1) * d]).map(|(a, b)| a * b).sum();
                let tol =
                    1e-5 * (1.0 + q.iter().zip(&dec[i * d..(i + 1) * d]).map(|(a, b)| (a * b).abs()).sum::<f32>());
                assert!((s - want).abs() <= tol, "d={d} b={b}: {s} vs {want}");
                assert!((batch_c[i] - want).abs() <= tol, "d={d} b={b}: {} vs {want}", batch_c[i]);
            }
            // A scratch below the compact length is an error, not a panic.
            let mut short = vec![0f32; c.compact_query_scratch_len() - 1];
            assert!(c.prepare(&q, &mut short).is_err());
            assert!(c.score_batch(&pf, &codes[1..], &mut batch).is_err());
        }
    }
}

use vector_codecs::format::{Reader, Writer};
use vector_codecs::persist::Persist;

/// The `Persist` fields of `v`.
fn fields<T: Persist>(v: &T) -> Vec<u8> {
    let mut w = Writer::new(0);
    v.persist(&mut w);
    let b = w.finish().unwrap();
    b[12..b.len() - 4].to_vec()
}

/// Restores a `T` from exactly `bytes` (every byte consumed).
fn restore<T: Persist>(bytes: &[u8]) -> vector_codecs::Result<T> {
    let mut r = Reader::new(bytes);
    let v = T::restore(&mut r)?;
    r.finish()?;
    Ok(v)
}

#[test]
fn codebook_and_lloyd_codec_persist() {
    let trained = Codebook::train(&gaussian_samples(5000, 4), 8, 30).unwrap();
    for c in [LloydCodec::gaussian(24, 3).unwrap(), LloydCodec::with_codebook(7, trained).unwrap()] {
        let b = fields(&c);
        assert_eq!(restore::<LloydCodec>(&b).unwrap(), c);
        for cut in 0..b.len() {
            assert!(restore::<LloydCodec>(&b[..cut]).is_err(), "cut {cut}");
        }
    }
    // Hostile codebooks: too few or too many levels, non-increasing or non-finite levels.
    let book = |k: u32, lv: &[f32]| {
        let mut w = Writer::new(0);
        w.u32(k).f32s(lv);
        let b = w.finish().unwrap();
        restore::<Codebook>(&b[12..b.len() - 4])
    };
    assert!(book(2, &[-1.0, 1.0]).is_ok());
    assert!(book(1, &[0.0]).is_err());
    assert!(book(257, &[0.0; 257]).is_err());
    assert!(book(2, &[1.0, 1.0]).is_err());
    assert!(book(2, &[f32::NAN, 1.0]).is_err());
    assert!(book(u32::MAX, &[]).is_err());
    // A zero or oversized dimension is an error.
    let mut zero = fields(&LloydCodec::gaussian(5, 2).unwrap());
    zero[..4].copy_from_slice(&0u32.to_le_bytes());
    assert!(restore::<LloydCodec>(&zero).is_err());
    zero[..4].copy_from_slice(&(1u32 << 17).to_le_bytes());
    assert!(restore::<LloydCodec>(&zero).is_err());
}

#[test]
fn trained_codec_persist_matches_container() {
    let d = 6;
    let data: Vec<f32> = gaussian_samples(400 * d, 8);
    for per_dim in [false, true] {
        let c = TrainedLloydCodec::train(d, 3, per_dim, &data, 25).unwrap();
        let b = fields(&c);
        assert_eq!(restore::<TrainedLloydCodec>(&b).unwrap(), c);
        // The container's payload is exactly the Persist fields.
        let container = c.to_bytes().unwrap();
        assert_eq!(&container[12..container.len() - 4], &b[..]);
        for cut in 0..b.len() {
            assert!(restore::<TrainedLloydCodec>(&b[..cut]).is_err());
        }
    }
}
