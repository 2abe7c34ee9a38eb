-- The directory's in-memory index (services::directory_index) follows the database through
-- stamps: every insert or change of what a search reads about a therapist (these columns and the
-- user's name) takes the next number of directory_state.version into therapists.directory_stamp,
-- and a deleted therapist leaves a row in directory_removed. Writers are serialized (SQLite
-- writes one transaction at a time), so stamps commit in order and "stamp > the last one seen"
-- finds every change since.
CREATE TABLE directory_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_state (id, version) VALUES (1, 0);
CREATE TABLE directory_removed (
    therapist_id BIGINT NOT NULL,
    stamp BIGINT NOT NULL
);
CREATE INDEX directory_removed_stamp_idx ON directory_removed (stamp);
ALTER TABLE therapists ADD COLUMN directory_stamp BIGINT NOT NULL DEFAULT 0;
CREATE INDEX therapists_directory_stamp_idx ON therapists (directory_stamp);

CREATE TRIGGER therapists_stamp_insert AFTER INSERT ON therapists BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id = NEW.id;
END;
CREATE TRIGGER therapists_stamp_update AFTER UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask ON therapists BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id = NEW.id;
END;
CREATE TRIGGER users_name_stamp AFTER UPDATE OF name ON users
WHEN EXISTS (SELECT 1 FROM therapists WHERE user_id = NEW.id) BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE user_id = NEW.id;
END;
CREATE TRIGGER therapists_stamp_delete AFTER DELETE ON therapists BEGIN
    UPDATE directory_state SET version = version + 1;
    INSERT INTO directory_removed (therapist_id, stamp) VALUES (OLD.id, (SELECT version FROM directory_state));
END;
