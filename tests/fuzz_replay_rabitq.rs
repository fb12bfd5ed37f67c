//! Replays the checked-in seed corpus of the RaBitQ fuzz target.
mod common;

#[path = "../fuzz/targets/rabitq_decode.rs"]
mod rabitq_decode;

#[test]
fn rabitq_decode_corpus() {
    assert!(common::replay_corpus("rabitq_decode", rabitq_decode::run) >= 6);
}
