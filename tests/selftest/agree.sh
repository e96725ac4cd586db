#!/usr/bin/env bash
# The node runner (wasm/test/vectors.mjs, through the installed npm package)
# and the host runner print the same lines, line for line, on
# tests/selftest/failing.json, and both exit non-zero. The host runner is the
# reference; its lines are tests/selftest/failing.expected (checked by
# `cargo test -p halfopen-conformance`). Then random.sh: both runners pass
# the same randomly generated cases (gen-vectors) and print the same lines.
#
#   bash tests/selftest/agree.sh      (after wasm/ci.sh has installed the package)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
file="$root/tests/selftest/failing.json"
host=$(cd "$root" && cargo run -q -p halfopen-conformance -- "$file")
host_rc=$?
node=$(cd "$root/wasm/test" && node vectors.mjs "$file")
node_rc=$?
if [ "$host_rc" = 0 ] || [ "$node_rc" = 0 ]; then
  echo "FAIL: a runner passed a failing file (host exit $host_rc, node exit $node_rc)"
  exit 1
fi
if ! diff <(echo "$host") <(echo "$node"); then
  echo "FAIL: the node runner's lines (>) differ from the host runner's (<)"
  exit 1
fi
echo "ok: host and node runners print the same $(echo "$host" | wc -l) lines on tests/selftest/failing.json ($(echo "$host" | tail -n 1))"
exec bash "$root/tests/selftest/random.sh"
