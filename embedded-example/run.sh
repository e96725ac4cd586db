#!/usr/bin/env bash
# Builds the firmware (release) and runs it in QEMU, checking it.
#
#   ./run.sh [thumbv7em|thumbv6m|all]     (default: all)
#
# For each target:
#   1. build the firmware and the two size probes (src/bin/);
#   2. thumbv7em only, the lock check: no portable-atomic fallback lock (a
#      spinlock that does not mask interrupts, so an interrupt could deadlock
#      on it) may be in the image. The `fallback` feature of portable-atomic
#      must be off, and `arm-none-eabi-nm` must find no `imp::fallback`
#      symbol. A negative control first builds the firmware with a planted
#      AtomicU64 (feature atomic64-canary) and requires nm to find it;
#   3. run each image in QEMU under a wall-clock timeout, print the decoded
#      defmt log, and require a semihosting exit code of 0 and the final log
#      line "firmware: all checks passed";
#   4. thumbv7em only, the vector runner's self-check: the firmware built
#      over selftest-vectors/ (deliberate mistakes) must print exactly the
#      lines of selftest-vectors/expected.txt and exit non-zero.
# Prints a PASS/FAIL summary; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"

EXPECTED_LAST='firmware: all checks passed'
IMAGES=(halfopen-firmware probe_bare probe_breaker)

case "${1:-all}" in
  thumbv7em) targets=(thumbv7em-none-eabihf) ;;
  thumbv6m) targets=(thumbv6m-none-eabi) ;;
  all) targets=(thumbv7em-none-eabihf thumbv6m-none-eabi) ;;
  *) echo "usage: $0 [thumbv7em|thumbv6m|all]" >&2; exit 2 ;;
esac

for tool in cargo qemu-system-arm defmt-print arm-none-eabi-nm; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool not found (ci.sh installs what is missing)" >&2
    exit 2
  fi
done

mkdir -p target/run-logs
summary=()
record() { summary+=("$1"); echo "--- $1"; }

fallback_symbols() { arm-none-eabi-nm -C "$1" | grep -E 'imp::fallback|fallback4lock'; }

lock_check() {
  local t=$1 elf=target/$1/release/halfopen-firmware
  echo "=== $t: lock check"
  # Negative control: the check must see a fallback lock that is there.
  if cargo build --release --target "$t" --features atomic64-canary --bin halfopen-firmware \
      && fallback_symbols "$elf" >/dev/null; then
    echo "negative control: nm finds the planted AtomicU64's fallback lock"
  else
    record "FAIL $t: lock check negative control (planted fallback lock not found)"; return 1
  fi
  cargo build --release --target "$t" --bin halfopen-firmware || { record "FAIL $t: build"; return 1; }
  if cargo tree --target "$t" -e features -i portable-atomic 2>/dev/null \
      | grep -q 'portable-atomic feature "fallback"'; then
    record "FAIL $t: portable-atomic's fallback feature is enabled"; return 1
  fi
  if fallback_symbols "$elf"; then
    record "FAIL $t: portable-atomic fallback lock linked into the image"; return 1
  fi
  record "PASS $t: no portable-atomic fallback lock (feature off, no symbol)"
}

runner_selfcheck() {
  local t=$1 elf=target/selftest/$1/release/halfopen-firmware
  local log=target/run-logs/$1-selftest.log
  echo "=== $t: vector runner self-check (selftest-vectors/)"
  # Its own target dir: the vector table differs, the real build stays cached.
  if ! HALFOPEN_VECTORS_DIR=selftest-vectors CARGO_TARGET_DIR=target/selftest \
      cargo build --release --target "$t" --bin halfopen-firmware; then
    record "FAIL $t: runner self-check build"; return 1
  fi
  ./qemu-run.sh "$elf" > "$log"
  local rc=$?
  local got
  got=$(sed -E 's/^[0-9.]+ +[A-Z]+ +//' "$log" | grep -E '^(FAIL |vectors: [0-9]+ passed)')
  if [ "$rc" = 0 ] || [ "$got" != "$(cat selftest-vectors/expected.txt)" ]; then
    echo "exit code $rc; got:"; echo "$got"
    record "FAIL $t: vector runner self-check"; return 1
  fi
  echo "$got"
  record "PASS $t: vector runner catches the planted mistakes (exit $rc)"
}

for t in "${targets[@]}"; do
  if [ "$t" = thumbv7em-none-eabihf ]; then
    lock_check "$t" || true
  fi
  echo "=== $t: build"
  if ! cargo build --release --target "$t" --bins; then
    record "FAIL $t: build"; continue
  fi
  for img in "${IMAGES[@]}"; do
    elf=target/$t/release/$img
    echo "=== $t: $img in QEMU"
    arm-none-eabi-size "$elf" 2>/dev/null | tail -n 1 || true
    log=target/run-logs/$t-$img.log
    ./qemu-run.sh "$elf" | tee "$log"
    rc=${PIPESTATUS[0]}
    last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
    if [ "$rc" != 0 ]; then
      record "FAIL $t $img: exit code $rc"
    elif [[ "$last" != *"$EXPECTED_LAST" ]]; then
      record "FAIL $t $img: last log line is not '$EXPECTED_LAST'"
    else
      record "PASS $t $img"
    fi
  done
  if [ "$t" = thumbv7em-none-eabihf ]; then
    runner_selfcheck "$t" || true
  fi
done

echo "=== firmware summary"
printf '%s\n' "${summary[@]}"
passed=0
for s in "${summary[@]}"; do [[ $s == PASS* ]] && passed=$((passed + 1)); done
failed=$((${#summary[@]} - passed))
echo "firmware: $passed passed, $failed failed"
[ "$failed" = 0 ]
