#!/usr/bin/env bash
# CI entry for the firmware: installs what it needs if missing (idempotent,
# for a fresh Debian machine as root), then builds and runs the example and
# the self-test (feature `vectors`) on both targets in QEMU through
# ./run.sh all. Prints a PASS/FAIL summary, exits non-zero on any failure.
# On a warm machine this takes seconds. (The flash a breaker adds, and the
# lock check, are core/probe/measure.sh's.)
set -uo pipefail
cd "$(dirname "$0")"

fail() { echo "embedded-example ci: FAIL: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: QEMU for the two machines, binutils for size/readelf.
missing=()
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v arm-none-eabi-nm >/dev/null || missing+=(binutils-arm-none-eabi)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq || fail "apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
    || fail "apt-get install ${missing[*]}"
fi

# Rust targets.
if command -v rustup >/dev/null; then
  installed=$(rustup target list --installed)
  for t in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t" || fail "rustup target add $t"
  done
fi

# defmt-print decodes the log (about 2 minutes to build once).
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v defmt-print >/dev/null; then
  echo "installing defmt-print"
  cargo install defmt-print || fail "cargo install defmt-print"
fi

./run.sh all || fail "see the firmware summary above"
echo "embedded-example ci: PASS (thumbv7em on mps2-an386, thumbv6m on microbit)"
