//! The therapist's schedule: weekly hours, time off, booking policy.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::{booking_policies, time_off, weekly_hours};
use crate::db::{write_transaction, DbConnection};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::availability::WeeklyRange;
use crate::domain::schedule as week_rules;
use crate::domain::schedule::{
    check_policy, check_time_off, format_hhmm, parse_week, PolicyInput, WeeklyRangeInput, WEEKDAYS,
};
use crate::error::AppError;
use crate::models::audit;
use crate::models::booking_policy::BookingPolicy;
use crate::models::now;
use crate::services::access::{self, Proof};
use crate::services::booking::{self, ListItem};
use crate::services::therapists::own_profile;
use crate::services::waitlist;

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
        let before = weekly(conn, t.id)?;
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
        // Hours added may free times someone on the waitlist waits for.
        waitlist::note_hours_widened(conn, &t, &before, &ranges)?;
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
    check_time_off(starts_at, ends_at, Utc::now()).map_err(AppError::validation)?;
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
        let span: Option<(NaiveDateTime, NaiveDateTime)> = time_off::table
            .filter(time_off::id.eq(id))
            .filter(time_off::therapist_id.eq(t.id))
            .select((time_off::starts_at, time_off::ends_at))
            .first(conn)
            .optional()?;
        let Some((starts_at, ends_at)) = span else {
            return Err(AppError::NotFound);
        };
        diesel::delete(time_off::table.filter(time_off::id.eq(id))).execute(conn)?;
        // The time may come free for someone on the waitlist (checked after the commit).
        waitlist::note_freed(conn, t.id, starts_at, ends_at)?;
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

// ---- The week grid -------------------------------------------------------------------------

/// A session on the week grid: the appointment, its client, and its minutes on that day.
#[derive(Debug, Clone)]
pub struct Session {
    pub item: ListItem,
    pub client: String,
    /// A booking the therapist entered, waiting for the client's answers.
    pub screening_pending: bool,
    pub start_min: u16,
    pub end_min: u16,
}

/// Time off on one day of the grid (wall-clock minutes of that day; the grid shows the part
/// within its hours).
#[derive(Debug, Clone)]
pub struct Away {
    pub start_min: u16,
    pub end_min: u16,
    pub note: String,
}

/// One day of the week grid.
#[derive(Debug, Clone)]
pub struct DayColumn {
    pub date: NaiveDate,
    pub is_today: bool,
    /// Weekly working hours of that weekday (wall-clock minutes).
    pub hours: Vec<(u16, u16)>,
    pub away: Vec<Away>,
    /// Not cancelled or declined, in time order.
    pub sessions: Vec<Session>,
}

/// The therapist's week on their clock: seven days from Monday, the hours shown (`axis`, whole
/// hours around the working hours and sessions; time off outside them is not drawn).
#[derive(Debug, Clone)]
pub struct WeekView {
    pub tz: Tz,
    pub monday: NaiveDate,
    pub today: NaiveDate,
    pub axis: (u16, u16),
    pub days: Vec<DayColumn>,
}

/// The week holding `asked` (or today on the therapist's clock) as of `now`; the one source of
/// the week grid, page and API.
pub fn week(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    asked: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<WeekView, AppError> {
    let t = own_profile(conn, therapist)?;
    let tz = crate::models::therapist::zone(&t.timezone);
    let today = week_rules::local_today(now, tz);
    let monday = week_rules::week_to_show(asked, now, tz);
    let (from, to) = (
        week_rules::day_begins(monday, tz),
        week_rules::day_begins(monday + Duration::days(7), tz),
    );
    let ranges = weekly(conn, t.id)?;
    let off: Vec<TimeOff> = time_off::table
        .filter(time_off::therapist_id.eq(t.id))
        .filter(time_off::ends_at.gt(from.naive_utc()))
        .filter(time_off::starts_at.lt(to.naive_utc()))
        .order(time_off::starts_at)
        .select((
            time_off::id,
            time_off::starts_at,
            time_off::ends_at,
            time_off::note,
        ))
        .load(conn)?;
    // Sessions that began the evening before still show on the day they run into.
    let items = booking::therapist_list(
        conn,
        t.id,
        (from - Duration::days(1)).naive_utc(),
        to.naive_utc(),
    )?;
    let mut days: Vec<DayColumn> = (0..7)
        .map(|k| {
            let date = monday + Duration::days(k);
            let weekday = date.weekday().number_from_monday() as u8;
            let sessions = items
                .iter()
                .filter(|(i, _)| i.status != AppointmentStatus::Cancelled)
                .filter_map(|(i, client)| {
                    let (s, e) = week_rules::minutes_on_day(
                        i.starts_at.and_utc(),
                        i.ends_at.and_utc(),
                        date,
                        tz,
                    )?;
                    Some(Session {
                        screening_pending: i.screening_pending,
                        item: i.clone(),
                        client: client.clone(),
                        start_min: s,
                        end_min: e,
                    })
                })
                .collect();
            DayColumn {
                date,
                is_today: date == today,
                hours: ranges
                    .iter()
                    .filter(|r| r.weekday == weekday)
                    .map(|r| (r.start_min, r.end_min))
                    .collect(),
                away: Vec::new(),
                sessions,
            }
        })
        .collect();
    let axis = week_rules::grid_axis(days.iter().flat_map(|d| {
        d.hours
            .iter()
            .copied()
            .chain(d.sessions.iter().map(|s| (s.start_min, s.end_min)))
    }));
    for d in &mut days {
        d.away = off
            .iter()
            .filter_map(|o| {
                let (s, e) = week_rules::minutes_on_day(
                    o.starts_at.and_utc(),
                    o.ends_at.and_utc(),
                    d.date,
                    tz,
                )?;
                Some(Away {
                    start_min: s,
                    end_min: e,
                    note: o.note.clone(),
                })
            })
            .collect();
    }
    Ok(WeekView {
        tz,
        monday,
        today,
        axis,
        days,
    })
}
