CREATE OR REPLACE FUNCTION session_notes_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'session_notes is append-only';
END;
$$ LANGUAGE plpgsql;
