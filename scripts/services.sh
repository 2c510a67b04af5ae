#!/usr/bin/env bash
# Make sure the services the integration suites need are up: Redis on 127.0.0.1:6379 and PostgreSQL on
# 127.0.0.1:5432 (database `test`). Starts them with this machine kind's documented commands when they are
# not answering; exits non-zero if one still does not answer.
set -uo pipefail

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

wait_for() { # name, check-function
  for _ in $(seq 1 60); do "$2" && return 0; sleep 0.5; done
  echo "services: $1 did not come up" >&2
  return 1
}

status=0
if ! redis_up; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for redis redis_up || status=1
fi
if ! pg_up; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for postgresql pg_up || status=1
fi
if [ "$status" = 0 ]; then
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1" test >/dev/null 2>&1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || true
  echo "services: redis and postgresql are up"
fi
exit "$status"
