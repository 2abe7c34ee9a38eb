use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{sessions, users};
use crate::db::DbConnection;
use crate::models::user::User;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i64,
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl NewSession<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(sessions::table)
            .values(self)
            .returning(sessions::id)
            .get_result(conn)
    }
}

impl Session {
    /// A session that has neither reached its absolute expiry nor been idle since `idle_cutoff`.
    pub fn find_live(
        conn: &mut DbConnection,
        token_hash: &str,
        now: NaiveDateTime,
        idle_cutoff: NaiveDateTime,
    ) -> QueryResult<Option<(Session, User)>> {
        // Every page request runs it: on the backend's own connection (`db::on_backend`).
        crate::on_backend!(conn, c => sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::expires_at.gt(now))
            .filter(sessions::last_seen_at.gt(idle_cutoff))
            .select((Session::as_select(), User::as_select()))
            .first(c)
            .optional())
    }

    pub fn touch(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(sessions::table.find(id))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)
    }

    pub fn delete_by_hash(conn: &mut DbConnection, token_hash: &str) -> QueryResult<usize> {
        diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash))).execute(conn)
    }

    /// Ends every session of a user but `except` (the one the person is using, if any).
    pub fn delete_of_user(
        conn: &mut DbConnection,
        user_id: i64,
        except: Option<i64>,
    ) -> QueryResult<usize> {
        let mut q = diesel::delete(sessions::table)
            .filter(sessions::user_id.eq(user_id))
            .into_boxed();
        if let Some(id) = except {
            q = q.filter(sessions::id.ne(id));
        }
        q.execute(conn)
    }

    /// The sessions of a user (an export: when each began, was last used, ends).
    pub fn of_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<Session>> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .order(sessions::id.asc())
            .select(Session::as_select())
            .load(conn)
    }

    pub fn delete_expired(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        idle_cutoff: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(
            sessions::table.filter(
                sessions::expires_at
                    .le(now)
                    .or(sessions::last_seen_at.le(idle_cutoff)),
            ),
        )
        .execute(conn)
    }
}
