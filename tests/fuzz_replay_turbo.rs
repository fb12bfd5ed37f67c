//! Replays the checked-in seed corpora of the TurboQuant fuzz targets, checks that exactly the
//! `valid_*` parameter seeds parse, and (ignored) regenerates the corpora.
// Each fuzz body is also built alone in the fuzz crate, so each includes the shared
// `turbo_support.rs` itself; here that module is compiled once per body.
#![allow(clippy::duplicate_mod)]
mod common;

#[path = "../fuzz/targets/turbo_params.rs"]
mod turbo_params;

#[path = "../fuzz/targets/turbo_codes.rs"]
mod turbo_codes;

#[path = "../fuzz/targets/turbo_split_params.rs"]
mod turbo_split_params;

#[path = "../fuzz/targets/turbo_split_codes.rs"]
mod turbo_split_codes;

#[path = "../fuzz/targets/turbo_ortho_params.rs"]
mod turbo_ortho_params;

#[path = "../fuzz/targets/qjl_ortho_codes.rs"]
mod qjl_ortho_codes;

use vector_codecs::turbo::params::{MseParams, ProdParams};

#[test]
fn turbo_params_corpus() {
    assert!(common::replay_corpus("turbo_params", turbo_params::run) >= 10);
}

#[test]
fn turbo_codes_corpus() {
    assert!(common::replay_corpus("turbo_codes", turbo_codes::run) >= 10);
}

#[test]
fn turbo_split_params_corpus() {
    assert!(common::replay_corpus("turbo_split_params", turbo_split_params::run) >= 10);
}

#[test]
fn turbo_split_codes_corpus() {
    assert!(common::replay_corpus("turbo_split_codes", turbo_split_codes::run) >= 10);
}

#[test]
fn valid_split_parameter_seeds_parse() {
    use vector_codecs::turbo::params::{MseIpParams, MseSplitParams, ProdSplitParams};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/turbo_split_params");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let b = std::fs::read(&p).unwrap();
        let ok = MseSplitParams::from_bytes(&b).is_ok()
            || ProdSplitParams::from_bytes(&b).is_ok()
            || MseIpParams::from_bytes(&b).is_ok();
        assert_eq!(ok, name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
#[ignore = "regenerates fuzz/corpus/turbo_split_*"]
fn generate_split_corpora() {
    use vector_codecs::format::Writer;
    use vector_codecs::turbo::params::{KIND_MSE_IP, KIND_MSE_SPLIT, KIND_PROD_SPLIT};
    use vector_codecs::turbo::{CodebookKind as K, RotationKind as R, turbo_mse_half, turbo_mse_ip, turbo_prod_half};
    use vector_codecs::{Codec, Decode, Score};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for t in ["turbo_split_params", "turbo_split_codes"] {
        std::fs::create_dir_all(dir.join(t)).unwrap();
    }
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
    // Parameters.
    let t = "turbo_split_params";
    write(t, "valid_half_h20_b2_beta", &turbo_mse_half(20, 2, 1, R::Hadamard, K::Beta).unwrap().to_bytes().unwrap());
    write(
        t,
        "valid_half_haar13_b1_gauss",
        &turbo_mse_half(13, 1, 2, R::Haar, K::Gaussian).unwrap().to_bytes().unwrap(),
    );
    write(
        t,
        "valid_prodhalf_h16_b3_gauss",
        &turbo_prod_half(16, 3, 3, R::Hadamard, K::Gaussian).unwrap().to_bytes().unwrap(),
    );
    write(
        t,
        "valid_prodhalf_haar10_b2_beta",
        &turbo_prod_half(10, 2, 4, R::Haar, K::Beta).unwrap().to_bytes().unwrap(),
    );
    write(t, "valid_ip_h24_b2_beta", &turbo_mse_ip(24, 2, 5, R::Hadamard, K::Beta).unwrap().to_bytes().unwrap());
    write(t, "valid_ip_haar13_b1_gauss", &turbo_mse_ip(13, 1, 6, R::Haar, K::Gaussian).unwrap().to_bytes().unwrap());
    let mut b = turbo_mse_half(64, 3, 1, R::Hadamard, K::Gaussian).unwrap().to_bytes().unwrap();
    let n = b.len();
    b[n / 2] ^= 0x20;
    write(t, "bad_checksum", &b);
    let split = |dim: u32, k: u32, rot: u8, a: (u8, u8, &[f32]), b: (u8, u8, &[f32])| {
        let mut w = Writer::new(KIND_MSE_SPLIT);
        w.u32(dim).u32(k).u64(9).u8(rot);
        for (bits, tag, lv) in [a, b] {
            w.u8(bits).u8(tag).u16(lv.len() as u16).f32s(lv);
        }
        w.finish().unwrap()
    };
    let two: &[f32] = &[-0.5, 0.5];
    let four: &[f32] = &[-0.6, -0.2, 0.2, 0.6];
    write(t, "valid_split_explicit", &split(8, 3, 0, (2, 2, four), (1, 2, two)));
    write(t, "k_equals_dim", &split(8, 8, 0, (2, 2, four), (1, 2, two)));
    write(t, "lying_dim", &split(u32::MAX, 4, 0, (2, 2, four), (1, 2, two)));
    write(t, "haar_too_large", &split(5000, 4, 1, (2, 2, four), (1, 2, two)));
    write(t, "nan_level", &split(8, 4, 0, (2, 2, four), (1, 2, &[f32::NAN, 0.5])));
    write(t, "level_out_of_range", &split(8, 4, 0, (2, 2, &[-9.0, -0.2, 0.2, 0.6]), (1, 2, two)));
    write(t, "lying_level_count", &split(8, 4, 0, (8, 2, four), (1, 2, two)).into_iter().take(50).collect::<Vec<_>>());
    let mut w = Writer::new(KIND_PROD_SPLIT);
    w.u32(4096).u32(2048).u64(1).u8(0);
    w.u8(1).u8(2).u16(2).f32s(two).u8(1).u8(2).u16(2).f32s(two).u32(65536).u64(3);
    write(t, "prod_sketch_too_large", &w.finish().unwrap());
    let mut w = Writer::new(KIND_MSE_IP);
    w.u32(8).u8(2).u64(1).u8(0).u8(2).u16(2).f32s(two);
    write(t, "ip_bits_level_mismatch", &w.finish().unwrap());
    // Codes: selector byte, then a real code (or a corrupted one); see turbo_split_codes.rs.
    let t = "turbo_split_codes";
    let x = |d: usize, s: usize| (0..d).map(|i| ((i * 7 + s * 13) % 17) as f32 - 8.0).collect::<Vec<f32>>();
    let codes = |c: &dyn Fn(&[f32], &mut [u8]), len: usize, d: usize, sel: u8| {
        (0..2)
            .map(|s| {
                let mut code = vec![0u8; len];
                c(&x(d, s), &mut code);
                let mut v = vec![sel];
                v.extend_from_slice(&code);
                v
            })
            .collect::<Vec<_>>()
    };
    let c0 = turbo_mse_half(20, 2, 1, R::Hadamard, K::Beta).unwrap();
    let c1 = turbo_prod_half(16, 3, 2, R::Hadamard, K::Gaussian).unwrap();
    let c2 = turbo_mse_ip(24, 2, 3, R::Hadamard, K::Beta).unwrap();
    let c3 = turbo_mse_ip(13, 1, 4, R::Haar, K::Gaussian).unwrap();
    let all = [
        ("half20_b2", codes(&|v, o| c0.encode_into(v, o).unwrap(), c0.code_len(), 20, 0), 7usize),
        ("prodhalf16_b3", codes(&|v, o| c1.encode_into(v, o).unwrap(), c1.code_len(), 16, 1), 5),
        ("ip24_b2", codes(&|v, o| c2.encode_into(v, o).unwrap(), c2.code_len(), 24, 2), 6),
        ("ip13_b1_haar", codes(&|v, o| c3.encode_into(v, o).unwrap(), c3.code_len(), 13, 3), 2),
    ];
    for (name, cs, norm_at) in all {
        for (i, c) in cs.iter().enumerate() {
            write(t, &format!("{name}_{i}"), c);
        }
        for (tag, v) in [("nan", f32::NAN), ("inf", f32::INFINITY), ("neg", -1.0), ("huge", f32::MAX)] {
            let mut c = cs[0].clone();
            c[1 + norm_at..5 + norm_at].copy_from_slice(&v.to_le_bytes());
            write(t, &format!("{name}_{tag}_norm"), &c);
        }
        write(t, &format!("{name}_short"), &cs[0][..cs[0].len() - 3]);
    }
    // The real codes decode and score.
    let code = &codes(&|v, o| c1.encode_into(v, o).unwrap(), c1.code_len(), 16, 1)[0][1..];
    let mut y = vec![0f32; 16];
    c1.decode_into(code, &mut y).unwrap();
    let mut s = c1.scratch();
    let q = c1.prepare(&y, &mut s).unwrap();
    assert!(c1.score(&q, code).unwrap().is_finite());
}

#[test]
fn valid_parameter_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/turbo_params");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let b = std::fs::read(&p).unwrap();
        let ok = MseParams::from_bytes(&b).is_ok() || ProdParams::from_bytes(&b).is_ok();
        assert_eq!(ok, name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
#[ignore = "regenerates fuzz/corpus/turbo_*"]
fn generate_corpora() {
    use vector_codecs::compose::Rotated;
    use vector_codecs::format::Writer;
    use vector_codecs::scalar::lloyd::Codebook;
    use vector_codecs::transform::RandomizedHadamard;
    use vector_codecs::turbo::params::{KIND_MSE, KIND_PROD};
    use vector_codecs::turbo::{CodebookKind as K, NormScalar, Rotation, RotationKind as R, turbo_mse, turbo_prod};
    use vector_codecs::{Codec, Decode, Score};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
    // Parameters.
    let t = "turbo_params";
    write(t, "valid_mse_h64_b4_gauss", &turbo_mse(64, 4, 1, R::Hadamard, K::Gaussian).unwrap().to_bytes().unwrap());
    write(t, "valid_mse_haar48_b3_beta", &turbo_mse(48, 3, 2, R::Haar, K::Beta).unwrap().to_bytes().unwrap());
    write(t, "valid_mse_h13_b1_gauss", &turbo_mse(13, 1, 3, R::Hadamard, K::Gaussian).unwrap().to_bytes().unwrap());
    write(t, "valid_prod_h32_b3_gauss", &turbo_prod(32, 3, 4, R::Hadamard, K::Gaussian).unwrap().to_bytes().unwrap());
    write(t, "valid_prod_haar24_b2_beta", &turbo_prod(24, 2, 5, R::Haar, K::Beta).unwrap().to_bytes().unwrap());
    let explicit = Rotated::new(
        Rotation::Hadamard(RandomizedHadamard::new(10, 6).unwrap()),
        NormScalar::new(10, Codebook::new(&[-0.4, -0.1, 0.2]).unwrap()).unwrap(),
    )
    .unwrap();
    write(t, "valid_mse_explicit3", &explicit.to_bytes().unwrap());
    let mut b = turbo_mse(64, 2, 1, R::Hadamard, K::Gaussian).unwrap().to_bytes().unwrap();
    let n = b.len();
    b[n / 2] ^= 0x20;
    write(t, "bad_checksum", &b);
    let mse = |dim: u32, bits: u8, rot: u8, tag: u8, lv: &[f32]| {
        let mut w = Writer::new(KIND_MSE);
        w.u32(dim).u8(bits).u64(9).u8(rot).u8(tag).u16(lv.len() as u16).f32s(lv);
        w.finish().unwrap()
    };
    write(t, "lying_dim", &mse(u32::MAX, 1, 0, 2, &[-0.5, 0.5]));
    write(t, "haar_too_large", &mse(5000, 1, 1, 2, &[-0.5, 0.5]));
    write(t, "nan_level", &mse(8, 1, 0, 2, &[f32::NAN, 0.5]));
    write(t, "lying_level_count", &mse(8, 8, 0, 2, &[-0.5, 0.5]).iter().copied().take(40).collect::<Vec<_>>());
    let mut w = Writer::new(KIND_PROD);
    w.u32(4096).u8(1).u64(1).u8(0).u8(2).u16(2).f32s(&[-0.5, 0.5]).u32(65536).u64(3);
    write(t, "prod_sketch_too_large", &w.finish().unwrap());
    let mut w = Writer::new(KIND_MSE + 0x40);
    w.u32(8);
    write(t, "wrong_kind", &w.finish().unwrap());
    // Codes: selector byte, then a real code (or a corrupted one).
    let t = "turbo_codes";
    let x = |d: usize, s: usize| (0..d).map(|i| ((i * 7 + s * 13) % 17) as f32 - 8.0).collect::<Vec<f32>>();
    let codes = |c: &dyn Fn(&[f32], &mut [u8]), len: usize, d: usize, sel: u8| {
        (0..2)
            .map(|s| {
                let mut code = vec![0u8; len];
                c(&x(d, s), &mut code);
                let mut v = vec![sel];
                v.extend_from_slice(&code);
                v
            })
            .collect::<Vec<_>>()
    };
    let c0 = turbo_mse(64, 4, 1, R::Hadamard, K::Gaussian).unwrap();
    let c1 = turbo_mse(13, 3, 2, R::Haar, K::Beta).unwrap();
    let c2 = turbo_prod(32, 3, 3, R::Hadamard, K::Gaussian).unwrap();
    let c3 = turbo_prod(20, 2, 4, R::Hadamard, K::Beta).unwrap();
    let all = [
        ("mse64_b4", codes(&|v, o| c0.encode_into(v, o).unwrap(), c0.code_len(), 64, 0), 32usize),
        ("mse13_b3_haar", codes(&|v, o| c1.encode_into(v, o).unwrap(), c1.code_len(), 13, 1), 5),
        ("prod32_b3", codes(&|v, o| c2.encode_into(v, o).unwrap(), c2.code_len(), 32, 2), 16),
        ("prod20_b2", codes(&|v, o| c3.encode_into(v, o).unwrap(), c3.code_len(), 20, 3), 3),
    ];
    for (name, cs, norm_at) in all {
        for (i, c) in cs.iter().enumerate() {
            write(t, &format!("{name}_{i}"), c);
        }
        for (tag, v) in [("nan", f32::NAN), ("inf", f32::INFINITY), ("neg", -1.0), ("huge", f32::MAX)] {
            let mut c = cs[0].clone();
            c[1 + norm_at..5 + norm_at].copy_from_slice(&v.to_le_bytes());
            write(t, &format!("{name}_{tag}_norm"), &c);
        }
        write(t, &format!("{name}_short"), &cs[0][..cs[0].len() - 3]);
    }
    // The real codes decode and score.
    let mut y = vec![0f32; 32];
    let code = &codes(&|v, o| c2.encode_into(v, o).unwrap(), c2.code_len(), 32, 2)[0][1..];
    c2.decode_into(code, &mut y).unwrap();
    let mut s = c2.scratch();
    let q = c2.prepare(&y, &mut s).unwrap();
    assert!(c2.score(&q, code).unwrap().is_finite());
}

#[test]
fn turbo_ortho_params_corpus() {
    assert!(common::replay_corpus("turbo_ortho_params", turbo_ortho_params::run) >= 10);
    // The valid seeds parse, the corrupt ones do not.
    use vector_codecs::turbo::params::{OrthoQjlParams, ProdOrthoParams};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/turbo_ortho_params");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let b = std::fs::read(&p).unwrap();
        let ok = OrthoQjlParams::from_bytes(&b).is_ok() || ProdOrthoParams::from_bytes(&b).is_ok();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(ok, name.starts_with("valid"), "{name}");
    }
}

#[test]
fn qjl_ortho_codes_corpus() {
    assert!(common::replay_corpus("qjl_ortho_codes", qjl_ortho_codes::run) >= 10);
}
