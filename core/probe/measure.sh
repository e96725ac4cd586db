#!/usr/bin/env bash
# Flash one halfopen breaker adds to a thumbv7em firmware (opt-level "z", fat
# LTO): builds the probe without and with the `breaker` feature and prints
# the `.text` sizes and their difference. Also checks that the firmware links
# no portable-atomic fallback lock (a spinlock that does not mask interrupts,
# so an interrupt could deadlock on it): portable-atomic's `fallback` feature
# is off and nm finds no `portable_atomic::imp::fallback::lock` symbol. Its
# negative control builds the probe with a planted AtomicU64 (feature
# atomic64-canary) and requires both checks to see that lock.
#
# Needs: rustup target thumbv7em-none-eabihf; arm-none-eabi-size and
# arm-none-eabi-nm (Debian binutils-arm-none-eabi), or llvm-size/llvm-nm.
# Budget (DESIGN.md): at most 2 KiB of .text added.
set -euo pipefail
cd "$(dirname "$0")"

target=thumbv7em-none-eabihf
target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/probe-out"
mkdir -p "$out"

if command -v arm-none-eabi-size >/dev/null; then size=arm-none-eabi-size; else size=llvm-size; fi
if command -v arm-none-eabi-nm >/dev/null; then nm=arm-none-eabi-nm; else nm=llvm-nm; fi

build() { # $1: name, rest: cargo flags
    local name=$1; shift
    cargo build --quiet --release --target "$target" --target-dir "$target_dir" "$@"
    cp "$target_dir/$target/release/halfopen-size-probe" "$out/$name.elf"
}
text_of() { "$size" -A "$1" | awk '$1 == ".text" { print $2 }'; }

build without
build with --features breaker

without=$(text_of "$out/without.elf")
with=$(text_of "$out/with.elf")
delta=$((with - without))
budget=2048

printf '%-28s %6s bytes\n' ".text without breaker" "$without" ".text with breaker" "$with"
printf '%-28s %6s bytes (budget %s)\n' ".text added by the breaker" "$delta" "$budget"
build all-keys --features all-keys
all_keys=$(text_of "$out/all-keys.elf")
printf '%-28s %6s bytes (halfOpenMaxWaitMs, jitter and backoff configured; no budget)\n' \
    ".text added, every key" "$((all_keys - without))"
for policy in failure-rate time-window; do
    build "$policy" --features "$policy"
    printf '%-28s %6s bytes (a %s breaker instead; no budget)\n' \
        ".text added, $policy" "$(($(text_of "$out/$policy.elf") - without))" "$policy"
done
echo "--- $size (Berkeley) ---"
"$size" "$out/without.elf" "$out/with.elf"
echo "--- breaker symbols kept out of line (largest first) ---"
"$nm" -C --size-sort -r "$out/with.elf" | grep -i -E 'halfopen|breaker' || echo "(none: all inlined into main)"

status=0
# The lock check: the feature, and the symbol (demangled).
lock_feature() { # $@: cargo features
    cargo tree --quiet --target "$target" -e features -i portable-atomic "$@" 2>/dev/null \
        | grep -q 'portable-atomic feature "fallback"'
}
lock_symbols() { "$nm" -C "$1" | grep -F 'portable_atomic::imp::fallback::lock'; }

build canary --features atomic64-canary
if lock_feature --features atomic64-canary && lock_symbols "$out/canary.elf"; then
    echo "ok: negative control: the check finds the planted AtomicU64's fallback lock"
else
    echo "FAIL: negative control: the planted fallback lock was not found; the lock check cannot fire"
    status=1
fi
if lock_feature --features breaker; then
    echo "FAIL: portable-atomic's fallback feature is enabled in the breaker build"
    status=1
elif lock_symbols "$out/with.elf"; then
    echo "FAIL: portable-atomic fallback lock linked into the firmware"
    status=1
else
    echo "ok: no portable_atomic::imp::fallback::lock in the firmware (feature off, no symbol)"
fi
build sizes --features sizes
echo "--- size_of on $target (bytes): breaker per policy, clock ---"
"$nm" -S "$out/sizes.elf" | while read -r _ hex _ name; do
    case $name in SIZE_OF_*) printf '  %-36s %4d\n' "${name#SIZE_OF_}" "$((16#$hex))" ;; esac
done | sort

if [ "$delta" -gt "$budget" ]; then
    echo "FAIL: the breaker adds $delta bytes of .text, over the $budget-byte budget"
    status=1
else
    echo "ok: the breaker adds $delta bytes of .text (budget $budget)"
fi
exit $status
