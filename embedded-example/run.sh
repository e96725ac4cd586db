#!/usr/bin/env bash
# Builds the firmware (release) and runs it in QEMU, checking it.
#
#   ./run.sh [thumbv7em|thumbv6m|all]     (default: all)
#
# For each target: build, check that the thumbv7em image contains no
# portable-atomic fallback lock (a spinlock that an interrupt could deadlock
# on), run it in QEMU under a wall-clock timeout, print the decoded defmt
# log, and require both a semihosting exit code of 0 and the final log line
# "firmware: all checks passed". Prints a PASS/FAIL summary; exits non-zero
# on any failure. Extra cargo arguments can be passed in CARGO_ARGS.
set -uo pipefail
cd "$(dirname "$0")"

EXPECTED_LAST='firmware: all checks passed'
BIN=halfopen-firmware

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
failed=0

for t in "${targets[@]}"; do
  echo "=== $t: build"
  # shellcheck disable=SC2086
  if ! cargo build --release --target "$t" ${CARGO_ARGS:-}; then
    summary+=("FAIL $t: build"); failed=1; continue
  fi
  elf=target/$t/release/$BIN

  if [ "$t" = thumbv7em-none-eabihf ]; then
    if arm-none-eabi-nm -C "$elf" | grep -E 'imp::fallback|fallback4lock'; then
      echo "run.sh: portable-atomic fallback lock linked into the thumbv7em image" >&2
      summary+=("FAIL $t: portable-atomic fallback lock present"); failed=1; continue
    fi
    echo "no portable-atomic fallback lock in the image (lock-free path)"
  fi
  arm-none-eabi-size "$elf" 2>/dev/null || true

  echo "=== $t: run in QEMU"
  log=target/run-logs/$t.log
  ./qemu-run.sh "$elf" | tee "$log"
  rc=${PIPESTATUS[0]}
  last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
  if [ "$rc" != 0 ]; then
    summary+=("FAIL $t: exit code $rc"); failed=1
  elif [[ "$last" != *"$EXPECTED_LAST" ]]; then
    summary+=("FAIL $t: last log line is not '$EXPECTED_LAST'"); failed=1
  else
    summary+=("PASS $t")
  fi
done

echo "=== firmware summary"
printf '%s\n' "${summary[@]}"
passed=0
for s in "${summary[@]}"; do [[ $s == PASS* ]] && passed=$((passed + 1)); done
echo "firmware: $passed passed, $((${#summary[@]} - passed)) failed"
exit "$failed"
