DROP TRIGGER licenses_stamp_delete;
DROP TRIGGER licenses_stamp_update;
DROP TRIGGER licenses_stamp_insert;
DROP TRIGGER therapists_stamp_update;
CREATE TRIGGER therapists_stamp_update AFTER UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, schedule_version, photo_version, rating_count, rating_sum ON therapists BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id = NEW.id;
END;
