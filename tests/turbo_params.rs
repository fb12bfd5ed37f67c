//! Parameter serialization of TurboQuant and QJL: round trips over random configurations
//! (the rebuilt codec equals the original and produces identical codes and scores), and
//! `from_bytes` on arbitrary bytes (raw, or wrapped in a valid container) never panics.
use proptest::prelude::*;
use vector_codecs::format::Writer;
use vector_codecs::qjl::Qjl;
use vector_codecs::qjl::outlier::QjlOutlier;
use vector_codecs::qjl::params::QjlParams;
use vector_codecs::turbo::params::{KIND_MSE, KIND_PROD, MseParams, ProdParams};
use vector_codecs::turbo::{CodebookKind, RotationKind, TurboMse, TurboProd, turbo_mse, turbo_prod};
use vector_codecs::{Codec, Score};

fn rot(h: bool) -> RotationKind {
    if h { RotationKind::Hadamard } else { RotationKind::Haar }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn mse_and_prod_round_trip(dim in 2usize..80, bits in 1u32..=4, seed in any::<u64>(), h in any::<bool>()) {
        let c = turbo_mse(dim, bits, seed, rot(h), CodebookKind::Gaussian).unwrap();
        let back = TurboMse::from_bytes(&c.to_bytes().unwrap()).unwrap();
        prop_assert_eq!(&back, &c);
        let p = turbo_prod(dim, bits + 1, seed, rot(h), CodebookKind::Gaussian).unwrap();
        let pb = TurboProd::from_bytes(&p.to_bytes().unwrap()).unwrap();
        prop_assert_eq!(&pb, &p);
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
    fn qjl_round_trips(dim in 1usize..200, m in 1usize..300, seed in any::<u64>(), o in 0usize..8) {
        let c = Qjl::new(dim, m, seed).unwrap();
        prop_assert_eq!(Qjl::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
        let o = o.min(dim);
        let c = QjlOutlier::new(dim, m, seed, o).unwrap();
        prop_assert_eq!(QjlOutlier::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = MseParams::from_bytes(&bytes);
        let _ = ProdParams::from_bytes(&bytes);
        let _ = QjlParams::from_bytes(&bytes);
        let _ = QjlOutlier::from_bytes(&bytes);
        // The same bytes as a payload of a valid container, so the field checks are reached.
        for kind in [KIND_MSE, KIND_PROD] {
            let mut w = Writer::new(kind);
            w.bytes(&bytes);
            let b = w.finish().unwrap();
            if let Ok(p) = MseParams::from_bytes(&b) {
                prop_assert_eq!(p.to_bytes().unwrap(), b.clone());
            }
            if let Ok(p) = ProdParams::from_bytes(&b) {
                prop_assert_eq!(p.to_bytes().unwrap(), b);
            }
        }
    }

    /// Random fields (not random bytes) in a valid container: accepted iff the rules hold.
    #[test]
    fn random_fields_accepted_iff_valid(dim in 0u32..70000, bits in 0u8..10, rotk in 0u8..3, tag in 0u8..4, k in 0u16..20) {
        let levels: Vec<f32> = (0..k).map(|i| -0.9 + 1.8 * f32::from(i) / f32::from(k.max(2) - 1)).collect();
        let mut w = Writer::new(KIND_MSE);
        w.u32(dim).u8(bits).u64(3).u8(rotk).u8(tag).u16(k).f32s(&levels);
        let b = w.finish().unwrap();
        let full = bits >= 1 && u32::from(k) == 1u32 << bits;
        let fits = (1..=8).contains(&bits) && k >= 2 && u32::from(k) <= 1 << bits && u32::from(k) > 1 << (bits - 1);
        let valid = (2..=65536).contains(&dim)
            && rotk <= 1
            && (rotk == 0 || dim <= 1024)
            && fits
            && match tag { 0 => full && bits <= 4, 1 => full, 2 => true, _ => false };
        prop_assert_eq!(MseParams::from_bytes(&b).is_ok(), valid);
    }
}
