//! `waitlist_entries`, `waitlist_checks`, `waitlist_announcements` (migration `001602_waitlist`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{
    services, therapists, users, waitlist_announcements, waitlist_checks, waitlist_entries,
};
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = waitlist_entries)]
pub struct WaitlistEntry {
    pub id: i64,
    pub client_id: i64,
    pub therapist_id: i64,
    pub service_id: i64,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = waitlist_entries)]
pub struct NewWaitlistEntry {
    pub client_id: i64,
    pub therapist_id: i64,
    pub service_id: i64,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub created_at: NaiveDateTime,
}

impl NewWaitlistEntry {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(waitlist_entries::table)
            .values(self)
            .returning(waitlist_entries::id)
            .get_result(conn)
    }
}

/// An entry as its client's list shows it.
#[derive(Debug, Clone, Queryable)]
pub struct EntryLine {
    pub id: i64,
    pub therapist_id: i64,
    pub service_id: i64,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub created_at: NaiveDateTime,
    pub therapist_name: String,
    pub timezone: String,
    pub technique_slug: String,
    pub duration_min: i32,
}

impl WaitlistEntry {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<WaitlistEntry> {
        waitlist_entries::table
            .find(id)
            .select(WaitlistEntry::as_select())
            .first(conn)
    }

    /// The client's entries whose last day is `since` or later, soonest first.
    pub fn lines_of_client(
        conn: &mut DbConnection,
        client_id: i64,
        since: NaiveDate,
    ) -> QueryResult<Vec<EntryLine>> {
        waitlist_entries::table
            .inner_join(therapists::table.inner_join(users::table))
            .inner_join(services::table)
            .filter(waitlist_entries::client_id.eq(client_id))
            .filter(waitlist_entries::to_date.ge(since))
            .order((waitlist_entries::from_date, waitlist_entries::id))
            .select((
                waitlist_entries::id,
                waitlist_entries::therapist_id,
                waitlist_entries::service_id,
                waitlist_entries::from_date,
                waitlist_entries::to_date,
                waitlist_entries::created_at,
                users::name,
                therapists::timezone,
                services::technique_slug,
                services::duration_min,
            ))
            .load(conn)
    }

    /// How many entries of the client end on `since` or later.
    pub fn count_of_client(
        conn: &mut DbConnection,
        client_id: i64,
        since: NaiveDate,
    ) -> QueryResult<i64> {
        waitlist_entries::table
            .filter(waitlist_entries::client_id.eq(client_id))
            .filter(waitlist_entries::to_date.ge(since))
            .count()
            .get_result(conn)
    }

    /// The therapist's entries whose range meets `from..=to`.
    pub fn of_therapist_meeting(
        conn: &mut DbConnection,
        therapist_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> QueryResult<Vec<WaitlistEntry>> {
        waitlist_entries::table
            .filter(waitlist_entries::therapist_id.eq(therapist_id))
            .filter(waitlist_entries::to_date.ge(from))
            .filter(waitlist_entries::from_date.le(to))
            .order(waitlist_entries::id)
            .select(WaitlistEntry::as_select())
            .load(conn)
    }

    /// Whether the therapist has an entry whose last day is `since` or later.
    pub fn any_of_therapist(
        conn: &mut DbConnection,
        therapist_id: i64,
        since: NaiveDate,
    ) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            waitlist_entries::table
                .filter(waitlist_entries::therapist_id.eq(therapist_id))
                .filter(waitlist_entries::to_date.ge(since)),
        ))
        .get_result(conn)
    }

    /// Deletes the client's entry `id`; how many rows went (0: not theirs, or gone).
    pub fn delete_of_client(
        conn: &mut DbConnection,
        client_id: i64,
        id: i64,
    ) -> QueryResult<usize> {
        diesel::delete(
            waitlist_entries::table
                .filter(waitlist_entries::id.eq(id))
                .filter(waitlist_entries::client_id.eq(client_id)),
        )
        .execute(conn)
    }

    /// Deletes every entry of a client (erasure).
    pub fn delete_all_of_client(conn: &mut DbConnection, client_id: i64) -> QueryResult<usize> {
        diesel::delete(waitlist_entries::table.filter(waitlist_entries::client_id.eq(client_id)))
            .execute(conn)
    }

    /// Deletes the entries whose last day is before `before`.
    pub fn delete_ended(conn: &mut DbConnection, before: NaiveDate) -> QueryResult<usize> {
        diesel::delete(waitlist_entries::table.filter(waitlist_entries::to_date.lt(before)))
            .execute(conn)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = waitlist_checks)]
pub struct WaitlistCheck {
    pub id: i64,
    pub therapist_id: i64,
    pub freed_from: NaiveDateTime,
    pub freed_until: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl WaitlistCheck {
    pub fn insert(
        conn: &mut DbConnection,
        therapist_id: i64,
        freed_from: NaiveDateTime,
        freed_until: NaiveDateTime,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::insert_into(waitlist_checks::table)
            .values((
                waitlist_checks::therapist_id.eq(therapist_id),
                waitlist_checks::freed_from.eq(freed_from),
                waitlist_checks::freed_until.eq(freed_until),
                waitlist_checks::created_at.eq(at),
            ))
            .execute(conn)
    }

    /// Up to `limit` checks, oldest first; on PostgreSQL locked `FOR UPDATE SKIP LOCKED` (two
    /// workers take different ones), on SQLite the caller's `BEGIN IMMEDIATE` serialises them.
    pub fn take(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<WaitlistCheck>> {
        let due = waitlist_checks::table
            .order(waitlist_checks::id)
            .limit(limit)
            .select(waitlist_checks::id);
        let ids: Vec<i64> = match conn {
            DbConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(_) => due.load(conn)?,
        };
        waitlist_checks::table
            .filter(waitlist_checks::id.eq_any(ids))
            .order(waitlist_checks::id)
            .select(WaitlistCheck::as_select())
            .load(conn)
    }

    /// Whether any check waits (a read, before taking the write lock).
    pub fn any(conn: &mut DbConnection) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            waitlist_checks::table.select(waitlist_checks::id),
        ))
        .get_result(conn)
    }

    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(waitlist_checks::table.find(id)).execute(conn)
    }
}

/// Whether `slot_start` of `service_id` was announced to `client_id` through any of their
/// entries (a client with two overlapping entries hears of a time once).
pub fn announced_to_client(
    conn: &mut DbConnection,
    client_id: i64,
    service_id: i64,
    slot_start: NaiveDateTime,
) -> QueryResult<bool> {
    let n: i64 = waitlist_announcements::table
        .inner_join(waitlist_entries::table)
        .filter(waitlist_entries::client_id.eq(client_id))
        .filter(waitlist_entries::service_id.eq(service_id))
        .filter(waitlist_announcements::slot_start.eq(slot_start))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Records that `slot_start` was announced to `entry_id`; false when it already was. The
/// unique `(entry_id, slot_start)` decides, also between two workers: the insert runs in a
/// savepoint, so a refusal leaves the caller's transaction usable.
pub fn announce(
    conn: &mut DbConnection,
    entry_id: i64,
    slot_start: NaiveDateTime,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let done = waitlist_announcements::table
        .filter(waitlist_announcements::entry_id.eq(entry_id))
        .filter(waitlist_announcements::slot_start.eq(slot_start))
        .count()
        .get_result::<i64>(conn)?;
    if done > 0 {
        return Ok(false);
    }
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(waitlist_announcements::table)
            .values((
                waitlist_announcements::entry_id.eq(entry_id),
                waitlist_announcements::slot_start.eq(slot_start),
                waitlist_announcements::created_at.eq(at),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}
