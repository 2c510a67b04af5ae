-- Credential-bound sessions: `credentials_version` is bumped by every password change (and only then). The
-- cached user carries it as its credential fingerprint, so a session created before the change stops
-- working the moment the changed user is cached (see keycard::user::Fingerprint).
ALTER TABLE users ADD COLUMN credentials_version BIGINT NOT NULL DEFAULT 1;
