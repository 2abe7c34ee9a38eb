-- The whole domain schema (users, therapists, credentials, services, schedules, appointments, audit). Instants are UTC "YYYY-MM-DD HH:MM:SS" text,
-- dates "YYYY-MM-DD", booleans 0/1. Weekly times are minutes after local midnight.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('client', 'therapist', 'admin')),
    created_at TIMESTAMP NOT NULL
);
-- Two users with the same email in any letter case can never exist.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

-- Failed logins per account key (the lower-cased email, known or not), shared by every server process.
CREATE TABLE login_attempts (
    account_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

CREATE TABLE techniques (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    not_for TEXT NOT NULL,
    sort_order INTEGER NOT NULL
);

CREATE TABLE therapists (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    bio TEXT NOT NULL DEFAULT '',
    city TEXT,
    region TEXT,
    latitude DOUBLE,
    longitude DOUBLE,
    -- A half-degree grid cell of (latitude, longitude): the index that finds "near" candidates
    -- (domain::gazetteer::geo_cell).
    geo_cell INTEGER,
    timezone TEXT NOT NULL DEFAULT 'America/New_York',
    accepting_new_clients BOOLEAN NOT NULL DEFAULT 1,
    -- ISO 639-1 codes between commas (',en,es,') so that one LIKE finds a language.
    languages TEXT NOT NULL DEFAULT ',en,',
    in_studio BOOLEAN NOT NULL DEFAULT 1,
    mobile BOOLEAN NOT NULL DEFAULT 0,
    suspended_at TIMESTAMP,
    suspended_reason TEXT,
    calendar_token_hash TEXT,
    -- Search summary, kept by services::profile::refresh_summary whenever credentials or
    -- services change: verified training hours, the latest expiry of a verified license
    -- (verified while today <= it: expiry needs no job), the lowest active service price.
    verified_hours INTEGER NOT NULL DEFAULT 0,
    license_verified_until DATE,
    price_from_cents BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX therapists_license_until_idx ON therapists (license_verified_until);
CREATE INDEX therapists_hours_idx ON therapists (verified_hours);
CREATE INDEX therapists_lat_lon_idx ON therapists (latitude, longitude);
-- Covering for the "near" candidates: a search reads a place's therapists from this index alone.
CREATE INDEX therapists_geo_cell_idx ON therapists (geo_cell, latitude, longitude, license_verified_until, suspended_at, verified_hours, price_from_cents);
CREATE INDEX therapists_created_at_idx ON therapists (created_at);

CREATE TABLE therapist_techniques (
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    technique_slug TEXT NOT NULL REFERENCES techniques (slug),
    PRIMARY KEY (therapist_id, technique_slug)
);
CREATE INDEX therapist_techniques_slug_idx ON therapist_techniques (technique_slug, therapist_id);

CREATE TABLE services (
    id INTEGER PRIMARY KEY,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    technique_slug TEXT NOT NULL REFERENCES techniques (slug),
    duration_min INTEGER NOT NULL CHECK (duration_min BETWEEN 15 AND 240),
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    retired_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX services_therapist_id_idx ON services (therapist_id);

CREATE TABLE licenses (
    id INTEGER PRIMARY KEY,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    jurisdiction TEXT NOT NULL,
    number TEXT NOT NULL,
    issuing_body TEXT NOT NULL,
    expires_on DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'verified', 'rejected')),
    submitted_at TIMESTAMP NOT NULL,
    decided_by INTEGER REFERENCES users (id),
    decided_at TIMESTAMP,
    rejection_reason TEXT
);
CREATE INDEX licenses_therapist_id_idx ON licenses (therapist_id);
CREATE INDEX licenses_status_submitted_idx ON licenses (status, submitted_at);
CREATE INDEX licenses_expires_on_idx ON licenses (expires_on);

CREATE TABLE training_records (
    id INTEGER PRIMARY KEY,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    program TEXT NOT NULL,
    hours INTEGER NOT NULL CHECK (hours > 0),
    completed_on DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'verified', 'rejected')),
    submitted_at TIMESTAMP NOT NULL,
    decided_by INTEGER REFERENCES users (id),
    decided_at TIMESTAMP,
    rejection_reason TEXT
);
CREATE INDEX training_records_therapist_id_idx ON training_records (therapist_id);
CREATE INDEX training_records_status_submitted_idx ON training_records (status, submitted_at);

CREATE TABLE weekly_hours (
    id INTEGER PRIMARY KEY,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    weekday SMALLINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_min INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    CHECK (start_min < end_min)
);
CREATE INDEX weekly_hours_therapist_id_idx ON weekly_hours (therapist_id, weekday);

CREATE TABLE time_off (
    id INTEGER PRIMARY KEY,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    CHECK (starts_at < ends_at)
);
CREATE INDEX time_off_therapist_id_idx ON time_off (therapist_id, starts_at);

CREATE TABLE booking_policies (
    therapist_id INTEGER PRIMARY KEY REFERENCES therapists (id) ON DELETE CASCADE,
    min_notice_hours INTEGER NOT NULL DEFAULT 2 CHECK (min_notice_hours BETWEEN 0 AND 720),
    max_advance_days INTEGER NOT NULL DEFAULT 60 CHECK (max_advance_days BETWEEN 1 AND 365),
    buffer_min INTEGER NOT NULL DEFAULT 15 CHECK (buffer_min BETWEEN 0 AND 240),
    cancellation_window_hours INTEGER NOT NULL DEFAULT 24 CHECK (cancellation_window_hours BETWEEN 0 AND 720),
    auto_confirm BOOLEAN NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE appointments (
    id INTEGER PRIMARY KEY,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL REFERENCES services (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- ends_at plus the therapist's buffer at booking time: the range no other booking may touch.
    blocked_until TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'confirmed', 'completed', 'cancelled', 'no_show')),
    screening_version INTEGER NOT NULL,
    screening_answers TEXT NOT NULL,
    screening_outcome TEXT NOT NULL CHECK (screening_outcome IN ('ok', 'caution', 'needs_clearance', 'decline', 'refer')),
    clearance_confirmed BOOLEAN NOT NULL DEFAULT 0,
    flags_acknowledged_at TIMESTAMP,
    cancelled_by INTEGER REFERENCES users (id),
    cancel_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (starts_at < ends_at AND ends_at <= blocked_until)
);
CREATE INDEX appointments_therapist_starts_idx ON appointments (therapist_id, starts_at);
CREATE INDEX appointments_client_starts_idx ON appointments (client_id, starts_at);

-- Two active appointments of one therapist never overlap (buffer included).
CREATE TRIGGER appointments_no_overlap_insert
BEFORE INSERT ON appointments
WHEN NEW.status IN ('requested', 'confirmed')
BEGIN
    SELECT RAISE(ABORT, 'overlap')
    WHERE EXISTS (
        SELECT 1 FROM appointments a
        WHERE a.therapist_id = NEW.therapist_id
          AND a.status IN ('requested', 'confirmed')
          AND a.starts_at < NEW.blocked_until
          AND NEW.starts_at < a.blocked_until
    );
END;

CREATE TRIGGER appointments_no_overlap_update
BEFORE UPDATE OF status, starts_at, ends_at, blocked_until, therapist_id ON appointments
WHEN NEW.status IN ('requested', 'confirmed')
BEGIN
    SELECT RAISE(ABORT, 'overlap')
    WHERE EXISTS (
        SELECT 1 FROM appointments a
        WHERE a.id <> NEW.id
          AND a.therapist_id = NEW.therapist_id
          AND a.status IN ('requested', 'confirmed')
          AND a.starts_at < NEW.blocked_until
          AND NEW.starts_at < a.blocked_until
    );
END;

-- Every read of a booking's screening answers: who, when, through what.
CREATE TABLE screening_access_log (
    id INTEGER PRIMARY KEY,
    appointment_id INTEGER NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    reader_user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    read_at TIMESTAMP NOT NULL
);
CREATE INDEX screening_access_log_appointment_idx ON screening_access_log (appointment_id, read_at);

-- Append-only: every state change, never health answers or passwords.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    actor_user_id INTEGER REFERENCES users (id),
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id BIGINT,
    summary TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, created_at);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id);
CREATE INDEX audit_log_action_idx ON audit_log (action, created_at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
