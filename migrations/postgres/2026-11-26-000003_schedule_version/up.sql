-- See the SQLite migration of the same name for what these columns mean. Here the triggers are
-- per statement with transition tables, so that a bulk insert (the seed) bumps each therapist once.
-- Room on each page for the version bumps to stay heap-only (no index changes).
ALTER TABLE therapists SET (fillfactor = 85);
ALTER TABLE therapists ADD COLUMN schedule_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE therapists ADD COLUMN technique_mask BIGINT NOT NULL DEFAULT 0;
UPDATE therapists SET technique_mask = COALESCE((
    SELECT bit_or(CAST(1 AS BIGINT) << t.sort_order) FROM therapist_techniques tt
    JOIN techniques t ON t.slug = tt.technique_slug WHERE tt.therapist_id = therapists.id), 0);

CREATE FUNCTION bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE therapists SET schedule_version = schedule_version + 1
        WHERE id IN (SELECT therapist_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE therapists SET schedule_version = schedule_version + 1
        WHERE id IN (SELECT therapist_id FROM old_rows);
    ELSE
        UPDATE therapists SET schedule_version = schedule_version + 1
        WHERE id IN (SELECT therapist_id FROM old_rows UNION SELECT therapist_id FROM new_rows);
    END IF;
    RETURN NULL;
END $$;

-- Appointments, the busiest table, bump per row (a cached plan per row is cheaper than the
-- transition table of a statement trigger when a booking inserts one row), and BEFORE the row is
-- written: the therapist's row is locked before the exclusion constraint looks for overlaps, so
-- two bookings of one therapist queue on that lock instead of waiting on each other's
-- uncommitted rows (which can deadlock).
CREATE FUNCTION bump_schedule_version_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = NEW.therapist_id;
        RETURN NEW;
    END IF;
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = OLD.therapist_id;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.therapist_id <> OLD.therapist_id THEN
        UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = NEW.therapist_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER appointments_version BEFORE INSERT OR UPDATE OR DELETE ON appointments
    FOR EACH ROW EXECUTE FUNCTION bump_schedule_version_row();

CREATE FUNCTION refresh_technique_mask() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE therapists th SET technique_mask = COALESCE((
            SELECT bit_or(CAST(1 AS BIGINT) << t.sort_order) FROM therapist_techniques tt
            JOIN techniques t ON t.slug = tt.technique_slug WHERE tt.therapist_id = th.id), 0)
        WHERE th.id IN (SELECT therapist_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE therapists th SET technique_mask = COALESCE((
            SELECT bit_or(CAST(1 AS BIGINT) << t.sort_order) FROM therapist_techniques tt
            JOIN techniques t ON t.slug = tt.technique_slug WHERE tt.therapist_id = th.id), 0)
        WHERE th.id IN (SELECT therapist_id FROM old_rows);
    ELSE
        UPDATE therapists th SET technique_mask = COALESCE((
            SELECT bit_or(CAST(1 AS BIGINT) << t.sort_order) FROM therapist_techniques tt
            JOIN techniques t ON t.slug = tt.technique_slug WHERE tt.therapist_id = th.id), 0)
        WHERE th.id IN (SELECT therapist_id FROM old_rows UNION SELECT therapist_id FROM new_rows);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION bump_schedule_version_on_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.timezone IS DISTINCT FROM OLD.timezone THEN
        NEW.schedule_version := OLD.schedule_version + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER therapists_zone_version BEFORE UPDATE OF timezone ON therapists
    FOR EACH ROW EXECUTE FUNCTION bump_schedule_version_on_zone();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['time_off', 'weekly_hours', 'booking_policies', 'services'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_version_insert AFTER INSERT ON %1$s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version()', t);
        EXECUTE format('CREATE TRIGGER %1$s_version_update AFTER UPDATE ON %1$s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version()', t);
        EXECUTE format('CREATE TRIGGER %1$s_version_delete AFTER DELETE ON %1$s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version()', t);
    END LOOP;
END $$;
CREATE TRIGGER therapist_techniques_mask_insert AFTER INSERT ON therapist_techniques REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION refresh_technique_mask();
CREATE TRIGGER therapist_techniques_mask_update AFTER UPDATE ON therapist_techniques REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION refresh_technique_mask();
CREATE TRIGGER therapist_techniques_mask_delete AFTER DELETE ON therapist_techniques REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION refresh_technique_mask();
