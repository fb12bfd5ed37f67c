//! Interleaved rANS (`entropy::word`: 32-bit states, 16-bit words): round trips (single and
//! per-position models, degenerate models), size against the model cost, scale limits, corruption and
//! truncation, totality on arbitrary bytes, and identical bytes with and without the word side
//! tables (arch encoder/decoder paths).
use proptest::prelude::*;
use vector_codecs::Error;
use vector_codecs::entropy::model::Model;
use vector_codecs::entropy::word;
use vector_codecs::entropy::word::Lanes;
use vector_codecs::rng::Rng;

const ALL: [Lanes; 3] = [Lanes::L4, Lanes::L8, Lanes::L32];

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

/// Round trip with every lane count; returns the encoded sizes.
fn roundtrip(model: &Model, data: &[u16]) -> [usize; 3] {
    let v = [model.view()];
    let mut back = vec![0u16; data.len()];
    let mut sizes = [0; 3];
    for (i, lanes) in ALL.into_iter().enumerate() {
        let b = word::encode_vec(&v, lanes, data).unwrap();
        assert!(b.len() <= word::max_encoded_len(data.len(), lanes));
        back.fill(0xffff);
        word::decode(&v[0], lanes, &b, &mut back).unwrap();
        assert_eq!(back, data, "{lanes:?}");
        // Exactly-sized caller buffer works too.
        let mut exact = vec![0u8; b.len()];
        assert_eq!(word::encode(&v[0], lanes, data, &mut exact).unwrap(), b.len());
        assert_eq!(exact, b);
        sizes[i] = b.len();
    }
    sizes
}

#[test]
fn overhead_within_0_1_percent_of_model_cost() {
    for (k, decay, n, scale) in [
        (256usize, 0.97, 400_000usize, 14u32),
        (256, 0.97, 400_000, 15),
        (16, 0.7, 400_000, 12),
        (16, 0.7, 400_000, 14),
        (2, 0.05, 200_000, 14),
        (1000, 0.995, 400_000, 15),
    ] {
        let data = source(k, n, decay, k as u64);
        let model = Model::from_symbols(&data, k, scale).unwrap();
        let ideal_bytes = model.view().cost_bits(&data) / 8.0;
        let sizes = roundtrip(&model, &data);
        for (i, &s) in sizes.iter().enumerate() {
            // Flushed states (4K bytes) plus at most one word per lane as slack.
            let slack = [24.0, 48.0, 192.0][i];
            assert!(
                (s as f64) <= ideal_bytes * 1.001 + slack,
                "lanes {i}: {s} bytes vs model cost {ideal_bytes:.1} (k={k}, n={scale})"
            );
        }
    }
}

#[test]
fn degenerate_models() {
    // Empty input: just the flushed states.
    let model = Model::from_counts(&[3, 1], 12).unwrap();
    assert_eq!(roundtrip(&model, &[]), [16, 32, 128]);
    // One-symbol alphabet costs 0 bits (the state never moves).
    let one = Model::from_counts(&[10], 15).unwrap();
    assert_eq!(roundtrip(&one, &[0u16; 1000]), [16, 32, 128]);
    let one = Model::from_counts(&[10], 1).unwrap();
    assert_eq!(roundtrip(&one, &[0u16; 77]), [16, 32, 128]);
    // p -> 1 with a frequency-1 symbol.
    let mut data = vec![0u16; 100_000];
    data[500] = 1;
    data[99_999] = 1;
    let m = Model::from_symbols(&data, 2, 15).unwrap();
    assert_eq!(m.freqs()[1], 1);
    let sizes = roundtrip(&m, &data);
    let ideal = m.view().cost_bits(&data) / 8.0;
    assert!(sizes[0] as f64 <= ideal * 1.001 + 24.0, "{sizes:?} vs {ideal}");
    // Large alphabet: 32,768 symbols, all present, at n = 15 (every frequency 1).
    let data: Vec<u16> = (0..32768u16).rev().chain(0..1000).collect();
    let m = Model::from_symbols(&data, 32768, 15).unwrap();
    assert!(m.freqs().iter().all(|&f| f == 1));
    let sizes = roundtrip(&m, &data);
    assert!(sizes[0] <= data.len() * 15 / 8 + 24, "{sizes:?}");
    // Alphabet of 65,536 with few present symbols.
    let data: Vec<u16> = (0..5000u32).map(|i| ((i * 7919) % 65536) as u16 & 0xf00f).collect();
    let m = Model::from_symbols(&data, 65536, 15).unwrap();
    roundtrip(&m, &data);
}

#[test]
fn scale_16_and_bad_symbols_are_errors() {
    let m16 = Model::from_counts(&[3, 1], 16).unwrap();
    let v = [m16.view()];
    assert!(matches!(word::encode_vec(&v, Lanes::L8, &[0, 1]), Err(Error::InvalidParameter(_))));
    let mut out = [0u16; 2];
    assert!(matches!(word::decode(&v[0], Lanes::L8, &[0u8; 64], &mut out), Err(Error::InvalidParameter(_))));
    assert!(matches!(word::encode_vec(&[], Lanes::L8, &[0]), Err(Error::InvalidParameter(_))));
    let m = Model::from_counts(&[5, 0, 5], 10).unwrap();
    let v = [m.view()];
    assert!(matches!(word::encode_vec(&v, Lanes::L4, &[1]), Err(Error::InvalidParameter(_))));
    assert!(matches!(word::encode_vec(&v, Lanes::L32, &[0; 100].map(|_| 7u16)), Err(Error::InvalidParameter(_))));
    let data = vec![0u16, 2, 2, 0, 2, 0, 0, 0, 2, 2];
    for len in [0usize, 3, 16, 31] {
        let mut small = vec![0u8; len];
        assert!(matches!(word::encode(&v[0], Lanes::L8, &data, &mut small), Err(Error::BufferTooSmall { .. })));
    }
}

#[test]
fn corruption_and_truncation_detected() {
    let data = source(64, 20_000, 0.9, 7);
    let m = Model::from_symbols(&data, 64, 14).unwrap();
    let v = m.view();
    let mut out = vec![0u16; data.len()];
    for lanes in ALL {
        let b = word::encode_vec(&[v], lanes, &data).unwrap();
        for cut in [0, 1, 4 * lanes.count() - 1, 4 * lanes.count(), b.len() / 2, b.len() - 2, b.len() - 1] {
            assert!(word::decode(&v, lanes, &b[..cut], &mut out).is_err(), "{lanes:?} cut {cut}");
        }
        // Trailing bytes and lying lengths.
        let mut longer_stream = b.clone();
        longer_stream.extend_from_slice(&[0, 0]);
        assert!(matches!(word::decode(&v, lanes, &longer_stream, &mut out), Err(Error::Corrupt(_))));
        let mut more = vec![0u16; data.len() + 5];
        assert!(word::decode(&v, lanes, &b, &mut more).is_err());
        let mut fewer = vec![0u16; data.len() - 1];
        assert!(word::decode(&v, lanes, &b, &mut fewer).is_err());
        // Flipping bytes is detected (final-state check) or at least changes nothing silently.
        let mut rng = Rng::new(3);
        let mut detected = 0;
        for _ in 0..50 {
            let mut c = b.clone();
            let i = rng.below(c.len() as u64) as usize;
            c[i] ^= 1 + rng.below(255) as u8;
            if word::decode(&v, lanes, &c, &mut out).is_err() || out != data {
                detected += 1;
            }
        }
        assert!(detected >= 49, "{lanes:?}: {detected}");
        // An initial state below L is rejected.
        let mut c = b.clone();
        c[2] = 0;
        c[3] = 0;
        assert!(matches!(word::decode(&v, lanes, &c, &mut out), Err(Error::Corrupt(_))));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn roundtrip_random_models(k in 1usize..600, n in 0usize..3000, decay in 0.5f64..1.0, scale in 10u32..=15, seed in 0u64..1000) {
        let data = source(k, n, decay, seed);
        let m = Model::from_symbols(&data, k, scale).unwrap();
        roundtrip(&m, &data);
    }

    #[test]
    fn roundtrip_per_position_models(p in 1usize..7, n in 0usize..2000, seed in 0u64..1000) {
        let models: Vec<Model> = (0..p).map(|i| {
            let d = source(20 + i, 500, 0.8, seed + i as u64);
            Model::from_symbols(&d, 20 + i, 10 + i as u32).unwrap()
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
        let ideal: f64 = data.iter().enumerate().map(|(i, &s)| views[i % p].cost_bits(&[s])).sum::<f64>() / 8.0;
        for lanes in ALL {
            let b = word::encode_vec(&views, lanes, &data).unwrap();
            prop_assert!(b.len() as f64 <= ideal * 1.001 + 6.0 * lanes.count() as f64 + 2.0);
            word::decode_multi(&views, lanes, &b, &mut back).unwrap();
            prop_assert_eq!(&back, &data);
        }
    }

    /// A `Model` view (AVX2 encoder records, packed decode table where it fits) and a plain
    /// `ModelView::new` view of the same frequencies (scalar encoder, `u64`-table decoder)
    /// write identical bytes and decode them identically, also on corrupted streams; the
    /// decay range includes models too skewed for the packed table (`p → 1`).
    #[test]
    fn model_view_and_plain_view_agree(
        k in 1usize..400,
        n in 0usize..5000,
        decay in 0.01f64..1.0,
        scale in 8u32..=15,
        seed in 0u64..1000,
        flip in any::<u64>(),
    ) {
        use vector_codecs::entropy::model::{EncSym, ModelView, fill_tables};
        // A model needs at least one slot per symbol: at scale 8 an alphabet of up to 400
        // symbols does not fit, so the scale is raised to the smallest that holds `k`.
        let scale = scale.max(usize::BITS - (k - 1).leading_zeros());
        let data = source(k, n, decay, seed);
        let m = Model::from_symbols(&data, k, scale).unwrap();
        let mut enc = vec![EncSym::default(); k];
        let mut dec = vec![0u64; 1 << scale];
        fill_tables(m.freqs(), scale, &mut enc, &mut dec).unwrap();
        let plain = ModelView::new(scale, &enc, &dec).unwrap();
        for lanes in ALL {
            let a = word::encode_vec(&[m.view()], lanes, &data).unwrap();
            prop_assert_eq!(&word::encode_vec(&[plain], lanes, &data).unwrap(), &a);
            let mut c = a.clone();
            if !c.is_empty() {
                let i = (flip % c.len() as u64) as usize;
                c[i] ^= 1 << (flip % 8);
            }
            for bytes in [&a, &c] {
                let mut x = vec![0u16; n];
                let mut y = vec![0u16; n];
                let rx = word::decode(&m.view(), lanes, bytes, &mut x);
                let ry = word::decode(&plain, lanes, bytes, &mut y);
                prop_assert_eq!(rx, ry);
                prop_assert_eq!(&x, &y);
            }
        }
    }

    #[test]
    fn decoder_total_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..600), n in 0usize..300) {
        let m = Model::from_counts(&[5, 1, 9, 0, 3], 11).unwrap();
        let m2 = Model::from_counts(&[1, 1], 1).unwrap();
        let mut out = vec![0u16; n];
        for lanes in ALL {
            let _ = word::decode(&m.view(), lanes, &bytes, &mut out);
            let _ = word::decode_multi(&[m.view(), m2.view()], lanes, &bytes, &mut out);
        }
    }
}
