//! Replays the checked-in seed corpus of the uniform scalar parameter fuzz target, and checks that
//! the corpus holds real, accepted parameter files.
mod common;

#[path = "../fuzz/targets/scalar_uniform_params.rs"]
mod scalar_uniform_params;

#[test]
fn scalar_uniform_params_corpus() {
    assert!(common::replay_corpus("scalar_uniform_params", scalar_uniform_params::run) >= 5);
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scalar_uniform_params");
    let ok = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let b = std::fs::read(e.as_ref().unwrap().path()).unwrap();
            vector_codecs::scalar::uniform::PerDim::from_bytes(&b).is_ok()
        })
        .count();
    assert!(ok >= 3, "only {ok} valid seeds");
}
