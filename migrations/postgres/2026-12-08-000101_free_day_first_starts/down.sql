-- The maps of the last starts alone (derived data: filled again by the mappers).
DROP TABLE free_day_maps;
CREATE TABLE free_day_maps (
    therapist_id BIGINT PRIMARY KEY REFERENCES therapists (id) ON DELETE CASCADE,
    schedule_version BIGINT NOT NULL,
    base DATE NOT NULL,
    notice_hours INTEGER NOT NULL,
    advance_days INTEGER NOT NULL,
    days BYTEA NOT NULL,
    CHECK (octet_length(days) = 62)
);
