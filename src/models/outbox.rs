//! The outbox table: mails written in the transaction of the change that causes them, claimed
//! and sent by the mail worker. A claim is a lease (`claimed_until`, `claimed_by`): a worker
//! that died holding one leaves a row that another can claim once the lease has run out.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::outbox;
use crate::db::DbConnection;
use crate::domain::mail::OutboxStatus;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub to_email: String,
    pub user_id: Option<i64>,
    pub appointment_id: Option<i64>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ics: Option<String>,
    pub message_id: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub send_after: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub claimed_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutbox<'a> {
    pub kind: &'a str,
    pub to_email: &'a str,
    pub user_id: Option<i64>,
    pub appointment_id: Option<i64>,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub ics: Option<&'a str>,
    pub message_id: &'a str,
    pub status: &'a str,
    pub attempts: i32,
    pub send_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl NewOutbox<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(outbox::table)
            .values(self)
            .returning(outbox::id)
            .get_result(conn)
    }
}

/// An outbox line as the admin sees it: never the body.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxLine {
    pub id: i64,
    pub to_email: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub send_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxRow {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<OutboxRow> {
        outbox::table
            .find(id)
            .select(OutboxRow::as_select())
            .first(conn)
    }
}

/// The ids of up to `limit` queued rows due at `now` and not leased by anyone, oldest due
/// first. On PostgreSQL the rows are locked (`FOR UPDATE SKIP LOCKED`), so that two workers'
/// claims never pick the same row: call it inside the claiming transaction. On SQLite the
/// claiming transaction is `BEGIN IMMEDIATE`, which admits one writer at a time.
pub fn due_ids(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    let due = outbox::table
        .filter(outbox::status.eq(OutboxStatus::Queued.as_str()))
        .filter(outbox::send_after.le(now))
        .filter(
            outbox::claimed_until
                .is_null()
                .or(outbox::claimed_until.lt(now)),
        )
        .order((outbox::send_after.asc(), outbox::id.asc()))
        .limit(limit)
        .select(outbox::id);
    match conn {
        DbConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg),
        DbConnection::Sqlite(_) => due.load(conn),
    }
}

/// Leases these rows to `worker` until `until` and returns them.
pub fn lease(
    conn: &mut DbConnection,
    ids: &[i64],
    worker: &str,
    until: NaiveDateTime,
) -> QueryResult<Vec<OutboxRow>> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::claimed_until.eq(Some(until)),
            outbox::claimed_by.eq(Some(worker)),
        ))
        .execute(conn)?;
    outbox::table
        .filter(outbox::id.eq_any(ids))
        .order((outbox::send_after.asc(), outbox::id.asc()))
        .select(OutboxRow::as_select())
        .load(conn)
}

/// Marks a leased row `sending`, committed before its transfer begins: only while `worker`
/// still holds its lease at `now` (a worker that lost it sends nothing). Returns whether it
/// did.
pub fn begin_send(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::claimed_by.eq(worker))
            .filter(outbox::claimed_until.gt(now))
            .filter(outbox::status.eq(OutboxStatus::Queued.as_str())),
    )
    .set(outbox::status.eq(OutboxStatus::Sending.as_str()))
    .execute(conn)?;
    Ok(n == 1)
}

/// Rows left `sending` by a worker whose lease ran out before `now` (it died mid-send): they
/// become `in_doubt`, lease dropped, with why. Returns their ids.
pub fn settle_interrupted(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let ids: Vec<i64> = outbox::table
        .filter(outbox::status.eq(OutboxStatus::Sending.as_str()))
        .filter(outbox::claimed_until.lt(now))
        .select(outbox::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(ids);
    }
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(&ids))
            .filter(outbox::status.eq(OutboxStatus::Sending.as_str())),
    )
    .set((
        outbox::status.eq(OutboxStatus::InDoubt.as_str()),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_error.eq(Some(
            "interrupted: the sending server stopped during the transfer, so it may have arrived",
        )),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
        outbox::claimed_by.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(ids)
}

/// Sent: counts the attempt and drops the lease. Only a row `worker` is sending, or one put in
/// doubt while its send was slow (it did arrive after all).
pub fn mark_sent(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let sending = outbox::status
        .eq(OutboxStatus::Sending.as_str())
        .and(outbox::claimed_by.eq(worker));
    let in_doubt = outbox::status.eq(OutboxStatus::InDoubt.as_str());
    diesel::update(outbox::table.find(id).filter(sending.or(in_doubt)))
        .set((
            outbox::status.eq(OutboxStatus::Sent.as_str()),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::sent_at.eq(Some(at)),
            outbox::last_error.eq(None::<String>),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::claimed_by.eq(None::<String>),
        ))
        .execute(conn)
}

/// A failed send: counts the attempt, keeps the error, and either waits until `retry_at`
/// (queued) or gives up (`failed` when `retry_at` is None). Only a row `worker` is sending.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let target = outbox::table
        .find(id)
        .filter(outbox::claimed_by.eq(worker))
        .filter(outbox::status.eq(OutboxStatus::Sending.as_str()));
    let release = (
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_error.eq(Some(error)),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
        outbox::claimed_by.eq(None::<String>),
    );
    match retry_at {
        Some(at) => diesel::update(target)
            .set((
                release,
                outbox::status.eq(OutboxStatus::Queued.as_str()),
                outbox::send_after.eq(at),
            ))
            .execute(conn),
        None => diesel::update(target)
            .set((release, outbox::status.eq(OutboxStatus::Failed.as_str())))
            .execute(conn),
    }
}

/// Queues a failed or in-doubt row again, due `now`, its tries counted afresh: an admin asked.
/// Returns whether it was one of those.
pub fn send_again(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq_any(OutboxStatus::again_strs())),
    )
    .set((
        outbox::status.eq(OutboxStatus::Queued.as_str()),
        outbox::attempts.eq(0),
        outbox::send_after.eq(now),
        outbox::sent_at.eq(None::<NaiveDateTime>),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
        outbox::claimed_by.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Gives the lease of these rows back without counting an attempt (a worker stopping).
pub fn release(conn: &mut DbConnection, ids: &[i64], worker: &str) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::claimed_by.eq(worker))
            .filter(outbox::status.eq(OutboxStatus::Queued.as_str())),
    )
    .set((
        outbox::claimed_until.eq(None::<NaiveDateTime>),
        outbox::claimed_by.eq(None::<String>),
    ))
    .execute(conn)
}

/// Marks queued rows matching `ids` withdrawn (not sent: no longer wanted), with why.
pub fn withdraw(conn: &mut DbConnection, ids: &[i64], why: &str) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::status.eq(OutboxStatus::Queued.as_str())),
    )
    .set((
        outbox::status.eq(OutboxStatus::Withdrawn.as_str()),
        outbox::last_error.eq(Some(why)),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
        outbox::claimed_by.eq(None::<String>),
    ))
    .execute(conn)
}

/// The queued rows of `kind` about an appointment.
pub fn queued_for_appointment(
    conn: &mut DbConnection,
    appointment_id: i64,
    kind: &str,
) -> QueryResult<Vec<i64>> {
    outbox::table
        .filter(outbox::appointment_id.eq(appointment_id))
        .filter(outbox::kind.eq(kind))
        .filter(outbox::status.eq(OutboxStatus::Queued.as_str()))
        .select(outbox::id)
        .load(conn)
}

/// The queued rows of `kind` to a user.
pub fn queued_for_user(conn: &mut DbConnection, user_id: i64, kind: &str) -> QueryResult<Vec<i64>> {
    outbox::table
        .filter(outbox::user_id.eq(user_id))
        .filter(outbox::kind.eq(kind))
        .filter(outbox::status.eq(OutboxStatus::Queued.as_str()))
        .select(outbox::id)
        .load(conn)
}

/// Deletes final rows (sent, failed, withdrawn, in doubt) created before `before`; how many.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        outbox::table
            .filter(outbox::status.eq_any(OutboxStatus::final_strs()))
            .filter(outbox::created_at.lt(before)),
    )
    .execute(conn)
}

/// A page of the outbox with `status`, newest first, and how many there are.
pub fn lines(
    conn: &mut DbConnection,
    status: OutboxStatus,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<OutboxLine>)> {
    let total = outbox::table
        .filter(outbox::status.eq(status.as_str()))
        .count()
        .get_result(conn)?;
    let rows = outbox::table
        .filter(outbox::status.eq(status.as_str()))
        .order((outbox::created_at.desc(), outbox::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(OutboxLine::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// Replaces the address of every mail to a user with `placeholder` (an erased account: the
/// rows stay until purged, without the address).
pub fn forget_recipient(
    conn: &mut DbConnection,
    user_id: i64,
    placeholder: &str,
) -> QueryResult<usize> {
    diesel::update(outbox::table.filter(outbox::user_id.eq(user_id)))
        .set(outbox::to_email.eq(placeholder))
        .execute(conn)
}
