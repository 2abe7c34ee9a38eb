//! Safe retries (`Idempotency-Key`): the API's bookings and courses, and the booking pages'
//! one key per rendered form. Each race runs on both backends.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    answers, book, book_course, csrf_from, form_key_from, page_login, scene, slots, some_day, Made,
    Scene, TestApp,
};
use bodywork::db::schema::{appointments, courses, idempotency_keys};

fn body(m: &Made, start: &str) -> Value {
    json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "starts_at": start,
           "answers": answers(&[]), "cancellation_window_acknowledged": true})
}

fn bookings_of(app: &TestApp, client_id: i64) -> i64 {
    appointments::table
        .filter(appointments::client_id.eq(client_id))
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

async fn json_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn a_retried_booking_answers_the_first_answer_and_books_once() {
    let Scene { app, m, .. } = scene().await;
    let list = slots(&app, &m, some_day(), some_day()).await;
    let (client_id, token) = app.api_user("c@example.com", "client").await;
    let path = "/api/v1/appointments";
    let first = app
        .api_post_keyed(path, &token, "retry-1", body(&m, &list[4]))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_text = first.text().await.unwrap();
    // The same key and body: the first answer again, byte for byte, and nothing booked twice.
    let again = app
        .api_post_keyed(path, &token, "retry-1", body(&m, &list[4]))
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first_text);
    assert_eq!(bookings_of(&app, client_id), 1);
    // The same body with its fields in another order is the same request.
    let reordered = json!({"cancellation_window_acknowledged": true, "answers": answers(&[]),
        "starts_at": list[4], "service_id": m.service_id, "therapist_id": m.therapist_id});
    let r = app.api_post_keyed(path, &token, "retry-1", reordered).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The same key with another body: refused, nothing booked.
    let (status, v) = json_of(
        app.api_post_keyed(path, &token, "retry-1", body(&m, &list[20]))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "idempotency_key_reused");
    assert_eq!(bookings_of(&app, client_id), 1);
    // Another caller's key of the same name is theirs.
    let (other_id, other) = app.api_user("d@example.com", "client").await;
    let r = app
        .api_post_keyed(path, &other, "retry-1", body(&m, &list[20]))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(bookings_of(&app, other_id), 1);
    // Without a key nothing changes: a second identical booking is refused by the slot.
    let r = book(&app, &token, &m, &list[4], &[], false).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_malformed_key_is_refused_before_anything_is_booked() {
    let Scene { app, m, .. } = scene().await;
    let list = slots(&app, &m, some_day(), some_day()).await;
    let (client_id, token) = app.api_user("c@example.com", "client").await;
    let long = "k".repeat(201);
    for key in ["", "two words", long.as_str()] {
        let (status, v) = json_of(
            app.api_post_keyed("/api/v1/appointments", &token, key, body(&m, &list[4]))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{key:?}: {v}");
        assert_eq!(v["error"]["code"], "invalid_idempotency_key", "{key:?}");
    }
    assert_eq!(bookings_of(&app, client_id), 0);
    let ok = "k".repeat(200);
    let r = app
        .api_post_keyed("/api/v1/appointments", &token, &ok, body(&m, &list[4]))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_refused_booking_keeps_no_key_and_an_expired_key_is_new() {
    let Scene { app, m, .. } = scene().await;
    let list = slots(&app, &m, some_day(), some_day()).await;
    let (_, other) = app.api_user("d@example.com", "client").await;
    let r = book(&app, &other, &m, &list[4], &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (client_id, token) = app.api_user("c@example.com", "client").await;
    let path = "/api/v1/appointments";
    // Taken: 409, and the key is not kept, so the client may use it for the next try.
    let r = app
        .api_post_keyed(path, &token, "k1", body(&m, &list[4]))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = app
        .api_post_keyed(path, &token, "k1", body(&m, &list[20]))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(bookings_of(&app, client_id), 1);
    // The stored request and answer are sealed: no answers, address or names in clear.
    let rows: Vec<(String, Option<i32>, Option<String>)> = idempotency_keys::table
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
        ))
        .load(&mut app.conn())
        .unwrap();
    assert_eq!(rows.len(), 1);
    let (request, status, answer) = &rows[0];
    assert_eq!(*status, Some(201));
    for sealed in [request, answer.as_ref().unwrap()] {
        assert!(sealed.starts_with("v2:"), "{sealed}");
        assert!(!sealed.contains("answers") && !sealed.contains("Open Therapist"));
    }
    // 25 hours later the key counts as new: the request runs again (and meets its own booking).
    diesel::update(idempotency_keys::table)
        .set(idempotency_keys::created_at.eq((Utc::now() - Duration::hours(25)).naive_utc()))
        .execute(&mut app.conn())
        .unwrap();
    let r = app
        .api_post_keyed(path, &token, "k1", body(&m, &list[20]))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "run again, not replayed");
    // The housekeeping's purge deletes keys older than 24 hours.
    let purged = bodywork::services::idempotency::purge(&mut app.conn(), Utc::now()).unwrap();
    assert_eq!(purged, 1);
}

#[tokio::test]
async fn identical_bookings_sent_at_once_book_once() {
    let Scene { app, m, .. } = scene().await;
    let list = slots(&app, &m, some_day(), some_day()).await;
    let (client_id, token) = app.api_user("c@example.com", "client").await;
    let sends = (0..8).map(|_| {
        app.api_post_keyed(
            "/api/v1/appointments",
            &token,
            "at-once",
            body(&m, &list[4]),
        )
    });
    let answers = futures_util::future::join_all(sends).await;
    let mut ids = Vec::new();
    for r in answers {
        let (status, v) = json_of(r).await;
        match status {
            StatusCode::CREATED => ids.push(v["id"].as_i64().unwrap()),
            // Only while the first is still running (never a second booking's slot_taken).
            StatusCode::CONFLICT => {
                assert_eq!(v["error"]["code"], "idempotency_key_in_progress", "{v}")
            }
            other => panic!("{other}: {v}"),
        }
    }
    assert!(!ids.is_empty());
    ids.dedup();
    assert_eq!(ids.len(), 1, "every 201 names the one booking");
    assert_eq!(bookings_of(&app, client_id), 1);
}

#[tokio::test]
async fn a_course_sent_twice_at_once_is_booked_once() {
    let Scene { app, m, .. } = scene().await;
    let list = slots(&app, &m, some_day(), some_day()).await;
    let first: DateTime<Utc> = list[4].parse().unwrap();
    let (client_id, token) = app.api_user("c@example.com", "client").await;
    let course = json!({"therapist_id": m.therapist_id, "service_id": m.service_id,
        "first_starts_at": first.to_rfc3339(), "sessions": 3, "every_weeks": 1,
        "answers": answers(&[]), "on_conflict": "fail", "cancellation_window_acknowledged": true});
    let sends =
        (0..4).map(|_| app.api_post_keyed("/api/v1/courses", &token, "course-1", course.clone()));
    let mut ids = Vec::new();
    for r in futures_util::future::join_all(sends).await {
        let (status, v) = json_of(r).await;
        match status {
            StatusCode::CREATED => ids.push(v["id"].as_i64().unwrap()),
            StatusCode::CONFLICT => {
                assert_eq!(v["error"]["code"], "idempotency_key_in_progress", "{v}")
            }
            other => panic!("{other}: {v}"),
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let made: i64 = courses::table
        .filter(courses::client_id.eq(client_id))
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    assert_eq!(made, 1);
    assert_eq!(bookings_of(&app, client_id), 3);
    // A retry later gets the same answer; another body with the key is refused.
    let (status, v) = json_of(
        app.api_post_keyed("/api/v1/courses", &token, "course-1", course)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["id"].as_i64(), Some(ids[0]));
    let r = book_course(&app, &token, &m, first + Duration::hours(2), 2, "fail").await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "no key: an ordinary course"
    );
}

/// The booking page's form fields for `start` with the health form answered.
async fn book_form(
    app: &TestApp,
    page: &reqwest::Client,
    m: &Made,
    start: &str,
) -> Vec<(String, String)> {
    let start = start
        .parse::<DateTime<Utc>>()
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let query = serde_urlencoded::to_string([
        ("therapist", m.therapist_id.to_string()),
        ("service", m.service_id.to_string()),
        ("start", start.clone()),
    ])
    .unwrap();
    let html = page
        .get(app.url(&format!("/book?{query}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    vec![
        ("csrf_token".into(), csrf_from(&html)),
        ("idempotency_key".into(), form_key_from(&html)),
        ("therapist".into(), m.therapist_id.to_string()),
        ("service".into(), m.service_id.to_string()),
        ("start".into(), start),
        ("applies".into(), "none".into()),
        ("window_acknowledged".into(), "on".into()),
    ]
}

#[tokio::test]
async fn a_booking_form_submitted_twice_books_once_and_both_lead_to_it() {
    let Scene { app, m, .. } = scene().await;
    let list = slots(&app, &m, some_day(), some_day()).await;
    let (client_id, _) = app.api_user("c@example.com", "client").await;
    let page = page_login(&app, "c@example.com").await;
    let form = book_form(&app, &page, &m, &list[4]).await;
    // Two submits of one rendered form at once (a double click), then a third later.
    let send = || page.post(app.url("/book")).form(&form).send();
    let (a, b) = tokio::join!(send(), send());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.status(), StatusCode::SEE_OTHER);
    let to = a.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/bookings/"), "{to}");
    assert_eq!(b.headers()["location"].to_str().unwrap(), to);
    let c = send().await.unwrap();
    assert_eq!(c.status(), StatusCode::SEE_OTHER);
    assert_eq!(c.headers()["location"].to_str().unwrap(), to);
    assert_eq!(bookings_of(&app, client_id), 1);
    // A new rendering of the form has a new key: a new booking of another time works.
    let other = book_form(&app, &page, &m, &list[20]).await;
    assert_ne!(other[1].1, form[1].1, "one key per rendered form");
    let r = page
        .post(app.url("/book"))
        .form(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_ne!(r.headers()["location"].to_str().unwrap(), to);
    assert_eq!(bookings_of(&app, client_id), 2);
}

#[tokio::test]
async fn a_form_that_comes_back_keeps_its_key_and_a_course_form_books_once() {
    let Scene { app, m, .. } = scene().await;
    let list = slots(&app, &m, some_day(), some_day()).await;
    let (client_id, _) = app.api_user("c@example.com", "client").await;
    let page = page_login(&app, "c@example.com").await;
    let mut form = book_form(&app, &page, &m, &list[4]).await;
    // Without the health answers the form comes back, with the same key (nothing booked).
    form.retain(|(k, _)| k != "applies");
    let r = page
        .post(app.url("/book"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(form_key_from(&r.text().await.unwrap()), form[1].1);
    // The course page: a double submit makes one course.
    let first: DateTime<Utc> = list[4].parse().unwrap();
    let start = first.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let query = serde_urlencoded::to_string([
        ("therapist", m.therapist_id.to_string()),
        ("service", m.service_id.to_string()),
        ("start", start.clone()),
        ("sessions", "3".into()),
    ])
    .unwrap();
    let html = page
        .get(app.url(&format!("/book/course?{query}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let course_form = [
        ("csrf_token", csrf_from(&html)),
        ("idempotency_key", form_key_from(&html)),
        ("therapist", m.therapist_id.to_string()),
        ("service", m.service_id.to_string()),
        ("start", start),
        ("sessions", "3".into()),
        ("every", "1".into()),
        ("visit", "studio".into()),
        ("on_conflict", "fail".into()),
        ("applies", "none".into()),
        ("window_acknowledged", "on".into()),
    ];
    let send = || page.post(app.url("/book/course")).form(&course_form).send();
    let (a, b) = tokio::join!(send(), send());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.status(), StatusCode::SEE_OTHER);
    let to = a.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/courses/"), "{to}");
    assert_eq!(b.headers()["location"].to_str().unwrap(), to);
    assert_eq!(bookings_of(&app, client_id), 3);
}

/// The answer of a keyed request is stored in the transaction of what it made: a booking never
/// commits without it (so a server that dies right after the commit leaves a key whose retry
/// gets the first answer, not a key that stays "in progress"), and an answer that cannot be
/// stored takes what was made back with it.
#[tokio::test]
async fn a_keyed_answer_commits_with_what_it_made_or_neither_does() {
    use bodywork::services::idempotency::{run, Claim, Once, Stored};
    let Scene { app, .. } = scene().await;
    let (client_id, _) = app.api_user("c@example.com", "client").await;
    let cipher = bodywork::services::crypto::AnswerCipher::from_key([7; 32]);
    let key = bodywork::domain::idempotency::IdempotencyKey::parse("atomic-1").unwrap();
    let claim = || Claim::new(client_id, &key, "POST /test", b"{}");
    let made = |app: &TestApp, what: &str| -> i64 {
        bodywork::db::schema::audit_log::table
            .filter(bodywork::db::schema::audit_log::summary.eq(what.to_string()))
            .count()
            .get_result(&mut app.conn())
            .unwrap()
    };
    let keys = |app: &TestApp| -> Vec<(Option<i32>, Option<String>)> {
        idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(client_id))
            .select((
                idempotency_keys::response_status,
                idempotency_keys::response_body,
            ))
            .load(&mut app.conn())
            .unwrap()
    };
    let write = |what: &'static str| {
        move |conn: &mut bodywork::db::DbConnection| {
            bodywork::models::audit::record(conn, None, "test.made", "test", None, what)
                .map_err(bodywork::error::AppError::from)?;
            Ok::<_, bodywork::error::AppError>(what)
        }
    };
    // The answer fails: nothing made, no key kept.
    let r = run(&app.pool, &cipher, Some(claim()), write("first"), |_| {
        Err(bodywork::error::AppError::Internal(anyhow::anyhow!(
            "the answer could not be rendered"
        )))
    })
    .await;
    assert!(r.is_err());
    assert_eq!(made(&app, "first"), 0, "rolled back with its answer");
    assert!(keys(&app).is_empty(), "no key left reserved");
    // The answer is stored: both are there at once, the answer sealed.
    let r = run(&app.pool, &cipher, Some(claim()), write("second"), |w| {
        Ok(Stored {
            status: 201,
            body: format!("made {w}"),
        })
    })
    .await
    .unwrap();
    assert!(matches!(r, Once::Ran("second")));
    assert_eq!(made(&app, "second"), 1);
    let stored = keys(&app);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, Some(201));
    assert!(
        !stored[0].1.as_deref().unwrap().contains("made second"),
        "sealed"
    );
    // A retry replays it, making nothing.
    let r = run(&app.pool, &cipher, Some(claim()), write("third"), |_| {
        unreachable!("a replay renders no answer")
    })
    .await
    .unwrap();
    match r {
        Once::Replay(s) => assert_eq!((s.status, s.body.as_str()), (201, "made second")),
        other => panic!("{other:?}"),
    }
    assert_eq!(made(&app, "third"), 0);
}
