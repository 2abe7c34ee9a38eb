DROP TABLE course_sessions;
DROP FUNCTION course_sessions_fit();
DROP TABLE courses;
