#!/usr/bin/env bash
# Issue 23's sizing runs (items 2 and 5) in one command: bytes per session, sign-in, fetch, put_user, load and
# sweep per store (memory, SQLite, PostgreSQL, Redis, Redis Cluster) at 10^4, 10^5 and 10^6 live sessions;
# the cluster's keys and commands per master. Prints the tables, writes the raw results
# (sizing-runs.jsonl) and the report to the work directory, and the SVG charts to --charts.
#
#   bench/sizing.sh                                        # everything (about 45 minutes on a busy 2-core machine)
#   bench/sizing.sh --stores memory,redis --sizes 10000    # a subset
#   bench/sizing.sh --charts ../docs/guide/src/img --out target/sizing-run/report.md
#   bench/sizing.sh --help                                 # every flag (`keycard-bench sizing --help`)
#
# Starts, and stops on exit, everything it measures against, all of its own on loopback: a redis-server on
# SIZING_REDIS_PORT (default 6395), a 3-master Redis Cluster on SIZING_CLUSTER_PORT..+5 (default 7200-7205,
# scripts/redis-cluster.sh), and a PostgreSQL database SIZING_PG_DB (default keycard_sizing) created on the
# PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth) and dropped afterwards. Both Redis are flushed
# before each run, which is why they must be the run's own: never the shared 6379. SIZING_WORK: the work
# directory (default target/sizing-run).
set -euo pipefail
cd "$(dirname "$0")"

REDIS_PORT=${SIZING_REDIS_PORT:-6395}
CLUSTER_PORT=${SIZING_CLUSTER_PORT:-7200}
PG_DB=${SIZING_PG_DB:-keycard_sizing}
TARGET=${CARGO_TARGET_DIR:-target}
WORK=${SIZING_WORK:-$TARGET/sizing-run}
mkdir -p "$WORK"
case "$WORK" in /*) ;; *) WORK="$(pwd)/$WORK" ;; esac
export KEYCARD_CLUSTER_BASE_PORT=$CLUSTER_PORT KEYCARD_CLUSTER_DIR="$WORK/cluster"

REDIS_STARTED="" CLUSTER_STARTED="" PG_CREATED=""
cleanup() {
  if [ -n "$REDIS_STARTED" ]; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
  if [ -n "$CLUSTER_STARTED" ]; then ../scripts/redis-cluster.sh stop || true; fi
  if [ -n "$PG_CREATED" ]; then psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $PG_DB" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$REDIS_PORT" = 6379 ]; then echo "sizing.sh: 6379 is shared; pick another SIZING_REDIS_PORT" >&2; exit 2; fi
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "sizing.sh: something already answers on $REDIS_PORT; not ours to flush" >&2; exit 2
fi
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --maxmemory-policy noeviction \
  --daemonize yes --dir "$WORK" --logfile "$WORK/redis-$REDIS_PORT.log" --pidfile "$WORK/redis-$REDIS_PORT.pid"
REDIS_STARTED=1
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
CLUSTER_STARTED=1
../scripts/redis-cluster.sh start
psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
PG_CREATED=1

echo "[sizing.sh] building the harness (release)"
cargo build --release --quiet
"$TARGET/release/keycard-bench" sizing --work "$WORK" \
  --redis-url "redis://127.0.0.1:$REDIS_PORT" \
  --cluster-url "$(../scripts/redis-cluster.sh url)" \
  --postgres-url "postgres://postgres@127.0.0.1:5432/$PG_DB" "$@"
