-- Accounts: verified email addresses, single-use tokens sent by mail (verify an address,
-- reset a password, accept an admin invitation), erased accounts.

-- When the account's email address was verified (null: not yet; an invited admin who has not
-- accepted yet). Everyone registered before this migration is marked verified at their
-- registration time: they signed up when no verification link existed, and booking now needs
-- a verified address, so leaving them unverified would lock existing clients out of booking
-- for no fault of theirs.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
UPDATE users SET email_verified_at = created_at;

-- When the person erased their account: name and email were replaced by a placeholder that
-- cannot log in (services::account_data::erase).
ALTER TABLE users ADD COLUMN erased_at TIMESTAMP;

-- Single-use tokens sent by mail (services::tokens): only the SHA-256 of the token is kept.
-- `purpose`: verify_email (registration, or an email change when `new_email` is set: the new
-- address takes effect when the token is used), password_reset, admin_invite. A token works
-- once (`used_at`) and until `expires_at`; rows that are used or expired are purged by the
-- mail worker's housekeeping after the keep period.
CREATE TABLE account_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset', 'admin_invite')),
    token_hash TEXT NOT NULL UNIQUE,
    new_email TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);
