//! Calendars: a booking's .ics (API and page), the therapist's private feed (create, rotate,
//! revoke), and that no health data ever reaches a calendar.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::builders::{
    book, csrf_from, new_client, open_therapist, page_login, slots, some_day, spawn_app, Made,
    TestApp,
};

async fn get_with(c: &reqwest::Client, app: &TestApp, path: &str) -> reqwest::Response {
    c.get(app.url(path)).send().await.unwrap()
}

/// Posts a form of `page` to `action` with the page's CSRF token.
async fn post_with(
    c: &reqwest::Client,
    app: &TestApp,
    page: &str,
    action: &str,
) -> reqwest::Response {
    let html = get_with(c, app, page).await.text().await.unwrap();
    let csrf = csrf_from(&html);
    c.post(app.url(action))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap()
}

async fn ics_get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut r = new_client().get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

fn assert_is_calendar(r: &reqwest::Response) {
    let ct = r.headers().get("content-type").unwrap().to_str().unwrap();
    assert_eq!(ct, "text/calendar; charset=utf-8");
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
}

/// The .ics holds nothing from the screening: no question id, outcome or health word.
fn assert_no_health_data(ics: &str) {
    let lower = ics.to_lowercase();
    let q = bodywork::domain::screening::questionnaire();
    for question in &q.questions {
        assert!(
            !lower.contains(&question.id.to_lowercase()),
            "{} in {ics}",
            question.id
        );
    }
    for word in [
        "clearance",
        "caution",
        "varicose",
        "screening",
        "flag",
        "answer",
        "vein",
    ] {
        assert!(!lower.contains(word), "{word} in {ics}");
    }
}

/// "20261201T150000Z" for an RFC 3339 time.
fn ics_utc(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// A therapist, a client, and one flagged booking (varicose veins, clearance confirmed):
/// (therapist, client token, booking).
async fn flagged_booking(app: &TestApp) -> (Made, String, Value) {
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(app, admin_id, "t@example.com", &["swedish"]).await;
    let (_, client) = app.api_user("client@example.com", "client").await;
    let day = some_day();
    let list = slots(app, &m, day, day).await;
    let r = book(app, &client, &m, &list[4], &["varicose_veins"], true).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["screening"]["outcome"], "needs_clearance");
    (m, client, b)
}

#[tokio::test]
async fn a_bookings_ics_is_in_utc_names_the_other_party_and_holds_no_health_data() {
    let app = spawn_app().await;
    let (m, client, b) = flagged_booking(&app).await;
    let id = b["id"].as_i64().unwrap();
    let path = format!("/api/v1/appointments/{id}/calendar.ics");

    // The client's file, through the API.
    let r = ics_get(&app.url(&path), Some(&client)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_is_calendar(&r);
    let ics = r.text().await.unwrap();
    assert!(
        ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"),
        "{ics}"
    );
    assert!(
        ics.contains(&format!("UID:appointment-{id}@bodywork\r\n")),
        "{ics}"
    );
    assert!(
        ics.contains(&format!(
            "DTSTART:{}\r\n",
            ics_utc(b["starts_at"].as_str().unwrap())
        )),
        "{ics}"
    );
    assert!(
        ics.contains(&format!(
            "DTEND:{}\r\n",
            ics_utc(b["ends_at"].as_str().unwrap())
        )),
        "{ics}"
    );
    assert!(
        ics.contains("SUMMARY:Swedish massage with Open Therapist\r\n"),
        "{ics}"
    );
    assert!(
        ics.contains("STATUS:TENTATIVE\r\n"),
        "a request is tentative: {ics}"
    );
    assert_no_health_data(&ics);

    // The therapist's file names the client and the length.
    let r = ics_get(&app.url(&path), Some(&m.token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ics = r.text().await.unwrap();
    assert!(
        ics.contains("SUMMARY:Swedish 60 min: Test Person\r\n"),
        "{ics}"
    );
    assert_no_health_data(&ics);

    // Confirmed, it is no longer tentative.
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{id}/confirm"),
            Some(&m.token),
            serde_json::json!({"acknowledged_flags": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let ics = ics_get(&app.url(&path), Some(&client))
        .await
        .text()
        .await
        .unwrap();
    assert!(ics.contains("STATUS:CONFIRMED\r\n"), "{ics}");

    // Another client, an admin and nobody: 404, 404, 401.
    let (_, other) = app.api_user("other@example.com", "client").await;
    assert_eq!(
        ics_get(&app.url(&path), Some(&other)).await.status(),
        StatusCode::NOT_FOUND
    );
    let admin = app.api_login("admin@example.com").await;
    assert_eq!(
        ics_get(&app.url(&path), Some(&admin)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ics_get(&app.url(&path), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let missing = format!("/api/v1/appointments/{}/calendar.ics", id + 1000);
    assert_eq!(
        ics_get(&app.url(&missing), Some(&client)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_booking_page_ics_is_for_its_client_and_therapist_only() {
    let app = spawn_app().await;
    let (_, _, b) = flagged_booking(&app).await;
    let id = b["id"].as_i64().unwrap();
    let path = format!("/bookings/{id}/calendar.ics");

    let client = page_login(&app, "client@example.com").await;
    let r = get_with(&client, &app, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_is_calendar(&r);
    assert!(r
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains(".ics"));
    let ics = r.text().await.unwrap();
    assert!(
        ics.contains(&format!(
            "DTSTART:{}\r\n",
            ics_utc(b["starts_at"].as_str().unwrap())
        )),
        "{ics}"
    );
    assert!(
        ics.contains("SUMMARY:Swedish massage with Open Therapist\r\n"),
        "{ics}"
    );
    assert_no_health_data(&ics);

    let therapist = page_login(&app, "t@example.com").await;
    let ics = get_with(&therapist, &app, &path)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        ics.contains("SUMMARY:Swedish 60 min: Test Person\r\n"),
        "{ics}"
    );
    assert_no_health_data(&ics);

    app.api_register("other@example.com", "Other Client", "client")
        .await;
    let other = page_login(&app, "other@example.com").await;
    assert_eq!(
        get_with(&other, &app, &path).await.status(),
        StatusCode::NOT_FOUND
    );

    // Anonymous: to the login page, and back here afterwards.
    let r = get_with(&new_client(), &app, &path).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers().get("location").unwrap().to_str().unwrap();
    assert!(to.starts_with("/login"), "{to}");
}

#[tokio::test]
async fn the_feed_lists_the_therapists_bookings_and_rotating_or_revoking_kills_its_url() {
    let app = spawn_app().await;
    let (m, client, b) = flagged_booking(&app).await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    // A second booking, then a third one cancelled by the therapist: not in the feed.
    let second: Value = book(&app, &client, &m, list.last().unwrap(), &[], false)
        .await
        .json()
        .await
        .unwrap();
    let third: Value = book(&app, &client, &m, &list[0], &[], false)
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{}/cancel", third["id"]),
            Some(&m.token),
            serde_json::json!({"reason": "ill"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let r = app
        .api_post("/api/v1/me/calendar-feed", Some(&m.token), Value::Null)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = r.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        url.starts_with(&format!("{}/calendar/", app.address)) && url.ends_with(".ics"),
        "{url}"
    );

    let r = ics_get(&url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_is_calendar(&r);
    let feed = r.text().await.unwrap();
    assert!(feed.starts_with("BEGIN:VCALENDAR\r\n"), "{feed}");
    for (appt, listed) in [(&b, true), (&second, true), (&third, false)] {
        let uid = format!("UID:appointment-{}@bodywork\r\n", appt["id"]);
        assert_eq!(feed.contains(&uid), listed, "{uid} {feed}");
    }
    assert!(
        feed.contains(&format!(
            "DTSTART:{}\r\n",
            ics_utc(b["starts_at"].as_str().unwrap())
        )),
        "{feed}"
    );
    assert!(
        feed.contains("SUMMARY:Swedish 60 min: Test Person\r\n"),
        "{feed}"
    );
    assert_no_health_data(&feed);

    // Only the token's hash is stored.
    let token = url
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".ics")
        .to_string();
    let stored = crate::builders::with_conn(&app, |conn| {
        bodywork::models::therapist::Therapist::find(conn, m.therapist_id)
            .unwrap()
            .calendar_token_hash
    });
    assert_eq!(
        stored.as_deref(),
        Some(bodywork::services::tokens::hash_token(&token).as_str())
    );

    // Rotating: the old URL is dead, the new one works.
    let r = app
        .api_post("/api/v1/me/calendar-feed", Some(&m.token), Value::Null)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let new_url = r.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_url, url);
    assert_eq!(ics_get(&url, None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(ics_get(&new_url, None).await.status(), StatusCode::OK);

    // Revoking: dead too.
    let r = app.api_delete("/api/v1/me/calendar-feed", &m.token).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        ics_get(&new_url, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.api_delete("/api/v1/me/calendar-feed", &m.token)
            .await
            .status(),
        StatusCode::NO_CONTENT,
        "revoking twice is fine"
    );

    // Made-up tokens.
    for bad in ["nope", "x".repeat(43).as_str(), "%2e%2e"] {
        assert_eq!(
            ics_get(&app.url(&format!("/calendar/{bad}.ics")), None)
                .await
                .status(),
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }

    let actions: Vec<String> = crate::builders::with_conn(&app, |conn| {
        bodywork::models::audit::for_object(conn, "therapist", m.therapist_id)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    });
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "calendar.feed_create")
            .count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "calendar.feed_revoke")
            .count(),
        1,
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_client_cannot_create_or_revoke_a_feed() {
    let app = spawn_app().await;
    let (_, client) = app.api_user("client@example.com", "client").await;
    let r = app
        .api_post("/api/v1/me/calendar-feed", Some(&client), Value::Null)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.api_delete("/api/v1/me/calendar-feed", &client)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = app
        .api_post("/api/v1/me/calendar-feed", None, Value::Null)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Nor reach the page.
    let c = page_login(&app, "client@example.com").await;
    assert_eq!(
        get_with(&c, &app, "/therapist/calendar").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_therapist_page_shows_a_new_feed_url_once_and_turns_it_off() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let t = page_login(&app, "t@example.com").await;

    let dashboard = get_with(&t, &app, "/therapist").await.text().await.unwrap();
    assert!(
        dashboard.contains("href=\"/therapist/calendar\""),
        "the dashboard links to it"
    );
    let html = get_with(&t, &app, "/therapist/calendar")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("<h1").count(), 1);
    assert!(html.contains("is <strong>off</strong>"), "{html}");

    let r = post_with(&t, &app, "/therapist/calendar", "/therapist/calendar").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let marker = "data-testid=\"feed-url\"";
    assert!(html.contains(marker), "{html}");
    let start = html
        .find(&format!("{}/calendar/", app.address))
        .expect("the URL is shown");
    let end = start + html[start..].find(".ics").unwrap() + 4;
    let url = html[start..end].to_string();
    assert_eq!(ics_get(&url, None).await.status(), StatusCode::OK);
    assert!(html.contains("webcal://"), "a subscribe link");

    // It is not shown again.
    let html = get_with(&t, &app, "/therapist/calendar")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("is <strong>on</strong>"), "{html}");
    assert!(!html.contains(&url), "{html}");
    assert!(!html.contains(marker));

    // Turned off from the page.
    let r = post_with(
        &t,
        &app,
        "/therapist/calendar",
        "/therapist/calendar/revoke",
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(ics_get(&url, None).await.status(), StatusCode::NOT_FOUND);
    let html = get_with(&t, &app, "/therapist/calendar")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("is <strong>off</strong>"), "{html}");

    // Without the CSRF token nothing happens.
    let r = t
        .post(app.url("/therapist/calendar"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
