-- Reviews of completed appointments (services::reviews): one per appointment, by its client;
-- the therapist's one reply; an admin may hide a review with a reason (audited).
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    appointment_id INTEGER NOT NULL UNIQUE REFERENCES appointments (id) ON DELETE CASCADE,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES users (id),
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body TEXT NOT NULL CHECK (length(body) <= 2000),
    created_at TIMESTAMP NOT NULL,
    hidden_at TIMESTAMP,
    hidden_reason TEXT,
    hidden_by INTEGER REFERENCES users (id),
    CHECK ((hidden_at IS NULL) = (hidden_reason IS NULL))
);
CREATE INDEX reviews_therapist ON reviews (therapist_id, created_at);
-- Only the client of a completed appointment reviews it, about its therapist.
CREATE TRIGGER reviews_of_completed BEFORE INSERT ON reviews
WHEN NOT EXISTS (SELECT 1 FROM appointments a WHERE a.id = NEW.appointment_id
    AND a.status = 'completed' AND a.therapist_id = NEW.therapist_id AND a.client_id = NEW.client_id)
BEGIN
    SELECT RAISE(ABORT, 'a review is of a completed appointment, by its client');
END;
CREATE TRIGGER reviews_fixed BEFORE UPDATE OF appointment_id, therapist_id, client_id, rating, created_at ON reviews
BEGIN
    SELECT RAISE(ABORT, 'a review is not edited');
END;

-- The therapist's reply: one per review.
CREATE TABLE review_replies (
    id INTEGER PRIMARY KEY,
    review_id INTEGER NOT NULL UNIQUE REFERENCES reviews (id) ON DELETE CASCADE,
    author_user_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at TIMESTAMP NOT NULL
);

-- The rating of the directory listing: the count and the sum of the stars of the therapist's
-- reviews that are not hidden (services::reviews::refresh_rating, in the review's transaction).
ALTER TABLE therapists ADD COLUMN rating_count INTEGER NOT NULL DEFAULT 0 CHECK (rating_count >= 0);
ALTER TABLE therapists ADD COLUMN rating_sum INTEGER NOT NULL DEFAULT 0 CHECK (rating_sum BETWEEN rating_count AND 5 * rating_count);
DROP TRIGGER therapists_stamp_update;
CREATE TRIGGER therapists_stamp_update AFTER UPDATE OF user_id, bio, city, region, latitude, longitude, geo_cell, accepting_new_clients, languages, mobile, suspended_at, verified_hours, license_verified_until, price_from_cents, technique_mask, schedule_version, photo_version, rating_count, rating_sum ON therapists BEGIN
    UPDATE directory_state SET version = version + 1;
    UPDATE therapists SET directory_stamp = (SELECT version FROM directory_state) WHERE id = NEW.id;
END;
