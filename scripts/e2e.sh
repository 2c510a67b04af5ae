#!/usr/bin/env bash
# The demo in a real browser (issue 14): Playwright (npm `playwright-core`) driving Debian's Chromium, headless
# and off the network, against a keycard-demo process of its own; axe-core and a 375 px overflow check on every
# page; a screenshot per step.
#
#   scripts/e2e.sh
#
# What it does, from a fresh clone:
#   1. installs Debian's `chromium` with apt-get when /usr/bin/chromium is missing (E2E_CHROMIUM: another one),
#   2. `npm ci` in e2e/ when its node_modules are missing or older than e2e/package-lock.json,
#   3. `cargo build -p keycard-demo`,
#   4. starts the demo on a free loopback port (`KEYCARD_ADDR=127.0.0.1:0`, the port read from its log) with a
#      temporary data directory (SQLite file) and the memory cache (`CACHE_URL=memory`),
#   5. runs e2e/run.mjs, bounded by E2E_TIMEOUT_SECS (default 300) for the whole browser run.
# Everything it starts (the demo, node, Chromium) is killed on exit, on failure and on Ctrl-C too; the temporary
# directory is removed (kept with E2E_KEEP=1). Exits non-zero when a step fails.
#
# Screenshots: target/e2e-screenshots/NN-step.png (E2E_SCREENSHOTS to change), listed at the end of the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

TIMEOUT_SECS=${E2E_TIMEOUT_SECS:-300}
SHOTS=${E2E_SCREENSHOTS:-$ROOT/target/e2e-screenshots}
CHROMIUM=${E2E_CHROMIUM:-/usr/bin/chromium}
# Every setting the demo reads: none leaks in from the caller's environment.
# (crates/keycard-demo/src/config/origin.rs's FLAGS, and RUST_LOG.)
SETTINGS=(KEYCARD_ADDR HEADER_READ_TIMEOUT_SECS MAX_CONNECTIONS DATABASE_URL CACHE_URL CACHE_KEY_PREFIX
  CACHE_NEAR SECRET_KEY SESSION_IDLE_SECS
  SESSION_RENEWAL_SECS SESSION_GRACE_SECS SESSION_ABSOLUTE_SECS CLIENT_IP_SOURCE COOKIE_SECURE PUBLIC_ORIGIN TRIAL_SECS
  PLAN_JOB_INTERVAL_SECS SUDO_SECS REMEMBER_SECS REMEMBER_GRACE_SECS RUST_LOG)

say() { echo "e2e: $*"; }

# 1. Chromium
if [ ! -x "$CHROMIUM" ]; then
  if [ "$CHROMIUM" != /usr/bin/chromium ] || ! command -v apt-get >/dev/null; then
    say "no Chromium at $CHROMIUM (set E2E_CHROMIUM, or install Debian's chromium package)" >&2
    exit 1
  fi
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "installing Debian's chromium (apt-get)"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
fi

# 2. Playwright and axe-core, exactly as e2e/package-lock.json pins them
if [ ! -d e2e/node_modules/playwright-core ] || [ ! -d e2e/node_modules/axe-core ] ||
  [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
  say "npm ci in e2e/"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# 3. The demo
cargo build -q -p keycard-demo --bin keycard-demo
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/keycard-demo

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keycard-e2e.XXXXXX")
DEMO_PID=
NODE_PID=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # node (in its own process group: setsid), then the Chromium it launched (its own group too), then the demo.
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM -- "-$NODE_PID" 2>/dev/null || true
  fi
  if [ -s "$WORK/chromium.pid" ]; then
    local chromium_pid
    chromium_pid=$(cat "$WORK/chromium.pid")
    # Playwright starts Chromium as the leader of its own process group: end the whole group, and wait
    # (at most 10 s) until it is gone.
    if kill -0 -- "-$chromium_pid" 2>/dev/null; then
      kill -KILL -- "-$chromium_pid" 2>/dev/null || true
      for _ in $(seq 1 100); do
        kill -0 -- "-$chromium_pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
  fi
  if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$WORK/demo.log" ]; then
    say "the demo's log (last 40 lines):"
    tail -n 40 "$WORK/demo.log" | sed 's/^/  /'
  fi
  if [ "${E2E_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATABASE_URL="sqlite://$WORK/e2e.db?mode=rwc"
unset_args=()
for s in "${SETTINGS[@]}"; do unset_args+=(-u "$s"); done
# 4. A demo process of its own: plain-HTTP cookies on loopback, the memory cache (in this process).
(cd "$WORK" && exec env "${unset_args[@]}" KEYCARD_ADDR=127.0.0.1:0 DATABASE_URL="$DATABASE_URL" CACHE_URL=memory \
  COOKIE_SECURE=false RUST_LOG=info "$BIN" serve >"$WORK/demo.log" 2>&1) &
DEMO_PID=$!

BASE=
for _ in $(seq 1 600); do # up to 60 s
  if ! kill -0 "$DEMO_PID" 2>/dev/null; then
    say "the demo exited before listening" >&2
    exit 1
  fi
  BASE=$(sed -n 's|.*listening on \(http://[0-9.:]*\)/.*|\1|p' "$WORK/demo.log" | head -n 1)
  [ -n "$BASE" ] && break
  sleep 0.1
done
if [ -z "$BASE" ]; then
  say "the demo did not listen within 60 s" >&2
  exit 1
fi
say "demo at $BASE (data in $WORK)"

# 5. The browser run, bounded: node's own budget first, then timeout(1) as the backstop.
export E2E_BASE_URL=$BASE E2E_SCREENSHOTS=$SHOTS E2E_DEMO_BIN=$BIN E2E_DEMO_DIR=$WORK
export E2E_DATABASE_URL=$DATABASE_URL E2E_CHROMIUM=$CHROMIUM E2E_PID_FILE=$WORK/chromium.pid
export E2E_TIMEOUT_SECS=$TIMEOUT_SECS
started=$SECONDS
setsid timeout --kill-after=10 "$((TIMEOUT_SECS + 15))" node e2e/run.mjs &
NODE_PID=$!
status=0
wait "$NODE_PID" || status=$?
NODE_PID=
say "browser run finished in $((SECONDS - started)) s with status $status"
exit "$status"
