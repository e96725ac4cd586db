#!/usr/bin/env bash
# Builds the npm package `halfopen` into wasm/dist/ and packs it.
#
#   bash wasm/build.sh            # build dist/ and pack <target>/npm/halfopen-<version>.tgz
#
# Steps: cargo (wasm32-unknown-unknown, opt-level "s", fat LTO, one codegen
# unit, in a profile of its own so host builds are untouched) -> wasm-bindgen
# CLI of exactly the wasm-bindgen crate's version (--target web --weak-refs,
# names and producers sections removed) -> wasm-opt -Oz --low-memory-unused
# --converge (npm `binaryen`) -> the hand-written JS layer assembled around the
# glue (scripts/assemble.mjs) -> npm pack. Prints the tarball's path as its
# last line. BENCHMARKS.md says what each setting is worth.
#
# Needs: the wasm32-unknown-unknown rustup target, node/npm; installs the
# wasm-bindgen CLI and the npm build tools (test/node_modules) when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/Cargo.toml"
cd "$here"

say() { printf '[build] %s\n' "$*" >&2; }

# --- versions -------------------------------------------------------------
metadata="$(cargo metadata --format-version 1 --manifest-path "$manifest")"
read -r target_dir bindgen_version crate_version < <(node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const pkg = (n) => m.packages.find((p) => p.name === n);
    const wb = pkg("wasm-bindgen"), me = pkg("halfopen-wasm");
    if (!wb || !me) { console.error("wasm-bindgen or halfopen-wasm missing from cargo metadata"); process.exit(1); }
    console.log(m.target_directory, wb.version, me.version);
' <<<"$metadata")

npm_version="$(node -p 'require("./package.json").version')"
if [[ "$npm_version" != "$crate_version" ]]; then
    say "package.json version $npm_version differs from the crate's $crate_version"
    exit 1
fi

have_bindgen="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [[ "$have_bindgen" != "$bindgen_version" ]]; then
    say "wasm-bindgen CLI is '${have_bindgen:-missing}', the crate is $bindgen_version: installing it (about 5 minutes)"
    cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

if [[ ! -x test/node_modules/.bin/wasm-opt ]]; then
    say "npm ci in test/ (binaryen's wasm-opt and the test tools)"
    (cd test && npm ci --no-audit --no-fund)
fi

# --- compile ----------------------------------------------------------------
# Source paths end up in the .wasm (panic locations, never printed): make
# them independent of the machine that builds.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
workspace="$(cd "$here/.." && pwd)"
profile=wasm-release
# Both .wasm crates in the same profile: opt-level "s", fat LTO, one codegen
# unit, no debug info, abort on panic.
build_wasm() {
    say "cargo build -p $1 --target wasm32-unknown-unknown --profile $profile"
    cargo build --manifest-path "$manifest" -p "$1" \
        --target wasm32-unknown-unknown --profile "$profile" \
        --config "profile.$profile.inherits='release'" \
        --config "profile.$profile.opt-level='s'" \
        --config "profile.$profile.lto='fat'" \
        --config "profile.$profile.codegen-units=1" \
        --config "profile.$profile.debug=false" \
        --config "profile.$profile.panic='abort'" \
        --config "target.wasm32-unknown-unknown.rustflags=['--remap-path-prefix=$cargo_home=/cargo', '--remap-path-prefix=$workspace=/halfopen']"
}
build_wasm halfopen-wasm
raw="$target_dir/wasm32-unknown-unknown/$profile/halfopen_wasm.wasm"
# halfopen/fleet's own .wasm (the core's fleet rules, crate wasm/fleet): the
# base .wasm keeps its size budget, and only programs that import
# halfopen/fleet load this one.
build_wasm halfopen-fleet-wasm
fleet_raw="$target_dir/wasm32-unknown-unknown/$profile/halfopen_fleet_wasm.wasm"

bindgen_out="$target_dir/wasm-bindgen/halfopen"
rm -rf "$bindgen_out"
say "wasm-bindgen $bindgen_version --target web --weak-refs"
wasm-bindgen --target web --out-name halfopen --out-dir "$bindgen_out" \
    --weak-refs --remove-name-section --remove-producers-section "$raw"

rm -rf dist
mkdir -p dist
# --low-memory-unused: nothing lives in the first 1 KB of memory (Rust's
# stack grows down from 1 MB towards it; the data is above), so offsets fold
# into loads and stores. --converge: run -Oz until it stops shrinking.
say "wasm-opt -Oz --low-memory-unused --converge --strip-target-features"
test/node_modules/.bin/wasm-opt -Oz --low-memory-unused --converge --strip-target-features \
    "$bindgen_out/halfopen_bg.wasm" -o dist/halfopen_bg.wasm
fleet_out="$target_dir/wasm-bindgen/halfopen-fleet"
rm -rf "$fleet_out"
say "wasm-bindgen (halfopen/fleet)"
wasm-bindgen --target web --out-name halfopen_fleet --out-dir "$fleet_out" \
    --weak-refs --remove-name-section --remove-producers-section "$fleet_raw"
test/node_modules/.bin/wasm-opt -Oz --converge --strip-target-features \
    "$fleet_out/halfopen_fleet_bg.wasm" -o dist/halfopen_fleet_bg.wasm
node scripts/assemble.mjs "$bindgen_out" dist "$fleet_out" >&2

# --- pack -------------------------------------------------------------------
pack_dir="$target_dir/npm"
mkdir -p "$pack_dir"
tarball="$pack_dir/$(npm pack --silent --pack-destination "$pack_dir" 2>/dev/null | tail -n1)"
[[ -f "$tarball" ]] || { say "npm pack produced no tarball"; exit 1; }

wasm_raw=$(stat -c %s dist/halfopen_bg.wasm)
wasm_gz=$(gzip -9 -c dist/halfopen_bg.wasm | wc -c)
say "dist/halfopen_bg.wasm: $wasm_raw bytes raw, $wasm_gz bytes gzip -9"
fleet_wasm_raw=$(stat -c %s dist/halfopen_fleet_bg.wasm)
fleet_wasm_gz=$(gzip -9 -c dist/halfopen_fleet_bg.wasm | wc -c)
say "dist/halfopen_fleet_bg.wasm (halfopen/fleet): $fleet_wasm_raw bytes raw, $fleet_wasm_gz bytes gzip -9"
# The entries' own files (the shared JS layer, breaker.js and the glue, not
# counted): the base64 copies are what halfopen/inline and the Node entries
# carry instead of fetching or reading the .wasm.
sizes() { printf '%s %s/%s' "$1" "$(stat -c %s "dist/$1")" "$(gzip -9 -c "dist/$1" | wc -c)"; }
say "entries (bytes raw/gzip -9): $(sizes browser.js), $(sizes init.js), $(sizes inline.js) + $(sizes wasm-base64.js), $(sizes node.cjs) + $(sizes wasm-base64.cjs), $(sizes node.mjs), $(sizes node-esm.js) + wasm-base64.js, $(sizes workerd.js), $(sizes fleet-node.cjs) + $(sizes fleet-wasm-base64.cjs)"
say "tarball: $(stat -c %s "$tarball") bytes"
echo "$tarball"
