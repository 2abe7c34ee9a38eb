DROP TRIGGER therapists_zz_schedule_xid ON therapists;
DROP FUNCTION note_schedule_xid();
DROP INDEX therapists_schedule_xid_idx;
ALTER TABLE therapists DROP COLUMN schedule_xid;
