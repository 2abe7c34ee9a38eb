-- schedule_version: bumped (by the triggers below, in the writing transaction) whenever
-- anything the availability engine reads about a therapist changes: appointments, time off,
-- weekly hours, booking policy, services, the time zone. A reader that sees version v of a
-- therapist may reuse what it computed from version v (services::availability::ScheduleCache):
-- never stale, because the version is read in the request.
-- technique_mask: bit `techniques.sort_order` set for each technique offered (triggers on
-- therapist_techniques), so that "offers technique X" is a bit test.
ALTER TABLE therapists ADD COLUMN schedule_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE therapists ADD COLUMN technique_mask BIGINT NOT NULL DEFAULT 0;
-- A search reads the versions of its candidates from this narrow index, not from the wide rows.
CREATE INDEX therapists_schedule_version_idx ON therapists (id, schedule_version);
UPDATE therapists SET technique_mask = COALESCE((
    SELECT SUM(1 << t.sort_order) FROM therapist_techniques tt
    JOIN techniques t ON t.slug = tt.technique_slug WHERE tt.therapist_id = therapists.id), 0);

CREATE TRIGGER therapist_techniques_mask_insert AFTER INSERT ON therapist_techniques BEGIN
    UPDATE therapists SET technique_mask = technique_mask | (SELECT 1 << sort_order FROM techniques WHERE slug = NEW.technique_slug) WHERE id = NEW.therapist_id;
END;
CREATE TRIGGER therapist_techniques_mask_delete AFTER DELETE ON therapist_techniques BEGIN
    UPDATE therapists SET technique_mask = technique_mask & ~(SELECT 1 << sort_order FROM techniques WHERE slug = OLD.technique_slug) WHERE id = OLD.therapist_id;
END;
CREATE TRIGGER therapist_techniques_mask_update AFTER UPDATE ON therapist_techniques BEGIN
    UPDATE therapists SET technique_mask = COALESCE((
        SELECT SUM(1 << t.sort_order) FROM therapist_techniques tt
        JOIN techniques t ON t.slug = tt.technique_slug WHERE tt.therapist_id = therapists.id), 0)
    WHERE id IN (OLD.therapist_id, NEW.therapist_id);
END;

CREATE TRIGGER therapists_zone_version AFTER UPDATE OF timezone ON therapists
WHEN OLD.timezone IS NOT NEW.timezone BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = NEW.id;
END;
CREATE TRIGGER appointments_version_insert AFTER INSERT ON appointments BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = NEW.therapist_id;
END;
CREATE TRIGGER appointments_version_update AFTER UPDATE ON appointments BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id IN (OLD.therapist_id, NEW.therapist_id);
END;
CREATE TRIGGER appointments_version_delete AFTER DELETE ON appointments BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = OLD.therapist_id;
END;
CREATE TRIGGER time_off_version_insert AFTER INSERT ON time_off BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = NEW.therapist_id;
END;
CREATE TRIGGER time_off_version_update AFTER UPDATE ON time_off BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id IN (OLD.therapist_id, NEW.therapist_id);
END;
CREATE TRIGGER time_off_version_delete AFTER DELETE ON time_off BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = OLD.therapist_id;
END;
CREATE TRIGGER weekly_hours_version_insert AFTER INSERT ON weekly_hours BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = NEW.therapist_id;
END;
CREATE TRIGGER weekly_hours_version_update AFTER UPDATE ON weekly_hours BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id IN (OLD.therapist_id, NEW.therapist_id);
END;
CREATE TRIGGER weekly_hours_version_delete AFTER DELETE ON weekly_hours BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = OLD.therapist_id;
END;
CREATE TRIGGER booking_policies_version_insert AFTER INSERT ON booking_policies BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = NEW.therapist_id;
END;
CREATE TRIGGER booking_policies_version_update AFTER UPDATE ON booking_policies BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id IN (OLD.therapist_id, NEW.therapist_id);
END;
CREATE TRIGGER booking_policies_version_delete AFTER DELETE ON booking_policies BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = OLD.therapist_id;
END;
CREATE TRIGGER services_version_insert AFTER INSERT ON services BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = NEW.therapist_id;
END;
CREATE TRIGGER services_version_update AFTER UPDATE ON services BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id IN (OLD.therapist_id, NEW.therapist_id);
END;
CREATE TRIGGER services_version_delete AFTER DELETE ON services BEGIN
    UPDATE therapists SET schedule_version = schedule_version + 1 WHERE id = OLD.therapist_id;
END;
