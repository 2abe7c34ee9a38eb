//! The therapist's own area: dashboard facts and booking policy.

use diesel::prelude::*;

use crate::db::schema::{services as services_t, therapist_techniques, weekly_hours};
use crate::db::DbConnection;
use crate::domain::credential::license_counts;
use crate::error::AppError;
use crate::models::booking_policy::BookingPolicy;
use crate::models::credential::{self, License, TrainingRecord};
use crate::models::therapist::Therapist;
use crate::services::access::{self, Proof};

/// The therapist profile of a user, or 404 (a therapist account always has one).
pub fn own_profile(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
) -> Result<Therapist, AppError> {
    let user_id = therapist.id();
    Therapist::find_by_user(conn, user_id)?.ok_or(AppError::NotFound)
}

pub struct TherapistDashboard {
    pub therapist: Therapist,
    pub technique_count: i64,
    pub service_count: i64,
    pub weekly_range_count: i64,
    pub licenses: Vec<License>,
    pub training: Vec<TrainingRecord>,
    pub policy: BookingPolicy,
    /// The last day of the verified license when it ends within 30 days (renew soon).
    pub license_expires_soon: Option<chrono::NaiveDate>,
}

impl TherapistDashboard {
    /// The "complete your profile" steps still open, in the order to do them.
    pub fn open_steps(&self) -> Vec<&'static str> {
        let mut steps = Vec::new();
        if self.therapist.city.is_none() || self.therapist.bio.trim().is_empty() {
            steps.push("Add your city and a short bio.");
        }
        if self.technique_count == 0 {
            steps.push("Choose the techniques you offer.");
        }
        if self.service_count == 0 {
            steps.push("Add at least one service with its duration and price.");
        }
        if self.weekly_range_count == 0 {
            steps.push("Set your weekly hours.");
        }
        if self.licenses.is_empty() {
            steps.push("Submit your license for verification.");
        }
        if self.training.is_empty() {
            steps.push("Submit your training records (500 hours or more earns the badge).");
        }
        steps
    }
}

pub fn dashboard(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
) -> Result<TherapistDashboard, AppError> {
    let _user_id = therapist.id();
    let therapist = own_profile(conn, therapist)?;
    let technique_count = therapist_techniques::table
        .filter(therapist_techniques::therapist_id.eq(therapist.id))
        .count()
        .get_result(conn)?;
    let service_count = services_t::table
        .filter(services_t::therapist_id.eq(therapist.id))
        .filter(services_t::retired_at.is_null())
        .count()
        .get_result(conn)?;
    let weekly_range_count = weekly_hours::table
        .filter(weekly_hours::therapist_id.eq(therapist.id))
        .count()
        .get_result(conn)?;
    let licenses = credential::licenses_of(conn, therapist.id)?;
    let training = credential::training_of(conn, therapist.id)?;
    let policy = BookingPolicy::find(conn, therapist.id)?;
    let today = chrono::Utc::now().date_naive();
    let license_expires_soon = therapist.license_verified_until.filter(|until| {
        license_counts(Some(*until), today)
            && *until
                <= today + chrono::Duration::days(crate::domain::credential::EXPIRY_WARNING_DAYS)
    });
    Ok(TherapistDashboard {
        therapist,
        technique_count,
        service_count,
        weekly_range_count,
        licenses,
        training,
        policy,
        license_expires_soon,
    })
}

pub fn booking_policy(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
) -> Result<BookingPolicy, AppError> {
    let _user_id = therapist.id();
    let therapist = own_profile(conn, therapist)?;
    Ok(BookingPolicy::find(conn, therapist.id)?)
}
