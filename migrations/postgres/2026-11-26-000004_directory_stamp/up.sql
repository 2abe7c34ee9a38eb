-- See the SQLite migration of the same name. Here a stamp is taken while holding the lock of the
-- single directory_state row until commit, so that stamps commit in the order they are taken
-- (a reader that sees stamp n has every smaller one committed or rolled back).
CREATE TABLE directory_state (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);
INSERT INTO directory_state (id) VALUES (1);
CREATE SEQUENCE directory_stamp_seq;
CREATE TABLE directory_removed (
    therapist_id BIGINT NOT NULL,
    stamp BIGINT NOT NULL
);
CREATE INDEX directory_removed_stamp_idx ON directory_removed (stamp);
ALTER TABLE therapists ADD COLUMN directory_stamp BIGINT NOT NULL DEFAULT 0;
CREATE INDEX therapists_directory_stamp_idx ON therapists (directory_stamp);

CREATE FUNCTION next_directory_stamp() RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM directory_state WHERE id = 1 FOR UPDATE;
    RETURN nextval('directory_stamp_seq');
END $$;
CREATE FUNCTION stamp_therapist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.directory_stamp := next_directory_stamp();
    RETURN NEW;
END $$;
CREATE TRIGGER therapists_stamp BEFORE INSERT OR UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, directory_stamp ON therapists
    FOR EACH ROW EXECUTE FUNCTION stamp_therapist();
CREATE FUNCTION stamp_user_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name THEN
        UPDATE therapists SET directory_stamp = 0 WHERE user_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_name_stamp AFTER UPDATE OF name ON users
    FOR EACH ROW EXECUTE FUNCTION stamp_user_name();
CREATE FUNCTION note_removed_therapist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory_removed (therapist_id, stamp) VALUES (OLD.id, next_directory_stamp());
    RETURN NULL;
END $$;
CREATE TRIGGER therapists_stamp_delete AFTER DELETE ON therapists
    FOR EACH ROW EXECUTE FUNCTION note_removed_therapist();
