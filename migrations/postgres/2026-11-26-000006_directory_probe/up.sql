-- The directory's probe (services::directory_index), run before requests: the last stamp taken
-- (0 when none, as id -2), the xmin of the snapshot (as id -1), and, when asked, the schedule
-- versions written by transactions at or above the horizon. As a PL/pgSQL function its plans are
-- kept for the session: planned anew on every call, the statement cost ten times its execution.
-- STABLE, so every statement in it reads the calling query's snapshot, as one statement did.
CREATE FUNCTION directory_probe(horizon xid8, with_versions boolean)
RETURNS TABLE (id bigint, version bigint) LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT -2::bigint, (SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END
                                     FROM directory_stamp_seq s);
    RETURN QUERY SELECT -1::bigint, pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
    IF with_versions THEN
        RETURN QUERY SELECT t.id, t.schedule_version FROM therapists t
                     WHERE t.schedule_xid >= horizon;
    END IF;
END $$;
