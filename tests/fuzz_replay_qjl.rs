//! Replays the checked-in seed corpora of the QJL fuzz targets, checks that exactly the
//! `valid_*` parameter seeds parse, and (ignored) regenerates the corpora.
mod common;

#[path = "../fuzz/targets/qjl_params.rs"]
mod qjl_params;

#[path = "../fuzz/targets/qjl_codes.rs"]
mod qjl_codes;

use vector_codecs::qjl::params::QjlParams;

#[test]
fn qjl_params_corpus() {
    assert!(common::replay_corpus("qjl_params", qjl_params::run) >= 8);
}

#[test]
fn qjl_codes_corpus() {
    assert!(common::replay_corpus("qjl_codes", qjl_codes::run) >= 10);
}

#[test]
fn valid_parameter_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/qjl_params");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let b = std::fs::read(&p).unwrap();
        let ok = QjlParams::from_bytes(&b).is_ok() || vector_codecs::qjl::outlier::QjlOutlier::from_bytes(&b).is_ok();
        assert_eq!(ok, name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 8);
}

#[test]
#[ignore = "regenerates fuzz/corpus/qjl_*"]
fn generate_corpora() {
    use vector_codecs::Codec;
    use vector_codecs::format::Writer;
    use vector_codecs::qjl::Qjl;
    use vector_codecs::qjl::params::KIND;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
    let t = "qjl_params";
    for (d, m) in [(16usize, 16usize), (24, 64), (9, 13), (128, 256)] {
        write(t, &format!("valid_{d}_{m}"), &Qjl::new(d, m, 7).unwrap().to_bytes().unwrap());
    }
    let raw = |d: u32, m: u32, extra: bool| {
        let mut w = Writer::new(KIND);
        w.u32(d).u32(m).u64(1);
        if extra {
            w.u8(0);
        }
        w.finish().unwrap()
    };
    write(t, "lying_dim", &raw(u32::MAX, 8, false));
    write(t, "zero_m", &raw(8, 0, false));
    write(t, "too_many_entries", &raw(4096, 8192, false));
    write(t, "trailing", &raw(8, 8, true));
    let mut b = raw(8, 8, false);
    b[14] ^= 1;
    write(t, "bad_checksum", &b);
    let t = "qjl_codes";
    for (sel, (d, m)) in [(16usize, 16usize), (24, 64), (9, 13), (128, 256)].into_iter().enumerate() {
        let c = Qjl::new(d, m, sel as u64).unwrap();
        let x: Vec<f32> = (0..d).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
        let mut code = vec![sel as u8];
        code.resize(1 + c.code_len(), 0);
        c.encode_into(&x, &mut code[1..]).unwrap();
        write(t, &format!("d{d}_m{m}"), &code);
        let nb = 1 + m.div_ceil(8);
        for (tag, v) in [("nan", f32::NAN), ("inf", f32::NEG_INFINITY), ("neg", -2.0), ("huge", f32::MAX)] {
            let mut bad = code.clone();
            bad[nb..nb + 4].copy_from_slice(&v.to_le_bytes());
            write(t, &format!("d{d}_m{m}_{tag}_norm"), &bad);
        }
        write(t, &format!("d{d}_m{m}_short"), &code[..code.len() - 2]);
    }
    use vector_codecs::qjl::outlier::QjlOutlier;
    for (sel, (d, m, o)) in [(16usize, 16usize, 3usize), (24, 64, 8), (9, 13, 9), (128, 256, 0)].into_iter().enumerate()
    {
        let sel = 0x80 + sel as u8;
        let c = QjlOutlier::new(d, m, u64::from(sel), o).unwrap();
        let mut x: Vec<f32> = (0..d).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
        x[d / 2] = 40.0;
        let mut code = vec![sel];
        code.resize(1 + c.code_len(), 0);
        c.encode_into(&x, &mut code[1..]).unwrap();
        write(t, &format!("outlier_d{d}_m{m}_o{o}"), &code);
        let mut bad = code.clone();
        let n = bad.len();
        bad[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
        write(t, &format!("outlier_d{d}_m{m}_o{o}_nan_norm"), &bad);
        if o >= 2 {
            let mut bad = code.clone();
            bad[3] = bad[1];
            bad[4] = bad[2];
            write(t, &format!("outlier_d{d}_m{m}_o{o}_repeated_index"), &bad);
            let mut bad = code.clone();
            bad[1 + 2 * o..5 + 2 * o].copy_from_slice(&f32::INFINITY.to_le_bytes());
            write(t, &format!("outlier_d{d}_m{m}_o{o}_inf_value"), &bad);
        }
    }
    let t = "qjl_params";
    write(t, "valid_outlier_24_64_8", &QjlOutlier::new(24, 64, 5, 8).unwrap().to_bytes().unwrap());
    let mut w = Writer::new(vector_codecs::qjl::outlier::KIND);
    w.u32(8).u32(8).u64(1).u16(65);
    write(t, "outlier_count_too_large", &w.finish().unwrap());
}
