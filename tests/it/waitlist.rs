//! The waitlist: a client joins for a full day (API and page), a time that comes free (a
//! cancellation, time off removed, hours added) is mailed once per slot to every waiting
//! client with a link that books it, the first to book gets it; the limits and refusals; entries
//! end after their last day; the database refuses what must never be; the mail goes over real
//! SMTP.

use std::time::Duration;

use bodywork::db::schema::{waitlist_announcements, waitlist_entries};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    assert_no_health_data, book, csrf_from, join_waitlist, one_slot_therapist, page_login,
    set_hours, slots, some_day, spawn_mailing_app, spawn_waitlist_app, with_conn, Made, SmtpSink,
    TestApp,
};

const KIND: &str = "waitlist_slot_free";

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

/// The path and query a booking link of `m` at `start` has.
fn book_path(m: &Made, start: &str) -> String {
    format!(
        "/book?therapist={}&service={}&start={}",
        m.therapist_id,
        m.service_id,
        start.replace(':', "%3A").replace('+', "%2B")
    )
}

async fn created_id(r: reqwest::Response) -> i64 {
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_i64().expect("id")
}

async fn error_code(r: reqwest::Response, status: StatusCode) -> String {
    let got = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{v}");
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

async fn cancel(app: &TestApp, token: &str, id: i64) {
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(token),
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

/// Waits a little for the worker's rounds, then counts the waitlist mails to `to`.
async fn settled_count(app: &TestApp, to: &str) -> i64 {
    tokio::time::sleep(Duration::from_millis(600)).await;
    app.mail_count(to, KIND)
}

#[tokio::test]
async fn a_cancelled_booking_is_mailed_once_to_each_waiting_client_and_the_first_to_book_gets_it() {
    let app = spawn_waitlist_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let day = some_day();
    let times = slots(&app, &m, day, day).await;
    assert_eq!(times.len(), 1, "one slot a day: {times:?}");
    let (_, b) = app.api_user("b@example.com", "client").await;
    let booked = created_id(book(&app, &b, &m, &times[0], &[], false).await).await;
    assert!(
        slots(&app, &m, day, day).await.is_empty(),
        "the day is full"
    );

    let (_, a) = app.api_user("a@example.com", "client").await;
    let (_, c) = app.api_user("c@example.com", "client").await;
    // A waits four days (three of them have a free time already: no news), C the full day.
    created_id(join_waitlist(&app, &a, &m, day, day + days(3)).await).await;
    created_id(join_waitlist(&app, &c, &m, day, day).await).await;
    let list: Value = app
        .api_get("/api/v1/me/waitlist", Some(&a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["results"][0]["from"], day.to_string());
    assert_eq!(list["results"][0]["to"], (day + days(3)).to_string());
    assert_eq!(list["results"][0]["service"], "Swedish, 60 minutes");
    assert_eq!(list["results"][0]["timezone"], "America/New_York");
    assert_eq!(
        settled_count(&app, "a@example.com").await,
        0,
        "nothing freed yet"
    );

    cancel(&app, &b, booked).await;
    let text = app.mail_text("a@example.com", KIND).await;
    let link = format!("{}{}", app.address, book_path(&m, &times[0]));
    assert!(text.contains(&link), "{link} in {text}");
    assert!(app.mail_text("c@example.com", KIND).await.contains(&link));
    // Once per freed slot, and only the freed one.
    assert_eq!(settled_count(&app, "a@example.com").await, 1);
    assert_eq!(app.mail_count("c@example.com", KIND), 1);
    assert_eq!(app.mail_count("b@example.com", KIND), 0);

    // The first to book gets it; the second hears that it is taken.
    created_id(book(&app, &a, &m, &times[0], &[], false).await).await;
    let code = error_code(
        book(&app, &c, &m, &times[0], &[], false).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code, "slot_taken");
    // A's cancelling again frees it again, but it was announced to C already: no second mail.
    let mine: Value = app
        .api_get("/api/v1/me/bookings", Some(&a))
        .await
        .json()
        .await
        .unwrap();
    let again = mine[0]["id"].as_i64().expect("a's booking");
    cancel(&app, &a, again).await;
    assert_eq!(settled_count(&app, "c@example.com").await, 1);
}

#[tokio::test]
async fn time_off_removed_and_hours_added_announce_only_the_time_they_free() {
    let app = spawn_waitlist_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let day = some_day();
    // Time off over the day's hour: the day has no free time.
    let r = app
        .api_post(
            "/api/v1/me/time-off",
            Some(&m.token),
            json!({"starts_at": format!("{day}T08:00:00-05:00"), "ends_at": format!("{day}T11:00:00-05:00"), "note": "away"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let off: Value = r.json().await.unwrap();
    assert!(slots(&app, &m, day, day).await.is_empty());
    let (_, a) = app.api_user("a@example.com", "client").await;
    created_id(join_waitlist(&app, &a, &m, day, day + days(1)).await).await;

    let r = app
        .api_delete(&format!("/api/v1/me/time-off/{}", off["id"]), &m.token)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let text = app.mail_text("a@example.com", KIND).await;
    let freed = slots(&app, &m, day, day).await;
    assert!(text.contains(&book_path(&m, &freed[0])), "{text}");
    // The next day's time was free all along: not announced.
    assert_eq!(settled_count(&app, "a@example.com").await, 1);

    // Hours added: 10:00-11:00 comes free on both days; 09:00 was announced already (day)
    // or free before (next day).
    set_hours(&app, &m, "09:00", "11:00").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let texts = app.mail_texts("a@example.com", KIND);
    assert!(texts.len() >= 2, "{texts:#?}");
    for t in &texts[1..] {
        assert!(
            !t.contains("T09%3A00"),
            "a time free before is not news: {t}"
        );
    }
    // Narrowing the hours frees nothing.
    let before = app.mail_count("a@example.com", KIND);
    set_hours(&app, &m, "09:00", "10:00").await;
    assert_eq!(settled_count(&app, "a@example.com").await, before);
}

#[tokio::test]
async fn joining_is_refused_with_a_code_for_each_broken_rule() {
    let app = spawn_waitlist_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let (_, a) = app.api_user("a@example.com", "client").await;
    let today = Utc::now().date_naive();
    let day = some_day();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "from": day, "to": day + days(31)}),
            "range_too_long",
        ),
        (
            json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "from": today - days(2), "to": day}),
            "date_in_past",
        ),
        (
            json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "from": day, "to": day - days(1)}),
            "range_reversed",
        ),
        (
            json!({"therapist_id": m.therapist_id, "service_id": 999_999, "from": day, "to": day}),
            "unknown_service",
        ),
        (
            json!({"therapist_id": 999_999, "service_id": m.service_id, "from": day, "to": day}),
            "therapist_not_bookable",
        ),
    ];
    for (body, code) in cases {
        let r = app.api_post("/api/v1/waitlist", Some(&a), body).await;
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(
            v["error"]["fields"]
                .as_object()
                .is_some_and(|f| !f.is_empty()),
            "{v}"
        );
    }
    // 31 days is the most, and allowed.
    created_id(join_waitlist(&app, &a, &m, day, day + days(30)).await).await;
    // The same again: 409.
    let code = error_code(
        join_waitlist(&app, &a, &m, day, day + days(30)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code, "already_waiting");
    // At most 10 active entries.
    for i in 1..10 {
        created_id(join_waitlist(&app, &a, &m, day + days(i), day + days(i)).await).await;
    }
    let code = error_code(
        join_waitlist(&app, &a, &m, day + days(20), day + days(20)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(code, "too_many_waitlist_entries");
    // A retired service.
    let r = app
        .api_delete(&format!("/api/v1/me/services/{}", m.service_id), &m.token)
        .await;
    assert!(r.status().is_success());
    let (_, b) = app.api_user("b@example.com", "client").await;
    let code = error_code(
        join_waitlist(&app, &b, &m, day, day).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(code, "unknown_service");
    // Unverified: 403.
    app.api_register("u@example.com", "Unverified", "client")
        .await;
    let u = app.api_login("u@example.com").await;
    let code = error_code(
        join_waitlist(&app, &u, &m, day, day).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(code, "email_unverified");
    // A therapist or an admin does not join.
    let r = join_waitlist(&app, &admin, &m, day, day).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn entries_are_removed_by_their_client_only_and_end_after_their_last_day() {
    let app = spawn_waitlist_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let (a_id, a) = app.api_user("a@example.com", "client").await;
    let (_, b) = app.api_user("b@example.com", "client").await;
    let day = some_day();
    let id = created_id(join_waitlist(&app, &a, &m, day, day).await).await;
    let r = app.api_delete(&format!("/api/v1/waitlist/{id}"), &b).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app.api_delete(&format!("/api/v1/waitlist/{id}"), &a).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let list: Value = app
        .api_get("/api/v1/me/waitlist", Some(&a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);

    // An entry whose last day has passed is not listed, and housekeeping purges it.
    let past = Utc::now().date_naive() - days(3);
    with_conn(&app, |conn| {
        diesel::insert_into(waitlist_entries::table)
            .values((
                waitlist_entries::client_id.eq(a_id),
                waitlist_entries::therapist_id.eq(m.therapist_id),
                waitlist_entries::service_id.eq(m.service_id),
                waitlist_entries::from_date.eq(past - days(2)),
                waitlist_entries::to_date.eq(past),
                waitlist_entries::created_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)
            .unwrap();
    });
    created_id(join_waitlist(&app, &a, &m, day, day).await).await;
    let list: Value = app
        .api_get("/api/v1/me/waitlist", Some(&a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["results"][0]["from"], day.to_string());
    let purged = with_conn(&app, |conn| {
        bodywork::services::waitlist::purge_ended(conn, Utc::now()).unwrap()
    });
    assert_eq!(purged, 1);
    let left: i64 = with_conn(&app, |conn| {
        waitlist_entries::table.count().get_result(conn).unwrap()
    });
    assert_eq!(left, 1);
}

#[tokio::test]
async fn the_database_refuses_long_ranges_and_a_slot_announced_twice() {
    let app = spawn_waitlist_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let (a_id, _) = app.api_user("a@example.com", "client").await;
    let day: NaiveDate = some_day();
    let insert = |from: NaiveDate, to: NaiveDate| {
        with_conn(&app, |conn| {
            diesel::insert_into(waitlist_entries::table)
                .values((
                    waitlist_entries::client_id.eq(a_id),
                    waitlist_entries::therapist_id.eq(m.therapist_id),
                    waitlist_entries::service_id.eq(m.service_id),
                    waitlist_entries::from_date.eq(from),
                    waitlist_entries::to_date.eq(to),
                    waitlist_entries::created_at.eq(Utc::now().naive_utc()),
                ))
                .returning(waitlist_entries::id)
                .get_result::<i64>(conn)
        })
    };
    assert!(insert(day, day + days(31)).is_err(), "32 days");
    assert!(insert(day, day - days(1)).is_err(), "reversed");
    let id = insert(day, day + days(30)).expect("31 days");
    assert!(insert(day, day + days(30)).is_err(), "the same twice");
    let slot = day.and_hms_opt(14, 0, 0).unwrap();
    let announce = || {
        with_conn(&app, |conn| {
            diesel::insert_into(waitlist_announcements::table)
                .values((
                    waitlist_announcements::entry_id.eq(id),
                    waitlist_announcements::slot_start.eq(slot),
                    waitlist_announcements::created_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)
        })
    };
    assert!(announce().is_ok());
    assert!(
        announce().is_err(),
        "one slot is announced to one entry once"
    );
}

#[tokio::test]
async fn the_profile_offers_the_waitlist_on_a_full_day_and_the_client_manages_it_in_pages() {
    let app = spawn_waitlist_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let day = some_day();
    let times = slots(&app, &m, day, day).await;
    let (_, b) = app.api_user("b@example.com", "client").await;
    created_id(book(&app, &b, &m, &times[0], &[], false).await).await;
    let profile = format!(
        "/therapists/{}?service={}&day={day}",
        m.therapist_id, m.service_id
    );
    // A visitor is asked to log in first, and comes back to this day.
    let html = app.get_html(&profile).await;
    assert!(
        html.contains("Log in to be told when a time comes free"),
        "{html}"
    );
    assert!(!html.contains("data-testid=\"waitlist-form\""));

    app.api_user("a@example.com", "client").await;
    let c = page_login(&app, "a@example.com").await;
    let html = c
        .get(app.url(&profile))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"waitlist-form\""), "{html}");
    assert!(
        html.contains(&format!("value=\"{day}\"")),
        "defaults from that day"
    );
    assert!(
        html.contains(&format!("value=\"{}\"", day + days(7))),
        "to a week later"
    );
    let csrf = csrf_from(&html);

    // Too long a range comes back with the message next to the field.
    let r = c
        .post(app.url("/waitlist"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("therapist_id", &m.therapist_id.to_string()),
            ("service_id", &m.service_id.to_string()),
            ("from", &day.to_string()),
            ("to", &(day + days(40)).to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"wait-to-error\""), "{html}");
    assert!(html.contains("at most 31 days"), "{html}");
    assert!(
        html.contains(&format!("value=\"{}\"", day + days(40))),
        "keeps what was typed"
    );

    let r = c
        .post(app.url("/waitlist"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("therapist_id", &m.therapist_id.to_string()),
            ("service_id", &m.service_id.to_string()),
            ("from", &day.to_string()),
            ("to", &(day + days(7)).to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = c
        .get(app.url("/waitlist"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("on Open Therapist&#39;s waitlist") || html.contains("waitlist for"),
        "{html}"
    );
    assert!(html.contains("data-testid=\"waitlist\""), "{html}");
    assert!(html.contains("Swedish, 60 minutes"));
    assert!(html.contains("aria-current=\"page\">My waitlist"));

    // Without the CSRF token nothing changes.
    let action = {
        let at = html.find("action=\"/waitlist/").expect("a remove form");
        html[at + 8..].split('"').next().unwrap().to_string()
    };
    let r = c
        .post(app.url(&action))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = c
        .post(app.url(&action))
        .form(&[("csrf_token", csrf_from(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = c
        .get(app.url("/waitlist"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"waitlist-empty\""), "{html}");
}

#[tokio::test]
async fn the_waitlist_mail_goes_over_smtp_with_the_booking_link_and_no_health_data() {
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(sink.url(), |_| {}).await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let day = some_day();
    let times = slots(&app, &m, day, day).await;
    let (_, b) = app.api_user("b@example.com", "client").await;
    // B's booking carries health answers: none of them reach the waiting client.
    let booked = created_id(book(&app, &b, &m, &times[0], &["herniated_disc"], false).await).await;
    let (_, a) = app.api_user("a@example.com", "client").await;
    created_id(join_waitlist(&app, &a, &m, day, day).await).await;
    cancel(&app, &b, booked).await;
    let link = sink.link_to("a@example.com", &app.address, "/book").await;
    assert_eq!(link, book_path(&m, &times[0]));
    let mails: Vec<_> = sink
        .mails()
        .into_iter()
        .filter(|x| x.to == "a@example.com" && x.subject.starts_with("A time came free"))
        .collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].raw.contains("text/html"));
    assert!(mails[0]
        .text
        .contains("The first person to book it gets it"));
    assert_no_health_data(&sink.mails());
}

#[tokio::test]
async fn the_demo_client_is_on_two_waitlists() {
    let app = crate::builders::spawn_app().await;
    let cipher = bodywork::services::crypto::AnswerCipher::from_settings(&app.settings).unwrap();
    let mail = app.mail_ctx();
    with_conn(&app, |conn| {
        bodywork::demo::fill(conn, &mail, &cipher).expect("demo data")
    });
    let waiting: i64 = with_conn(&app, |conn| {
        use bodywork::db::schema::users;
        waitlist_entries::table
            .inner_join(users::table)
            .filter(users::email.eq("client@demo.bodywork.test"))
            .count()
            .get_result(conn)
            .unwrap()
    });
    assert_eq!(waiting, 2);
}

#[tokio::test]
async fn a_client_waiting_twice_over_the_same_days_hears_of_a_freed_time_once() {
    let app = spawn_waitlist_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let day = some_day();
    let times = slots(&app, &m, day, day).await;
    let (_, b) = app.api_user("b@example.com", "client").await;
    let booked = created_id(book(&app, &b, &m, &times[0], &[], false).await).await;
    let (_, a) = app.api_user("a@example.com", "client").await;
    // Two entries whose days overlap on the booked day.
    created_id(join_waitlist(&app, &a, &m, day - days(1), day).await).await;
    created_id(join_waitlist(&app, &a, &m, day, day + days(2)).await).await;
    cancel(&app, &b, booked).await;
    let link = format!("{}{}", app.address, book_path(&m, &times[0]));
    assert!(app.mail_text("a@example.com", KIND).await.contains(&link));
    assert_eq!(settled_count(&app, "a@example.com").await, 1, "one mail");
    let announced: i64 = with_conn(&app, |conn| {
        waitlist_announcements::table
            .count()
            .get_result(conn)
            .unwrap()
    });
    assert_eq!(announced, 1, "recorded once, for one of the two entries");
}
