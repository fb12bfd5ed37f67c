//! Replays the checked-in seed corpora of the SSVQ fuzz targets, checks that exactly the
//! `valid_*` parameter seeds parse, and (ignored) regenerates the corpora.
mod common;

#[path = "../fuzz/targets/ssvq_params.rs"]
mod ssvq_params;

#[path = "../fuzz/targets/ssvq_codes.rs"]
mod ssvq_codes;

use vector_codecs::ssvq::SignSplitVq;

#[test]
fn ssvq_params_corpus() {
    assert!(common::replay_corpus("ssvq_params", ssvq_params::run) >= 8);
}

#[test]
fn ssvq_codes_corpus() {
    assert!(common::replay_corpus("ssvq_codes", ssvq_codes::run) >= 6);
}

/// Random mutations (byte flips, truncations) of every seed through both bodies: a cheap
/// stand-in for a fuzzing run in plain `cargo test`.
#[test]
fn random_mutations_never_panic() {
    common::mutate_corpora(&[("ssvq_params", ssvq_params::run), ("ssvq_codes", ssvq_codes::run)], 78, 150);
}

#[test]
fn valid_parameter_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/ssvq_params");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("raw_") {
            continue;
        }
        let ok = SignSplitVq::from_bytes(&std::fs::read(&p).unwrap()).is_ok();
        assert_eq!(ok, name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 6);
}

#[test]
#[ignore = "regenerates fuzz/corpus/ssvq_*"]
fn generate_corpora() {
    use vector_codecs::format::Writer;
    use vector_codecs::rng::Rng;
    use vector_codecs::ssvq::KIND;
    use vector_codecs::train::KMeansConfig;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
    let t = "ssvq_params";
    let mut rng = Rng::new(3);
    let x: Vec<f32> = (0..300 * 8).map(|_| rng.gaussian() as f32).collect();
    for (ds, nbits) in [(4usize, 4u32), (2, 6), (8, 1), (4, 2)] {
        let v = SignSplitVq::train(&x, 8, ds, nbits, &KMeansConfig { niter: 5, ..Default::default() }).unwrap();
        write(t, &format!("valid_ds{ds}_b{nbits}"), &v.to_bytes().unwrap());
    }
    let raw = |dim: u32, ds: u8, nbits: u8, nc: usize, fill: f32| {
        let mut w = Writer::new(KIND);
        w.u32(dim).u8(ds).u8(nbits);
        w.f32s(&vec![fill; nc]);
        w.finish().unwrap()
    };
    write(t, "ds_not_dividing", &raw(8, 3, 2, 12, 0.5));
    write(t, "ds_one", &raw(8, 1, 2, 4, 0.5));
    write(t, "ds_nine", &raw(9, 9, 1, 18, 0.5));
    write(t, "nbits_zero", &raw(8, 2, 0, 2, 0.5));
    write(t, "nbits_13", &raw(8, 2, 13, 0, 0.5));
    write(t, "lying_dim", &raw(u32::MAX, 2, 1, 4, 0.5));
    write(t, "huge_dim_small_codebook", &raw(65536, 8, 12, 16, 0.5));
    write(t, "nan_centroid", &raw(8, 4, 2, 16, f32::NAN));
    write(t, "negative_centroid", &raw(8, 4, 2, 16, -0.5));
    write(t, "short_centroids", &raw(8, 4, 2, 15, 0.5));
    let mut b = raw(8, 4, 2, 16, 0.5);
    b[14] ^= 1;
    write(t, "bad_checksum", &b);
    // Raw parameter blocks (no container): the body also restores them directly.
    let v = SignSplitVq::train(&x, 8, 2, 3, &KMeansConfig { niter: 3, ..Default::default() }).unwrap();
    let full = v.to_bytes().unwrap();
    write(t, "raw_ds2_b3", &full[12..full.len() - 4]);
    let t = "ssvq_codes";
    for sel in 0u8..6 {
        let mut v = vec![sel];
        v.extend((0..70).map(|_| rng.next_u32() as u8));
        write(t, &format!("sel{sel:02x}"), &v);
    }
}
