-- Exactly once, or say so: a send is marked `sending` (committed) before the mail goes to the
-- SMTP server, and `sent` after it was accepted. A worker that dies between the two leaves the
-- row `sending`; when its lease runs out the row becomes `in_doubt` (it may have arrived) and is
-- not sent again unless an admin asks (services::outbox).
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'withdrawn', 'in_doubt'));
