-- The log of reads of private data is evidence, like the audit log: nothing rewrites or removes
-- it (SQLite has no TRUNCATE; a DELETE without WHERE fires these triggers too).
CREATE TRIGGER screening_access_log_no_update BEFORE UPDATE ON screening_access_log
BEGIN
    SELECT RAISE(ABORT, 'screening_access_log is append-only');
END;
CREATE TRIGGER screening_access_log_no_delete BEFORE DELETE ON screening_access_log
BEGIN
    SELECT RAISE(ABORT, 'screening_access_log is append-only');
END;
