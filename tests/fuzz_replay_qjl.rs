//! Replays the checked-in seed corpus of the QJL code fuzz target and (ignored) regenerates it.
//! (QJL parameters are fuzzed by `turbo_restore`, through `Persist::restore`.)
mod common;

#[path = "../fuzz/targets/qjl_codes.rs"]
mod qjl_codes;

#[test]
fn qjl_codes_corpus() {
    assert!(common::replay_corpus("qjl_codes", qjl_codes::run) >= 10);
}

#[test]
#[ignore = "regenerates fuzz/corpus/qjl_codes"]
fn generate_corpora() {
    use vector_codecs::Codec;
    use vector_codecs::qjl::Qjl;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
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
}
