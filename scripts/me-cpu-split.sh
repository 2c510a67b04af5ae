#!/usr/bin/env bash
# Where a signed-in `GET /me` spends the server's CPU under load, `bare` beside `keycard-memory` (the bench
# harness's two servers, issue 23 item 3): per request, user and system time (from /proc, the kernel's own
# accounting) and the server's context switches, voluntary and involuntary (preempted), in alternating wrk
# rounds; with PROFILE=1 also a sampled profile of each (`perf record -e cpu-clock`, a software clock: no
# hardware counters needed) split into kernel and user time per request, and the user-space functions
# that differ most between the two.
#
#   scripts/me-cpu-split.sh                     # 3 rounds of wrk -t2 -c64 -d6s per server
#   ROUNDS=5 DURATION=8 PROFILE=1 scripts/me-cpu-split.sh
#
# Needs: the bench harness built (cd bench && cargo build --release), curl, wrk; perf for PROFILE=1.
# Loopback only (ports 18001-18002); both servers are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BENCH_BIN:-bench/target/release/keycard-bench}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/me-cpu-split.XXXXXX")
[ -x "$BIN" ] || { echo "me-cpu-split: no $BIN (cd bench && cargo build --release)" >&2; exit 1; }
for tool in curl wrk; do
  command -v "$tool" >/dev/null || { echo "me-cpu-split: $tool is required" >&2; exit 1; }
done

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" init-db --db "$WORK/users.db" --users 1000 >/dev/null
declare -A PORT=([bare]=18001 [keycard-memory]=18002) PID COOKIE
for kind in bare keycard-memory; do
  "$BIN" server --kind "$kind" --port "${PORT[$kind]}" --db "$WORK/users.db" >"$WORK/$kind.log" 2>&1 &
  PID[$kind]=$!
  PIDS+=("$!")
done
for kind in bare keycard-memory; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:${PORT[$kind]}/me" && break; sleep 0.1; done
  COOKIE[$kind]=$(curl -s -o /dev/null -D - -X POST \
    -d 'email=user1%40bench.invalid&password=bench-password' "http://127.0.0.1:${PORT[$kind]}/login" |
    awk -F': ' 'tolower($1)=="set-cookie" { split($2, a, ";"); print a[1]; exit }')
  [ -n "${COOKIE[$kind]}" ] || { echo "me-cpu-split: $kind set no cookie" >&2; exit 1; }
done

switches() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v, n}'; }
times() { awk '{print $14, $15}' /proc/"$1"/stat; }
TCK=$(getconf CLK_TCK)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for kind in bare keycard-memory; do
    p=${PID[$kind]}
    read -r v0 n0 < <(switches "$p"); read -r u0 s0 < <(times "$p")
    out=$(wrk -t2 -c64 -d"${DURATION}s" -H "Cookie: ${COOKIE[$kind]}" "http://127.0.0.1:${PORT[$kind]}/me")
    read -r v1 n1 < <(switches "$p"); read -r u1 s1 < <(times "$p")
    if echo "$out" | grep -q "Non-2xx"; then echo "me-cpu-split: non-2xx answers from $kind" >&2; exit 1; fi
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    awk -v k="$kind" -v r="$r" -v n="$n" -v d="$DURATION" -v t="$TCK" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
      -v v=$((v1 - v0)) -v i=$((n1 - n0)) 'BEGIN {
        printf "round %d %-15s %7.0f req/s  user %.2f us  system %.2f us  per request; switches per 1000: voluntary %.1f, involuntary %.1f\n",
          r, k, n / d, u / t / n * 1e6, s / t / n * 1e6, v / n * 1000, i / n * 1000 }'
  done
done

[ "${PROFILE:-0}" = 1 ] || exit 0
command -v perf >/dev/null || { echo "me-cpu-split: PROFILE=1 needs perf" >&2; exit 1; }
for kind in bare keycard-memory; do
  perf record -q -e cpu-clock -F 4999 -p "${PID[$kind]}" -o "$WORK/$kind.perf" -- sleep "$DURATION" 2>/dev/null &
  rec=$!
  sleep 0.5
  n=$(wrk -t2 -c64 -d"$((DURATION - 1))s" -H "Cookie: ${COOKIE[$kind]}" "http://127.0.0.1:${PORT[$kind]}/me" |
    awk '/requests in/ {print $1}')
  wait "$rec"
  echo "$n" >"$WORK/$kind.requests"
  perf report -i "$WORK/$kind.perf" --no-children --sort dso,sym -g none 2>/dev/null >"$WORK/$kind.report"
done
python3 - "$WORK" <<'EOF'
import collections, re, sys
work = sys.argv[1]
def load(kind):
    text = open(f"{work}/{kind}.report").read()
    total_s = float(re.search(r"Event count \(approx\.\): (\d+)", text).group(1)) / 1e9
    # The profile covers the whole wrk run (started 0.5 s into it): requests as wrk counted them.
    reqs = int(open(f"{work}/{kind}.requests").read())
    user, kernel = collections.Counter(), collections.Counter()
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        us = float(m.group(1)) / 100 * total_s / reqs * 1e6
        (kernel if m.group(3) == "k" else user)[m.group(4).strip()] += us
    return user, kernel
bu, bk = load("bare")
ku, kk = load("keycard-memory")
print(f"\nprofile, per request: bare kernel {sum(bk.values()):.2f} us, user {sum(bu.values()):.2f} us; keycard-memory "
      f"kernel {sum(kk.values()):.2f} us, user {sum(ku.values()):.2f} us (the profiler's own cost included in both)")
for what, k, b, rows in (("user-space", ku, bu, 40), ("kernel", kk, bk, 8)):
    print(f"{what} functions that differ most (us per request: keycard-memory, bare, difference):")
    for sym in sorted(set(b) | set(k), key=lambda s: -(k[s] - b[s]))[:rows]:
        print(f"  {k[sym]:6.3f} {b[sym]:6.3f} {k[sym] - b[sym]:+6.3f}  {sym[:110]}")
EOF
