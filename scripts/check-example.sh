#!/usr/bin/env bash
# Build and start an example of crates/keycard-axum/examples/, run the curl lines of its doc comment
# and check each answer against the `# …` line under it. Bounded in time; kills the example and
# removes its temporary directory (cookie jar, log) on every exit.
#
#   scripts/check-example.sh minimal [put_user_job reload_user …]
#
# The example gets a random SECRET_KEY and ADDR=127.0.0.1:0 (a free port, read back from its
# "listening on http://…" line); the curl lines' http://127.0.0.1:3000 is replaced by that address.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ $# -ge 1 ] || { echo "usage: $0 EXAMPLE..." >&2; exit 2; }

START_TIMEOUT=120 # seconds for the example to print its listening line
COMMAND_TIMEOUT=20 # seconds per curl (or sleep) line

target_dir=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The `curl`/`sleep` lines of the doc comment's sh blocks, each followed by its expected answer ("" if none),
# one per line: COMMAND<TAB>EXPECTED.
script_of() {
  awk '
    !/^\/\/!/ { next }
    { line = $0; sub(/^\/\/! ?/, "", line) }
    line ~ /^```sh/ { in_sh = 1; next }
    line ~ /^```/ { if (pending != "") print pending "\t"; pending = ""; in_sh = 0; next }
    !in_sh { next }
    line ~ /^# / {
      if (pending != "") { want = line; sub(/^# /, "", want); print pending "\t" want; pending = "" }
      next
    }
    line ~ /^(curl|sleep) / { if (pending != "") print pending "\t"; pending = line }
' "$1"
}

check() {
  local name=$1 file=crates/keycard-axum/examples/$1.rs
  [ -f "$file" ] || { echo "no such example: $file" >&2; return 1; }
  local lines
  lines=$(script_of "$file")
  [ -n "$lines" ] || { echo "$file: no curl lines in its doc comment" >&2; return 1; }

  echo "--- $name: building"
  cargo build -q -p keycard-axum --example "$name"
  rm -rf "${work:?}"/*
  : >"$work/log"
  SECRET_KEY=$(head -c 64 /dev/urandom | base64 | tr -d '\n') ADDR=127.0.0.1:0 NO_COLOR=1 RUST_LOG=info \
    "$target_dir/debug/examples/$name" >"$work/log" 2>&1 &
  pid=$!

  local addr="" waited=0
  while [ -z "$addr" ]; do
    addr=$(sed -n 's#.*listening on http://\([0-9.]*:[0-9]*\).*#\1#p' "$work/log" | head -n 1)
    [ -n "$addr" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before listening:" >&2; cat "$work/log" >&2; return 1
    fi
    if [ "$waited" -ge $((START_TIMEOUT * 10)) ]; then
      echo "$name did not print its listening line within ${START_TIMEOUT} s:" >&2; cat "$work/log" >&2; return 1
    fi
    sleep 0.1; waited=$((waited + 1))
  done
  echo "--- $name: listening on $addr"

  local failed=0 cmd expected got
  while IFS=$'\t' read -r cmd expected; do
    cmd=${cmd//127.0.0.1:3000/$addr}
    got=$(cd "$work" && timeout "$COMMAND_TIMEOUT" bash -c "$cmd" 2>&1) || {
      echo "FAILED (exit $?): $cmd" >&2; failed=1; continue
    }
    if [ -n "$expected" ] && [[ "$got" != *"$expected"* ]]; then
      printf 'FAILED: %s\n  expected: %s\n  got:      %s\n' "$cmd" "$expected" "$got" >&2
      failed=1
    else
      echo "ok: ${cmd:0:100}${expected:+  →  $expected}"
    fi
  done <<<"$lines"

  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  if [ "$failed" -ne 0 ]; then
    echo "--- $name: FAILED; its log:" >&2; cat "$work/log" >&2; return 1
  fi
  echo "--- $name: every answer matched"
}

for example in "$@"; do
  check "$example"
done
