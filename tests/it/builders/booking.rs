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

/// Adds a service to `m`'s therapist through the API and returns its id.
pub async fn with_service(
    app: &TestApp,
    m: &Made,
    technique: &str,
    duration_min: i32,
    price_cents: i64,
) -> i64 {
    let r = app
        .api_post(
            "/api/v1/me/services",
            Some(&m.token),
            json!({"technique": technique, "duration_min": duration_min, "price_cents": price_cents}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    v["id"].as_i64().expect("service id")
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

/// Books through the API as a client who read the availability: a time inside the cancellation
/// window is acknowledged (`cancellation_window_acknowledged`), as the API asks.
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
        json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "starts_at": start, "answers": answers(yes), "clearance_confirmed": clearance, "cancellation_window_acknowledged": true}),
    )
    .await
}

/// An appointment of `m`'s service written straight into the database (booking takes future
/// times only), 60 minutes from `from_now` (negative: in the past); `status` as stored
/// (`requested`, `completed`, ...). Returns its id.
pub fn appointment_at(
    app: &TestApp,
    m: &Made,
    client_id: i64,
    from_now: Duration,
    status: &str,
) -> i64 {
    use bodywork::domain::appointment::AppointmentStatus;
    use bodywork::models::appointment::NewAppointment;
    let status = AppointmentStatus::parse(status).expect("a stored status");
    let starts = bodywork::models::now() + from_now;
    let ends = starts + Duration::minutes(60);
    super::app::with_conn(app, |conn| {
        NewAppointment {
            therapist_id: m.therapist_id,
            client_id,
            service_id: m.service_id,
            starts_at: starts,
            ends_at: ends,
            blocked_until: ends,
            status,
            screening_version: bodywork::domain::screening::questionnaire().version,
            screening_answers: String::new(),
            screening_outcome: "ok".into(),
            clearance_confirmed: false,
            created_at: starts - Duration::days(7),
            updated_at: starts - Duration::days(7),
            visit: bodywork::domain::appointment::Visit::Studio,
            client_address: String::new(),
            screening_pending: false,
            entered_by: None,
            entry_note: String::new(),
        }
        .insert(conn)
        .expect("appointment written")
    })
}

/// Sets `m`'s booking policy: no notice, 60 days ahead, 15 minutes' buffer, the given
/// cancellation window, confirm by hand.
pub async fn set_cancellation_window(app: &TestApp, m: &Made, hours: i32) {
    let r = app
        .api_put(
            "/api/v1/me/booking-policy",
            &m.token,
            json!({"min_notice_hours": 0, "max_advance_days": 60, "buffer_min": 15,
                   "cancellation_window_hours": hours, "auto_confirm": false}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}
