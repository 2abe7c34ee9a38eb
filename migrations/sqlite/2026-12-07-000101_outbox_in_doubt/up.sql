-- Exactly once, or say so: a send is marked `sending` (committed) before the mail goes to the
-- SMTP server, and `sent` after it was accepted. A worker that dies between the two leaves the
-- row `sending`; when its lease runs out the row becomes `in_doubt` (it may have arrived) and is
-- not sent again unless an admin asks (services::outbox). SQLite cannot change a CHECK in place:
-- the table is rebuilt (no table refers to it).
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    to_email TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    appointment_id INTEGER REFERENCES appointments (id) ON DELETE SET NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    ics TEXT,
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'withdrawn', 'in_doubt')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    send_after TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    claimed_by TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
INSERT INTO outbox_new (id, kind, to_email, user_id, appointment_id, subject, body_text, body_html, ics, message_id, status, attempts, last_error, send_after, claimed_until, claimed_by, created_at, sent_at)
    SELECT id, kind, to_email, user_id, appointment_id, subject, body_text, body_html, ics, message_id, status, attempts, last_error, send_after, claimed_until, claimed_by, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_status_send_after_idx ON outbox (status, send_after);
CREATE INDEX outbox_appointment_idx ON outbox (appointment_id);
CREATE INDEX outbox_user_idx ON outbox (user_id);
