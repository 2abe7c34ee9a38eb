//! Licenses and training records.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{licenses, therapists, training_records, users};
use crate::db::DbConnection;
use crate::domain::credential::{CredentialStatus, LicenseStatus};

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

impl License {
    /// The stored review (text the database constrains; anything else reads as submitted).
    pub fn status(&self) -> CredentialStatus {
        CredentialStatus::parse(&self.status).unwrap_or(CredentialStatus::Submitted)
    }

    /// The status a person reads on `today` (a verified license past its expiry is expired).
    pub fn license_status(&self, today: NaiveDate) -> LicenseStatus {
        LicenseStatus::of(self.status(), self.expires_on, today)
    }
}

impl TrainingRecord {
    /// The stored review (text the database constrains; anything else reads as submitted).
    pub fn status(&self) -> CredentialStatus {
        CredentialStatus::parse(&self.status).unwrap_or(CredentialStatus::Submitted)
    }
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
    status: CredentialStatus,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<LicenseQueueItem>)> {
    let total = licenses::table
        .filter(licenses::status.eq(status.as_str()))
        .count()
        .get_result(conn)?;
    let rows = licenses::table
        .inner_join(therapists::table.inner_join(users::table))
        .filter(licenses::status.eq(status.as_str()))
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
        .filter(licenses::status.eq(CredentialStatus::Submitted.as_str()))
        .count()
        .get_result(conn)?;
    let t = training_records::table
        .filter(training_records::status.eq(CredentialStatus::Submitted.as_str()))
        .count()
        .get_result(conn)?;
    Ok((l, t))
}

/// Verified licenses expiring between `from` and `to` (inclusive) whose therapist has no
/// verified license reaching beyond `to` (a renewed license is not a worry).
pub fn count_expiring(conn: &mut DbConnection, from: NaiveDate, to: NaiveDate) -> QueryResult<i64> {
    licenses::table
        .inner_join(therapists::table)
        .filter(licenses::status.eq(CredentialStatus::Verified.as_str()))
        .filter(licenses::expires_on.ge(from))
        .filter(licenses::expires_on.le(to))
        .filter(therapists::license_verified_until.le(to))
        .count()
        .get_result(conn)
}

/// A verified license about to expire, with its therapist.
#[derive(Debug, Clone)]
pub struct ExpiringLicense {
    pub license: License,
    pub therapist_name: String,
    pub therapist_email: String,
}

/// The licenses [`count_expiring`] counts, soonest expiry first.
pub fn expiring(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<ExpiringLicense>)> {
    let total = count_expiring(conn, from, to)?;
    let rows = licenses::table
        .inner_join(therapists::table.inner_join(users::table))
        .filter(licenses::status.eq(CredentialStatus::Verified.as_str()))
        .filter(licenses::expires_on.ge(from))
        .filter(licenses::expires_on.le(to))
        .filter(therapists::license_verified_until.le(to))
        .order((licenses::expires_on.asc(), licenses::id.asc()))
        .offset(offset)
        .limit(limit)
        .select((License::as_select(), users::name, users::email))
        .load::<(License, String, String)>(conn)?;
    Ok((
        total,
        rows.into_iter()
            .map(
                |(license, therapist_name, therapist_email)| ExpiringLicense {
                    license,
                    therapist_name,
                    therapist_email,
                },
            )
            .collect(),
    ))
}

/// The licenses [`expiring`] lists whose therapist has not been told yet (`expiry_warned_at`
/// unset), with the therapist's user id, name and email.
pub fn expiring_unwarned(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(License, i64, String, String)>> {
    licenses::table
        .inner_join(therapists::table.inner_join(users::table))
        .filter(licenses::status.eq(CredentialStatus::Verified.as_str()))
        .filter(licenses::expires_on.ge(from))
        .filter(licenses::expires_on.le(to))
        .filter(therapists::license_verified_until.le(to))
        .filter(licenses::expiry_warned_at.is_null())
        .order((licenses::expires_on.asc(), licenses::id.asc()))
        .select((License::as_select(), users::id, users::name, users::email))
        .load(conn)
}

/// Records that the license's therapist was told it expires soon; false when another server
/// did it first.
pub fn mark_expiry_warned(
    conn: &mut DbConnection,
    id: i64,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        licenses::table
            .find(id)
            .filter(licenses::expiry_warned_at.is_null()),
    )
    .set(licenses::expiry_warned_at.eq(Some(at)))
    .execute(conn)
    .map(|n| n == 1)
}

/// A training record in the verification queue, with the therapist's name.
#[derive(Debug, Clone)]
pub struct TrainingQueueItem {
    pub record: TrainingRecord,
    pub therapist_name: String,
}

/// Training records with `status`, oldest submission first.
pub fn training_queue(
    conn: &mut DbConnection,
    status: CredentialStatus,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<TrainingQueueItem>)> {
    let total = training_records::table
        .filter(training_records::status.eq(status.as_str()))
        .count()
        .get_result(conn)?;
    let rows = training_records::table
        .inner_join(therapists::table.inner_join(users::table))
        .filter(training_records::status.eq(status.as_str()))
        .order((
            training_records::submitted_at.asc(),
            training_records::id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select((TrainingRecord::as_select(), users::name))
        .load::<(TrainingRecord, String)>(conn)?;
    Ok((
        total,
        rows.into_iter()
            .map(|(record, therapist_name)| TrainingQueueItem {
                record,
                therapist_name,
            })
            .collect(),
    ))
}

/// The decided (verified or rejected) licenses of some therapists, for the queues' history.
pub fn decided_licenses_of(
    conn: &mut DbConnection,
    therapist_ids: &[i64],
) -> QueryResult<Vec<License>> {
    licenses::table
        .filter(licenses::therapist_id.eq_any(therapist_ids))
        .filter(licenses::status.ne(CredentialStatus::Submitted.as_str()))
        .order((licenses::decided_at.desc(), licenses::id.desc()))
        .select(License::as_select())
        .load(conn)
}

/// The decided training records of some therapists, for the queues' history.
pub fn decided_training_of(
    conn: &mut DbConnection,
    therapist_ids: &[i64],
) -> QueryResult<Vec<TrainingRecord>> {
    training_records::table
        .filter(training_records::therapist_id.eq_any(therapist_ids))
        .filter(training_records::status.ne(CredentialStatus::Submitted.as_str()))
        .order((
            training_records::decided_at.desc(),
            training_records::id.desc(),
        ))
        .select(TrainingRecord::as_select())
        .load(conn)
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
