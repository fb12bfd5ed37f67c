//! Replays the checked-in seed corpora of the entropy fuzz targets (and, with `--ignored`,
//! regenerates them from real encoded samples plus corrupt variants).
mod common;

#[path = "../fuzz/targets/entropy_coded.rs"]
mod entropy_coded;
#[path = "../fuzz/targets/entropy_lossless.rs"]
mod entropy_lossless;
#[path = "../fuzz/targets/entropy_model.rs"]
mod entropy_model;
#[path = "../fuzz/targets/entropy_range.rs"]
mod entropy_range;
#[path = "../fuzz/targets/entropy_rans32.rs"]
mod entropy_rans32;
#[path = "../fuzz/targets/entropy_rans64.rs"]
mod entropy_rans64;
#[path = "../fuzz/targets/entropy_word.rs"]
mod entropy_word;

#[test]
fn entropy_corpora() {
    assert!(common::replay_corpus("entropy_rans32", entropy_rans32::run) >= 3);
    assert!(common::replay_corpus("entropy_rans64", entropy_rans64::run) >= 3);
    assert!(common::replay_corpus("entropy_word", entropy_word::run) >= 3);
    assert!(common::replay_corpus("entropy_range", entropy_range::run) >= 3);
    assert!(common::replay_corpus("entropy_model", entropy_model::run) >= 3);
    assert!(common::replay_corpus("entropy_coded", entropy_coded::run) >= 3);
    assert!(common::replay_corpus("entropy_lossless", entropy_lossless::run) >= 3);
}

#[test]
#[ignore = "regenerates fuzz/corpus/entropy_*"]
fn generate_corpora() {
    use vector_codecs::entropy::lossless::{FloatKind, LosslessConfig, compress};
    use vector_codecs::entropy::model::Model;
    use vector_codecs::entropy::range::RangeEncoder;
    use vector_codecs::entropy::rans::{rans32, rans64};
    use vector_codecs::entropy::word::{self, Lanes};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
    let corrupt = |b: &[u8]| {
        let mut c = b.to_vec();
        let i = c.len() / 2;
        if let Some(x) = c.get_mut(i) {
            *x ^= 0x41;
        }
        c
    };
    let m = Model::from_counts(&[40, 3, 17, 1, 0, 9, 30, 2], 12).unwrap();
    let m16 = Model::from_counts(&[40, 3, 17, 1, 0, 9, 30, 2], 16).unwrap();
    let syms: Vec<u16> = (0..400u32).map(|i| [0u16, 2, 6, 0, 5, 1, 3, 7, 6, 0][(i % 10) as usize]).collect();
    for (t, enc) in [("entropy_rans32", 0), ("entropy_rans64", 1)] {
        for (k, n) in [(0, 40usize), (1, 100), (2, 400)] {
            let s = &syms[..n];
            let b = if enc == 0 {
                rans32::encode_vec(&[m.view()], s).unwrap()
            } else {
                rans64::encode_vec(&[m16.view()], s).unwrap()
            };
            let mut f = vec![(n / 4) as u8];
            f.extend_from_slice(&b);
            write(t, &format!("valid_{k}"), &f);
            write(t, &format!("corrupt_{k}"), &corrupt(&f));
        }
    }
    let b15 = Model::from_counts(&[1, 1, 5], 15).unwrap();
    for (k, lanes) in [Lanes::L4, Lanes::L8, Lanes::L32].into_iter().enumerate() {
        let b = word::encode_vec(&[m.view()], lanes, &syms[..200]).unwrap();
        let mut f = vec![k as u8, 50];
        f.extend_from_slice(&b);
        write("entropy_word", &format!("valid_{k}"), &f);
        write("entropy_word", &format!("corrupt_{k}"), &corrupt(&f));
        let mixed: Vec<u16> =
            syms[..200].iter().enumerate().map(|(i, &s)| if i % 2 == 1 { s % 3 } else { s }).collect();
        let b = word::encode_vec(&[m.view(), b15.view()], lanes, &mixed).unwrap();
        let mut f = vec![k as u8 | 4, 50];
        f.extend_from_slice(&b);
        write("entropy_word", &format!("multi_{k}"), &f);
    }
    let mut buf = vec![0u8; 4096];
    let mut e = RangeEncoder::new(&mut buf);
    for i in 0..64u64 {
        e.enc_uint(i % (i * i + 2), i * i + 2).unwrap();
        e.enc_bits(i as u32, 7).unwrap();
    }
    let len = e.finish().unwrap();
    write("entropy_range", "valid_0", &buf[..len]);
    write("entropy_range", "corrupt_0", &corrupt(&buf[..len]));
    write("entropy_range", "zeros", &[0u8; 64]);
    write("entropy_range", "ones", &[0xffu8; 64]);
    write("entropy_model", "valid_0", &m.to_bytes().unwrap());
    write("entropy_model", "valid_1", &Model::from_counts(&[1; 300], 16).unwrap().to_bytes().unwrap());
    write("entropy_model", "corrupt_0", &corrupt(&m.to_bytes().unwrap()));
    let mut w = vector_codecs::format::Writer::new(0x0601);
    w.u8(4).u32(2).u8(8).u8(9);
    write("entropy_model", "bad_sum", &w.finish().unwrap());
    // Coded blocks: same shape as the fuzz body's models and tiny codec (6 symbols + 2 side).
    let models: Vec<Model> =
        (0..6u64).map(|p| Model::from_counts(&[1 + p, 5, 9, 1, 2, 30, 1, 7], 12).unwrap()).collect();
    let views: Vec<_> = models.iter().map(Model::view).collect();
    for (k, nb) in [(0usize, 1usize), (1, 10), (2, 63)] {
        let s: Vec<u16> = (0..nb * 6).map(|i| ((i * 5) % 8) as u16).collect();
        let mut f = vec![nb as u8];
        f.extend((0..nb * 2).map(|i| i as u8));
        f.extend_from_slice(&word::encode_vec(&views, Lanes::L4, &s).unwrap());
        write("entropy_coded", &format!("valid_{k}"), &f);
        write("entropy_coded", &format!("corrupt_{k}"), &corrupt(&f));
    }
    let mut rng = vector_codecs::rng::Rng::new(1);
    let v: Vec<u16> = (0..3000).map(|_| ((rng.gaussian() as f32 * 0.02).to_bits() >> 16) as u16).collect();
    for (k, kind, top) in [(0, FloatKind::Bf16, 2u32), (1, FloatKind::F16, 1), (2, FloatKind::Bf16, 0)] {
        let b =
            compress(kind, &v, &LosslessConfig { block_len: 1024, top_bits: top, scale_bits: 11, lanes: Lanes::L8 })
                .unwrap();
        write("entropy_lossless", &format!("valid_v2_{k}"), &b);
        write("entropy_lossless", &format!("corrupt_v2_{k}"), &corrupt(&b));
    }
    let f32s: Vec<f32> = (0..500).map(|_| rng.gaussian() as f32).collect();
    let b =
        vector_codecs::entropy::lossless::compress_f32(&f32s, &LosslessConfig { block_len: 200, ..Default::default() })
            .unwrap();
    write("entropy_lossless", "valid_v2_f32", &b);
}

/// The `valid_*` seeds are real encoded samples: they must decode successfully (so the fuzzer
/// starts from inputs that reach the decoders' deep paths).
#[test]
fn valid_seeds_decode() {
    use vector_codecs::entropy::lossless::{FloatKind, LosslessFloats};
    use vector_codecs::entropy::model::Model;
    use vector_codecs::entropy::rans::{rans32, rans64};
    use vector_codecs::entropy::word::{self, Lanes};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let read = |t: &str, f: &str| std::fs::read(dir.join(t).join(f)).unwrap();
    let m = Model::from_counts(&[40, 3, 17, 1, 0, 9, 30, 2], 12).unwrap();
    let m16 = Model::from_counts(&[40, 3, 17, 1, 0, 9, 30, 2], 16).unwrap();
    for k in 0..3 {
        let b = read("entropy_rans32", &format!("valid_{k}"));
        let mut out = vec![0u16; usize::from(b[0]) * 4];
        rans32::decode(&m.view(), &b[1..], &mut out).unwrap();
        let b = read("entropy_rans64", &format!("valid_{k}"));
        let mut out = vec![0u16; usize::from(b[0]) * 4];
        rans64::decode(&m16.view(), &b[1..], &mut out).unwrap();
        let b = read("entropy_word", &format!("valid_{k}"));
        let lanes = [Lanes::L4, Lanes::L8, Lanes::L32][usize::from(b[0] & 3)];
        let mut out = vec![0u16; usize::from(b[1]) * 4];
        word::decode(&m.view(), lanes, &b[2..], &mut out).unwrap();
        // Lossless streams (version 2, the only version) decode; a version-1 header (the
        // removed 64-bit coder) is refused.
        let mut b = read("entropy_lossless", &format!("valid_v2_{k}"));
        let f = LosslessFloats::open(&b).unwrap();
        assert_ne!(f.kind(), FloatKind::F32);
        assert_eq!(f.version(), 2);
        let mut out = vec![0u16; f.len()];
        f.decode_all(&mut out).unwrap();
        b[4] = 1;
        assert!(matches!(LosslessFloats::open(&b), Err(vector_codecs::Error::UnsupportedVersion(1))));
    }
    Model::from_bytes(&read("entropy_model", "valid_0")).unwrap();
}
