-- The waitlist: a client asks to be told when a time of one service of one therapist comes
-- free within a range of days (services::waitlist).

-- One wish: this client, this service (of this therapist), these local days (the therapist's
-- calendar), both ends included, at most 31 days.
CREATE TABLE waitlist_entries (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    from_date DATE NOT NULL,
    to_date DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (to_date >= from_date),
    CHECK (julianday(to_date) - julianday(from_date) <= 30),
    UNIQUE (client_id, service_id, from_date, to_date)
);
CREATE INDEX waitlist_entries_therapist_idx ON waitlist_entries (therapist_id, to_date);
CREATE INDEX waitlist_entries_client_idx ON waitlist_entries (client_id, to_date);

-- Time that may have come free (a booking cancelled, declined or moved, time off removed,
-- weekly hours changed), written in the change's transaction; the mail worker checks it
-- against the waiting entries after the commit and deletes the row.
CREATE TABLE waitlist_checks (
    id INTEGER PRIMARY KEY,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    freed_from TIMESTAMP NOT NULL,
    freed_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (freed_until > freed_from)
);

-- A free slot announced to an entry: once per (entry, slot start), whatever the number of
-- workers.
CREATE TABLE waitlist_announcements (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES waitlist_entries (id) ON DELETE CASCADE,
    slot_start TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (entry_id, slot_start)
);
