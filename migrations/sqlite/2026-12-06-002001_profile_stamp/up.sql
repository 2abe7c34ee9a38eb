-- The public profile (services::directory::ProfileCache) is kept in memory under the therapist's
-- directory stamp and schedule version, so everything it shows must move one of them: the
-- therapist's columns the directory did not watch yet (time zone, studio, address, phone, mobile
-- radius), and the therapist's licenses (the one shown, its number, status and expiry). Services,
-- the booking policy and the time zone move the schedule version already.
DROP TRIGGER therapists_stamp_update;
CREATE TRIGGER therapists_stamp_update AFTER UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, schedule_version, photo_version, rating_count, rating_sum, timezone, in_studio, address, phone, mobile_radius_km ON therapists BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id = NEW.id;
END;
CREATE TRIGGER licenses_stamp_insert AFTER INSERT ON licenses BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id = NEW.therapist_id;
END;
CREATE TRIGGER licenses_stamp_update AFTER UPDATE OF therapist_id, jurisdiction, number, issuing_body, expires_on, status ON licenses BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id IN (OLD.therapist_id, NEW.therapist_id);
END;
CREATE TRIGGER licenses_stamp_delete AFTER DELETE ON licenses BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id = OLD.therapist_id;
END;
