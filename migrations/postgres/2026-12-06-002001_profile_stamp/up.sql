-- See the SQLite migration of the same name: everything the public profile shows moves the
-- therapist's directory stamp or schedule version (here the schedule version of a time zone
-- change is read through schedule_xid, as for any other).
DROP TRIGGER therapists_stamp ON therapists;
CREATE TRIGGER therapists_stamp BEFORE INSERT OR UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, directory_stamp, photo_version, rating_count, rating_sum, timezone, in_studio, address, phone, mobile_radius_km ON therapists
    FOR EACH ROW EXECUTE FUNCTION stamp_therapist();
CREATE FUNCTION stamp_licensed_therapist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE therapists SET directory_stamp = 0 WHERE id = OLD.therapist_id;
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.therapist_id IS DISTINCT FROM OLD.therapist_id) THEN
        UPDATE therapists SET directory_stamp = 0 WHERE id = NEW.therapist_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER licenses_stamp AFTER INSERT OR DELETE OR UPDATE OF therapist_id, jurisdiction, number, issuing_body, expires_on, status ON licenses
    FOR EACH ROW EXECUTE FUNCTION stamp_licensed_therapist();
