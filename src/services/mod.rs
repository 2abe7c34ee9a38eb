//! The use cases: transactions, authorization and audit. Pages and API both call these.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod availability;
pub mod booking;
pub mod calendar;
pub mod crypto;
pub mod directory;
pub mod directory_index;
pub mod password;
pub mod profile;
pub mod rate_limit;
pub mod schedule;
pub mod therapists;
pub mod tokens;

use crate::db::{DbConnection, Pool};
use crate::error::AppError;

/// Runs blocking database work (and anything else blocking, such as argon2) on the
/// blocking thread pool, with a pooled connection.
pub async fn with_conn<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

/// Like [`with_conn`], for work that is short by construction (indexed reads and answers kept in
/// memory, such as a cached availability answer, or a search with no free time to decide, whose
/// page's next free times are at worst loaded for 20 therapists; never a 31-day computation or
/// free time for thousands of candidates): on SQLite, whose
/// queries are function calls taking microseconds, it runs right on the request's thread when a
/// connection is idle, which saves the two thread switches of the blocking pool (most of such a
/// request's cost). On PostgreSQL (`sqlite` false), or when every connection is busy, it is
/// [`with_conn`].
pub async fn with_conn_quick<T, F>(pool: &Pool, sqlite: bool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    if sqlite {
        if let Some(mut conn) = pool.try_get() {
            return f(&mut conn);
        }
    }
    with_conn(pool, f).await
}
