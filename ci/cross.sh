#!/usr/bin/env bash
# Other targets (issue 15, part 4): the library's unit tests and a subset of the integration
# tests for aarch64-unknown-linux-gnu, run under qemu-aarch64 (user mode), and a wasm32 build.
#
# The aarch64 subset (AARCH64_TESTS below) is the tests that pin down bytes and bits across
# targets: golden codes and parameters of every factory name, every fuzz-corpus replay (the
# byte parsers), the word rANS coder and lossless floats, binary codes and the hostile-input
# suite (the other per-codec suites are kept to the native runs to hold CI near 30 minutes). The data-heavy recall and
# speed suites (`*_recall`, `scan_speed`, `eval_l2`, `rabitq_data`, ...) and the two real-data
# recall tests of the subset (`*_recall_on_wordnet`) run 10-50x slower under emulation and test
# nothing target-specific, so they are left to the native run.
#
# Run from the repository root: `bash ci/cross.sh`. Installs Debian's gcc-aarch64-linux-gnu
# (cross linker and C library) and qemu-user, and the rustup targets.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=ci/lib.sh
source ci/lib.sh

AARCH64_TESTS=(golden fuzz_replay_binary fuzz_replay_entropy fuzz_replay_format fuzz_replay_pq
  fuzz_replay_qjl fuzz_replay_rabitq fuzz_replay_scalar_lloyd fuzz_replay_scalar_uniform
  fuzz_replay_turbo entropy_lossless entropy_word binary hostile)

step "cross: install gcc-aarch64-linux-gnu, qemu-user, rustup targets"
cross_tools() {
  { command -v aarch64-linux-gnu-gcc >/dev/null && [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ]; } ||
    apt_need gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  command -v qemu-aarch64 >/dev/null || apt_need qemu-user
  rust_target stable aarch64-unknown-linux-gnu wasm32-unknown-unknown
}
install_or_skip cross_tools

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
# The NEON-less portable paths are what aarch64 runs (the arch paths are x86 only).
export VECTOR_CODECS_SIMD=portable
# Emulation is ~10x slower: fewer property-test cases (the native run keeps the default).
export PROPTEST_CASES="${PROPTEST_CASES_CROSS:-32}"

step "cross: aarch64-unknown-linux-gnu: build the library and the test subset"
targs=()
for t in "${AARCH64_TESTS[@]}"; do targs+=(--test "$t"); done
cargo test --target aarch64-unknown-linux-gnu --lib "${targs[@]}" --no-run

step "cross: aarch64-unknown-linux-gnu: run under qemu-aarch64 (lib + ${#AARCH64_TESTS[@]} integration tests)"
cargo test --target aarch64-unknown-linux-gnu --lib "${targs[@]}" -- --skip recall_on_wordnet

step "cross: wasm32-unknown-unknown build (--no-default-features --features alloc)"
cargo build --target wasm32-unknown-unknown --no-default-features --features alloc
cargo build --target wasm32-unknown-unknown --no-default-features
step_end
