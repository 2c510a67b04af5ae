#!/usr/bin/env bash
# Issue 5's benchmarks in one command: keycard vs bare axum vs axum-login, signed-in GET /me, plus sign-in
# under load, memory-store scale and put_user cost. Prints the report and writes it to
# bench/target/bench-run/report.md, with its SVG charts beside it (`--charts DIR` to put them elsewhere).
#
#   bench/run.sh                 # the full run (5 rounds of 4 s per server; about 5 minutes after the build)
#   bench/run.sh --quick         # a smoke run (1 round of 2 s, store sizes up to 10^5)
#   bench/run.sh --rounds 5 --duration 10 --kinds bare,keycard-memory,axum-login-sqlite
#   bench/run.sh --help          # every flag (`keycard-bench run --help`)
#
# Needs: cargo; wrk (installed with apt-get when missing); Redis at 127.0.0.1:6379 for the Redis rows (when
# nothing answers there and redis-server is installed, a throwaway one is started and stopped again;
# otherwise those rows are reported as skipped). Loopback only; everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v wrk >/dev/null 2>&1; then
  echo "[run.sh] installing wrk (Debian package)"
  if ! apt-get install -y wrk >/dev/null 2>&1; then
    apt-get update >/dev/null && apt-get install -y wrk >/dev/null
  fi
fi

redis_answers() {
  # PING over bash's /dev/tcp: no redis-cli needed.
  (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && read -r -t 1 reply <&3 && [[ $reply == +PONG* ]]) 2>/dev/null
}

REDIS_PID=""
DRIVER_PID=""
cleanup() {
  if [ -n "$DRIVER_PID" ]; then kill "$DRIVER_PID" 2>/dev/null || true; wait "$DRIVER_PID" 2>/dev/null || true; fi
  if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! redis_answers && command -v redis-server >/dev/null 2>&1; then
  echo "[run.sh] no Redis at 127.0.0.1:6379: starting a throwaway one for this run"
  redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no --daemonize no >/dev/null 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 50); do redis_answers && break; sleep 0.1; done
fi

echo "[run.sh] building the harness (release)"
cargo build --release --quiet

mkdir -p target/bench-run
./target/release/keycard-bench run --out target/bench-run/report.md "$@" &
DRIVER_PID=$!
wait "$DRIVER_PID"
status=$?
DRIVER_PID=""
exit "$status"
