-- The sweep's statements at 10^6 sessions (BENCHMARKS.md, "Sizing"): a scratch database with keycard-sqlx's
-- PostgreSQL schema (migration 1, prefix keycard_) and 10^5 users with 10 sessions each.
--   createdb -h 127.0.0.1 -U postgres sweep_scratch && psql -h 127.0.0.1 -U postgres -d sweep_scratch -f bench/sweep-scratch.sql
-- The sweep runs at now = t0 + 31 min = 1800001860000: each user's first session (10%) has expired; every 20th
-- other session was renewed and its replaced token is past its grace window. Physical order as the sizing
-- bench's: every user's first session first, then the nine.
CREATE TABLE keycard_users (user_key TEXT PRIMARY KEY, data TEXT NOT NULL, version BIGINT, auth_fingerprint BYTEA);
CREATE TABLE keycard_sessions (
  session_id BYTEA PRIMARY KEY, user_key TEXT NOT NULL, created_at BIGINT NOT NULL, renewed_at BIGINT NOT NULL,
  idle_deadline BIGINT NOT NULL, absolute_deadline BIGINT NOT NULL, expires_at BIGINT NOT NULL,
  current_token BYTEA NOT NULL, previous_token BYTEA, previous_until BIGINT, metadata TEXT NOT NULL,
  auth_fingerprint BYTEA, authenticated_at BIGINT, series_id BYTEA);
CREATE UNIQUE INDEX keycard_sessions_current_token ON keycard_sessions (current_token);
CREATE UNIQUE INDEX keycard_sessions_previous_token ON keycard_sessions (previous_token) WHERE previous_token IS NOT NULL;
CREATE INDEX keycard_sessions_user ON keycard_sessions (user_key, expires_at);
CREATE INDEX keycard_sessions_expires ON keycard_sessions (expires_at);
CREATE INDEX keycard_sessions_grace ON keycard_sessions (previous_until) WHERE previous_until IS NOT NULL;
TRUNCATE keycard_users, keycard_sessions;
INSERT INTO keycard_users SELECT 'u' || u, '{"id":' || u || ',"email":"user' || u || '@example.com","plan":"free"}', NULL, NULL
  FROM generate_series(1, 100000) u;
INSERT INTO keycard_sessions
SELECT sha256(('s' || u || '-' || k)::bytea), 'u' || u, t, t, t + 1800000, t + 2592000000::bigint, t + 1800000,
       sha256(('c' || u || '-' || k)::bytea),
       CASE WHEN k > 0 AND (u + k) % 20 = 0 THEN sha256(('p' || u || '-' || k)::bytea) END,
       CASE WHEN k > 0 AND (u + k) % 20 = 0 THEN 1800000000000 + 21 * 60000 END,
       '{"user_agent":"Mozilla/5.0 bench","ip":"127.0.0.1"}', NULL, t, NULL
FROM (SELECT u, k, CASE WHEN k = 0 THEN 1800000000000 ELSE 1800000000000 + 1200000 END AS t
      FROM generate_series(0, 9) k, generate_series(1, 100000) u ORDER BY (k > 0), u, k) g;
VACUUM ANALYZE keycard_users; VACUUM ANALYZE keycard_sessions;
