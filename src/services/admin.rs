//! The admin area: dashboard counts and verification queues.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::db::schema::therapists;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::credential::{self, LicenseQueueItem};
use crate::models::now;

pub struct AdminDashboard {
    pub pending_licenses: i64,
    pub pending_training: i64,
    pub expiring_licenses: i64,
    pub new_therapists_this_week: i64,
}

pub fn dashboard(conn: &mut DbConnection) -> Result<AdminDashboard, AppError> {
    let (pending_licenses, pending_training) = credential::count_pending(conn)?;
    let today = Utc::now().date_naive();
    let expiring_licenses = credential::count_expiring(conn, today, today + Duration::days(30))?;
    let new_therapists_this_week = therapists::table
        .filter(therapists::created_at.gt(now() - Duration::days(7)))
        .count()
        .get_result(conn)?;
    Ok(AdminDashboard {
        pending_licenses,
        pending_training,
        expiring_licenses,
        new_therapists_this_week,
    })
}

/// Statuses a queue can be filtered by.
pub fn parse_status(s: Option<&str>) -> Result<&'static str, AppError> {
    match s.unwrap_or("submitted") {
        "submitted" => Ok("submitted"),
        "verified" => Ok("verified"),
        "rejected" => Ok("rejected"),
        _ => Err(AppError::field(
            "status",
            "Use submitted, verified or rejected.",
        )),
    }
}

pub fn license_queue(
    conn: &mut DbConnection,
    status: &'static str,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<LicenseQueueItem>), AppError> {
    Ok(credential::license_queue(
        conn,
        status,
        (page - 1) * per_page,
        per_page,
    )?)
}

use crate::db::schema::{licenses, training_records};
use crate::db::write_transaction;
use crate::models::audit;
use crate::services::profile::refresh_summary;

/// Which credential table a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    License,
    Training,
}

impl Credential {
    fn object(self) -> &'static str {
        match self {
            Credential::License => "license",
            Credential::Training => "training_record",
        }
    }
}

/// Verifies, or rejects with a reason the therapist sees, a submitted credential. Records who
/// and when, refreshes the therapist's badges, and writes the audit row.
pub fn decide(
    conn: &mut DbConnection,
    admin_id: i64,
    kind: Credential,
    id: i64,
    verify: bool,
    reason: Option<&str>,
) -> Result<(), AppError> {
    let reason = match (verify, reason.map(str::trim)) {
        (true, _) => None,
        (false, Some(r)) if !r.is_empty() && r.chars().count() <= 500 => Some(r.to_string()),
        (false, _) => {
            return Err(AppError::field(
                "reason",
                "Give the therapist a reason (up to 500 characters).",
            ))
        }
    };
    let status = if verify { "verified" } else { "rejected" };
    let now = now();
    write_transaction(conn, |conn| {
        let (therapist_id, current): (i64, String) = match kind {
            Credential::License => licenses::table
                .find(id)
                .select((licenses::therapist_id, licenses::status))
                .first(conn)?,
            Credential::Training => training_records::table
                .find(id)
                .select((training_records::therapist_id, training_records::status))
                .first(conn)?,
        };
        if current != "submitted" {
            return Err(AppError::Conflict {
                code: "already_decided",
                message: format!(
                    "This {} was already {current}.",
                    kind.object().replace('_', " ")
                ),
            });
        }
        match kind {
            Credential::License => diesel::update(licenses::table.find(id))
                .set((
                    licenses::status.eq(status),
                    licenses::decided_by.eq(admin_id),
                    licenses::decided_at.eq(now),
                    licenses::rejection_reason.eq(&reason),
                ))
                .execute(conn)?,
            Credential::Training => diesel::update(training_records::table.find(id))
                .set((
                    training_records::status.eq(status),
                    training_records::decided_by.eq(admin_id),
                    training_records::decided_at.eq(now),
                    training_records::rejection_reason.eq(&reason),
                ))
                .execute(conn)?,
        };
        refresh_summary(conn, therapist_id)?;
        let summary = match &reason {
            None => format!("{} {status}", kind.object()),
            Some(r) => format!("{} {status}: {r}", kind.object()),
        };
        audit::record(
            conn,
            Some(admin_id),
            &format!(
                "{}.{}",
                kind.object(),
                if verify { "verify" } else { "reject" }
            ),
            kind.object(),
            Some(id),
            &summary,
        )?;
        Ok(())
    })
}
