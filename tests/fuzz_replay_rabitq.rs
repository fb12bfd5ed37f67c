//! Replays the checked-in seed corpus of the RaBitQ fuzz target.
mod common;

#[path = "../fuzz/targets/rabitq_decode.rs"]
mod rabitq_decode;

use vector_codecs::rabitq::{QueryMode, RaBitQ};
use vector_codecs::transform::Identity;

/// The valid parameter containers of the corpus (`params_*`): what the generator writes.
fn valid_params() -> Vec<(&'static str, Vec<u8>)> {
    let a = RaBitQ::new(Identity(8), 3).unwrap();
    let b = RaBitQ::new(Identity(16), 1).unwrap().with_query_mode(QueryMode::Quantized4, 99);
    vec![("params_d8_b3", a.to_bytes().unwrap()), ("params_d16_b1_q", b.to_bytes().unwrap())]
}

#[test]
fn rabitq_decode_corpus() {
    assert!(common::replay_corpus("rabitq_decode", rabitq_decode::run) >= 6);
}

/// The corpus holds the current valid containers (so the fuzzer starts from accepted inputs),
/// and they load.
#[test]
fn valid_seeds_are_in_the_corpus_and_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/rabitq_decode");
    for (name, bytes) in valid_params() {
        let d = if name.contains("d8") { 8 } else { 16 };
        assert!(RaBitQ::from_bytes(&bytes, Identity(d)).is_ok(), "{name}");
        assert_eq!(std::fs::read(dir.join(name)).ok().as_deref(), Some(&bytes[..]), "{name}: regenerate the corpus");
    }
}

/// Writes the valid seeds: `cargo test --test fuzz_replay_rabitq -- --ignored`.
#[test]
#[ignore]
fn write_valid_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/rabitq_decode");
    for (name, bytes) in valid_params() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
