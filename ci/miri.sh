#!/usr/bin/env bash
# Miri (issue 15, part 5) on the portable paths of the byte parsers, bit packing and entropy
# coders: a filtered subset that runs in a few minutes.
#
# Interpreted for s390x-unknown-linux-gnu, a big-endian 64-bit target: the crate has no arch
# path there (the x86 SIMD paths, and libm's x86 inline assembly, which Miri cannot run, are
# not compiled), and every little-endian byte format is read on a big-endian machine.
#
# Subset: the unit tests of `bits` (packing, property tests), `format` (every truncation and
# bit flip of a container), `buf` and the word coder's exact step. Then the fuzz-corpus replays
# of the container parser and the scalar-uniform and binary parameter parsers (every checked-in input through the same
# bodies as the fuzz targets; under Miri the 3 smallest inputs of each corpus, set by
# VECTOR_CODECS_REPLAY_MAX). Property tests run with PROPTEST_CASES=4 under Miri.
#
# Left out as too slow under Miri (each 5-10+ minutes here): the entropy unit tests that code
# tens of thousands of symbols per case (`arch_path_matches_portable`,
# `views_with_and_without_word_tables_agree`, `word_records_divide_exactly`) and the entropy
# corpus replay (`fuzz_replay_entropy`: its bodies build 2^12-2^14-slot models on every input).
# The entropy coders' Miri coverage is therefore only the word coder's step test; smaller
# entropy tests written for Miri would close that gap.
#
# Run from the repository root: `bash ci/miri.sh`. Installs Miri and rust-src for the nightly
# toolchain (see ci/lib.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=ci/lib.sh
source ci/lib.sh

step "miri: install miri, rust-src (nightly)"
miri_tools() {
  NIGHTLY=$(nightly_toolchain) && rust_component "$NIGHTLY" miri rust-src
}
install_or_skip miri_tools
rustup run "$NIGHTLY" rustc -V
export MIRI_TARGET=s390x-unknown-linux-gnu
export VECTOR_CODECS_SIMD=portable
export PROPTEST_CASES=4
export VECTOR_CODECS_REPLAY_MAX=3
# Isolation off: the corpus replays read fuzz/corpus, proptest reads its regression files.
export MIRIFLAGS="-Zmiri-disable-isolation"

step "miri: sysroot and build for $MIRI_TARGET"
cargo +"$NIGHTLY" miri setup --target "$MIRI_TARGET" >/dev/null
MIRI_TESTS=(fuzz_replay_format fuzz_replay_scalar_uniform fuzz_replay_binary)
targs=()
for t in "${MIRI_TESTS[@]}"; do targs+=(--test "$t"); done
cargo +"$NIGHTLY" miri test --target "$MIRI_TARGET" --lib "${targs[@]}" --no-run

step "miri: unit tests of bits, format, buf, the word coder's step"
cargo +"$NIGHTLY" miri test --target "$MIRI_TARGET" --lib -- bits::tests format::tests buf::tests \
  entropy::word::tests::step_is_exact

step "miri: fuzz-corpus replays (${MIRI_TESTS[*]})"
cargo +"$NIGHTLY" miri test --target "$MIRI_TARGET" "${targs[@]}"
step_end
