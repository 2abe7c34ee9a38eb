-- The outbox: every mail is written here in the transaction of the change that causes it, and
-- sent later by the mail worker (services::mail_worker). `status`: queued (waiting, also for a
-- retry: see send_after), sent, failed (given up after domain::mail::MAX_ATTEMPTS), withdrawn
-- (no longer wanted: a reminder of a cancelled booking). A worker claims a queued row by setting
-- a lease (`claimed_until`, `claimed_by`); a row whose lease ran out can be claimed again.
CREATE TABLE outbox (
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
CREATE INDEX outbox_status_send_after_idx ON outbox (status, send_after);
CREATE INDEX outbox_appointment_idx ON outbox (appointment_id);
CREATE INDEX outbox_user_idx ON outbox (user_id);

-- Whether the person wants reminder mails before their sessions.
ALTER TABLE users ADD COLUMN reminders BOOLEAN NOT NULL DEFAULT 1;

-- A calendar event keeps its UID when its client moves it (a move makes a new appointment):
-- `calendar_series` is the id of the first appointment of the chain (null: the appointment
-- itself), `calendar_sequence` the iCalendar SEQUENCE (one more at each move).
ALTER TABLE appointments ADD COLUMN calendar_series INTEGER;
ALTER TABLE appointments ADD COLUMN calendar_sequence INTEGER NOT NULL DEFAULT 0;

-- The licenses whose "expires within 30 days" mail went out (once per license).
ALTER TABLE licenses ADD COLUMN expiry_warned_at TIMESTAMP;
