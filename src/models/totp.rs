use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{totp_recovery_codes, totp_secrets, users};
use crate::db::DbConnection;

/// An account's TOTP secret (sealed), pending or confirmed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = totp_secrets)]
pub struct TotpSecret {
    pub user_id: i64,
    pub sealed: String,
    pub confirmed_at: Option<NaiveDateTime>,
    pub last_step: Option<i64>,
    pub created_at: NaiveDateTime,
}

impl TotpSecret {
    pub fn find(conn: &mut DbConnection, user_id: i64) -> QueryResult<Option<TotpSecret>> {
        totp_secrets::table
            .find(user_id)
            .select(TotpSecret::as_select())
            .first(conn)
            .optional()
    }

    /// Starts (or starts again) a pending enrolment with a new sealed secret.
    pub fn put_pending(
        conn: &mut DbConnection,
        user_id: i64,
        sealed: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(totp_secrets::table.find(user_id)).execute(conn)?;
        diesel::insert_into(totp_secrets::table)
            .values((
                totp_secrets::user_id.eq(user_id),
                totp_secrets::sealed.eq(sealed),
                totp_secrets::confirmed_at.eq(None::<NaiveDateTime>),
                totp_secrets::last_step.eq(None::<i64>),
                totp_secrets::created_at.eq(at),
            ))
            .execute(conn)
    }

    /// Confirms the pending secret (used `step`) and marks the account enrolled.
    pub fn confirm(
        conn: &mut DbConnection,
        user_id: i64,
        step: i64,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(user_id))
            .set(users::totp_enabled_at.eq(Some(at)))
            .execute(conn)?;
        diesel::update(
            totp_secrets::table
                .find(user_id)
                .filter(totp_secrets::confirmed_at.is_null()),
        )
        .set((
            totp_secrets::confirmed_at.eq(Some(at)),
            totp_secrets::last_step.eq(Some(step)),
        ))
        .execute(conn)
    }

    /// Records `step` as used, only if it is later than the last one (0: it was not, a
    /// concurrent login took it).
    pub fn use_step(conn: &mut DbConnection, user_id: i64, step: i64) -> QueryResult<usize> {
        diesel::update(
            totp_secrets::table.find(user_id).filter(
                totp_secrets::last_step
                    .is_null()
                    .or(totp_secrets::last_step.lt(step)),
            ),
        )
        .set(totp_secrets::last_step.eq(Some(step)))
        .execute(conn)
    }

    /// Removes the second factor: the secret, the recovery codes, the account's mark.
    pub fn remove(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
        diesel::delete(totp_recovery_codes::table.filter(totp_recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
        diesel::update(users::table.find(user_id))
            .set(users::totp_enabled_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        diesel::delete(totp_secrets::table.find(user_id)).execute(conn)
    }
}

/// Recovery codes of an account.
pub struct RecoveryCodes;

impl RecoveryCodes {
    /// Replaces the account's codes by these hashes.
    pub fn replace(conn: &mut DbConnection, user_id: i64, hashes: &[String]) -> QueryResult<()> {
        diesel::delete(totp_recovery_codes::table.filter(totp_recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
        for h in hashes {
            diesel::insert_into(totp_recovery_codes::table)
                .values((
                    totp_recovery_codes::user_id.eq(user_id),
                    totp_recovery_codes::code_hash.eq(h),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Uses the unused code with this hash (1: it was there and is used now, 0: no such code).
    pub fn use_code(
        conn: &mut DbConnection,
        user_id: i64,
        hash: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            totp_recovery_codes::table
                .filter(totp_recovery_codes::user_id.eq(user_id))
                .filter(totp_recovery_codes::code_hash.eq(hash))
                .filter(totp_recovery_codes::used_at.is_null()),
        )
        .set(totp_recovery_codes::used_at.eq(Some(at)))
        .execute(conn)
    }

    /// How many codes the account has left.
    pub fn unused(conn: &mut DbConnection, user_id: i64) -> QueryResult<i64> {
        totp_recovery_codes::table
            .filter(totp_recovery_codes::user_id.eq(user_id))
            .filter(totp_recovery_codes::used_at.is_null())
            .count()
            .get_result(conn)
    }
}
