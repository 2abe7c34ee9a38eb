//! Booking fixtures: an open therapist with weekly hours, the usual booking scene, free slots
//! and a booking through the API.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::app::{spawn_app, TestApp};
use super::therapist::{make_therapist, Made, Spec};

/// Every question answered "no", then the given ones "yes".
pub fn answers(yes: &[&str]) -> BTreeMap<String, bool> {
    let q = bodywork::domain::screening::questionnaire();
    q.questions
        .iter()
        .map(|x| (x.id.clone(), yes.contains(&x.id.as_str())))
        .collect()
}

/// A verified therapist in Boston working every day 09:00-17:00 (New York time), with one
/// 60-minute service of `technique`.
pub async fn open_therapist(
    app: &TestApp,
    admin_id: i64,
    email: &str,
    techniques: &[&str],
) -> Made {
    let m = make_therapist(
        app,
        admin_id,
        Spec {
            email,
            name: "Open Therapist",
            techniques,
            ..Default::default()
        },
    )
    .await;
    let week: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "start": "09:00", "end": "17:00"}))
        .collect();
    let r = app
        .api_put("/api/v1/me/weekly-hours", &m.token, json!(week))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    m
}

/// The usual start of a booking test: a server, its admin (admin@example.com) and one open
/// therapist (t@example.com, Swedish, every day 09:00-17:00 New York time).
pub struct Scene {
    pub app: TestApp,
    /// The admin's API token.
    pub admin: String,
    pub m: Made,
}

pub async fn scene() -> Scene {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    Scene { app, admin, m }
}

/// A weekday a week or so ahead, far from any DST change questions.
pub fn some_day() -> NaiveDate {
    Utc::now().date_naive() + Duration::days(8)
}

pub async fn slots(app: &TestApp, m: &Made, from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let r = app
        .api_get(
            &format!(
                "/api/v1/therapists/{}/availability?service_id={}&from={from}&to={to}",
                m.therapist_id, m.service_id
            ),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap().to_string())
        .collect()
}

pub async fn book(
    app: &TestApp,
    token: &str,
    m: &Made,
    start: &str,
    yes: &[&str],
    clearance: bool,
) -> reqwest::Response {
    app.api_post(
        "/api/v1/appointments",
        Some(token),
        json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "starts_at": start, "answers": answers(yes), "clearance_confirmed": clearance}),
    )
    .await
}
