//! Mail that is never lost: every event's mail goes over real SMTP (the sink in the test
//! binary) to the right person with the right content, survives an SMTP server that is down,
//! goes out once with two servers on one database, reminders come and go, old rows are purged,
//! the admin sees the outbox without bodies, and no mail ever holds screening text.

use std::time::Duration;

use bodywork::db::schema::{outbox, users};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    assert_no_health_data, book, free_port, health_words, open_therapist, page_login, slots,
    some_day, spawn_app, spawn_mailing_app, with_conn, Made, Mail, SmtpSink, TestApp,
};

/// The outbox kind of a mail the sink received (by its Message-ID).
fn kind_of(app: &TestApp, m: &Mail) -> String {
    let id = format!("<{}>", m.message_id);
    with_conn(app, |conn| {
        outbox::table
            .filter(outbox::message_id.eq(&id))
            .select(outbox::kind)
            .first::<String>(conn)
            .unwrap_or_else(|e| panic!("no outbox row for {id}: {e}"))
    })
}

/// A registration's verification mail (its link to `/verify-email`).
fn is_verification(m: &Mail) -> bool {
    m.text.contains("/verify-email?token=")
}

/// The mails of `kind` to `to`.
fn of(app: &TestApp, mails: &[Mail], kind: &str, to: &str) -> Vec<Mail> {
    mails
        .iter()
        .filter(|m| m.to == to && kind_of(app, m) == kind)
        .cloned()
        .collect()
}

fn one(app: &TestApp, mails: &[Mail], kind: &str, to: &str) -> Mail {
    let found = of(app, mails, kind, to);
    assert_eq!(found.len(), 1, "one {kind} to {to}: {found:#?}");
    found.into_iter().next().unwrap()
}

/// Both parts are there, and the text part carries `needle`.
fn readable_with(m: &Mail, needle: &str) {
    assert!(m.raw.contains("text/plain"), "{}", m.raw);
    assert!(m.raw.contains("text/html"), "{}", m.raw);
    assert!(m.text.contains(needle), "{needle:?} in {}", m.text);
    assert!(
        m.html.contains(&needle.replace('\'', "&#39;")),
        "{needle:?} in {}",
        m.html
    );
}

/// The ics property's value (`METHOD`, `SEQUENCE`, `UID`).
fn ics_value(m: &Mail, key: &str) -> String {
    let ics = m
        .ics
        .as_deref()
        .unwrap_or_else(|| panic!("{} has no .ics", m.subject));
    ics.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in {ics}"))
        .trim()
        .to_string()
}

/// Free starts of `m` from `from` on, at least two hours apart (so no two overlap), at least `n`.
async fn spaced(app: &TestApp, m: &Made, days: i64, n: usize) -> Vec<String> {
    let day = some_day();
    let all = slots(app, m, day, day + chrono::Duration::days(days)).await;
    let mut kept: Vec<String> = Vec::new();
    let mut last: Option<chrono::DateTime<chrono::FixedOffset>> = None;
    for s in all {
        let t = chrono::DateTime::parse_from_rfc3339(&s).unwrap();
        if last.is_none_or(|l| t - l >= chrono::Duration::hours(2)) {
            last = Some(t);
            kept.push(s);
        }
    }
    assert!(kept.len() >= n, "{} spaced free times", kept.len());
    kept
}

struct MailScene {
    app: TestApp,
    sink: SmtpSink,
    admin: String,
    m: Made,
    client: String,
}

/// A server mailing to a sink, its admin, an open therapist (t@example.com, whose two
/// credential mails have arrived) and a client (c@example.com). The two registrations'
/// verification mails arrive too and are set aside: the tests count from the credential mails.
async fn mail_scene() -> MailScene {
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(sink.url(), |_| {}).await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    sink.wait_for(4).await;
    sink.discard(is_verification);
    MailScene {
        app,
        sink,
        admin,
        m,
        client,
    }
}

async fn booked(s: &MailScene, start: &str, yes: &[&str], clearance: bool) -> i64 {
    let r = book(&s.app, &s.client, &s.m, start, yes, clearance).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn post_ok(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let r = app.api_post(path, Some(token), body).await;
    assert!(
        r.status().is_success(),
        "{path}: {} {}",
        r.status(),
        r.text().await.unwrap()
    );
    r.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn each_booking_event_mails_the_right_person_with_the_calendar_updates() {
    let s = mail_scene().await;
    let (app, t, c) = (&s.app, "t@example.com", "c@example.com");
    let free = spaced(app, &s.m, 2, 5).await;

    // Requested: the therapist is asked, the client told it was sent.
    let first = booked(&s, &free[0], &[], false).await;
    let mails = s.sink.wait_for(4).await;
    let asked = one(app, &mails, "booking_requested", t);
    readable_with(&asked, "Please confirm or decline");
    assert!(asked
        .text
        .contains(&format!("{}/therapist/appointments/{first}", app.address)));
    assert!(!asked.text.contains("something to read"), "{}", asked.text);
    let received = one(app, &mails, "booking_received", c);
    readable_with(&received, "was sent");
    assert!(received
        .text
        .contains(&format!("{}/bookings/{first}", app.address)));
    assert!(received.ics.is_none());

    // Confirmed: the client gets the calendar invitation.
    post_ok(
        app,
        &format!("/api/v1/appointments/{first}/confirm"),
        &s.m.token,
        json!({"acknowledged_flags": false}),
    )
    .await;
    let mails = s.sink.wait_for(5).await;
    let confirmed = one(app, &mails, "booking_confirmed", c);
    readable_with(&confirmed, "You are booked");
    assert_eq!(ics_value(&confirmed, "METHOD"), "REQUEST");
    assert_eq!(ics_value(&confirmed, "SEQUENCE"), "0");
    let uid = ics_value(&confirmed, "UID");
    assert_eq!(uid, format!("appointment-{first}@bodywork"));
    assert!(
        confirmed.raw.contains("method=REQUEST"),
        "{}",
        confirmed.raw
    );

    // Moved by the client: both are told. The therapist confirms by hand, so the new time is a
    // request again: the event leaves the client's calendar (same UID, one sequence up) until
    // the therapist confirms it, which brings it back one sequence higher still.
    let moved: Value = post_ok(
        app,
        &format!("/api/v1/appointments/{first}/reschedule"),
        &s.client,
        json!({"starts_at": free[3]}),
    )
    .await;
    let second = moved["id"].as_i64().unwrap();
    let mails = s.sink.wait_for(7).await;
    assert_eq!(moved["status"], "requested", "{moved}");
    let to_client = one(app, &mails, "booking_moved", c);
    readable_with(&to_client, "was moved");
    readable_with(&to_client, "confirms the new time");
    assert_eq!(ics_value(&to_client, "METHOD"), "CANCEL");
    assert_eq!(ics_value(&to_client, "SEQUENCE"), "1");
    assert_eq!(ics_value(&to_client, "UID"), uid);
    let to_therapist = one(app, &mails, "booking_moved", t);
    readable_with(&to_therapist, "moved their booking");
    readable_with(&to_therapist, "Please confirm or decline the new time");
    assert!(to_therapist.ics.is_none());
    post_ok(
        app,
        &format!("/api/v1/appointments/{second}/confirm"),
        &s.m.token,
        json!({"acknowledged_flags": false}),
    )
    .await;
    let mails = s.sink.wait_for(8).await;
    let reconfirmed = of(app, &mails, "booking_confirmed", c)
        .into_iter()
        .find(|m| m.text.contains(&format!("/bookings/{second}")))
        .expect("the new time's confirmation");
    assert_eq!(ics_value(&reconfirmed, "METHOD"), "REQUEST");
    assert_eq!(ics_value(&reconfirmed, "SEQUENCE"), "2");
    assert_eq!(ics_value(&reconfirmed, "UID"), uid);

    // Cancelled by the therapist: the client is told why, and the calendar event is cancelled.
    post_ok(
        app,
        &format!("/api/v1/appointments/{second}/cancel"),
        &s.m.token,
        json!({"reason": "I have to close the studio that day."}),
    )
    .await;
    let mails = s.sink.wait_for(9).await;
    let cancelled = one(app, &mails, "booking_cancelled_by_therapist", c);
    // The reason stays on the booking's page: the mail says there is one.
    readable_with(&cancelled, "They gave a reason");
    assert!(!cancelled.readable().contains("close the studio"));
    assert_eq!(ics_value(&cancelled, "METHOD"), "CANCEL");
    assert_eq!(ics_value(&cancelled, "SEQUENCE"), "3");
    assert_eq!(ics_value(&cancelled, "UID"), uid);

    // A flagged request: the therapist reads only that there is something to read; declined
    // with a reason the client reads.
    let third = booked(&s, &free[1], &["herniated_disc"], false).await;
    let mails = s.sink.wait_for(11).await;
    let flagged = of(app, &mails, "booking_requested", t)
        .into_iter()
        .find(|m| m.text.contains(&format!("/therapist/appointments/{third}")))
        .expect("the flagged request's mail");
    readable_with(&flagged, "There is something to read about this booking");
    post_ok(
        app,
        &format!("/api/v1/appointments/{third}/decline"),
        &s.m.token,
        json!({"reason": "I am fully booked with courses that week."}),
    )
    .await;
    let mails = s.sink.wait_for(12).await;
    let declined = one(app, &mails, "booking_declined", c);
    readable_with(&declined, "They gave a reason");
    assert!(!declined.readable().contains("fully booked"));
    assert!(
        declined.ics.is_none(),
        "a request never was in the calendar"
    );

    // Withdrawn by the client: the therapist is told, without the client's reason.
    let fourth = booked(&s, &free[2], &[], false).await;
    s.sink.wait_for(14).await;
    post_ok(
        app,
        &format!("/api/v1/appointments/{fourth}/cancel"),
        &s.client,
        json!({"reason": "My back got worse."}),
    )
    .await;
    let mails = s.sink.settle(15).await;
    let withdrawn = one(app, &mails, "booking_cancelled_by_client", t);
    readable_with(&withdrawn, "withdrew their request");
    assert!(
        !withdrawn.readable().contains("My back got worse"),
        "{}",
        withdrawn.text
    );
    assert_eq!(
        mails.len(),
        15,
        "{:#?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    // Every mail went to its envelope recipient and names its own Message-ID.
    for m in &mails {
        assert_eq!(m.rcpt, vec![m.to.clone()]);
        assert!(m.message_id.ends_with("@bodywork.mail"), "{}", m.message_id);
    }
    assert_no_health_data(&mails);
}

#[tokio::test]
async fn credential_and_standing_mails_reach_the_therapist_and_an_admins_cancel_the_client() {
    let s = mail_scene().await;
    let (app, t, c) = (&s.app, "t@example.com", "c@example.com");
    let mails = s.sink.wait_for(2).await;
    assert_eq!(
        of(app, &mails, "credential_verified", t).len(),
        2,
        "license and training"
    );
    readable_with(
        &of(app, &mails, "credential_verified", t)[0],
        "An administrator verified",
    );

    let lic: Value = post_ok(app, "/api/v1/me/license", &s.m.token, json!({"jurisdiction": "MA", "number": "LMT-77", "issuing_body": "MA Board", "expires_on": (chrono::Utc::now().date_naive() + chrono::Duration::days(400)).to_string()})).await;
    let id = lic["id"].as_i64().unwrap();
    post_ok(
        app,
        &format!("/api/v1/admin/licenses/{id}/reject"),
        &s.admin,
        json!({"reason": "The scan is unreadable."}),
    )
    .await;
    let mails = s.sink.wait_for(3).await;
    let rejected = one(app, &mails, "credential_rejected", t);
    readable_with(&rejected, "The scan is unreadable.");
    assert!(rejected.text.contains("LMT-77"));

    let free = spaced(app, &s.m, 1, 1).await;
    let appt = booked(&s, &free[0], &[], false).await;
    s.sink.wait_for(5).await;
    let tid = s.m.therapist_id;
    post_ok(
        app,
        &format!("/api/v1/admin/therapists/{tid}/suspend"),
        &s.admin,
        json!({"reason": "A complaint is under review."}),
    )
    .await;
    let mails = s.sink.wait_for(6).await;
    readable_with(
        &one(app, &mails, "suspended", t),
        "A complaint is under review.",
    );
    // The admin cancels the suspended therapist's booking: its client is told.
    post_ok(
        app,
        &format!("/api/v1/appointments/{appt}/cancel"),
        &s.admin,
        json!({"reason": "Your therapist is not available."}),
    )
    .await;
    let mails = s.sink.wait_for(7).await;
    let cancelled = one(app, &mails, "booking_cancelled_by_therapist", c);
    readable_with(&cancelled, "was cancelled by Bodywork");
    readable_with(&cancelled, "They gave a reason");
    assert!(!cancelled.readable().contains("not available"));
    post_ok(
        app,
        &format!("/api/v1/admin/therapists/{tid}/reinstate"),
        &s.admin,
        json!({"reason": "Resolved."}),
    )
    .await;
    let mails = s.sink.settle(8).await;
    readable_with(&one(app, &mails, "reinstated", t), "lifted the suspension");
    assert_eq!(mails.len(), 8);
    assert_no_health_data(&mails);
}

#[tokio::test]
async fn a_mail_written_while_smtp_is_down_arrives_once_it_is_back_exactly_once() {
    let port = free_port().await;
    let url = bodywork::domain::mail::SmtpUrl::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
    let app = spawn_mailing_app(url, |_| {}).await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    // Three mails are written while nothing listens: the therapist's verification link and
    // the two credential mails.
    open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let failed_once = || {
        with_conn(&app, |conn| {
            outbox::table
                .filter(outbox::status.eq("queued"))
                .filter(outbox::attempts.ge(1))
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
    };
    for _ in 0..200 {
        if failed_once() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed_once(), 3, "each tried and waiting for a retry");
    let (error, sent): (Option<String>, i64) = with_conn(&app, |conn| {
        let e = outbox::table
            .select(outbox::last_error)
            .first(conn)
            .unwrap();
        let sent = outbox::table
            .filter(outbox::status.eq("sent"))
            .count()
            .get_result(conn)
            .unwrap();
        (e, sent)
    });
    assert!(error.is_some());
    assert_eq!(sent, 0);
    // The server comes back; the retry is due (the test does not wait the backoff out).
    let sink = SmtpSink::start_on(port).await;
    with_conn(&app, |conn| {
        diesel::update(outbox::table)
            .set(outbox::send_after.eq(bodywork::models::now()))
            .execute(conn)
            .unwrap()
    });
    let mails = sink.settle(3).await;
    assert_eq!(mails.len(), 3, "each mail once");
    let mut ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three different mails");
    let statuses: Vec<(String, i32)> = with_conn(&app, |conn| {
        outbox::table
            .select((outbox::status, outbox::attempts))
            .load(conn)
            .unwrap()
    });
    assert!(
        statuses.iter().all(|(s, a)| s == "sent" && *a >= 2),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn two_servers_on_one_database_send_each_of_a_hundred_mails_exactly_once() {
    let s = mail_scene().await;
    let other = s.app.second_server();
    let free = spaced(&s.app, &s.m, 20, 50).await;
    for (i, start) in free.iter().take(50).enumerate() {
        let base = if i % 2 == 0 {
            s.app.address.clone()
        } else {
            other.clone()
        };
        let r = crate::builders::new_client()
            .post(format!("{base}/api/v1/appointments"))
            .bearer_auth(&s.client)
            .json(&json!({"therapist_id": s.m.therapist_id, "service_id": s.m.service_id, "starts_at": start, "answers": crate::builders::answers(&[]), "clearance_confirmed": false, "cancellation_window_acknowledged": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // 2 credential mails, then a request and a receipt per booking.
    let mails = s.sink.settle(102).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = if s.sink.mails().len() > mails.len() {
        s.sink.mails()
    } else {
        mails
    };
    let mut ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(n, 102, "every mail arrived");
    assert_eq!(ids.len(), 102, "no mail twice");
    let claimed_by: Vec<Option<String>> = with_conn(&s.app, |conn| {
        outbox::table.select(outbox::claimed_by).load(conn).unwrap()
    });
    assert!(
        claimed_by.iter().all(Option::is_none),
        "no lease left behind"
    );
}

#[tokio::test]
async fn reminders_go_out_when_due_are_withdrawn_by_a_cancel_and_respect_the_choice() {
    let s = mail_scene().await;
    let app = &s.app;
    let free = spaced(app, &s.m, 2, 4).await;
    let reminders = |appt: i64, status: &str| -> Vec<String> {
        with_conn(app, |conn| {
            outbox::table
                .inner_join(users::table.on(outbox::user_id.eq(users::id.nullable())))
                .filter(outbox::appointment_id.eq(appt))
                .filter(outbox::kind.eq("reminder"))
                .filter(outbox::status.eq(status))
                .select(users::email)
                .order(users::email)
                .load(conn)
                .unwrap()
        })
    };
    let confirm = |id: i64| {
        let token = s.m.token.clone();
        async move {
            post_ok(
                app,
                &format!("/api/v1/appointments/{id}/confirm"),
                &token,
                json!({"acknowledged_flags": false}),
            )
            .await;
        }
    };
    // Confirmed: one reminder each, planned for the day before; due, both go out.
    let a = booked(&s, &free[0], &[], false).await;
    confirm(a).await;
    assert_eq!(reminders(a, "queued"), ["c@example.com", "t@example.com"]);
    let planned: chrono::NaiveDateTime = with_conn(app, |conn| {
        outbox::table
            .filter(outbox::appointment_id.eq(a))
            .filter(outbox::kind.eq("reminder"))
            .select(outbox::send_after)
            .first(conn)
            .unwrap()
    });
    let starts = chrono::DateTime::parse_from_rfc3339(&free[0])
        .unwrap()
        .naive_utc();
    assert_eq!(starts - planned, chrono::Duration::hours(24));
    let before = s.sink.wait_for(5).await.len();
    with_conn(app, |conn| {
        diesel::update(
            outbox::table
                .filter(outbox::kind.eq("reminder"))
                .filter(outbox::appointment_id.eq(a)),
        )
        .set(outbox::send_after.eq(bodywork::models::now()))
        .execute(conn)
        .unwrap()
    });
    let mails = s.sink.wait_for(before + 2).await;
    let to_client = one(app, &mails, "reminder", "c@example.com");
    readable_with(&to_client, "A reminder");
    assert!(
        to_client.text.contains(&format!("{}/account", app.address)),
        "where to turn them off"
    );
    one(app, &mails, "reminder", "t@example.com");
    // The sink has them once the SMTP conversation ends; the worker marks them sent just after.
    let mut sent = reminders(a, "sent");
    for _ in 0..50 {
        if sent.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        sent = reminders(a, "sent");
    }
    assert_eq!(sent.len(), 2, "{sent:?}");

    // Cancelled: its reminders are withdrawn.
    let b = booked(&s, &free[1], &[], false).await;
    confirm(b).await;
    post_ok(
        app,
        &format!("/api/v1/appointments/{b}/cancel"),
        &s.m.token,
        json!({"reason": ""}),
    )
    .await;
    assert!(reminders(b, "queued").is_empty());
    assert_eq!(reminders(b, "withdrawn").len(), 2);

    // The client turns reminders off (API): only the therapist's is planned.
    let r = app
        .api_put(
            "/api/v1/me/notifications",
            &s.client,
            json!({"reminders": false}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"reminders": false})
    );
    let r = app
        .api_get("/api/v1/me/notifications", Some(&s.client))
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"reminders": false})
    );
    let c = booked(&s, &free[2], &[], false).await;
    confirm(c).await;
    assert_eq!(reminders(c, "queued"), ["t@example.com"]);
    // The therapist turns them off on the account page: the planned one is withdrawn.
    let page = page_login(app, "t@example.com").await;
    let html = page
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Send me reminders"), "{html}");
    let csrf = crate::builders::csrf_from(&html);
    let bad = page
        .post(app.url("/account/notifications"))
        .form(&[("reminders", "maybe"), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let no_csrf = page
        .post(app.url("/account/notifications"))
        .form(&[("reminders", "off")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    assert_eq!(reminders(c, "queued"), ["t@example.com"]);
    let ok = page
        .post(app.url("/account/notifications"))
        .form(&[("reminders", "off"), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert!(reminders(c, "queued").is_empty());
    assert_eq!(reminders(c, "withdrawn"), ["t@example.com"]);

    // Turned off behind the outbox's back: the worker checks again when it is due.
    let r = app
        .api_put(
            "/api/v1/me/notifications",
            &s.client,
            json!({"reminders": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let d = booked(&s, &free[3], &[], false).await;
    confirm(d).await;
    assert_eq!(reminders(d, "queued"), ["c@example.com"]);
    let sent_before = s.sink.mails().len();
    with_conn(app, |conn| {
        diesel::update(users::table.filter(users::email.eq("c@example.com")))
            .set(users::reminders.eq(false))
            .execute(conn)
            .unwrap();
        diesel::update(
            outbox::table
                .filter(outbox::appointment_id.eq(d))
                .filter(outbox::kind.eq("reminder")),
        )
        .set(outbox::send_after.eq(bodywork::models::now()))
        .execute(conn)
        .unwrap()
    });
    for _ in 0..100 {
        if reminders(d, "withdrawn").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reminders(d, "withdrawn"), ["c@example.com"]);
    let mails = s.sink.mails();
    assert!(of(app, &mails[sent_before..], "reminder", "c@example.com").is_empty());
    assert_no_health_data(&mails);
}

#[tokio::test]
async fn old_sent_failed_and_withdrawn_mails_are_purged_and_nothing_else() {
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(sink.url(), |s| {
        s.mail_keep = Duration::from_secs(3600);
    })
    .await;
    let ctx = app.mail_ctx();
    let ids: Vec<i64> = with_conn(&app, |conn| {
        ["sent", "failed", "withdrawn", "queued", "sent"]
            .iter()
            .enumerate()
            .map(|(i, status)| {
                let m = bodywork::services::mail::AccountMail {
                    event: bodywork::services::mail::AccountEvent::PasswordChanged,
                    to_name: "Old".into(),
                    link: ctx.link("/login"),
                    valid_for: None,
                    new_email: None,
                    invited_by: None,
                };
                let id = bodywork::services::outbox::enqueue(
                    conn,
                    bodywork::services::outbox::Outgoing {
                        kind: m.event.kind(),
                        to_email: "old@example.com".into(),
                        user_id: None,
                        appointment_id: None,
                        // The queued one is not due: it must stay queued.
                        send_after: Some(chrono::Utc::now() + chrono::Duration::days(1)),
                        rendered: bodywork::services::mail::render_account(&ctx, &m).unwrap(),
                    },
                )
                .unwrap();
                // All but the last are two hours old.
                let age = if i == 4 {
                    chrono::Duration::minutes(1)
                } else {
                    chrono::Duration::hours(2)
                };
                diesel::update(outbox::table.find(id))
                    .set((
                        outbox::status.eq(*status),
                        outbox::created_at.eq(bodywork::models::now() - age),
                    ))
                    .execute(conn)
                    .unwrap();
                id
            })
            .collect()
    });
    let left = || -> Vec<i64> {
        with_conn(&app, |conn| {
            outbox::table
                .select(outbox::id)
                .order(outbox::id)
                .load(conn)
                .unwrap()
        })
    };
    for _ in 0..100 {
        if left().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        left(),
        vec![ids[3], ids[4]],
        "the queued one and the recent one stay"
    );
    assert!(sink.mails().is_empty());
}

#[tokio::test]
async fn the_admin_sees_a_failed_mail_with_its_error_but_never_its_body() {
    let s = mail_scene().await;
    let app = &s.app;
    let ctx = app.mail_ctx();
    with_conn(app, |conn| {
        let m = bodywork::services::mail::AccountMail {
            event: bodywork::services::mail::AccountEvent::PasswordReset,
            to_name: "Nobody".into(),
            link: ctx.link("/reset?token=secret-link-token"),
            valid_for: Some("1 hour".into()),
            new_email: None,
            invited_by: None,
        };
        bodywork::services::outbox::enqueue(
            conn,
            bodywork::services::outbox::Outgoing {
                kind: m.event.kind(),
                to_email: "not an address".into(),
                user_id: None,
                appointment_id: None,
                send_after: None,
                rendered: bodywork::services::mail::render_account(&ctx, &m).unwrap(),
            },
        )
        .unwrap()
    });
    let failed = || async {
        let r = app
            .api_get("/api/v1/admin/outbox?status=failed", Some(&s.admin))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()
    };
    let mut v = failed().await;
    for _ in 0..100 {
        if v["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        v = failed().await;
    }
    assert_eq!(v["total"], 1, "{v}");
    let line = &v["results"][0];
    assert_eq!(line["to"], "not an address");
    assert_eq!(line["kind"], "password_reset");
    assert_eq!(line["status"], "failed");
    assert_eq!(line["attempts"], 1, "a permanent refusal is not retried");
    assert!(line["last_error"]
        .as_str()
        .unwrap()
        .contains("not an address"));
    assert!(
        !v.to_string().contains("secret-link-token"),
        "never the body: {v}"
    );
    assert!(line.get("subject").is_none() && line.get("body_text").is_none());
    // The two credential mails and the two registrations' verification links went out.
    let sent: Value = app
        .api_get(
            "/api/v1/admin/outbox?status=sent&per_page=1",
            Some(&s.admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (sent["total"].as_i64(), sent["per_page"].as_i64()),
        (Some(4), Some(1))
    );
    let r = app
        .api_get("/api/v1/admin/outbox?status=lost", Some(&s.admin))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.api_get("/api/v1/admin/outbox", Some(&s.client)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The page: the failed mail with its error, no body.
    let admin = page_login(app, "admin@example.com").await;
    let html = admin
        .get(app.url("/admin/outbox?status=failed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("not an address"), "{html}");
    assert!(html.contains("Password reset"), "{html}");
    assert!(!html.contains("secret-link-token"), "{html}");
    let html = admin
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("href=\"/admin/outbox\""),
        "linked from the admin nav"
    );
}

#[tokio::test]
async fn no_mail_of_a_flagged_booking_holds_screening_text() {
    let s = mail_scene().await;
    let app = &s.app;
    let free = spaced(app, &s.m, 2, 5).await;
    // Caution and clearance: the strongest answers a booking can still be made with.
    let flagged = booked(
        &s,
        &free[0],
        &["herniated_disc", "blood_thinners", "varicose_veins"],
        true,
    )
    .await;
    post_ok(
        app,
        &format!("/api/v1/appointments/{flagged}/confirm"),
        &s.m.token,
        json!({"acknowledged_flags": true}),
    )
    .await;
    let moved: Value = post_ok(
        app,
        &format!("/api/v1/appointments/{flagged}/reschedule"),
        &s.client,
        json!({"starts_at": free[2]}),
    )
    .await;
    let id = moved["id"].as_i64().unwrap();
    post_ok(
        app,
        &format!("/api/v1/appointments/{id}/cancel"),
        &s.client,
        json!({"reason": "I take blood thinners now."}),
    )
    .await;
    let other = booked(&s, &free[4], &["herniated_disc"], false).await;
    post_ok(
        app,
        &format!("/api/v1/appointments/{other}/decline"),
        &s.m.token,
        json!({"reason": "Not this week."}),
    )
    .await;
    with_conn(app, |conn| {
        diesel::update(outbox::table.filter(outbox::kind.eq("reminder")))
            .set(outbox::send_after.eq(bodywork::models::now()))
            .execute(conn)
            .unwrap()
    });
    // requested, received, confirmed, 2 moved, cancelled, requested, received, declined.
    let mails = s.sink.settle(2 + 9).await;
    assert!(mails.len() >= 11);
    let words = health_words();
    assert!(
        words.iter().any(|w| w == "osteoporosis"),
        "the words come from the questionnaire"
    );
    assert_no_health_data(&mails);
}

#[tokio::test]
async fn without_smtp_mails_are_eml_files_and_the_demo_fills_the_outbox() {
    let app = spawn_app().await;
    let cipher = bodywork::services::crypto::AnswerCipher::from_settings(&app.settings).unwrap();
    let mail = app.mail_ctx();
    with_conn(&app, |conn| {
        bodywork::demo::fill(conn, &mail, &cipher).expect("demo data")
    });
    let admin = crate::builders::demo_login(&app, "admin@demo.bodywork.test").await;
    let failed: Value = app
        .api_get("/api/v1/admin/outbox?status=failed", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(failed["total"].as_i64().unwrap() >= 1, "{failed}");
    let sent: Value = app
        .api_get("/api/v1/admin/outbox?status=sent", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(sent["total"].as_i64().unwrap() >= 2, "{sent}");
    // The worker (default poll) writes the demo's queued mails as .eml files.
    let files = || {
        std::fs::read_dir(app.mail_dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    };
    for _ in 0..200 {
        if files() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        files() > 0,
        "mails written to {}",
        app.mail_dir.path().display()
    );
}

/// Writes an account mail ("password changed") to `to` into the outbox, in `conn`'s
/// transaction; its id.
fn queue_account_mail(
    app: &TestApp,
    conn: &mut bodywork::db::DbConnection,
    to: &str,
) -> Result<i64, bodywork::error::AppError> {
    let ctx = app.mail_ctx();
    let m = bodywork::services::mail::AccountMail {
        event: bodywork::services::mail::AccountEvent::PasswordChanged,
        to_name: "Pat".into(),
        link: ctx.link("/login"),
        valid_for: None,
        new_email: None,
        invited_by: None,
    };
    bodywork::services::outbox::enqueue(
        conn,
        bodywork::services::outbox::Outgoing {
            kind: m.event.kind(),
            to_email: to.into(),
            user_id: None,
            appointment_id: None,
            send_after: None,
            rendered: bodywork::services::mail::render_account(&ctx, &m)?,
        },
    )
}

/// The state a worker killed mid-transfer leaves (`services::outbox::begin` committed, no `sent`
/// mark: `kill_mid_send_leaves_the_mail_sending` in `operations.rs` shows the real worker leaves
/// exactly this), with its lease already run out.
fn interrupted_mail(app: &TestApp, to: &str) -> (i64, String) {
    with_conn(app, |conn| {
        bodywork::db::write_transaction(conn, |conn| {
            let id = queue_account_mail(app, conn, to)?;
            let past = bodywork::models::now() - chrono::Duration::seconds(1);
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::status.eq("sending"),
                    outbox::claimed_by.eq(Some("a-worker-that-died")),
                    outbox::claimed_until.eq(Some(past)),
                ))
                .execute(conn)?;
            let message_id: String = outbox::table
                .find(id)
                .select(outbox::message_id)
                .first(conn)?;
            Ok::<_, bodywork::error::AppError>((id, message_id))
        })
        .unwrap()
    })
}

/// `POST /api/v1/admin/outbox/{id}/send-again` as the holder of `token`.
async fn send_again_api(app: &TestApp, token: &str, id: i64) -> reqwest::Response {
    app.api_post(
        &format!("/api/v1/admin/outbox/{id}/send-again"),
        Some(token),
        json!({}),
    )
    .await
}

/// The outbox page's "Send again" form of mail `id`, sent with `csrf`.
async fn send_again_page(
    app: &TestApp,
    browser: &reqwest::Client,
    id: i64,
    csrf: &str,
) -> reqwest::Response {
    browser
        .post(app.url(&format!("/admin/outbox/{id}/send-again")))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap()
}

fn status_of(app: &TestApp, id: i64) -> (String, Option<String>) {
    with_conn(app, |conn| {
        outbox::table
            .find(id)
            .select((outbox::status, outbox::claimed_by))
            .first(conn)
            .unwrap()
    })
}

#[tokio::test]
async fn a_mail_interrupted_mid_send_is_in_doubt_never_resent_by_itself_and_an_admin_sends_it_again_once(
) {
    let s = mail_scene().await;
    let app = &s.app;
    s.sink.settle(2).await;
    s.sink.discard(|_| true);
    let (id, message_id) = interrupted_mail(app, "pat@example.com");
    // The worker's next claim puts it in doubt and does not send it.
    let mut status = status_of(app, id);
    for _ in 0..100 {
        if status.0 == "in_doubt" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = status_of(app, id);
    }
    assert_eq!(status, ("in_doubt".to_string(), None), "lease dropped");
    // A queued mail written afterwards goes out, so the worker ran rounds past it.
    with_conn(app, |conn| {
        queue_account_mail(app, conn, "lee@example.com").unwrap()
    });
    let mails = s.sink.settle(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = if s.sink.mails().len() > mails.len() {
        s.sink.mails()
    } else {
        mails
    };
    assert_eq!(mails.len(), 1, "only the new mail");
    assert_eq!(mails[0].rcpt, vec!["lee@example.com".to_string()]);
    assert_eq!(status_of(app, id).0, "in_doubt", "still not sent again");
    // The admin's list shows it, with why; never its body.
    let v: Value = app
        .api_get("/api/v1/admin/outbox?status=in_doubt", Some(&s.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["results"][0]["id"], id);
    assert!(v["results"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("may have arrived"));
    let admin = page_login(app, "admin@example.com").await;
    let html = admin
        .get(app.url("/admin/outbox?status=in_doubt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("pat@example.com"), "{html}");
    assert!(
        html.contains(&format!("action=\"/admin/outbox/{id}/send-again\"")),
        "{html}"
    );
    // Not a client's to send again; not without the form's token.
    let r = send_again_api(app, &s.client, id).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send_again_page(app, &admin, id, "wrong").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(status_of(app, id).0, "in_doubt");
    // The admin sends it again from the page: it arrives once.
    let r = send_again_page(app, &admin, id, &crate::builders::csrf_from(&html)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mails = s.sink.settle(2).await;
    assert_eq!(mails.len(), 2, "the mail in doubt arrives once");
    assert_eq!(mails[1].message_id, message_id.trim_matches(['<', '>']));
    assert_eq!(status_of(app, id), ("sent".to_string(), None));
    // Sent now: not again.
    let r = send_again_api(app, &s.admin, id).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_failed_or_in_doubt"
    );
    let r = send_again_api(app, &s.admin, 999_999).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The audit log names the admin's act.
    let log: Value = app
        .api_get(
            "/api/v1/admin/audit?action=outbox.send_again",
            Some(&s.admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["total"], 1, "{log}");
}

#[tokio::test]
async fn an_admin_sends_a_given_up_mail_again_through_the_api() {
    let s = mail_scene().await;
    let app = &s.app;
    s.sink.settle(2).await;
    let (id, _) = interrupted_mail(app, "pat@example.com");
    // Given up instead (as after its last try).
    with_conn(app, |conn| {
        diesel::update(outbox::table.find(id))
            .set((
                outbox::status.eq("failed"),
                outbox::attempts.eq(bodywork::domain::mail::MAX_ATTEMPTS),
                outbox::claimed_by.eq(None::<String>),
                outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)
            .unwrap()
    });
    let v = post_ok(
        app,
        &format!("/api/v1/admin/outbox/{id}/send-again"),
        &s.admin,
        json!({}),
    )
    .await;
    assert_eq!(v, json!({"id": id, "was": "failed"}));
    let mails = s.sink.settle(3).await;
    assert_eq!(mails.len(), 3);
    assert_eq!(mails[2].rcpt, vec!["pat@example.com".to_string()]);
    let attempts: i32 = with_conn(app, |conn| {
        outbox::table
            .find(id)
            .select(outbox::attempts)
            .first(conn)
            .unwrap()
    });
    assert_eq!(attempts, 1, "its tries counted afresh");
}

#[tokio::test]
async fn the_database_takes_every_outbox_status_and_nothing_else() {
    let app = spawn_app().await;
    let (id, _) = interrupted_mail(&app, "pat@example.com");
    for status in bodywork::domain::mail::OutboxStatus::ALL {
        with_conn(&app, |conn| {
            diesel::update(outbox::table.find(id))
                .set(outbox::status.eq(status.as_str()))
                .execute(conn)
                .unwrap_or_else(|e| panic!("{status}: {e}"))
        });
    }
    let refused = with_conn(&app, |conn| {
        diesel::update(outbox::table.find(id))
            .set(outbox::status.eq("lost"))
            .execute(conn)
    });
    assert!(refused.is_err(), "an unknown status is refused");
}
