#!/usr/bin/env bash
# Issue 4's HTTP figure: requests/s of a signed-in `GET /me` on the demo (release build) with the memory store
# vs CACHE_URL=redis://…, the two servers running side by side and driven by wrk in alternating rounds
# (memory, redis, memory, redis, …), so both see the same machine conditions.
#
#   scripts/bench-me-redis.sh                      # 3 rounds per store, wrk -t2 -c64 -d10s
#   ROUNDS=5 DURATION=20 CONNECTIONS=32 THREADS=2 REDIS_URL=redis://127.0.0.1:6379 scripts/bench-me-redis.sh
#   CLUSTER_URL=$(scripts/redis-cluster.sh url) scripts/bench-me-redis.sh   # a third server on the Redis Cluster
#
# Each server has its own temp SQLite users file and one signed-up user; the session cookie comes from a real
# sign-up (CSRF token and all). A run is refused if any wrk request was not a 2xx (e.g. the session renewed
# or expired mid-run). Needs: cargo, curl, wrk (apt-get install -y wrk), Redis. Loopback only; the servers are
# stopped and the run's Redis keys deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
CLUSTER_URL=${CLUSTER_URL:-}
STORES=(memory redis)
[ -n "$CLUSTER_URL" ] && STORES+=(cluster)
PREFIX="keycard-bench-me:$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n'):"

for tool in curl wrk; do
  command -v "$tool" >/dev/null || { echo "bench-me-redis: $tool is required" >&2; exit 1; }
done

echo "[bench-me-redis] building keycard-demo (release)"
cargo build --release -p keycard-demo --quiet
BIN=target/release/keycard-demo

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if command -v redis-cli >/dev/null; then
    redis-cli -u "$REDIS_URL" --scan --pattern "${PREFIX}*" 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SECRET=$(head -c 64 /dev/urandom | base64 -w0)

# start NAME CACHE_URL: runs in this shell (never in `$(…)`, whose PIDS+= would be lost), sets ADDR[NAME]
declare -A ADDR
start() {
  local name=$1 cache=$2 log="$WORK/$1.log"
  env -i PATH="$PATH" HOME="$HOME" \
    KEYCARD_ADDR=127.0.0.1:0 DATABASE_URL="sqlite://$WORK/$name.db?mode=rwc" \
    CACHE_URL="$cache" CACHE_KEY_PREFIX="$PREFIX" SECRET_KEY="$SECRET" RUST_LOG=warn,keycard_demo::app=info \
    "$BIN" >/dev/null 2>"$log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    if grep -q "listening on http://" "$log"; then
      ADDR[$name]=$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\)/.*|\1|p' "$log" | head -n1)
      return 0
    fi
    sleep 0.05
  done
  echo "bench-me-redis: $name did not start:" >&2; cat "$log" >&2; return 1
}

# sign_up ADDR -> prints the session cookie value
sign_up() {
  local addr=$1 jar="$WORK/jar-$1" token
  token=$(curl -sf -c "$jar" "http://$addr/registration/new" | sed -n 's|.*name="_csrf_token" value="\([^"]*\)".*|\1|p' | head -n1)
  curl -sf -o /dev/null -b "$jar" -c "$jar" \
    --data-urlencode "_csrf_token=$token" --data-urlencode "email=bench@example.com" \
    --data-urlencode "password=correct horse battery staple" \
    --data-urlencode "password_confirmation=correct horse battery staple" \
    "http://$addr/registration"
  awk '$6 == "keycard_session" { print $7 }' "$jar"
}

start memory memory
start redis "$REDIS_URL"
[ -n "$CLUSTER_URL" ] && start cluster "$CLUSTER_URL"
declare -A COOKIE
for s in "${STORES[@]}"; do
  COOKIE[$s]=$(sign_up "${ADDR[$s]}")
  body=$(curl -sf -H "Cookie: keycard_session=${COOKIE[$s]}" "http://${ADDR[$s]}/me")
  [ "$body" = '{"email":"bench@example.com","plan":"free"}' ] || { echo "bench-me-redis: $s /me: $body" >&2; exit 1; }
done

echo "[bench-me-redis] $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
echo "[bench-me-redis] wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s -H 'Cookie: keycard_session=…' http://ADDR/me, $ROUNDS rounds: ${STORES[*]} ${STORES[*]} …"
declare -A RPS
for r in $(seq 1 "$ROUNDS"); do
  for s in "${STORES[@]}"; do
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -H "Cookie: keycard_session=${COOKIE[$s]}" "http://${ADDR[$s]}/me")
    if grep -q "Non-2xx" <<<"$out"; then
      echo "bench-me-redis: $s round $r had non-2xx responses:" >&2; echo "$out" >&2; exit 1
    fi
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    RPS[$s]="${RPS[$s]:-} $rps"
    echo "round $r  $s  requests/s $rps  p50 $p50  p99 $p99  (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
m=$(median <<<"${RPS[memory]}")
r=$(median <<<"${RPS[redis]}")
echo "median requests/s: memory $m, redis $r (redis/memory = $(awk -v a="$r" -v b="$m" 'BEGIN { printf "%.2f", a / b }'))"
if [ -n "$CLUSTER_URL" ]; then
  c=$(median <<<"${RPS[cluster]}")
  echo "median requests/s: cluster $c (cluster/redis = $(awk -v a="$c" -v b="$r" 'BEGIN { printf "%.2f", a / b }'))"
fi
