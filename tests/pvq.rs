//! Pyramid VQ: SPECS §5 counts, ordering vectors, bijection, overflow limits, search
//! invariants, codec round trips, rate–distortion on Gaussian data.

use vector_codecs::pvq::count::{PulseTable, index_bits, log2_v};
use vector_codecs::pvq::{GainQuantizer, IndexCoding, PvqCodec, Search, cwrsi, icwrs, u_count, v_count};
use vector_codecs::rng::Rng;
use vector_codecs::{Codec, Decode, Error, Score};

#[test]
fn v_table_matches_specs() {
    let table: [[u64; 7]; 6] = [
        [1, 2, 2, 2, 2, 2, 2],
        [1, 4, 8, 12, 16, 20, 24],
        [1, 6, 18, 38, 66, 102, 146],
        [1, 8, 32, 88, 192, 360, 608],
        [1, 10, 50, 170, 450, 1002, 1970],
        [1, 12, 72, 292, 912, 2364, 5336],
    ];
    for (n, row) in table.iter().enumerate() {
        for (k, &v) in row.iter().enumerate() {
            assert_eq!(v_count::<u64>(n as u32 + 1, k as u32), Ok(v), "V({}, {k})", n + 1);
            assert_eq!(v_count::<u32>(n as u32 + 1, k as u32), Ok(v as u32));
            assert_eq!(v_count::<u128>(n as u32 + 1, k as u32), Ok(v as u128));
        }
    }
    assert_eq!(v_count::<u32>(0, 0), Ok(1));
    assert_eq!(v_count::<u32>(0, 3), Ok(0));
    assert_eq!(v_count::<u32>(9, 9), Ok(864_146));
    assert_eq!(u_count::<u32>(9, 9), Ok(265_729));
    assert_eq!(u_count::<u64>(14, 14), Ok(1_409_933_619));
    assert_eq!(u_count::<u32>(14, 14), Ok(1_409_933_619));
}

#[test]
fn closed_forms_and_identities() {
    for k in 0..60u64 {
        let kk = k as u32;
        if k > 0 {
            assert_eq!(v_count::<u64>(2, kk).unwrap(), 4 * k);
            assert_eq!(v_count::<u64>(3, kk).unwrap(), 4 * k * k + 2);
            assert_eq!(u_count::<u64>(2, kk).unwrap(), 2 * k - 1);
            assert_eq!(u_count::<u64>(3, kk).unwrap(), 2 * k * k - 2 * k + 1);
        }
        if k > 0 {
            assert_eq!(v_count::<u64>(4, kk).unwrap(), 8 * k * (k * k + 2) / 3);
            assert_eq!(v_count::<u64>(5, kk).unwrap(), ((4 * k * k + 20) * k * k + 6) / 3);
        }
    }
    // Recurrence, symmetry of U, V = U(N,K) + U(N,K+1), against a naive table.
    let mut v = [[0u128; 40]; 40];
    for row in v.iter_mut() {
        row[0] = 1;
    }
    for n in 1..40 {
        for k in 1..40 {
            v[n][k] = v[n - 1][k] + v[n][k - 1] + v[n - 1][k - 1];
        }
    }
    for n in 0..39u32 {
        for k in 0..39u32 {
            assert_eq!(v_count::<u128>(n, k).unwrap(), v[n as usize][k as usize]);
            assert_eq!(u_count::<u128>(n, k).unwrap(), u_count::<u128>(k, n).unwrap());
            if n > 0 {
                assert_eq!(
                    v_count::<u128>(n, k).unwrap(),
                    u_count::<u128>(n, k).unwrap() + u_count::<u128>(n, k + 1).unwrap()
                );
            }
        }
    }
}

#[test]
fn overflow_limits_are_exact() {
    // (N, largest K with V ≤ 2^32 − 1, largest K with V ≤ 2^64 − 1), SPECS §5.
    let limits: &[(u32, u32, u32)] = &[
        (2, 1_073_741_823, (1u64 << 62) as u32), // u64 limit checked separately
        (3, 32767, 2_147_483_647),
        (4, 1172, 1_905_389),
        (5, 238, 60988),
        (6, 95, 8086),
        (7, 53, 2167),
        (8, 36, 865),
        (9, 27, 441),
        (10, 22, 265),
        (12, 16, 129),
        (16, 12, 58),
        (24, 9, 30),
        (32, 7, 22),
        (48, 6, 17),
        (64, 5, 14),
        (96, 5, 12),
        (128, 4, 11),
        (176, 4, 10),
        (208, 4, 9),
        (256, 4, 9),
    ];
    for &(n, k32, k64) in limits {
        assert!(v_count::<u32>(n, k32).is_ok(), "N={n} K={k32}");
        assert_eq!(v_count::<u32>(n, k32 + 1), Err(Error::Overflow), "N={n} K={}", k32 + 1);
        if n > 2 {
            assert!(v_count::<u64>(n, k64).is_ok(), "N={n} K={k64}");
            assert_eq!(v_count::<u64>(n, k64 + 1), Err(Error::Overflow));
            // u128 gives the exact value past the u64 limit.
            assert!(v_count::<u128>(n, k64 + 1).unwrap() > u128::from(u64::MAX));
        }
    }
    // N = 2: V = 4K ≤ 2^64 − 1 ⇔ K ≤ 2^62 − 1, beyond u32 K: check with the largest u32 K.
    assert_eq!(v_count::<u64>(2, u32::MAX), Ok(4 * u64::from(u32::MAX)));
    assert_eq!(v_count::<u32>(2, 1 << 30), Err(Error::Overflow));
    // U overflows exactly where its value passes the type, not where V(N,K) does.
    assert_eq!(u_count::<u32>(14, 14), Ok(1_409_933_619));
    assert!(v_count::<u32>(14, 14).is_err());
    // Table construction refuses what does not fit.
    assert_eq!(PulseTable::<u32>::new(8, 37).err(), Some(Error::Overflow));
    assert!(PulseTable::<u32>::new(8, 36).is_ok());
}

#[test]
fn log2_and_bits() {
    let cases = [((8, 8), 17.26), ((16, 16), 37.11), ((32, 8), 32.74), ((128, 64), 217.75)];
    for ((n, k), want) in cases {
        assert!((log2_v(n, k) - want).abs() < 0.006, "log2 V({n},{k}) = {}", log2_v(n, k));
    }
    assert_eq!(index_bits(2, 1).unwrap(), 2);
    assert_eq!(index_bits(9, 9).unwrap(), 20);
}

#[test]
fn opus_order_vectors() {
    let n2k1 = [[1, 0], [0, 1], [0, -1], [-1, 0]];
    for (i, y) in n2k1.iter().enumerate() {
        assert_eq!(icwrs::<u32>(y).unwrap(), i as u32);
        let mut back = [0; 2];
        cwrsi::<u32>(1, i as u32, &mut back).unwrap();
        assert_eq!(&back, y);
    }
    let n2k2 = [[2, 0], [1, 1], [1, -1], [0, 2], [0, -2], [-2, 0], [-1, 1], [-1, -1]];
    for (i, y) in n2k2.iter().enumerate() {
        assert_eq!(icwrs::<u64>(y).unwrap(), i as u64);
    }
    assert_eq!(icwrs::<u32>(&[3, 0, 0, 0]).unwrap(), 0);
    assert_eq!(icwrs::<u32>(&[-3, 0, 0, 0]).unwrap(), 63);
    assert_eq!(icwrs::<u32>(&[0, 0, 0, -3]).unwrap(), 44);
    assert_eq!(icwrs::<u32>(&[1, -1, 0, 1]).unwrap(), 22);
}

/// Every point of P(n, k), by brute force.
fn all_points(n: usize, k: i32, prefix: &mut Vec<i32>, out: &mut Vec<Vec<i32>>) {
    if prefix.len() == n - 1 {
        let used: i32 = prefix.iter().map(|v| v.abs()).sum();
        let r = k - used;
        for last in if r == 0 { vec![0] } else { vec![r, -r] } {
            let mut p = prefix.clone();
            p.push(last);
            out.push(p);
        }
        return;
    }
    let used: i32 = prefix.iter().map(|v| v.abs()).sum();
    for v in -(k - used)..=(k - used) {
        prefix.push(v);
        all_points(n, k, prefix, out);
        prefix.pop();
    }
}

#[test]
fn exhaustive_bijection() {
    for &(n, k) in &[(1, 3), (2, 5), (3, 4), (4, 3), (5, 4), (8, 3), (6, 6)] {
        let mut pts = Vec::new();
        all_points(n, k as i32, &mut Vec::new(), &mut pts);
        let v = v_count::<u64>(n as u32, k).unwrap();
        assert_eq!(pts.len() as u64, v);
        let table = PulseTable::<u64>::new(n as u32, k).unwrap();
        let mut seen = vec![false; v as usize];
        for p in &pts {
            let i = icwrs::<u64>(p).unwrap();
            assert!(i < v);
            assert!(!seen[i as usize], "duplicate index {i}");
            seen[i as usize] = true;
            assert_eq!(table.index(p).unwrap(), i);
            assert_eq!(icwrs::<u128>(p).unwrap(), u128::from(i));
            let mut back = vec![0; n];
            let yy = cwrsi::<u64>(k, i, &mut back).unwrap();
            assert_eq!(&back, p);
            assert_eq!(yy, p.iter().map(|&v| (v * v) as u64).sum::<u64>());
            let mut back2 = vec![0; n];
            table.decode(k, i, &mut back2).unwrap();
            assert_eq!(&back2, p);
        }
        // Indexes at and past V are refused.
        let mut y = vec![0; n];
        assert_eq!(cwrsi::<u64>(k, v, &mut y), Err(Error::Corrupt("pvq index >= V(N, K)")));
        assert!(table.decode(k, v, &mut y).is_err());
        assert!(table.decode(k + 1, 0, &mut y).is_err());
    }
}

#[test]
fn large_indexes_round_trip() {
    // N = 128, K = 64 needs u128 (217.75 bits is too many: u128 refuses it).
    assert_eq!(v_count::<u128>(128, 64), Err(Error::Overflow));
    let mut rng = Rng::new(5);
    for &(n, k) in &[(32usize, 22u32), (16, 58), (64, 20), (96, 12)] {
        let table = PulseTable::<u128>::new(n as u32, k).unwrap();
        for _ in 0..50 {
            let x: Vec<f32> = (0..n).map(|_| rng.gaussian() as f32).collect();
            let mut y = vec![0; n];
            Search::Greedy.run(&x, k, &mut y).unwrap();
            let i = icwrs::<u128>(&y).unwrap();
            assert_eq!(table.index(&y).unwrap(), i);
            let mut back = vec![0; n];
            cwrsi::<u128>(k, i, &mut back).unwrap();
            assert_eq!(back, y);
        }
    }
}

#[test]
fn search_places_exactly_k_pulses() {
    let mut rng = Rng::new(1);
    for trial in 0..400 {
        let n = 1 + (trial % 37);
        let k = (trial * 7 % 50) as u32;
        let x: Vec<f32> = (0..n)
            .map(|j| match trial % 5 {
                0 => rng.gaussian() as f32,
                1 => {
                    if j == 0 {
                        1e-30
                    } else {
                        0.0
                    }
                }
                2 => (rng.gaussian() * 1e30) as f32,
                3 => {
                    if j % 3 == 0 {
                        rng.gaussian() as f32
                    } else {
                        0.0
                    }
                }
                _ => (rng.gaussian() * 1e-30) as f32,
            })
            .collect();
        for search in [Search::Greedy, Search::Refined] {
            let mut y = vec![0; n];
            let yy = search.run(&x, k, &mut y).unwrap();
            assert_eq!(y.iter().map(|v| v.unsigned_abs()).sum::<u32>(), k, "{search:?} n={n} k={k}");
            assert_eq!(yy, y.iter().map(|&v| (v * v) as u64).sum::<u64>());
            for (a, b) in x.iter().zip(&y) {
                assert!(*b == 0 || (*a < 0.0) == (*b < 0), "sign follows x");
            }
        }
    }
    let mut y = [0; 3];
    assert_eq!(Search::Greedy.run(&[f32::NAN, 0.0, 1.0], 3, &mut y), Err(Error::NonFinite));
    assert!(Search::Greedy.run(&[1.0, 0.0], 3, &mut y).is_err());
    Search::Greedy.run(&[0.0; 3], 4, &mut y).unwrap();
    assert_eq!(y, [4, 0, 0]);
}

fn cosine(x: &[f32], y: &[i32]) -> f64 {
    let xy: f64 = x.iter().zip(y).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
    let xx: f64 = x.iter().map(|&a| f64::from(a) * f64::from(a)).sum();
    let yy: f64 = y.iter().map(|&b| f64::from(b) * f64::from(b)).sum();
    xy / (xx * yy).sqrt()
}

#[test]
fn refined_search_is_never_worse_and_brute_force_bound() {
    let mut rng = Rng::new(3);
    for _ in 0..200 {
        let (n, k) = (4usize, 5u32);
        let x: Vec<f32> = (0..n).map(|_| rng.gaussian() as f32).collect();
        let (mut g, mut r) = (vec![0; n], vec![0; n]);
        Search::Greedy.run(&x, k, &mut g).unwrap();
        Search::Refined.run(&x, k, &mut r).unwrap();
        let (cg, cr) = (cosine(&x, &g), cosine(&x, &r));
        assert!(cr >= cg - 1e-12);
        // Brute force over P(4, 5): nothing beats the optimum; refined is at most it.
        let v = v_count::<u64>(4, 5).unwrap();
        let mut best = -1.0f64;
        let mut y = vec![0; n];
        for i in 0..v {
            cwrsi::<u64>(k, i, &mut y).unwrap();
            best = best.max(cosine(&x, &y));
        }
        assert!(cr <= best + 1e-12);
    }
}

fn gaussian(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.gaussian() as f32).collect()
}

fn rel_mse(codec: &PvqCodec, data: &[f32]) -> f64 {
    let d = codec.dim();
    let mut code = vec![0u8; codec.code_len()];
    let mut out = vec![0f32; d];
    let (mut err, mut en) = (0.0f64, 0.0f64);
    for x in data.chunks_exact(d) {
        codec.encode_into(x, &mut code).unwrap();
        codec.decode_into(&code, &mut out).unwrap();
        for (a, b) in x.iter().zip(&out) {
            err += f64::from(a - b).powi(2);
            en += f64::from(*a).powi(2);
        }
    }
    err / en
}

#[test]
fn codec_round_trip_and_score() {
    let d = 100;
    let data = gaussian(d * 30, 9);
    for coding in [IndexCoding::Fixed, IndexCoding::Range] {
        let gain = GainQuantizer::default_for(5, d, 8).unwrap();
        let codec = PvqCodec::for_rate(d, 8, 3.25, gain, coding, Search::Greedy).unwrap();
        assert!(codec.bits_per_dim() <= 3.25, "{}", codec.bits_per_dim());
        let mut code = vec![0u8; codec.code_len()];
        let mut out = vec![0f32; d];
        let mut scratch = codec.scratch();
        let q = gaussian(d, 77);
        let prepared = codec.prepare(&q, &mut scratch).unwrap();
        for x in data.chunks_exact(d) {
            codec.encode_into(x, &mut code).unwrap();
            codec.decode_into(&code, &mut out).unwrap();
            let direct: f32 = q.iter().zip(&out).map(|(a, b)| a * b).sum();
            let s = codec.score(&prepared, &code).unwrap();
            assert!((s - direct).abs() <= 1e-4 * (1.0 + direct.abs()), "{s} vs {direct}");
        }
        // Zero vector decodes to zero.
        codec.encode_into(&vec![0.0; d], &mut code).unwrap();
        codec.decode_into(&code, &mut out).unwrap();
        assert!(out.iter().all(|&v| v == 0.0));
        // Bad input.
        assert_eq!(codec.encode_into(&vec![f32::NAN; d], &mut code), Err(Error::NonFinite));
        assert!(codec.decode_into(&code[1..], &mut out).is_err());
        let mut bad = code.clone();
        bad[..2].copy_from_slice(&0x7FC0u16.to_le_bytes()); // bf16 NaN
        assert!(codec.decode_into(&bad, &mut out).is_err());
        bad[..2].copy_from_slice(&0xBF80u16.to_le_bytes()); // bf16 -1.0
        assert!(codec.decode_into(&bad, &mut out).is_err());
    }
}

#[test]
fn fixed_layout_rejects_index_past_v() {
    // One group of N = 2, K = 1: V = 4 fills 2 bits exactly; N = 3, K = 1: V = 6 in 3 bits,
    // so 6 and 7 are invalid.
    let gain = GainQuantizer::log_uniform(1, 0.5, 1.0).unwrap();
    let codec = PvqCodec::new(3, 3, &[1], gain, IndexCoding::Fixed, Search::Greedy).unwrap();
    assert_eq!(codec.code_len(), 2 + 1);
    let mut out = [0f32; 3];
    for byte in 0..16u8 {
        let mut code = [0u8; 3];
        code[..2].copy_from_slice(&0x3F80u16.to_le_bytes()); // bf16 1.0
        code[2] = byte;
        let r = codec.decode_into(&code, &mut out);
        let idx = (byte >> 1) & 7;
        assert_eq!(r.is_ok(), idx < 6 && byte < 16, "byte {byte}");
    }
}

#[test]
fn parameters_out_of_range_are_errors() {
    let gain = GainQuantizer::log_uniform(4, 0.1, 2.0).unwrap();
    assert!(PvqCodec::new(0, 8, &[], gain, IndexCoding::Range, Search::Greedy).is_err());
    assert!(PvqCodec::new(16, 0, &[1, 1], gain, IndexCoding::Range, Search::Greedy).is_err());
    assert!(PvqCodec::new(16, 8, &[1], gain, IndexCoding::Range, Search::Greedy).is_err());
    assert!(PvqCodec::new(16, 8, &[1, 5000], gain, IndexCoding::Range, Search::Greedy).is_err());
    assert_eq!(
        PvqCodec::new(256, 128, &[64, 64], gain, IndexCoding::Range, Search::Greedy).err(),
        Some(Error::Overflow)
    );
    assert!(PvqCodec::for_rate(16, 8, 0.5, gain, IndexCoding::Range, Search::Greedy).is_err());
    assert!(PvqCodec::for_rate(16, 8, f64::NAN, gain, IndexCoding::Range, Search::Greedy).is_err());
    assert!(GainQuantizer::new(&[1.0, 0.5]).is_err());
    assert!(GainQuantizer::new(&[]).is_err());
    assert!(GainQuantizer::log_uniform(9, 0.1, 1.0).is_err());
}

/// Relative MSE on i.i.d. Gaussian data at 3 bits per dimension (everything counted): at least
/// 1 dB below Lloyd–Max's 0.03455 (≤ 0.0274).
#[test]
fn gaussian_three_bits_beats_lloyd_max_by_1db() {
    for (d, bound) in [(1024, 0.0274), (256, 0.0310)] {
        let data = gaussian(d * 100, 11);
        let codec = vector_codecs::pvq::codec::gaussian_codec(d, 3.0).unwrap();
        assert!(codec.bits_per_dim() <= 3.0);
        let m = rel_mse(&codec, &data);
        eprintln!(
            "PVQ 3 bits/dim Gaussian d={d}: rel MSE {m:.5} ({:.2} dB above 2^-6, {:.2} dB below Lloyd-Max)",
            10.0 * (m / 2f64.powi(-6)).log10(),
            10.0 * (0.03455 / m).log10()
        );
        assert!(m <= bound, "d={d}: rel MSE {m}");
    }
}

/// Prints the rate–distortion table of the configurations (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn report_gaussian_rd() {
    let d = 256;
    let data = gaussian(d * 400, 12);
    for &group in &[16usize, 32, 40] {
        for &gb in &[1u32, 2, 3] {
            for &(coding, search) in &[(IndexCoding::Range, Search::Greedy), (IndexCoding::Range, Search::Refined)] {
                for &rate in &[2.0, 3.0, 3.25, 4.0] {
                    let Ok(codec) = PvqCodec::train(d, group, rate, gb, coding, search, &data[..d * 100]) else {
                        continue;
                    };
                    let m = rel_mse(&codec, &data);
                    println!(
                        "D={group:2} gain={gb} {coding:?} {search:?} R={rate:4} bpd={:.3} K={:?} relMSE={m:.5} dB-above-RD={:.2}",
                        codec.bits_per_dim(),
                        &codec.pulses()[..1],
                        10.0 * (m / 2f64.powf(-2.0 * codec.bits_per_dim())).log10()
                    );
                }
            }
        }
    }
}

/// CPU time of this thread in seconds (Linux `schedstat`; wall time elsewhere), so that the
/// speed report is not distorted by other processes on a shared machine.
fn cpu_now() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .map(|ns| ns * 1e-9)
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64())
}

/// Rough decode / score speed in the test profile, per second of thread CPU time
/// (`--ignored --nocapture`); criterion numbers are in `benches/pvq.rs`.
#[test]
#[ignore]
fn report_speed() {
    let d = 384;
    let n = 2000;
    let data = gaussian(d * n, 5);
    // The weight report's configurations: groups of 8, 16, 32, fixed-length and range-coded
    // indexes, 3 and 3.25 bits per weight (2 gain bits).
    let mut configs: Vec<(String, PvqCodec)> = Vec::new();
    for rate in [3.0, 3.25] {
        for group in [8usize, 16, 32] {
            for coding in [IndexCoding::Fixed, IndexCoding::Range] {
                let gain = GainQuantizer::default_for(2, d, group).unwrap();
                let c = PvqCodec::for_rate(d, group, rate, gain, coding, Search::Greedy).unwrap();
                configs.push((format!("{coding:?} D{group} @{rate}"), c));
            }
        }
    }
    // More repetitions (`PVQ_SPEED_REPS`) beat the coarse thread CPU clock on a loaded box.
    let reps: usize = std::env::var("PVQ_SPEED_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    for (name, c) in configs {
        let mut codes = vec![0u8; n * c.code_len()];
        let t = cpu_now();
        c.encode_batch(&data, &mut codes).unwrap();
        let enc = cpu_now() - t;
        let mut out = vec![0f32; d * n];
        let t = cpu_now();
        for _ in 0..reps {
            c.decode_batch(&codes, &mut out).unwrap();
        }
        let dec = (cpu_now() - t) / reps as f64;
        let mut s = c.scratch();
        let q = c.prepare(&data[..d], &mut s).unwrap();
        let mut sc = vec![0f32; n];
        let t = cpu_now();
        for _ in 0..reps {
            c.score_batch(&q, &codes, &mut sc).unwrap();
        }
        let score = (cpu_now() - t) / reps as f64;
        let w = (n * d) as f64 / 1e6;
        println!(
            "{name}: {:.3} bits/dim, encode {:.1} M/s, decode {:.1} M weights/s, score {:.1} M/s",
            c.bits_per_dim(),
            w / enc,
            w / dec,
            w / score
        );
    }
    // The recursive split (the `pvq3-split` configuration: leaves of 32, u128 indexes).
    for rate in [3.0, 3.25] {
        let c = vector_codecs::pvq::SplitCodec::new(d, rate, 32, 128, Search::Greedy).unwrap();
        let mut codes = vec![0u8; n * c.code_len()];
        c.encode_batch(&data, &mut codes).unwrap();
        let mut out = vec![0f32; d * n];
        let t = cpu_now();
        for _ in 0..reps {
            c.decode_batch(&codes, &mut out).unwrap();
        }
        let dec = (cpu_now() - t) / reps as f64;
        let mut s = c.scratch();
        let q = c.prepare(&data[..d], &mut s).unwrap();
        let mut sc = vec![0f32; n];
        let t = cpu_now();
        for _ in 0..reps {
            c.score_batch(&q, &codes, &mut sc).unwrap();
        }
        let score = (cpu_now() - t) / reps as f64;
        let w = (n * d) as f64 / 1e6;
        println!("Split L32 @{rate}: decode {:.1} M weights/s, score {:.1} M/s", w / dec, w / score);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// icwrs ∘ cwrsi is the identity on random points, in every width that holds V.
        #[test]
        fn index_round_trip(y in proptest::collection::vec(-6i32..=6, 1..14)) {
            let k: u32 = y.iter().map(|v| v.unsigned_abs()).sum();
            let i = icwrs::<u64>(&y).unwrap();
            prop_assert!(i < v_count::<u64>(y.len() as u32, k).unwrap());
            let mut back = vec![0; y.len()];
            cwrsi::<u64>(k, i, &mut back).unwrap();
            prop_assert_eq!(&back, &y);
            prop_assert_eq!(icwrs::<u128>(&y).unwrap(), u128::from(i));
            if let Ok(i32v) = icwrs::<u32>(&y) {
                prop_assert_eq!(u64::from(i32v), i);
            }
        }

        /// Any finite vector encodes into its fixed code length (the range coder's margin
        /// holds) and decodes to finite values; the score equals the decoded dot product.
        #[test]
        fn range_codes_always_fit(
            x in proptest::collection::vec(-1e6f32..1e6, 37),
            scale in -20i32..20,
            rate in 2.5f64..5.0,
        ) {
            let x: Vec<f32> = x.iter().map(|v| v * 2f32.powi(scale)).collect();
            let gain = GainQuantizer::default_for(3, 37, 8).unwrap();
            let codec = PvqCodec::for_rate(37, 8, rate, gain, IndexCoding::Range, Search::Greedy).unwrap();
            prop_assert!(codec.bits_per_dim() <= rate);
            let mut code = vec![0u8; codec.code_len()];
            codec.encode_into(&x, &mut code).unwrap();
            let mut out = vec![0f32; 37];
            codec.decode_into(&code, &mut out).unwrap();
            prop_assert!(out.iter().all(|v| v.is_finite()));
        }
    }
}

/// Decode loop for profiling (`PVQ_PROF=group,coding(f|r),rate`): `perf record` this test.
#[test]
#[ignore]
fn profile_decode() {
    let spec = std::env::var("PVQ_PROF").unwrap_or_else(|_| "32,r,3".into());
    let p: Vec<&str> = spec.split(',').collect();
    let (group, rate): (usize, f64) = (p[0].parse().unwrap(), p[2].parse().unwrap());
    let coding = if p[1] == "f" { IndexCoding::Fixed } else { IndexCoding::Range };
    let d = 384;
    let n = 2000;
    let data = gaussian(d * n, 5);
    let c =
        PvqCodec::for_rate(d, group, rate, GainQuantizer::default_for(2, d, group).unwrap(), coding, Search::Greedy)
            .unwrap();
    let mut codes = vec![0u8; n * c.code_len()];
    c.encode_batch(&data, &mut codes).unwrap();
    let mut out = vec![0f32; d * n];
    let t = cpu_now();
    for _ in 0..40 {
        c.decode_batch(&codes, &mut out).unwrap();
    }
    println!("{spec}: decode {:.1} M weights/s", (40 * n * d) as f64 / 1e6 / (cpu_now() - t));
}

/// The range-coded PVQ decode (reciprocal division, precomputed top-symbol plans) against a
/// reference written from FORMAT.md §5 with the range decoder's division path
/// (`decode`/`decode_bin` + `update`) and `cwrsi`: identical values on real codes, and the
/// same `Ok`/`Err` and values on arbitrary bytes.
#[test]
fn range_decode_matches_the_division_reference() {
    use vector_codecs::entropy::range::RangeDecoder;
    fn get(dec: &mut RangeDecoder<'_>, n: u128) -> Option<u128> {
        if n <= 1 {
            return Some(0);
        }
        let max = n - 1;
        let sh = (128 - max.leading_zeros()).saturating_sub(8);
        let ft = ((max >> sh) + 1) as u32;
        let top = dec.decode(ft).unwrap();
        dec.update(top, top + 1, ft).unwrap();
        let mut v = u128::from(top) << sh;
        let mut at = 0;
        while at < sh {
            let b = (sh - at).min(8);
            let c = dec.decode_bin(b).unwrap();
            dec.update(c, c + 1, 1 << b).unwrap();
            v |= u128::from(c) << at;
            at += b;
        }
        (v <= max).then_some(v)
    }
    fn reference(c: &PvqCodec, code: &[u8]) -> Option<Vec<f32>> {
        let d = c.dim();
        let s = vector_codecs::scalar::float::bf16_to_f32(u16::from_le_bytes([code[0], code[1]]));
        if !(0.0..=vector_codecs::MAX_NORM / (d as f32).sqrt()).contains(&s) {
            return None;
        }
        let mut dec = RangeDecoder::new(&code[2..]);
        let mut out = vec![0f32; d];
        for (g, &k) in c.pulses().iter().enumerate() {
            if k == 0 {
                continue;
            }
            let r = g * c.group()..((g + 1) * c.group()).min(d);
            let n = r.len() as u32;
            let gi = get(&mut dec, c.gain().len() as u128)? as usize;
            let idx = get(&mut dec, v_count::<u128>(n, k).unwrap())?;
            let mut y = vec![0i32; r.len()];
            let yy = cwrsi::<u128>(k, idx, &mut y).unwrap();
            let scale = s * c.gain().level(gi) * (r.len() as f32).sqrt() / (yy as f32).sqrt();
            for (o, &v) in out[r].iter_mut().zip(&y) {
                *o = v as f32 * scale;
            }
        }
        dec.check().ok()?;
        Some(out)
    }
    let d = 96;
    let data = gaussian(d * 40, 31);
    let mut rng = Rng::new(32);
    for rate in [2.25, 3.0, 3.25, 5.0] {
        for group in [8usize, 16, 32] {
            let gain = GainQuantizer::default_for(2, d, group).unwrap();
            let c = PvqCodec::for_rate(d, group, rate, gain, IndexCoding::Range, Search::Greedy).unwrap();
            let mut code = vec![0u8; c.code_len()];
            let mut out = vec![0f32; d];
            for x in data.chunks_exact(d) {
                c.encode_into(x, &mut code).unwrap();
                c.decode_into(&code, &mut out).unwrap();
                assert_eq!(reference(&c, &code).unwrap(), out, "D{group} @{rate}");
            }
            let mut ok = 0;
            for _ in 0..300 {
                for b in code.iter_mut() {
                    *b = rng.next_u32() as u8;
                }
                code[..2].copy_from_slice(&0x3f80u16.to_le_bytes());
                let got = c.decode_into(&code, &mut out).ok().map(|()| out.clone());
                assert_eq!(got, reference(&c, &code), "D{group} @{rate} on arbitrary bytes");
                ok += usize::from(got.is_some());
            }
            assert!(ok > 0, "D{group} @{rate}: no arbitrary code decoded");
        }
    }
}
