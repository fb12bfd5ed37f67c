//! Binary codes: closed forms (1 − 2/π, monotone residual error, SimHash θ/π), exact agreement of
//! every popcount backend and of the Hamming / bit-sliced scores with naive references, scans,
//! serialization and bad input.

use proptest::prelude::*;
use vector_codecs::binary::kernels::{hamming_strided, weighted_hamming_strided};
use vector_codecs::binary::{
    self, BinaryCodec, BinaryConfig, CenteredBinary, PopcntBackend, ScaleFormat, bitsliced_and_dot,
    hamming_scan_topk_with, weighted_hamming,
};
use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::compose::Centered;
use vector_codecs::rng::Rng;
use vector_codecs::simd::reference;
use vector_codecs::topk::TopK;
use vector_codecs::{Codec, Decode, Error, Estimator, Score, ScoreSymmetric};

const LENGTHS: &[usize] = &[0, 1, 7, 8, 9, 16, 31, 32, 33, 48, 63, 64, 65, 96, 127, 128, 129, 192, 1023];

fn lengths() -> Vec<usize> {
    let mut r = Rng::new(11);
    let mut v = LENGTHS.to_vec();
    v.extend((0..12).map(|_| r.below(700) as usize));
    v
}

fn backends() -> Vec<PopcntBackend> {
    let all = [PopcntBackend::Scalar, PopcntBackend::Avx2, PopcntBackend::Avx512];
    let v: Vec<_> = all.into_iter().filter(|b| b.is_available()).collect();
    eprintln!("popcount backends tested: {v:?} (detected {:?})", PopcntBackend::detect());
    v
}

fn bytes(r: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| r.next_u32() as u8).collect()
}

fn gaussian(r: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| r.gaussian() as f32).collect()
}

fn bit(plane: &[u8], i: usize) -> bool {
    (plane[i / 8] >> (i % 8)) & 1 == 1
}

fn decode(c: &impl Decode, code: &[u8]) -> Vec<f32> {
    let mut y = vec![0.0; c.dim()];
    c.decode_into(code, &mut y).unwrap();
    y
}

fn encode(c: &impl Codec, x: &[f32]) -> Vec<u8> {
    let mut code = vec![0; c.code_len()];
    c.encode_into(x, &mut code).unwrap();
    code
}

fn dot64(a: &[f32], b: &[f32]) -> f64 {
    reference::dot(a, b)
}

// ---------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------

#[test]
fn every_backend_matches_reference_hamming_on_awkward_lengths() {
    let mut r = Rng::new(1);
    for be in backends() {
        for len in lengths() {
            for n in [0usize, 1, 3, 17] {
                let q = bytes(&mut r, len);
                // Strided windows with a gap and an offset, like stage t of multi-stage codes.
                for (stride, offset) in [(len, 0), (len + 5, 0), (len + 7, 3)] {
                    let codes = bytes(&mut r, n * stride);
                    let mut out = vec![u32::MAX; n];
                    if len == 0 && stride == 0 {
                        continue;
                    }
                    hamming_strided(be, &q, &codes, stride, offset, &mut out).unwrap();
                    for (i, &h) in out.iter().enumerate() {
                        let w = &codes[i * stride + offset..i * stride + offset + len];
                        assert_eq!(u64::from(h), reference::hamming(&q, w), "{be:?} len {len} i {i}");
                    }
                }
            }
        }
    }
}

#[test]
fn every_backend_matches_reference_weighted_hamming() {
    let mut r = Rng::new(2);
    for be in backends() {
        for nb in lengths().into_iter().filter(|&l| l > 0) {
            for nplanes in [1usize, 2, 4, 8] {
                let planes = bytes(&mut r, nplanes * nb);
                let n = 9;
                let stride = nb * 3 + 4;
                let codes = bytes(&mut r, n * stride);
                for offset in [0, nb, 2 * nb] {
                    let mut out = vec![0u32; n];
                    weighted_hamming_strided(be, &planes, nb, &codes, stride, offset, &mut out).unwrap();
                    for (i, &w) in out.iter().enumerate() {
                        let c = &codes[i * stride + offset..i * stride + offset + nb];
                        let want: u64 =
                            planes.chunks_exact(nb).enumerate().map(|(j, p)| reference::hamming(c, p) << j).sum();
                        assert_eq!(u64::from(w), want, "{be:?} nb {nb} B {nplanes}");
                    }
                }
            }
        }
    }
}

#[test]
fn contiguous_batch_wrappers_and_bad_geometry() {
    let mut r = Rng::new(30);
    let q = bytes(&mut r, 48);
    let codes = bytes(&mut r, 48 * 11);
    let mut out = vec![0u32; 11];
    binary::hamming_batch(&q, &codes, &mut out).unwrap();
    for (i, &h) in out.iter().enumerate() {
        assert_eq!(u64::from(h), reference::hamming(&q, &codes[48 * i..48 * (i + 1)]));
    }
    let planes = bytes(&mut r, 4 * 48);
    binary::weighted_hamming_batch(&planes, 48, &codes, &mut out).unwrap();
    for (i, &w) in out.iter().enumerate() {
        assert_eq!(u64::from(w), weighted_hamming(&codes[48 * i..48 * (i + 1)], &planes).unwrap());
    }
    for be in backends() {
        let mut o2 = vec![0u32; 11];
        binary::hamming_batch_with(be, &q, &codes, &mut o2).unwrap();
        binary::weighted_hamming_batch_with(be, &planes, 48, &codes, &mut o2).unwrap();
        assert_eq!(o2, out);
        // Wrong geometries are errors, never out-of-bounds reads.
        assert!(binary::hamming_batch_with(be, &q, &codes[1..], &mut o2).is_err());
        assert!(hamming_strided(be, &q, &codes, 48, 1, &mut o2).is_err());
        assert!(hamming_strided(be, &q, &codes, 47, 0, &mut o2).is_err());
        assert!(hamming_strided(be, &q, &codes[..48 * 10 + 47], 48, 0, &mut o2).is_err());
        assert!(weighted_hamming_strided(be, &planes[1..], 48, &codes, 48, 0, &mut o2).is_err());
        assert!(weighted_hamming_strided(be, &planes, 0, &codes, 48, 0, &mut o2).is_err());
        assert!(weighted_hamming_strided(be, &[0; 9 * 48], 48, &codes, 48, 0, &mut o2).is_err());
    }
    let mut t = TopK::<4>::new(2);
    assert!(binary::hamming_scan_topk(&q, &codes[1..], 0, &mut t).is_err());
    assert!(binary::hamming_scan_topk(&q, &codes[..48 * 2], u32::MAX, &mut t).is_err());
    assert!(binary::hamming_scan_topk(&q, &codes[..48], u32::MAX, &mut t).is_ok());
}

#[test]
fn dispatched_single_pair_kernels_match_reference() {
    let mut r = Rng::new(3);
    for len in lengths() {
        let a = bytes(&mut r, len);
        let b = bytes(&mut r, len);
        assert_eq!(vector_codecs::simd::popcount(&a), reference::popcount(&a));
        assert_eq!(vector_codecs::simd::hamming(&a, &b), reference::hamming(&a, &b));
        assert_eq!(vector_codecs::simd::and_popcount(&a, &b), reference::and_popcount(&a, &b));
        assert_eq!(u64::from(binary::hamming(&a, &b).unwrap()), reference::hamming(&a, &b));
    }
    assert!(matches!(binary::hamming(&[1, 2], &[1]), Err(Error::CodeLength { .. })));
}

#[test]
fn bitsliced_dot_is_the_naive_integer_dot_exactly() {
    let mut r = Rng::new(4);
    for d in [1usize, 7, 8, 9, 63, 64, 65, 384, 768, 1000] {
        let nb = d.div_ceil(8);
        for nbits in [1usize, 2, 4, 8] {
            let u: Vec<u32> = (0..d).map(|_| r.below(1 << nbits) as u32).collect();
            let b: Vec<bool> = (0..d).map(|_| r.next_u32() & 1 == 1).collect();
            let mut planes = vec![0u8; nbits * nb];
            let mut code = vec![0u8; nb];
            for i in 0..d {
                for j in 0..nbits {
                    if (u[i] >> j) & 1 == 1 {
                        planes[j * nb + i / 8] |= 1 << (i % 8);
                    }
                }
                if b[i] {
                    code[i / 8] |= 1 << (i % 8);
                }
            }
            let naive: u64 = (0..d).filter(|&i| b[i]).map(|i| u64::from(u[i])).sum();
            assert_eq!(bitsliced_and_dot(&code, &planes).unwrap(), naive, "d {d} bits {nbits}");
            // XOR form: Σ_j 2^j H(p_j, b) = Σ u + (2^B − 1)·popcount(b) − 2·Σ u_i b_i.
            let sum_u: u64 = u.iter().map(|&v| u64::from(v)).sum();
            let pc = b.iter().filter(|&&v| v).count() as u64;
            let w = weighted_hamming(&code, &planes).unwrap();
            assert_eq!(w + 2 * naive, sum_u + ((1 << nbits) - 1) * pc, "d {d} bits {nbits}");
        }
    }
    assert!(bitsliced_and_dot(&[0; 3], &[0; 7]).is_err());
}

// ---------------------------------------------------------------------------------------------
// Closed forms
// ---------------------------------------------------------------------------------------------

#[test]
fn encoding_sets_sign_bits_lsb_first() {
    let c = BinaryCodec::sign(10).unwrap();
    assert_eq!(c.code_len(), 2);
    let x = [1.0, -1.0, 0.0, -0.0, 3.0, 0.5, -2.0, 1e-30, -1e-30, 7.0];
    let code = encode(&c, &x);
    assert_eq!(code, [0b1011_0001, 0b0000_0010]);
    assert_eq!(decode(&c, &code), [1.0, -1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0]);
    assert_eq!(c.bits_per_dim(), 1.6);
    assert_eq!(BinaryCodec::sign(768).unwrap().bits_per_dim(), 1.0);
    // Residual codes count their f32 scales: 4 stages at d = 768 → 4 + 4·32/768 bits.
    let r4 = BinaryCodec::residual(768, 4).unwrap();
    assert_eq!(r4.code_len(), 4 * 96 + 16);
    assert!((r4.bits_per_dim() - (4.0 + 128.0 / 768.0)).abs() < 1e-12);
}

#[test]
fn one_stage_relative_error_on_gaussian_data_is_one_minus_two_over_pi() {
    let d = 1024;
    let n = 1500;
    let c = BinaryCodec::residual(d, 1).unwrap();
    let mut r = Rng::new(5);
    let mut sum = 0.0f64;
    for _ in 0..n {
        let x = gaussian(&mut r, d);
        let y = decode(&c, &encode(&c, &x));
        sum += reference::l2sq(&x, &y) / dot64(&x, &x);
    }
    let got = sum / n as f64;
    let want = 1.0 - 2.0 / std::f64::consts::PI;
    assert!((got / want - 1.0).abs() < 0.01, "relative error {got}, closed form {want}");
}

#[test]
fn residual_error_decreases_monotonically_with_the_closed_form_step() {
    let d = 300;
    let mut r = Rng::new(6);
    for v in 0..40 {
        // Gaussian, heavy-tailed and shifted vectors.
        let x: Vec<f32> = match v % 3 {
            0 => gaussian(&mut r, d),
            1 => (0..d).map(|_| (r.gaussian() as f32).powi(3)).collect(),
            _ => (0..d).map(|_| 2.0 + r.gaussian() as f32).collect(),
        };
        let mut prev = dot64(&x, &x);
        for t in 1..=8 {
            let c = BinaryCodec::residual(d, t).unwrap();
            let code = encode(&c, &x);
            let err = reference::l2sq(&x, &decode(&c, &code));
            // ‖r_t‖² = ‖r_{t−1}‖² − d·α_t², with α_t the stored scale of stage t.
            let off = c.bits_len() + 4 * (t - 1);
            let a = f64::from(f32::from_le_bytes(code[off..off + 4].try_into().unwrap()));
            let closed = prev - d as f64 * a * a;
            assert!((err - closed).abs() <= 1e-4 * dot64(&x, &x), "v {v} t {t}: {err} vs {closed}");
            assert!(err <= prev * (1.0 + 1e-6), "v {v} t {t}: error rose {prev} -> {err}");
            if t == 1 {
                assert!(err < prev, "v {v}: first stage must reduce the error");
            }
            prev = err;
        }
    }
}

#[test]
fn simhash_collision_rate_is_theta_over_pi() {
    // Bits of sign(G·x) and sign(G·y) for Gaussian hyperplanes G (one hyperplane per bit) differ
    // with probability θ/π. With K hyperplanes the count is Binomial(K, θ/π): allow 5 standard
    // deviations, √(K·p(1−p)).
    let d = 24;
    let k = 16_384;
    let mut r = Rng::new(7);
    let g: Vec<f32> = gaussian(&mut r, k * d);
    let codec = BinaryCodec::sign(k).unwrap();
    for target in [0.1f64, 0.5, 1.0, std::f64::consts::FRAC_PI_2, 2.5, 3.0] {
        let x = gaussian(&mut r, d);
        // y = cos θ·x̂ + sin θ·ê with ê ⟂ x̂, both unit.
        let nx = dot64(&x, &x).sqrt();
        let xh: Vec<f64> = x.iter().map(|&v| f64::from(v) / nx).collect();
        let z = gaussian(&mut r, d);
        let pz: f64 = z.iter().zip(&xh).map(|(&a, b)| f64::from(a) * b).sum();
        let e: Vec<f64> = z.iter().zip(&xh).map(|(&a, b)| f64::from(a) - pz * b).collect();
        let ne = e.iter().map(|v| v * v).sum::<f64>().sqrt();
        let y: Vec<f32> = xh.iter().zip(&e).map(|(a, b)| (target.cos() * a + target.sin() * b / ne) as f32).collect();
        let project = |v: &[f32]| -> Vec<f32> { g.chunks_exact(d).map(|row| dot64(row, v) as f32).collect() };
        let cx = encode(&codec, &project(&x));
        let cy = encode(&codec, &project(&y));
        let h = f64::from(binary::hamming(&cx, &cy).unwrap());
        let theta = (dot64(&x, &y) / (nx * dot64(&y, &y).sqrt())).clamp(-1.0, 1.0).acos();
        let p = theta / std::f64::consts::PI;
        let sd = (k as f64 * p * (1.0 - p)).sqrt();
        assert!((h - k as f64 * p).abs() <= 5.0 * sd + 1.0, "θ {theta}: {h} differing bits, expected {}", k as f64 * p);
    }
}

// ---------------------------------------------------------------------------------------------
// Scores against naive references
// ---------------------------------------------------------------------------------------------

/// Binary codecs, every one a `CenteredBinary` (the uncentred ones centred on 0, which adds an
/// exact `+ 0` to every score: the inner codec's own paths are what is checked).
fn codecs(d: usize, data: &[f32]) -> Vec<CenteredBinary<Vec<f32>>> {
    let zero = |c: BinaryCodec| Centered::new(c, vec![0.0; d]).unwrap();
    let mut v = vec![
        zero(BinaryCodec::sign(d).unwrap()),
        zero(BinaryCodec::sign(d).unwrap().with_shared_scale(0.37).unwrap()),
        BinaryCodec::train_centred(data, d, &binary::config("bin1-centred").unwrap()).unwrap(),
    ];
    for t in [1, 2, 3, 4, 8] {
        v.push(zero(BinaryCodec::residual(d, t).unwrap()));
        v.push(
            BinaryCodec::train_centred(data, d, &BinaryConfig { stages: t, centred: true, scales: ScaleFormat::F32 })
                .unwrap(),
        );
    }
    v
}

fn shifted_data(r: &mut Rng, n: usize, d: usize) -> Vec<f32> {
    // Non-negative-ish data with a per-dimension offset: what centring is for.
    (0..n * d).map(|i| 0.5 + 0.1 * (i % d) as f32 / d as f32 + 0.3 * r.gaussian() as f32).collect()
}

#[test]
fn float_query_score_is_the_inner_product_with_the_reconstruction() {
    let mut r = Rng::new(8);
    // 16,400 > 16,384 exercises the nibble-table path of the float query.
    for d in [1usize, 7, 8, 9, 65, 384, 16_400] {
        let data = shifted_data(&mut r, 50, d);
        for c in codecs(d, &data) {
            assert_eq!(c.estimator(), Estimator::Reconstruction);
            let nb = c.inner.plane_len();
            assert_eq!(c.query_scratch_len(), if nb <= 2048 { 256 * nb } else { 32 * nb });
            let q = gaussian(&mut r, d);
            let mut scratch = c.scratch();
            let pq = c.prepare(&q, &mut scratch).unwrap();
            let n = 20;
            let codes: Vec<u8> = data[..n * d].chunks_exact(d).flat_map(|x| encode(&c, x)).collect();
            let mut batch = vec![0.0; n];
            c.score_batch(&pq, &codes, &mut batch).unwrap();
            for (i, code) in codes.chunks_exact(c.code_len()).enumerate() {
                let want = dot64(&q, &decode(&c, code));
                let got = c.score(&pq, code).unwrap();
                let tol = 1e-4 * (1.0 + dot64(&q, &q).sqrt() * dot64(&decode(&c, code), &decode(&c, code)).sqrt());
                assert!((f64::from(got) - want).abs() <= tol, "d {d} T {}: {got} vs {want}", c.inner.stages());
                assert_eq!(batch[i], got);
            }
        }
    }
}

#[test]
fn symmetric_score_is_the_reconstruction_inner_product_including_t_by_u_stages() {
    let mut r = Rng::new(9);
    for d in [1usize, 9, 64, 100, 384] {
        let data = shifted_data(&mut r, 30, d);
        let cs = codecs(d, &data);
        for a in &cs {
            for b in &cs {
                let x = &data[..d];
                let y = &data[d..2 * d];
                let (ca, cb) = (encode(a, x), encode(b, y));
                let (xa, yb) = (decode(a, &ca), decode(b, &cb));
                let want = dot64(&xa, &yb);
                let got = a.score_codes_with(&ca, b, &cb).unwrap();
                let tol = 1e-4 * (1.0 + dot64(&xa, &xa).sqrt() * dot64(&yb, &yb).sqrt());
                assert!(
                    (f64::from(got) - want).abs() <= tol,
                    "d {d} T {} U {}: {got} vs {want}",
                    a.inner.stages(),
                    b.inner.stages()
                );
            }
            // Same codec: the trait, the pairwise and the batch scan agree bit for bit.
            let n = 25;
            let codes: Vec<u8> = data[..n * d].chunks_exact(d).flat_map(|x| encode(a, x)).collect();
            let q = encode(a, &data[(n + 1) * d..(n + 2) * d]);
            let mut out = vec![0.0; n];
            a.score_codes_batch(&q, &codes, &mut out).unwrap();
            for (i, code) in codes.chunks_exact(a.code_len()).enumerate() {
                assert_eq!(out[i], a.score_codes(&q, code).unwrap(), "d {d} T {} i {i}", a.inner.stages());
            }
        }
    }
}

#[test]
fn one_stage_symmetric_score_is_the_hamming_identity() {
    // ±1 codes: ⟨a, b⟩ = d − 2·H exactly.
    let mut r = Rng::new(10);
    for d in [1usize, 8, 13, 768] {
        let c = BinaryCodec::sign(d).unwrap();
        let x = gaussian(&mut r, d);
        let y = gaussian(&mut r, d);
        let (cx, cy) = (encode(&c, &x), encode(&c, &y));
        let h = c.hamming_codes(&cx, &cy).unwrap();
        assert_eq!(c.score_codes(&cx, &cy).unwrap(), d as f32 - 2.0 * h as f32);
        let naive = (0..d).filter(|&i| (x[i] > 0.0) != (y[i] > 0.0)).count() as u32;
        assert_eq!(h, naive);
    }
}

#[test]
fn bitsliced_score_equals_the_rounded_query_inner_product() {
    let mut r = Rng::new(12);
    for d in [1usize, 7, 8, 9, 65, 200, 384, 768] {
        let data = shifted_data(&mut r, 40, d);
        for c in codecs(d, &data) {
            let s = c.bitsliced();
            assert_eq!(s.estimator(), Estimator::Biased);
            let q = gaussian(&mut r, d);
            let mut scratch = s.scratch();
            let pq = s.prepare(&q, &mut scratch).unwrap();
            let bq = *pq.inner().as_bitsliced().expect("bit-sliced query");
            let nb = c.inner.plane_len();
            // Dequantize the planes: q̃_i = Δ·(u_i − 7.5), and check the rounding bound.
            let planes = bq.planes();
            assert_eq!(planes.len(), 4 * nb);
            let qt: Vec<f32> = (0..d)
                .map(|i| {
                    let u = (0..4).map(|j| u32::from(bit(&planes[j * nb..], i)) << j).sum::<u32>();
                    bq.delta() * (u as f32 - 7.5)
                })
                .collect();
            for i in 0..d {
                assert!((qt[i] - q[i]).abs() <= 0.5001 * bq.delta(), "rounding bound");
            }
            let mu = c.mean().to_vec();
            let n = 30;
            let codes: Vec<u8> = data[..n * d].chunks_exact(d).flat_map(|x| encode(&c, x)).collect();
            for be in backends() {
                let mut out = vec![0.0; n];
                // The inner batch kernel with this backend; `Centered` adds `⟨q, μ⟩` after it.
                s.inner.score_batch_with(be, pq.inner(), &codes, &mut out).unwrap();
                out.iter_mut().for_each(|o| *o += pq.q_mean());
                for (i, code) in codes.chunks_exact(c.code_len()).enumerate() {
                    let xh = decode(&c, code);
                    let res: Vec<f32> = xh.iter().zip(&mu).map(|(a, b)| a - b).collect();
                    let want = dot64(&qt, &res) + dot64(&q, &mu);
                    let single = s.score(&pq, code).unwrap();
                    let tol = 1e-4 * (1.0 + dot64(&qt, &qt).sqrt() * dot64(&xh, &xh).sqrt());
                    assert!(
                        (f64::from(single) - want).abs() <= tol,
                        "d {d} T {}: {single} vs {want}",
                        c.inner.stages()
                    );
                    assert_eq!(out[i], single, "{be:?}");
                }
            }
        }
    }
}

#[test]
fn scans_match_brute_force_top_k() {
    let mut r = Rng::new(13);
    let d = 96 * 8;
    let n = 3000;
    let data: Vec<f32> = gaussian(&mut r, n * d);
    let q = gaussian(&mut r, d);
    let sorted = |scores: &[f32], k: usize| {
        let mut all: Vec<(f32, u32)> = scores.iter().enumerate().map(|(i, &s)| (s, i as u32 + 7)).collect();
        all.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
        all.truncate(k);
        all
    };
    // Raw Hamming scan, every backend.
    let sign = BinaryCodec::sign(d).unwrap();
    let codes: Vec<u8> = data.chunks_exact(d).flat_map(|x| encode(&sign, x)).collect();
    let qc = encode(&sign, &q);
    let dist: Vec<f32> = codes.chunks_exact(sign.code_len()).map(|c| -(reference::hamming(&qc, c) as f32)).collect();
    for be in backends() {
        let mut t = TopK::<16>::new(10);
        hamming_scan_topk_with(be, &qc, &codes, 7, &mut t).unwrap();
        let mut out = [(0.0, 0); 16];
        let m = t.drain_sorted(&mut out);
        assert_eq!(&out[..m], &sorted(&dist, 10)[..], "{be:?}");
    }
    // Symmetric scan over 3-stage centred codes.
    let c3 = BinaryCodec::train_centred(&data[..100 * d], d, &binary::config("bin3-centred").unwrap()).unwrap();
    let codes3: Vec<u8> = data.chunks_exact(d).flat_map(|x| encode(&c3, x)).collect();
    let q3 = encode(&c3, &q);
    let mut sym = vec![0.0; n];
    c3.score_codes_batch(&q3, &codes3, &mut sym).unwrap();
    let mut t = TopK::<16>::new(10);
    c3.scan_codes_topk(&q3, &codes3, 7, &mut t).unwrap();
    let mut out = [(0.0, 0); 16];
    let m = t.drain_sorted(&mut out);
    assert_eq!(&out[..m], &sorted(&sym, 10)[..]);
    // Float-query and bit-sliced scans over residual codes.
    let c = BinaryCodec::residual(d, 2).unwrap();
    let codes: Vec<u8> = data.chunks_exact(d).flat_map(|x| encode(&c, x)).collect();
    let mut scratch = c.scratch();
    let pq = c.prepare(&q, &mut scratch).unwrap();
    let mut scores = vec![0.0; n];
    c.score_batch(&pq, &codes, &mut scores).unwrap();
    let mut t = TopK::<16>::new(10);
    c.scan_topk(&pq, &codes, 7, &mut t).unwrap();
    let mut out = [(0.0, 0); 16];
    let m = t.drain_sorted(&mut out);
    assert_eq!(&out[..m], &sorted(&scores, 10)[..]);
    let s = c.bitsliced();
    let mut scratch = s.scratch();
    let pq = s.prepare(&q, &mut scratch).unwrap();
    s.score_batch(&pq, &codes, &mut scores).unwrap();
    for be in backends() {
        let mut t = TopK::<16>::new(10);
        s.scan_topk_with(be, &pq, &codes, 7, &mut t).unwrap();
        let m = t.drain_sorted(&mut out);
        assert_eq!(&out[..m], &sorted(&scores, 10)[..], "{be:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters and bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn parameters_round_trip_and_configs_resolve() {
    let mut r = Rng::new(14);
    let d = 33;
    let data = shifted_data(&mut r, 20, d);
    for name in binary::CONFIG_NAMES {
        let cfg = binary::config(name).unwrap();
        if cfg.centred {
            assert!(BinaryCodec::train(&data, d, &cfg).is_err(), "{name}: centred is CenteredBinary");
            let c = BinaryCodec::train_centred(&data, d, &cfg).unwrap();
            let bytes = c.to_bytes().unwrap();
            let back = CenteredBinary::from_bytes(&bytes).unwrap();
            assert_eq!(back, c, "{name}");
            assert_eq!(encode(&back, &data[..d]), encode(&c, &data[..d]));
            assert!(BinaryCodec::from_bytes(&bytes).is_err(), "{name}: other kind");
        } else {
            assert!(BinaryCodec::train_centred(&data, d, &cfg).is_err(), "{name}: uncentred is BinaryCodec");
            let c = BinaryCodec::train(&data, d, &cfg).unwrap();
            let bytes = c.to_bytes().unwrap();
            let back = BinaryCodec::from_bytes(&bytes).unwrap();
            assert_eq!(back, c, "{name}");
            assert_eq!(encode(&back, &data[..d]), encode(&c, &data[..d]));
            assert!(CenteredBinary::from_bytes(&bytes).is_err(), "{name}: other kind");
        }
    }
    let c1 = BinaryCodec::train(&data, d, &binary::config("bin1").unwrap()).unwrap();
    assert_eq!(c1.code_len(), 5);
    // The shared scale is the mean |x|; centred, the mean |x − μ| with μ the column means.
    let want = data.iter().map(|v| f64::from(v.abs())).sum::<f64>() / data.len() as f64;
    assert!((f64::from(c1.shared_scale()) - want).abs() < 1e-5);
    let cc = BinaryCodec::train_centred(&data, d, &binary::config("bin1-centred").unwrap()).unwrap();
    let mu: Vec<f64> =
        (0..d).map(|j| data.iter().skip(j).step_by(d).map(|&v| f64::from(v)).sum::<f64>() / 20.0).collect();
    assert!(cc.mean().iter().zip(&mu).all(|(&a, &b)| (f64::from(a) - b).abs() < 1e-6));
    let want = data.iter().enumerate().map(|(i, &v)| (f64::from(v) - mu[i % d]).abs()).sum::<f64>() / data.len() as f64;
    assert!((f64::from(cc.inner.shared_scale()) - want).abs() < 1e-5);
    assert_eq!(binary::config("bin4").unwrap().stages, 4);
    assert_eq!(binary::config("bin3-centred").unwrap().stages, 3);
    for bad in ["bin0", "bin9", "bin", "bin1-centered", "pq4", "bin-1", "nope"] {
        assert!(binary::config(bad).is_none(), "{bad}");
    }
}

#[test]
fn centring_separates_non_negative_data() {
    // ReLU-like features: all positive, so uncentred sign codes collapse to all ones.
    let mut r = Rng::new(15);
    let d = 64;
    let data: Vec<f32> = (0..200 * d).map(|_| (r.gaussian() as f32).abs() + 0.01).collect();
    let plain = BinaryCodec::sign(d).unwrap();
    let centred = BinaryCodec::train_centred(&data, d, &binary::config("bin1-centred").unwrap()).unwrap();
    let a = encode(&plain, &data[..d]);
    let b = encode(&plain, &data[d..2 * d]);
    assert_eq!(plain.hamming_codes(&a, &b).unwrap(), 0);
    assert!(a.iter().all(|&v| v == 0xFF));
    let a = encode(&centred, &data[..d]);
    let b = encode(&centred, &data[d..2 * d]);
    assert!(centred.hamming_codes(&a, &b).unwrap() > 10);
}

#[test]
fn bad_input_is_an_error() {
    let c = BinaryCodec::residual(10, 2).unwrap();
    let mut code = vec![0u8; c.code_len()];
    let mut x = vec![0.5f32; 10];
    x[3] = f32::NAN;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    x[3] = f32::INFINITY;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    x[3] = 1.0;
    assert!(matches!(c.encode_into(&x[..9], &mut code), Err(Error::DimensionMismatch { .. })));
    assert!(matches!(c.encode_into(&x, &mut code[..5]), Err(Error::CodeLength { .. })));
    c.encode_into(&x, &mut code).unwrap();
    let mut y = vec![0.0f32; 10];
    assert!(matches!(c.decode_into(&code[1..], &mut y), Err(Error::CodeLength { .. })));
    assert!(matches!(c.decode_into(&code, &mut y[1..]), Err(Error::DimensionMismatch { .. })));
    // Corrupt scales and padding bits.
    for bad in [f32::NAN, f32::INFINITY, -1.0] {
        let mut b = code.clone();
        b[4..8].copy_from_slice(&bad.to_le_bytes());
        assert!(matches!(c.decode_into(&b, &mut y), Err(Error::Corrupt(_))));
        assert!(matches!(c.score_codes(&b, &code), Err(Error::Corrupt(_))));
    }
    let mut b = code.clone();
    b[1] |= 0x80; // bit 15 of plane 0 is padding for d = 10
    assert!(matches!(c.decode_into(&b, &mut y), Err(Error::Corrupt(_))));
    let mut scratch = c.scratch();
    let q = c.prepare(&[1.0; 10], &mut scratch).unwrap();
    assert!(matches!(c.score(&q, &b), Err(Error::Corrupt(_))));
    let mut out = [0.0f32; 2];
    let two = [code.clone(), b.clone()].concat();
    assert!(c.score_batch(&q, &two, &mut out).is_err());
    assert!(
        c.bitsliced().score_batch(&c.bitsliced().prepare(&[1.0; 10], &mut [0.0; 2]).unwrap(), &two, &mut out).is_err()
    );
    assert!(matches!(c.score_batch(&q, &two[1..], &mut out), Err(Error::CodeLength { .. })));
    // Queries.
    let mut scratch = c.scratch();
    assert_eq!(c.prepare(&[f32::NAN; 10], &mut scratch).err(), Some(Error::NonFinite));
    assert!(matches!(c.prepare(&[1.0; 9], &mut scratch).err(), Some(Error::DimensionMismatch { .. })));
    assert!(matches!(c.prepare(&[1.0; 10], &mut scratch[..3]).err(), Some(Error::BufferTooSmall { .. })));
    assert_eq!(c.bitsliced().prepare(&[f32::NAN; 10], &mut [0.0; 2]).err(), Some(Error::NonFinite));
    // Parameters.
    assert!(BinaryCodec::sign(0).is_err());
    assert!(BinaryCodec::residual(8, 0).is_err());
    assert!(BinaryCodec::residual(8, 9).is_err());
    assert!(BinaryCodec::new(8, 2, ScaleFormat::Shared, 1.0).is_err());
    assert!(BinaryCodec::new(8, 1, ScaleFormat::Shared, f32::NAN).is_err());
    assert!(Centered::new(BinaryCodec::sign(8).unwrap(), &[0.0; 7][..]).is_err());
    assert_eq!(Centered::new(BinaryCodec::sign(2).unwrap(), &[0.0, f32::NAN][..]).err(), Some(Error::NonFinite));
    let cfg = binary::config("bin2").unwrap();
    assert!(BinaryCodec::train(&[], 4, &cfg).is_err());
    assert!(BinaryCodec::train(&[1.0; 7], 4, &cfg).is_err());
    assert_eq!(BinaryCodec::train(&[1.0, f32::NAN, 0.0, 0.0], 4, &cfg).err(), Some(Error::NonFinite));
    // Zero query and zero vectors give finite scores.
    let z = encode(&c, &[0.0; 10]);
    assert_eq!(decode(&c, &z), vec![0.0; 10]);
    let s = c.bitsliced();
    let mut sc = s.scratch();
    let pz = s.prepare(&[0.0; 10], &mut sc).unwrap();
    assert_eq!(s.score(&pz, &code).unwrap(), 0.0);
}

#[test]
fn corrupt_parameter_bytes_are_errors() {
    let mut r = Rng::new(16);
    let d = 5;
    let data = shifted_data(&mut r, 10, d);
    let bytes =
        BinaryCodec::train_centred(&data, d, &binary::config("bin1-centred").unwrap()).unwrap().to_bytes().unwrap();
    for cut in 0..bytes.len() {
        assert!(CenteredBinary::from_bytes(&bytes[..cut]).is_err());
    }
    for i in 0..bytes.len() {
        for b in 0..8 {
            let mut x = bytes.clone();
            x[i] ^= 1 << b;
            assert!(CenteredBinary::from_bytes(&x).is_err(), "flip {i}.{b}");
        }
    }
    // Valid container, invalid fields (checksum recomputed by the writer): dim, stages, scale
    // format, shared scale, scan mode, then any trailing bytes.
    let fields = |w: &mut vector_codecs::format::Writer, dim: u32, stages: u8, fmt: u8, scale: f32, mode: u8| {
        w.u32(dim).u8(stages).u8(fmt).f32(scale).u8(mode);
    };
    let field = |dim: u32, stages: u8, fmt: u8, scale: f32, mode: u8, trailing: &[u8]| {
        let mut w = vector_codecs::format::Writer::new(binary::KIND);
        fields(&mut w, dim, stages, fmt, scale, mode);
        w.bytes(trailing);
        BinaryCodec::from_bytes(&w.finish().unwrap())
    };
    // The centred container: `u32 n`, the mean, then the fields of a 4-dim one-stage codec.
    let centred = |n: u32, mean: &[f32]| {
        let mut w = vector_codecs::format::Writer::new(binary::CENTRED_KIND);
        w.u32(n).f32s(mean);
        fields(&mut w, 4, 1, 0, 1.0, 0);
        CenteredBinary::from_bytes(&w.finish().unwrap())
    };
    // The scan mode byte: 0 float, 1 bit-sliced, nothing else.
    assert_eq!(field(4, 1, 0, 1.0, 0, &[]).unwrap().scan_mode(), ScanMode::Float);
    assert_eq!(field(4, 1, 0, 1.0, 1, &[]).unwrap().scan_mode(), ScanMode::Bitsliced);
    assert!(field(4, 1, 0, 1.0, 2, &[]).is_err());
    let bs =
        BinaryCodec::train(&data, d, &binary::config("bin4").unwrap()).unwrap().with_scan(ScanMode::Bitsliced).unwrap();
    let back = BinaryCodec::from_bytes(&bs.to_bytes().unwrap()).unwrap();
    assert_eq!(back, bs);
    assert_eq!(back.estimator(), Estimator::Biased);
    assert!(back.with_scan(ScanMode::I8).is_err());
    assert_eq!(back.with_scan(ScanMode::Float).unwrap().estimator(), Estimator::Reconstruction);
    assert!(field(4, 1, 0, 1.0, 0, &[]).is_ok());
    assert!(field(0, 1, 0, 1.0, 0, &[]).is_err());
    assert!(field(u32::MAX, 1, 0, 1.0, 0, &[]).is_err());
    assert!(field(4, 0, 1, 1.0, 0, &[]).is_err());
    assert!(field(4, 9, 1, 1.0, 0, &[]).is_err());
    assert!(field(4, 2, 0, 1.0, 0, &[]).is_err());
    assert!(field(4, 1, 2, 1.0, 0, &[]).is_err());
    assert!(field(4, 1, 0, -1.0, 0, &[]).is_err());
    assert!(field(4, 1, 0, f32::NAN, 0, &[]).is_err());
    assert!(field(4, 1, 0, 1.0, 0, &[0]).is_err()); // trailing payload
    assert!(centred(4, &[0.0, 1.0, -2.0, 3.0]).is_ok());
    assert!(centred(3, &[0.0; 3]).is_err()); // mean length is not the dimension
    assert!(centred(4, &[0.0, 0.0, f32::INFINITY, 0.0]).is_err());
    assert!(centred(1 << 24, &[]).is_err()); // lying mean length: no allocation
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn prop_backends_agree_with_reference(
        len in 0usize..300,
        n in 0usize..6,
        gap in 0usize..9,
        seed in any::<u64>(),
    ) {
        let mut r = Rng::new(seed);
        let q = bytes(&mut r, len);
        let stride = len + gap;
        let codes = bytes(&mut r, n * stride);
        let planes = bytes(&mut r, 4 * len);
        for be in backends() {
            let mut h = vec![0u32; n];
            hamming_strided(be, &q, &codes, stride, 0, &mut h).unwrap();
            let mut w = vec![0u32; n];
            if len > 0 {
                weighted_hamming_strided(be, &planes, len, &codes, stride, 0, &mut w).unwrap();
            }
            for i in 0..n {
                let c = &codes[i * stride..i * stride + len];
                prop_assert_eq!(u64::from(h[i]), reference::hamming(&q, c));
                if len > 0 {
                    let want: u64 = planes.chunks_exact(len).enumerate().map(|(j, p)| reference::hamming(c, p) << j).sum();
                    prop_assert_eq!(u64::from(w[i]), want);
                }
            }
        }
    }

    #[test]
    fn prop_decode_reencodes_and_scores_agree(
        d in 1usize..80,
        t in 1usize..=8,
        seed in any::<u64>(),
        scale in 0.01f32..100.0,
    ) {
        let mut r = Rng::new(seed);
        let c = BinaryCodec::residual(d, t).unwrap();
        let x: Vec<f32> = (0..d).map(|_| scale * r.gaussian() as f32).collect();
        let code = encode(&c, &x);
        let y = decode(&c, &code);
        // Stage-1 bits of the reconstruction agree with those of x; error ≤ ‖x‖².
        let c1 = BinaryCodec::sign(d).unwrap();
        let (s1, sy) = (encode(&c1, &x), encode(&c1, &y));
        let nonzero = x.iter().all(|v| v.abs() > 1e-3 * scale);
        if nonzero && t == 1 {
            prop_assert_eq!(s1, sy);
        }
        prop_assert!(reference::l2sq(&x, &y) <= dot64(&x, &x) * (1.0 + 1e-5));
        // Self inner product via Hamming equals ‖x̂‖².
        let s = f64::from(c.score_codes(&code, &code).unwrap());
        let n2 = dot64(&y, &y);
        prop_assert!((s - n2).abs() <= 1e-4 * (1.0 + n2));
    }
}

/// The float scan's batch path (four codes at a time for one-stage codes in the `Byte` layout)
/// gives exactly the per-code scores, for every count of codes and awkward dimensions, in every
/// layout and with several stages.
#[test]
fn float_batch_scores_equal_per_code_scores() {
    use vector_codecs::binary::FloatLayout;
    let mut rng = vector_codecs::rng::Rng::new(77);
    for d in [5usize, 13, 32, 100, 257] {
        let data: Vec<f32> = (0..40 * d).map(|_| rng.gaussian() as f32).collect();
        for (stages, centred) in [(1usize, false), (1, true), (2, false)] {
            let scales = if stages == 1 { ScaleFormat::Shared } else { ScaleFormat::F32 };
            // Uncentred codecs centred on 0: the inner batch kernels, plus an exact `+ 0`.
            let base = if centred {
                BinaryCodec::train_centred(&data, d, &BinaryConfig { stages, centred, scales }).unwrap()
            } else {
                let c = BinaryCodec::train(&data, d, &BinaryConfig { stages, centred, scales }).unwrap();
                Centered::new(c, vec![0.0; d]).unwrap()
            };
            for layout in [FloatLayout::Byte, FloatLayout::Nibble, FloatLayout::Direct] {
                let c = base.clone().with_float_layout(layout);
                let mut codes = vec![0u8; 40 * c.code_len()];
                c.encode_batch(&data, &mut codes).unwrap();
                let q: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
                let mut scratch = c.scratch();
                let p = c.prepare(&q, &mut scratch).unwrap();
                for n in [0usize, 1, 3, 4, 5, 8, 9, 40] {
                    let mut out = vec![f32::NAN; n];
                    c.score_batch(&p, &codes[..n * c.code_len()], &mut out).unwrap();
                    for (i, &o) in out.iter().enumerate() {
                        let one = c.score(&p, &codes[i * c.code_len()..(i + 1) * c.code_len()]).unwrap();
                        assert_eq!(o.to_bits(), one.to_bits(), "d {d} stages {stages} {layout:?} n {n} code {i}");
                    }
                }
            }
        }
    }
}
