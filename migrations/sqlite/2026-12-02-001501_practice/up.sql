-- The practice: where to go (the studio's address and phone, mobile visits), bookings a
-- therapist enters for a client, session notes, and what a read of private data was about.

-- The studio's street address (null: no studio, mobile visits only), a phone for clients, and
-- how far from their city a mobile therapist travels.
ALTER TABLE therapists ADD COLUMN address TEXT;
ALTER TABLE therapists ADD COLUMN phone TEXT;
ALTER TABLE therapists ADD COLUMN mobile_radius_km INTEGER CHECK (mobile_radius_km IS NULL OR mobile_radius_km BETWEEN 1 AND 500);

-- Where the session happens: at the studio, or a mobile visit at the client's address. The
-- client's address is stored encrypted (services::crypto, bound to therapist and client), ''
-- for a studio visit.
ALTER TABLE appointments ADD COLUMN visit TEXT NOT NULL DEFAULT 'studio' CHECK (visit IN ('studio', 'mobile'));
ALTER TABLE appointments ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
-- A booking the therapist entered (phone or walk-in) waits for the client's screening answers:
-- while `screening_pending`, `screening_outcome` holds no finding and must not be read as one.
ALTER TABLE appointments ADD COLUMN screening_pending BOOLEAN NOT NULL DEFAULT 0;
-- The therapist's user who entered the booking (null: the client booked it).
ALTER TABLE appointments ADD COLUMN entered_by INTEGER REFERENCES users (id);
-- The therapist's note when entering a booking, encrypted like the answers ('' without one).
ALTER TABLE appointments ADD COLUMN entry_note TEXT NOT NULL DEFAULT '';

-- Session notes (SOAP), append-only: an edit is a new version; rows are never updated.
-- `sealed` is the encrypted JSON of the four parts, `key_id` names the key that sealed it.
CREATE TABLE session_notes (
    id INTEGER PRIMARY KEY,
    appointment_id INTEGER NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    author_user_id INTEGER NOT NULL REFERENCES users (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    sealed TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (appointment_id, version)
);
CREATE TRIGGER session_notes_no_update BEFORE UPDATE ON session_notes
BEGIN
    SELECT RAISE(ABORT, 'session_notes is append-only');
END;

-- What a logged read of private data was about: the screening answers, the session notes, or
-- a mobile client's address.
ALTER TABLE screening_access_log ADD COLUMN subject TEXT NOT NULL DEFAULT 'answers' CHECK (subject IN ('answers', 'notes', 'address'));

-- Single-use tokens gain `screening` (a link to answer the questions of a booking the therapist
-- entered), bound to that appointment. SQLite cannot change a CHECK in place: the table is
-- rebuilt (nothing refers to it).
CREATE TABLE account_tokens_new (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset', 'admin_invite', 'screening')),
    token_hash TEXT NOT NULL UNIQUE,
    new_email TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    appointment_id INTEGER REFERENCES appointments (id) ON DELETE CASCADE
);
INSERT INTO account_tokens_new (id, user_id, purpose, token_hash, new_email, created_at, expires_at, used_at)
    SELECT id, user_id, purpose, token_hash, new_email, created_at, expires_at, used_at FROM account_tokens;
DROP TABLE account_tokens;
ALTER TABLE account_tokens_new RENAME TO account_tokens;
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);
