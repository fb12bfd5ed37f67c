#!/usr/bin/env bash
# Runs the cargo-fuzz targets one after another (one job, `nice -n 19`) and records what each
# run did, for FUZZING.md. Not part of .ci/run (fuzzing for minutes per target is a developer
# run); needs nightly and `cargo install cargo-fuzz`.
#
#   bash ci/fuzz.sh SECONDS [TARGET...]      # default: every target in fuzz/fuzz_targets
#
# Each target runs for SECONDS of wall time on a working corpus in $FUZZ_WORK (default
# /tmp/vector-codecs-fuzz/<target>, kept between runs so that time accumulates) seeded from
# fuzz/corpus/<target>. Afterwards the inputs of the working corpus that reach coverage the
# checked-in seed corpus does not (libFuzzer `-merge=1`, the step `cargo fuzz cmin` is built
# on) are copied into fuzz/corpus/<target>, at most $FUZZ_KEEP (default 8) files of at most
# 2 KiB each, so that the committed corpus stays small. One tab-separated line per run is
# appended to $FUZZ_LOG (default /tmp/vector-codecs-fuzz/runs.tsv): target, wall s, CPU s,
# executions, working-corpus files, new seed files, crash files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECS=${1:?usage: ci/fuzz.sh SECONDS [TARGET...]}
shift
WORK=${FUZZ_WORK:-/tmp/vector-codecs-fuzz}
LOG=${FUZZ_LOG:-$WORK/runs.tsv}
KEEP=${FUZZ_KEEP:-8}
TC=${FUZZ_TOOLCHAIN:-nightly}
mkdir -p "$WORK"
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/fuzz/target}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

(cd fuzz && CARGO_TARGET_DIR="$TARGET_DIR" nice -n 19 cargo +"$TC" fuzz build -O)
BIN_DIR="$TARGET_DIR/x86_64-unknown-linux-gnu/release"

for t in "${targets[@]}"; do
  bin="$BIN_DIR/$t"
  corpus="$WORK/$t"
  art="$WORK/artifacts/$t"
  mkdir -p "$corpus" "$art"
  out="$WORK/$t.last.log"
  /usr/bin/time -f '%e %U %S' -o "$WORK/$t.time" nice -n 19 "$bin" -max_total_time="$SECS" \
    -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 -artifact_prefix="$art/" \
    "$corpus" "fuzz/corpus/$t" >"$out" 2>&1 || true
  # The last line: GNU time writes "Command exited with non-zero status N" first after a crash.
  read -r wall usr sys < <(tail -n 1 "$WORK/$t.time")
  cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
  crashes=$(find "$art" -type f | wc -l)
  # Inputs that reach coverage beyond the seed corpus, small ones only.
  cand="$WORK/$t.merge"
  rm -rf "$cand" && mkdir -p "$cand"
  cp "fuzz/corpus/$t"/* "$cand"/ 2>/dev/null || true
  nice -n 19 "$bin" -merge=1 -rss_limit_mb=2048 -timeout=30 "$cand" "$corpus" >"$WORK/$t.merge.log" 2>&1 || true
  added=0
  for f in $(ls -S -r "$cand"); do
    [ -e "fuzz/corpus/$t/$f" ] && continue
    [ "$(stat -c %s "$cand/$f")" -le 2048 ] || continue
    [ $added -lt "$KEEP" ] || break
    cp "$cand/$f" "fuzz/corpus/$t/$f"
    added=$((added + 1))
  done
  files=$(find "$corpus" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${wall%.*}" "$cpu" "${execs:-0}" "$files" "$added" "$crashes" | tee -a "$LOG"
done
