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
        let ok = vector_codecs::binary::BinaryCodec::from_bytes(&std::fs::read(&p).unwrap()).is_ok();
        assert_eq!(ok, name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 10);
}
