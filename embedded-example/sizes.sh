#!/usr/bin/env bash
# Measures flash and RAM per target with arm-none-eabi-size and prints a
# markdown table (the one in README.md comes from here).
#
#   ./sizes.sh [thumbv7em|thumbv6m|all]     (default: all)
#
# Images (release profile: opt-level "z", fat LTO, panic = abort):
#   firmware           the example as run.sh runs it (scene + on-device vectors)
#   firmware, no vectors   the same without the conformance table (feature off)
#   probe_bare         a small firmware reading a flaky bus, no breaker
#   probe_breaker      the same, each read through a static breaker
#   breaker adds       probe_breaker - probe_bare
#
# flash = .vector_table + .text + .rodata + .data (its load image);
# RAM = .data + .bss + .uninit (static memory; the stack comes on top).
set -euo pipefail
cd "$(dirname "$0")"

case "${1:-all}" in
  thumbv7em) targets=(thumbv7em-none-eabihf) ;;
  thumbv6m) targets=(thumbv6m-none-eabi) ;;
  all) targets=(thumbv7em-none-eabihf thumbv6m-none-eabi) ;;
  *) echo "usage: $0 [thumbv7em|thumbv6m|all]" >&2; exit 2 ;;
esac

# Prints "text rodata data bss uninit vector_table" for an ELF.
sections() {
  arm-none-eabi-size -A -d "$1" | awk '
    $1==".text"{t=$2} $1==".rodata"{r=$2} $1==".data"{d=$2} $1==".bss"{b=$2}
    $1==".uninit"{u=$2} $1==".vector_table"{v=$2}
    END{print t+0, r+0, d+0, b+0, u+0, v+0}'
}

row() {
  local name=$1 t r d b u v
  read -r t r d b u v <<<"$2"
  printf '| %s | %s | %d | %d | %d | %d | %d | %d | %d |\n' \
    "$target" "$name" "$t" "$r" "$((v + t + r + d))" "$d" "$b" "$u" "$((d + b + u))"
}

out=target/sizes
echo "| target | image | .text | .rodata | flash | .data | .bss | .uninit | RAM |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for target in "${targets[@]}"; do
  mkdir -p "$out/$target"
  cargo build -q --release --target "$target" --no-default-features --bin halfopen-firmware
  cp "target/$target/release/halfopen-firmware" "$out/$target/firmware-no-vectors"
  cargo build -q --release --target "$target" --bins
  for img in halfopen-firmware probe_bare probe_breaker; do
    cp "target/$target/release/$img" "$out/$target/$img"
  done
  fw=$(sections "$out/$target/halfopen-firmware")
  nv=$(sections "$out/$target/firmware-no-vectors")
  bare=$(sections "$out/$target/probe_bare")
  brk=$(sections "$out/$target/probe_breaker")
  row "firmware" "$fw"
  row "firmware, no vectors" "$nv"
  row "probe_bare" "$bare"
  row "probe_breaker" "$brk"
  read -r t1 r1 d1 b1 u1 v1 <<<"$bare"
  read -r t2 r2 d2 b2 u2 v2 <<<"$brk"
  row "**breaker adds**" "$((t2 - t1)) $((r2 - r1)) $((d2 - d1)) $((b2 - b1)) $((u2 - u1)) $((v2 - v1))"
  [ "$target" = thumbv7em-none-eabihf ] && budget_text=$((t2 - t1))
done

# DESIGN.md budget: flash added to thumbv7em firmware at opt-level "z" <= 2 KiB .text.
if [ -n "${budget_text:-}" ]; then
  if [ "$budget_text" -le 2048 ]; then verdict=met; else verdict=MISSED; fi
  echo
  echo "budget: the breaker adds $budget_text bytes of .text on thumbv7em (budget 2048): $verdict"
fi
