//! Replays the checked-in seed corpus of the trained Lloyd–Max parameter fuzz target.
mod common;

#[path = "../fuzz/targets/scalar_lloyd_params.rs"]
mod scalar_lloyd_params;

#[test]
fn scalar_lloyd_params_corpus() {
    assert!(common::replay_corpus("scalar_lloyd_params", scalar_lloyd_params::run) >= 3);
}
