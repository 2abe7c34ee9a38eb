//! Courses of therapy: the series of a course (every session at the first one's local
//! wall-clock time on the therapist's clock, across daylight-saving changes), the parse of what
//! a client asks for with its limits, a session's state before booking, and the nearest free
//! time of a session's week. Pure: `services::course` reads the schedule and books.
//!
//! Why courses exist: the study that made massage a recommended treatment for low back pain
//! gave one session a week for ten weeks; the default course is that.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::FieldErrors;

/// Fewest and most sessions of a course.
pub const MIN_SESSIONS: u32 = 2;
pub const MAX_SESSIONS: u32 = 12;
/// The default course: the study's ten weekly sessions.
pub const DEFAULT_SESSIONS: u32 = 10;
pub const DEFAULT_EVERY_WEEKS: u32 = 1;
/// The line that says why a course is offered (profile, booking page, course page).
pub const WHY: &str = "The study that made massage a recommended treatment for low back pain gave one massage a week for ten weeks.";

/// What to do when some sessions of the series cannot be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// All or nothing: one taken session refuses the course (409 `course_conflict`).
    Fail,
    /// Book the free sessions and skip the others.
    Skip,
}

impl OnConflict {
    pub fn parse(s: &str) -> Option<OnConflict> {
        match s {
            "fail" => Some(OnConflict::Fail),
            "skip" => Some(OnConflict::Skip),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Fail => "fail",
            OnConflict::Skip => "skip",
        }
    }
}

/// The shape of a course: how many sessions, how far apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CourseShape {
    pub sessions: u32,
    pub every_weeks: u32,
}

impl CourseShape {
    /// Checks the limits: 2 to 12 sessions, weekly or every two weeks (a message per field).
    pub fn parse(sessions: i64, every_weeks: i64) -> Result<CourseShape, FieldErrors> {
        let mut f = FieldErrors::new();
        if !(MIN_SESSIONS as i64..=MAX_SESSIONS as i64).contains(&sessions) {
            f.insert(
                "sessions".into(),
                format!("A course has {MIN_SESSIONS} to {MAX_SESSIONS} sessions."),
            );
        }
        if every_weeks != 1 && every_weeks != 2 {
            f.insert(
                "every_weeks".into(),
                "Choose weekly or every two weeks.".into(),
            );
        }
        if f.is_empty() {
            Ok(CourseShape {
                sessions: sessions as u32,
                every_weeks: every_weeks as u32,
            })
        } else {
            Err(f)
        }
    }
}

impl Default for CourseShape {
    fn default() -> Self {
        CourseShape {
            sessions: DEFAULT_SESSIONS,
            every_weeks: DEFAULT_EVERY_WEEKS,
        }
    }
}

/// One session of a series: its number (from 1), its local wall-clock start on the
/// therapist's clock, and its instant, `None` when that local time does not exist that day
/// (it falls in a spring-forward gap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesSession {
    pub number: u32,
    pub local: NaiveDateTime,
    pub start: Option<DateTime<Utc>>,
}

/// The instant a local wall-clock time names in `tz`: the earlier of two when the clock is set
/// back (the first pass of that hour), `None` when the clock jumps over it.
pub fn instant_of(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A course's first session is at most this many days from now, before or after: no
/// therapist takes bookings more than a year ahead, and the series' week arithmetic stays far
/// from the ends of the calendar (where it would overflow).
pub const FIRST_START_REACH_DAYS: i64 = 366;

/// `first_starts_at` of a course request against [`FIRST_START_REACH_DAYS`].
pub fn check_first_start(first: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), FieldErrors> {
    let reach = Duration::days(FIRST_START_REACH_DAYS);
    if first > now + reach || first < now - reach {
        let mut f = FieldErrors::new();
        f.insert(
            "first_starts_at".into(),
            "The first session is at most a year from now.".into(),
        );
        return Err(f);
    }
    Ok(())
}

/// The series of a course that starts at `first` (within [`check_first_start`]'s reach): session k (from 0) at the first one's local
/// date plus `k * every_weeks` weeks, at the same local wall-clock time in `tz`. Adding weeks
/// to the local time (not to the instant) is what keeps the hour across a DST change.
pub fn series(first: DateTime<Utc>, tz: Tz, shape: CourseShape) -> Vec<SeriesSession> {
    let local0 = first.with_timezone(&tz).naive_local();
    (0..shape.sessions)
        .map(|k| {
            let local = local0 + Duration::weeks((k * shape.every_weeks) as i64);
            let start = if k == 0 {
                Some(first)
            } else {
                instant_of(tz, local)
            };
            SeriesSession {
                number: k + 1,
                local,
                start,
            }
        })
        .collect()
}

/// Where a session stands before booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Bookable as it is.
    Free,
    /// Another booking holds it (`slot_taken`).
    Taken,
    /// Outside the therapist's hours, in time off, too soon or beyond the advance window
    /// (`slot_unavailable`), or that local time does not exist that day.
    Unavailable,
}

impl SessionState {
    /// The API's reason for a session that is not free.
    pub fn reason(self) -> &'static str {
        match self {
            SessionState::Free => "free",
            SessionState::Taken => "slot_taken",
            SessionState::Unavailable => "slot_unavailable",
        }
    }

    /// The page's words.
    pub fn words(self) -> &'static str {
        match self {
            SessionState::Free => "Free",
            SessionState::Taken => "Taken",
            SessionState::Unavailable => "Outside hours or booking window",
        }
    }

    /// The state of a booking error's code (`slot_taken` or anything else that refuses).
    pub fn of_code(code: &str) -> SessionState {
        if code == "slot_taken" {
            SessionState::Taken
        } else {
            SessionState::Unavailable
        }
    }
}

/// How far either side of a session its week reaches when looking for another time: three
/// days, so the week is the seven days around the wanted day.
pub const WEEK_REACH_DAYS: i64 = 3;

/// The free start nearest to `wanted` within its week (`WEEK_REACH_DAYS` either side); on a
/// tie the earlier. `free` are the free starts of that therapist and service.
pub fn nearest_free_in_week(
    free: &[DateTime<Utc>],
    wanted: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let reach = Duration::days(WEEK_REACH_DAYS);
    free.iter()
        .copied()
        .filter(|t| *t != wanted && (*t - wanted).abs() <= reach)
        .min_by_key(|t| ((*t - wanted).num_seconds().abs(), *t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Offset, Timelike};
    use proptest::prelude::*;

    #[test]
    fn the_first_start_is_within_a_year() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        assert!(check_first_start(now + Duration::days(7), now).is_ok());
        assert!(check_first_start(now + Duration::days(FIRST_START_REACH_DAYS + 1), now).is_err());
        assert!(check_first_start(now - Duration::days(FIRST_START_REACH_DAYS + 1), now).is_err());
        // The ends of chrono's range (found by the API fuzzing: the series overflowed, a panic).
        assert!(check_first_start(DateTime::<Utc>::MAX_UTC, now).is_err());
        assert!(check_first_start(DateTime::<Utc>::MIN_UTC, now).is_err());
    }

    const ZONES: [Tz; 10] = [
        chrono_tz::America::New_York,
        chrono_tz::America::Los_Angeles,
        chrono_tz::America::Sao_Paulo,
        chrono_tz::Europe::London,
        chrono_tz::Europe::Berlin,
        chrono_tz::Australia::Sydney,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Pacific::Chatham,
        chrono_tz::UTC,
    ];

    /// A reference computation that does not use chrono-tz's local resolution: every offset
    /// the zone has within a day of `local` is tried, and the earliest UTC instant whose local
    /// time in `tz` is `local` wins.
    fn reference(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let around = local.and_utc();
        let mut offsets: Vec<i32> = (-26..=26)
            .map(|h| {
                tz.offset_from_utc_datetime(&(around + Duration::hours(h)).naive_utc())
                    .fix()
                    .local_minus_utc()
            })
            .collect();
        offsets.sort();
        offsets.dedup();
        offsets
            .into_iter()
            .map(|off| (local - Duration::seconds(off as i64)).and_utc())
            .filter(|utc| utc.with_timezone(&tz).naive_local() == local)
            .min()
    }

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn ten_weekly_sessions_keep_ten_o_clock_across_the_spring_change_in_new_york() {
        let tz = chrono_tz::America::New_York;
        // 2027-03-14 the clocks go forward: the instants move an hour earlier in UTC.
        let first = at(tz, 2027, 2, 25, 10, 0);
        let s = series(first, tz, CourseShape::default());
        assert_eq!(s.len(), 10);
        for x in &s {
            let local = x.start.unwrap().with_timezone(&tz);
            assert_eq!((local.hour(), local.minute()), (10, 0), "{x:?}");
        }
        // 11 March to 18 March holds the change: an hour shorter than a week.
        assert_eq!(
            s[2].start.unwrap() - s[1].start.unwrap(),
            Duration::weeks(1)
        );
        assert_eq!(
            s[3].start.unwrap() - s[2].start.unwrap(),
            Duration::hours(167)
        );
        assert_eq!(
            s[4].start.unwrap() - s[3].start.unwrap(),
            Duration::weeks(1)
        );
    }

    #[test]
    fn a_time_the_clock_jumps_over_has_no_instant_and_a_repeated_one_takes_the_first_pass() {
        let tz = chrono_tz::America::New_York;
        let first = at(tz, 2027, 3, 7, 2, 30);
        let s = series(
            first,
            tz,
            CourseShape {
                sessions: 2,
                every_weeks: 1,
            },
        );
        assert_eq!(s[1].start, None);
        let local = NaiveDate::from_ymd_opt(2027, 11, 7)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        let first_pass = instant_of(tz, local).unwrap();
        assert_eq!(
            first_pass
                .with_timezone(&tz)
                .offset()
                .fix()
                .local_minus_utc(),
            -4 * 3600
        );
    }

    #[test]
    fn the_shape_has_limits_with_a_message_per_field() {
        assert!(CourseShape::parse(10, 1).is_ok());
        assert!(CourseShape::parse(12, 2).is_ok());
        let e = CourseShape::parse(1, 3).unwrap_err();
        assert!(e.contains_key("sessions") && e.contains_key("every_weeks"));
        assert!(CourseShape::parse(13, 1)
            .unwrap_err()
            .contains_key("sessions"));
    }

    #[test]
    fn the_nearest_free_time_stays_in_the_week_and_prefers_the_earlier_on_a_tie() {
        let tz = chrono_tz::UTC;
        let wanted = at(tz, 2027, 1, 6, 10, 0);
        let free = vec![
            at(tz, 2027, 1, 1, 10, 0),
            at(tz, 2027, 1, 6, 9, 0),
            at(tz, 2027, 1, 6, 11, 0),
            at(tz, 2027, 1, 12, 10, 0),
        ];
        assert_eq!(nearest_free_in_week(&free, wanted), Some(free[1]));
        assert_eq!(nearest_free_in_week(&[free[0], free[3]], wanted), None);
    }

    proptest! {
        #[test]
        fn every_session_keeps_the_first_ones_wall_clock_and_is_weekly_in_local_time(
            zone in 0..ZONES.len(),
            secs in 1_767_225_600i64..1_893_456_000i64, // 2026 to 2030
            sessions in MIN_SESSIONS..=MAX_SESSIONS,
            every in 1u32..=2,
        ) {
            let tz = ZONES[zone];
            let first = DateTime::from_timestamp(secs - secs % 300, 0).unwrap();
            let shape = CourseShape { sessions, every_weeks: every };
            let s = series(first, tz, shape);
            prop_assert_eq!(s.len(), sessions as usize);
            let local0 = first.with_timezone(&tz).naive_local();
            prop_assert_eq!(s[0].start, Some(first));
            for (k, x) in s.iter().enumerate() {
                prop_assert_eq!(x.number as usize, k + 1);
                // Strictly weekly in local time: the same clock, k * every weeks later.
                prop_assert_eq!(x.local, local0 + Duration::weeks((k as u32 * every) as i64));
                prop_assert_eq!(x.local.time(), local0.time());
                if k > 0 {
                    prop_assert_eq!(x.start, reference(tz, x.local));
                }
                if let Some(t) = x.start {
                    prop_assert_eq!(t.with_timezone(&tz).naive_local(), x.local);
                }
            }
            for w in s.windows(2) {
                if let (Some(a), Some(b)) = (w[0].start, w[1].start) {
                    prop_assert!(b > a);
                }
            }
        }
    }
}
