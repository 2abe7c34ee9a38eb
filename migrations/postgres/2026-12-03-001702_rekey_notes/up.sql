-- Session notes stay append-only, with one exception: a key rotation (`bodywork rekey`) seals
-- the same note again under the new key, which changes `sealed` and `key_id` together and
-- nothing else. Every other update is refused, as before.
CREATE OR REPLACE FUNCTION session_notes_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.key_id IS DISTINCT FROM OLD.key_id
       AND NEW.id = OLD.id
       AND NEW.appointment_id = OLD.appointment_id
       AND NEW.author_user_id = OLD.author_user_id
       AND NEW.version = OLD.version
       AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'session_notes is append-only';
END;
$$ LANGUAGE plpgsql;
