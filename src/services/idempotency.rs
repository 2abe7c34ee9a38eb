//! Safe retries: a booking or a course sent with an `Idempotency-Key` (the API's header, the
//! booking pages' hidden field) is made at most once per caller and key within
//! [`KEEP_HOURS`](crate::domain::idempotency::KEEP_HOURS).
//!
//! **The seam.** [`run`] reserves the key (a row of `idempotency_keys`, unique per user and
//! key) as the first statement of one write transaction and runs the booking inside it (the
//! booking's own `write_transaction` is then a savepoint), so the unique constraint decides
//! between two identical requests at once: on PostgreSQL the second insert waits for the first
//! transaction and is refused when it commits; on SQLite `BEGIN IMMEDIATE` puts the second
//! after the first. The answer (what the caller is told: the API's JSON, a page's redirect) is
//! rendered from the booking and stored in the same transaction, so a booking never commits
//! without its answer: a retry after the server died at any point gets either nothing booked
//! (it runs) or the first answer again. The loser rolls back (nothing booked twice) and reads
//! the winner's answer; a row without one (written before answers were stored with their
//! booking) is waited for up to [`WAIT_MAX_MS`](crate::domain::idempotency::WAIT_MAX_MS),
//! else 409 `idempotency_key_in_progress`. A booking refused (a conflict, a screening refusal,
//! ...) rolls its reservation back with it, so only answers that booked something are kept: a
//! retry of a refused request runs again.
//!
//! The fingerprint (the route and the body) and the answer may carry health answers or an
//! address, so both are sealed with the answers' cipher, bound to the user and the key. A
//! client's erasure deletes their keys; the mail worker's housekeeping deletes keys older
//! than 24 hours ([`purge`]).

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::{write_transaction, DbConnection, Pool};
use crate::domain::idempotency::{self as rules, IdempotencyKey};
use crate::error::AppError;
use crate::models::idempotency::{IdempotencyRow, NewIdempotencyRow};
use crate::services::crypto::AnswerCipher;
use crate::services::with_conn;

pub const INVALID: &str = "invalid_idempotency_key";
pub const REUSED: &str = "idempotency_key_reused";
pub const IN_PROGRESS: &str = "idempotency_key_in_progress";

/// One request's claim on a key: who, which key, and the fingerprint of what it asks.
#[derive(Debug, Clone)]
pub struct Claim {
    user_id: i64,
    key_hash: String,
    fingerprint: String,
}

impl Claim {
    /// `route` names the route ("POST /api/v1/appointments"), `canonical_body` is the parsed
    /// request serialized again (see `domain::idempotency::fingerprint`).
    pub fn new(user_id: i64, key: &IdempotencyKey, route: &str, canonical_body: &[u8]) -> Claim {
        Claim {
            user_id,
            key_hash: key.stored_hash(),
            fingerprint: rules::fingerprint(route, canonical_body),
        }
    }

    fn aad(&self, part: &str) -> Vec<u8> {
        format!(
            "bodywork-idempotency:{}:{}:{part}",
            self.user_id, self.key_hash
        )
        .into_bytes()
    }
}

/// A key refused by `domain::idempotency::IdempotencyKey::parse` (422).
pub fn invalid_key(message: &str) -> AppError {
    AppError::Rule {
        code: INVALID,
        message: message.to_string(),
    }
}

fn reused() -> AppError {
    AppError::Rule {
        code: REUSED,
        message: "This Idempotency-Key was already used with another request: send a new key for a new request.".into(),
    }
}

fn in_progress() -> AppError {
    AppError::Conflict {
        code: IN_PROGRESS,
        message:
            "A request with this Idempotency-Key is still being answered: try again in a moment."
                .into(),
    }
}

/// The answer stored for a key: what the first request answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    /// The body (JSON for the API, the redirect's path for a page).
    pub body: String,
}

/// What is known of a key before (or instead of) running the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// Not used within 24 hours.
    Unused,
    /// Reserved by a request still running.
    Running { same_request: bool },
    /// Answered.
    Answered { same_request: bool, stored: Stored },
}

/// What [`run`] gives back.
#[derive(Debug)]
pub enum Once<T> {
    /// This request ran (with a key, its answer is stored with what it booked).
    Ran(T),
    /// The key was already answered for this request: answer this again.
    Replay(Stored),
    /// The key was already answered for another request (a page, which redirects to what the
    /// first one made, takes this; the API answers 422 `idempotency_key_reused`).
    OtherRequest(Stored),
}

fn since(now: chrono::DateTime<Utc>) -> NaiveDateTime {
    (now - chrono::Duration::hours(rules::KEEP_HOURS)).naive_utc()
}

/// What is known of the claim's key now.
pub fn prior(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    claim: &Claim,
    now: chrono::DateTime<Utc>,
) -> Result<Prior, AppError> {
    let Some(row) = IdempotencyRow::find(conn, claim.user_id, &claim.key_hash, since(now))? else {
        return Ok(Prior::Unused);
    };
    let fingerprint = open(cipher, &row.request_hash, &claim.aad("request"))?;
    let same_request = fingerprint == claim.fingerprint;
    match (row.response_status, row.response_body) {
        (Some(status), Some(body)) => Ok(Prior::Answered {
            same_request,
            stored: Stored {
                status: u16::try_from(status).unwrap_or(500),
                body: open(cipher, &body, &claim.aad("response"))?,
            },
        }),
        _ => Ok(Prior::Running { same_request }),
    }
}

fn open(cipher: &AnswerCipher, sealed: &str, aad: &[u8]) -> Result<String, AppError> {
    let plain = cipher.decrypt(sealed, aad).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "an idempotency key's stored request or answer does not open ({e}): was the answers key rotated less than 24 hours ago without BODYWORK_ANSWERS_OLD_KEYS?"
        ))
    })?;
    String::from_utf8(plain).map_err(|e| AppError::Internal(e.into()))
}

/// How a reserved run ended inside its transaction.
enum Reserved<T, E> {
    Done(T),
    Refused(E),
    Taken,
}

/// The transaction's own error: the work's refusal (rolled back with the reservation), the key
/// already reserved, an answer that could not be rendered (the booking rolls back with it), or
/// the database's.
enum Abort<E> {
    Work(E),
    Taken,
    Answer(AppError),
    Db(DieselError),
}

impl<E> From<DieselError> for Abort<E> {
    fn from(e: DieselError) -> Self {
        Abort::Db(e)
    }
}

/// Reserves the key, runs `work` and stores its answer, in one write transaction (see the
/// module doc).
fn run_reserved<T, E>(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    claim: &Claim,
    now: chrono::DateTime<Utc>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    answer: impl FnOnce(&T) -> Result<Stored, AppError>,
) -> Result<Reserved<T, E>, AppError> {
    let sealed = cipher.encrypt(claim.fingerprint.as_bytes(), &claim.aad("request"));
    let result = write_transaction(conn, |conn| {
        // A key older than 24 hours is new again.
        IdempotencyRow::delete_expired(conn, claim.user_id, &claim.key_hash, since(now))?;
        let inserted = IdempotencyRow::insert(
            conn,
            &NewIdempotencyRow {
                user_id: claim.user_id,
                key_hash: &claim.key_hash,
                request_hash: &sealed,
                created_at: now.naive_utc(),
            },
        );
        match inserted {
            Ok(_) => {}
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(Abort::Taken)
            }
            Err(e) => return Err(Abort::Db(e)),
        }
        let done = work(conn).map_err(Abort::Work)?;
        let stored = answer(&done).map_err(Abort::Answer)?;
        let sealed_answer = cipher.encrypt(stored.body.as_bytes(), &claim.aad("response"));
        IdempotencyRow::answer(
            conn,
            claim.user_id,
            &claim.key_hash,
            i32::from(stored.status),
            &sealed_answer,
        )?;
        Ok(done)
    });
    match result {
        Ok(t) => Ok(Reserved::Done(t)),
        Err(Abort::Work(e)) => Ok(Reserved::Refused(e)),
        Err(Abort::Taken) => Ok(Reserved::Taken),
        Err(Abort::Answer(e)) => Err(e),
        Err(Abort::Db(e)) => Err(e.into()),
    }
}

/// Runs `work` (a use case that books: its own write transaction nests) once per claim: without
/// a claim it simply runs; with one, an answered key gives its answer back instead, a key
/// another request holds is waited for, and a new key is reserved in `work`'s transaction,
/// where `answer` renders what the caller will be told of the booking (the same as the
/// caller's own answer of [`Once::Ran`]), stored with it (a refusal rolls the reservation
/// back).
pub async fn run<T, E, F, A>(
    pool: &Pool,
    cipher: &AnswerCipher,
    claim: Option<Claim>,
    work: F,
    answer: A,
) -> Result<Once<T>, E>
where
    T: Send + 'static,
    E: From<AppError> + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    A: FnOnce(&T) -> Result<Stored, AppError> + Send + 'static,
{
    let Some(claim) = claim else {
        return outer(with_conn(pool, move |conn| Ok(work(conn))).await).map(Once::Ran);
    };
    // Known already: no need to take the write lock.
    if let Some(done) = settle(pool, cipher, &claim, false).await? {
        return Ok(done);
    }
    let (c, cl) = (cipher.clone(), claim.clone());
    let reserved = with_conn(pool, move |conn| {
        run_reserved(conn, &c, &cl, Utc::now(), work, answer)
    })
    .await?;
    match reserved {
        Reserved::Done(t) => Ok(Once::Ran(t)),
        Reserved::Refused(e) => Err(e),
        // Another request reserved it meanwhile: its answer, once stored.
        Reserved::Taken => match settle(pool, cipher, &claim, true).await? {
            Some(done) => Ok(done),
            None => Err(in_progress().into()),
        },
    }
}

fn outer<T, E: From<AppError>>(r: Result<Result<T, E>, AppError>) -> Result<T, E> {
    r.map_err(E::from)?
}

/// A key already used: its answer (waiting while it runs, at most `WAIT_MAX_MS`), or the
/// refusal; None when unused. With `must_exist` (this request found the key reserved) a key
/// gone meanwhile (purged, or its request refused) is 409 too: the client's next retry runs.
async fn settle<T, E: From<AppError>>(
    pool: &Pool,
    cipher: &AnswerCipher,
    claim: &Claim,
    must_exist: bool,
) -> Result<Option<Once<T>>, E> {
    let started = std::time::Instant::now();
    loop {
        let (c, cl) = (cipher.clone(), claim.clone());
        let known = with_conn(pool, move |conn| prior(conn, &c, &cl, Utc::now())).await?;
        match known {
            Prior::Unused if must_exist => return Err(in_progress().into()),
            Prior::Unused => return Ok(None),
            Prior::Answered {
                same_request: true,
                stored,
            } => return Ok(Some(Once::Replay(stored))),
            Prior::Answered {
                same_request: false,
                stored,
            } => return Ok(Some(Once::OtherRequest(stored))),
            Prior::Running {
                same_request: false,
            } => return Err(reused().into()),
            Prior::Running { same_request: true } => {
                if started.elapsed() >= Duration::from_millis(rules::WAIT_MAX_MS) {
                    return Err(in_progress().into());
                }
                tokio::time::sleep(Duration::from_millis(rules::WAIT_STEP_MS)).await;
            }
        }
    }
}

/// The API's refusal of a key answered for another request.
pub fn reused_error() -> AppError {
    reused()
}

/// Deletes the keys older than 24 hours (the mail worker's housekeeping).
pub fn purge(conn: &mut DbConnection, now: chrono::DateTime<Utc>) -> Result<usize, AppError> {
    Ok(IdempotencyRow::purge(conn, since(now))?)
}

/// Deletes every key of a user (a client's erasure).
pub fn delete_of_user(conn: &mut DbConnection, user_id: i64) -> Result<usize, AppError> {
    Ok(IdempotencyRow::delete_of_user(conn, user_id)?)
}
