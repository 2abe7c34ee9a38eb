-- Courses of therapy: one booking of 2 to 12 sessions, weekly or every two weeks, each at the
-- same local wall-clock time on the therapist's clock (services::course). Each session is an
-- ordinary appointment; `course_sessions` links it to its course and says which session it is.
CREATE TABLE courses (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    therapist_id INTEGER NOT NULL REFERENCES therapists (id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL REFERENCES services (id),
    sessions INTEGER NOT NULL CHECK (sessions BETWEEN 2 AND 12),
    every_weeks INTEGER NOT NULL CHECK (every_weeks IN (1, 2)),
    first_starts_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP
);
CREATE INDEX courses_client_idx ON courses (client_id);

-- One row per booked session: an appointment belongs to at most one course, a course has at
-- most one appointment per session number.
CREATE TABLE course_sessions (
    course_id INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    session INTEGER NOT NULL CHECK (session BETWEEN 1 AND 12),
    appointment_id INTEGER NOT NULL UNIQUE REFERENCES appointments (id) ON DELETE CASCADE,
    PRIMARY KEY (course_id, session)
);

-- A session's number lies within its course, and its appointment is the course's client's,
-- with the course's therapist and service.
CREATE TRIGGER course_sessions_fit
BEFORE INSERT ON course_sessions
WHEN NOT EXISTS (
    SELECT 1 FROM courses c JOIN appointments a ON a.id = NEW.appointment_id
    WHERE c.id = NEW.course_id AND NEW.session <= c.sessions
      AND a.client_id = c.client_id AND a.therapist_id = c.therapist_id
      AND a.service_id = c.service_id
)
BEGIN
    SELECT RAISE(ABORT, 'course_session_mismatch');
END;
CREATE TRIGGER course_sessions_no_update
BEFORE UPDATE ON course_sessions
BEGIN
    SELECT RAISE(ABORT, 'course_sessions are not changed');
END;
