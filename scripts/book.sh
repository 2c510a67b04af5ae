#!/usr/bin/env bash
# Build the keycard guide (docs/guide, mdBook) and check it: installs mdBook with `cargo install` when it is
# missing or not the pinned version, builds the book with every warning treated as an error, then checks every
# relative link and `#anchor` of the built HTML (scripts/check-book-links.py).
#
#   scripts/book.sh            # build into docs/guide/book/ and check
#
# The guide's Rust code is not run here: `cargo test --workspace` compiles and runs it through the
# keycard-guide crate (crates/keycard-guide). `mdbook test` is not used (it cannot link the workspace's crates).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The newest mdBook on crates.io when this was written; it needs rustc 1.88 (checked with `cargo info mdbook`).
MDBOOK_VERSION=0.5.4

if ! command -v mdbook >/dev/null 2>&1 || [ "$(mdbook --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
  echo "==> installing mdbook $MDBOOK_VERSION (cargo install; a few minutes)"
  # Only the builder and its search index: no `serve`/`watch` (an HTTP server and a file watcher).
  cargo install mdbook --locked --version "$MDBOOK_VERSION" --no-default-features --features search
fi

book=docs/guide
out=$book/book
rm -rf "$out"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# mdBook reports problems it can live with (a missing include, an unknown setting, a broken link it noticed)
# as WARN or ERROR lines and still exits 0: any such line fails the build.
if ! mdbook build "$book" 2>&1 | tee "$log"; then
  echo "book.sh: mdbook build failed" >&2
  exit 1
fi
if grep -E '^[[:space:]]*(WARN|ERROR)[[:space:]]|^(warning|error)(:|\[)' "$log" >/dev/null; then
  echo "book.sh: mdbook build printed warnings (above); fix them" >&2
  exit 1
fi
python3 scripts/check-book-links.py "$out"
