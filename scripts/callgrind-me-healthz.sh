#!/usr/bin/env bash
# Where the demo's signed-in `GET /me` spends what `GET /healthz` does not: instructions per request under
# callgrind (counts, not seconds: the figure does not move with the machine's load). One demo server
# (release build, memory store, SQLite users, the same settings as scripts/bench-me-healthz.sh) runs under
# `valgrind --tool=callgrind`; one signed-in client (curl, one kept-alive connection) sends N requests to
# each path, and the counters are zeroed before and dumped after each batch, so each dump holds one batch.
#
#   scripts/callgrind-me-healthz.sh            # N=2000 per path; prints instructions per request
#   N=5000 OUT=/tmp/cg scripts/callgrind-me-healthz.sh
#
# Then, per function: callgrind_annotate --inclusive=no "$OUT"/callgrind.out.*.2 (the /me batch) beside
# the same for *.1 (/healthz). Needs: cargo, curl, valgrind. Loopback only; the server stops on exit.
# Caveat: valgrind has no SHA extensions, so SHA-256 runs the portable code (~10x its native instructions).
set -euo pipefail
cd "$(dirname "$0")/.."
# Where the sessions live: `memory` (the default here, as in issue 3's runs), or `database` (the demo's own
# default: its SQLite file), or any CACHE_URL the demo takes.
CACHE_URL=${CACHE_URL:-memory}
N=${N:-2000}
OUT=${OUT:-target/callgrind-me-healthz}
for tool in curl valgrind callgrind_control; do
  command -v "$tool" >/dev/null || { echo "callgrind-me-healthz: $tool is required" >&2; exit 1; }
done
cargo build --release -p keycard-demo --quiet
rm -rf "$OUT" && mkdir -p "$OUT"
source scripts/lib/demo.sh
demo_start callgrind-me-healthz valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$OUT/callgrind.out.%p"
demo_sign_up
echo "GET /me answers: $(curl -sf -H "Cookie: keycard_session=$COOKIE" "http://$ADDR/me")"
batch() { # path, count: every answer must be 200
  local codes
  codes=$(curl -s -o /dev/null -w '%{http_code}\n' -H "Cookie: keycard_session=$COOKIE" "http://$ADDR/$1?n=[1-$2]" | sort | uniq -c)
  echo "$codes" | grep -qv ' 200$' && { echo "callgrind-me-healthz: non-200 answers on /$1: $codes" >&2; exit 1; }
  return 0
}
batch healthz 200 && batch me 200 # warm-up
callgrind_control -z "$PID" >/dev/null 2>&1
batch healthz "$N"
callgrind_control -d healthz "$PID" >/dev/null 2>&1
batch me "$N"
callgrind_control -d me "$PID" >/dev/null 2>&1
total() { sed -n 's/^summary: *//p; s/^totals: *//p' "$1" | head -n1; }
H=$(total "$(ls "$OUT"/callgrind.out.*.1)")
M=$(total "$(ls "$OUT"/callgrind.out.*.2)")
echo "CACHE_URL=$CACHE_URL, instructions per request (N=$N): /healthz $((H / N)), /me $((M / N)), /me - /healthz $(((M - H) / N))"
echo "dumps: $OUT (callgrind_annotate --inclusive=no <file>)"
