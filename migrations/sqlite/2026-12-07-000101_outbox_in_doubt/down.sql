UPDATE outbox SET status = 'queued' WHERE status = 'sending';
UPDATE outbox SET status = 'failed' WHERE status = 'in_doubt';
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
        CHECK (status IN ('queued', 'sent', 'failed', 'withdrawn')),
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
