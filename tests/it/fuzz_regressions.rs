//! What fuzzing the API found (`.ci/fuzz` and the probes around it), each kept here as the
//! request that once failed: dates at the far ends of what the JSON's RFC 3339 parser accepts
//! (years -262143 and +262142). Each must be refused as a 422 naming its field, never a 500
//! or a panic, and never stored.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{answers, book, scene, slots, some_day, with_conn, Scene};

async fn field_error(r: reqwest::Response, field: &str) {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    assert!(body["error"]["fields"][field].is_string(), "{body}");
}

/// A course whose first session is in year 262142: adding its weeks overflowed the calendar
/// (a panic in `domain::course::series`, answered 500).
#[tokio::test]
async fn a_course_at_the_end_of_the_calendar_is_a_422() {
    let Scene { app, m, .. } = scene().await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    for first in [
        "+262142-12-01T10:00:00Z",
        "-262143-01-02T10:00:00Z",
        "2999-01-04T15:00:00Z",
    ] {
        let r = app
            .api_post(
                "/api/v1/courses",
                Some(&client),
                json!({"therapist_id": m.therapist_id, "service_id": m.service_id,
                       "first_starts_at": first, "sessions": 12, "every_weeks": 2,
                       "answers": answers(&[]), "on_conflict": "skip",
                       "cancellation_window_acknowledged": true}),
            )
            .await;
        field_error(r, "first_starts_at").await;
    }
    let courses: i64 = with_conn(&app, |conn| {
        use bodywork::db::schema::courses::dsl::*;
        use diesel::prelude::*;
        courses.count().get_result(conn).unwrap()
    });
    assert_eq!(courses, 0);
}

/// Time off in year -262143 (PostgreSQL cannot store it: a 500) or +262142 (SQLite stored it,
/// and then the list, which compares the stored text, never showed it again), or already over.
#[tokio::test]
async fn time_off_far_away_or_over_is_a_422_and_not_stored() {
    let Scene { app, m, .. } = scene().await;
    for (start, end, field) in [
        (
            "-262143-01-01T00:00:00Z",
            "-262143-01-02T00:00:00Z",
            "ends_at",
        ),
        (
            "+262142-12-30T00:00:00Z",
            "+262142-12-31T00:00:00Z",
            "starts_at",
        ),
        ("2001-01-01T00:00:00Z", "2001-01-02T00:00:00Z", "ends_at"),
    ] {
        let r = app
            .api_post(
                "/api/v1/me/time-off",
                Some(&m.token),
                json!({"starts_at": start, "ends_at": end}),
            )
            .await;
        field_error(r, field).await;
    }
    let stored: i64 = with_conn(&app, |conn| {
        use bodywork::db::schema::time_off::dsl::*;
        use diesel::prelude::*;
        time_off
            .filter(therapist_id.eq(m.therapist_id))
            .count()
            .get_result(conn)
            .unwrap()
    });
    assert_eq!(stored, 0);
    // A near one is still fine.
    let start = chrono::Utc::now() + chrono::Duration::days(30);
    let r = app
        .api_post(
            "/api/v1/me/time-off",
            Some(&m.token),
            json!({"starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::days(2)).to_rfc3339()}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// A booking, a therapist's entry and a move to a time in year -262143: the engine's window
/// around it overflowed (a panic in `search::schedules::utc_window`, answered 500). A time that
/// far is simply not open, like any time beyond the advance window.
#[tokio::test]
async fn a_time_at_the_start_of_the_calendar_is_not_open() {
    let Scene { app, m, .. } = scene().await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let free = slots(&app, &m, some_day(), some_day()).await;
    let r = book(&app, &client, &m, &free[0], &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for far in ["-262143-01-01T10:00:00Z", "+262142-12-31T10:00:00Z"] {
        let booked = book(&app, &client, &m, far, &[], false).await;
        let entered = app
            .api_post(
                "/api/v1/me/appointments",
                Some(&m.token),
                json!({"service_id": m.service_id, "starts_at": far,
                       "client_email": "walk-in@example.com", "client_name": "Walk In"}),
            )
            .await;
        let moved = app
            .api_post(
                &format!("/api/v1/appointments/{id}/reschedule"),
                Some(&client),
                json!({"starts_at": far, "cancellation_window_acknowledged": true}),
            )
            .await;
        for (what, r) in [("book", booked), ("enter", entered), ("move", moved)] {
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            assert_eq!(status, StatusCode::CONFLICT, "{what} {far}: {body}");
            assert_eq!(body["error"]["code"], "slot_unavailable", "{what} {far}");
        }
    }
}
