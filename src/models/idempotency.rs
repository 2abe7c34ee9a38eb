//! `idempotency_keys`: one row per (user, key) of a booking or course sent with a key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::idempotency_keys;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub id: i64,
    pub user_id: i64,
    pub key_hash: String,
    pub request_hash: String,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct NewIdempotencyRow<'a> {
    pub user_id: i64,
    pub key_hash: &'a str,
    pub request_hash: &'a str,
    pub created_at: NaiveDateTime,
}

impl IdempotencyRow {
    /// The row of this user's key created after `since` (older ones count as gone).
    pub fn find(
        conn: &mut DbConnection,
        user_id: i64,
        key_hash: &str,
        since: NaiveDateTime,
    ) -> QueryResult<Option<IdempotencyRow>> {
        idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(user_id))
            .filter(idempotency_keys::key_hash.eq(key_hash))
            .filter(idempotency_keys::created_at.gt(since))
            .select(IdempotencyRow::as_select())
            .first(conn)
            .optional()
    }

    /// Deletes this user's key when it was created at or before `until` (expired).
    pub fn delete_expired(
        conn: &mut DbConnection,
        user_id: i64,
        key_hash: &str,
        until: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::user_id.eq(user_id))
                .filter(idempotency_keys::key_hash.eq(key_hash))
                .filter(idempotency_keys::created_at.le(until)),
        )
        .execute(conn)
    }

    pub fn insert(conn: &mut DbConnection, row: &NewIdempotencyRow) -> QueryResult<usize> {
        diesel::insert_into(idempotency_keys::table)
            .values(row)
            .execute(conn)
    }

    /// Stores the answer of a reserved key.
    pub fn answer(
        conn: &mut DbConnection,
        user_id: i64,
        key_hash: &str,
        status: i32,
        body: &str,
    ) -> QueryResult<usize> {
        diesel::update(
            idempotency_keys::table
                .filter(idempotency_keys::user_id.eq(user_id))
                .filter(idempotency_keys::key_hash.eq(key_hash)),
        )
        .set((
            idempotency_keys::response_status.eq(Some(status)),
            idempotency_keys::response_body.eq(Some(body)),
        ))
        .execute(conn)
    }

    /// Deletes every key created at or before `until`.
    pub fn purge(conn: &mut DbConnection, until: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.le(until)))
            .execute(conn)
    }

    /// Deletes every key of a user (a client's erasure: the answers may hold health data).
    pub fn delete_of_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::user_id.eq(user_id)))
            .execute(conn)
    }
}
