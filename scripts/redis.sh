#!/usr/bin/env bash
# The Redis servers the fleet tests run against, on free loopback ports: one
# server, and a 3-master Redis Cluster. Installs Debian's redis-server and
# redis-tools if they are missing.
#
#   bash scripts/redis.sh start DIR   # starts them; writes DIR/env (export lines)
#   bash scripts/redis.sh stop DIR    # stops them
set -euo pipefail
cmd="${1:?usage: redis.sh start|stop DIR}"
dir="${2:?usage: redis.sh start|stop DIR}"

# A free port below 45535 (a cluster node also listens on its port + 10000).
free_port() {
  python3 -c '
import random, socket
while True:
    p = random.randint(20000, 45000)
    ok = True
    for q in (p, p + 10000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        s.close()
    if ok:
        print(p)
        break'
}

start_one() { # port dir [extra args]
  local port="$1" d="$2"
  shift 2
  mkdir -p "$d"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$d" --pidfile "$d/redis.pid" --logfile "$d/redis.log" --daemonize yes "$@"
  for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "redis-server on port $port did not start: $(tail -5 "$d/redis.log")" >&2
  return 1
}

case "$cmd" in
start)
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  port=$(free_port)
  start_one "$port" "$dir/single"
  nodes=()
  for i in 1 2 3; do
    p=$(free_port)
    start_one "$p" "$dir/cluster$i" --cluster-enabled yes --cluster-config-file "$dir/cluster$i/nodes.conf"
    nodes+=("127.0.0.1:$p")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/cluster-create.log"
  for _ in $(seq 100); do
    redis-cli -p "${nodes[0]##*:}" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
  urls=$(printf 'redis://%s/,' "${nodes[@]}")
  {
    echo "export HALFOPEN_REDIS_URL=redis://127.0.0.1:$port/"
    echo "export HALFOPEN_REDIS_CLUSTER=${urls%,}"
  } >"$dir/env"
  echo "redis on 127.0.0.1:$port; cluster on ${nodes[*]}"
  ;;
stop)
  for pidfile in "$dir"/*/redis.pid; do
    [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  ;;
*)
  echo "usage: redis.sh start|stop DIR" >&2
  exit 2
  ;;
esac
