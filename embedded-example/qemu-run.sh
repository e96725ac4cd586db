#!/usr/bin/env bash
# Runs one firmware ELF in QEMU and prints its decoded defmt log.
#
#   ./qemu-run.sh path/to/elf        (also the cargo runner: `cargo run --release`)
#
# The machine follows the ELF's target: thumbv6m -> `-machine microbit`
# (Cortex-M0), otherwise `-machine mps2-an386 -cpu cortex-m4`. The firmware's
# defmt frames arrive on QEMU's stdout through semihosting and go through
# `defmt-print -e ELF`. `-icount shift=0,sleep=off` runs virtual time
# deterministically and faster than real time. QEMU_TIMEOUT (seconds of wall
# time, default 60) bounds a hung firmware. The exit status is QEMU's, i.e.
# the firmware's semihosting exit code (124 on timeout).
set -uo pipefail

elf=${1:?usage: qemu-run.sh ELF}
timeout_s=${QEMU_TIMEOUT:-60}

case "$elf" in
  *thumbv6m*) machine=(-machine microbit) ;;
  *thumbv7em*) machine=(-machine mps2-an386 -cpu cortex-m4) ;;
  *)
    if arm-none-eabi-readelf -A "$elf" 2>/dev/null | grep -q 'Tag_CPU_arch: v6'; then
      machine=(-machine microbit)
    else
      machine=(-machine mps2-an386 -cpu cortex-m4)
    fi ;;
esac

timeout --foreground -k 5 "$timeout_s" \
  qemu-system-arm "${machine[@]}" -nographic -monitor none -serial null \
    -semihosting-config enable=on,target=native \
    -icount shift=0,sleep=off \
    -kernel "$elf" \
  | defmt-print -e "$elf"
codes=("${PIPESTATUS[@]}")
if [ "${codes[1]}" != 0 ]; then
  echo "qemu-run: defmt-print failed (status ${codes[1]})" >&2
fi
exit "${codes[0]}"
