//! Replays the checked-in seed corpora of the PQ fuzz targets, checks that exactly the
//! `valid_*` parameter seeds parse, and (ignored) regenerates the corpora.
mod common;

#[path = "../fuzz/targets/pq_params.rs"]
mod pq_params;

#[path = "../fuzz/targets/pq_codes.rs"]
mod pq_codes;

use vector_codecs::pq::ProductQuantizer;

#[test]
fn pq_params_corpus() {
    assert!(common::replay_corpus("pq_params", pq_params::run) >= 8);
}

#[test]
fn pq_codes_corpus() {
    assert!(common::replay_corpus("pq_codes", pq_codes::run) >= 8);
}

/// A few thousand random mutations (byte flips, truncations, splices) of every seed through both
/// bodies: a cheap stand-in for a fuzzing run in plain `cargo test`.
#[test]
fn random_mutations_never_panic() {
    common::mutate_corpora(&[("pq_params", pq_params::run), ("pq_codes", pq_codes::run)], 77, 150);
}

#[test]
fn valid_parameter_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/pq_params");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("rotation_") || name.starts_with("raw_") {
            continue;
        }
        let ok = ProductQuantizer::from_bytes(&std::fs::read(&p).unwrap()).is_ok();
        assert_eq!(ok, name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 6);
}

#[test]
#[ignore = "regenerates fuzz/corpus/pq_*"]
fn generate_corpora() {
    use vector_codecs::codec::{ScanMode, ScanModes};
    use vector_codecs::format::Writer;
    use vector_codecs::persist::Persist;
    use vector_codecs::pq::opq::Rotation;
    use vector_codecs::pq::{KIND, PqMetric};
    use vector_codecs::rng::Rng;
    use vector_codecs::train::KMeansConfig;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
    let t = "pq_params";
    let mut rng = Rng::new(3);
    let x: Vec<f32> = (0..300 * 8).map(|_| rng.gaussian() as f32).collect();
    for (m, nbits) in [(4usize, 4u32), (2, 8), (8, 1), (1, 3)] {
        let pq = ProductQuantizer::train(&x, 8, m, nbits, &KMeansConfig { niter: 5, ..Default::default() }).unwrap();
        write(t, &format!("valid_m{m}_b{nbits}"), &pq.to_bytes().unwrap());
        let l2 = pq.with_metric(PqMetric::L2).with_scan(ScanMode::I8).unwrap();
        write(t, &format!("valid_m{m}_b{nbits}_l2_i8"), &l2.to_bytes().unwrap());
    }
    let raw = |dim: u32, m: u32, nbits: u8, metric: u8, scan: u8, nc: usize, fill: f32| {
        let mut w = Writer::new(KIND);
        w.u32(dim).u32(m).u8(nbits).u8(metric).u8(scan);
        w.f32s(&vec![fill; nc]);
        w.finish().unwrap()
    };
    write(t, "m_not_dividing", &raw(8, 3, 4, 0, 0, 128, 0.5));
    write(t, "nbits_zero", &raw(8, 2, 0, 0, 0, 8, 0.5));
    write(t, "nbits_17", &raw(8, 2, 17, 0, 0, 0, 0.5));
    write(t, "lying_dim", &raw(u32::MAX, 1, 16, 0, 0, 4, 0.5));
    write(t, "huge_codebook_claim", &raw(65536, 1, 16, 0, 0, 16, 0.5));
    write(t, "nan_centroid", &raw(8, 2, 4, 0, 0, 128, f32::NAN));
    write(t, "bad_metric", &raw(8, 2, 4, 7, 0, 128, 0.5));
    write(t, "bad_scan", &raw(8, 2, 4, 0, 9, 128, 0.5));
    write(t, "short_centroids", &raw(8, 2, 4, 0, 0, 100, 0.5));
    let mut b = raw(8, 2, 4, 0, 0, 128, 0.5);
    b[14] ^= 1;
    write(t, "bad_checksum", &b);
    let mut w = Writer::new(0);
    Rotation::identity(5).unwrap().persist(&mut w);
    let rot = w.finish().unwrap();
    // The rotation block without the container: header is 12 bytes, checksum 4 (see FORMAT.md).
    let body = &rot[rot.len() - 4 - (8 + 4 * 25)..rot.len() - 4];
    write(t, "rotation_identity5", body);
    let mut bad = body.to_vec();
    bad[8..12].copy_from_slice(&3.0f32.to_le_bytes());
    write(t, "rotation_not_unit", &bad);
    // Raw parameter blocks (no container): the body also restores them directly.
    let pq = ProductQuantizer::train(&x, 8, 4, 2, &KMeansConfig { niter: 3, ..Default::default() }).unwrap();
    let full = pq.to_bytes().unwrap();
    write(t, "raw_m4_b2", &full[12..full.len() - 4]);
    let t = "pq_codes";
    for sel in [0u8, 1, 2, 3, 4, 5, 0x40, 0x44] {
        let mut v = vec![sel];
        v.extend((0..70).map(|_| rng.next_u32() as u8));
        write(t, &format!("sel{sel:02x}"), &v);
    }
}
