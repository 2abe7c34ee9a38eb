//! Waitlist fixtures: a therapist whose days hold one slot (so one booking fills a day), a
//! server whose mail worker runs often, and joining through the API.

use std::time::Duration;

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::app::{spawn_app_with, TestApp};
use super::booking::open_therapist;
use super::therapist::Made;

/// A server whose mail worker polls every 50 ms (the waitlist is checked each round).
pub async fn spawn_waitlist_app() -> TestApp {
    spawn_app_with(|s| {
        s.mail_poll = Duration::from_millis(50);
    })
    .await
}

/// Sets `m`'s weekly hours to `start`-`end` every day (New York time).
pub async fn set_hours(app: &TestApp, m: &Made, start: &str, end: &str) {
    let week: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "start": start, "end": end}))
        .collect();
    let r = app
        .api_put("/api/v1/me/weekly-hours", &m.token, json!(week))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// An open therapist (t@example.com, Swedish 60 min) working 09:00-10:00 every day: one
/// booking fills a day.
pub async fn one_slot_therapist(app: &TestApp, admin_id: i64) -> Made {
    let m = open_therapist(app, admin_id, "t@example.com", &["swedish"]).await;
    set_hours(app, &m, "09:00", "10:00").await;
    m
}

/// `POST /api/v1/waitlist` for `m`'s service.
pub async fn join_waitlist(
    app: &TestApp,
    token: &str,
    m: &Made,
    from: NaiveDate,
    to: NaiveDate,
) -> reqwest::Response {
    app.api_post(
        "/api/v1/waitlist",
        Some(token),
        json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "from": from, "to": to}),
    )
    .await
}
