UPDATE outbox SET status = 'queued' WHERE status = 'sending';
UPDATE outbox SET status = 'failed' WHERE status = 'in_doubt';
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('queued', 'sent', 'failed', 'withdrawn'));
