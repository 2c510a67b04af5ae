-- Accounts by email: when the user proved they read the address (a confirmation link, a sign-in link or
-- code, an email change). NULL: not confirmed yet. Unconfirmed users may sign in (the profile says so
-- and offers to send the link again).
ALTER TABLE users ADD COLUMN confirmed_at BIGINT;
