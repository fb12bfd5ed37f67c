//! Replays the checked-in seed corpus of the container fuzz target.
mod common;

#[path = "../fuzz/targets/format_open.rs"]
mod format_open;

#[test]
fn format_open_corpus() {
    assert!(common::replay_corpus("format_open", format_open::run) >= 3);
}
