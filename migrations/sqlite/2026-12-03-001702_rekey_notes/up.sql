-- Session notes stay append-only, with one exception: a key rotation (`bodywork rekey`) seals
-- the same note again under the new key, which changes `sealed` and `key_id` together and
-- nothing else. Every other update is refused, as before.
DROP TRIGGER session_notes_no_update;
CREATE TRIGGER session_notes_no_update BEFORE UPDATE ON session_notes
WHEN NOT (NEW.key_id IS NOT OLD.key_id
          AND NEW.id = OLD.id
          AND NEW.appointment_id = OLD.appointment_id
          AND NEW.author_user_id = OLD.author_user_id
          AND NEW.version = OLD.version
          AND NEW.created_at = OLD.created_at)
BEGIN
    SELECT RAISE(ABORT, 'session_notes is append-only');
END;
