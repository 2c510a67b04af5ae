#!/usr/bin/env bash
# A 3-master, 3-replica Redis Cluster on loopback from this machine's own redis-server (no Docker), for the
# cluster test suites and the demo.
#
#   scripts/redis-cluster.sh start    # idempotent: a healthy cluster already up is left as it is
#   scripts/redis-cluster.sh stop     # shuts every node down and removes its data
#   scripts/redis-cluster.sh status   # exit 0 when every node answers and the cluster state is ok
#   scripts/redis-cluster.sh url      # the CACHE_URL / KEYCARD_TEST_REDIS_CLUSTER_URL to use
#
# Ports: KEYCARD_CLUSTER_BASE_PORT (default 7000) to +5; nodes 0-2 start as masters, 3-5 as their
# replicas (redis-cli picks the pairing). Data, logs and pid files live in KEYCARD_CLUSTER_DIR (default
# target/redis-cluster). cluster-node-timeout is 2000 ms, so a killed master is replaced by its replica
# within a few seconds. Every wait is bounded: start gives up after 60 s, stop after 10 s.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BASE=${KEYCARD_CLUSTER_BASE_PORT:-7000}
DIR=${KEYCARD_CLUSTER_DIR:-target/redis-cluster}
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((BASE + i))); done

cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }
node_up() { cli "$1" ping | grep -q PONG; }
cluster_ok() { # every node answers and sees a healthy cluster of 6 nodes
  local p
  for p in "${PORTS[@]}"; do
    local info
    info=$(cli "$p" cluster info) || return 1
    grep -q '^cluster_state:ok' <<<"$info" || return 1
    grep -q '^cluster_known_nodes:6' <<<"$info" || return 1
    grep -q '^cluster_slots_assigned:16384' <<<"$info" || return 1
  done
}

wait_until() { # seconds, what, command...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "redis-cluster: $what not reached within the limit" >&2
      return 1
    fi
    sleep 0.2
  done
}

all_up() { local p; for p in "${PORTS[@]}"; do node_up "$p" || return 1; done; }
all_down() { local p; for p in "${PORTS[@]}"; do node_up "$p" && return 1; done; return 0; }

stop() {
  local p
  for p in "${PORTS[@]}"; do
    cli "$p" shutdown nosave >/dev/null || true
  done
  if ! wait_until 10 "every node down" all_down; then
    for p in "${PORTS[@]}"; do
      [ -f "$DIR/$p/redis.pid" ] && kill "$(cat "$DIR/$p/redis.pid")" 2>/dev/null
    done
    wait_until 5 "every node down (after SIGTERM)" all_down || return 1
  fi
  rm -rf "$DIR"
  echo "redis-cluster: stopped"
}

start() {
  if cluster_ok; then
    echo "redis-cluster: already up on ports ${PORTS[0]}-${PORTS[5]}"
    return 0
  fi
  # Anything half up (a node left from an interrupted run) is stopped first: start from nothing.
  local p
  for p in "${PORTS[@]}"; do
    if node_up "$p"; then
      stop || return 1
      break
    fi
  done
  rm -rf "$DIR"
  for p in "${PORTS[@]}"; do
    mkdir -p "$DIR/$p"
    redis-server --port "$p" --bind 127.0.0.1 --daemonize yes \
      --cluster-enabled yes --cluster-config-file "nodes.conf" --cluster-node-timeout 2000 \
      --save "" --appendonly no --maxmemory-policy noeviction \
      --dir "$DIR/$p" --logfile "$DIR/$p/redis.log" --pidfile "$DIR/$p/redis.pid" \
      || { echo "redis-cluster: redis-server on port $p did not start" >&2; return 1; }
  done
  wait_until 15 "every node answering PING" all_up || return 1
  local nodes=()
  for p in "${PORTS[@]}"; do nodes+=("127.0.0.1:$p"); done
  timeout 30 redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 \
    || { echo "redis-cluster: cluster create failed (see $DIR/create.log)" >&2; return 1; }
  wait_until 30 "cluster_state:ok on every node" cluster_ok || return 1
  # Replicas must have synced before tests count on them (failover).
  replicas_synced() {
    local p
    for p in "${PORTS[@]}"; do
      local r
      r=$(cli "$p" info replication) || return 1
      if grep -q '^role:slave' <<<"$r"; then
        grep -q '^master_link_status:up' <<<"$r" || return 1
      fi
    done
  }
  wait_until 30 "every replica in sync" replicas_synced || return 1
  echo "redis-cluster: up on ports ${PORTS[0]}-${PORTS[5]} ($(url))"
}

url() {
  echo "redis+cluster://127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) cluster_ok && echo "redis-cluster: ok" ;;
  url) url ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
