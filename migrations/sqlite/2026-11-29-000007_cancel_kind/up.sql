-- How a cancelled appointment ended (domain::appointment::CancelKind): `cancelled` (a confirmed
-- booking, by its client or its therapist: see cancelled_by), `withdrawn` (a request its client
-- withdrew), `declined` (a request the therapist declined, cancel_reason holds the reason for the
-- client) or `rescheduled` (moved by its client: a new appointment holds the new time). Null while
-- the appointment is active or finished.
ALTER TABLE appointments ADD COLUMN cancel_kind TEXT
    CHECK (cancel_kind IN ('cancelled', 'withdrawn', 'declined', 'rescheduled'));

-- Before this column a decline was told from a cancel only by its audit row ("declined by the
-- therapist ..."), and a move by cancel_reason 'rescheduled' with no cancel audited on the row.
UPDATE appointments SET cancel_kind = CASE
    WHEN EXISTS (SELECT 1 FROM audit_log a
                 WHERE a.object_type = 'appointment' AND a.object_id = appointments.id
                   AND a.action = 'appointment.cancelled' AND a.summary LIKE 'declined%')
        THEN 'declined'
    WHEN cancel_reason = 'rescheduled'
         AND NOT EXISTS (SELECT 1 FROM audit_log a
                         WHERE a.object_type = 'appointment' AND a.object_id = appointments.id
                           AND a.action = 'appointment.cancelled')
        THEN 'rescheduled'
    ELSE 'cancelled'
END
WHERE status = 'cancelled';
