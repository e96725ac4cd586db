#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a warm one. Installs what it
# needs (rustup targets and components, wasm-bindgen-cli, node packages, redis-server,
# Chromium, QEMU, defmt-print), runs every suite, skips none, and ends with
# `N passed, N failed` over the suites. Exits non-zero if any failed.
#
#   bash scripts/test.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

passed=0
failed=0
failures=()
suite() {
  local name="$1"
  shift
  printf '\n=== %s\n' "$name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    printf '=== ok %s (%ss)\n' "$name" $((SECONDS - t0))
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '=== FAIL %s (%ss)\n' "$name" $((SECONDS - t0))
  fi
}

targets=(wasm32-unknown-unknown thumbv6m-none-eabi thumbv7em-none-eabihf riscv32imc-unknown-none-elf)

toolchain() {
  local have
  have=$(rustup target list --installed) || return 1
  for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$have" || rustup target add "$t" || return 1
  done
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy || return 1
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt || return 1
  # Section sizes and symbols of the firmware images (the size probe, the firmware).
  if ! command -v arm-none-eabi-size >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils-arm-none-eabi || return 1
  fi
}

# The core on every target: lock-free where there is CAS, a critical section
# (chosen by the final binary) where there is none.
cross() {
  cargo build -q -p halfopen --no-default-features || return 1
  cargo build -q -p halfopen --no-default-features --target wasm32-unknown-unknown || return 1
  cargo build -q -p halfopen --no-default-features --target thumbv7em-none-eabihf || return 1
  cargo build -q -p halfopen --no-default-features --features defmt,embassy-time \
    --target thumbv7em-none-eabihf || return 1
  cargo build -q -p halfopen --no-default-features --features critical-section \
    --target thumbv6m-none-eabi || return 1
  cargo build -q -p halfopen --no-default-features --features critical-section \
    --target riscv32imc-unknown-none-elf || return 1
  # serde and log stay no_std and allocation-free.
  cargo build -q -p halfopen --no-default-features --features serde,log \
    --target thumbv7em-none-eabihf || return 1
  cargo build -q -p halfopen --no-default-features --features serde,log,critical-section \
    --target thumbv6m-none-eabi || return 1
  # Without the default features (a firmware counting bytes): the timing keys
  # are refused by name.
  cargo test -q -p halfopen --no-default-features --features std --test v2 || return 1
  echo "halfopen builds for x86_64, wasm32, thumbv7em, thumbv6m and riscv32imc"
}

vectors() {
  cargo run -q -p halfopen-conformance -- tests/vectors/*.json
}

suite "toolchain (rustup targets, clippy, rustfmt)" toolchain
fmt() {
  cargo fmt --all -- --check || return 1
  cargo fmt --manifest-path embedded-example/Cargo.toml -- --check
}

suite "cargo fmt --check (workspace and firmware)" fmt
clippy() {
  cargo clippy -q --workspace --all-targets \
    --features halfopen/std,halfopen/embassy-time,halfopen/serde,halfopen/log,halfopen/fleet,halfopen-redis/cluster,halfopen-redis/tls -- -D warnings || return 1
  # The core and the .wasm crates where their code differs from the host's
  # (32-bit atomics and stripes, the wasm allocator).
  cargo clippy -q -p halfopen -p halfopen-wasm -p halfopen-fleet-wasm --target wasm32-unknown-unknown -- -D warnings || return 1
  cargo clippy -q -p halfopen --target thumbv7em-none-eabihf --features defmt,critical-section,fleet -- -D warnings
}
suite "cargo clippy -D warnings (host, wasm32, thumbv7em)" clippy
suite "core tests (unit, behaviour, property tests vs the sequential model, zero allocation, doc, embassy mock driver, serde, log)" \
  cargo test -q -p halfopen --features std,embassy-time,serde,log,fleet
suite "host integrations (tracing, tower, tokio timeout, Prometheus, registry of named breakers, the example service over HTTP)" \
  cargo test -q -p halfopen-service
suite "conformance runner tests" cargo test -q -p halfopen-conformance
suite "conformance vectors on the host" vectors
suite "core builds on five targets" cross
rustdoc() {
  RUSTDOCFLAGS="-D warnings" cargo doc -q -p halfopen --no-deps --features std,embassy-time,serde,log,fleet || return 1
  RUSTDOCFLAGS="-D warnings" cargo doc -q -p halfopen-service --no-deps
}
suite "rustdoc without warnings" rustdoc
suite "loom model checks" bash core/scripts/proofs.sh loom
suite "thumbv7em flash a breaker adds (budget 2 KiB) and no fallback lock" bash core/probe/measure.sh
suite "fleet on Redis (one server and a 3-master cluster on loopback; processes, faults, bad input)" bash redis/ci.sh
suite "npm package (Node ESM/CJS, types, errors, churn, vectors, workerd, Chromium; esbuild, Vite, webpack, wrangler bundles)" bash wasm/ci.sh
suite "firmware in QEMU (Cortex-M4 and Cortex-M0)" bash embedded-example/ci.sh

echo
if ((failed > 0)); then
  printf 'failed suites:\n'
  printf '  %s\n' "${failures[@]}"
fi
echo "suites: $passed passed, $failed failed"
((failed == 0))
