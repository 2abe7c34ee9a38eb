//! Courses of therapy (`/api/v1/courses`, the pages `/book/course` and `/courses/{id}`): every
//! session at the first one's local time across a daylight-saving change, all or nothing and
//! skip, one screening and one mail per side, the cap counting every session, the cancel that
//! keeps the sessions inside the window, the database's refusals, and a course racing single
//! bookings.

use chrono::{DateTime, Duration, Timelike, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    answers, book, book_course, course_starts, csrf_from, first_start_across_dst, health_words,
    open_therapist, page_login, scene, set_course_policy, spawn_app_with, with_conn, Scene,
};

fn tz() -> chrono_tz::Tz {
    chrono_tz::America::New_York
}

fn parse(s: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("rfc3339")
}

/// The course's sessions read through the API by `token`.
async fn course_of(app: &crate::builders::TestApp, token: &str, id: i64) -> Value {
    let r = app
        .api_get(&format!("/api/v1/courses/{id}"), Some(token))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_weekly_course_keeps_ten_o_clock_across_the_clock_change_with_one_mail_each() {
    let Scene { app, m, .. } = scene().await;
    set_course_policy(&app, &m, 24, true).await;
    let (client_id, client) = app.api_user("c@example.com", "client").await;
    let first = first_start_across_dst(tz());
    let r = book_course(&app, &client, &m, first, 6, "fail").await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let v: Value = r.json().await.unwrap();
    let starts = course_starts(&v);
    assert_eq!(starts.len(), 6);
    let offsets: std::collections::BTreeSet<i32> = starts
        .iter()
        .map(|s| parse(s).offset().local_minus_utc())
        .collect();
    assert_eq!(offsets.len(), 2, "the course crosses a change: {starts:?}");
    for (k, s) in starts.iter().enumerate() {
        let t = parse(s);
        assert_eq!((t.hour(), t.minute()), (10, 0), "session {}: {s}", k + 1);
        let local = t.with_timezone(&tz()).date_naive();
        assert_eq!(
            local,
            first.with_timezone(&tz()).date_naive() + Duration::weeks(k as i64)
        );
    }
    assert!(v["skipped"].as_array().unwrap().is_empty());
    let id = v["id"].as_i64().unwrap();
    // Each appointment links to its course and carries the one screening.
    let a0 = v["appointments"][2]["id"].as_i64().unwrap();
    let r = app
        .api_get(&format!("/api/v1/appointments/{a0}"), Some(&client))
        .await;
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["course_id"], id);
    assert_eq!(a["course_session"], 3);
    assert_eq!(a["course_sessions"], 6);
    assert_eq!(a["screening_outcome"], "ok");
    assert_eq!(a["status"], "confirmed");
    // Its client and its therapist read it; another client does not.
    let c = course_of(&app, &client, id).await;
    assert_eq!(c["client_id"], client_id);
    assert_eq!(c["appointments"].as_array().unwrap().len(), 6);
    course_of(&app, &m.token, id).await;
    let (_, other) = app.api_user("o@example.com", "client").await;
    let r = app
        .api_get(&format!("/api/v1/courses/{id}"), Some(&other))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // One mail to each side for the whole course; the client's carries every session.
    assert_eq!(app.mail_count("c@example.com", "booking_confirmed"), 1);
    assert_eq!(app.mail_count("t@example.com", "booking_requested"), 1);
    let text = app.mail_text("c@example.com", "booking_confirmed").await;
    assert!(text.contains("A course of 6 sessions"), "{text}");
    let ics: String = {
        use bodywork::db::schema::outbox;
        use diesel::prelude::*;
        with_conn(&app, |conn| {
            outbox::table
                .filter(outbox::to_email.eq("c@example.com"))
                .filter(outbox::kind.eq("booking_confirmed"))
                .select(outbox::ics)
                .first::<Option<String>>(conn)
                .unwrap()
                .expect("the course's calendar file")
        })
    };
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 6, "{ics}");
    // No mail of the course holds the questionnaire's words.
    let words = health_words();
    for (to, kind) in [
        ("c@example.com", "booking_confirmed"),
        ("t@example.com", "booking_requested"),
    ] {
        for text in app.mail_texts(to, kind) {
            for w in &words {
                assert!(!text.contains(w.as_str()), "{kind} to {to} holds {w:?}");
            }
        }
    }
    // The therapist's appointment page says which session it is.
    let therapist = page_login(&app, "t@example.com").await;
    let html = therapist
        .get(app.url(&format!("/therapist/appointments/{a0}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Session 3 of 6 of a course"), "{html}");
    assert!(html.contains(&format!("href=\"/courses/{id}\"")));
    let html = therapist
        .get(app.url(&format!("/courses/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("data-testid=\"course-row\"").count(), 6);
}

#[tokio::test]
async fn all_or_nothing_books_nothing_when_a_week_is_taken_and_skip_books_the_others() {
    let Scene { app, m, .. } = scene().await;
    set_course_policy(&app, &m, 0, false).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let (_, other) = app.api_user("o@example.com", "client").await;
    let first = first_start_across_dst(tz());
    // Another client holds the third week's time.
    let third = {
        let local = first.with_timezone(&tz()).naive_local() + Duration::weeks(2);
        bodywork::domain::course::instant_of(tz(), local).unwrap()
    };
    let r = book(&app, &other, &m, &third.to_rfc3339(), &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = book_course(&app, &client, &m, first, 5, "fail").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "course_conflict");
    let conflicts = e["error"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{e}");
    assert_eq!(conflicts[0]["session"], 3);
    assert_eq!(conflicts[0]["reason"], "slot_taken");
    let mine: Value = app
        .api_get("/api/v1/me/bookings", Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        mine.as_array().map(Vec::len),
        Some(0),
        "nothing booked: {mine}"
    );
    assert_eq!(app.mail_count("t@example.com", "booking_requested"), 1);
    // Skip: the four others are booked, the third is reported.
    let r = book_course(&app, &client, &m, first, 5, "skip").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(course_starts(&v).len(), 4);
    assert_eq!(v["skipped"][0]["session"], 3);
    assert_eq!(v["skipped"][0]["reason"], "slot_taken");
    let sessions: Vec<i64> = v["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["session"].as_i64().unwrap())
        .collect();
    assert_eq!(sessions, vec![1, 2, 4, 5]);
    assert_eq!(v["appointments"][0]["status"], "requested");
}

#[tokio::test]
async fn the_shape_is_checked_and_a_refer_or_an_unverified_address_refuses_the_course() {
    let Scene { app, m, .. } = scene().await;
    set_course_policy(&app, &m, 0, false).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let first = first_start_across_dst(tz());
    for (sessions, every, oc, field) in [
        (13, 1, "fail", "sessions"),
        (1, 1, "fail", "sessions"),
        (4, 3, "fail", "every_weeks"),
        (4, 1, "maybe", "on_conflict"),
    ] {
        let r = app
            .api_post(
                "/api/v1/courses",
                Some(&client),
                json!({"therapist_id": m.therapist_id, "service_id": m.service_id,
                       "first_starts_at": first.to_rfc3339(), "sessions": sessions,
                       "every_weeks": every, "answers": answers(&[]), "on_conflict": oc}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: Value = r.json().await.unwrap();
        assert!(e["error"]["fields"][field].is_string(), "{field}: {e}");
    }
    // A refer outcome refuses the course as it refuses one booking.
    let r = app
        .api_post(
            "/api/v1/courses",
            Some(&client),
            json!({"therapist_id": m.therapist_id, "service_id": m.service_id,
                   "first_starts_at": first.to_rfc3339(), "sessions": 4,
                   "answers": answers(&["unhealed_fracture"])}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "screening_refer");
    assert_eq!(app.mail_count("t@example.com", "booking_requested"), 0);
    // An unverified client is refused.
    app.api_register("u@example.com", "Unverified", "client")
        .await;
    let unverified = app.api_login("u@example.com").await;
    let r = book_course(&app, &unverified, &m, first, 4, "fail").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_session_of_a_course_counts_against_the_upcoming_bookings_cap() {
    let app = spawn_app_with(|s| s.max_active_bookings = 10).await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    set_course_policy(&app, &m, 0, false).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let first = first_start_across_dst(tz());
    // Three single bookings held, on the day before the course's first session.
    for h in [9, 11, 13] {
        let at = first - Duration::days(1) + Duration::hours(h - 10);
        let r = book(&app, &client, &m, &at.to_rfc3339(), &[], false).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = book_course(&app, &client, &m, first, 8, "fail").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "too_many_bookings");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("8 sessions"),
        "{e}"
    );
    let r = book_course(&app, &client, &m, first, 7, "fail").await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let r = book(
        &app,
        &client,
        &m,
        &(first - Duration::days(2)).to_rfc3339(),
        &[],
        false,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn cancelling_a_course_keeps_the_sessions_inside_the_window_and_cancels_the_rest() {
    let Scene { app, m, .. } = scene().await;
    set_course_policy(&app, &m, 48, true).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    // Tomorrow at 10:00 on the therapist's clock: inside the 48-hour window.
    let day = Utc::now().with_timezone(&tz()).date_naive() + Duration::days(1);
    let first =
        bodywork::domain::course::instant_of(tz(), day.and_hms_opt(10, 0, 0).unwrap()).unwrap();
    let r = book_course(&app, &client, &m, first, 4, "fail").await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_i64().unwrap();
    let ids: Vec<i64> = v["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    let (_, other) = app.api_user("o@example.com", "client").await;
    let r = app
        .api_post(
            &format!("/api/v1/courses/{id}/cancel"),
            Some(&other),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .api_post(
            &format!("/api/v1/courses/{id}/cancel"),
            Some(&client),
            json!({"reason": "moving away"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["kept"], json!([ids[0]]));
    assert_eq!(out["cancelled"], json!(ids[1..].to_vec()));
    let c = course_of(&app, &client, id).await;
    let statuses: Vec<&str> = c["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["confirmed", "cancelled", "cancelled", "cancelled"]
    );
    assert!(c["cancelled_at"].is_string());
    // The therapist is told once, for the whole course, with the sessions cancelled.
    assert_eq!(
        app.mail_count("t@example.com", "booking_cancelled_by_client"),
        1
    );
    let told = app
        .mail_text("t@example.com", "booking_cancelled_by_client")
        .await;
    assert!(told.contains("cancelled their course"), "{told}");
    assert_eq!(told.matches("\n- ").count(), 3, "{told}");
    assert!(told.contains(&format!("/courses/{id}")), "{told}");
    assert!(
        !told.contains("moving away"),
        "the client's reason stays with them: {told}"
    );
    // The therapist cancels what is left, inside the window too: one mail to the client,
    // whose calendar loses the confirmed session.
    let r = app
        .api_post(
            &format!("/api/v1/courses/{id}/cancel"),
            Some(&m.token),
            json!({"reason": "the studio closes"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["cancelled"], json!([ids[0]]));
    assert_eq!(
        app.mail_count("c@example.com", "booking_cancelled_by_therapist"),
        1
    );
    let told = app
        .mail_text("c@example.com", "booking_cancelled_by_therapist")
        .await;
    assert!(told.contains("cancelled your course"), "{told}");
    assert!(told.contains("They gave a reason"), "{told}");
    assert!(
        !told.contains("the studio closes"),
        "a reason is never mailed: {told}"
    );
    let ics = app
        .newest_mail_ics("c@example.com", "booking_cancelled_by_therapist")
        .expect("the calendar's cancellation");
    assert!(ics.contains("METHOD:CANCEL"), "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1, "{ics}");
    assert!(ics.contains("STATUS:CANCELLED"), "{ics}");
    let r = app
        .api_post(
            &format!("/api/v1/courses/{id}/cancel"),
            Some(&m.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_database_refuses_a_session_outside_its_course_or_of_another_client() {
    use bodywork::models::course::{Course, NewCourse};
    let Scene { app, m, .. } = scene().await;
    set_course_policy(&app, &m, 0, false).await;
    let (client_id, client) = app.api_user("c@example.com", "client").await;
    let (_, other) = app.api_user("o@example.com", "client").await;
    let first = first_start_across_dst(tz());
    let v: Value = book_course(&app, &client, &m, first, 2, "fail")
        .await
        .json()
        .await
        .unwrap();
    let course_id = v["id"].as_i64().unwrap();
    let mine = v["appointments"][0]["id"].as_i64().unwrap();
    let later = first + Duration::weeks(4);
    let theirs: Value = book(&app, &other, &m, &later.to_rfc3339(), &[], false)
        .await
        .json()
        .await
        .unwrap();
    let theirs = theirs["id"].as_i64().unwrap();
    with_conn(&app, |conn| {
        // A session number beyond the course's count.
        assert!(Course::link(conn, course_id, 3, mine).is_err());
        // Another client's appointment.
        assert!(Course::link(conn, course_id, 2, theirs).is_err());
        // An appointment already in a course, in another one.
        let second = NewCourse {
            client_id,
            therapist_id: m.therapist_id,
            service_id: m.service_id,
            sessions: 2,
            every_weeks: 1,
            first_starts_at: first.naive_utc(),
            created_at: bodywork::models::now(),
        }
        .insert(conn)
        .unwrap();
        assert!(Course::link(conn, second, 1, mine).is_err());
        // A course of one session, or of thirteen.
        for sessions in [1, 13] {
            let bad = NewCourse {
                client_id,
                therapist_id: m.therapist_id,
                service_id: m.service_id,
                sessions,
                every_weeks: 1,
                first_starts_at: first.naive_utc(),
                created_at: bodywork::models::now(),
            };
            assert!(bad.insert(conn).is_err(), "{sessions} sessions");
        }
    });
}

#[tokio::test]
async fn a_course_racing_single_bookings_leaves_no_overlap_and_no_half_course() {
    let Scene { app, m, .. } = scene().await;
    set_course_policy(&app, &m, 0, true).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let mut others = Vec::new();
    for i in 0..4 {
        others.push(app.api_user(&format!("o{i}@example.com"), "client").await.1);
    }
    let first = first_start_across_dst(tz());
    let starts: Vec<DateTime<Utc>> = bodywork::domain::course::series(
        first,
        tz(),
        bodywork::domain::course::CourseShape {
            sessions: 4,
            every_weeks: 1,
        },
    )
    .into_iter()
    .map(|s| s.start.unwrap())
    .collect();
    let texts: Vec<String> = starts.iter().map(|s| s.to_rfc3339()).collect();
    let singles = futures_util::future::join_all(
        others
            .iter()
            .zip(texts.iter())
            .map(|(t, s)| book(&app, t, &m, s, &[], false)),
    );
    let course = book_course(&app, &client, &m, first, 4, "fail");
    let (singles, course) = tokio::join!(singles, course);
    let won_singles = singles
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    let course_status = course.status();
    assert!(
        course_status == StatusCode::CREATED || course_status == StatusCode::CONFLICT,
        "{course_status}"
    );
    let rows: Vec<(chrono::NaiveDateTime, i64)> = {
        use bodywork::db::schema::appointments as a;
        use diesel::prelude::*;
        with_conn(&app, |conn| {
            a::table
                .filter(a::therapist_id.eq(m.therapist_id))
                .filter(a::status.eq_any(["requested", "confirmed"]))
                .select((a::starts_at, a::client_id))
                .load(conn)
                .unwrap()
        })
    };
    // No two active bookings at one time.
    let mut times: Vec<_> = rows.iter().map(|r| r.0).collect();
    times.sort();
    times.dedup();
    assert_eq!(times.len(), rows.len(), "an overlap: {rows:?}");
    // All of the course or none of it.
    let linked: i64 = {
        use bodywork::db::schema::course_sessions as cs;
        use diesel::prelude::*;
        with_conn(&app, |conn| cs::table.count().get_result(conn).unwrap())
    };
    if course_status == StatusCode::CREATED {
        assert_eq!(linked, 4);
        assert_eq!(won_singles, 0);
    } else {
        assert_eq!(linked, 0);
        assert!(won_singles >= 1);
        assert_eq!(rows.len(), won_singles);
    }
}

#[tokio::test]
async fn the_course_pages_preview_book_show_and_cancel() {
    let Scene { app, m, .. } = scene().await;
    set_course_policy(&app, &m, 0, false).await;
    app.api_user("c@example.com", "client").await;
    let browser = page_login(&app, "c@example.com").await;
    let first = first_start_across_dst(tz());
    let start = first.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let query = serde_urlencoded::to_string([
        ("therapist", m.therapist_id.to_string()),
        ("service", m.service_id.to_string()),
        ("start", start.clone()),
        ("sessions", "6".into()),
    ])
    .unwrap();
    let r = browser
        .get(app.url(&format!("/book/course?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert_eq!(html.matches("data-testid=\"series-row\"").count(), 6);
    assert!(html.contains("one massage a week for ten weeks"));
    assert!(html.matches("10:00").count() >= 6, "{html}");
    let csrf = csrf_from(&html);
    let mut form = vec![
        ("csrf_token", csrf.clone()),
        ("therapist", m.therapist_id.to_string()),
        ("service", m.service_id.to_string()),
        ("start", start.clone()),
        ("sessions", "6".into()),
        ("every", "1".into()),
        ("visit", "studio".into()),
        ("on_conflict", "fail".into()),
    ];
    // Without the health answers the form comes back with the message.
    let r = browser
        .post(app.url("/book/course"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    form.push(("applies", "none".into()));
    let r = browser
        .post(app.url("/book/course"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/courses/"), "{to}");
    let html = browser
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("data-testid=\"course-row\"").count(), 6);
    let list = browser
        .get(app.url("/bookings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&format!("href=\"{to}\"")), "{list}");
    let csrf = csrf_from(&html);
    let r = browser
        .post(app.url(&format!("{to}/cancel")))
        .form(&[("csrf_token", csrf), ("reason", String::new())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = browser
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("This course was cancelled."), "{html}");
}

#[tokio::test]
async fn the_demo_has_a_course_whose_sessions_keep_one_local_time() {
    let app = crate::builders::spawn_app().await;
    let cipher = bodywork::services::crypto::AnswerCipher::from_settings(&app.settings).unwrap();
    let mail = app.mail_ctx();
    with_conn(&app, |conn| {
        bodywork::demo::fill(conn, &mail, &cipher).expect("demo data")
    });
    let rows: Vec<(i64, chrono::NaiveDateTime, String)> = with_conn(&app, |conn| {
        use bodywork::db::schema::{appointments, course_sessions, therapists};
        use diesel::prelude::*;
        course_sessions::table
            .inner_join(appointments::table.inner_join(therapists::table))
            .select((
                course_sessions::course_id,
                appointments::starts_at,
                therapists::timezone,
            ))
            .load(conn)
            .unwrap()
    });
    assert!(rows.len() >= 2, "a course of several sessions: {rows:?}");
    let tz: chrono_tz::Tz = rows[0].2.parse().unwrap();
    let clock = |t: &chrono::NaiveDateTime| t.and_utc().with_timezone(&tz).time();
    assert!(rows.iter().all(|r| clock(&r.1) == clock(&rows[0].1)));
}

#[tokio::test]
async fn a_mobile_only_therapist_is_booked_for_a_course_on_the_page_with_the_clients_address() {
    let Scene { app, m, .. } = scene().await;
    set_course_policy(&app, &m, 0, false).await;
    // No studio: mobile visits within 20 km of Boston only.
    let r = app
        .api_put(
            "/api/v1/me/profile",
            &m.token,
            json!({"name": "Open Therapist", "city": "Boston, MA", "techniques": ["swedish"],
                   "address": null, "mobile": true, "mobile_radius_km": 20}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let (_, client) = app.api_user("c@example.com", "client").await;
    let browser = page_login(&app, "c@example.com").await;
    let start = first_start_across_dst(tz()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let query = serde_urlencoded::to_string([
        ("therapist", m.therapist_id.to_string()),
        ("service", m.service_id.to_string()),
        ("start", start.clone()),
        ("sessions", "3".into()),
    ])
    .unwrap();
    let html = browser
        .get(app.url(&format!("/book/course?{query}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The page asks where, as the single booking's does.
    assert!(html.contains("data-testid=\"where\""), "{html}");
    assert!(html.contains("id=\"client_address\""), "{html}");
    let form = |city: &str| {
        vec![
            ("csrf_token", csrf_from(&html)),
            ("therapist", m.therapist_id.to_string()),
            ("service", m.service_id.to_string()),
            ("start", start.clone()),
            ("sessions", "3".into()),
            ("every", "1".into()),
            ("visit", "mobile".into()),
            ("client_address", "221 Hampshire Street".into()),
            ("client_city", city.into()),
            ("on_conflict", "fail".into()),
            ("applies", "none".into()),
        ]
    };
    // Too far: the form comes back with the error next to the city, nothing booked.
    let r = browser
        .post(app.url("/book/course"))
        .form(&form("Worcester, MA"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let back = r.text().await.unwrap();
    assert!(back.contains("id=\"client_city-error\""), "{back}");
    assert!(back.contains("value=\"221 Hampshire Street\""), "{back}");
    let r = browser
        .post(app.url("/book/course"))
        .form(&form("Cambridge, MA"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    // Every session is a mobile visit at that address, which the client reads back.
    let bookings: Value = app
        .api_get("/api/v1/me/bookings", Some(&client))
        .await
        .json()
        .await
        .unwrap();
    let bookings = bookings.as_array().unwrap();
    assert_eq!(bookings.len(), 3);
    for b in bookings {
        assert_eq!(b["visit"], "mobile", "{b}");
        let one: Value = app
            .api_get(&format!("/api/v1/appointments/{}", b["id"]), Some(&client))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(one["client_address"], "221 Hampshire Street, Cambridge, MA");
    }
}
