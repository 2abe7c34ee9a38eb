//! How pages write money, times, zones and techniques (the askama filters in `web::filters` and
//! the handlers use these).

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// "$90", "$92.50".
pub fn money(cents: i64) -> String {
    if cents % 100 == 0 {
        format!("${}", cents / 100)
    } else {
        format!("${}.{:02}", cents / 100, cents % 100)
    }
}

/// "Tue 9 Dec, 09:00 (New York time)".
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!(
        "{} ({} time)",
        local.format("%a %-d %b, %H:%M"),
        zone_city(tz)
    )
}

pub fn zone_city(tz: Tz) -> String {
    tz.name()
        .rsplit('/')
        .next()
        .unwrap_or(tz.name())
        .replace('_', " ")
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

/// Free slots grouped by local day: (day label, [(rfc3339, "09:00")]).
pub fn group_by_day(
    slots: &[crate::domain::availability::Interval],
    tz: chrono_tz::Tz,
) -> Vec<(String, Vec<(String, String)>)> {
    let mut days: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for s in slots {
        let local = s.start.with_timezone(&tz);
        let label = local.format("%A %-d %B").to_string();
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
