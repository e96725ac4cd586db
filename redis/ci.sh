#!/usr/bin/env bash
# The fleet's tests against real Redis: starts redis-server and a 3-master
# Redis Cluster on free loopback ports (scripts/redis.sh, which installs
# Debian's redis-server and redis-tools if they are missing), runs the
# crate's tests (unit, doc, one process with several handles, separate
# worker processes on one Redis and on the cluster, TLS) and its example, and
# stops the servers whatever happened.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The TLS test makes its certificate authority with openssl.
if ! command -v openssl >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null || exit 1
fi
dir=$(mktemp -d)
trap 'bash scripts/redis.sh stop "$dir"; rm -rf "$dir"' EXIT
bash scripts/redis.sh start "$dir" || exit 1
# shellcheck disable=SC1091
source "$dir/env"
cargo test -q -p halfopen-redis --features cluster,tls -- --nocapture 2>&1 |
  { grep -v -E '^(READY|STATE|running 1 test|test worker|$)' || true; }
status=${PIPESTATUS[0]}
((status == 0)) || exit "$status"
if [[ -f redis/examples/fleet.rs ]]; then
  cargo run -q -p halfopen-redis --example fleet || exit 1
fi
