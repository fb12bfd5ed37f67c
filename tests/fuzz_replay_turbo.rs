//! Replays the checked-in seed corpora of the TurboQuant fuzz targets, checks that exactly the
//! `valid_*` seeds of `turbo_restore` restore, and (ignored) regenerates the corpora.
// Each fuzz body is also built alone in the fuzz crate, so each includes the shared
// `turbo_support.rs` itself; here that module is compiled once per body.
#![allow(clippy::duplicate_mod)]
mod common;

#[path = "../fuzz/targets/turbo_codes.rs"]
mod turbo_codes;

#[path = "../fuzz/targets/turbo_split_codes.rs"]
mod turbo_split_codes;

#[path = "../fuzz/targets/turbo_restore.rs"]
mod turbo_restore;

#[path = "../fuzz/targets/qjl_ortho_codes.rs"]
mod qjl_ortho_codes;

use vector_codecs::format::{HEADER_LEN, Reader, Writer};
use vector_codecs::persist::Persist;

#[test]
fn turbo_codes_corpus() {
    assert!(common::replay_corpus("turbo_codes", turbo_codes::run) >= 10);
}

#[test]
fn turbo_split_codes_corpus() {
    assert!(common::replay_corpus("turbo_split_codes", turbo_split_codes::run) >= 10);
}

#[test]
fn qjl_ortho_codes_corpus() {
    assert!(common::replay_corpus("qjl_ortho_codes", qjl_ortho_codes::run) >= 10);
}

#[test]
fn turbo_restore_corpus() {
    assert!(common::replay_corpus("turbo_restore", turbo_restore::run) >= 20);
}

/// Restores `b` (selector byte, parameters) as the type the selector names: consumed in full?
fn restores(b: &[u8]) -> bool {
    use vector_codecs::qjl::{Qjl, ortho::OrthoQjl, outlier::QjlOutlier};
    use vector_codecs::turbo::calibrated::{TurboIpCal, TurboIpCalSplit};
    use vector_codecs::turbo::pca::{TurboPca, TurboPcaLow};
    use vector_codecs::turbo::{TurboMse, TurboMseIp, TurboMseSplit, TurboProd, TurboProdOrtho, TurboProdSplit};
    fn full<C: Persist>(b: &[u8]) -> bool {
        let mut r = Reader::new(b);
        C::restore(&mut r).is_ok() && r.finish().is_ok()
    }
    let Some((&sel, b)) = b.split_first() else { return false };
    match sel % turbo_restore::TYPES {
        0 => full::<TurboMse>(b),
        1 => full::<TurboProd>(b),
        2 => full::<TurboMseSplit>(b),
        3 => full::<TurboProdSplit>(b),
        4 => full::<TurboMseIp>(b),
        5 => full::<TurboProdOrtho>(b),
        6 => full::<Qjl>(b),
        7 => full::<OrthoQjl>(b),
        8 => full::<QjlOutlier>(b),
        9 => full::<TurboIpCal>(b),
        10 => full::<TurboIpCalSplit>(b),
        11 => full::<TurboPca>(b),
        _ => full::<TurboPcaLow>(b),
    }
}

#[test]
fn valid_restore_seeds_restore() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/turbo_restore");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let b = std::fs::read(&p).unwrap();
        assert_eq!(restores(&b), name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 20);
}

/// The selector byte and the persisted parameters of `c`.
fn seed<C: Persist>(sel: u8, c: &C) -> Vec<u8> {
    let mut w = Writer::new(0);
    c.persist(&mut w);
    let mut v = vec![sel];
    let b = w.finish().unwrap();
    v.extend_from_slice(&b[HEADER_LEN..b.len() - 4]);
    v
}

#[test]
#[ignore = "regenerates fuzz/corpus/turbo_restore"]
fn generate_restore_corpus() {
    use vector_codecs::qjl::{Qjl, ortho::OrthoQjl, outlier::QjlOutlier};
    use vector_codecs::turbo::calibrated::{Calibration, train_ip, train_ip_split};
    use vector_codecs::turbo::pca::{train_pca, train_pca_low};
    use vector_codecs::turbo::{CodebookKind as K, RotationKind as R, *};
    use vector_codecs::{ScanMode, ScanModes};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/turbo_restore");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).unwrap();
    let mut rng = vector_codecs::rng::Rng::new(5);
    let mut data = vec![0f32; 300 * 64];
    rng.fill_gaussian(&mut data);
    for (i, v) in data.iter_mut().enumerate() {
        *v *= 1.0 + (i % 64) as f32 * 0.05;
    }
    let cal = Calibration { center: true, per_coordinate: false, trained_codebook: false, rotation: R::Hadamard };
    let trained = Calibration { per_coordinate: true, trained_codebook: true, rotation: R::Haar, ..cal };
    let seeds = [
        ("mse_h64_b4_gauss", seed(0, &turbo_mse(64, 4, 1, R::Hadamard, K::Gaussian).unwrap())),
        ("mse_haar24_b3_beta", seed(0, &turbo_mse(24, 3, 2, R::Haar, K::Beta).unwrap())),
        ("mse_i8", seed(0, &turbo_mse(32, 2, 2, R::Hadamard, K::Beta).unwrap().with_scan(ScanMode::I8).unwrap())),
        ("prod_h32_b3", seed(1, &turbo_prod(32, 3, 4, R::Hadamard, K::Gaussian).unwrap())),
        ("half_h20_b2", seed(2, &turbo_mse_half(20, 2, 1, R::Hadamard, K::Beta).unwrap())),
        ("prodhalf_h16_b3", seed(3, &turbo_prod_half(16, 3, 3, R::Hadamard, K::Gaussian).unwrap())),
        ("ip_h24_b2", seed(4, &turbo_mse_ip(24, 2, 5, R::Hadamard, K::Beta).unwrap())),
        ("prodorth_haar16", seed(5, &turbo_prod_ortho(16, 2, 6, R::Hadamard, K::Beta, R::Haar).unwrap())),
        ("qjl_24_40", seed(6, &Qjl::new(24, 40, 7).unwrap())),
        ("orthoqjl_h33", seed(7, &OrthoQjl::new(33, R::Hadamard, 8).unwrap())),
        ("outlier_24_64_8", seed(8, &QjlOutlier::new(24, 64, 5, 8).unwrap())),
        ("cal_64_b2", seed(9, &train_ip(&data, 64, 2, 9, cal).unwrap())),
        ("cal_trained_64_b1", seed(9, &train_ip(&data, 64, 1, 9, trained).unwrap())),
        ("calsplit_64", seed(10, &train_ip_split(&data, 64, 8, 1, 9, cal).unwrap())),
        ("pca_64_b2", seed(11, &train_pca(&data, 64, 2).unwrap())),
        ("pcalow_64", seed(12, &train_pca_low(&data, 64, 96).unwrap())),
    ];
    for (name, b) in &seeds {
        write(&format!("valid_{name}"), b);
        write(&format!("{name}_short"), &b[..b.len() - 1]);
    }
    // Hand-made corruptions of a TurboMse (rotation u8 kind, u32 dim, u64 seed; scalar u32 dim,
    // codebook, u8 scan).
    let mse = |kind: u8, dim: u32, sdim: u32, cb: &[u8], scan: u8| {
        let mut v = vec![0u8, kind];
        v.extend_from_slice(&dim.to_le_bytes());
        v.extend_from_slice(&9u64.to_le_bytes());
        v.extend_from_slice(&sdim.to_le_bytes());
        v.extend_from_slice(cb);
        v.push(scan);
        v
    };
    let levels = |lv: &[f32]| {
        let mut v = vec![0u8];
        v.extend_from_slice(&(lv.len() as u16).to_le_bytes());
        lv.iter().for_each(|x| v.extend_from_slice(&x.to_le_bytes()));
        v
    };
    let derived = |tag: u8, bits: u8, d: u32| {
        let mut v = vec![tag, bits];
        v.extend_from_slice(&d.to_le_bytes());
        v
    };
    write("valid_mse_explicit3", &mse(0, 10, 10, &levels(&[-0.4, -0.1, 0.2]), 0));
    write("lying_dim", &mse(0, u32::MAX, 8, &levels(&[-0.5, 0.5]), 0));
    write("haar_too_large", &mse(1, 5000, 5000, &levels(&[-0.5, 0.5]), 0));
    write("nan_level", &mse(0, 8, 8, &levels(&[f32::NAN, 0.5]), 0));
    write("unsorted_levels", &mse(0, 8, 8, &levels(&[0.5, -0.5]), 0));
    write("lying_level_count", &mse(0, 8, 8, &levels(&[-0.5, 0.5])[..5], 0));
    write("gauss_5_bits", &mse(0, 8, 8, &derived(1, 5, 8), 0));
    write("beta_sphere_dim_1", &mse(0, 8, 8, &derived(2, 2, 1), 0));
    write("unknown_codebook_tag", &mse(0, 8, 8, &derived(7, 2, 8), 0));
    write("i8_on_3_bits", &mse(0, 8, 8, &derived(1, 3, 8), 1));
    write("unknown_scan", &mse(0, 8, 8, &derived(1, 2, 8), 2));
    write("dim_mismatch", &mse(0, 8, 9, &derived(1, 2, 8), 0));
    let mut big = vec![6u8];
    big.extend_from_slice(&4096u32.to_le_bytes());
    big.extend_from_slice(&8192u32.to_le_bytes());
    big.extend_from_slice(&1u64.to_le_bytes());
    write("qjl_too_large", &big);
    // Row 0 of the PCA matrix off unit length: selector, mean (u32 count + 64 floats), dim.
    let mut pca = seeds.iter().find(|s| s.0 == "pca_64_b2").unwrap().1.clone();
    let at = 1 + 4 + 4 * 64 + 4;
    let v = f32::from_le_bytes(pca[at..at + 4].try_into().unwrap());
    pca[at..at + 4].copy_from_slice(&(v + 2.0).to_le_bytes());
    write("pca_row_not_unit", &pca);
}

#[test]
#[ignore = "regenerates fuzz/corpus/turbo_codes and turbo_split_codes"]
fn generate_code_corpora() {
    use vector_codecs::turbo::{
        CodebookKind as K, RotationKind as R, turbo_mse, turbo_mse_half, turbo_mse_ip, turbo_prod, turbo_prod_half,
    };
    use vector_codecs::{Codec, Decode, Score};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for t in ["turbo_codes", "turbo_split_codes"] {
        std::fs::create_dir_all(dir.join(t)).unwrap();
    }
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
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
