//! The numbers of the charts, one query each: bookings per week, the age of the verification
//! queue and licenses expiring per week (admins), and a therapist's booked hours per week.
//! Weeks run Monday to Sunday (`domain::stats`): in UTC for the admin's charts (admin pages keep
//! UTC), on the therapist's own clock for their hours.

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Timestamp};

use crate::db::schema::appointments;
use crate::db::DbConnection;
use crate::domain::appointment::AppointmentStatus;
use crate::domain::credential::CredentialStatus;
use crate::domain::schedule::{day_begins, local_today};
use crate::domain::stats::{self, AgeGroup, WeekValue, BOOKING_WEEKS_BEFORE, WEEKS};
use crate::error::AppError;
use crate::models::therapist::zone;
use crate::services::access::{self, Admin};
use crate::services::therapists::own_profile;

#[derive(QueryableByName)]
struct DayCount {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Bookings per week by the day they start (UTC): the [`BOOKING_WEEKS_BEFORE`] weeks before
/// the current one, the current one and those after it, [`WEEKS`] in all. Every booking that
/// was not cancelled or declined counts (requested, confirmed, completed, no-show).
pub fn bookings_per_week(
    conn: &mut DbConnection,
    _admin: &Admin,
    today: NaiveDate,
) -> Result<Vec<WeekValue>, AppError> {
    let first = stats::week_start(today) - Duration::weeks(BOOKING_WEEKS_BEFORE as i64);
    let end = first + Duration::weeks(WEEKS as i64);
    let rows: Vec<DayCount> = diesel::sql_query(
        "SELECT date(starts_at) AS day, COUNT(*) AS n FROM appointments \
         WHERE starts_at >= $1 AND starts_at < $2 AND status <> $3 GROUP BY date(starts_at)",
    )
    .bind::<Timestamp, _>(midnight(first))
    .bind::<Timestamp, _>(midnight(end))
    .bind::<diesel::sql_types::Text, _>(AppointmentStatus::Cancelled.as_str())
    .load(conn)?;
    Ok(stats::per_week(
        first,
        WEEKS,
        rows.into_iter().map(|r| (r.day, r.n)),
    ))
}

/// How long the licenses and training records waiting for verification have waited.
pub fn queue_age(
    conn: &mut DbConnection,
    _admin: &Admin,
    now: NaiveDateTime,
) -> Result<Vec<AgeGroup>, AppError> {
    #[derive(QueryableByName)]
    struct Submitted {
        #[diesel(sql_type = Timestamp)]
        at: NaiveDateTime,
    }
    let submitted: Vec<Submitted> = diesel::sql_query(
        "SELECT submitted_at AS at FROM licenses WHERE status = $1 \
         UNION ALL SELECT submitted_at AS at FROM training_records WHERE status = $1",
    )
    .bind::<diesel::sql_types::Text, _>(CredentialStatus::Submitted.as_str())
    .load(conn)?;
    let submitted: Vec<NaiveDateTime> = submitted.into_iter().map(|s| s.at).collect();
    Ok(stats::age_groups(now, &submitted))
}

/// Verified licenses expiring per week, from today for [`WEEKS`] weeks, that no later verified
/// license of the same therapist renews (what the expiring list of the license queue shows).
pub fn licenses_expiring_per_week(
    conn: &mut DbConnection,
    _admin: &Admin,
    today: NaiveDate,
) -> Result<Vec<WeekValue>, AppError> {
    let end = stats::week_start(today) + Duration::weeks(WEEKS as i64);
    let rows: Vec<DayCount> = diesel::sql_query(
        "SELECT l.expires_on AS day, COUNT(*) AS n FROM licenses l \
         JOIN therapists t ON t.id = l.therapist_id \
         WHERE l.status = $1 AND l.expires_on >= $2 AND l.expires_on < $3 \
           AND t.license_verified_until = l.expires_on \
         GROUP BY l.expires_on",
    )
    .bind::<diesel::sql_types::Text, _>(CredentialStatus::Verified.as_str())
    .bind::<Date, _>(today)
    .bind::<Date, _>(end)
    .load(conn)?;
    Ok(stats::per_week(
        today,
        WEEKS,
        rows.into_iter().map(|r| (r.day, r.n)),
    ))
}

/// A therapist's booked time per week on their own clock.
#[derive(Debug, Clone)]
pub struct HoursPerWeek {
    /// The therapist's IANA zone, the clock the weeks follow.
    pub timezone: String,
    /// Minutes booked per week, the last [`WEEKS`] weeks up to and including the current one.
    pub weeks: Vec<WeekValue>,
}

/// The minutes of the therapist's confirmed, completed and no-show sessions per week (by the
/// local day they start), for the [`WEEKS`] weeks ending with the current one.
pub fn hours_per_week(
    conn: &mut DbConnection,
    who: &access::Therapist,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<HoursPerWeek, AppError> {
    let therapist = own_profile(conn, who)?;
    let tz = zone(&therapist.timezone);
    let today = local_today(now, tz);
    let first = stats::week_start(today) - Duration::weeks(WEEKS as i64 - 1);
    let end = stats::week_start(today) + Duration::weeks(1);
    // A local day begins at its first instant, also where midnight falls in a DST gap.
    let utc_of = |d: NaiveDate| day_begins(d, tz).naive_utc();
    let rows: Vec<(NaiveDateTime, NaiveDateTime)> = appointments::table
        .filter(appointments::therapist_id.eq(therapist.id))
        .filter(appointments::starts_at.ge(utc_of(first)))
        .filter(appointments::starts_at.lt(utc_of(end)))
        .filter(appointments::status.eq_any([
            AppointmentStatus::Confirmed.as_str(),
            AppointmentStatus::Completed.as_str(),
            AppointmentStatus::NoShow.as_str(),
        ]))
        .select((appointments::starts_at, appointments::ends_at))
        .load(conn)?;
    let days = rows.into_iter().map(|(start, end)| {
        let local = tz.from_utc_datetime(&start).date_naive();
        (local, (end - start).num_minutes())
    });
    Ok(HoursPerWeek {
        timezone: therapist.timezone.clone(),
        weeks: stats::per_week(first, WEEKS, days),
    })
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists")
}
