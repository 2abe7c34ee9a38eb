//! Free times: loads a therapist's schedule and asks the pure engine (`domain::availability`).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::{
    appointments, booking_policies, services, therapists, time_off, weekly_hours,
};
use crate::db::DbConnection;
use crate::domain::availability::{self, Interval, SlotQuery, WeeklyRange};
use crate::error::AppError;
use crate::services::directory::FreeTimeOracle;

/// The grid free slots start on, in minutes from each range's start.
pub const STEP_MIN: i64 = 15;
/// How far ahead "next free time" looks, in days.
pub const NEXT_FREE_DAYS: i64 = 14;

/// Everything the engine needs about one therapist.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub tz: Tz,
    pub weekly: Vec<WeeklyRange>,
    pub time_off: Vec<Interval>,
    pub busy: Vec<Interval>,
    pub min_notice_hours: i32,
    pub max_advance_days: i32,
    pub buffer_min: i32,
}

impl Schedule {
    pub fn query(
        &self,
        duration_min: i64,
        now: DateTime<Utc>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> SlotQuery<'_> {
        SlotQuery {
            tz: self.tz,
            weekly: &self.weekly,
            time_off: &self.time_off,
            busy: &self.busy,
            duration_min,
            buffer_min: self.buffer_min as i64,
            min_notice: Duration::hours(self.min_notice_hours as i64),
            max_advance: Duration::days(self.max_advance_days as i64),
            now,
            from,
            to,
            step_min: STEP_MIN,
        }
    }
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Loads the schedules of `ids` with the time off and active appointments that touch
/// [`from`, `to`) (UTC), in five queries whatever the number of therapists.
/// `weekdays` limits the weekly ranges loaded (exact when only those local days are asked about).
pub fn load_schedules(
    conn: &mut DbConnection,
    ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    weekdays: Option<&[i16]>,
) -> Result<HashMap<i64, Schedule>, AppError> {
    let mut out: HashMap<i64, Schedule> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, String, i32, i32, i32)> = therapists::table
        .inner_join(booking_policies::table)
        .filter(therapists::id.eq_any(ids))
        .select((
            therapists::id,
            therapists::timezone,
            booking_policies::min_notice_hours,
            booking_policies::max_advance_days,
            booking_policies::buffer_min,
        ))
        .load(conn)?;
    for (id, tz, notice, advance, buffer) in rows {
        out.insert(
            id,
            Schedule {
                tz: crate::models::therapist::zone(&tz),
                weekly: Vec::new(),
                time_off: Vec::new(),
                busy: Vec::new(),
                min_notice_hours: notice,
                max_advance_days: advance,
                buffer_min: buffer,
            },
        );
    }
    let mut hours = weekly_hours::table
        .filter(weekly_hours::therapist_id.eq_any(ids))
        .into_boxed();
    if let Some(days) = weekdays {
        hours = hours.filter(weekly_hours::weekday.eq_any(days.to_vec()));
    }
    for (id, weekday, start, end) in hours
        .select((
            weekly_hours::therapist_id,
            weekly_hours::weekday,
            weekly_hours::start_min,
            weekly_hours::end_min,
        ))
        .load::<(i64, i16, i32, i32)>(conn)?
    {
        if let Some(s) = out.get_mut(&id) {
            s.weekly.push(WeeklyRange {
                weekday: weekday as u8,
                start_min: start as u16,
                end_min: end as u16,
            });
        }
    }
    let (from_n, to_n) = (from.naive_utc(), to.naive_utc());
    for (id, s, e) in time_off::table
        .filter(time_off::therapist_id.eq_any(ids))
        .filter(time_off::starts_at.lt(to_n))
        .filter(time_off::ends_at.gt(from_n))
        .select((
            time_off::therapist_id,
            time_off::starts_at,
            time_off::ends_at,
        ))
        .load::<(i64, NaiveDateTime, NaiveDateTime)>(conn)?
    {
        if let Some(sch) = out.get_mut(&id) {
            sch.time_off.push(Interval {
                start: utc(s),
                end: utc(e),
            });
        }
    }
    for (id, s, e) in appointments::table
        .filter(appointments::therapist_id.eq_any(ids))
        .filter(appointments::status.eq_any(["requested", "confirmed"]))
        .filter(appointments::starts_at.lt(to_n))
        .filter(appointments::blocked_until.gt(from_n))
        .select((
            appointments::therapist_id,
            appointments::starts_at,
            appointments::blocked_until,
        ))
        .load::<(i64, NaiveDateTime, NaiveDateTime)>(conn)?
    {
        if let Some(sch) = out.get_mut(&id) {
            sch.busy.push(Interval {
                start: utc(s),
                end: utc(e),
            });
        }
    }
    Ok(out)
}

/// A UTC window that surely covers the local dates [from, to] in any zone.
pub fn utc_window(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = (from - Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let end = (to + Duration::days(2))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    (start, end)
}

/// The shortest active service of each therapist (the least it takes to be "free").
fn shortest_services(conn: &mut DbConnection, ids: &[i64]) -> Result<HashMap<i64, i32>, AppError> {
    let mut out: HashMap<i64, i32> = HashMap::new();
    for (id, d) in services::table
        .filter(services::therapist_id.eq_any(ids))
        .filter(services::retired_at.is_null())
        .select((services::therapist_id, services::duration_min))
        .load::<(i64, i32)>(conn)?
    {
        let e = out.entry(id).or_insert(d);
        *e = (*e).min(d);
    }
    Ok(out)
}

/// Answers the directory's questions about free time with the engine.
pub struct Oracle {
    now: DateTime<Utc>,
}

impl Oracle {
    pub fn now() -> Oracle {
        Oracle { now: Utc::now() }
    }

    pub fn at(now: DateTime<Utc>) -> Oracle {
        Oracle { now }
    }
}

impl FreeTimeOracle for Oracle {
    fn free_on(
        &self,
        conn: &mut DbConnection,
        ids: &[i64],
        day: NaiveDate,
    ) -> Result<Vec<i64>, AppError> {
        let mut free = Vec::new();
        for chunk in ids.chunks(2000) {
            let (from, to) = utc_window(day, day);
            // Only the local date `day` is asked about: its weekday's ranges are all it needs.
            let weekday = [day.weekday().number_from_monday() as i16];
            let schedules = load_schedules(conn, chunk, from, to, Some(&weekday))?;
            let durations = shortest_services(conn, chunk)?;
            for id in chunk {
                let (Some(s), Some(d)) = (schedules.get(id), durations.get(id)) else {
                    continue;
                };
                if availability::free_slots(&s.query(*d as i64, self.now, day, day))
                    .is_ok_and(|slots| !slots.is_empty())
                {
                    free.push(*id);
                }
            }
        }
        Ok(free)
    }

    fn next_free(
        &self,
        conn: &mut DbConnection,
        ids: &[i64],
    ) -> Result<HashMap<i64, DateTime<Utc>>, AppError> {
        let mut out = HashMap::new();
        let today = self.now.date_naive();
        let (first, last) = (
            today - Duration::days(1),
            today + Duration::days(NEXT_FREE_DAYS),
        );
        for chunk in ids.chunks(2000) {
            let (from, to) = utc_window(first, last);
            let schedules = load_schedules(conn, chunk, from, to, None)?;
            let durations = shortest_services(conn, chunk)?;
            for id in chunk {
                let (Some(s), Some(d)) = (schedules.get(id), durations.get(id)) else {
                    continue;
                };
                // A week at a time: most therapists are free within the first.
                let mut day = first;
                while day <= last {
                    let end = (day + Duration::days(6)).min(last);
                    if let Some(slot) =
                        availability::free_slots(&s.query(*d as i64, self.now, day, end))
                            .ok()
                            .and_then(|v| v.into_iter().next())
                    {
                        out.insert(*id, slot.start);
                        break;
                    }
                    day = end + Duration::days(1);
                }
            }
        }
        Ok(out)
    }
}
