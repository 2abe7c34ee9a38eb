DROP TRIGGER therapists_stamp_insert;
DROP TRIGGER therapists_stamp_update;
DROP TRIGGER users_name_stamp;
DROP TRIGGER therapists_stamp_delete;
DROP INDEX therapists_directory_stamp_idx;
ALTER TABLE therapists DROP COLUMN directory_stamp;
DROP TABLE directory_removed;
DROP TABLE directory_state;
