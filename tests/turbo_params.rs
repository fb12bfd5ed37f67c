//! Parameter persistence of TurboQuant and QJL ([`Persist`]): round trips over random
//! configurations (the restored codec equals the original, persists to the same bytes and
//! produces identical codes and scores), and `restore` on arbitrary bytes never panics.
use proptest::prelude::*;
use vector_codecs::ScanMode;
use vector_codecs::format::{HEADER_LEN, Reader, Writer};
use vector_codecs::persist::Persist;
use vector_codecs::qjl::Qjl;
use vector_codecs::qjl::ortho::OrthoQjl;
use vector_codecs::qjl::outlier::QjlOutlier;
use vector_codecs::turbo::{
    CodebookKind, RotationKind, TurboMse, TurboMseIp, TurboMseSplit, TurboProd, TurboProdOrtho, turbo_mse,
    turbo_mse_half, turbo_mse_ip, turbo_prod, turbo_prod_ortho,
};
use vector_codecs::{Codec, ScanModes, Score};

fn rot(h: bool) -> RotationKind {
    if h { RotationKind::Hadamard } else { RotationKind::Haar }
}

fn bytes<C: Persist>(c: &C) -> Vec<u8> {
    let mut w = Writer::new(0);
    c.persist(&mut w);
    let b = w.finish().unwrap();
    b[HEADER_LEN..b.len() - 4].to_vec()
}

/// Restores `b` in full (every byte consumed).
fn restore<C: Persist>(b: &[u8]) -> vector_codecs::Result<C> {
    let mut r = Reader::new(b);
    let c = C::restore(&mut r)?;
    r.finish()?;
    Ok(c)
}

/// Restores `c`'s bytes, checks equality and identical bytes; every truncation is an error.
fn round_trip<C: Persist + PartialEq + std::fmt::Debug>(c: &C) -> C {
    let b = bytes(c);
    let back: C = restore(&b).unwrap();
    assert_eq!(&back, c);
    assert_eq!(bytes(&back), b);
    for cut in 0..b.len() {
        assert!(restore::<C>(&b[..cut]).is_err(), "truncated at {cut} of {}", b.len());
    }
    back
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn mse_and_prod_round_trip(dim in 2usize..80, bits in 1u32..=4, seed in any::<u64>(), h in any::<bool>()) {
        let kind = if bits % 2 == 0 { CodebookKind::Gaussian } else { CodebookKind::Beta };
        let c = turbo_mse(dim, bits, seed, rot(h), kind).unwrap();
        round_trip(&c);
        let p = turbo_prod(dim, bits + 1, seed, rot(h), kind).unwrap();
        let pb = round_trip(&p);
        let x: Vec<f32> = (0..dim).map(|i| ((i as u64 ^ seed) % 13) as f32 - 6.0).collect();
        let (mut c1, mut c2) = (vec![0u8; p.code_len()], vec![0u8; p.code_len()]);
        p.encode_into(&x, &mut c1).unwrap();
        pb.encode_into(&x, &mut c2).unwrap();
        prop_assert_eq!(&c1, &c2);
        let (mut s1, mut s2) = (p.scratch(), pb.scratch());
        let q1 = p.prepare(&x, &mut s1).unwrap();
        let q2 = pb.prepare(&x, &mut s2).unwrap();
        prop_assert_eq!(p.score(&q1, &c1).unwrap().to_bits(), pb.score(&q2, &c1).unwrap().to_bits());
    }

    #[test]
    fn split_ip_ortho_and_scan_modes_round_trip(dim in 2usize..64, bits in 1u32..=3, seed in any::<u64>(), h in any::<bool>()) {
        round_trip(&turbo_mse_half(dim, bits, seed, rot(h), CodebookKind::Beta).unwrap());
        round_trip(&turbo_mse_ip(dim, bits, seed, rot(h), CodebookKind::Gaussian).unwrap());
        round_trip(&turbo_prod_ortho(dim, bits + 1, seed, RotationKind::Hadamard, CodebookKind::Beta, rot(h)).unwrap());
        round_trip(&OrthoQjl::new(dim, rot(h), seed).unwrap());
        if bits != 3 {
            let i8 = turbo_mse_ip(dim, bits, seed, rot(h), CodebookKind::Beta).unwrap().with_scan(ScanMode::I8).unwrap();
            prop_assert_eq!(round_trip(&i8).scan_mode(), ScanMode::I8);
        }
    }

    #[test]
    fn qjl_round_trips(dim in 1usize..200, m in 1usize..300, seed in any::<u64>(), o in 0usize..8) {
        round_trip(&Qjl::new(dim, m, seed).unwrap());
        round_trip(&QjlOutlier::new(dim, m, seed, o.min(dim)).unwrap());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = restore::<TurboMse>(&bytes);
        let _ = restore::<TurboProd>(&bytes);
        let _ = restore::<TurboMseSplit>(&bytes);
        let _ = restore::<TurboMseIp>(&bytes);
        let _ = restore::<TurboProdOrtho>(&bytes);
        let _ = restore::<Qjl>(&bytes);
        let _ = restore::<QjlOutlier>(&bytes);
        let _ = restore::<OrthoQjl>(&bytes);
    }

    /// Random fields (not random bytes) of a `TurboMse` with stored levels: accepted iff the
    /// rules hold.
    #[test]
    fn random_fields_accepted_iff_valid(dim in 0u32..70000, rotk in 0u8..3, k in 0u16..20, scan in 0u8..3) {
        let levels: Vec<f32> = (0..k).map(|i| -0.9 + 1.8 * f32::from(i) / f32::from(k.max(2) - 1)).collect();
        let mut w = Writer::new(0);
        w.u8(rotk).u32(dim).u64(3).u32(dim).u8(0).u16(k).f32s(&levels).u8(scan);
        let b = w.finish().unwrap();
        let b = b[HEADER_LEN..b.len() - 4].to_vec();
        let bits = if k >= 2 { 32 - u32::from(k - 1).leading_zeros() } else { 0 };
        let valid = (1..=65536).contains(&dim)
            && rotk <= 1
            && (rotk == 0 || dim <= 1024)
            && (2..=256).contains(&k)
            && (scan == 0 || (scan == 1 && matches!(bits, 1 | 2 | 4)));
        let got = restore::<TurboMse>(&b);
        prop_assert_eq!(got.is_ok(), valid, "{:?}", got.err());
    }
}

#[test]
fn haar_rotations_above_the_restore_bound_are_corrupt() {
    let c = turbo_mse(1025, 2, 1, RotationKind::Haar, CodebookKind::Gaussian).unwrap();
    assert!(matches!(restore::<TurboMse>(&bytes(&c)), Err(vector_codecs::Error::Corrupt(_))));
}
