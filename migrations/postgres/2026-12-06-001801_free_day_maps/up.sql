-- Free days known ahead (search::free_days): per therapist, at one schedule version, one byte per
-- local date from `base` for 62 dates (0: no slot of the shortest service; else 1 + the quarter
-- hour of the date's last slot start, counted from 14 hours before the date's UTC midnight),
-- with the minimum notice and the advance window of that version. Written by the servers'
-- background mapper and by `bodywork seed`; read at start. Derived data: nothing here is a
-- fact that is not also in the schedule.
CREATE TABLE free_day_maps (
    therapist_id BIGINT PRIMARY KEY REFERENCES therapists (id) ON DELETE CASCADE,
    schedule_version BIGINT NOT NULL,
    base DATE NOT NULL,
    notice_hours INTEGER NOT NULL,
    advance_days INTEGER NOT NULL,
    days BYTEA NOT NULL,
    CHECK (octet_length(days) = 62)
);
