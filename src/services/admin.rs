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
