//! The therapist's schedule: weekly hours, time off, booking policy.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{booking_policies, time_off, weekly_hours};
use crate::db::{write_transaction, DbConnection};
use crate::domain::availability::WeeklyRange;
use crate::domain::schedule::{
    check_policy, check_time_off, format_hhmm, parse_week, PolicyInput, WeeklyRangeInput, WEEKDAYS,
};
use crate::error::AppError;
use crate::models::audit;
use crate::models::booking_policy::BookingPolicy;
use crate::models::now;
use crate::services::access::{self, Proof};
use crate::services::therapists::own_profile;

pub fn weekly(conn: &mut DbConnection, therapist_id: i64) -> Result<Vec<WeeklyRange>, AppError> {
    Ok(weekly_hours::table
        .filter(weekly_hours::therapist_id.eq(therapist_id))
        .order((weekly_hours::weekday, weekly_hours::start_min))
        .select((
            weekly_hours::weekday,
            weekly_hours::start_min,
            weekly_hours::end_min,
        ))
        .load::<(i16, i32, i32)>(conn)?
        .into_iter()
        .map(|(d, s, e)| WeeklyRange {
            weekday: d as u8,
            start_min: s as u16,
            end_min: e as u16,
        })
        .collect())
}

/// Replaces the whole week.
pub fn replace_weekly(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    input: &[WeeklyRangeInput],
) -> Result<Vec<WeeklyRange>, AppError> {
    let user_id = therapist.id();
    let ranges = parse_week(input).map_err(AppError::validation)?;
    let t = own_profile(conn, therapist)?;
    write_transaction(conn, |conn| {
        diesel::delete(weekly_hours::table.filter(weekly_hours::therapist_id.eq(t.id)))
            .execute(conn)?;
        for r in &ranges {
            diesel::insert_into(weekly_hours::table)
                .values((
                    weekly_hours::therapist_id.eq(t.id),
                    weekly_hours::weekday.eq(r.weekday as i16),
                    weekly_hours::start_min.eq(r.start_min as i32),
                    weekly_hours::end_min.eq(r.end_min as i32),
                ))
                .execute(conn)?;
        }
        let summary = ranges
            .iter()
            .map(|r| {
                format!(
                    "{} {}-{}",
                    &WEEKDAYS[r.weekday as usize - 1][..3],
                    format_hhmm(r.start_min),
                    format_hhmm(r.end_min)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        audit::record(
            conn,
            Some(user_id),
            "schedule.weekly_hours",
            "therapist",
            Some(t.id),
            &format!("weekly hours: {summary}"),
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(ranges)
}

#[derive(Debug, Clone, Queryable)]
pub struct TimeOff {
    pub id: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub note: String,
}

/// Time off that has not ended yet, soonest first.
pub fn time_off_list(conn: &mut DbConnection, therapist_id: i64) -> Result<Vec<TimeOff>, AppError> {
    Ok(time_off::table
        .filter(time_off::therapist_id.eq(therapist_id))
        .filter(time_off::ends_at.gt(now()))
        .order(time_off::starts_at)
        .select((
            time_off::id,
            time_off::starts_at,
            time_off::ends_at,
            time_off::note,
        ))
        .load(conn)?)
}

pub fn add_time_off(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    note: &str,
) -> Result<TimeOff, AppError> {
    let user_id = therapist.id();
    check_time_off(starts_at, ends_at).map_err(AppError::validation)?;
    let note = note.trim();
    if note.chars().count() > 200 {
        return Err(AppError::field(
            "note",
            "A note has at most 200 characters.",
        ));
    }
    let t = own_profile(conn, therapist)?;
    let (s, e) = (starts_at.naive_utc(), ends_at.naive_utc());
    let id = write_transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(time_off::table)
            .values((
                time_off::therapist_id.eq(t.id),
                time_off::starts_at.eq(s),
                time_off::ends_at.eq(e),
                time_off::note.eq(note),
                time_off::created_at.eq(now()),
            ))
            .returning(time_off::id)
            .get_result(conn)?;
        audit::record(
            conn,
            Some(user_id),
            "schedule.time_off_add",
            "time_off",
            Some(id),
            &format!("time off {s} to {e} UTC"),
        )?;
        Ok::<_, AppError>(id)
    })?;
    Ok(TimeOff {
        id,
        starts_at: s,
        ends_at: e,
        note: note.to_string(),
    })
}

pub fn remove_time_off(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    id: i64,
) -> Result<(), AppError> {
    let user_id = therapist.id();
    let t = own_profile(conn, therapist)?;
    write_transaction(conn, |conn| {
        let n = diesel::delete(
            time_off::table
                .filter(time_off::id.eq(id))
                .filter(time_off::therapist_id.eq(t.id)),
        )
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(
            conn,
            Some(user_id),
            "schedule.time_off_remove",
            "time_off",
            Some(id),
            "time off removed",
        )?;
        Ok(())
    })
}

pub fn update_policy(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    p: &PolicyInput,
) -> Result<BookingPolicy, AppError> {
    let user_id = therapist.id();
    check_policy(p).map_err(AppError::validation)?;
    let t = own_profile(conn, therapist)?;
    write_transaction(conn, |conn| {
        diesel::update(booking_policies::table.find(t.id))
            .set((
                booking_policies::min_notice_hours.eq(p.min_notice_hours),
                booking_policies::max_advance_days.eq(p.max_advance_days),
                booking_policies::buffer_min.eq(p.buffer_min),
                booking_policies::cancellation_window_hours.eq(p.cancellation_window_hours),
                booking_policies::auto_confirm.eq(p.auto_confirm),
                booking_policies::updated_at.eq(now()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            Some(user_id),
            "schedule.policy",
            "therapist",
            Some(t.id),
            &format!(
                "policy: notice {} h, window {} days, buffer {} min, cancel {} h, auto-confirm {}",
                p.min_notice_hours,
                p.max_advance_days,
                p.buffer_min,
                p.cancellation_window_hours,
                p.auto_confirm
            ),
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(BookingPolicy::find(conn, t.id)?)
}
