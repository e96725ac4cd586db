#!/usr/bin/env bash
# Builds the firmware (release) and runs it in QEMU, checking it.
#
#   ./run.sh [thumbv7em|thumbv6m|all]     (default: all)
#
# For each target:
#   1. build the example (halfopen-firmware) and the self-test (selftest,
#      feature `vectors`);
#   2. run each image in QEMU under a wall-clock timeout, print the decoded
#      defmt log, and require a semihosting exit code of 0 and the final log
#      line "firmware: all checks passed";
#   3. the self-test's vector lines (`ok NAME`, `FAIL NAME: ...`,
#      `N passed, N failed`) must be the host runner's on the same files,
#      line for line;
#   4. thumbv7em only, the vector runner's negative control: the self-test
#      built over ../tests/selftest/ (a file of deliberate mistakes) must
#      print exactly the host runner's lines for it (failing.expected) and
#      exit non-zero.
# The flash a breaker adds and the lock check are core/probe/measure.sh's.
# Prints a PASS/FAIL summary; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"

EXPECTED_LAST='firmware: all checks passed'
IMAGES=(halfopen-firmware selftest)

case "${1:-all}" in
  thumbv7em) targets=(thumbv7em-none-eabihf) ;;
  thumbv6m) targets=(thumbv6m-none-eabi) ;;
  all) targets=(thumbv7em-none-eabihf thumbv6m-none-eabi) ;;
  *) echo "usage: $0 [thumbv7em|thumbv6m|all]" >&2; exit 2 ;;
esac

for tool in cargo qemu-system-arm defmt-print arm-none-eabi-size; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool not found (ci.sh installs what is missing)" >&2
    exit 2
  fi
done

mkdir -p target/run-logs
summary=()
record() { summary+=("$1"); echo "--- $1"; }

# The vector lines of a decoded log, without timestamp and level.
vector_lines() {
  sed -E 's/^[0-9.]+ +[A-Z]+ +//' "$1" | grep -E '^(ok |FAIL |[0-9]+ passed, [0-9]+ failed$)'
}

# The host runner's lines for the same files, in build.rs's (byte) order.
host_lines() {
  local dir files=()
  dir=$(cd "$1" && pwd) || return 1
  mapfile -t files < <(printf '%s\n' "$dir"/*.json | LC_ALL=C sort)
  (cd .. && cargo run -q -p halfopen-conformance -- "${files[@]}")
}

same_as_host() {
  local t=$1 log=$2 dir=$3 want got
  want=$(host_lines "$dir")
  got=$(vector_lines "$log")
  if [ -z "$want" ] || [ "$got" != "$want" ]; then
    diff <(echo "$want") <(echo "$got") | head -20
    record "FAIL $t selftest: its vector lines (>) differ from the host runner's (<)"; return 1
  fi
  record "PASS $t selftest: the host runner's $(echo "$got" | wc -l) lines ($(echo "$got" | tail -n 1))"
}

runner_selfcheck() {
  local t=$1 elf=target/selftest/$1/release/selftest
  local log=target/run-logs/$1-selftest-failing.log
  echo "=== $t: vector runner negative control (../tests/selftest/)"
  # Its own target dir: the vector table differs, the real build stays cached.
  if ! HALFOPEN_VECTORS_DIR=../tests/selftest CARGO_TARGET_DIR=target/selftest \
      cargo build --release --target "$t" --features vectors --bin selftest; then
    record "FAIL $t: runner negative control build"; return 1
  fi
  ./qemu-run.sh "$elf" > "$log"
  local rc=$?
  local got
  got=$(vector_lines "$log")
  if [ "$rc" = 0 ] || [ "$got" != "$(cat ../tests/selftest/failing.expected)" ]; then
    echo "exit code $rc; got:"; echo "$got"
    record "FAIL $t: vector runner negative control"; return 1
  fi
  echo "$got" | tail -n 1
  record "PASS $t: vector runner prints the host runner's lines for ../tests/selftest/failing.json (exit $rc)"
}

for t in "${targets[@]}"; do
  echo "=== $t: build"
  if ! cargo build --release --target "$t" --bin halfopen-firmware \
      || ! cargo build --release --target "$t" --features vectors --bin selftest; then
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
    if [ "$img" = selftest ]; then
      same_as_host "$t" "$log" ../tests/vectors || true
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
