# Helpers shared by the CI scripts in ci/ (sourced, not run).
#
# Every install step here is idempotent (it checks before it fetches) and retries network
# operations, failing with a clear message when a package or component cannot be had.

# retry N CMD...: runs CMD up to N times, 5 s apart, until it succeeds.
retry() {
  local n=$1 i
  shift
  for ((i = 1; i <= n; i++)); do
    if "$@"; then
      return 0
    fi
    echo "   (attempt $i/$n failed: $*)" >&2
    sleep 5
  done
  echo "ERROR: '$*' failed $n times (network or package missing?)" >&2
  return 1
}

# as_root CMD...: runs CMD as root (directly when we are root, else through sudo).
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@"
  else
    echo "ERROR: need root (or sudo) for: $*" >&2
    return 1
  fi
}

_apt_updated=""
# apt_need PKG...: installs the Debian packages not installed yet (no recommends).
apt_need() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "   apt-get install ${missing[*]}"
  if [ -z "$_apt_updated" ]; then
    retry 3 as_root apt-get update -qq
    _apt_updated=1
  fi
  retry 3 as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null
}

# rust_target TOOLCHAIN TARGET...: adds rustup targets (no-op when present).
rust_target() {
  local tc=$1
  shift
  local t
  for t in "$@"; do
    rustup target list --toolchain "$tc" --installed 2>/dev/null | grep -qx "$t" && continue
    retry 3 rustup target add --toolchain "$tc" "$t"
  done
}

# rust_component TOOLCHAIN COMPONENT...: adds rustup components (no-op when present).
rust_component() {
  local tc=$1
  shift
  local c
  for c in "$@"; do
    rustup component list --toolchain "$tc" --installed 2>/dev/null | grep -q "^$c" && continue
    retry 3 rustup component add --toolchain "$tc" "$c"
  done
}

# The nightly toolchain for Miri and cargo-fuzz: the image's `nightly` when present (built
# 2026-05-20), else that same dated nightly, fetched once, so that CI does not drift with new
# nightlies.
NIGHTLY_PIN="nightly-2026-05-20"
nightly_toolchain() {
  if rustup run nightly rustc -V >/dev/null 2>&1; then
    echo nightly
  else
    retry 3 rustup toolchain install "$NIGHTLY_PIN" --profile minimal >&2 || return 1
    echo "$NIGHTLY_PIN"
  fi
}

# Step timing: `step NAME` closes the previous step (printing its time) and opens NAME;
# `step_end` closes the last one; `step_summary` prints every step's time.
_step_name=""
_step_t0=0
_step_log=""
step() {
  step_end
  _step_name="$*"
  _step_t0=$SECONDS
  echo "== $*"
}
step_end() {
  if [ -n "$_step_name" ]; then
    local dt=$((SECONDS - _step_t0))
    echo "   ($_step_name: ${dt} s)"
    _step_log+="$(printf '%6d s  %s' "$dt" "$_step_name")"$'\n'
    _step_name=""
  fi
}
step_summary() {
  step_end
  echo "== step times"
  printf '%s' "$_step_log"
}

# install_or_skip CMD...: runs an install command; when it fails (no network, no package
# mirror, no root), the calling step is skipped with a loud warning instead of failing CI: the
# step's *checks* are what CI gates on, a machine that cannot install the emulator is reported,
# not mistaken for a broken crate.
install_or_skip() {
  if ! "$@"; then
    echo "WARNING: STEP SKIPPED: could not install its tools ($*)" >&2
    exit 0
  fi
}
