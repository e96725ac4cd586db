#!/usr/bin/env bash
# CI for the npm package `halfopen`: idempotent, for a fresh Debian machine
# (run as root) or a developer's. Installs what is missing, builds and packs
# the package, installs the tarball as a user would, and runs every check:
#
#   package.json's Node.js versions against the ones tested here, the
#   generated JS facts against the Rust definitions (cargo test --test
#   generated), node ESM + CommonJS tests, the typed usage check (tsc --noEmit), the
#   conformance vectors (../tests/vectors/*.json) through the JS API,
#   wasm-bindgen-test under Node, the Worker example in workerd (miniflare),
#   a page in headless Chromium (playwright-core), the conformance vectors
#   again inside workerd and inside Chromium, whose lines must be the host
#   runner's, and halfopen/fleet: Node processes on a redis-server (started
#   with scripts/redis.sh unless HALFOPEN_REDIS_URL is set) beside a Rust
#   process, and client Worker isolates on a Durable Object in workerd; and
#   the README's bundler commands (test/bundlers: esbuild, Vite, webpack 5,
#   wrangler) building one tiny app, run in Node, Chromium and workerd.
#
#   bash wasm/ci.sh
#
# Every check is reported as `ok NAME` or `FAIL NAME`; none is skipped
# silently. Ends with `wasm: N passed, N failed` and exits non-zero if any
# check failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

say() { printf '\n[ci] %s\n' "$*"; }
die() { printf '\n[ci] FATAL: %s\n' "$*"; echo "wasm: 0 passed, 1 failed"; exit 1; }

# --- prerequisites ----------------------------------------------------------
command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"
command -v node >/dev/null || die "node not found (Node.js 20 or later is needed)"
command -v npm >/dev/null || die "npm not found"
# The oldest Node.js supported (and tested): package.json's `engines` must say
# the same (checked below).
node_min=20
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= node_min )) || die "Node.js $(node --version) is too old: $node_min or later is needed"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown || die "could not add the wasm32-unknown-unknown target"
fi

bindgen_version="$(cargo metadata --format-version 1 --manifest-path "$here/Cargo.toml" \
    | node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
               console.log(m.packages.find((p) => p.name === "wasm-bindgen").version)')" \
    || die "cargo metadata failed"
if [[ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" \
   || "$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]]; then
    say "cargo install wasm-bindgen-cli --version $bindgen_version (about 5 minutes)"
    cargo install wasm-bindgen-cli --version "$bindgen_version" --force || die "could not install wasm-bindgen-cli $bindgen_version"
fi

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
    say "apt-get install chromium"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || die "could not install chromium"
    [[ -x "$chromium" ]] || die "chromium installed but $chromium is missing"
fi

# npm ci only when the lockfile changed since the last install.
lock_sum="$(sha256sum test/package-lock.json | cut -d' ' -f1)"
if [[ "$(cat test/node_modules/.lock-sha256 2>/dev/null)" != "$lock_sum" ]]; then
    say "npm ci (test tools: binaryen, typescript, miniflare, playwright-core, opossum, cockatiel, redis, esbuild, vite, webpack, wrangler)"
    (cd test && npm ci --no-audit --no-fund) || die "npm ci failed in test/"
    echo "$lock_sum" > test/node_modules/.lock-sha256
fi

# --- build, pack, install the tarball ----------------------------------------
say "build and pack"
tarball="$(bash build.sh | tail -n1)" || die "build.sh failed"
[[ -f "$tarball" ]] || die "build.sh printed no tarball"
say "npm install --no-save $(basename "$tarball") (into test/, as a user would)"
rm -rf test/node_modules/halfopen
(cd test && npm install --no-save --no-audit --no-fund "$tarball") || die "could not install the packed tarball"

# --- Redis and the Rust peer, for the fleet tests -------------------------------
# A redis-server on a loopback port (scripts/redis.sh, the one the Rust fleet
# tests use), unless HALFOPEN_REDIS_URL names one already; stopped on exit.
if [[ -z "${HALFOPEN_REDIS_URL:-}" ]]; then
    redis_dir="$(mktemp -d)"
    trap 'bash "$here/../scripts/redis.sh" stop "$redis_dir" >/dev/null 2>&1; rm -rf "$redis_dir" 2>/dev/null || { sleep 1; rm -rf "$redis_dir"; }' EXIT
    say "redis-server for the fleet tests (scripts/redis.sh)"
    bash "$here/../scripts/redis.sh" start "$redis_dir" >/dev/null || die "could not start redis-server"
    # shellcheck disable=SC1091
    source "$redis_dir/env"
fi
export HALFOPEN_REDIS_URL
# The Rust instance the Node fleet tests share a breaker with.
say "cargo build -p halfopen-redis --example peer"
cargo build -q --manifest-path "$here/Cargo.toml" -p halfopen-redis --example peer || die "could not build the Rust peer"
export HALFOPEN_RUST_PEER="$(cargo metadata --format-version 1 --no-deps --manifest-path "$here/Cargo.toml" \
    | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')/debug/examples/peer"

# --- checks --------------------------------------------------------------------
passed=0
failed=0
results=()
check() {
    local name="$1"
    shift
    say "check: $name"
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        results+=("ok $name ($((SECONDS - start)) s)")
    else
        failed=$((failed + 1))
        results+=("FAIL $name ($((SECONDS - start)) s)")
    fi
}

node_test() { (cd test && node --test --test-reporter=spec "$@"); }

vectors() {
    shopt -s nullglob
    local files=("$here"/../tests/vectors/*.json)
    shopt -u nullglob
    if (( ${#files[@]} == 0 )); then
        echo "no vector files in tests/vectors/: nothing to check is a failure"
        return 1
    fi
    (cd test && node vectors.mjs "${files[@]}")
}

bindgen_tests() {
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
        cargo test --manifest-path "$here/Cargo.toml" -p halfopen-wasm --target wasm32-unknown-unknown --features std
}

# package.json promises the Node.js versions this script tests: node_min on.
engines() {
    local want=">=$node_min" have
    have="$(node -p 'require("./package.json").engines?.node')"
    [[ "$have" == "$want" ]] || { echo "package.json engines.node is '$have'; ci.sh tests Node $want"; return 1; }
}

# js/facts.js and test/node/core-errors.json say what the Rust side defines.
generated() {
    cargo test --manifest-path "$here/Cargo.toml" -p halfopen-wasm --test generated
}

check "package.json engines.node is the Node.js ci.sh needs (>=$node_min)" engines
check "generated: js/facts.js and test/node/core-errors.json are current" generated
check "node: ESM and CommonJS; Registry, health, metricsText, per-call events" node_test node/
check "types: tsc --noEmit on typed usage (ESM and CommonJS)" test/node_modules/.bin/tsc -p test/types
check "vectors: tests/vectors/*.json through the JS API" vectors
check "vectors: node and host runners print the same lines on tests/selftest/failing.json" \
    bash "$here/../tests/selftest/agree.sh"
check "wasm-bindgen-test under node" bindgen_tests
check "workerd: Worker example in miniflare" node_test workerd/
check "fleet: nothing at global scope; Node processes on redis-server and a 3-master cluster; Node and Rust share one breaker; bad input; store faults" \
    node_test fleet/global.test.mjs fleet/redis.test.mjs
check "fleet in workerd: client Worker isolates on a HalfOpenFleet Durable Object (restart, faults, bad input)" \
    node_test fleet/workerd.test.mjs
check "chromium: ESM build in a headless page; the example page (examples/page) opens and closes its breaker" env CHROMIUM="$chromium" bash -c 'cd test && node --test --test-reporter=spec browser/'
check "vectors in workerd: a test Worker prints the host runner's lines" node_test vectors-runtimes/workerd.test.mjs
check "vectors in chromium: a headless page prints the host runner's lines" \
    env CHROMIUM="$chromium" bash -c 'cd test && node --test --test-reporter=spec vectors-runtimes/chromium.test.mjs'
check "bundlers: esbuild (browser ESM, IIFE, Node CJS, Node ESM, workerd), Vite, webpack 5, wrangler; run in Node, Chromium, workerd" \
    env CHROMIUM="$chromium" bash -c 'cd test && node --test --test-reporter=spec bundlers/'

echo
echo "[ci] results"
printf '  %s\n' "${results[@]}"
echo "wasm: $passed passed, $failed failed"
(( failed == 0 ))
