ALTER TABLE appointments DROP COLUMN cancel_kind;
