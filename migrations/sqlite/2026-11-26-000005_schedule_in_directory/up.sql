-- The directory index (services::directory_index) also keeps every therapist's schedule_version,
-- what free-time answers are cached by: a change of the version stamps the row like any other
-- searchable column (SQLite writes one transaction at a time, so this queues nothing). The narrow
-- index that searches read versions through is no longer needed.
DROP INDEX therapists_schedule_version_idx;
DROP TRIGGER therapists_stamp_update;
CREATE TRIGGER therapists_stamp_update AFTER UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, schedule_version ON therapists BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id = NEW.id;
END;
