-- Therapists' profile photos (services::photos): the re-encoded JPEGs at the fixed sizes
-- (domain::photo), in the database so that every server process sharing it serves them.
-- therapists.photo_version names the stored photo (0: none); it is in the photo's URL, which is
-- therefore cached for good, and in the directory index (a searchable listing column, so a change
-- stamps the row like the others), so search results carry the photo's URL without a query.
CREATE TABLE therapist_photos (
    therapist_id BIGINT PRIMARY KEY REFERENCES therapists (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    card_jpeg BYTEA NOT NULL,
    profile_jpeg BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE therapists ADD COLUMN photo_version BIGINT NOT NULL DEFAULT 0;
DROP TRIGGER therapists_stamp ON therapists;
CREATE TRIGGER therapists_stamp BEFORE INSERT OR UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, directory_stamp, photo_version ON therapists
    FOR EACH ROW EXECUTE FUNCTION stamp_therapist();
