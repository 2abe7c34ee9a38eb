DELETE FROM account_tokens WHERE purpose = 'screening';
ALTER TABLE account_tokens DROP COLUMN appointment_id;
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'password_reset', 'admin_invite'));
ALTER TABLE screening_access_log DROP COLUMN subject;
DROP TABLE session_notes;
DROP FUNCTION session_notes_append_only();
ALTER TABLE appointments DROP COLUMN entry_note;
ALTER TABLE appointments DROP COLUMN entered_by;
ALTER TABLE appointments DROP COLUMN screening_pending;
ALTER TABLE appointments DROP COLUMN client_address;
ALTER TABLE appointments DROP COLUMN visit;
ALTER TABLE therapists DROP COLUMN mobile_radius_km;
ALTER TABLE therapists DROP COLUMN phone;
ALTER TABLE therapists DROP COLUMN address;
