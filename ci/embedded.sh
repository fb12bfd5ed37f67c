#!/usr/bin/env bash
# The Cortex-M smoke test (issue 15, part 3): writes the host's expected values, builds the
# firmware in firmware/ for the MPS2 AN386 (Cortex-M4F) and the BBC micro:bit (Cortex-M0,
# 16 KiB RAM), runs both under qemu-system-arm and fails on any mismatch; prints flash (crate
# code per codec, from builds with one codec each against a build with none) and peak stack.
#
# Run from the repository root: `bash ci/embedded.sh`. Installs what it needs (Debian's
# qemu-system-arm; rustup targets thumbv7em-none-eabihf and thumbv6m-none-eabi; llvm-tools).
# Sourced by .ci/run (which times the steps), or run on its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=ci/lib.sh
source ci/lib.sh
ROOT=$PWD

step "embedded: install qemu-system-arm, thumb targets, llvm-tools"
embedded_tools() {
  command -v qemu-system-arm >/dev/null || apt_need qemu-system-arm
  rust_target stable thumbv7em-none-eabihf thumbv6m-none-eabi
  rust_component stable llvm-tools
}
install_or_skip embedded_tools
LLVM_SIZE="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-size"
LLVM_NM="$(dirname "$LLVM_SIZE")/llvm-nm"
[ -x "$LLVM_SIZE" ] && [ -x "$LLVM_NM" ] || { echo "ERROR: llvm-size / llvm-nm not found beside $LLVM_SIZE"; exit 1; }

step "embedded: host expected values (examples/firmware_vectors, portable backend)"
rm -rf firmware/generated
VECTOR_CODECS_SIMD=portable cargo run -q --profile test --example firmware_vectors -- firmware/generated

FW_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/firmware"
fw() { (cd firmware && env -u RUSTFLAGS CARGO_TARGET_DIR="$FW_TARGET_DIR" cargo "$@"); }
M4=thumbv7em-none-eabihf
M0=thumbv6m-none-eabi
elf() { echo "$FW_TARGET_DIR/$1/release/vector-codecs-firmware"; }
# Flash bytes of an ELF: the sections loaded into flash (vector table, code, read-only data,
# initialised data).
flash() { "$LLVM_SIZE" -A "$1" | awk '$1 ~ /^\.(vector_table|text|rodata|data)$/ { s += $2 } END { print s }'; }
ram_static() { "$LLVM_SIZE" -A "$1" | awk '$1 ~ /^\.(data|bss|uninit)$/ { s += $2 } END { print s + 0 }'; }
blob() { stat -c %s "firmware/generated/$1"; }
# Sized symbols of an ELF as "size name" (decimal, demangled, hash suffix dropped).
syms() {
  "$LLVM_NM" --print-size --radix=d -C "$1" |
    awk 'NF >= 4 { n = $4; for (i = 5; i <= NF; i++) n = n " " $i; sub(/::h[0-9a-f]+$/, "", n); print $2 + 0, n }'
}
# crate_code ELF BASE_ELF: the crate's code in a build, by symbol: what the build has beyond the
# empty harness (for a symbol of the same name, its growth), less the harness's own functions
# (`vector_codecs_firmware::*` except the `vc::*` wrappers that every call into the crate goes
# through, so the crate code inlined into them counts), the embedded test data, the runtime's
# mem* routines and formatting (`core::fmt`, `Debug` impls: only the harness prints). Counts
# the crate's functions and strings and the library code (soft-float, core) they pull in.
crate_code() {
  syms "$2" >"$FW_TARGET_DIR/base.syms"
  syms "$1" | awk 'NR == FNR { base[substr($0, index($0, " ") + 1)] += $1; next }
    { n = substr($0, index($0, " ") + 1); sz[n] += $1 }
    END {
      for (n in sz) {
        if (n ~ /^vector_codecs_firmware::/ && n !~ /^vector_codecs_firmware::vc::/) continue
        if (n ~ /(^|[^a-z_])(__aeabi_mem|mem(cpy|set|move|cmp)$|compiler_builtins::mem::)/) continue
        if (n ~ /core::fmt|core\.\.fmt/) continue
        d = sz[n] - base[n]
        if (d > 0) s += d
      }
      print s + 0
    }' "$FW_TARGET_DIR/base.syms" -
}

# qemu: runs an ELF with semihosting; 60 s limit (a hard fault loops forever).
run_qemu() {
  local machine=$1 elf=$2 log=$3 cpu=()
  [ "$machine" = mps2-an386 ] && cpu=(-cpu cortex-m4)
  set +e
  timeout 60 qemu-system-arm "${cpu[@]}" -machine "$machine" -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$elf" >"$log" 2>&1
  local rc=$?
  set -e
  sed 's/^/   | /' "$log"
  if [ $rc -ne 0 ] || ! grep -q '^FIRMWARE OK' "$log"; then
    echo "ERROR: firmware on $machine failed (exit $rc)"
    return 1
  fi
}

step "embedded: firmware lint (fmt, clippy for thumbv7em)"
fw fmt -- --check
fw clippy -q --release --target $M4 -- -D warnings

step "embedded: Cortex-M4 firmware (no allocator) under qemu-system-arm -machine mps2-an386"
fw build -q --release --target $M4
cp "$(elf $M4)" "$FW_TARGET_DIR/m4-all.elf"
run_qemu mps2-an386 "$FW_TARGET_DIR/m4-all.elf" "$FW_TARGET_DIR/m4.log"
if "$LLVM_NM" "$FW_TARGET_DIR/m4-all.elf" | grep -Eq '__rust_alloc|__rg_alloc|__rust_alloc_error_handler'; then
  echo "ERROR: the Cortex-M4 firmware links an allocator"
  exit 1
fi

step "embedded: micro:bit firmware (Cortex-M0, 16 KiB RAM, sq8 + binary) under qemu -machine microbit"
fw build -q --release --target $M0 --no-default-features --features microbit,sq8,binary
cp "$(elf $M0)" "$FW_TARGET_DIR/m0-all.elf"
run_qemu microbit "$FW_TARGET_DIR/m0-all.elf" "$FW_TARGET_DIR/m0.log"

step "embedded: flash per codec (builds with one codec each, minus the empty harness)"
declare -A FLASH CODE
fw build -q --release --target $M4 --no-default-features
base=$(flash "$(elf $M4)")
cp "$(elf $M4)" "$FW_TARGET_DIR/m4-base.elf"
for v in sq8 binary rans tq pq sq8,binary,rans; do
  fw build -q --release --target $M4 --no-default-features --features "$v"
  blobs=0
  for f in ${v//,/ }; do
    case $f in
      sq8) blobs=$((blobs + $(blob m4/sq8.bin))) ;;
      binary) blobs=$((blobs + $(blob m4/bin.bin))) ;;
      rans) blobs=$((blobs + $(blob m4/rans.bin))) ;;
      tq) blobs=$((blobs + $(blob m4/tq.bin))) ;;
      pq) blobs=$((blobs + $(blob m4/pq.bin))) ;;
    esac
  done
  FLASH[$v]=$(($(flash "$(elf $M4)") - base - blobs))
  CODE[$v]=$(crate_code "$(elf $M4)" "$FW_TARGET_DIR/m4-base.elf")
done
fw build -q --release --target $M0 --no-default-features --features microbit
base0=$(flash "$(elf $M0)")
m0_flash=$(($(flash "$FW_TARGET_DIR/m0-all.elf") - base0 - $(blob m0/sq8.bin) - $(blob m0/bin.bin)))
m0_code=$(crate_code "$FW_TARGET_DIR/m0-all.elf" "$(elf $M0)")

stack() { awk -v s="$2" '$1 == "STACK" && $2 == s { print $3 }' "$1"; }
echo "   Embedded numbers (opt-level s, fat LTO; flash = build minus the empty harness, without the"
echo "   embedded test data: crate code + the firmware's checks; crate code = the crate's share of it"
echo "   by symbol; stack = peak of the section incl. its caller buffers):"
printf '   %-28s %9s %11s %12s\n' "codec (board, d)" "flash B" "crate code B" "peak stack B"
for v in sq8 binary rans tq pq; do
  s=$v
  [ "$v" = tq ] && s=tq4
  printf '   %-28s %9s %11s %12s\n' "$v (Cortex-M4, 768)" "${FLASH[$v]}" "${CODE[$v]}" "$(stack "$FW_TARGET_DIR/m4.log" "$s")"
done
printf '   %-28s %9s %11s %12s\n' "sq8+binary+rans (M4, 768)" "${FLASH[sq8,binary,rans]}" "${CODE[sq8,binary,rans]}" "-"
for s in sq8 binary; do
  printf '   %-28s %9s %11s %12s\n' "$s (Cortex-M0, 128)" "-" "-" "$(stack "$FW_TARGET_DIR/m0.log" "$s")"
done
printf '   %-28s %9s %11s %12s\n' "sq8+binary (Cortex-M0, 128)" "$m0_flash" "$m0_code" "-"
echo "   empty harness: $base B flash (M4), $base0 B (M0); micro:bit static RAM $(ram_static "$FW_TARGET_DIR/m0-all.elf") B of 16384"
step_end
