//! Single-state rANS (32/64-bit), static models and the range coder: round trips, size against
//! the ideal code length, corruption and truncation handling (the interleaved coder has
//! `tests/entropy_word.rs`).
use proptest::prelude::*;
use vector_codecs::Error;
use vector_codecs::entropy::model::{Model, normalize};
use vector_codecs::entropy::range::{AdaptiveBit, AdaptiveFreq, RangeDecoder, RangeEncoder};
use vector_codecs::entropy::rans::{rans32, rans64};
use vector_codecs::rng::Rng;

/// Symbols drawn from a geometric-like distribution over `k` symbols.
fn source(k: usize, n: usize, decay: f64, seed: u64) -> Vec<u16> {
    let mut rng = Rng::new(seed);
    let w: Vec<f64> = (0..k).map(|i| decay.powi(i as i32)).collect();
    let tot: f64 = w.iter().sum();
    let mut cdf = Vec::with_capacity(k);
    let mut acc = 0.0;
    for x in &w {
        acc += x / tot;
        cdf.push(acc);
    }
    (0..n)
        .map(|_| {
            let u = rng.next_f64();
            cdf.iter().position(|&c| u < c).unwrap_or(k - 1) as u16
        })
        .collect()
}

fn all_roundtrip(model: &Model, data: &[u16]) -> [usize; 2] {
    let v = [model.view()];
    let mut back = vec![0u16; data.len()];
    let b32 = rans32::encode_vec(&v, data).unwrap();
    rans32::decode_multi(&v, &b32, &mut back).unwrap();
    assert_eq!(back, data);
    let b64 = rans64::encode_vec(&v, data).unwrap();
    back.fill(0);
    rans64::decode_multi(&v, &b64, &mut back).unwrap();
    assert_eq!(back, data);
    [b32.len(), b64.len()]
}

#[test]
fn overhead_within_0_1_percent() {
    for (k, decay, n) in [(256usize, 0.97, 200_000usize), (16, 0.7, 200_000), (2, 0.05, 100_000)] {
        let data = source(k, n, decay, k as u64);
        let model = Model::from_symbols(&data, k, 16).unwrap();
        let ideal_bytes = model.view().cost_bits(&data) / 8.0;
        let sizes = all_roundtrip(&model, &data);
        for (i, &s) in sizes.iter().enumerate() {
            let slack = [8.0, 16.0][i];
            assert!(
                (s as f64) <= ideal_bytes * 1.001 + slack,
                "coder {i}: {s} bytes vs ideal {ideal_bytes:.1} (k={k})"
            );
        }
        // And the model itself costs little against the empirical entropy.
        let mut counts = vec![0f64; k];
        for &s in &data {
            counts[s as usize] += 1.0;
        }
        let h: f64 = counts.iter().filter(|&&c| c > 0.0).map(|&c| -c * (c / n as f64).log2()).sum::<f64>() / 8.0;
        assert!(ideal_bytes <= h * 1.001 + 8.0, "model loss: {ideal_bytes} vs {h}");
    }
}

#[test]
fn degenerate_sources() {
    // Empty input.
    let model = Model::from_counts(&[3, 1], 12).unwrap();
    all_roundtrip(&model, &[]);
    // One symbol alphabet: costs 0 bits.
    let one = Model::from_counts(&[10], 16).unwrap();
    let sizes = all_roundtrip(&one, &[0u16; 1000]);
    assert_eq!(sizes, [4, 8]);
    // p -> 1.
    let mut data = vec![0u16; 100_000];
    data[500] = 1;
    let m = Model::from_symbols(&data, 2, 16).unwrap();
    assert_eq!(m.freqs()[1], 1);
    all_roundtrip(&m, &data);
    // 65,536 symbols, all present.
    let data: Vec<u16> = (0..=65535u16).rev().chain(0..1000).collect();
    let m = Model::from_symbols(&data, 65536, 16).unwrap();
    assert!(m.freqs().iter().all(|&f| f == 1));
    let sizes = all_roundtrip(&m, &data);
    assert!(sizes[0] <= data.len() * 2 + 8);
}

#[test]
fn normalize_properties() {
    let f = normalize(&[1, 0, 1_000_000, 5], 8).unwrap();
    assert_eq!(f.iter().sum::<u32>(), 256);
    assert_eq!(f[1], 0);
    assert!(f[0] >= 1 && f[3] >= 1);
    assert!(normalize(&[1; 300], 8).is_err());
    assert!(normalize(&[1], 0).is_err());
    assert!(normalize(&[1], 17).is_err());
    assert_eq!(normalize(&[0, 0], 4).unwrap(), vec![16, 0]);
}

#[test]
fn unknown_symbol_and_small_buffer_are_errors() {
    let m = Model::from_counts(&[5, 0, 5], 10).unwrap();
    let v = [m.view()];
    assert!(matches!(rans32::encode_vec(&v, &[1]), Err(Error::InvalidParameter(_))));
    assert!(matches!(rans64::encode_vec(&v, &[7]), Err(Error::InvalidParameter(_))));
    let data = vec![0u16, 2, 2, 0, 2, 0, 0, 0, 2, 2];
    let mut small = [0u8; 3];
    assert!(matches!(rans32::encode(&v[0], &data, &mut small), Err(Error::BufferTooSmall { .. })));
}

#[test]
fn corruption_and_truncation_detected() {
    let data = source(64, 20_000, 0.9, 7);
    let m = Model::from_symbols(&data, 64, 14).unwrap();
    let v = [m.view()];
    let mut out = vec![0u16; data.len()];
    let b = rans32::encode_vec(&v, &data).unwrap();
    for cut in [0, 3, b.len() / 2, b.len() - 1] {
        assert!(rans32::decode_multi(&v, &b[..cut], &mut out).is_err());
    }
    let b = rans64::encode_vec(&v, &data).unwrap();
    for cut in [0, 3, b.len() / 2, b.len() - 1] {
        assert!(rans64::decode_multi(&v, &b[..cut], &mut out).is_err());
    }
}

#[test]
fn model_serialization() {
    let data = source(300, 10_000, 0.99, 9);
    let m = Model::from_symbols(&data, 300, 13).unwrap();
    let bytes = m.to_bytes().unwrap();
    let back = Model::from_bytes(&bytes).unwrap();
    assert_eq!(back.freqs(), m.freqs());
    for cut in 0..bytes.len() {
        assert!(Model::from_bytes(&bytes[..cut]).is_err());
    }
    // Frequencies that do not sum: rebuild the container with one frequency changed.
    let mut w = vector_codecs::format::Writer::new(0x0601);
    w.u8(4).u32(2).u8(8).u8(9);
    assert!(matches!(Model::from_bytes(&w.finish().unwrap()), Err(Error::Corrupt(_))));
    let mut w = vector_codecs::format::Writer::new(0x0601);
    w.u8(17).u32(1).u8(1);
    assert!(Model::from_bytes(&w.finish().unwrap()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn roundtrip_random_models(k in 1usize..600, n in 0usize..3000, decay in 0.5f64..1.0, scale in 10u32..=16, seed in 0u64..1000) {
        let data = source(k, n, decay, seed);
        let m = Model::from_symbols(&data, k, scale).unwrap();
        all_roundtrip(&m, &data);
    }

    #[test]
    fn roundtrip_per_position_models(p in 1usize..7, n in 0usize..2000, seed in 0u64..1000) {
        let models: Vec<Model> = (0..p).map(|i| {
            let d = source(20 + i, 500, 0.8, seed + i as u64);
            Model::from_symbols(&d, 20 + i, 12).unwrap()
        }).collect();
        let views: Vec<_> = models.iter().map(Model::view).collect();
        let mut rng = Rng::new(seed);
        let data: Vec<u16> = (0..n).map(|i| {
            let m = &models[i % p];
            loop {
                let s = rng.below(m.alphabet_size() as u64) as u16;
                if m.freqs()[s as usize] > 0 { break s; }
            }
        }).collect();
        let mut back = vec![0u16; n];
        let b = rans32::encode_vec(&views, &data).unwrap();
        rans32::decode_multi(&views, &b, &mut back).unwrap();
        prop_assert_eq!(&back, &data);
    }

    #[test]
    fn decoders_total_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..300), n in 0usize..200) {
        let m = Model::from_counts(&[5, 1, 9, 0, 3], 11).unwrap();
        let v = [m.view()];
        let mut out = vec![0u16; n];
        let _ = rans32::decode_multi(&v, &bytes, &mut out);
        let _ = rans64::decode_multi(&v, &bytes, &mut out);
        let _ = Model::from_bytes(&bytes);
        let mut d = RangeDecoder::new(&bytes);
        for i in 0..n {
            let _ = d.dec_uint((i as u64 + 2) * 12345);
        }
    }

    #[test]
    fn range_random_uints(vals in proptest::collection::vec((any::<u64>(), any::<u64>()), 1..200)) {
        let mut buf = vec![0u8; 16 * vals.len() + 16];
        let mut e = RangeEncoder::new(&mut buf);
        let pairs: Vec<(u64, u64)> = vals.iter().map(|&(a, b)| { let max = b.max(1); (a % max.saturating_add(1).max(1) , max) }).map(|(v, m)| (v.min(m), m)).collect();
        for &(v, m) in &pairs { e.enc_uint_max(v, m).unwrap(); }
        let len = e.finish().unwrap();
        let mut d = RangeDecoder::new(&buf[..len]);
        for &(v, m) in &pairs { prop_assert_eq!(d.dec_uint_max(m).unwrap(), v); }
        d.check().unwrap();
    }
}

#[test]
fn range_uint_every_range_and_raw_bits_tell() {
    // Opus test_unit_entropy shape: all values for ft = 2..1023, then raw bits ftb = 1..15.
    let mut buf = vec![0u8; 1 << 20];
    let mut e = RangeEncoder::new(&mut buf);
    let mut tells = Vec::new();
    for ft in 2u64..1024 {
        for i in 0..ft {
            e.enc_uint(i, ft).unwrap();
        }
    }
    for ftb in 1u32..16 {
        for i in 0..(1u32 << ftb) {
            let t0 = e.tell();
            e.enc_bits(i, ftb).unwrap();
            assert_eq!(e.tell() - t0, u64::from(ftb));
            tells.push(e.tell());
        }
    }
    let len = e.finish().unwrap();
    let mut d = RangeDecoder::new(&buf[..len]);
    for ft in 2u64..1024 {
        for i in 0..ft {
            assert_eq!(d.dec_uint(ft).unwrap(), i);
        }
    }
    let mut k = 0;
    for ftb in 1u32..16 {
        for i in 0..(1u32 << ftb) {
            assert_eq!(d.dec_bits(ftb).unwrap(), i);
            assert_eq!(d.tell(), tells[k]);
            k += 1;
        }
    }
    d.check().unwrap();
    // Size ≈ Σ log2(ft) bits.
    let ideal: f64 = (2u64..1024).map(|ft| ft as f64 * (ft as f64).log2()).sum::<f64>()
        + (1..16).map(|b| f64::from(b) * f64::from(1u32 << b)).sum::<f64>();
    assert!((len as f64 * 8.0) < ideal * 1.001 + 64.0, "{len} bytes vs {ideal} bits");
}

#[test]
fn range_full_u64_and_adaptive_models() {
    let mut rng = Rng::new(11);
    let vals: Vec<u64> = (0..1000).map(|_| rng.next_u64()).collect();
    let syms: Vec<usize> = (0..5000).map(|i| if i % 7 == 0 { 3 } else { (i * i) % 2 }).collect();
    let bits: Vec<bool> = (0..5000).map(|i| i % 13 == 0).collect();
    let mut buf = vec![0u8; 1 << 16];
    let mut e = RangeEncoder::new(&mut buf);
    let mut mf = AdaptiveFreq::<8>::new(24, 1 << 13).unwrap();
    let mut mb = AdaptiveBit::new(5);
    for &v in &vals {
        e.enc_uint_max(v, u64::MAX).unwrap();
    }
    for (&s, &b) in syms.iter().zip(&bits) {
        e.enc_adaptive(&mut mf, s).unwrap();
        e.enc_adaptive_bit(&mut mb, b).unwrap();
        e.enc_bit_logp(b, 4).unwrap();
    }
    let len = e.finish().unwrap();
    let mut d = RangeDecoder::new(&buf[..len]);
    let mut mf = AdaptiveFreq::<8>::new(24, 1 << 13).unwrap();
    let mut mb = AdaptiveBit::new(5);
    for &v in &vals {
        assert_eq!(d.dec_uint_max(u64::MAX).unwrap(), v);
    }
    for (&s, &b) in syms.iter().zip(&bits) {
        assert_eq!(d.dec_adaptive(&mut mf).unwrap(), s);
        assert_eq!(d.dec_adaptive_bit(&mut mb).unwrap(), b);
        assert_eq!(d.dec_bit_logp(4).unwrap(), b);
    }
    d.check().unwrap();
    // Adaptive models compress: 5000 skewed bits in far less than 5000 bits.
    assert!(len < 8000 + 1000 * 8 + 1200, "{len}");
    // Too-small buffer.
    let mut tiny = [0u8; 4];
    let mut e = RangeEncoder::new(&mut tiny);
    for &v in &vals[..10] {
        e.enc_uint_max(v, u64::MAX).unwrap();
    }
    assert!(matches!(e.finish(), Err(Error::BufferTooSmall { .. })));
    // Values above the range are rejected on encode; corrupt streams on decode.
    let mut buf = [0u8; 64];
    let mut e = RangeEncoder::new(&mut buf);
    assert!(e.enc_uint(5, 5).is_err());
    assert!(e.enc_uint(0, 1).is_err());
}

/// `Reciprocal::div` is `⌊n/d⌋` exactly: every divisor up to 2^16 at the numerators around
/// each of its multiples near the ends and random ones, random 32-bit divisors, and the edges.
#[test]
fn reciprocal_division_is_exact() {
    use vector_codecs::entropy::range::Reciprocal;
    let mut rng = Rng::new(21);
    let check = |d: u32, n: u32| assert_eq!(Reciprocal::new(d).div(n), n / d, "{n} / {d}");
    for d in 2..=1u32 << 16 {
        for n in [0, 1, d - 1, d, d + 1, u32::MAX, u32::MAX - 1, u32::MAX / d * d, (u32::MAX / d * d).wrapping_sub(1)] {
            check(d, n);
        }
        for _ in 0..8 {
            check(d, rng.next_u32());
        }
    }
    for _ in 0..2_000_000 {
        let d = rng.next_u32().max(2) >> (rng.next_u32() % 31);
        let n = rng.next_u32() >> (rng.next_u32() % 32);
        if d >= 2 {
            check(d, n);
            let m = n / d * d;
            check(d, m);
            check(d, m.wrapping_sub(1));
        }
    }
    for d in [2, 3, 7, 255, 256, 257, 65535, 65536, 65537, 1 << 23, (1 << 23) + 1, (1 << 31) - 1, 1 << 31, u32::MAX] {
        for n in [0, 1, d - 1, d, u32::MAX] {
            check(d, n);
        }
    }
    assert_eq!(Reciprocal::new(0).divisor(), 2);
}

/// The PVQ pattern (one uniform top symbol, then runs of 8-bit chunks, then a shorter one),
/// where the decoder reuses the reciprocal of its last divisor: on arbitrary bytes the fused
/// and reciprocal paths follow `decode` + `update` step by step (same symbols, same `tell`).
#[test]
fn reciprocal_decode_follows_the_reference_on_any_bytes() {
    use vector_codecs::entropy::range::Reciprocal;
    let mut rng = Rng::new(22);
    for round in 0..3000u32 {
        let junk: Vec<u8> =
            (0..96).map(|_| if round.is_multiple_of(7) { 0xff } else { rng.next_u64() as u8 }).collect();
        let (mut a, mut b) = (RangeDecoder::new(&junk), RangeDecoder::new(&junk));
        for _ in 0..12 {
            let ft = match rng.next_u32() % 4 {
                0 => 1 << (rng.next_u32() % 17),
                1 => 2 + rng.next_u32() % 255,
                _ => 2 + rng.next_u32() % 65535,
            };
            // (`Reciprocal` is for divisors ≥ 2.)
            let got = if ft < 2 || rng.next_u32().is_multiple_of(2) {
                a.decode_uniform(ft)
            } else {
                a.decode_recip(&Reciprocal::new(ft))
            };
            let want = b.decode(ft).unwrap();
            b.update(want, want + 1, ft).unwrap();
            assert_eq!(got, want, "round {round}: top of {ft}");
            let chunks = rng.next_u32() % 12;
            for j in 0..=chunks {
                let bits = if j == chunks { 1 + rng.next_u32() % 8 } else { 8 };
                let got = a.decode_bits(bits);
                let want = b.decode_bin(bits).unwrap();
                b.update(want, want + 1, 1 << bits).unwrap();
                assert_eq!(got, want, "round {round}: chunk {j} of {bits} bits");
                assert_eq!(a.tell(), b.tell());
            }
        }
        assert_eq!(a.check().is_ok(), b.check().is_ok());
    }
}

/// `decode_uniform` / `decode_bits` (fused decode + update) read what `encode` /
/// `encode_bin` wrote, and on arbitrary bytes they follow `decode` + `update` exactly.
#[test]
fn fused_uniform_decode_matches_decode_and_update() {
    let mut rng = Rng::new(7);
    for round in 0..200 {
        let ops: Vec<(bool, u32, u32)> = (0..64)
            .map(|_| {
                if rng.next_u64().is_multiple_of(2) {
                    let ft = 2 + (rng.next_u64() % 65535) as u32;
                    (false, ft, (rng.next_u64() % u64::from(ft)) as u32)
                } else {
                    let bits = 1 + (rng.next_u64() % 16) as u32;
                    (true, bits, (rng.next_u64() % (1u64 << bits)) as u32)
                }
            })
            .collect();
        let mut buf = vec![0u8; 512];
        let mut enc = RangeEncoder::new(&mut buf);
        for &(bin, t, c) in &ops {
            if bin { enc.encode_bin(c, c + 1, t).unwrap() } else { enc.encode(c, c + 1, t).unwrap() }
        }
        enc.finish().unwrap();
        let mut dec = RangeDecoder::new(&buf);
        for &(bin, t, c) in &ops {
            assert_eq!(if bin { dec.decode_bits(t) } else { dec.decode_uniform(t) }, c, "round {round}");
        }
        // Garbage bytes: the fused path equals decode + update step by step.
        let junk: Vec<u8> = (0..64).map(|_| rng.next_u64() as u8).collect();
        let (mut a, mut b) = (RangeDecoder::new(&junk), RangeDecoder::new(&junk));
        for &(bin, t, _) in &ops {
            let ft = if bin { 1u32 << t } else { t };
            let got = if bin { a.decode_bits(t) } else { a.decode_uniform(t) };
            let want = if bin { b.decode_bin(t).unwrap() } else { b.decode(t).unwrap() };
            b.update(want, want + 1, ft).unwrap();
            assert_eq!(got, want, "round {round}");
        }
    }
}
