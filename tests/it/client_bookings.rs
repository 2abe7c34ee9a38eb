//! The client's bookings: the list grouped as upcoming, past, and cancelled or declined, each
//! state in words, on the page and in `GET /api/v1/me/bookings`; withdrawing a request the
//! therapist has not confirmed, whatever the cancellation window; and the migration that tells
//! declines from cancels in the rows written before `cancel_kind`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    appointment_at, book, scene, set_cancellation_window, slots, some_day, with_conn, Made, Scene,
    TestApp, PASSWORD,
};

/// A client with an API token whose browser-like `app.client` is logged in too.
async fn client(app: &TestApp, email: &str) -> (i64, String) {
    let (id, token) = app.api_user(email, "client").await;
    let r = app.login_page(email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "page login");
    (id, token)
}

async fn booked(app: &TestApp, token: &str, m: &Made, start: &str) -> i64 {
    let r = book(app, token, m, start, &[], false).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["status"], "requested");
    b["id"].as_i64().unwrap()
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.api_post(path, Some(token), body).await
}

async fn ok(r: reqwest::Response) -> Value {
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn appointment(app: &TestApp, token: &str, id: i64) -> Value {
    ok(app
        .api_get(&format!("/api/v1/appointments/{id}"), Some(token))
        .await)
    .await
}

/// The part of the bookings page in the section marked `data-testid="{name}"`.
fn section<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html
        .find(&format!("data-testid=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} section in {html}"));
    let end = html[start..].find("</section>").expect("section ends") + start;
    &html[start..end]
}

/// The booking ids a part of the page links to, in page order.
fn ids(part: &str) -> Vec<i64> {
    part.split("href=\"/bookings/")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The line of booking `id` in a part of the page.
fn line(part: &str, id: i64) -> &str {
    let start = part
        .find(&format!("href=\"/bookings/{id}\""))
        .unwrap_or_else(|| panic!("no line for booking {id} in {part}"));
    let end = part[start..].find("</li>").expect("line ends") + start;
    &part[start..end]
}

#[tokio::test]
async fn bookings_are_listed_as_upcoming_past_and_cancelled_with_states_in_words() {
    let Scene { app, m, .. } = scene().await;
    let (client_id, c) = client(&app, "c@example.com").await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let day2 = slots(&app, &m, day + Duration::days(1), day + Duration::days(1)).await;
    let at = |l: &[String], hm: &str| l.iter().find(|s| s.contains(hm)).unwrap().clone();

    // Upcoming: a request, and a confirmed booking earlier the same day.
    let requested = booked(&app, &c, &m, &at(&list, "T10:30")).await;
    let confirmed = booked(&app, &c, &m, &at(&list, "T09:00")).await;
    let confirm = |id: i64| format!("/api/v1/appointments/{id}/confirm");
    ok(post(&app, &confirm(confirmed), &m.token, json!({})).await).await;
    // Cancelled and declined: declined with a reason (which must stay text), cancelled by the
    // client after confirmation, withdrawn, moved, cancelled by the therapist.
    let declined = booked(&app, &c, &m, &at(&list, "T12:00")).await;
    let reason = "Away at a course <b>& back</b>";
    ok(post(
        &app,
        &format!("/api/v1/appointments/{declined}/decline"),
        &m.token,
        json!({ "reason": reason }),
    )
    .await)
    .await;
    let cancelled = booked(&app, &c, &m, &at(&list, "T13:30")).await;
    ok(post(&app, &confirm(cancelled), &m.token, json!({})).await).await;
    let cancel = |id: i64| format!("/api/v1/appointments/{id}/cancel");
    ok(post(
        &app,
        &cancel(cancelled),
        &c,
        json!({"reason": "Plans changed"}),
    )
    .await)
    .await;
    let withdrawn = booked(&app, &c, &m, &at(&list, "T15:00")).await;
    ok(post(&app, &cancel(withdrawn), &c, json!({})).await).await;
    let moved = booked(&app, &c, &m, &at(&day2, "T09:00")).await;
    let new = ok(post(
        &app,
        &format!("/api/v1/appointments/{moved}/reschedule"),
        &c,
        json!({"starts_at": at(&day2, "T12:00")}),
    )
    .await)
    .await["id"]
        .as_i64()
        .unwrap();
    let by_therapist = booked(&app, &c, &m, &at(&day2, "T15:00")).await;
    ok(post(
        &app,
        &cancel(by_therapist),
        &m.token,
        json!({"reason": "Ill"}),
    )
    .await)
    .await;
    // Past: completed, confirmed and ended, a no-show, a request never confirmed.
    let past = |days: i64, status: &str| {
        appointment_at(&app, &m, client_id, Duration::days(-days), status)
    };
    let (completed, ended, no_show, never) = (
        past(3, "completed"),
        past(5, "confirmed"),
        past(7, "no_show"),
        past(10, "requested"),
    );

    let r = app.get("/bookings").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let upcoming = section(&html, "upcoming");
    let past = section(&html, "past");
    let gone = section(&html, "cancelled");
    assert!(gone.contains("Cancelled and declined"), "{gone}");
    // Upcoming soonest first; past and cancelled most recent first.
    assert_eq!(ids(upcoming), [confirmed, requested, new]);
    assert_eq!(ids(past), [completed, ended, no_show, never]);
    assert_eq!(
        ids(gone),
        [by_therapist, moved, withdrawn, cancelled, declined]
    );
    assert!(!html.contains("None yet"), "{html}");

    let words = [
        (upcoming, requested, "Waiting for Open Therapist to confirm"),
        (upcoming, confirmed, "Confirmed"),
        (upcoming, new, "Waiting for Open Therapist to confirm"),
        (past, completed, "Completed"),
        (past, ended, "Confirmed"),
        (past, no_show, "Missed (marked as a no-show)"),
        (past, never, "Not confirmed by Open Therapist in time"),
        (gone, declined, "Declined by the therapist"),
        (gone, cancelled, "Cancelled by you"),
        (gone, withdrawn, "Request withdrawn by you"),
        (gone, moved, "Moved to another time"),
        (gone, by_therapist, "Cancelled by the therapist"),
    ];
    for (part, id, text) in words {
        let l = line(part, id);
        assert!(
            l.contains(&format!("data-testid=\"state\">{text}</span>")),
            "booking {id}: {l}"
        );
    }
    // The decline's reason is shown, escaped; a move's internal reason is not.
    let l = line(gone, declined);
    assert!(
        l.contains("Their reason: “Away at a course &#60;b&#62;&#38; back&#60;/b&#62;”"),
        "{l}"
    );
    assert!(!html.contains("<b>& back"), "{html}");
    assert!(line(gone, cancelled).contains("Your reason: “Plans changed”"));
    assert!(line(gone, by_therapist).contains("Their reason: “Ill”"));
    assert!(!line(gone, moved).contains("reason"));
    assert!(!line(gone, withdrawn).contains("reason"));

    // The detail page says the same.
    let d = app.get_html(&format!("/bookings/{declined}")).await;
    assert!(
        d.contains("data-testid=\"status\">Declined by the therapist</span>"),
        "{d}"
    );
    assert!(
        d.contains("Their reason: “Away at a course &#60;b&#62;"),
        "{d}"
    );

    // The API: the same groups and words, added to the lines; nothing renamed or dropped.
    let lines = ok(app.api_get("/api/v1/me/bookings", Some(&c)).await).await;
    let lines = lines.as_array().unwrap();
    let starts: Vec<DateTime<Utc>> = lines
        .iter()
        .map(|l| l["starts_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "soonest first");
    let by_id: HashMap<i64, &Value> = lines
        .iter()
        .map(|l| (l["id"].as_i64().unwrap(), l))
        .collect();
    for (group, part) in [("upcoming", upcoming), ("past", past), ("cancelled", gone)] {
        let api: BTreeSet<i64> = lines
            .iter()
            .filter(|l| l["group"] == group)
            .map(|l| l["id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            api,
            ids(part).into_iter().collect::<BTreeSet<i64>>(),
            "{group}"
        );
    }
    for (_, id, text) in words {
        assert_eq!(by_id[&id]["state_label"], text, "booking {id}");
    }
    let d = by_id[&declined];
    assert_eq!(d["status"], "cancelled", "the stored status is unchanged");
    assert_eq!(d["state"], "declined");
    assert_eq!(d["cancel_kind"], "declined");
    assert_eq!(d["cancel_reason"], reason);
    assert_eq!(d["therapist_name"], "Open Therapist");
    assert_eq!(by_id[&requested]["state"], "awaiting_confirmation");
    assert_eq!(by_id[&requested]["cancel_kind"], Value::Null);
    assert_eq!(by_id[&ended]["state"], "ended");
    assert_eq!(by_id[&withdrawn]["cancel_kind"], "withdrawn");
    assert_eq!(by_id[&cancelled]["state"], "cancelled_by_you");
    assert_eq!(by_id[&by_therapist]["state"], "cancelled_by_therapist");
    assert_eq!(by_id[&moved]["state"], "moved");
    assert_eq!(by_id[&moved]["cancel_kind"], "rescheduled");
    assert_eq!(
        appointment(&app, &c, declined).await["cancel_kind"],
        "declined"
    );

    // The therapist's list carries how it ended, not the client's words.
    let theirs = ok(app.api_get("/api/v1/me/appointments", Some(&m.token)).await).await;
    let t = theirs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == declined)
        .unwrap();
    assert_eq!(t["cancel_kind"], "declined");
    assert!(
        t.get("group").is_none() && t.get("state_label").is_none(),
        "{t}"
    );
}

#[tokio::test]
async fn a_request_can_be_withdrawn_until_it_starts_the_window_binds_confirmed_bookings() {
    let Scene { app, m, .. } = scene().await;
    // 30 days' notice: every booking below is inside the window.
    set_cancellation_window(&app, &m, 720).await;
    let (client_id, c) = client(&app, "c@example.com").await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;

    // The page offers "Withdraw request" as a POST form with the CSRF token.
    let id = booked(&app, &c, &m, &list[0]).await;
    let page = app.get_html(&format!("/bookings/{id}")).await;
    assert!(page.contains("Withdraw request"), "{page}");
    assert!(
        page.contains(&format!(
            "<form method=\"post\" action=\"/bookings/{id}/cancel\""
        )),
        "{page}"
    );
    assert!(page.contains("name=\"csrf_token\""));
    assert!(!page.contains("Cancel this booking"));
    assert!(!page.contains("too late"), "{page}");
    // Neither a GET nor a POST without the token changes anything.
    let r = app.get(&format!("/bookings/{id}/cancel")).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = app
        .client
        .post(app.url(&format!("/bookings/{id}/cancel")))
        .form(&[("reason", "no token")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(appointment(&app, &c, id).await["status"], "requested");
    // Withdrawn through the page, inside the window.
    let r = app
        .post_form(
            &format!("/bookings/{id}"),
            &format!("/bookings/{id}/cancel"),
            &[("reason", "Found a closer time")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/bookings");
    let list_page = app.get_html("/bookings").await;
    assert!(
        list_page.contains("Your request is withdrawn."),
        "{list_page}"
    );
    assert!(line(section(&list_page, "cancelled"), id).contains("Request withdrawn by you"));
    let v = appointment(&app, &c, id).await;
    assert_eq!(v["status"], "cancelled");
    assert_eq!(v["cancel_kind"], "withdrawn");
    assert_eq!(v["cancel_reason"], "Found a closer time");
    // Once withdrawn, it cannot be withdrawn again.
    let r = post(
        &app,
        &format!("/api/v1/appointments/{id}/cancel"),
        &c,
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_transition"
    );

    // Through the API too; someone else's request is not found.
    let id2 = booked(&app, &c, &m, &list[8]).await;
    let (_, stranger) = app.api_user("s@example.com", "client").await;
    let path = format!("/api/v1/appointments/{id2}/cancel");
    let r = post(&app, &path, &stranger, json!({})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v = ok(post(&app, &path, &c, json!({"reason": ""})).await).await;
    assert_eq!(v["status"], "cancelled");
    assert_eq!(v["cancel_kind"], "withdrawn");

    // A confirmed booking inside the window: no cancel offered, the page and the API refuse
    // with a clear message, and nothing changes.
    let conf = booked(&app, &c, &m, &list[16]).await;
    ok(post(
        &app,
        &format!("/api/v1/appointments/{conf}/confirm"),
        &m.token,
        json!({}),
    )
    .await)
    .await;
    let page = app.get_html(&format!("/bookings/{conf}")).await;
    assert!(!page.contains("Withdraw request"), "{page}");
    assert!(!page.contains("Cancel this booking"), "{page}");
    assert!(!page.contains("Move to another time"), "{page}");
    assert!(page.contains("Please contact them"), "{page}");
    let r = app
        .post_form(
            &format!("/bookings/{conf}"),
            &format!("/bookings/{conf}/cancel"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("It is too late to cancel this booking online"),
        "{html}"
    );
    let r = post(
        &app,
        &format!("/api/v1/appointments/{conf}/cancel"),
        &c,
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "too_late_to_cancel"
    );
    assert_eq!(appointment(&app, &c, conf).await["status"], "confirmed");

    // A request that has started can no longer be withdrawn.
    let started = appointment_at(&app, &m, client_id, Duration::minutes(-30), "requested");
    let page = app.get_html(&format!("/bookings/{started}")).await;
    assert!(!page.contains("Withdraw request"), "{page}");
    let r = post(
        &app,
        &format!("/api/v1/appointments/{started}/cancel"),
        &c,
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "already_started"
    );
}

#[tokio::test]
async fn the_migration_tells_declines_moves_and_cancels_apart_in_earlier_rows() {
    use bodywork::db::schema::appointments;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    let Scene { app, m, .. } = scene().await;
    let (_, c) = app.api_user("c@example.com", "client").await;
    let day = some_day();
    let list = slots(&app, &m, day, day).await;
    let declined = booked(&app, &c, &m, &list[0]).await;
    ok(post(
        &app,
        &format!("/api/v1/appointments/{declined}/decline"),
        &m.token,
        json!({"reason": "Away"}),
    )
    .await)
    .await;
    let moved = booked(&app, &c, &m, &list[8]).await;
    ok(post(
        &app,
        &format!("/api/v1/appointments/{moved}/reschedule"),
        &c,
        json!({"starts_at": list[14]}),
    )
    .await)
    .await;
    // A client whose own reason reads "rescheduled" cancelled: not a move.
    let cancelled = booked(&app, &c, &m, &list[24]).await;
    ok(post(
        &app,
        &format!("/api/v1/appointments/{cancelled}/cancel"),
        &c,
        json!({"reason": "rescheduled"}),
    )
    .await)
    .await;

    // The rows as they were before the column: drop it, then run the migration again.
    let up = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(app.db_url.backend_name())
        .join("2026-11-29-000007_cancel_kind")
        .join("up.sql");
    let up = std::fs::read_to_string(&up).unwrap_or_else(|e| panic!("{}: {e}", up.display()));
    let kinds = with_conn(&app, |conn| {
        conn.batch_execute("ALTER TABLE appointments DROP COLUMN cancel_kind")
            .unwrap();
        conn.batch_execute(&up).unwrap();
        appointments::table
            .order(appointments::id)
            .select((appointments::id, appointments::cancel_kind))
            .load::<(i64, Option<String>)>(conn)
            .unwrap()
    });
    let kind = |id: i64| {
        kinds
            .iter()
            .find(|(i, _)| *i == id)
            .and_then(|(_, k)| k.clone())
    };
    assert_eq!(kind(declined).as_deref(), Some("declined"));
    assert_eq!(kind(moved).as_deref(), Some("rescheduled"));
    assert_eq!(kind(cancelled).as_deref(), Some("cancelled"));
    let active: Vec<_> = kinds
        .iter()
        .filter(|(i, _)| ![declined, moved, cancelled].contains(i))
        .collect();
    assert_eq!(active.len(), 1, "the moved booking's new appointment");
    assert_eq!(active[0].1, None);
}
