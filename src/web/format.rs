//! How pages write money, times, zones, distances and techniques (the askama filters in
//! `web::filters` and the handlers use these).
//!
//! **Times.** A page shows an instant on the clock of the therapist it concerns, with the zone
//! named ("Mon 30 Nov, 09:00 New York time"), through [`local_time`]; the day is said relative to
//! the viewer's "now" on that clock ([`day_words`]). Only admin pages keep UTC stamps ([`utc`]),
//! for audit; the API keeps RFC 3339 instants.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::domain::gazetteer::DistanceUnit;

/// "$90", "$92.50".
pub fn money(cents: i64) -> String {
    if cents % 100 == 0 {
        format!("${}", cents / 100)
    } else {
        format!("${}.{:02}", cents / 100, cents % 100)
    }
}

/// Days from today beyond which (either way) a date carries its year: about six months.
const YEAR_AFTER_DAYS: i64 = 182;

/// Whether `day` is written with its year, seen from `today`: in another year, or more than
/// about six months away.
fn needs_year(day: NaiveDate, today: NaiveDate) -> bool {
    day.year() != today.year() || (day - today).num_days().abs() > YEAR_AFTER_DAYS
}

/// How a day reads before a time, seen from `today` (both dates on one clock): "today",
/// "tomorrow", the weekday ("Thursday") up to six days ahead, else the date ("Mon 30 Nov"),
/// with the year when it is another year's or more than about six months away
/// ("Mon 7 Jun 2027").
pub fn day_words(day: NaiveDate, today: NaiveDate) -> String {
    match (day - today).num_days() {
        0 => "today".into(),
        1 => "tomorrow".into(),
        2..=6 => day.format("%A").to_string(),
        _ if needs_year(day, today) => day.format("%a %-d %b %Y").to_string(),
        _ => day.format("%a %-d %b").to_string(),
    }
}

/// A day's heading over its free times, seen from `today`: "Today, Sunday 29 November",
/// "Tomorrow, Monday 30 November", "Tuesday 1 December", "Monday 7 June 2027".
pub fn day_heading(day: NaiveDate, today: NaiveDate) -> String {
    use chrono::Datelike;
    // Written out rather than through a strftime pattern: a profile page says seven of them.
    use crate::domain::schedule::WEEKDAYS;
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let prefix = match (day - today).num_days() {
        0 => "Today, ",
        1 => "Tomorrow, ",
        _ => "",
    };
    let weekday = WEEKDAYS[day.weekday().num_days_from_monday() as usize];
    let month = MONTHS[day.month0() as usize];
    if needs_year(day, today) {
        format!("{prefix}{weekday} {} {month} {}", day.day(), day.year())
    } else {
        format!("{prefix}{weekday} {} {month}", day.day())
    }
}

/// An instant on the clock of `tz`, the zone named, the day said as seen at `now` on that clock
/// ([`day_words`]): "today, 09:00 New York time", "Thursday, 14:30 New York time",
/// "Mon 30 Nov, 09:00 New York time".
pub fn local_time(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&tz);
    let today = now.with_timezone(&tz).date_naive();
    format!(
        "{}, {} {} time",
        day_words(local.date_naive(), today),
        local.format("%H:%M"),
        zone_city(tz)
    )
}

/// A span on the clock of `tz`: "Mon 30 Nov, 09:00 to 17:00 New York time" within a day, else
/// "Mon 30 Nov, 09:00 to Wed 2 Dec, 17:00 New York time".
pub fn local_span(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> String {
    let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
    let today = now.with_timezone(&tz).date_naive();
    let until = if s.date_naive() == e.date_naive() {
        e.format("%H:%M").to_string()
    } else {
        format!(
            "{}, {}",
            day_words(e.date_naive(), today),
            e.format("%H:%M")
        )
    };
    format!(
        "{}, {} to {until} {} time",
        day_words(s.date_naive(), today),
        s.format("%H:%M"),
        zone_city(tz)
    )
}

/// A distance given in `unit`, to one decimal: "3.2 mi", "5.1 km"; "under 0.1 mi" rather than
/// "0.0 mi".
pub fn distance(value: f64, unit: DistanceUnit) -> String {
    if value < 0.05 {
        format!("under 0.1 {}", unit.symbol())
    } else {
        format!("{value:.1} {}", unit.symbol())
    }
}

pub fn zone_city(tz: Tz) -> String {
    crate::domain::schedule::zone_city(tz)
}

pub fn technique_name(slug: &str) -> &str {
    crate::domain::technique::find(slug)
        .map(|t| t.name)
        .unwrap_or(slug)
}

/// "2026-12-01 14:05 UTC".
pub fn utc(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Free slots grouped by local day: (day heading ([`day_heading`], seen at `now` on the clock
/// of `tz`), [(rfc3339, "09:00")]).
pub fn group_by_day(
    slots: &[crate::domain::availability::Interval],
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Vec<(String, Vec<(String, String)>)> {
    let today = now.with_timezone(&tz).date_naive();
    let mut days: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for s in slots {
        let local = s.start.with_timezone(&tz);
        let label = day_heading(local.date_naive(), today);
        let item = (
            s.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            local.format("%H:%M").to_string(),
        );
        match days.last_mut() {
            Some((l, v)) if *l == label => v.push(item),
            _ => days.push((label, vec![item])),
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const NY: Tz = chrono_tz::America::New_York;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    /// Sunday 29 November 2026, 15:00 UTC: 10:00 in New York.
    fn now() -> DateTime<Utc> {
        utc(2026, 11, 29, 15, 0)
    }

    #[test]
    fn near_days_read_today_tomorrow_or_the_weekday() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let day = |n: i64| day_words(today + chrono::Duration::days(n), today);
        assert_eq!(day(0), "today");
        assert_eq!(day(1), "tomorrow");
        assert_eq!(day(2), "Tuesday");
        assert_eq!(day(6), "Saturday");
        assert_eq!(
            day(7),
            "Sun 6 Dec",
            "a week on: the date, not a second Sunday"
        );
        assert_eq!(day(-1), "Sat 28 Nov", "a past day is a date");
    }

    #[test]
    fn far_or_next_year_dates_carry_the_year() {
        let june = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        assert_eq!(
            day_words(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(), june),
            "Mon 30 Nov",
            "same year, six months ahead"
        );
        assert_eq!(
            day_words(NaiveDate::from_ymd_opt(2026, 12, 15).unwrap(), june),
            "Tue 15 Dec 2026",
            "more than six months ahead"
        );
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(
            day_words(NaiveDate::from_ymd_opt(2027, 1, 5).unwrap(), today),
            "Tue 5 Jan 2027",
            "another year, however near"
        );
        assert_eq!(
            day_words(NaiveDate::from_ymd_opt(2025, 11, 20).unwrap(), today),
            "Thu 20 Nov 2025"
        );
        assert_eq!(
            day_heading(NaiveDate::from_ymd_opt(2027, 6, 7).unwrap(), today),
            "Monday 7 June 2027"
        );
    }

    #[test]
    fn a_time_is_said_on_the_therapist_s_clock_with_the_zone_named() {
        // 14:00 UTC on Monday 30 November is 09:00 in New York: tomorrow there.
        assert_eq!(
            local_time(utc(2026, 11, 30, 14, 0), NY, now()),
            "tomorrow, 09:00 New York time"
        );
        assert_eq!(
            local_time(utc(2026, 11, 29, 21, 30), NY, now()),
            "today, 16:30 New York time"
        );
        assert_eq!(
            local_time(utc(2026, 12, 3, 14, 0), NY, now()),
            "Thursday, 09:00 New York time"
        );
        assert_eq!(
            local_time(utc(2026, 12, 8, 14, 0), NY, now()),
            "Tue 8 Dec, 09:00 New York time"
        );
        // 03:00 UTC on the 30th is still the 29th, 22:00, in New York: today there.
        assert_eq!(
            local_time(utc(2026, 11, 30, 3, 0), NY, now()),
            "today, 22:00 New York time"
        );
        // "Today" is the therapist's today: at 02:00 UTC on the 30th it is the 29th in LA.
        let la = chrono_tz::America::Los_Angeles;
        assert_eq!(
            local_time(utc(2026, 11, 30, 17, 0), la, utc(2026, 11, 30, 2, 0)),
            "tomorrow, 09:00 Los Angeles time"
        );
        assert_eq!(
            local_time(utc(2027, 1, 4, 14, 0), NY, now()),
            "Mon 4 Jan 2027, 09:00 New York time"
        );
    }

    #[test]
    fn spans_name_the_end_day_only_when_it_differs() {
        assert_eq!(
            local_span(utc(2026, 12, 8, 14, 0), utc(2026, 12, 8, 22, 0), NY, now()),
            "Tue 8 Dec, 09:00 to 17:00 New York time"
        );
        assert_eq!(
            local_span(utc(2026, 12, 8, 14, 0), utc(2026, 12, 10, 22, 0), NY, now()),
            "Tue 8 Dec, 09:00 to Thu 10 Dec, 17:00 New York time"
        );
    }

    #[test]
    fn headings_and_distances() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(day_heading(today, today), "Today, Sunday 29 November");
        assert_eq!(
            day_heading(today + chrono::Duration::days(1), today),
            "Tomorrow, Monday 30 November"
        );
        assert_eq!(
            day_heading(today + chrono::Duration::days(2), today),
            "Tuesday 1 December"
        );
        // Every day of two years says what the strftime pattern says.
        for n in 0..730 {
            let day = today + chrono::Duration::days(n);
            let pattern = if needs_year(day, today) {
                "%A %-d %B %Y"
            } else {
                "%A %-d %B"
            };
            let words = day.format(pattern).to_string();
            let expected = match n {
                0 => format!("Today, {words}"),
                1 => format!("Tomorrow, {words}"),
                _ => words,
            };
            assert_eq!(day_heading(day, today), expected);
        }
        assert_eq!(distance(10.0, DistanceUnit::Mi), "10.0 mi");
        assert_eq!(distance(4.26, DistanceUnit::Km), "4.3 km");
        assert_eq!(distance(0.0, DistanceUnit::Mi), "under 0.1 mi");
    }
}
