#!/usr/bin/env bash
# The correctness proofs of the halfopen core, one command each.
#
#   core/scripts/proofs.sh loom            loom model checks (core/tests/loom.rs)
#   core/scripts/proofs.sh proptest        property tests against the model (core/tests/model.rs)
#   core/scripts/proofs.sh miri            the core's unit and integration tests under Miri
#   core/scripts/proofs.sh fuzz SECONDS    each cargo-fuzz target for SECONDS (core/fuzz)
#   core/scripts/proofs.sh all [SECONDS]   all of the above (fuzz only if SECONDS is given)
#
# loom and proptest are what CI runs (about 2 minutes together, warm, on
# two cores). Environment:
#
#   LOOM_MAX_PREEMPTIONS  overrides every loom model's own bound (2 or 3)
#   PROPTEST_CASES        cases of the main property (default 10000); the other
#                         properties scale with it
#   CARGO_TARGET_DIR      for proptest and miri (loom always builds in
#                         target/loom, or $LOOM_TARGET_DIR, so its --cfg loom
#                         build never invalidates the normal one)
#
# Miri and fuzzing need the nightly toolchain with the miri component and
# cargo-fuzz; this script installs what is missing (`rustup component add`,
# `cargo install cargo-fuzz`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

loom() {
    local dir="${LOOM_TARGET_DIR:-$root/target/loom}"
    echo "== loom (target dir $dir)"
    CARGO_TARGET_DIR="$dir" RUSTFLAGS="--cfg loom" \
        cargo test -p halfopen --test loom --release -- --test-threads=2 --nocapture
}

proptest() {
    echo "== proptest (${PROPTEST_CASES:-10000} cases of the main property)"
    # A debug build: overflow checks stay on in the core.
    cargo test -p halfopen --test model -- --test-threads=2
}

miri() {
    if ! cargo +nightly miri --version >/dev/null 2>&1; then
        rustup +nightly component add miri rust-src
    fi
    echo "== miri"
    # loom.rs is empty without --cfg loom; the property tests cut their case
    # counts under cfg(miri). Doctests are not run (the benchmarks are the
    # crate halfopen-benches, not part of the core).
    cargo +nightly miri test -p halfopen --lib --tests
}

fuzz() {
    local seconds="${1:?usage: proofs.sh fuzz SECONDS}"
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install cargo-fuzz
    fi
    cd "$root/core/fuzz"
    local target
    for target in ops restore; do
        echo "== fuzz $target for ${seconds}s (corpus core/fuzz/corpus/$target)"
        # No sanitizer: the crate forbids unsafe code; debug assertions and
        # overflow checks are on (cargo-fuzz's default, and the profile's).
        cargo +nightly fuzz run --sanitizer none "$target" -- \
            -max_total_time="$seconds" -print_final_stats=1
    done
}

case "${1:-}" in
loom) loom ;;
proptest) proptest ;;
miri) miri ;;
fuzz) fuzz "${2:-}" ;;
all)
    loom
    proptest
    miri
    if [ -n "${2:-}" ]; then fuzz "$2"; fi
    ;;
*)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
