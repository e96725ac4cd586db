#!/usr/bin/env bash
# A differential test of the npm package against the core: random vector
# files (gen-vectors, 3 fixed seeds x 200 cases that mix every rule) whose
# expectations are what the core does, run by the host runner and by the node
# runner (wasm/test/vectors.mjs, through the installed npm package). Both
# must pass every case and print the same lines.
#
#   bash tests/selftest/random.sh     (after wasm/ci.sh has installed the package;
#                                      agree.sh runs it)
#
# SEEDS and CASES override the defaults. A failing case is named in the diff:
# regenerate its file with `cargo run -q -p halfopen-conformance --bin
# gen-vectors -- --seed S --cases C` and cut the case down by hand.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seeds=(${SEEDS:-1 2 3})
cases="${CASES:-200}"
start=$SECONDS
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

(cd "$root" && cargo build -q -p halfopen-conformance --bins) || { echo "FAIL: could not build the conformance binaries"; exit 1; }
files=()
for seed in "${seeds[@]}"; do
  file="$dir/random-seed-$seed.json"
  if ! (cd "$root" && cargo run -q -p halfopen-conformance --bin gen-vectors -- --seed "$seed" --cases "$cases") >"$file"; then
    echo "FAIL: gen-vectors --seed $seed --cases $cases: the core refused or panicked on a step it drew (see above)"
    exit 1
  fi
  files+=("$file")
done

host=$(cd "$root" && cargo run -q -p halfopen-conformance -- "${files[@]}")
host_rc=$?
node=$(cd "$root/wasm/test" && node vectors.mjs "${files[@]}")
node_rc=$?
total=$(( ${#seeds[@]} * cases ))
want="$total passed, 0 failed"
ok=1
if [ "$host_rc" != 0 ] || [ "$(echo "$host" | tail -n 1)" != "$want" ]; then
  echo "FAIL: the host runner does not pass its own generated cases (exit $host_rc):"
  echo "$host" | grep -v '^ok ' | head -n 20
  ok=0
fi
if [ "$node_rc" != 0 ] || [ "$(echo "$node" | tail -n 1)" != "$want" ]; then
  echo "FAIL: the node runner disagrees with the core (exit $node_rc):"
  echo "$node" | grep -v '^ok ' | head -n 20
  ok=0
fi
if ! diff <(echo "$host") <(echo "$node") >"$dir/diff"; then
  echo "FAIL: the node runner's lines (>) differ from the host runner's (<):"
  head -n 40 "$dir/diff"
  ok=0
fi
if [ "$ok" = 0 ]; then
  echo "FAIL: random cases (seeds ${seeds[*]} x $cases): see above"
  exit 1
fi
steps=$(cat "${files[@]}" | grep -c '"do":')
echo "ok: host and node runners pass the same $total random cases ($steps steps; seeds ${seeds[*]} x $cases) and print the same lines ($want) in $((SECONDS - start)) s"
