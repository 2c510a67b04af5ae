# Sourced by the demo's benchmark scripts: one release demo server on a loopback port of its own, with a
# throwaway SQLite database and secret, and one account signed up through the real forms.
#
#   source scripts/lib/demo.sh
#   demo_start NAME [WRAPPER...]   # NAME for messages; WRAPPER: a command to run the server under
#                                  # (e.g. valgrind ...). Sets WORK, PID, ADDR; stops the server on exit.
#                                  # CACHE_URL (default memory) chooses where the sessions live.
#   demo_sign_up                   # sets JAR (curl's cookie jar), PASSWORD, COOKIE (the session cookie)
#
# Call from the repository root, after `cargo build --release -p keycard-demo`.

demo_start() {
  local name=$1
  shift
  WORK=$(mktemp -d)
  env KEYCARD_ADDR=127.0.0.1:0 DATABASE_URL="sqlite://$WORK/d.db?mode=rwc" CACHE_URL="${CACHE_URL:-memory}" \
    SECRET_KEY="$(head -c 64 /dev/urandom | base64 -w0)" RUST_LOG=warn,keycard_demo::app=info \
    "$@" target/release/keycard-demo >/dev/null 2>"$WORK/log" &
  PID=$!
  trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
  # Up to 2 minutes: under valgrind the server takes a while to listen.
  for _ in $(seq 1 1200); do grep -qs "listening on http://" "$WORK/log" && break; sleep 0.1; done
  ADDR=$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\)/.*|\1|p' "$WORK/log" | head -n1)
  [ -n "$ADDR" ] || { echo "$name: server did not start" >&2; cat "$WORK/log" >&2; exit 1; }
}

demo_sign_up() {
  JAR="$WORK/jar"
  PASSWORD="correct horse battery staple"
  local csrf
  csrf=$(curl -sf -c "$JAR" "http://$ADDR/registration/new" | sed -n 's|.*name="_csrf_token" value="\([^"]*\)".*|\1|p' | head -n1)
  curl -sf -o /dev/null -b "$JAR" -c "$JAR" --data-urlencode "_csrf_token=$csrf" \
    --data-urlencode "email=bench@example.com" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "password_confirmation=$PASSWORD" "http://$ADDR/registration"
  COOKIE=$(awk '$6 == "keycard_session" { print $7 }' "$JAR")
}
