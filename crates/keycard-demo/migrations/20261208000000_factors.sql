-- Second factors: a summary of which ones the user has on ("totp", "passkey", comma-separated), so the
-- cached user (and so the profile and GET /me) shows them without a query. The factors themselves live in
-- keycard-sqlx's tables (keycard_totp, keycard_recovery_codes, keycard_passkeys); the app rewrites this
-- column, and bumps `version`, after every change to them.
ALTER TABLE users ADD COLUMN factors TEXT NOT NULL DEFAULT '';
