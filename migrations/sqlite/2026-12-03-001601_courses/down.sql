DROP TABLE course_sessions;
DROP TABLE courses;
