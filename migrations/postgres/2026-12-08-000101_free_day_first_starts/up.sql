-- The free-day maps (search::free_days) also keep each date's first slot start, which bounds
-- when a therapist is next free (the soonest sort), and whether every start of the schedule lies
-- on a quarter hour. Per therapist at one schedule version: `last_starts` and `first_starts` hold
-- one byte per local date from `base` for 62 dates (0: no slot of the shortest service; else
-- 1 + the quarter hour of that start, counted from 14 hours before the date's UTC midnight).
-- Derived data: the table is made anew, and the servers' mappers (or `bodywork seed`) fill it
-- again from the schedules.
DROP TABLE free_day_maps;
CREATE TABLE free_day_maps (
    therapist_id BIGINT PRIMARY KEY REFERENCES therapists (id) ON DELETE CASCADE,
    schedule_version BIGINT NOT NULL,
    base DATE NOT NULL,
    notice_hours INTEGER NOT NULL,
    advance_days INTEGER NOT NULL,
    last_starts BYTEA NOT NULL,
    first_starts BYTEA NOT NULL,
    on_quarters BOOLEAN NOT NULL,
    CHECK (octet_length(last_starts) = 62),
    CHECK (octet_length(first_starts) = 62)
);
