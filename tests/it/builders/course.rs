//! Course fixtures: a therapist's policy for long courses, the next daylight-saving change of a
//! zone, a course's first start across it, and a course booked through the API.

use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::app::TestApp;
use super::booking::answers;
use super::therapist::Made;

/// The therapist's policy: no notice, a year ahead, no buffer, the given cancellation window
/// and auto-confirm.
pub async fn set_course_policy(app: &TestApp, m: &Made, window_hours: i32, auto_confirm: bool) {
    let r = app
        .api_put(
            "/api/v1/me/booking-policy",
            &m.token,
            json!({"min_notice_hours": 0, "max_advance_days": 365, "buffer_min": 0,
                   "cancellation_window_hours": window_hours, "auto_confirm": auto_confirm}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

/// The first day after `from` on which `tz`'s offset differs from the day before's.
fn next_offset_change(tz: Tz, from: NaiveDate) -> NaiveDate {
    let offset = |d: NaiveDate| tz.offset_from_utc_date(&d).fix().local_minus_utc();
    let mut d = from;
    loop {
        let next = d + Duration::days(1);
        if offset(next) != offset(d) {
            return next;
        }
        d = next;
    }
}

/// A first start at 10:00 on `tz`'s clock, three weeks before its next offset change that is
/// at least two days away: a weekly course of six crosses it.
pub fn first_start_across_dst(tz: Tz) -> DateTime<Utc> {
    let today = Utc::now().with_timezone(&tz).date_naive();
    let mut change = next_offset_change(tz, today + Duration::days(2));
    while change - Duration::days(21) <= today + Duration::days(1) {
        change = next_offset_change(tz, change + Duration::days(1));
    }
    let day = change - Duration::days(21);
    tz.from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// `POST /api/v1/courses` for `m`'s service with every answer "no".
pub async fn book_course(
    app: &TestApp,
    token: &str,
    m: &Made,
    first: DateTime<Utc>,
    sessions: i64,
    on_conflict: &str,
) -> reqwest::Response {
    app.api_post(
        "/api/v1/courses",
        Some(token),
        json!({"therapist_id": m.therapist_id, "service_id": m.service_id,
               "first_starts_at": first.to_rfc3339(), "sessions": sessions, "every_weeks": 1,
               "answers": answers(&[]), "on_conflict": on_conflict,
               "cancellation_window_acknowledged": true}),
    )
    .await
}

/// The appointments of a course answer (`{appointments: [{id, starts_at, ...}]}`).
pub fn course_starts(v: &Value) -> Vec<String> {
    v["appointments"]
        .as_array()
        .expect("appointments")
        .iter()
        .map(|a| a["starts_at"].as_str().unwrap().to_string())
        .collect()
}
