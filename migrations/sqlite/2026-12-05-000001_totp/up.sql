-- Two-factor sign-in (TOTP, RFC 6238; services::totp). Admins must enrol, others may.

-- When the account's second factor was confirmed (null: none). Kept on the user row so that
-- the role proofs (services::access) know it without another query.
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;

-- The account's TOTP secret, sealed like the health data (v2:<key id>:..., bound to the
-- user), pending until confirmed with a code; last_step is the last time step used (a code of
-- that step or an earlier one is refused).
CREATE TABLE totp_secrets (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT,
    created_at TIMESTAMP NOT NULL
);

-- Recovery codes: SHA-256 of each (random, 80 bits), used once.
CREATE TABLE totp_recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX totp_recovery_codes_user_idx ON totp_recovery_codes (user_id);
