DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['time_off', 'weekly_hours', 'booking_policies', 'services'] LOOP
        EXECUTE format('DROP TRIGGER %1$s_version_insert ON %1$s', t);
        EXECUTE format('DROP TRIGGER %1$s_version_update ON %1$s', t);
        EXECUTE format('DROP TRIGGER %1$s_version_delete ON %1$s', t);
    END LOOP;
END $$;
DROP TRIGGER appointments_version ON appointments;
DROP FUNCTION bump_schedule_version_row();
DROP TRIGGER therapists_zone_version ON therapists;
DROP TRIGGER therapist_techniques_mask_insert ON therapist_techniques;
DROP TRIGGER therapist_techniques_mask_update ON therapist_techniques;
DROP TRIGGER therapist_techniques_mask_delete ON therapist_techniques;
DROP FUNCTION bump_schedule_version();
DROP FUNCTION refresh_technique_mask();
DROP FUNCTION bump_schedule_version_on_zone();
ALTER TABLE therapists DROP COLUMN technique_mask;
ALTER TABLE therapists DROP COLUMN schedule_version;
ALTER TABLE therapists RESET (fillfactor);
