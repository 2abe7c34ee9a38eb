//! `account_tokens`: single-use tokens sent by mail, stored as SHA-256 (see `services::tokens`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::account_tokens;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_tokens)]
pub struct AccountToken {
    pub id: i64,
    pub user_id: i64,
    /// Stored text of `domain::account::TokenPurpose`.
    pub purpose: String,
    pub token_hash: String,
    /// An email change: the address that takes effect when the token is used.
    pub new_email: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    /// A `screening` token: the appointment it answers for.
    pub appointment_id: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = account_tokens)]
pub struct NewAccountToken<'a> {
    pub user_id: i64,
    pub purpose: &'a str,
    pub token_hash: &'a str,
    pub new_email: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub appointment_id: Option<i64>,
}

impl NewAccountToken<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(account_tokens::table)
            .values(self)
            .returning(account_tokens::id)
            .get_result(conn)
    }
}

impl AccountToken {
    /// The token with this hash and purpose, used or not, expired or not.
    pub fn find(
        conn: &mut DbConnection,
        token_hash: &str,
        purpose: &str,
    ) -> QueryResult<Option<AccountToken>> {
        account_tokens::table
            .filter(account_tokens::token_hash.eq(token_hash))
            .filter(account_tokens::purpose.eq(purpose))
            .select(AccountToken::as_select())
            .first(conn)
            .optional()
    }

    /// Marks the token used if it still is unused and unexpired; false when another request
    /// used it first (or it expired meanwhile).
    pub fn use_once(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
        diesel::update(
            account_tokens::table
                .find(id)
                .filter(account_tokens::used_at.is_null())
                .filter(account_tokens::expires_at.gt(now)),
        )
        .set(account_tokens::used_at.eq(Some(now)))
        .execute(conn)
        .map(|n| n == 1)
    }

    /// Ends the unused tokens of a user for a purpose (`pending_email_change`: only those that
    /// change the address, or only those that do not), so an older link stops working.
    pub fn end_unused(
        conn: &mut DbConnection,
        user_id: i64,
        purpose: &str,
        email_change: Option<bool>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let mut q = diesel::update(account_tokens::table)
            .filter(account_tokens::user_id.eq(user_id))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null())
            .into_boxed();
        match email_change {
            Some(true) => q = q.filter(account_tokens::new_email.is_not_null()),
            Some(false) => q = q.filter(account_tokens::new_email.is_null()),
            None => {}
        }
        q.set(account_tokens::used_at.eq(Some(now))).execute(conn)
    }

    /// The user's unused, unexpired tokens of a purpose, newest first.
    pub fn pending(
        conn: &mut DbConnection,
        user_id: i64,
        purpose: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<AccountToken>> {
        account_tokens::table
            .filter(account_tokens::user_id.eq(user_id))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(now))
            .order(account_tokens::id.desc())
            .select(AccountToken::as_select())
            .load(conn)
    }

    /// Deletes every token of a user (an erased account).
    pub fn delete_of_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
        diesel::delete(account_tokens::table.filter(account_tokens::user_id.eq(user_id)))
            .execute(conn)
    }

    /// Deletes the tokens used before `before` or expired before it.
    pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(
            account_tokens::table.filter(
                account_tokens::expires_at
                    .lt(before)
                    .or(account_tokens::used_at.lt(before)),
            ),
        )
        .execute(conn)
    }
}
