DROP TRIGGER session_notes_no_update;
CREATE TRIGGER session_notes_no_update BEFORE UPDATE ON session_notes
BEGIN
    SELECT RAISE(ABORT, 'session_notes is append-only');
END;
