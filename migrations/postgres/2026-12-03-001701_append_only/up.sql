-- The audit log and the log of reads of private data are evidence: nothing rewrites or removes
-- them. The audit log already refuses UPDATE and DELETE row by row; TRUNCATE skips row triggers,
-- so a statement trigger refuses it too, and the access log gets the same three refusals.
-- A deployment should also run the server as a role that does not own these tables (README,
-- "Security"): an owner can drop a trigger, a role with only INSERT and SELECT cannot.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE FUNCTION screening_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'screening_access_log is append-only';
END;
$$;
CREATE TRIGGER screening_access_log_no_change BEFORE UPDATE OR DELETE ON screening_access_log
    FOR EACH ROW EXECUTE FUNCTION screening_access_log_append_only();
CREATE TRIGGER screening_access_log_no_truncate BEFORE TRUNCATE ON screening_access_log
    FOR EACH STATEMENT EXECUTE FUNCTION screening_access_log_append_only();
