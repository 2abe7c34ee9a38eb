//! `courses` and `course_sessions`: a course of therapy and its booked sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{appointments, course_sessions, courses};
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = courses)]
pub struct Course {
    pub id: i64,
    pub client_id: i64,
    pub therapist_id: i64,
    pub service_id: i64,
    pub sessions: i32,
    pub every_weeks: i32,
    pub first_starts_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = courses)]
pub struct NewCourse {
    pub client_id: i64,
    pub therapist_id: i64,
    pub service_id: i64,
    pub sessions: i32,
    pub every_weeks: i32,
    pub first_starts_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Where an appointment sits in its course: session `session` of `of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoursePlace {
    pub course_id: i64,
    pub session: i32,
    pub of: i32,
}

impl NewCourse {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(courses::table)
            .values(self.clone())
            .returning(courses::id)
            .get_result(conn)
    }
}

impl Course {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Course> {
        courses::table
            .find(id)
            .select(Course::as_select())
            .first(conn)
    }

    /// A client's courses, newest first.
    pub fn of_client(conn: &mut DbConnection, client_id: i64) -> QueryResult<Vec<Course>> {
        courses::table
            .filter(courses::client_id.eq(client_id))
            .order(courses::id.desc())
            .select(Course::as_select())
            .load(conn)
    }

    /// Links a booked appointment to its course as session `session`.
    pub fn link(
        conn: &mut DbConnection,
        course_id: i64,
        session: i32,
        appointment_id: i64,
    ) -> QueryResult<usize> {
        diesel::insert_into(course_sessions::table)
            .values((
                course_sessions::course_id.eq(course_id),
                course_sessions::session.eq(session),
                course_sessions::appointment_id.eq(appointment_id),
            ))
            .execute(conn)
    }

    /// The course's booked sessions: (session number, appointment id), in order.
    pub fn session_ids(conn: &mut DbConnection, course_id: i64) -> QueryResult<Vec<(i32, i64)>> {
        course_sessions::table
            .filter(course_sessions::course_id.eq(course_id))
            .order(course_sessions::session.asc())
            .select((course_sessions::session, course_sessions::appointment_id))
            .load(conn)
    }

    pub fn mark_cancelled(
        conn: &mut DbConnection,
        id: i64,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            courses::table
                .find(id)
                .filter(courses::cancelled_at.is_null()),
        )
        .set(courses::cancelled_at.eq(at))
        .execute(conn)
    }
}

/// The course an appointment belongs to, if any.
pub fn place_of(conn: &mut DbConnection, appointment_id: i64) -> QueryResult<Option<CoursePlace>> {
    course_sessions::table
        .inner_join(courses::table)
        .filter(course_sessions::appointment_id.eq(appointment_id))
        .select((
            course_sessions::course_id,
            course_sessions::session,
            courses::sessions,
        ))
        .first::<(i64, i32, i32)>(conn)
        .optional()
        .map(|r| {
            r.map(|(course_id, session, of)| CoursePlace {
                course_id,
                session,
                of,
            })
        })
}

/// The course of each of these appointments (by appointment id), for lists.
pub fn places_of(
    conn: &mut DbConnection,
    appointment_ids: &[i64],
) -> QueryResult<std::collections::BTreeMap<i64, CoursePlace>> {
    let rows: Vec<(i64, i64, i32, i32)> = course_sessions::table
        .inner_join(courses::table)
        .inner_join(appointments::table)
        .filter(course_sessions::appointment_id.eq_any(appointment_ids))
        .select((
            appointments::id,
            course_sessions::course_id,
            course_sessions::session,
            courses::sessions,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(a, course_id, session, of)| {
            (
                a,
                CoursePlace {
                    course_id,
                    session,
                    of,
                },
            )
        })
        .collect())
}
