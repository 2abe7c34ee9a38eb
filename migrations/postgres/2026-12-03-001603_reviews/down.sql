DROP TRIGGER therapists_stamp ON therapists;
CREATE TRIGGER therapists_stamp BEFORE INSERT OR UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, directory_stamp, photo_version ON therapists
    FOR EACH ROW EXECUTE FUNCTION stamp_therapist();
ALTER TABLE therapists DROP COLUMN rating_sum;
ALTER TABLE therapists DROP COLUMN rating_count;
DROP TABLE review_replies;
DROP TABLE reviews;
DROP FUNCTION reviews_guard();
