#!/usr/bin/env bash
# The fault-injection soak (crates/keycard-soak): demo nodes on each shared configuration under a mixed
# workload and scheduled faults, every operation recorded, the history checked against docs/DESIGN.md's
# invariants; then the checker's own check: demo builds with a deliberately broken near cache must be caught.
#
#   scripts/soak.sh short     # CI: each configuration for SOAK_SECS (default 90 s), then the broken runs
#   scripts/soak.sh long      # 600 s per configuration (30 min of soak), then the broken runs
#   scripts/soak.sh broken    # only the broken runs
#   scripts/soak.sh short redis-near   # one configuration (postgres-near, redis-near, redis-cluster)
#
# Needs PostgreSQL on 127.0.0.1:5432 (KEYCARD_TEST_POSTGRES_URL; a scratch database per run, dropped after)
# and redis-server/redis-cli on the PATH: the soak starts its OWN redis-server on 127.0.0.1:6390
# (SOAK_REDIS_PORT) and its OWN Redis Cluster on 127.0.0.1:7100-7105 (SOAK_CLUSTER_BASE) with
# scripts/redis-cluster.sh; it never pauses, kills or flushes the shared 6379 or the 7000-7005 cluster.
#
# Binaries (debug): the sound runs use what `cargo test --workspace` builds (CI's step 2: nothing is compiled
# again for them), target/debug/keycard-soak (its integration test makes cargo build it) and keycard-demo,
# copied out as target/soak-bin/keycard-soak and target/soak-bin/soak-node. Only the broken build is compiled
# here: `cargo build -p keycard-demo --features soak-faults`, copied out as target/soak-bin/soak-node-broken.
# SOAK_SKIP_BUILD=1 runs the binaries already in target/soak-bin as they are.
# Every run's history, report and node logs: target/soak/<mode>-<configuration>/. Exit status: non-zero when a
# configuration has a violation, or when a broken build is not caught.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MODE=${1:-short}
shift || true
SETUPS=("$@")
[ ${#SETUPS[@]} -eq 0 ] && SETUPS=(postgres-near redis-near redis-cluster)
case "$MODE" in
  short) SECS=${SOAK_SECS:-90} ;;
  long) SECS=${SOAK_SECS:-600} ;;
  broken) SECS=0 ;;
  *) echo "usage: $0 short|long|broken [postgres-near|redis-near|redis-cluster ...]" >&2; exit 2 ;;
esac
TARGET=${CARGO_TARGET_DIR:-target}
case "$TARGET" in /*) ;; *) TARGET="$(pwd)/$TARGET" ;; esac
BIN="$TARGET/soak-bin"
OUT="$TARGET/soak"
mkdir -p "$BIN" "$OUT"

build() { # cargo build, tried again when something outside kills it (a shared machine)
  local i
  for i in 1 2 3; do
    cargo build -q "$@" && return 0
    echo "soak: cargo build $* failed (try $i)" >&2
    sleep 2
  done
  return 1
}
if [ -z "${SOAK_SKIP_BUILD:-}" ]; then
  build_tests() { # the workspace's test build (a no-op right after `cargo test --workspace`)
    local i
    for i in 1 2 3; do
      cargo test -q --workspace --no-run && return 0
      echo "soak: cargo test --workspace --no-run failed (try $i)" >&2
      sleep 2
    done
    return 1
  }
  build_tests
  cp "$TARGET/debug/keycard-soak" "$BIN/keycard-soak"
  cp "$TARGET/debug/keycard-demo" "$BIN/soak-node"
  build -p keycard-demo --features soak-faults
  cp "$TARGET/debug/keycard-demo" "$BIN/soak-node-broken"
  # Leave target/debug/keycard-demo the sound build the test suites expect.
  rm -f "$TARGET/debug/keycard-demo" && cp "$BIN/soak-node" "$TARGET/debug/keycard-demo"
fi
SOAK="$BIN/keycard-soak"

# Whatever happens to a run (a timeout, a signal), none of its own Redis processes is left behind.
cleanup() {
  local p base=${SOAK_CLUSTER_BASE:-7100}
  for p in "${SOAK_REDIS_PORT:-6390}" $((base)) $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)) $((base + 5)); do
    timeout 5 redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 \
      && timeout 5 redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1
  done
  return 0
}
trap cleanup EXIT

failed=()
soak() { # name, extra arguments…
  local name=$1 started=$SECONDS
  shift
  rm -rf "${OUT:?}/$name"
  echo "==> soak $name"
  # The run stops by itself; the timeout only guards against a wedged set-up.
  if timeout $((SECS + 600)) "$SOAK" run --out "$OUT/$name" \
    --redis-port "${SOAK_REDIS_PORT:-6390}" --cluster-base "${SOAK_CLUSTER_BASE:-7100}" "$@"; then
    echo "<== soak $name passed in $((SECONDS - started)) s"
  else
    echo "<== soak $name FAILED in $((SECONDS - started)) s (history: $OUT/$name/history.jsonl)"
    failed+=("$name")
  fi
}

if [ "$MODE" != broken ]; then
  for setup in "${SETUPS[@]}"; do
    soak "$MODE-$setup" --setup "$setup" --secs "$SECS" --nodes 3 --clients "${SOAK_CLIENTS:-6}" \
      --fault-every "${SOAK_FAULT_EVERY:-6}" --demo-bin "$BIN/soak-node"
  done
fi
# The checker's own check: each broken near cache must be caught (short runs, no faults needed). 45 s:
# the ignored sign-outs were caught 1 to 5 times in six 25 s runs (2026-12-07), too near to none.
SECS=${SOAK_BROKEN_SECS:-45}
soak broken-session-invalidations --setup postgres-near --secs "$SECS" --nodes 3 --clients 4 --fault-every 0 \
  --demo-bin "$BIN/soak-node-broken" --soak-fault near-ignore-session-invalidations --renewal-secs 600 \
  --expect-rule served-after-revocation
soak broken-user-invalidations --setup redis-near --secs "$SECS" --nodes 3 --clients 4 --fault-every 0 \
  --demo-bin "$BIN/soak-node-broken" --soak-fault near-ignore-user-invalidations --renewal-secs 600 \
  --expect-rule stale-user

if [ ${#failed[@]} -gt 0 ]; then
  echo "soak: FAILED: ${failed[*]}"
  exit 1
fi
echo "soak: every run passed"
