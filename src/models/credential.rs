//! Licenses and training records.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{licenses, therapists, training_records, users};
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = licenses)]
pub struct License {
    pub id: i64,
    pub therapist_id: i64,
    pub jurisdiction: String,
    pub number: String,
    pub issuing_body: String,
    pub expires_on: NaiveDate,
    pub status: String,
    pub submitted_at: NaiveDateTime,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = training_records)]
pub struct TrainingRecord {
    pub id: i64,
    pub therapist_id: i64,
    pub program: String,
    pub hours: i32,
    pub completed_on: NaiveDate,
    pub status: String,
    pub submitted_at: NaiveDateTime,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
}

/// A license in the verification queue, with the therapist's name.
#[derive(Debug, Clone, Queryable)]
pub struct LicenseQueueItem {
    pub license: License,
    pub therapist_name: String,
}

pub fn licenses_of(conn: &mut DbConnection, therapist_id: i64) -> QueryResult<Vec<License>> {
    licenses::table
        .filter(licenses::therapist_id.eq(therapist_id))
        .order(licenses::submitted_at.desc())
        .select(License::as_select())
        .load(conn)
}

pub fn training_of(conn: &mut DbConnection, therapist_id: i64) -> QueryResult<Vec<TrainingRecord>> {
    training_records::table
        .filter(training_records::therapist_id.eq(therapist_id))
        .order(training_records::submitted_at.desc())
        .select(TrainingRecord::as_select())
        .load(conn)
}

/// Licenses with `status`, oldest submission first.
pub fn license_queue(
    conn: &mut DbConnection,
    status: &str,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<LicenseQueueItem>)> {
    let total = licenses::table
        .filter(licenses::status.eq(status))
        .count()
        .get_result(conn)?;
    let rows = licenses::table
        .inner_join(therapists::table.inner_join(users::table))
        .filter(licenses::status.eq(status))
        .order((licenses::submitted_at.asc(), licenses::id.asc()))
        .offset(offset)
        .limit(limit)
        .select((License::as_select(), users::name))
        .load::<(License, String)>(conn)?;
    Ok((
        total,
        rows.into_iter()
            .map(|(license, therapist_name)| LicenseQueueItem {
                license,
                therapist_name,
            })
            .collect(),
    ))
}

pub fn count_pending(conn: &mut DbConnection) -> QueryResult<(i64, i64)> {
    let l = licenses::table
        .filter(licenses::status.eq("submitted"))
        .count()
        .get_result(conn)?;
    let t = training_records::table
        .filter(training_records::status.eq("submitted"))
        .count()
        .get_result(conn)?;
    Ok((l, t))
}

/// Verified licenses expiring between `from` and `to` (inclusive).
pub fn count_expiring(conn: &mut DbConnection, from: NaiveDate, to: NaiveDate) -> QueryResult<i64> {
    licenses::table
        .filter(licenses::status.eq("verified"))
        .filter(licenses::expires_on.ge(from))
        .filter(licenses::expires_on.le(to))
        .count()
        .get_result(conn)
}

pub fn find_license(conn: &mut DbConnection, id: i64) -> QueryResult<License> {
    licenses::table
        .find(id)
        .select(License::as_select())
        .first(conn)
}

pub fn find_training(conn: &mut DbConnection, id: i64) -> QueryResult<TrainingRecord> {
    training_records::table
        .find(id)
        .select(TrainingRecord::as_select())
        .first(conn)
}
