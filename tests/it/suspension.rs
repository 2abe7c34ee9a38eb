//! A suspension that takes effect: the therapist's page sessions, API tokens and calendar feed
//! end at once, logging in answers 403 `account_suspended` with why and whom to write to, the
//! admin cancels the bookings left behind (one or all) and every client is mailed; reinstating
//! gives back only the right to log in.

use bodywork::db::schema::{appointments, outbox};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    book, csrf_from, open_therapist, page_login, slots, some_day, spawn_app, spawn_mailing_app,
    with_conn, Made, SmtpSink, TestApp, PASSWORD,
};

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("json body")
}

async fn suspend(app: &TestApp, admin: &str, m: &Made, reason: &str) {
    let r = app
        .api_post(
            &format!("/api/v1/admin/therapists/{}/suspend", m.therapist_id),
            Some(admin),
            json!({ "reason": reason }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

/// Two free starts of `m` at least two hours apart.
async fn two_starts(app: &TestApp, m: &Made) -> (String, String) {
    let day = some_day();
    let all = slots(app, m, day, day + chrono::Duration::days(6)).await;
    let first = all[0].clone();
    let t0 = chrono::DateTime::parse_from_rfc3339(&first).unwrap();
    let second = all
        .iter()
        .find(|s| {
            chrono::DateTime::parse_from_rfc3339(s).unwrap() - t0 >= chrono::Duration::hours(2)
        })
        .expect("a second free time")
        .clone();
    (first, second)
}

async fn booked(app: &TestApp, client: &str, m: &Made, start: &str) -> i64 {
    let r = book(app, client, m, start, &[], false).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    json_of(r).await["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_suspension_ends_the_therapists_sessions_tokens_and_feed_and_refuses_their_login() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let start =
        slots(&app, &m, some_day(), some_day() + chrono::Duration::days(6)).await[0].clone();
    let appt = booked(&app, &client, &m, &start).await;

    // Before: a page session, the API token and a calendar feed all work.
    let page = page_login(&app, "t@example.com").await;
    let r = page.get(app.url("/therapist")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let feed = json_of(
        app.api_post("/api/v1/me/calendar-feed", Some(&m.token), json!({}))
            .await,
    )
    .await;
    let feed_url = feed["url"].as_str().expect("feed url").to_string();
    let feed_path = &feed_url[feed_url.find("/calendar/").unwrap()..];
    assert_eq!(app.get(feed_path).await.status(), StatusCode::OK);
    let own = format!("/api/v1/appointments/{appt}");
    assert_eq!(
        app.api_get(&own, Some(&m.token)).await.status(),
        StatusCode::OK
    );

    suspend(&app, &admin, &m, "Complaint under review").await;

    // After: the old token is worthless (401), the page session is gone, the feed is 404.
    for path in [own.as_str(), "/api/v1/me/appointments", "/api/v1/me"] {
        let r = app.api_get(path, Some(&m.token)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "old token on {path}");
    }
    let r = page.get(app.url("/therapist")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the page session ended");
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    assert_eq!(app.get(feed_path).await.status(), StatusCode::NOT_FOUND);

    // Logging in: 403 account_suspended, with why and whom to write to.
    let r = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "t@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let e = json_of(r).await;
    assert_eq!(e["error"]["code"], "account_suspended");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("Complaint under review"), "{msg}");
    assert!(msg.contains("admin@example.com"), "whom to write to: {msg}");
    // A wrong password says nothing about the suspension.
    let r = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "t@example.com", "password": "not the password at all"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(r).await["error"]["code"], "invalid_credentials");

    // The login page shows the suspension page.
    let c = crate::builders::new_client();
    let html = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("email", "t@example.com"),
            ("password", PASSWORD),
            ("csrf_token", csrf_from(&html).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(html.contains("Your account is suspended"), "{html}");
    assert!(html.contains("Complaint under review"));
    assert!(html.contains("mailto:admin@example.com"));
    assert!(!html.contains("Welcome back"));

    // Reinstating gives back the right to log in, and nothing else.
    let r = app
        .api_post(
            &format!("/api/v1/admin/therapists/{}/reinstate", m.therapist_id),
            Some(&admin),
            json!({"reason": "Cleared"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.api_get("/api/v1/me", Some(&m.token)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old token stays ended"
    );
    assert_eq!(app.get(feed_path).await.status(), StatusCode::NOT_FOUND);
    let fresh = app.api_login("t@example.com").await;
    assert_eq!(
        app.api_get(&own, Some(&fresh)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_support_address_in_the_settings_is_whom_a_suspended_therapist_writes_to() {
    let app = crate::builders::spawn_app_with(|s| {
        s.support_email = Some("help@bodywork.example".into());
    })
    .await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    suspend(&app, &admin, &m, "Expired insurance").await;
    let r = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "t@example.com", "password": PASSWORD}),
        )
        .await;
    let msg = json_of(r).await["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("help@bodywork.example"), "{msg}");
    assert!(!msg.contains("admin@example.com"), "{msg}");
}

/// Cancellation mails (by the therapist or an admin) to `to` in the outbox.
fn cancellations_to(app: &TestApp, to: &str) -> i64 {
    with_conn(app, |conn| {
        outbox::table
            .filter(outbox::to_email.eq(to))
            .filter(outbox::kind.eq("booking_cancelled_by_therapist"))
            .count()
            .get_result(conn)
            .unwrap()
    })
}

#[tokio::test]
async fn an_admin_cancels_a_suspended_therapists_bookings_one_or_all_and_every_client_is_mailed() {
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(sink.url(), |_| {}).await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let (_, c1) = app.api_user("c1@example.com", "client").await;
    let (_, c2) = app.api_user("c2@example.com", "client").await;
    let (s1, s2) = two_starts(&app, &m).await;
    let a1 = booked(&app, &c1, &m, &s1).await;
    let a2 = booked(&app, &c2, &m, &s2).await;
    suspend(&app, &admin, &m, "Complaint under review").await;

    // The admin's page lists both, each with its own cancel form, and a form for all.
    let admin_page = page_login(&app, "admin@example.com").await;
    let path = format!("/admin/therapists/{}", m.therapist_id);
    let html = admin_page
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("id=\"upcoming-{a1}\"")));
    assert!(html.contains(&format!("id=\"upcoming-{a2}\"")));
    assert!(html.contains("data-testid=\"cancel-all\""));
    let csrf = csrf_from(&html);
    let action = app.url(&format!("{path}/cancel-upcoming"));

    // Without a reason: the form again, the error next to its field, nothing cancelled.
    let a1s = a1.to_string();
    let r = admin_page
        .post(&action)
        .form(&[
            ("appointment", a1s.as_str()),
            ("reason", " "),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("id=\"cancel-reason-{a1}-error\"")),
        "{html}"
    );

    // One booking, with a reason.
    let r = admin_page
        .post(&action)
        .form(&[
            ("appointment", a1s.as_str()),
            (
                "reason",
                "Your therapist is unavailable; please book someone else.",
            ),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // An appointment of another therapist, or one not upcoming, is not found here.
    let r = admin_page
        .post(&action)
        .form(&[
            ("appointment", a1s.as_str()),
            ("reason", "Again"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // All the rest, through the API.
    let r = app
        .api_post(
            &format!(
                "/api/v1/admin/therapists/{}/cancel-upcoming",
                m.therapist_id
            ),
            Some(&admin),
            json!({"reason": "Your therapist is unavailable."}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let done = json_of(r).await;
    assert_eq!(done["cancelled"], 1);
    assert_eq!(done["skipped"], 0);

    let statuses: Vec<(i64, String, Option<String>)> = with_conn(&app, |conn| {
        appointments::table
            .filter(appointments::id.eq_any([a1, a2]))
            .order(appointments::id.asc())
            .select((
                appointments::id,
                appointments::status,
                appointments::cancel_reason,
            ))
            .load(conn)
            .unwrap()
    });
    assert!(
        statuses.iter().all(|(_, s, _)| s == "cancelled"),
        "{statuses:?}"
    );
    assert_eq!(
        statuses[0].2.as_deref(),
        Some("Your therapist is unavailable; please book someone else.")
    );

    // Every client is mailed once, over SMTP, with the reason.
    assert_eq!(cancellations_to(&app, "c1@example.com"), 1);
    assert_eq!(cancellations_to(&app, "c2@example.com"), 1);
    let mails = loop {
        let mails = sink.mails();
        let n = mails
            .iter()
            .filter(|m| m.subject.to_lowercase().contains("cancel"))
            .count();
        if n >= 2 {
            break mails;
        }
        sink.wait_for(mails.len() + 1).await;
    };
    for to in ["c1@example.com", "c2@example.com"] {
        let m = mails
            .iter()
            .find(|m| m.to == to && m.subject.to_lowercase().contains("cancel"))
            .unwrap_or_else(|| panic!("a cancellation mail to {to}"));
        // The reason stays on the booking's page; the mail says there is one.
        assert!(
            m.text.contains("They gave a reason") && !m.text.contains("is unavailable"),
            "{}",
            m.text
        );
    }

    // Nothing is left to cancel: the list is empty and "all" cancels none.
    let r = app
        .api_post(
            &format!(
                "/api/v1/admin/therapists/{}/cancel-upcoming",
                m.therapist_id
            ),
            Some(&admin),
            json!({"reason": "Again"}),
        )
        .await;
    assert_eq!(json_of(r).await["cancelled"], 0);
    // A reason is required.
    let r = app
        .api_post(
            &format!(
                "/api/v1/admin/therapists/{}/cancel-upcoming",
                m.therapist_id
            ),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
