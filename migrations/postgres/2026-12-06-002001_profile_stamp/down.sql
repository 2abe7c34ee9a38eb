DROP TRIGGER licenses_stamp ON licenses;
DROP FUNCTION stamp_licensed_therapist();
DROP TRIGGER therapists_stamp ON therapists;
CREATE TRIGGER therapists_stamp BEFORE INSERT OR UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, directory_stamp, photo_version, rating_count, rating_sum ON therapists
    FOR EACH ROW EXECUTE FUNCTION stamp_therapist();
