//! Replays the checked-in seed corpora of the binary-code fuzz targets.
mod common;

#[path = "../fuzz/targets/binary_params.rs"]
mod binary_params;

#[path = "../fuzz/targets/binary_codes.rs"]
mod binary_codes;

#[test]
fn binary_params_corpus() {
    assert!(common::replay_corpus("binary_params", binary_params::run) >= 5);
}

#[test]
fn binary_codes_corpus() {
    assert!(common::replay_corpus("binary_codes", binary_codes::run) >= 5);
}

#[test]
fn valid_parameter_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/binary_params");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&p).unwrap();
        let ok = vector_codecs::binary::BinaryCodec::from_bytes(&bytes).is_ok()
            || vector_codecs::binary::CenteredBinary::from_bytes(&bytes).is_ok();
        assert_eq!(ok, name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 10);
}

/// Rewrites the named seeds of the `binary_params` corpus (`valid_*` parse, `bad_*` and the
/// others do not): `cargo test --test fuzz_replay_binary -- --ignored write_binary_params_corpus`.
#[test]
#[ignore]
fn write_binary_params_corpus() {
    use vector_codecs::binary::{BinaryCodec, BinaryConfig, ScaleFormat};
    use vector_codecs::codec::{ScanMode, ScanModes};
    use vector_codecs::format::Writer;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/binary_params");
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    let rows = |n: usize, d: usize| -> Vec<f32> { (0..n * d).map(|i| ((i * 7919) % 23) as f32 * 0.1 - 0.7).collect() };
    write("valid_sign16", &BinaryCodec::sign(16).unwrap().to_bytes().unwrap());
    let bs = BinaryCodec::sign(16).unwrap().with_scan(ScanMode::Bitsliced).unwrap();
    write("valid_sign16_bitsliced", &bs.to_bytes().unwrap());
    write("valid_bin4_384", &BinaryCodec::residual(384, 4).unwrap().to_bytes().unwrap());
    write("valid_bin8_1", &BinaryCodec::residual(1, 8).unwrap().to_bytes().unwrap());
    let cfg = |stages, scales| BinaryConfig { stages, centred: true, scales };
    let c5 = BinaryCodec::train_centred(&rows(10, 5), 5, &cfg(1, ScaleFormat::Shared)).unwrap();
    write("valid_centred5", &c5.to_bytes().unwrap());
    let c33 = BinaryCodec::train_centred(&rows(10, 33), 33, &cfg(2, ScaleFormat::F32)).unwrap();
    write("valid_bin2_centred_33", &c33.to_bytes().unwrap());
    let mut bad = c5.to_bytes().unwrap();
    *bad.last_mut().unwrap() ^= 1;
    write("bad_checksum", &bad);
    let fields = |kind: u16, mean: Option<&[f32]>, dim: u32, stages: u8, fmt: u8, mode: u8| {
        let mut w = Writer::new(kind);
        if let Some(m) = mean {
            w.u32(m.len() as u32).f32s(m);
        }
        w.u32(dim).u8(stages).u8(fmt).f32(1.0).u8(mode);
        w.finish().unwrap()
    };
    let (k, kc) = (vector_codecs::binary::KIND, vector_codecs::binary::CENTRED_KIND);
    write("bad_nan_mean", &fields(kc, Some(&[0.0, f32::NAN, 1.0, 2.0]), 4, 1, 0, 0));
    write("bad_mean_length", &fields(kc, Some(&[0.0; 3]), 4, 1, 0, 0));
    write("bad_scan_mode", &fields(k, None, 4, 1, 0, 2));
    write("bad_shared_two_stages", &fields(k, None, 4, 2, 0, 0));
    write("bad_stages9", &fields(k, None, 4, 9, 1, 0));
    let mut w = Writer::new(k);
    w.u32(1 << 24).u8(1).u8(0).f32(1.0).u8(0);
    write("lying_dim", &w.finish().unwrap());
    let mut w = Writer::new(kc);
    w.u32(1 << 24);
    write("lying_mean_length", &w.finish().unwrap());
    write("wrong_kind", &fields(0x0100, None, 4, 1, 0, 0));
}
