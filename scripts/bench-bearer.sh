#!/usr/bin/env bash
# Issue 22's HTTP figure: on ONE demo server (release build, memory store, SQLite), requests/s of a signed-in
# `GET /me` with the session cookie, with a bearer token (`POST /api/session`), and with a personal access
# token (`kcpat_…`), in alternating wrk rounds (the same run, the same server, the same user).
#
#   scripts/bench-bearer.sh            # 3 rounds, wrk -t2 -c64 -d10s each
#
# Needs: cargo, curl, wrk (apt-get install -y wrk). Loopback only; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
for tool in curl wrk; do
  command -v "$tool" >/dev/null || { echo "bench-bearer: $tool is required" >&2; exit 1; }
done
cargo build --release -p keycard-demo --quiet
source scripts/lib/demo.sh
CACHE_URL=memory demo_start bench-bearer
demo_sign_up
BEARER=$(curl -sf -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"password\":\"$PASSWORD\"}" "http://$ADDR/api/session" \
  | sed -n 's|.*"token":"\([^"]*\)".*|\1|p')
CSRF=$(curl -sf -b "$JAR" -c "$JAR" "http://$ADDR/account/tokens" | sed -n 's|.*name="_csrf_token" value="\([^"]*\)".*|\1|p' | head -n1)
PAT=$(curl -sf -b "$JAR" -c "$JAR" -H "Origin: http://$ADDR" --data-urlencode "_csrf_token=$CSRF" \
  --data-urlencode "name=bench" --data-urlencode "days=1" "http://$ADDR/account/tokens" \
  | sed -n 's|.*id="token">\([^<]*\)<.*|\1|p')
[ -n "$COOKIE" ] && [ -n "$BEARER" ] && [ -n "$PAT" ] || { echo "bench-bearer: could not sign in three ways" >&2; exit 1; }
for how in cookie bearer pat; do
  case $how in
    cookie) H="Cookie: keycard_session=$COOKIE" ;;
    bearer) H="Authorization: Bearer $BEARER" ;;
    pat) H="Authorization: Bearer $PAT" ;;
  esac
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$H" "http://$ADDR/me")" = 200 ] \
    || { echo "bench-bearer: GET /me with the $how is not 200" >&2; exit 1; }
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for how in cookie bearer pat; do
    case $how in
      cookie) H="Cookie: keycard_session=$COOKIE" ;;
      bearer) H="Authorization: Bearer $BEARER" ;;
      pat) H="Authorization: Bearer $PAT" ;;
    esac
    out=$(wrk -t2 -c64 -d"${DURATION}s" -H "$H" "http://$ADDR/me")
    if echo "$out" | grep -q "Non-2xx"; then echo "bench-bearer: non-2xx answers with the $how" >&2; exit 1; fi
    echo "round $r GET /me ($how): $(echo "$out" | sed -n 's/Requests\/sec: *//p') req/s, p50 $(echo "$out" | sed -n 's/^ *Latency *\([^ ]*\).*/\1/p')"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
