use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_tokens, users};
use crate::db::DbConnection;
use crate::models::user::User;

#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl NewApiToken<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(api_tokens::table)
            .values(self)
            .returning(api_tokens::id)
            .get_result(conn)
    }
}

/// The user of a token that is neither expired nor revoked.
pub fn find_live_user(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<User>> {
    // Every API request with a token runs it: on the backend's own connection
    // (`db::on_backend`).
    crate::on_backend!(conn, c => api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::expires_at.gt(now))
        .filter(api_tokens::revoked_at.is_null())
        .select(User::as_select())
        .first(c)
        .optional())
}

pub fn revoke(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::token_hash.eq(token_hash))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Revokes every live token of a user but the one whose hash is `except`.
pub fn revoke_of_user(
    conn: &mut DbConnection,
    user_id: i64,
    except_hash: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let mut q = diesel::update(api_tokens::table)
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .into_boxed();
    if let Some(h) = except_hash {
        q = q.filter(api_tokens::token_hash.ne(h));
    }
    q.set(api_tokens::revoked_at.eq(now)).execute(conn)
}

/// A token as an export shows it: when it was made, ends, was revoked (never the hash).
#[derive(Debug, Clone, Queryable)]
pub struct TokenLine {
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn of_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<TokenLine>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.asc())
        .select((
            api_tokens::created_at,
            api_tokens::expires_at,
            api_tokens::revoked_at,
        ))
        .load(conn)
}

/// Deletes every token of a user (an erased account).
pub fn delete_of_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(user_id))).execute(conn)
}
