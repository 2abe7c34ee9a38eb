CREATE TABLE account_tokens_old (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset', 'admin_invite')),
    token_hash TEXT NOT NULL UNIQUE,
    new_email TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
INSERT INTO account_tokens_old (id, user_id, purpose, token_hash, new_email, created_at, expires_at, used_at)
    SELECT id, user_id, purpose, token_hash, new_email, created_at, expires_at, used_at FROM account_tokens
    WHERE purpose <> 'screening';
DROP TABLE account_tokens;
ALTER TABLE account_tokens_old RENAME TO account_tokens;
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);
ALTER TABLE screening_access_log DROP COLUMN subject;
DROP TABLE session_notes;
ALTER TABLE appointments DROP COLUMN entry_note;
ALTER TABLE appointments DROP COLUMN entered_by;
ALTER TABLE appointments DROP COLUMN screening_pending;
ALTER TABLE appointments DROP COLUMN client_address;
ALTER TABLE appointments DROP COLUMN visit;
ALTER TABLE therapists DROP COLUMN mobile_radius_km;
ALTER TABLE therapists DROP COLUMN phone;
ALTER TABLE therapists DROP COLUMN address;
