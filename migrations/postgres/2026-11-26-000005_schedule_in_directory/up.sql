-- The directory index (services::directory_index) also keeps every therapist's schedule_version,
-- what free-time answers are cached by, so that a search or an availability answer reads no row
-- per therapist. Stamping every booking through directory_state would queue all bookings behind
-- that one lock; instead a change of the version records the id of the writing transaction, and a
-- reader asks for the rows written by any transaction it could not see last time:
-- schedule_xid >= the xmin of its previous snapshot (a transaction that commits after a snapshot
-- was taken has an id at or above that snapshot's xmin).
-- The index on schedule_xid makes every bump an update with index changes (no longer heap-only, as
-- migration 000003's fillfactor intended): each booking writes one more index entry per index of
-- therapists. Measured: booking throughput unchanged within noise (README).
ALTER TABLE therapists ADD COLUMN schedule_xid xid8 NOT NULL DEFAULT '0';
CREATE INDEX therapists_schedule_xid_idx ON therapists (schedule_xid);
CREATE FUNCTION note_schedule_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.schedule_version IS DISTINCT FROM OLD.schedule_version THEN
        NEW.schedule_xid := pg_current_xact_id();
    END IF;
    RETURN NEW;
END $$;
-- BEFORE triggers fire in name order: this one after therapists_zone_version, which may bump
-- the version itself.
CREATE TRIGGER therapists_zz_schedule_xid BEFORE UPDATE ON therapists
    FOR EACH ROW EXECUTE FUNCTION note_schedule_xid();
