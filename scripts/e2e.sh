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
#   4. starts a mail server of its own: the SMTP sink the mail tests use (crates/keycard-store-tests/src/
#      services/smtp_sink.py, Python's aiosmtpd; scripts/smtp-sink.sh installs it when missing) on a free
#      loopback port, saving every message it receives to a directory (KEYCARD_TEST_PYTHON: another Python),
#   5. starts the demo on a free loopback port (`KEYCARD_ADDR=127.0.0.1:0`, the port read from its log) with a
#      temporary data directory (SQLite file), the memory cache (`CACHE_URL=memory`) and its mail sent to the
#      sink (`SMTP_URL=smtp://127.0.0.1:PORT`), and signing in with the test OpenID provider it starts first
#      (scripts/oidc-provider/provider.mjs on a free loopback port; `OIDC_ISSUER`, `OIDC_NAME=Test`…;
#      scripts/oidc-provider.sh installs it when missing),
#   6. runs e2e/run.mjs, bounded by E2E_TIMEOUT_SECS (default 300) for the whole browser run; it reads the mail
#      from the sink's directory (E2E_MAIL_DIR). run.mjs runs the flows of e2e/remember.mjs, e2e/email.mjs,
#      e2e/totp.mjs and e2e/passkey.mjs (passkeys with Chromium's virtual authenticator over the DevTools
#      protocol, at http://localhost:PORT: the demo's relying party on a loopback address is `localhost`,
#      never the IP address) and e2e/oidc.mjs (sign in with the provider, through its own sign-in form).
# Everything it starts (the sink, the demo, node, Chromium) is killed on exit, on failure and on Ctrl-C too; the
# temporary directory is removed (kept with E2E_KEEP=1). Exits non-zero when a step fails.
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
  PLAN_JOB_INTERVAL_SECS SUDO_SECS REMEMBER_SECS REMEMBER_GRACE_SECS SMTP_URL MAIL_FROM RUST_LOG
  OIDC_ISSUER OIDC_CLIENT_ID OIDC_CLIENT_SECRET OIDC_NAME OIDC_TRUST_EMAIL)
PYTHON=${KEYCARD_TEST_PYTHON:-python3}
SINK_SCRIPT=$ROOT/crates/keycard-store-tests/src/services/smtp_sink.py

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

# aiosmtpd for the SMTP sink (pinned by scripts/smtp-sink.sh), when missing
if ! "$PYTHON" -c 'import aiosmtpd' 2>/dev/null; then
  KEYCARD_TEST_PYTHON=$PYTHON scripts/smtp-sink.sh
fi

# The test OpenID provider (oidc-provider, pinned by scripts/oidc-provider/package-lock.json), when missing
scripts/oidc-provider.sh --install

# 3. The demo
cargo build -q -p keycard-demo --bin keycard-demo
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/keycard-demo

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keycard-e2e.XXXXXX")
DEMO_PID=
NODE_PID=
SINK_PID=
PROVIDER_PID=
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
  if [ -n "$PROVIDER_PID" ] && kill -0 "$PROVIDER_PID" 2>/dev/null; then
    kill -TERM "$PROVIDER_PID" 2>/dev/null || true
    wait "$PROVIDER_PID" 2>/dev/null || true
  fi
  # The sink last: the demo may still be sending when it stops (the sink also exits when this script does).
  if [ -n "$SINK_PID" ] && kill -0 "$SINK_PID" 2>/dev/null; then
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$WORK/demo.log" ]; then
    say "the demo's log (last 40 lines):"
    tail -n 40 "$WORK/demo.log" | sed 's/^/  /'
  fi
  if [ "$status" -ne 0 ] && [ -s "$WORK/sink.log" ]; then
    say "the SMTP sink's log (last 20 lines):"
    tail -n 20 "$WORK/sink.log" | sed 's/^/  /'
  fi
  if [ "${E2E_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 4. A mail server of its own: the sink writes each message to $MAIL_DIR (NNNNNN.env: the envelope,
# NNNNNN.eml: the message, each renamed into place whole) and MAIL_DIR/ready once it listens. A free port is
# chosen, then bound by the sink: another process may take it in between, so up to three tries.
MAIL_DIR=$WORK/mail
mkdir -p "$MAIL_DIR"
SMTP_PORT=
for _ in 1 2 3; do
  port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -f "$MAIL_DIR/ready"
  # exec: the sink is this script's child, and exits when this script goes away; Ctrl-C reaches it as
  # the cleanup's SIGTERM (not as a KeyboardInterrupt of its own).
  (trap "" INT; exec "$PYTHON" "$SINK_SCRIPT" --port "$port" --out "$MAIL_DIR" \
    </dev/null >/dev/null 2>"$WORK/sink.log") &
  SINK_PID=$!
  for _ in $(seq 1 300); do # up to 30 s: Python starts slowly on a loaded machine
    [ -f "$MAIL_DIR/ready" ] && break
    kill -0 "$SINK_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -f "$MAIL_DIR/ready" ]; then
    SMTP_PORT=$port
    break
  fi
  kill -TERM "$SINK_PID" 2>/dev/null || true
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=
done
if [ -z "$SMTP_PORT" ]; then
  say "the SMTP sink did not start ($PYTHON $SINK_SCRIPT):" >&2
  tail -n 5 "$WORK/sink.log" 2>/dev/null | sed 's/^/  /' >&2
  exit 1
fi
say "SMTP sink at smtp://127.0.0.1:$SMTP_PORT"

# The test OpenID provider, on a free loopback port: its issuer is the first line it prints.
(OIDC_PROVIDER_KEEP_STDIN=1 exec node scripts/oidc-provider/provider.mjs 0 </dev/null \
  >"$WORK/provider.out" 2>"$WORK/provider.log") &
PROVIDER_PID=$!
ISSUER=
for _ in $(seq 1 600); do # up to 60 s
  if ! kill -0 "$PROVIDER_PID" 2>/dev/null; then
    say "the test OpenID provider exited before listening:" >&2
    tail -n 5 "$WORK/provider.log" | sed 's/^/  /' >&2
    exit 1
  fi
  ISSUER=$(sed -n 's|.*"issuer":"\(http://[0-9.:]*\)".*|\1|p' "$WORK/provider.out" | head -n 1)
  [ -n "$ISSUER" ] && break
  sleep 0.1
done
if [ -z "$ISSUER" ]; then
  say "the test OpenID provider did not listen within 60 s" >&2
  exit 1
fi
say "OpenID provider at $ISSUER"

DATABASE_URL="sqlite://$WORK/e2e.db?mode=rwc"
unset_args=()
for s in "${SETTINGS[@]}"; do unset_args+=(-u "$s"); done
# 5. A demo process of its own: plain-HTTP cookies on loopback, the memory cache (in this process), its mail
# through the sink (MAIL_FROM: the default).
(cd "$WORK" && exec env "${unset_args[@]}" KEYCARD_ADDR=127.0.0.1:0 DATABASE_URL="$DATABASE_URL" CACHE_URL=memory \
  COOKIE_SECURE=false SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" OIDC_ISSUER="$ISSUER" OIDC_CLIENT_ID=keycard-demo \
  OIDC_CLIENT_SECRET=keycard-demo-secret OIDC_NAME=Test OIDC_TRUST_EMAIL=on RUST_LOG=info "$BIN" serve >"$WORK/demo.log" 2>&1) &
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

# 6. The browser run, bounded: node's own budget first, then timeout(1) as the backstop.
export E2E_BASE_URL=$BASE E2E_SCREENSHOTS=$SHOTS E2E_DEMO_BIN=$BIN E2E_DEMO_DIR=$WORK E2E_MAIL_DIR=$MAIL_DIR
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
