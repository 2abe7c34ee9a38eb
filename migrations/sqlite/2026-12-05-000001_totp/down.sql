DROP TABLE totp_recovery_codes;
DROP TABLE totp_secrets;
ALTER TABLE users DROP COLUMN totp_enabled_at;
