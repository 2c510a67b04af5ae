#!/usr/bin/env bash
# Issue 3's HTTP figure: on ONE demo server (release build, memory store, SQLite), requests/s of a signed-in
# `GET /me` (session layer + cached user) vs `GET /healthz` (outside every layer), in alternating wrk rounds.
#
#   scripts/bench-me-healthz.sh            # 3 rounds, wrk -t2 -c64 -d10s, both requests carry the cookie
#   ROUNDS=5 CONNECTIONS=32 scripts/bench-me-healthz.sh   # issue 23's setting
#
# Needs: cargo, curl, wrk (apt-get install -y wrk). Loopback only; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where the sessions live: `memory` (the default here, as in issue 3's runs), or `database` (the demo's own
# default: its SQLite file), or any CACHE_URL the demo takes.
CACHE_URL=${CACHE_URL:-memory}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
for tool in curl wrk; do
  command -v "$tool" >/dev/null || { echo "bench-me-healthz: $tool is required" >&2; exit 1; }
done
cargo build --release -p keycard-demo --quiet
source scripts/lib/demo.sh
demo_start bench-me-healthz
demo_sign_up
echo "GET /me answers: $(curl -sf -H "Cookie: keycard_session=$COOKIE" "http://$ADDR/me")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for path in healthz me; do
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -H "Cookie: keycard_session=$COOKIE" "http://$ADDR/$path")
    if echo "$out" | grep -q "Non-2xx"; then echo "bench-me-healthz: non-2xx answers on /$path" >&2; exit 1; fi
    echo "round $r /$path: $(echo "$out" | sed -n 's/Requests\/sec: *//p') req/s"
  done
done
