//! Scheduling and booking through the API: free slots, the booking rules, the lifecycle,
//! races on both backends, screening outcomes and the privacy of the answers.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    answers, book, make_therapist, open_therapist, scene, slots, some_day, spawn_app, Scene, Spec,
    TestApp,
};

#[tokio::test]
async fn free_slots_follow_hours_in_the_therapists_zone_and_booking_takes_one() {
    let Scene { app, m, .. } = scene().await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    // 09:00 to 16:00 starts every 15 minutes: 29 slots, all in New York time.
    assert_eq!(list.len(), 29, "{list:?}");
    assert!(
        list[0].starts_with(&format!("{day}T09:00:00-0")),
        "{}",
        list[0]
    );
    let (_, client) = app.api_user("client@example.com", "client").await;
    let r = book(&app, &client, &m, &list[4], &[], false).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let body: Value = book_body(r).await;
    assert_eq!(
        body["status"], "requested",
        "confirm by hand is the default"
    );
    assert_eq!(body["screening"]["outcome"], "ok");
    // 10:00 taken: 60 min + 15 min buffer blocks 09:00..11:15 for 60-minute sessions.
    let after = slots(&app, &m, day, day).await;
    assert!(!after
        .iter()
        .any(|s| s.contains("T10:00") || s.contains("T09:15") || s.contains("T11:00")));
    assert!(after.iter().any(|s| s.contains("T11:15")));
    // 09:00 would run, with its own 15-minute buffer, into 10:00.
    assert!(!after.iter().any(|s| s.contains("T09:00")));
    assert_eq!(after.len(), 29 - 9, "09:00 to 11:00 are blocked");
}

async fn book_body(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

#[tokio::test]
async fn new_york_nine_oclock_is_14z_in_winter_and_13z_in_summer() {
    let Scene { app, m, .. } = scene().await;
    let r = app.api_put("/api/v1/me/booking-policy", &m.token, json!({"min_notice_hours": 0, "max_advance_days": 365, "buffer_min": 15, "cancellation_window_hours": 24, "auto_confirm": false})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let today = Utc::now().date_naive();
    let next = |month: u32| {
        let y = if today.month() >= month {
            today.year() + 1
        } else {
            today.year()
        };
        NaiveDate::from_ymd_opt(y, month, 15).unwrap()
    };
    for (day, utc_hour) in [(next(1), 14), (next(7), 13)] {
        if (day - today).num_days() > 364 {
            continue;
        }
        let first = &slots(&app, &m, day, day).await[0];
        let t = DateTime::parse_from_rfc3339(first)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            t.format("%H:%M").to_string(),
            format!("{utc_hour}:00"),
            "{day}: {first}"
        );
    }
}

#[tokio::test]
async fn taken_unavailable_notice_window_and_time_off_are_refused() {
    let Scene { app, m, .. } = scene().await;
    let (_, a) = app.api_user("a@example.com", "client").await;
    let (_, b) = app.api_user("b@example.com", "client").await;
    let day = some_day();
    let ten = format!("{day}T10:00:00-05:00");
    let ten_local = slots(&app, &m, day, day)
        .await
        .into_iter()
        .find(|s| s.contains("T10:00"))
        .unwrap();
    assert_eq!(
        book(&app, &a, &m, &ten_local, &[], false).await.status(),
        StatusCode::CREATED
    );
    let err: Value = book(&app, &b, &m, &ten_local, &[], false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(err["error"]["code"], "slot_taken");
    // Inside the buffer of the first booking.
    let inside = ten_local.replace("T10:00", "T11:00");
    let r = book(&app, &b, &m, &inside, &[], false).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let _ = ten;
    // Outside working hours, off the grid, too soon, too far.
    let evening = ten_local.replace("T10:00", "T20:00");
    let off_grid = ten_local.replace("T10:00", "T13:07");
    let too_soon = (Utc::now() + Duration::minutes(30)).to_rfc3339();
    let too_far = (Utc::now() + Duration::days(90)).to_rfc3339();
    for start in [evening, off_grid, too_soon, too_far] {
        let r = book(&app, &b, &m, &start, &[], false).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{start}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], "slot_unavailable", "{start}");
    }
    // Time off removes the day's slots and refuses a booking.
    let r = app.api_post("/api/v1/me/time-off", Some(&m.token), json!({"starts_at": format!("{day}T00:00:00-05:00"), "ends_at": format!("{day}T23:59:00-05:00"), "note": "course"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let off: Value = r.json().await.unwrap();
    assert!(slots(&app, &m, day, day).await.is_empty());
    let later = ten_local.replace("T10:00", "T14:00");
    let err: Value = book(&app, &b, &m, &later, &[], false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(err["error"]["code"], "slot_unavailable");
    let r = app
        .api_delete(&format!("/api/v1/me/time-off/{}", off["id"]), &m.token)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!slots(&app, &m, day, day).await.is_empty());
}

#[tokio::test]
async fn sixteen_clients_racing_for_one_slot_through_the_api_make_one_booking() {
    let Scene { app, m, .. } = scene().await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let mut tokens = Vec::new();
    for i in 0..16 {
        tokens.push(app.api_user(&format!("c{i}@example.com"), "client").await.1);
    }
    // Half race for 10:00, half for starts that overlap it (10:15 .. 11:00).
    for (round, starts) in [
        (0, vec![list[4].clone(); 16]),
        (
            1,
            (0..16)
                .map(|i| list[16 + (i % 4)].clone())
                .collect::<Vec<_>>(),
        ),
    ] {
        let futures = tokens
            .iter()
            .zip(starts.iter())
            .map(|(t, s)| book(&app, t, &m, s, &[], false));
        let results = futures_util::future::join_all(futures).await;
        let codes: Vec<StatusCode> = results.iter().map(|r| r.status()).collect();
        assert_eq!(
            codes.iter().filter(|c| **c == StatusCode::CREATED).count(),
            1,
            "round {round}: {codes:?}"
        );
        assert_eq!(
            codes.iter().filter(|c| **c == StatusCode::CONFLICT).count(),
            15,
            "round {round}: {codes:?}"
        );
    }
    let mine: Value = app
        .api_get("/api/v1/me/appointments", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn screening_outcomes_decide_the_booking() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let deep = open_therapist(&app, admin_id, "t@example.com", &["deep-tissue"]).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let day = some_day();
    let list = slots(&app, &deep, day, day).await;

    let r = book(&app, &client, &deep, &list[0], &["fever"], false).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "screening_refer");
    assert_eq!(e["error"]["screening"]["outcome"], "refer");

    let r = book(&app, &client, &deep, &list[0], &["pregnant"], false).await;
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "screening_decline");
    let suggested: Vec<&str> = e["error"]["screening"]["suggested_techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(suggested, ["swedish", "prenatal"]);

    let r = book(&app, &client, &deep, &list[0], &["blood_thinners"], false).await;
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "clearance_required");

    let mut missing = answers(&[]);
    missing.remove("fever");
    let r = app
        .api_post("/api/v1/appointments", Some(&client), json!({"therapist_id": deep.therapist_id, "service_id": deep.service_id, "starts_at": list[0], "answers": missing}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["fields"]["answers"]
        .as_str()
        .unwrap()
        .contains("fever"));

    // Cleared by their practitioner: booked, flagged, and the therapist must acknowledge.
    let r = book(
        &app,
        &client,
        &deep,
        &list[0],
        &["blood_thinners", "herniated_disc"],
        true,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["screening"]["outcome"], "needs_clearance");
    assert_eq!(b["status"], "requested");
    let id = b["id"].as_i64().unwrap();
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{id}/confirm"),
            Some(&deep.token),
            json!({"acknowledged_flags": false}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "flags_not_acknowledged"
    );
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{id}/confirm"),
            Some(&client),
            json!({"acknowledged_flags": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a client cannot confirm");
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{id}/confirm"),
            Some(&deep.token),
            json!({"acknowledged_flags": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "confirmed");
    assert_eq!(v["flags_acknowledged"], true);
    let notes = v["screening"]["therapist_notes"].as_array().unwrap();
    assert!(!notes.is_empty(), "the therapist reads the notes");

    let lines: Value = app
        .api_get("/api/v1/me/bookings", Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lines[0]["screening_outcome"], "needs_clearance");
}

#[tokio::test]
async fn auto_confirm_confirms_unflagged_bookings_but_never_skips_flags() {
    let Scene { app, m, .. } = scene().await;
    app.api_put("/api/v1/me/booking-policy", &m.token, json!({"min_notice_hours": 2, "max_advance_days": 60, "buffer_min": 0, "cancellation_window_hours": 24, "auto_confirm": true})).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let ok: Value = book(&app, &client, &m, &list[0], &[], false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["status"], "confirmed");
    let flagged: Value = book(&app, &client, &m, &list[8], &["varicose_veins"], true)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flagged["status"], "requested");
    // Buffer 0: a booking right after the first is fine.
    let r = book(&app, &client, &m, &list[4], &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn answers_are_private_logged_and_encrypted_at_rest() {
    let Scene { app, admin, m, .. } = scene().await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let (_, stranger) = app.api_user("s@example.com", "client").await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let b: Value = book(&app, &client, &m, &list[0], &["varicose_veins"], true)
        .await
        .json()
        .await
        .unwrap();
    let id = b["id"].as_i64().unwrap();
    let path = format!("/api/v1/appointments/{id}");

    let own: Value = app
        .api_get(&path, Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["answers"]["varicose_veins"], true);
    assert!(own["screening"]["reasons"].is_array());
    assert!(
        own["screening"].get("therapist_notes").is_none(),
        "notes are for the therapist"
    );
    let log: Value = app
        .api_get(&format!("{path}/access-log"), Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        log.as_array().unwrap().len(),
        0,
        "the client's own reads are not logged"
    );

    let theirs = app.api_get(&path, Some(&m.token)).await;
    assert_eq!(theirs.headers()["cache-control"], "no-store");
    let theirs: Value = theirs.json().await.unwrap();
    assert_eq!(theirs["answers"]["varicose_veins"], true);
    let log: Value = app
        .api_get(&format!("{path}/access-log"), Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["reader"], "Open Therapist");

    let adm: Value = app.api_get(&path, Some(&admin)).await.json().await.unwrap();
    assert_eq!(adm["screening"]["outcome"], "needs_clearance");
    assert!(
        adm.get("answers").is_none() && adm["screening"].get("reasons").is_none(),
        "admins see the outcome only: {adm}"
    );
    assert_eq!(
        app.api_get(&path, Some(&stranger)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.api_get(&format!("{path}/access-log"), Some(&m.token))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // At rest: the stored value is ciphertext; no question id or answer is in clear.
    let stored: String = crate::builders::with_conn(&app, |conn| {
        use bodywork::db::schema::appointments;
        use diesel::prelude::*;
        appointments::table
            .find(id)
            .select(appointments::screening_answers)
            .first(conn)
            .unwrap()
    });
    assert!(stored.starts_with("v2:"), "{stored}");
    assert!(!stored.contains("varicose") && !stored.contains("true"));
    if let bodywork::db::DatabaseUrl::Sqlite(path) = &app.db_url {
        let mut conn = app.conn();
        use diesel::connection::SimpleConnection;
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        let raw = std::fs::read(path).unwrap();
        let hay = String::from_utf8_lossy(&raw);
        assert!(
            !hay.contains("varicose_veins"),
            "the database file holds no answer in clear"
        );
    }
}

/// A server does not start with a key that cannot open the answers already stored, nor make
/// itself a new key when the key file is gone (the answers would be lost for good).
#[tokio::test]
async fn a_server_refuses_a_key_that_cannot_open_the_stored_answers() {
    use bodywork::services::crypto::AnswerCipher;
    use bodywork::startup::Application;
    let Scene { app, m, .. } = scene().await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let r = book(&app, &client, &m, &list[0], &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // The right key: another server starts.
    app.second_server();
    let mut wrong = app.settings.clone();
    wrong.addr = "127.0.0.1:0".into();
    wrong.answers_key = Some(bodywork::config::Secret::new(
        AnswerCipher::generate_key_base64(),
    ));
    let e = Application::build(wrong)
        .err()
        .expect("a wrong key is refused");
    assert!(
        e.to_string()
            .contains("does not open the answers of appointment"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("bodywork-answers.key");
    let mut lost = app.settings.clone();
    lost.addr = "127.0.0.1:0".into();
    lost.answers_key = None;
    lost.answers_key_file = gone.clone();
    let e = Application::build(lost)
        .err()
        .expect("a lost key is refused");
    assert!(e.to_string().contains("there is no key"), "{e}");
    assert!(!gone.exists(), "no new key was made");
}

#[tokio::test]
async fn cancellation_window_decline_complete_and_reschedule() {
    let Scene { app, m, .. } = scene().await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let first: Value = book(&app, &client, &m, &list[0], &[], false)
        .await
        .json()
        .await
        .unwrap();
    let id = first["id"].as_i64().unwrap();

    // Reschedule to 14:00: one transaction, the old one is cancelled, the new one holds the time.
    let two = list.iter().find(|s| s.contains("T14:00")).unwrap().clone();
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(&client),
            json!({"starts_at": two}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let moved: Value = app
        .api_get(&format!("/api/v1/appointments/{id}"), Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["status"], "cancelled");
    let bookings: Value = app
        .api_get("/api/v1/me/bookings", Some(&client))
        .await
        .json()
        .await
        .unwrap();
    let new = bookings
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["status"] == "requested")
        .unwrap()
        .clone();
    assert!(new["starts_at"].as_str().unwrap().contains("T14:00"));
    // A reschedule into an unavailable time changes nothing.
    let new_id = new["id"].as_i64().unwrap();
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{new_id}/reschedule"),
            Some(&client),
            json!({"starts_at": list[0].replace("T09:00", "T22:00")}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let still: Value = app
        .api_get(&format!("/api/v1/appointments/{new_id}"), Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["status"], "requested");

    // The therapist declines with a reason.
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{new_id}/decline"),
            Some(&m.token),
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{new_id}/decline"),
            Some(&m.token),
            json!({"reason": "Away at a course"}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "cancelled");
    assert_eq!(v["cancel_reason"], "Away at a course");

    // Inside the cancellation window the client may not cancel a confirmed booking (a request
    // they may withdraw: see client_bookings.rs); the therapist may.
    app.api_put("/api/v1/me/booking-policy", &m.token, json!({"min_notice_hours": 0, "max_advance_days": 60, "buffer_min": 15, "cancellation_window_hours": 720, "auto_confirm": false})).await;
    let soon: Value = book(&app, &client, &m, &list[8], &[], false)
        .await
        .json()
        .await
        .unwrap();
    let sid = soon["id"].as_i64().unwrap();
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{sid}/confirm"),
            Some(&m.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{sid}/cancel"),
            Some(&client),
            json!({"reason": "sick"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "too_late_to_cancel"
    );
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{sid}/complete"),
            Some(&m.token),
            json!({}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_started"
    );
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{sid}/cancel"),
            Some(&m.token),
            json!({"reason": "ill"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.api_put("/api/v1/me/booking-policy", &m.token, json!({"min_notice_hours": 0, "max_advance_days": 60, "buffer_min": 15, "cancellation_window_hours": 24, "auto_confirm": false})).await;
    let later: Value = book(&app, &client, &m, &list[12], &[], false)
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{}/cancel", later["id"]),
            Some(&client),
            json!({"reason": "sick"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn schedule_input_is_validated() {
    let Scene { app, m, .. } = scene().await;
    let r = app.api_put("/api/v1/me/weekly-hours", &m.token, json!([{"weekday": 1, "start": "09:00", "end": "12:00"}, {"weekday": 1, "start": "11:00", "end": "13:00"}])).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.api_put("/api/v1/me/booking-policy", &m.token, json!({"min_notice_hours": 2, "max_advance_days": 400, "buffer_min": 15, "cancellation_window_hours": 24, "auto_confirm": false})).await;
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["fields"]["max_advance_days"].is_string());
    let r = app
        .api_post(
            "/api/v1/me/time-off",
            Some(&m.token),
            json!({"starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .api_get(
            &format!(
                "/api/v1/therapists/{}/availability?service_id={}&from=2030-01-01&to=2030-03-01",
                m.therapist_id, m.service_id
            ),
            None,
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "at most 31 days"
    );
    let week: Value = app
        .api_get("/api/v1/me/weekly-hours", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        week.as_array().unwrap().len(),
        7,
        "a refused change leaves the week as it was"
    );
}

#[tokio::test]
async fn two_servers_on_one_database_still_make_exactly_one_booking() {
    let app = spawn_app().await;
    let other = app.second_server();
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let mut tokens = Vec::new();
    for i in 0..16 {
        tokens.push(app.api_user(&format!("c{i}@example.com"), "client").await.1);
    }
    let body = |start: &str| json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "starts_at": start, "answers": answers(&[]), "clearance_confirmed": false});
    // Half the clients go through each server, for the same slot and then for overlapping starts.
    for starts in [
        vec![list[4].clone(); 16],
        (0..16)
            .map(|i| list[16 + (i % 4)].clone())
            .collect::<Vec<_>>(),
    ] {
        let futures = tokens
            .iter()
            .zip(starts.iter())
            .enumerate()
            .map(|(i, (t, s))| {
                let base = if i % 2 == 0 {
                    app.address.clone()
                } else {
                    other.clone()
                };
                crate::builders::new_client()
                    .post(format!("{base}/api/v1/appointments"))
                    .bearer_auth(t)
                    .json(&body(s))
                    .send()
            });
        let results = futures_util::future::join_all(futures).await;
        let codes: Vec<StatusCode> = results
            .into_iter()
            .map(|r| r.expect("request").status())
            .collect();
        assert_eq!(
            codes.iter().filter(|c| **c == StatusCode::CREATED).count(),
            1,
            "{codes:?}"
        );
        assert_eq!(
            codes.iter().filter(|c| **c == StatusCode::CONFLICT).count(),
            15,
            "{codes:?}"
        );
    }
}

#[tokio::test]
async fn a_caution_booking_goes_ahead_with_a_note_for_the_therapist() {
    let Scene { app, m, .. } = scene().await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let r = book(&app, &client, &m, &list[0], &["herniated_disc"], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["screening"]["outcome"], "caution");
    assert!(
        b["screening"].get("therapist_notes").is_none(),
        "the client does not get the therapist's notes"
    );
    let t: Value = app
        .api_get(&format!("/api/v1/appointments/{}", b["id"]), Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    let notes = t["screening"]["therapist_notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().to_lowercase().contains("forward")),
        "{notes:?}"
    );
    let ok = app
        .api_post(
            "/api/v1/screening/evaluate",
            None,
            json!({"technique": "swedish", "answers": answers(&["sciatica_or_buttock_bruise"])}),
        )
        .await;
    let e: Value = ok.json().await.unwrap();
    assert_eq!(e["outcome"], "ok");
    assert_eq!(e["suggested_techniques"], json!(["gluteal"]));
    let q: Value = app
        .api_get("/api/v1/screening/questionnaire", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["questions"].as_array().unwrap().len(), answers(&[]).len());
    let bad = app
        .api_post(
            "/api/v1/screening/evaluate",
            None,
            json!({"technique": "reiki", "answers": answers(&[])}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_self_check_stores_nothing_and_its_answers_filter_search_from_the_session() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "deep@example.com",
            name: "Only Deep",
            techniques: &["deep-tissue", "hot-stone"],
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "swede@example.com",
            name: "Swedish Too",
            techniques: &["swedish"],
            ..Default::default()
        },
    )
    .await;
    let page = app.get_html("/screening").await;
    assert!(page.contains("name=\"q_pregnant\""));
    let mut fields: Vec<(String, String)> = answers(&["pregnant"])
        .into_iter()
        .map(|(k, v)| (format!("q_{k}"), if v { "yes" } else { "no" }.to_string()))
        .collect();
    fields.push(("technique".into(), "deep-tissue".into()));
    fields.push(("remember".into(), "yes".into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let r = app.post_form("/screening", "/screening", &borrowed).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("bw_answers="))
        .expect("answers kept in the session")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && !cookie.contains("pregnant"),
        "encrypted: {cookie}"
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("For Deep tissue: This technique is not right for you now"),
        "the result is shown"
    );
    assert!(html.contains("Prenatal") && html.contains("Swedish"));

    let all = app.get_html("/therapists").await;
    assert!(all.contains("Only Deep") && all.contains("Swedish Too"));
    let suits = app.get_html("/therapists?suits=mine").await;
    assert!(suits.contains("Swedish Too"), "{suits}");
    assert!(
        !suits.contains("Only Deep"),
        "deep tissue and hot stone do not suit a pregnant client"
    );
    assert!(suits.contains("name=\"suits\" value=\"mine\" checked"));

    let api = app.api_get("/api/v1/therapists?suits=mine", None).await;
    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let r = app.post_form("/screening", "/screening/forget", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app.get("/therapists?suits=mine").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn absurd_dates_are_refused_or_clamped_never_a_500() {
    let Scene { app, m, .. } = scene().await;
    for q in [
        "from=%2B262142-12-31",
        "from=-262143-01-01",
        "from=2026-01-01&to=%2B262142-12-31",
    ] {
        let r = app
            .api_get(
                &format!(
                    "/api/v1/therapists/{}/availability?service_id={}&{q}",
                    m.therapist_id, m.service_id
                ),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    let r = app
        .api_get(
            "/api/v1/me/appointments?from=2026-01-01&to=%2B262142-12-31",
            Some(&m.token),
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    app.login_page("t@example.com", crate::builders::PASSWORD)
        .await;
    for week in ["%2B262142-12-31", "-262143-01-01"] {
        let r = app
            .get(&format!("/therapist/appointments?week={week}"))
            .await;
        assert!(
            r.status().is_success() || r.status().is_client_error(),
            "{week}: {}",
            r.status()
        );
    }
    let r = app
        .get(&format!(
            "/therapists/{}?from=%2B262142-12-31",
            m.therapist_id
        ))
        .await;
    assert!(r.status().is_success() || r.status().is_client_error());
}

/// Free slots are kept per schedule version (`ScheduleCache`); every change, made through this
/// server, another server process or straight in the database, shows on the next request.
#[tokio::test]
async fn cached_free_slots_follow_every_change_even_from_another_server_or_raw_sql() {
    use diesel::prelude::*;
    let app = spawn_app().await;
    let other = app.second_server();
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let day = some_day();
    let first = slots(&app, &m, day, day).await;
    assert_eq!(first.len(), 29);
    assert_eq!(
        slots(&app, &m, day, day).await,
        first,
        "a repeat is the same"
    );

    // A booking through the other server.
    let (_, client) = app.api_user("client@example.com", "client").await;
    let r = crate::builders::new_client()
        .post(format!("{other}/api/v1/appointments"))
        .bearer_auth(&client)
        .json(&json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "starts_at": first[4], "answers": answers(&[]), "clearance_confirmed": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let booked: Value = r.json().await.unwrap();
    let after = slots(&app, &m, day, day).await;
    assert_eq!(after.len(), 29 - 9, "{after:?}");
    assert!(!after.contains(&first[4]));

    // Cancelled straight in the database: the slots come back.
    crate::builders::with_conn(&app, |conn| {
        use bodywork::db::schema::appointments;
        diesel::update(appointments::table.find(booked["id"].as_i64().unwrap()))
            .set(appointments::status.eq("cancelled"))
            .execute(conn)
            .unwrap();
    });
    assert_eq!(slots(&app, &m, day, day).await, first);

    // Shorter hours through the other server.
    let week: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "start": "09:00", "end": "12:00"}))
        .collect();
    let r = crate::builders::new_client()
        .put(format!("{other}/api/v1/me/weekly-hours"))
        .bearer_auth(&m.token)
        .json(&week)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let short = slots(&app, &m, day, day).await;
    assert_eq!(short.len(), 9, "09:00 to 11:00: {short:?}");

    // A minimum notice beyond the day, then back: the clock's rules apply afresh.
    for (notice, expected) in [(720, 0), (0, 9)] {
        let r = app.api_put("/api/v1/me/booking-policy", &m.token, json!({"min_notice_hours": notice, "max_advance_days": 60, "buffer_min": 15, "cancellation_window_hours": 24, "auto_confirm": false})).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(slots(&app, &m, day, day).await.len(), expected);
    }

    // The whole day off, straight in the database.
    crate::builders::with_conn(&app, |conn| {
        use bodywork::db::schema::time_off;
        let start = day.and_hms_opt(0, 0, 0).unwrap();
        diesel::insert_into(time_off::table)
            .values((
                time_off::therapist_id.eq(m.therapist_id),
                time_off::starts_at.eq(start),
                time_off::ends_at.eq(start + Duration::days(2)),
                time_off::note.eq(""),
                time_off::created_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)
            .unwrap();
    });
    assert!(slots(&app, &m, day, day).await.is_empty());

    // A retired service has no slots at all.
    let r = app
        .api_delete(&format!("/api/v1/me/services/{}", m.service_id), &m.token)
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = app
        .api_get(
            &format!(
                "/api/v1/therapists/{}/availability?service_id={}&from={day}&to={day}",
                m.therapist_id, m.service_id
            ),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// The cached answers follow the database by the order of commits, not of transactions: a day
/// off taken in a transaction that began before others and commits after them (while answers
/// are read and, on PostgreSQL, a later booking commits and is seen) is still seen the moment it
/// commits, in the slots and in the search.
#[tokio::test]
async fn a_change_committed_after_later_ones_still_reaches_every_cached_answer() {
    use diesel::prelude::*;
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let late = open_therapist(&app, admin_id, "late@example.com", &["swedish"]).await;
    let busy = open_therapist(&app, admin_id, "busy@example.com", &["swedish"]).await;
    let day = some_day();
    let first = slots(&app, &late, day, day).await;
    assert!(!first.is_empty());
    let free_on_day = |app: &TestApp| {
        let path = format!("/api/v1/therapists?technique=swedish&available_on={day}");
        let url = app.url(&path);
        async move {
            let v: Value = crate::builders::new_client()
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut ids: Vec<i64> = v["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![late.therapist_id, busy.therapist_id];
    both.sort();
    assert_eq!(free_on_day(&app).await, both);

    let mut conn = app.conn();
    let postgres = matches!(*conn, bodywork::db::DbConnection::Postgresql(_));
    let (opened_tx, opened) = std::sync::mpsc::channel::<()>();
    let (finish, finish_rx) = std::sync::mpsc::channel::<()>();
    let therapist_id = late.therapist_id;
    let writer = std::thread::spawn(move || {
        conn.transaction(|c| {
            use bodywork::db::schema::time_off;
            let start = day.and_hms_opt(0, 0, 0).unwrap() - Duration::days(1);
            diesel::insert_into(time_off::table)
                .values((
                    time_off::therapist_id.eq(therapist_id),
                    time_off::starts_at.eq(start),
                    time_off::ends_at.eq(start + Duration::days(3)),
                    time_off::note.eq(""),
                    time_off::created_at.eq(Utc::now().naive_utc()),
                ))
                .execute(c)?;
            opened_tx.send(()).unwrap();
            finish_rx.recv().unwrap();
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    });
    opened.recv().unwrap();
    assert_eq!(
        slots(&app, &late, day, day).await,
        first,
        "not committed yet"
    );
    if postgres {
        // A later transaction commits first (SQLite writes one at a time: it would wait).
        let busy_slots = slots(&app, &busy, day, day).await;
        let (_, client) = app.api_user("client@example.com", "client").await;
        let r = app
            .api_post(
                "/api/v1/appointments",
                Some(&client),
                json!({"therapist_id": busy.therapist_id, "service_id": busy.service_id, "starts_at": busy_slots[0], "answers": answers(&[]), "clearance_confirmed": false}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(!slots(&app, &busy, day, day).await.contains(&busy_slots[0]));
    }
    assert_eq!(free_on_day(&app).await, both, "not committed yet");
    finish.send(()).unwrap();
    writer.join().unwrap();
    assert!(
        slots(&app, &late, day, day).await.is_empty(),
        "the day off is seen once committed"
    );
    assert_eq!(free_on_day(&app).await, [busy.therapist_id]);
}

/// Under concurrent readers (whose directory syncs coalesce on PostgreSQL), an answer asked for
/// after a booking returned never offers the booked slot: every request sees the database as of
/// a moment after it arrived.
#[tokio::test]
async fn an_answer_asked_after_a_booking_never_offers_its_slot_even_under_concurrent_reads() {
    let Scene { app, m, .. } = scene().await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    // Starts 75 minutes apart: an hour's session and the buffer, none overlapping.
    let starts: Vec<String> = list.iter().step_by(5).take(6).cloned().collect();
    assert_eq!(starts.len(), 6);
    let mut tokens = Vec::new();
    for i in 0..starts.len() {
        tokens.push(app.api_user(&format!("c{i}@example.com"), "client").await.1);
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let readers = async {
        let mut answers = 0;
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let batch = (0..8).map(|_| slots(&app, &m, day, day));
            answers += futures_util::future::join_all(batch).await.len();
        }
        answers
    };
    let bookers = async {
        let (app, m) = (&app, &m);
        let each = tokens.iter().zip(&starts).map(|(t, s)| async move {
            let r = book(app, t, m, s, &[], false).await;
            assert_eq!(r.status(), StatusCode::CREATED);
            let after = slots(app, m, day, day).await;
            assert!(!after.contains(s), "{s} is still offered after its booking");
        });
        futures_util::future::join_all(each).await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let (answers, ()) = tokio::join!(readers, bookers);
    assert!(answers > 0);
    let last = slots(&app, &m, day, day).await;
    assert!(starts.iter().all(|s| !last.contains(s)));
}

/// Many free-slot answers that are not kept yet, asked at once (more than the pool has
/// connections), all come back, each the same as when asked alone.
#[tokio::test]
async fn many_answers_computed_at_once_all_come_back() {
    let Scene { app, m, .. } = scene().await;
    let first = some_day();
    let days: Vec<NaiveDate> = (0..24).map(|i| first + Duration::days(i)).collect();
    let at_once =
        futures_util::future::join_all(days.iter().map(|d| slots(&app, &m, *d, *d))).await;
    for (d, answer) in days.iter().zip(&at_once) {
        assert_eq!(answer, &slots(&app, &m, *d, *d).await, "{d}");
    }
    assert!(at_once.iter().any(|a| !a.is_empty()));
}

/// The next free time a search shows moves on as soon as that time is booked.
#[tokio::test]
async fn the_next_free_time_in_the_results_moves_on_when_it_is_booked() {
    let Scene { app, m, .. } = scene().await;
    let next_free = || async {
        let r = app
            .api_get("/api/v1/therapists?technique=swedish", None)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        v["results"][0]["next_free_at"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = next_free().await;
    assert_eq!(next_free().await, first, "a repeat is the same");
    let (_, client) = app.api_user("client@example.com", "client").await;
    let r = book(&app, &client, &m, &first, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{first}");
    let second = next_free().await;
    assert_ne!(second, first);
    assert!(
        DateTime::parse_from_rfc3339(&second).unwrap()
            > DateTime::parse_from_rfc3339(&first).unwrap()
    );
}

/// A load of schedules spread over the pool's idle connections (what a PostgreSQL server does,
/// `ScheduleCache::spread_loads_over`) reads what a load on one connection reads: the policy and
/// time zone, weekly hours, time off, appointments and the active services of each therapist.
#[tokio::test]
async fn schedules_read_at_once_on_idle_connections_are_those_read_on_one() {
    use bodywork::db::schema::therapists;
    use bodywork::search::ScheduleCache;
    use diesel::prelude::*;
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let a = open_therapist(&app, admin_id, "a@example.com", &["swedish"]).await;
    let b = open_therapist(&app, admin_id, "b@example.com", &["shiatsu"]).await;
    crate::builders::with_service(&app, &b, "hot-stone", 90, 12_000).await;
    let day = some_day();
    let (_, client) = app.api_user("client@example.com", "client").await;
    let free = slots(&app, &a, day, day).await;
    let r = book(&app, &client, &a, &free[3], &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app.api_post("/api/v1/me/time-off", Some(&b.token), json!({"starts_at": format!("{day}T12:00:00-05:00"), "ends_at": format!("{day}T15:00:00-05:00"), "note": "course"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // Eight connections opened and returned: the pool has them idle, four to spare.
    let held: Vec<_> = (0..8).map(|_| app.pool.get().unwrap()).collect();
    drop(held);
    let spread = ScheduleCache::new();
    spread.spread_loads_over(app.pool.clone());
    assert_eq!(
        spread.spread_width(),
        bodywork::search::schedules::SPREAD_HELPERS
    );
    let one = ScheduleCache::new();
    assert_eq!(one.spread_width(), 0);

    let mut conn = app.conn();
    let wanted: Vec<(i64, i64)> = therapists::table
        .filter(therapists::id.eq_any([a.therapist_id, b.therapist_id]))
        .select((therapists::id, therapists::schedule_version))
        .order(therapists::id)
        .load(&mut conn)
        .unwrap();
    let read = |cache: &ScheduleCache, conn: &mut bodywork::db::DbConnection| {
        let mut got: Vec<String> = cache
            .schedules(conn, &wanted)
            .unwrap()
            .into_iter()
            .map(|(id, c)| {
                format!(
                    "{id}: {:?} {:?} {:?}",
                    c.version, c.shortest_min, c.schedule
                )
            })
            .collect();
        got.sort();
        got
    };
    let (at_once, on_one) = (read(&spread, &mut conn), read(&one, &mut conn));
    assert_eq!(at_once.len(), 2);
    assert_eq!(at_once, on_one);
    // What was read is the scene: a's booking, b's afternoon off and b's two services.
    let menus = |cache: &ScheduleCache| cache.menus(None, &wanted).unwrap().unwrap();
    let m = menus(&spread);
    assert_eq!(m[1].as_ref().unwrap().items.len(), 2, "{m:?}");
    let schedules = spread.schedules(&mut conn, &wanted).unwrap();
    assert_eq!(schedules[&a.therapist_id].schedule.busy.len(), 1);
    assert_eq!(schedules[&b.therapist_id].schedule.time_off.len(), 1);
    assert_eq!(schedules[&a.therapist_id].schedule.weekly.len(), 7);
}
