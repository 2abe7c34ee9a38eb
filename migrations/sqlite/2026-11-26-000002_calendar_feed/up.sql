-- The calendar feed is looked up by the SHA-256 of its secret token: one therapist per hash.
CREATE UNIQUE INDEX therapists_calendar_token_hash_key ON therapists (calendar_token_hash);
