#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ for FUZZ_SECS seconds each (default 60), and stops by itself.
#
#   scripts/fuzz.sh                               every target, 60 s each (what CI runs)
#   FUZZ_SECS=600 scripts/fuzz.sh session_cookie  one target, ten minutes
#
# Targets: session_cookie cookie_header csrf_token redis_record sql_record pending_login passkey_response
# passkey_state (fuzz/Cargo.toml).
#
# - Toolchain: libFuzzer needs nightly flags (-Z sanitizer, sancov). A nightly toolchain is used when
#   rustup has one; otherwise the default (stable) one with RUSTC_BOOTSTRAP=1 (a clean machine may have no
#   way to fetch a nightly). FUZZ_TOOLCHAIN=stable|nightly forces one.
# - cargo-fuzz is installed (`cargo install cargo-fuzz --locked`) when it is missing.
# - Each run starts from the committed seeds (fuzz/corpus/<target>/) and grows a corpus of its own in
#   fuzz/target/corpus/<target>/ (not committed). libFuzzer stops at -max_total_time; a `timeout` around
#   it is the backstop. -rss_limit_mb is libFuzzer's default (2048); one input may take at most 10 s.
# - A crash (panic, sanitizer report, slow input, out of memory) fails the script. The input is copied to
#   fuzz/regressions/<target>/, which `cargo test` replays (tests/fuzz_regressions.rs of the crate that
#   owns the code): fix the bug, commit the input with the fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ALL_TARGETS=(session_cookie cookie_header csrf_token redis_record sql_record pending_login passkey_response passkey_state)
secs=${FUZZ_SECS:-60}
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 1)); then
  echo "fuzz.sh: FUZZ_SECS must be a positive number of seconds, not '$secs'" >&2
  exit 2
fi
if (($# > 0)); then targets=("$@"); else targets=("${ALL_TARGETS[@]}"); fi
for t in "${targets[@]}"; do
  if [[ ! -f fuzz/fuzz_targets/$t.rs ]]; then
    echo "fuzz.sh: no target '$t' (one of: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

toolchain=${FUZZ_TOOLCHAIN:-}
if [[ -z $toolchain ]]; then
  if command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly'; then
    toolchain=nightly
  else
    toolchain=stable
  fi
fi
case $toolchain in
  nightly) cargo=(cargo +nightly) ;;
  stable)
    # The stable compiler accepts the nightly-only flags cargo-fuzz passes when bootstrapping is allowed.
    # The default toolchain: a machine's only one may not be named `stable` in rustup.
    export RUSTC_BOOTSTRAP=1
    cargo=(cargo)
    ;;
  *)
    echo "fuzz.sh: FUZZ_TOOLCHAIN must be stable or nightly, not '$toolchain'" >&2
    exit 2
    ;;
esac
echo "fuzz.sh: toolchain $toolchain ($("${cargo[@]}" --version))${RUSTC_BOOTSTRAP:+, RUSTC_BOOTSTRAP=1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cd fuzz
started=$SECONDS
# `cargo fuzz build` takes one target or none (all); the targets share every dependency, so after the first
# each build is short.
for t in "${targets[@]}"; do
  "${cargo[@]}" fuzz build "$t"
done
echo "fuzz.sh: built in $((SECONDS - started)) s"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | sort)
  echo "==> fuzz $t for $secs s"
  run_started=$SECONDS
  status=0
  timeout --kill-after=10 "$((secs + 120))" \
    "${cargo[@]}" fuzz run "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
    >"target/fuzz-$t.log" 2>&1 || status=$?
  # The last status line and the final stats: executions, coverage, corpus size.
  grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "target/fuzz-$t.log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "target/fuzz-$t.log" || true
  if ((status != 0)); then
    echo "fuzz.sh: $t FAILED (exit $status) after $((SECONDS - run_started)) s; the end of its log:"
    tail -n 60 "target/fuzz-$t.log"
    mkdir -p "regressions/$t"
    while IFS= read -r crash; do
      [[ -z $crash ]] && continue
      if ! grep -qxF "$crash" <<<"$before"; then
        cp "$crash" "regressions/$t/"
        echo "fuzz.sh: kept $crash as fuzz/regressions/$t/$(basename "$crash"): fix the bug, commit the input"
      fi
    done < <(find "artifacts/$t" -type f | sort)
    failed+=("$t")
  else
    echo "<== $t: no crash in $((SECONDS - run_started)) s"
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s), $secs s each, no crash; $((SECONDS - started)) s in all"
