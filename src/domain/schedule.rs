//! A therapist's schedule as typed: weekly ranges ("HH:MM" in their own zone), time off and the
//! booking policy, parsed with a message per bad field.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use crate::domain::availability::WeeklyRange;
use crate::domain::FieldErrors;

pub const MAX_RANGES: usize = 50;
pub const MAX_TIME_OFF_DAYS: i64 = 366;
/// The longest advance window a therapist may set: clients book at most this many days ahead.
pub const MAX_ADVANCE_DAYS: i32 = 365;
/// Time off starts at most this many days ahead: two years, twice the longest advance window
/// (a year), so it is never needed later; far-off dates are refused before they reach the
/// database (which could not store some of them).
pub const MAX_TIME_OFF_AHEAD_DAYS: i64 = 730;

/// "09:30" → 570; "24:00" → 1440 (an end at midnight).
pub fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

pub fn format_hhmm(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// One weekly range as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct WeeklyRangeInput {
    /// 1 = Monday .. 7 = Sunday.
    pub weekday: i64,
    /// "HH:MM" in the therapist's zone.
    pub start: String,
    /// "HH:MM" (24:00 for midnight), after start.
    pub end: String,
}

/// Parses the whole week; ranges of one day may not overlap (a break is a gap between two).
pub fn parse_week(input: &[WeeklyRangeInput]) -> Result<Vec<WeeklyRange>, FieldErrors> {
    let mut errors = FieldErrors::new();
    if input.len() > MAX_RANGES {
        errors.insert(
            "ranges".into(),
            format!("At most {MAX_RANGES} ranges a week."),
        );
        return Err(errors);
    }
    let mut out = Vec::new();
    for (i, r) in input.iter().enumerate() {
        let key = format!("ranges[{i}]");
        if !(1..=7).contains(&r.weekday) {
            errors.insert(key, "The weekday is 1 (Monday) to 7 (Sunday).".into());
            continue;
        }
        let (Some(start), Some(end)) = (parse_hhmm(&r.start), parse_hhmm(&r.end)) else {
            errors.insert(key, "Times are HH:MM, such as 09:00 or 17:30.".into());
            continue;
        };
        if start >= end || start >= 1440 {
            errors.insert(
                key,
                format!(
                    "{}: the end ({}) must come after the start ({}).",
                    WEEKDAYS[r.weekday as usize - 1],
                    r.end.trim(),
                    r.start.trim()
                ),
            );
            continue;
        }
        out.push(WeeklyRange {
            weekday: r.weekday as u8,
            start_min: start,
            end_min: end,
        });
    }
    out.sort_by_key(|r| (r.weekday, r.start_min));
    for w in out.windows(2) {
        if w[0].weekday == w[1].weekday && w[1].start_min < w[0].end_min {
            errors.insert(
                "ranges".into(),
                format!(
                    "{}: {}–{} overlaps {}–{}.",
                    WEEKDAYS[w[0].weekday as usize - 1],
                    format_hhmm(w[0].start_min),
                    format_hhmm(w[0].end_min),
                    format_hhmm(w[1].start_min),
                    format_hhmm(w[1].end_min)
                ),
            );
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Time off: a start before the end, at most a year long, not over yet at `now`, and starting
/// at most [`MAX_TIME_OFF_AHEAD_DAYS`] ahead.
pub fn check_time_off(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if starts_at > now + Duration::days(MAX_TIME_OFF_AHEAD_DAYS) {
        errors.insert(
            "starts_at".into(),
            "Time off starts at most two years ahead.".into(),
        );
    }
    if ends_at <= now {
        errors.insert(
            "ends_at".into(),
            "This time off would be over already.".into(),
        );
    } else if ends_at <= starts_at {
        errors.insert(
            "ends_at".into(),
            "The end must come after the start.".into(),
        );
    } else if (ends_at - starts_at).num_days() > MAX_TIME_OFF_DAYS {
        errors.insert(
            "ends_at".into(),
            "Time off lasts at most a year at a time.".into(),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The booking policy as typed.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct PolicyInput {
    /// 0 to 720.
    pub min_notice_hours: i32,
    /// 1 to 365.
    pub max_advance_days: i32,
    /// 0 to 240.
    pub buffer_min: i32,
    /// 0 to 720.
    pub cancellation_window_hours: i32,
    pub auto_confirm: bool,
}

pub fn check_policy(p: &PolicyInput) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::new();
    if !(0..=720).contains(&p.min_notice_hours) {
        e.insert(
            "min_notice_hours".into(),
            "Minimum notice is 0 to 720 hours.".into(),
        );
    }
    if !(1..=MAX_ADVANCE_DAYS).contains(&p.max_advance_days) {
        e.insert(
            "max_advance_days".into(),
            "Clients can book 1 to 365 days ahead.".into(),
        );
    }
    if !(0..=240).contains(&p.buffer_min) {
        e.insert(
            "buffer_min".into(),
            "The buffer is 0 to 240 minutes.".into(),
        );
    }
    if !(0..=720).contains(&p.cancellation_window_hours) {
        e.insert(
            "cancellation_window_hours".into(),
            "The cancellation window is 0 to 720 hours.".into(),
        );
    }
    if e.is_empty() {
        Ok(())
    } else {
        Err(e)
    }
}

// ---- The week as the therapist sees it -------------------------------------------------------

/// Weeks start on Monday, wherever a week is shown (the therapist's week grid, its links, the
/// API's `week_start`).
pub const WEEK_STARTS_ON: Weekday = Weekday::Mon;

/// How far from today (either way) a week view may be asked for.
pub const WEEK_VIEW_MAX_DAYS: i64 = 730;

/// The minutes of a row of the week grid.
pub const GRID_STEP_MIN: u16 = 15;

/// The hours the week grid shows when nothing (hours, bookings, time off) says otherwise.
pub const DEFAULT_AXIS: (u16, u16) = (8 * 60, 18 * 60);

/// The first day of the week holding `day`.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day.week(WEEK_STARTS_ON).first_day()
}

/// The date on the clock of `tz` at `now`.
pub fn local_today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The first day of the week to show: the week holding `asked` (kept within
/// [`WEEK_VIEW_MAX_DAYS`] of today), or else the week holding today on the therapist's clock.
pub fn week_to_show(asked: Option<NaiveDate>, now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let today = local_today(now, tz);
    let max = Duration::days(WEEK_VIEW_MAX_DAYS);
    week_start(asked.unwrap_or(today).clamp(today - max, today + max))
}

/// The instant a local day begins on `tz`'s clock (the first instant of the day when midnight
/// falls in a daylight-saving gap).
pub fn day_begins(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    (0..=3)
        .find_map(|h| {
            tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

/// The part of `[start, end)` on `day` (on `tz`'s clock) as wall-clock minutes from its
/// midnight, `end` 1440 when it runs past the day; `None` when it does not touch that day.
pub fn minutes_on_day(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    day: NaiveDate,
    tz: Tz,
) -> Option<(u16, u16)> {
    let (day_start, day_end) = (day_begins(day, tz), day_begins(day + Duration::days(1), tz));
    let (s, e) = (start.max(day_start), end.min(day_end));
    if s >= e {
        return None;
    }
    let wall = |t: DateTime<Utc>| {
        let l = t.with_timezone(&tz);
        (l.hour() * 60 + l.minute()) as u16
    };
    let from = if s == day_start { 0 } else { wall(s) };
    let to = if e == day_end { 1440 } else { wall(e) };
    Some((from, to.max(from + 1)))
}

/// The hours the week grid shows: whole hours around every span, [`DEFAULT_AXIS`] at least
/// when there is none, at most the whole day.
pub fn grid_axis(spans: impl IntoIterator<Item = (u16, u16)>) -> (u16, u16) {
    let mut axis: Option<(u16, u16)> = None;
    for (s, e) in spans {
        axis = Some(match axis {
            None => (s, e),
            Some((a, b)) => (a.min(s), b.max(e)),
        });
    }
    let (s, e) = axis.unwrap_or(DEFAULT_AXIS);
    let s = (s / 60) * 60;
    let e = e.div_ceil(60) * 60;
    (s.min(1440 - 60), e.clamp(s + 60, 1440))
}

/// Grid rows (1 is the day headings) of the minutes `[start, end)` on an axis starting at
/// `axis_start`: (first row, row after the last), at least one row.
pub fn grid_rows(start: u16, end: u16, axis_start: u16) -> (u16, u16) {
    let first = 2 + start.saturating_sub(axis_start) / GRID_STEP_MIN;
    let after = 2 + end.saturating_sub(axis_start).div_ceil(GRID_STEP_MIN);
    (first, after.max(first + 1))
}

/// A zone as people name it: its city ("New York" for `America/New_York`).
pub fn zone_city(tz: chrono_tz::Tz) -> String {
    tz.name()
        .rsplit('/')
        .next()
        .unwrap_or(tz.name())
        .replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_off_is_bounded_around_now() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let day = Duration::days(1);
        assert!(check_time_off(now + day, now + day * 2, now).is_ok());
        // Already going on: fine while it has not ended.
        assert!(check_time_off(now - day, now + day, now).is_ok());
        let over = check_time_off(now - day * 2, now - day, now).unwrap_err();
        assert!(over.contains_key("ends_at"));
        let far = now + Duration::days(MAX_TIME_OFF_AHEAD_DAYS + 1);
        assert!(check_time_off(far, far + day, now)
            .unwrap_err()
            .contains_key("starts_at"));
        // The far ends of chrono's range are refused, not stored (found by the API fuzzing).
        assert!(check_time_off(
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MIN_UTC + day,
            now
        )
        .is_err());
        assert!(check_time_off(
            DateTime::<Utc>::MAX_UTC - day,
            DateTime::<Utc>::MAX_UTC,
            now
        )
        .is_err());
    }

    #[test]
    fn times_parse_and_format() {
        assert_eq!(parse_hhmm("09:30"), Some(570));
        assert_eq!(parse_hhmm("9:05"), Some(545));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        for bad in ["24:01", "25:00", "12:60", "noon", "12", "12:5"] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
        assert_eq!(format_hhmm(570), "09:30");
    }

    #[test]
    fn a_week_refuses_overlaps_and_backwards_ranges_but_allows_breaks() {
        let r = |d, s: &str, e: &str| WeeklyRangeInput {
            weekday: d,
            start: s.into(),
            end: e.into(),
        };
        let ok = parse_week(&[r(1, "13:00", "18:00"), r(1, "09:00", "12:00")]).unwrap();
        assert_eq!(ok[0].start_min, 540, "sorted");
        assert!(
            parse_week(&[r(1, "09:00", "12:00"), r(1, "11:00", "13:00")])
                .unwrap_err()
                .contains_key("ranges")
        );
        assert!(parse_week(&[r(2, "12:00", "09:00")])
            .unwrap_err()
            .contains_key("ranges[0]"));
        assert!(parse_week(&[r(8, "09:00", "10:00")])
            .unwrap_err()
            .contains_key("ranges[0]"));
    }

    #[test]
    fn policy_limits() {
        let p = PolicyInput {
            min_notice_hours: 2,
            max_advance_days: 365,
            buffer_min: 15,
            cancellation_window_hours: 24,
            auto_confirm: false,
        };
        assert!(check_policy(&p).is_ok());
        assert!(check_policy(&PolicyInput {
            max_advance_days: 366,
            ..p.clone()
        })
        .unwrap_err()
        .contains_key("max_advance_days"));
        assert!(check_policy(&PolicyInput {
            buffer_min: -1,
            ..p
        })
        .unwrap_err()
        .contains_key("buffer_min"));
    }

    #[test]
    fn a_week_starts_on_monday_and_a_sunday_belongs_to_the_week_it_ends() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // Sunday 6 December 2026 is the last day of the week of Monday 30 November.
        assert_eq!(week_start(d(2026, 12, 6)), d(2026, 11, 30));
        assert_eq!(week_start(d(2026, 11, 30)), d(2026, 11, 30));
        assert_eq!(week_start(d(2026, 12, 7)), d(2026, 12, 7));
        let ny: Tz = "America/New_York".parse().unwrap();
        // 03:00 UTC on Monday 7 December is still Sunday evening in New York.
        let now = DateTime::parse_from_rfc3339("2026-12-07T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(local_today(now, ny), d(2026, 12, 6));
        assert_eq!(week_to_show(None, now, ny), d(2026, 11, 30));
        assert_eq!(week_to_show(Some(d(2026, 12, 9)), now, ny), d(2026, 12, 7));
        assert_eq!(
            week_to_show(Some(d(9999, 1, 1)), now, ny),
            week_start(d(2026, 12, 6) + Duration::days(WEEK_VIEW_MAX_DAYS))
        );
    }

    #[test]
    fn spans_are_cut_to_the_local_day_and_placed_on_grid_rows() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        // 09:00-10:30 New York time.
        let (s, e) = (at("2026-12-01T14:00:00Z"), at("2026-12-01T15:30:00Z"));
        assert_eq!(minutes_on_day(s, e, day, ny), Some((540, 630)));
        assert_eq!(minutes_on_day(s, e, day.succ_opt().unwrap(), ny), None);
        // Time off over several days covers the whole middle day.
        let (s, e) = (at("2026-11-30T20:00:00Z"), at("2026-12-02T20:00:00Z"));
        assert_eq!(minutes_on_day(s, e, day, ny), Some((0, 1440)));
        assert_eq!(grid_axis([]), DEFAULT_AXIS);
        assert_eq!(grid_axis([(540, 1020), (450, 500)]), (420, 1020));
        assert_eq!(grid_axis([(0, 1440)]), (0, 1440));
        assert_eq!(grid_rows(540, 600, 480), (6, 10));
        assert_eq!(grid_rows(0, 1440, 480), (2, 2 + 64));
    }
}
