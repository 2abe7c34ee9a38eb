//! A therapist's schedule as typed: weekly ranges ("HH:MM" in their own zone), time off and the
//! booking policy, parsed with a message per bad field.

use chrono::{DateTime, Utc};

use crate::domain::availability::WeeklyRange;
use crate::domain::FieldErrors;

pub const MAX_RANGES: usize = 50;
pub const MAX_TIME_OFF_DAYS: i64 = 366;

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

/// Time off: a start before the end, at most a year long.
pub fn check_time_off(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if ends_at <= starts_at {
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
    if !(1..=365).contains(&p.max_advance_days) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
