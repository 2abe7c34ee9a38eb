ALTER TABLE licenses DROP COLUMN expiry_warned_at;
ALTER TABLE appointments DROP COLUMN calendar_sequence;
ALTER TABLE appointments DROP COLUMN calendar_series;
ALTER TABLE users DROP COLUMN reminders;
DROP TABLE outbox;
