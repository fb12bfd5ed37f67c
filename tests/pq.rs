//! Product quantization: closed-form checks (exact round trips, ADC = score of the
//! reconstruction, SDC), quantized tables and the fast-scan layout and kernels, OPQ, bad input.

use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::pq::fastscan::{pack_blocks, quantize_table, scan_blocks, unpack_blocks};
use vector_codecs::pq::opq::{OpqConfig, OpqInit, train_opq};
use vector_codecs::pq::{PqMetric, ProductQuantizer};
use vector_codecs::rng::Rng;
use vector_codecs::simd::Backend;
use vector_codecs::simd::pq as k;
use vector_codecs::train::KMeansConfig;
use vector_codecs::{Codec, Decode, Error, Score, ScoreSymmetric};

fn gauss(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n * d).map(|_| r.gaussian() as f32).collect()
}

fn fast() -> KMeansConfig {
    KMeansConfig { niter: 10, ..KMeansConfig::default() }
}

fn dotf(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

fn l2f(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum()
}

#[test]
fn exact_round_trip_with_few_distinct_subvectors() {
    for nbits in [1u32, 2, 4, 5, 8] {
        let (d, m) = (12, 4);
        let ksub = 1usize << nbits;
        let mut r = Rng::new(u64::from(nbits));
        // Per subspace a palette of ksub distinct sub-vectors; rows pick from it.
        let pal: Vec<f32> = (0..m * ksub * 3).map(|_| (r.below(1000) as f32 - 500.0) / 7.0).collect();
        let n = ksub * 3 + 5;
        let x: Vec<f32> = (0..n)
            .flat_map(|i| {
                (0..m)
                    .flat_map(|s| {
                        let j = (i * 7 + s) % ksub;
                        pal[(s * ksub + j) * 3..(s * ksub + j) * 3 + 3].to_vec()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let pq = ProductQuantizer::train(&x, d, m, nbits, &KMeansConfig::default()).unwrap();
        assert_eq!(pq.code_len(), (m * nbits as usize).div_ceil(8));
        let mut codes = vec![0u8; n * pq.code_len()];
        pq.encode_batch(&x, &mut codes).unwrap();
        let mut y = vec![0f32; x.len()];
        pq.decode_batch(&codes, &mut y).unwrap();
        assert_eq!(x, y, "nbits {nbits}: not exact");
        assert_eq!(pq.mse(&x).unwrap(), 0.0);
    }
}

#[test]
fn adc_equals_the_score_of_the_reconstruction() {
    for (d, m, nbits) in [(16usize, 4usize, 8u32), (12, 6, 4), (10, 5, 3), (9, 9, 1), (8, 2, 9), (30, 3, 6)] {
        let n = (1usize << nbits) + 300;
        let x = gauss(n, d, 7);
        let base = ProductQuantizer::train(&x, d, m, nbits, &fast()).unwrap();
        for metric in [PqMetric::InnerProduct, PqMetric::L2] {
            let pq = base.clone().with_metric(metric);
            let mut codes = vec![0u8; n * pq.code_len()];
            pq.encode_batch(&x, &mut codes).unwrap();
            let mut dec = vec![0f32; x.len()];
            pq.decode_batch(&codes, &mut dec).unwrap();
            let q = gauss(1, d, 99);
            let mut scratch = pq.scratch();
            let pq_q = pq.prepare(&q, &mut scratch).unwrap();
            let mut batch = vec![0f32; n];
            pq.score_batch(&pq_q, &codes, &mut batch).unwrap();
            for (i, (code, xh)) in codes.chunks_exact(pq.code_len()).zip(dec.chunks_exact(d)).enumerate() {
                let s = pq.score(&pq_q, code).unwrap();
                assert_eq!(s.to_bits(), batch[i].to_bits(), "batch differs from per-code score");
                let want = match metric {
                    PqMetric::InnerProduct => dotf(&q, xh),
                    PqMetric::L2 => -l2f(&q, xh),
                };
                assert!(
                    (f64::from(s) - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{d} {m} {nbits} {metric:?}: {s} vs {want}"
                );
            }
            // SDC against code 0.
            let c0 = &codes[..pq.code_len()];
            for (code, xh) in codes.chunks_exact(pq.code_len()).zip(dec.chunks_exact(d)).take(50) {
                let s = pq.score_codes(c0, code).unwrap();
                let want = match metric {
                    PqMetric::InnerProduct => dotf(&dec[..d], xh),
                    PqMetric::L2 => -l2f(&dec[..d], xh),
                };
                assert!((f64::from(s) - want).abs() <= 1e-4 * (1.0 + want.abs()));
            }
            // FAISS's SDC table.
            let t = pq.sdc_table(m - 1).unwrap();
            let ks = pq.ksub();
            let c = &pq.centroids()[(m - 1) * ks * (d / m)..];
            let ds = d / m;
            for (i, j) in [(0usize, 1usize), (ks - 1, 0), (ks / 2, ks / 3)] {
                let want = l2f(&c[i * ds..(i + 1) * ds], &c[j * ds..(j + 1) * ds]);
                assert!((f64::from(t[i * ks + j]) - want).abs() <= 1e-5 * (1.0 + want));
            }
            assert!(pq.sdc_table(m).is_err());
        }
    }
}

#[test]
fn quantized_tables_are_within_the_bound_and_batch_equals_score() {
    for (d, m, nbits, n) in
        [(32usize, 8usize, 4u32, 333usize), (30, 15, 4, 100), (16, 8, 8, 600), (12, 4, 3, 70), (64, 64, 4, 65)]
    {
        let x = gauss(n.max(1 << nbits), d, 3);
        let base = ProductQuantizer::train(&x, d, m, nbits, &fast()).unwrap();
        for metric in [PqMetric::InnerProduct, PqMetric::L2] {
            let fl = base.clone().with_metric(metric);
            let q8 = fl.clone().with_scan(ScanMode::I8).unwrap();
            assert_eq!(q8.scan_mode(), ScanMode::I8);
            assert_eq!(q8.estimator(), vector_codecs::Estimator::Biased);
            let nn = x.len() / d;
            let mut codes = vec![0u8; nn * fl.code_len()];
            fl.encode_batch(&x, &mut codes).unwrap();
            let q = gauss(1, d, 5);
            let (mut s1, mut s2) = (fl.scratch(), q8.scratch());
            let pf = fl.prepare(&q, &mut s1).unwrap();
            let pi = q8.prepare(&q, &mut s2).unwrap();
            let (a, _) = pi.scale_bias();
            let bound = m as f64 * 0.5 / a + 1e-4;
            let (mut bf, mut bi) = (vec![0f32; nn], vec![0f32; nn]);
            fl.score_batch(&pf, &codes, &mut bf).unwrap();
            q8.score_batch(&pi, &codes, &mut bi).unwrap();
            for (i, code) in codes.chunks_exact(fl.code_len()).enumerate() {
                let s = q8.score(&pi, code).unwrap();
                assert_eq!(s.to_bits(), bi[i].to_bits(), "{d} {m} {nbits}: fast scan differs from per-code at {i}");
                assert!((f64::from(s) - f64::from(bf[i])).abs() <= bound * 1.001, "{s} vs {} (bound {bound})", bf[i]);
            }
            // Block layout: pack, scan, unpack.
            if nbits == 4 {
                let blocks = pack_blocks(&codes, m).unwrap();
                assert_eq!(unpack_blocks(&blocks, m, nn).unwrap(), codes);
                let mut sb = vec![0f32; nn];
                scan_blocks(&q8, &pi, &blocks, &mut sb).unwrap();
                assert!(sb.iter().zip(&bi).all(|(a, b)| a.to_bits() == b.to_bits()));
                assert!(scan_blocks(&fl, &pf, &blocks, &mut sb).is_err());
            }
        }
    }
}

#[test]
fn quantize_table_bookkeeping() {
    let lut = [1.0f32, 3.0, 2.0, 5.0, -1.0, -1.0, -1.0, -1.0];
    let mut out = [9u8; 12];
    let (a, b) = quantize_table(&lut, 4, &mut out);
    assert_eq!(a, 255.0 / 4.0);
    assert_eq!(b, 0.0);
    assert_eq!(out, [0, 128, 64, 255, 0, 0, 0, 0, 0, 0, 0, 0]);
    let (a, b) = quantize_table(&[2.0; 8], 4, &mut out);
    assert_eq!((a, b), (0.0, 4.0));
}

#[test]
fn block_layout_round_trips() {
    let mut r = Rng::new(4);
    for m in [1usize, 2, 3, 8, 17] {
        let cl = m.div_ceil(2);
        for n in [0usize, 1, 31, 32, 33, 64, 100] {
            let mut codes: Vec<u8> = (0..n * cl).map(|_| r.next_u32() as u8).collect();
            if m % 2 == 1 {
                // PQ codes have zero padding nibbles; the layout keeps them anyway.
                codes.iter_mut().skip(cl - 1).step_by(cl).for_each(|b| *b &= 0x0f);
            }
            let b = pack_blocks(&codes, m).unwrap();
            assert_eq!(b.len(), n.div_ceil(32) * 32 * cl);
            assert_eq!(unpack_blocks(&b, m, n).unwrap(), codes);
        }
    }
    assert!(pack_blocks(&[0u8; 3], 4).is_err());
    assert!(pack_blocks(&[0u8; 4], 0).is_err());
    assert!(unpack_blocks(&[0u8; 10], 4, 3).is_err());
    // Byte j of a pair's first half holds vectors PERM0[j] (low) and PERM0[j] + 16 (high).
    let codes: Vec<u8> = (0..32u8).map(|v| v % 16).collect(); // M = 2: sq0 = v % 16, sq1 = 0
    let b = pack_blocks(&codes, 2).unwrap();
    for j in 0..16 {
        let v = k::PERM0[j] as u8;
        assert_eq!(b[j], (v % 16) | (((v + 16) % 16) << 4));
        assert_eq!(b[16 + j], 0);
    }
}

fn fs_reference(lut: &[u8], codes: &[u8], npairs: usize, out: &mut [u32]) {
    // Unpack to flat codes, then sum table entries directly.
    let m = 2 * npairs;
    let nb = codes.len() / (32 * npairs);
    let flat = unpack_blocks(&codes[..nb * 32 * npairs], m, nb * 32).unwrap();
    for (v, code) in flat.chunks_exact(npairs).enumerate() {
        out[v] = (0..m)
            .map(|s| {
                let c = if s % 2 == 0 { code[s / 2] & 15 } else { code[s / 2] >> 4 };
                u32::from(lut[16 * s + usize::from(c)])
            })
            .sum();
    }
}

#[test]
fn fast_scan_kernels_equal_the_reference_on_awkward_sizes() {
    let mut r = Rng::new(11);
    for npairs in [1usize, 2, 3, 7, 8, 127, 128, 129, 200, 257, 300] {
        for nblocks in [1usize, 2, 3] {
            let lut: Vec<u8> = (0..32 * npairs).map(|i| if i % 5 == 0 { 255 } else { r.next_u32() as u8 }).collect();
            let codes: Vec<u8> = (0..nblocks * 32 * npairs).map(|_| r.next_u32() as u8).collect();
            let mut want = vec![0u32; 32 * nblocks];
            fs_reference(&lut, &codes, npairs, &mut want);
            let mut got = vec![0u32; 32 * nblocks];
            k::fastscan_accumulate_portable(&lut, &codes, npairs, &mut got);
            assert_eq!(got, want, "portable, {npairs} pairs");
            let mut got = vec![0u32; 32 * nblocks];
            k::fastscan_accumulate(&lut, &codes, npairs, &mut got);
            assert_eq!(got, want, "dispatched, {npairs} pairs");
            // Every backend this CPU has, whatever the dispatcher picked.
            for b in [Backend::Avx2, Backend::Avx512] {
                let mut got = vec![0u32; 32 * nblocks];
                if k::fastscan_accumulate_on(b, &lut, &codes, npairs, &mut got).is_some() {
                    assert_eq!(got, want, "{b:?}, {npairs} pairs");
                }
            }
        }
    }
}

#[test]
fn distance_kernels_are_the_sequential_sums_bit_for_bit() {
    let mut r = Rng::new(8);
    for d in [0usize, 1, 2, 3, 7, 8, 9, 31, 100] {
        for kk in [1usize, 7, 8, 9, 17] {
            let c: Vec<f32> = (0..kk * d).map(|_| r.gaussian() as f32).collect();
            let x: Vec<f32> = (0..d).map(|_| r.gaussian() as f32).collect();
            let mut blocks = vec![0f32; kk.div_ceil(8) * 8 * d];
            k::transpose_blocks(&c, kk, d, &mut blocks);
            let (mut tl, mut ti) = (vec![0f32; kk], vec![0f32; kk]);
            k::table(&x, &blocks, kk, false, &mut tl);
            k::table(&x, &blocks, kk, true, &mut ti);
            let mut best = (0usize, f32::INFINITY);
            for j in 0..kk {
                let (mut l2, mut ip) = (0f32, 0f32);
                for t in 0..d {
                    let diff = x[t] - c[j * d + t];
                    l2 += diff * diff;
                    ip += x[t] * c[j * d + t];
                }
                if d > 0 {
                    assert_eq!(tl[j].to_bits(), l2.to_bits());
                    assert_eq!(ti[j].to_bits(), ip.to_bits());
                }
                if l2 < best.1 {
                    best = (j, l2);
                }
            }
            if d > 0 {
                assert_eq!(k::nearest(&x, &blocks, kk), best);
            }
        }
    }
}

#[test]
fn bad_input_is_an_error() {
    let x = gauss(300, 8, 1);
    let cfg = fast();
    assert!(matches!(ProductQuantizer::train(&x, 8, 3, 4, &cfg), Err(Error::InvalidParameter(_))));
    assert!(matches!(ProductQuantizer::train(&x, 8, 0, 4, &cfg), Err(Error::InvalidParameter(_))));
    assert!(matches!(ProductQuantizer::train(&x, 8, 2, 0, &cfg), Err(Error::InvalidParameter(_))));
    assert!(matches!(ProductQuantizer::train(&x, 8, 2, 17, &cfg), Err(Error::InvalidParameter(_))));
    assert_eq!(ProductQuantizer::train(&x, 8, 2, 9, &cfg), Err(Error::NotEnoughData { needed: 512, got: 300 }));
    assert!(ProductQuantizer::train(&x[..7], 8, 2, 1, &cfg).is_err());
    let mut nan = x.clone();
    nan[100] = f32::NAN;
    assert_eq!(ProductQuantizer::train(&nan, 8, 2, 4, &cfg), Err(Error::NonFinite));
    let pq = ProductQuantizer::train(&x, 8, 2, 4, &cfg).unwrap();
    let mut code = [0u8; 1];
    assert_eq!(pq.encode_into(&nan[96..104], &mut code), Err(Error::NonFinite));
    assert!(pq.encode_into(&x[..7], &mut code).is_err());
    assert!(pq.encode_into(&x[..8], &mut [0u8; 2]).is_err());
    assert!(pq.decode_into(&[0u8; 2], &mut [0f32; 8]).is_err());
    let mut s = pq.scratch();
    assert!(pq.prepare(&nan[96..104], &mut s).is_err());
    assert!(pq.prepare(&x[..8], &mut s[..3]).is_err());
    let p = pq.prepare(&x[..8], &mut s).unwrap();
    assert!(pq.score(&p, &[0u8; 2]).is_err());
    assert!(pq.score_batch(&p, &[0u8; 3], &mut [0f32; 2]).is_err());
    assert!(pq.score_codes(&[0u8], &[0u8; 2]).is_err());
    assert!(pq.clone().with_scan(ScanMode::Bitsliced).is_err());
    assert!(ProductQuantizer::new(8, 2, 4, vec![0.0; 10], PqMetric::L2).is_err());
    assert!(ProductQuantizer::new(8, 2, 4, vec![f32::NAN; 128], PqMetric::L2).is_err());
}

#[test]
fn parameters_round_trip_and_corrupt_bytes_are_errors() {
    let x = gauss(300, 12, 2);
    let pq = ProductQuantizer::train(&x, 12, 4, 4, &fast())
        .unwrap()
        .with_metric(PqMetric::L2)
        .with_scan(ScanMode::I8)
        .unwrap();
    let b = pq.to_bytes().unwrap();
    assert_eq!(ProductQuantizer::from_bytes(&b).unwrap(), pq);
    for cut in 0..b.len() {
        assert!(ProductQuantizer::from_bytes(&b[..cut]).is_err());
    }
    for i in 0..b.len() {
        let mut c = b.clone();
        c[i] ^= 0x41;
        let _ = ProductQuantizer::from_bytes(&c); // never panics
    }
}

/// Data whose coordinates are strongly correlated across subspaces (a random rotation of
/// anisotropic Gaussians): OPQ's rotation should beat plain PQ.
fn correlated(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let r = vector_codecs::train::linalg::random_orthogonal(d, seed);
    let mut g = Rng::new(seed + 1);
    (0..n)
        .flat_map(|_| {
            let z: Vec<f64> = (0..d).map(|j| g.gaussian() * (if j < d / 4 { 4.0 } else { 0.3 })).collect();
            (0..d).map(|i| (0..d).map(|j| z[j] * r[j * d + i]).sum::<f64>() as f32).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn opq_rotation_is_orthogonal_and_beats_pq() {
    for init in [OpqInit::Random, OpqInit::EigenAllocation] {
        opq_case(init);
    }
}

/// `hot_final` starts the final PQ from the last alternation's codebooks: its error is at most
/// that alternation's (Procrustes, then Lloyd iterations, never raise it) and below the final PQ
/// trained from scratch (FAISS) on the same rotation.
#[test]
fn opq_hot_final_pq_continues_the_descent() {
    let (n, d, m) = (2000, 32, 8);
    let x = correlated(n, d, 5);
    for init in [OpqInit::Random, OpqInit::EigenAllocation] {
        let mse = |hot_final: bool| {
            let cfg = OpqConfig { niter: 6, niter_pq_0: 10, kmeans: fast(), init, hot_final, ..OpqConfig::default() };
            let (opq, mses) = train_opq(&x, d, d, m, 4, &cfg).unwrap();
            let (mut code, mut y) = (vec![0u8; opq.code_len()], vec![0f32; d]);
            let mut e = 0f64;
            for xi in x.chunks_exact(d) {
                opq.encode_into(xi, &mut code).unwrap();
                opq.decode_into(&code, &mut y).unwrap();
                e += l2f(xi, &y);
            }
            (e / n as f64, *mses.last().unwrap(), opq)
        };
        let (scratch, last_s, a) = mse(false);
        let (hot, last_h, b) = mse(true);
        eprintln!("{init:?}: final PQ from scratch {scratch:.5}, hot-started {hot:.5}, last alternation {last_h:.5}");
        // Same alternations, same rotation: only the final PQ differs.
        assert_eq!(last_s, last_h);
        assert_eq!(a.transform, b.transform);
        assert!(hot <= last_h * (1.0 + 1e-6), "{init:?}: hot final {hot} above the last alternation {last_h}");
        assert!(hot <= scratch, "{init:?}: hot final {hot} above the from-scratch final {scratch}");
    }
}

fn opq_case(init: OpqInit) {
    let (n, d, m) = (2000, 32, 8);
    let x = correlated(n, d, 3);
    let cfg = OpqConfig { niter: 10, niter_pq_0: 10, kmeans: fast(), init, ..OpqConfig::default() };
    let (opq, mses) = train_opq(&x, d, d, m, 4, &cfg).unwrap();
    // A batch through the rotation has the bits of one row at a time.
    {
        use vector_codecs::transform::Transform;
        let rows = &x[..7 * d];
        let mut one = vec![0f32; 7 * d];
        for (xi, oi) in rows.chunks_exact(d).zip(one.chunks_exact_mut(d)) {
            opq.transform.forward(xi, oi).unwrap();
        }
        let mut batch = vec![0f32; 7 * d];
        opq.transform.forward_batch(rows, &mut batch).unwrap();
        assert_eq!(one, batch, "{init:?}");
    }
    let r: Vec<f64> = opq.transform.matrix().iter().map(|&v| f64::from(v)).collect();
    let oe = vector_codecs::train::linalg::orthogonality_error(&r, d);
    assert!(oe < 1e-5, "orthogonality error {oe}");
    assert!(mses.last().unwrap() <= &mses[0], "{mses:?}");
    let pq = ProductQuantizer::train(&x, d, m, 4, &fast()).unwrap();
    let (mut code, mut y) = (vec![0u8; opq.code_len()], vec![0f32; d]);
    let mut e = 0f64;
    for xi in x.chunks_exact(d) {
        opq.encode_into(xi, &mut code).unwrap();
        opq.decode_into(&code, &mut y).unwrap();
        e += l2f(xi, &y);
    }
    let (e_opq, e_pq) = (e / n as f64, pq.mse(&x).unwrap());
    eprintln!("MSE ({init:?}): OPQ {e_opq:.4}, PQ {e_pq:.4}");
    assert!(e_opq <= e_pq, "{init:?}: OPQ {e_opq} vs PQ {e_pq}");
    // Scores of the composition are those of the decoded vectors.
    let q = gauss(1, d, 4);
    let mut s = opq.scratch();
    let p = opq.prepare(&q, &mut s).unwrap();
    opq.encode_into(&x[..d], &mut code).unwrap();
    opq.decode_into(&code, &mut y).unwrap();
    let got = f64::from(opq.score(&p, &code).unwrap());
    assert!((got - dotf(&q, &y)).abs() < 1e-3 * (1.0 + got.abs()));
    // Projection to fewer dimensions.
    let (proj, _) = train_opq(&x, d, 16, 4, 4, &cfg).unwrap();
    assert_eq!(proj.code_len(), 2);
    assert!(train_opq(&x, d, 40, 4, 4, &cfg).is_err());
}

#[test]
fn training_is_deterministic() {
    let x = gauss(700, 16, 6);
    let a = ProductQuantizer::train(&x, 16, 4, 8, &fast()).unwrap();
    let b = ProductQuantizer::train(&x, 16, 4, 8, &fast()).unwrap();
    assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
}

#[test]
fn relayout_kernels_agree() {
    use vector_codecs::pq::fastscan::{relayout_block, relayout_block_portable};
    let mut r = Rng::new(21);
    for cl in [1usize, 2, 7, 15, 16, 17, 31, 32, 48, 100, 256, 300] {
        for nvec in [1usize, 5, 31, 32] {
            let codes: Vec<u8> = (0..nvec * cl).map(|_| r.next_u32() as u8).collect();
            let (mut a, mut b) = (vec![0u8; 32 * cl], vec![1u8; 32 * cl]);
            relayout_block_portable(&codes, cl, &mut a);
            relayout_block(&codes, cl, &mut b);
            assert_eq!(a, b, "cl {cl} nvec {nvec}");
            // And the layout is the packer's.
            assert_eq!(pack_blocks(&codes, 2 * cl).unwrap(), a);
        }
    }
}

#[test]
fn symbols_round_trip() {
    use vector_codecs::Symbols;
    for nbits in [1u32, 3, 4, 8, 9] {
        let x = gauss((1 << nbits) + 10, 10, 2);
        let pq = ProductQuantizer::train(&x, 10, 5, nbits, &fast()).unwrap();
        assert_eq!((pq.symbols_per_vector(), pq.alphabet_size(), pq.side_len()), (5, 1 << nbits, 0));
        let mut code = vec![0u8; pq.code_len()];
        let mut sym = [0u16; 5];
        for row in x.chunks_exact(10).take(20) {
            pq.encode_into(row, &mut code).unwrap();
            pq.split_symbols(&code, &mut sym, &mut []).unwrap();
            let mut back = vec![0xffu8; pq.code_len()];
            pq.join_symbols(&sym, &[], &mut back).unwrap();
            assert_eq!(back, code);
        }
        sym[2] = 1 << nbits;
        assert!(pq.join_symbols(&sym, &[], &mut code).is_err());
    }
}

#[test]
fn wide_indices_12_and_16_bits() {
    // n == 2^nbits rows: the codebooks are the rows themselves, so coding is exact.
    for nbits in [12u32, 16] {
        let n = 1usize << nbits;
        let x = gauss(n, 4, u64::from(nbits));
        let pq = ProductQuantizer::train(&x, 4, 2, nbits, &fast()).unwrap();
        assert_eq!(pq.code_len(), (2 * nbits as usize).div_ceil(8));
        let mut code = vec![0u8; pq.code_len()];
        let mut y = [0f32; 4];
        for row in x.chunks_exact(4).step_by(97) {
            pq.encode_into(row, &mut code).unwrap();
            pq.decode_into(&code, &mut y).unwrap();
            assert_eq!(row, y);
        }
        let mut s = pq.scratch();
        let q = pq.prepare(&x[..4], &mut s).unwrap();
        pq.encode_into(&x[..4], &mut code).unwrap();
        let want: f32 = x[..4].iter().map(|v| v * v).sum();
        assert!((pq.score(&q, &code).unwrap() - want).abs() < 1e-4);
    }
}

/// Centroids with near-ties and exact duplicates, rows on, between and far from them.
fn tricky(kk: usize, d: usize, nrows: usize, scale: f32, r: &mut Rng) -> (Vec<f32>, Vec<f32>) {
    let mut c: Vec<f32> = (0..kk * d).map(|_| r.gaussian() as f32 * scale).collect();
    for j in 1..kk {
        match j % 5 {
            // An exact duplicate of the previous centroid (ties to the lower index).
            1 => {
                let (a, b) = c.split_at_mut(j * d);
                b[..d].copy_from_slice(&a[(j - 1) * d..j * d]);
            }
            // One ulp away from the previous one.
            2 => {
                for t in 0..d {
                    let v = c[(j - 1) * d + t];
                    c[j * d + t] = f32::from_bits(v.to_bits() ^ u32::from(t == 0));
                }
            }
            _ => {}
        }
    }
    let x: Vec<f32> = (0..nrows)
        .flat_map(|i| {
            let a = (i * 7) % kk;
            let b = (i * 13 + 1) % kk;
            let w = (i % 4) as f32 / 3.0;
            (0..d)
                .map(|t| match i % 3 {
                    0 => c[a * d + t],
                    1 => (1.0 - w) * c[a * d + t] + w * c[b * d + t],
                    _ => r.gaussian() as f32 * scale * 2.0,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    (c, x)
}

#[test]
fn nearest_batch_equals_the_exhaustive_search_bit_for_bit() {
    let mut r = Rng::new(21);
    for d in [1usize, 2, 3, 7, 8, 9, 16, 31, 32, 33] {
        for kk in [1usize, 2, 3, 5, 8, 16, 17, 255, 256, 300] {
            for nrows in [1usize, 15, 16, 17, 40] {
                for scale in [1.0f32, 1e-3, 1e6] {
                    let (c, x) = tricky(kk, d, nrows, scale, &mut r);
                    let mut blocks = vec![0f32; kk.div_ceil(8) * 8 * d];
                    k::transpose_blocks(&c, kk, d, &mut blocks);
                    let mut half = vec![0f32; kk];
                    let cmax = k::half_norms(&c, kk, d, &mut half);
                    let (mut wi, mut wd) = (vec![0u32; nrows], vec![0f32; nrows]);
                    k::nearest_batch_portable(&x, d, nrows, d, &blocks, kk, &mut wi, &mut wd);
                    let (mut gi, mut gd) = (vec![0u32; nrows], vec![0f32; nrows]);
                    k::nearest_batch(&x, d, nrows, d, &c, &blocks, &half, cmax, kk, &mut gi, Some(&mut gd));
                    assert_eq!(gi, wi, "d {d} k {kk} rows {nrows} scale {scale}");
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&gd), bits(&wd), "d {d} k {kk} rows {nrows} scale {scale}");
                    let mut gi2 = vec![0u32; nrows];
                    k::nearest_batch(&x, d, nrows, d, &c, &blocks, &half, cmax, kk, &mut gi2, None);
                    assert_eq!(gi2, wi);
                    // Strided rows (a subspace of wider vectors) give the same answers.
                    let wide: Vec<f32> =
                        x.chunks_exact(d).flat_map(|row| [&[9.0f32][..], row, &[7.0]].concat()).collect();
                    let mut gi3 = vec![0u32; nrows];
                    k::nearest_batch(&wide[1..], d + 2, nrows, d, &c, &blocks, &half, cmax, kk, &mut gi3, None);
                    assert_eq!(gi3, wi);
                }
            }
        }
    }
}

#[test]
fn encode_batch_equals_encode_into() {
    for (m, nbits) in [(4usize, 8u32), (8, 4), (3, 5), (6, 2)] {
        let d = 24;
        let data = gauss(700, d, 5 + m as u64);
        let pq = ProductQuantizer::train(&data, d, m, nbits, &fast()).unwrap();
        let c = pq.code_len();
        for n in [1usize, 63, 64, 65, 130] {
            let mut batch = vec![0u8; n * c];
            pq.encode_batch(&data[..n * d], &mut batch).unwrap();
            for (i, code) in batch.chunks_exact(c).enumerate() {
                let mut one = vec![0u8; c];
                pq.encode_into(&data[i * d..(i + 1) * d], &mut one).unwrap();
                assert_eq!(code, &one[..], "M {m} nbits {nbits} row {i}");
            }
        }
        let mut bad = data[..2 * d].to_vec();
        bad[d + 3] = f32::NAN;
        assert_eq!(pq.encode_batch(&bad, &mut vec![0u8; 2 * c]), Err(Error::NonFinite));
    }
}

#[test]
fn fast_scan_scores_equal_the_reference_on_every_backend() {
    let mut r = Rng::new(12);
    for npairs in [1usize, 2, 3, 7, 8, 48, 96, 255, 256, 257, 511, 512, 513, 700] {
        for nblocks in [1usize, 2, 5] {
            for fill in [None, Some(255u8), Some(0)] {
                let lut: Vec<u8> = (0..32 * npairs)
                    .map(|i| fill.unwrap_or(if i % 5 == 0 { 255 } else { r.next_u32() as u8 }))
                    .collect();
                let codes: Vec<u8> = (0..nblocks * 32 * npairs).map(|_| r.next_u32() as u8).collect();
                let mut sums = vec![0u32; 32 * nblocks];
                fs_reference(&lut, &codes, npairs, &mut sums);
                let (sb, sa) = (-0.37f32, 0.0123f32);
                let want: Vec<u32> = sums.iter().map(|&s| (sb + (s as f32) * sa).to_bits()).collect();
                // One extra float checks that nothing past the blocks is written.
                let mut got = vec![7f32; 32 * nblocks + 1];
                k::fastscan_scores(&lut, &codes, npairs, sb, sa, &mut got);
                assert_eq!(
                    got.iter().take(32 * nblocks).map(|f| f.to_bits()).collect::<Vec<_>>(),
                    want,
                    "{npairs} pairs"
                );
                assert_eq!(got[32 * nblocks], 7.0);
                for b in [Backend::Portable, Backend::Avx2, Backend::Avx512] {
                    let mut got = vec![7f32; 32 * nblocks + 1];
                    if k::fastscan_scores_on(b, &lut, &codes, npairs, sb, sa, &mut got).is_some() {
                        let bits: Vec<u32> = got.iter().take(32 * nblocks).map(|f| f.to_bits()).collect();
                        assert_eq!(bits, want, "{b:?}, {npairs} pairs, {nblocks} blocks");
                        assert_eq!(got[32 * nblocks], 7.0);
                    }
                }
            }
        }
    }
}

#[test]
fn topk_push_batch_equals_single_pushes() {
    use vector_codecs::topk::TopK;
    let mut r = Rng::new(13);
    for n in [0usize, 1, 15, 16, 17, 100, 1000, 5003] {
        for kk in [0usize, 1, 10, 100] {
            // Few distinct values: many ties; some NaN.
            let scores: Vec<f32> =
                (0..n).map(|i| if i % 97 == 5 { f32::NAN } else { (r.next_u32() % 50) as f32 * 0.5 }).collect();
            let (mut a, mut b) = (TopK::<128>::new(kk), TopK::<128>::new(kk));
            a.push_batch(&scores, 7);
            for (i, &s) in scores.iter().enumerate() {
                b.push(s, 7 + i as u32);
            }
            let (mut oa, mut ob) = ([(0f32, 0u32); 128], [(0f32, 0u32); 128]);
            let (ma, mb) = (a.drain_sorted(&mut oa), b.drain_sorted(&mut ob));
            assert_eq!(oa[..ma], ob[..mb], "n {n} k {kk}");
        }
    }
}

#[test]
fn first_at_least_equals_the_scalar_scan() {
    let mut r = Rng::new(14);
    for n in [0usize, 1, 15, 16, 17, 33, 100] {
        let s: Vec<f32> = (0..n).map(|i| if i % 11 == 3 { f32::NAN } else { r.gaussian() as f32 }).collect();
        for t in [f32::NEG_INFINITY, -1.0, 0.0, 1.5, 3.0, f32::INFINITY] {
            for from in [0usize, 1, 5, 16, n] {
                let from = from.min(n);
                let want = (from..n).find(|&i| s[i] >= t).unwrap_or(n);
                assert_eq!(vector_codecs::simd::first_at_least(&s, from, t), want);
                assert_eq!(vector_codecs::simd::portable::first_at_least(&s, from, t), want);
            }
        }
    }
}

/// The 8-bit float ADC scan: the plain sequential sum of each code, bit for bit, on awkward
/// `M` (one pass, several passes, a byte tail) and `n` (beyond one piece of 1,024 codes, not a
/// multiple of 4), for every pass size; whichever backend `VECTOR_CODECS_SIMD` selects.
#[test]
fn adc_scan_u8_is_the_sequential_sum_bit_for_bit() {
    let mut r = Rng::new(15);
    for m in [1usize, 3, 4, 7, 8, 13, 16, 48, 49, 96, 97] {
        let lut: Vec<f32> = (0..256 * m).map(|i| if i % 9 == 0 { 0.0 } else { r.gaussian() as f32 }).collect();
        for n in [0usize, 1, 15, 17, 31, 1025, 3000] {
            let mut codes: Vec<u8> = (0..n * m).map(|_| r.next_u32() as u8).collect();
            if n > 0 {
                codes[..m].fill(0); // an all-zero-entry code: the sign of zero
            }
            for neg in [false, true] {
                let want: Vec<u32> = codes
                    .chunks_exact(m)
                    .map(|c| {
                        let mut s = 0f32;
                        for (i, &b) in c.iter().enumerate() {
                            s += lut[256 * i + usize::from(b)];
                        }
                        (if neg { -s } else { s }).to_bits()
                    })
                    .collect();
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                let mut got = vec![9f32; n + 1];
                k::adc_scan_u8(&lut, m, &codes, neg, &mut got[..n]);
                assert_eq!(bits(&got[..n]), want, "m {m} n {n}");
                assert_eq!(got[n], 9.0);
                let mut got = vec![9f32; n];
                k::adc_scan_u8_portable(&lut, m, &codes, neg, &mut got);
                assert_eq!(bits(&got), want, "portable m {m} n {n}");
                for pass in [0usize, 8, 16, 24, 40, usize::MAX] {
                    let mut got = vec![9f32; n];
                    k::adc_scan_u8_passes(&lut, m, &codes, neg, &mut got, pass);
                    assert_eq!(bits(&got), want, "pass {pass} m {m} n {n}");
                }
            }
        }
    }
}

/// The `u8`-table scan of 8-bit codes: the exact integer sum, finished as `sb + acc·sa`, on the
/// eight-codes-with-`u64`-words path (`m % 8 == 0`) and the one-code path, awkward `n`.
#[test]
fn adc_scan_u8_int_is_the_exact_integer_sum() {
    let mut r = Rng::new(16);
    for m in [1usize, 7, 8, 16, 24, 48, 50, 96] {
        let lut: Vec<u8> = (0..256 * m).map(|i| if i % 11 == 0 { 255 } else { r.next_u32() as u8 }).collect();
        for n in [0usize, 1, 7, 8, 9, 17, 63, 100] {
            let codes: Vec<u8> = (0..n * m).map(|_| r.next_u32() as u8).collect();
            let (sb, sa) = (0.75f32, -0.0031f32);
            let want: Vec<u32> = codes
                .chunks_exact(m)
                .map(|c| {
                    let acc: u32 = c.iter().enumerate().map(|(i, &b)| u32::from(lut[256 * i + usize::from(b)])).sum();
                    (sb + (acc as f32) * sa).to_bits()
                })
                .collect();
            let mut got = vec![9f32; n + 1];
            k::adc_scan_u8_int(&lut, m, &codes, sb, sa, &mut got[..n]);
            assert_eq!(got[..n].iter().map(|f| f.to_bits()).collect::<Vec<_>>(), want, "m {m} n {n}");
            assert_eq!(got[n], 9.0);
        }
    }
}

/// The multi-query fast-scan kernel: for every query the bits of the one-query reference, on
/// every backend, for 1..=9 queries (groups of 4 and 2 plus remainders), odd pair counts around
/// the spill boundary, and output strides larger than the blocks.
#[test]
fn multi_query_fast_scan_equals_one_query_per_pass_on_every_backend() {
    let mut r = Rng::new(21);
    for npairs in [1usize, 3, 24, 48, 96, 255, 257, 513] {
        for nblocks in [1usize, 2, 5] {
            for nq in 1..=9usize {
                let luts: Vec<Vec<u8>> = (0..nq)
                    .map(|qi| {
                        (0..32 * npairs + qi).map(|i| if i % 7 == 0 { 255 } else { r.next_u32() as u8 }).collect()
                    })
                    .collect();
                let refs: Vec<&[u8]> = luts.iter().map(|l| &l[..]).collect();
                let codes: Vec<u8> = (0..nblocks * 32 * npairs).map(|_| r.next_u32() as u8).collect();
                let fin: Vec<(f32, f32)> = (0..nq).map(|i| (-0.5 + i as f32 * 0.25, 0.01 + 0.003 * i as f32)).collect();
                let ostride = 32 * nblocks + 3;
                let mut want = vec![7f32; nq * ostride];
                for (i, (lut, &(sb, sa))) in luts.iter().zip(&fin).enumerate() {
                    let mut sums = vec![0u32; 32 * nblocks];
                    fs_reference(&lut[..32 * npairs], &codes, npairs, &mut sums);
                    for (o, &s) in want[i * ostride..].iter_mut().zip(&sums) {
                        *o = sb + (s as f32) * sa;
                    }
                }
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                let mut got = vec![7f32; nq * ostride];
                k::fastscan_scores_multi(&refs, &codes, npairs, &fin, &mut got, ostride);
                assert_eq!(bits(&got), bits(&want), "dispatched, {npairs} pairs, {nblocks} blocks, {nq} queries");
                for b in [Backend::Portable, Backend::Avx2, Backend::Avx512] {
                    let mut got = vec![7f32; nq * ostride];
                    if k::fastscan_scores_multi_on(b, &refs, &codes, npairs, &fin, &mut got, ostride).is_some() {
                        assert_eq!(bits(&got), bits(&want), "{b:?}, {npairs} pairs, {nblocks} blocks, {nq} queries");
                    }
                }
            }
        }
    }
    // Short tables or outputs: nothing is written.
    let lut = vec![1u8; 32];
    let codes = vec![0u8; 64];
    let mut out = vec![7f32; 40];
    k::fastscan_scores_multi(&[&lut, &lut[..16]], &codes, 1, &[(0.0, 1.0); 2], &mut out, 32);
    k::fastscan_scores_multi(&[&lut, &lut], &codes, 1, &[(0.0, 1.0); 2], &mut out, 64);
    assert!(out.iter().all(|&v| v == 7.0));
}

/// `score_layout_many` of fast-scan PQ (odd `M`, `n` not a multiple of 32) and of float PQ:
/// per query the bits of `score_layout`, and the multi-query top-k of the dynamic interface
/// equals the one-query top-k.
#[test]
fn score_layout_many_equals_score_layout_per_query() {
    use vector_codecs::dynamic::MANY_QUERIES;
    use vector_codecs::topk::TopK;
    let (d, n_train) = (21usize, 600usize);
    let data = gauss(n_train, d, 31);
    for (m, nbits, mode) in
        [(7usize, 4u32, ScanMode::I8), (3, 4, ScanMode::I8), (7, 8, ScanMode::Float), (7, 8, ScanMode::I8)]
    {
        let pq = ProductQuantizer::train(&data, d, m, nbits, &fast()).unwrap().with_scan(mode).unwrap();
        for n in [1usize, 31, 32, 33, 100, 257, 600] {
            let mut codes = vec![0u8; n * pq.code_len()];
            pq.encode_batch(&data[..n * d], &mut codes).unwrap();
            let (vb, bb) = pq.layout_block();
            let mut layout = vec![0u8; n.div_ceil(vb) * bb];
            pq.to_layout(&codes, &mut layout).unwrap();
            for nq in [1usize, 2, 4, 5, 9] {
                let qs = gauss(nq, d, 40 + nq as u64);
                let mut scratches: Vec<Vec<f32>> = (0..nq).map(|_| pq.scratch()).collect();
                let prepared: Vec<_> =
                    qs.chunks_exact(d).zip(scratches.iter_mut()).map(|(q, s)| pq.prepare(q, s).unwrap()).collect();
                let refs: Vec<_> = prepared.iter().collect();
                let mut got = vec![0f32; nq * n];
                pq.score_layout_many(&refs, &layout, n, &mut got).unwrap();
                for (i, q) in prepared.iter().enumerate() {
                    let mut want = vec![0f32; n];
                    pq.score_layout(q, &layout, &mut want).unwrap();
                    let gb: Vec<u32> = got[i * n..(i + 1) * n].iter().map(|f| f.to_bits()).collect();
                    let wb: Vec<u32> = want.iter().map(|f| f.to_bits()).collect();
                    assert_eq!(gb, wb, "M {m} nbits {nbits} {mode:?} n {n} query {i} of {nq}");
                }
                assert!(pq.score_layout_many(&refs, &layout, n, &mut got[1..]).is_err());
            }
            // The dynamic interface: multi-query top-k equals per-query top-k.
            let name = if mode == ScanMode::I8 && nbits == 4 { format!("PQ{m}x4fs") } else { format!("PQ{m}x{nbits}") };
            let dc =
                vector_codecs::factory::build(&name, d, vector_codecs::metric::Metric::InnerProduct, 5, &data).unwrap();
            let mut codes = vec![0u8; n * dc.code_len()];
            dc.encode_batch(&data[..n * d], &mut codes).unwrap();
            let lay = dc.layout(&codes).unwrap();
            // 11 queries: a full batch of MANY_QUERIES and a partial one.
            let qs = gauss(11, d, 77);
            let many = dc.scan_layout_topk_many(&qs, &lay, n, 10).unwrap();
            assert_eq!(many.len(), 11);
            for (q, got) in qs.chunks_exact(d).zip(&many) {
                assert_eq!(got, &dc.scan_layout_topk(q, &lay, n, 10).unwrap(), "{name} n {n}");
            }
            let mut short = vec![0f32; dc.query_scratch_len() * MANY_QUERIES - 1];
            let mut tops: Vec<TopK<16>> = (0..11).map(|_| TopK::new(10)).collect();
            if !short.is_empty() {
                assert!(dc.scan_layout_topk_many_into(&qs, &mut short, &lay, n, &mut tops).is_err());
            }
            assert!(dc.scan_layout_topk_many_into(&qs[1..], &mut short, &lay, n, &mut tops).is_err());
        }
    }
}
