//! The numbers behind the charts, as pure rules: weeks (Monday to Sunday), counts and minutes
//! summed per week, and the age groups of the verification queue.

use chrono::{Duration, NaiveDate, NaiveDateTime};

/// How many weeks a weekly chart shows.
pub const WEEKS: usize = 12;
/// Of the admin's bookings chart, how many of the [`WEEKS`] are before the current week (the
/// rest are the current week and the ones after it, which hold bookings already made).
pub const BOOKING_WEEKS_BEFORE: usize = 8;

/// The first day (Monday) of the week of `day`: the week of the therapist's calendar.
pub use crate::domain::schedule::week_start;

/// One week of a weekly series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct WeekValue {
    /// The Monday the week starts on.
    pub week_start: NaiveDate,
    /// What was counted in it (bookings, licenses, or minutes).
    pub value: i64,
}

/// `weeks` weeks from the week of `first`, each with the sum of the values of the days that fall
/// in it (days outside are left out).
pub fn per_week(
    first: NaiveDate,
    weeks: usize,
    days: impl IntoIterator<Item = (NaiveDate, i64)>,
) -> Vec<WeekValue> {
    let start = week_start(first);
    let mut out: Vec<WeekValue> = (0..weeks)
        .map(|i| WeekValue {
            week_start: start + Duration::weeks(i as i64),
            value: 0,
        })
        .collect();
    for (day, value) in days {
        let offset = (day - start).num_days();
        if offset >= 0 && (offset / 7) < weeks as i64 {
            out[(offset / 7) as usize].value += value;
        }
    }
    out
}

/// The age groups of items waiting in the verification queue: (label, from days, below days).
pub const AGE_GROUPS: [(&str, i64, Option<i64>); 5] = [
    ("Under 1 day", 0, Some(1)),
    ("1 to 2 days", 1, Some(3)),
    ("3 to 6 days", 3, Some(7)),
    ("1 to 2 weeks", 7, Some(14)),
    ("Over 2 weeks", 14, None),
];

/// One age group and how many items of the queue are in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AgeGroup {
    pub label: String,
    /// Waiting at least this many whole days.
    pub min_days: i64,
    /// Waiting fewer than this many days (none for the last group).
    pub max_days: Option<i64>,
    pub count: i64,
}

/// How long each submission has waited at `now`, in [`AGE_GROUPS`].
pub fn age_groups(now: NaiveDateTime, submitted: &[NaiveDateTime]) -> Vec<AgeGroup> {
    let mut out: Vec<AgeGroup> = AGE_GROUPS
        .iter()
        .map(|(label, min, max)| AgeGroup {
            label: label.to_string(),
            min_days: *min,
            max_days: *max,
            count: 0,
        })
        .collect();
    for at in submitted {
        let days = (now - *at).num_days().max(0);
        if let Some(g) = out
            .iter_mut()
            .find(|g| days >= g.min_days && g.max_days.is_none_or(|m| days < m))
        {
            g.count += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn days_are_summed_into_their_monday_to_sunday_week() {
        // 2026-11-30 is a Monday.
        assert_eq!(week_start(d("2026-12-06")), d("2026-11-30"));
        assert_eq!(week_start(d("2026-11-30")), d("2026-11-30"));
        let w = per_week(
            d("2026-12-02"),
            3,
            [
                (d("2026-11-29"), 5), // before the first week: left out
                (d("2026-11-30"), 1),
                (d("2026-12-06"), 2),
                (d("2026-12-07"), 4),
                (d("2026-12-20"), 1),
                (d("2026-12-21"), 9), // after the last week: left out
            ],
        );
        let values: Vec<i64> = w.iter().map(|v| v.value).collect();
        assert_eq!(values, vec![3, 4, 1]);
        assert_eq!(w[2].week_start, d("2026-12-14"));
    }

    #[test]
    fn queue_items_fall_in_one_age_group_each() {
        let now = d("2026-11-30").and_hms_opt(12, 0, 0).unwrap();
        let ago = |h: i64| now - Duration::hours(h);
        let g = age_groups(
            now,
            &[
                ago(1),
                ago(23),
                ago(24),
                ago(71),
                ago(72),
                ago(24 * 13),
                ago(24 * 40),
            ],
        );
        let counts: Vec<i64> = g.iter().map(|g| g.count).collect();
        assert_eq!(counts, vec![2, 2, 1, 1, 1]);
    }
}
