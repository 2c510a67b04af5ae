#!/usr/bin/env bash
# The OpenID provider of the tests (issue 22): panva's oidc-provider (OpenID Certified) on loopback, as pinned by
# scripts/oidc-provider/package-lock.json, with a dev interaction the tests drive over HTTP (see the header of
# scripts/oidc-provider/provider.mjs).
#
#   scripts/oidc-provider.sh --install   install it (npm ci) when missing or older than the lock file; start nothing
#   scripts/oidc-provider.sh [PORT]      install when missing, then run it in the foreground (PORT 0: a free one);
#                                        it prints {"issuer":"http://127.0.0.1:PORT"} and runs until stdin closes
#                                        or Ctrl-C
#
# crates/keycard-demo/tests/oidc/ starts `node scripts/oidc-provider/provider.mjs` itself (a provider per test
# binary) and prints the kit's SKIPPED line when node or the installed provider is missing; .ci/run runs
# `--install` first and requires the suite (KEYCARD_REQUIRE_SERVICES=1). Needs Node.js 20.19 or later and the
# npm registry (only for the install).
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/oidc-provider" && pwd)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "oidc-provider.sh: node and npm are needed (Node.js 20.19 or later)" >&2
  exit 1
fi
if [ ! -d "$DIR/node_modules/oidc-provider" ] || [ ! -d "$DIR/node_modules/jose" ] ||
  [ "$DIR/package-lock.json" -nt "$DIR/node_modules/.package-lock.json" ]; then
  echo "oidc-provider.sh: npm ci in scripts/oidc-provider/" >&2
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "${1:-}" = "--install" ]; then
  exit 0
fi
exec node "$DIR/provider.mjs" "${1:-0}"
