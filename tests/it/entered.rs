//! Bookings the therapist enters (phone or walk-in): for an existing client or a new person,
//! the same free-time rules and database refusal as a client's booking, confirmed with the
//! screening pending; the client's mail over SMTP with its single-use link; answering through
//! the token or logged in; a refer or decline flags the booking and mails the therapist, who
//! keeps it with another service or cancels it; who may do what; the pending mark on the pages.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    answers, assert_no_health_data, book, csrf_from, open_therapist, page_login, slots, some_day,
    spawn_mailing_app, with_service, Made, Mail, SmtpSink, TestApp, PASSWORD,
};

struct Entered {
    app: TestApp,
    sink: SmtpSink,
    m: Made,
    /// The client c@example.com's API token.
    client: String,
}

/// A server mailing to a sink, an open therapist (t@example.com, Swedish) and a verified
/// client (c@example.com); the mails so far are set aside.
async fn entered_scene() -> Entered {
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(sink.url(), |_| {}).await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish", "deep-tissue"]).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    sink.wait_for(4).await;
    sink.discard(|_| true);
    Entered {
        app,
        sink,
        m,
        client,
    }
}

async fn enter(s: &Entered, body: Value) -> reqwest::Response {
    s.app
        .api_post("/api/v1/me/appointments", Some(&s.m.token), body)
        .await
}

async fn json_of(r: reqwest::Response, status: StatusCode) -> Value {
    let got = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The mails of the sink to `to` whose subject contains `needle`.
fn mails_to(sink: &SmtpSink, to: &str, needle: &str) -> Vec<Mail> {
    sink.mails()
        .into_iter()
        .filter(|m| m.to == to && m.subject.contains(needle))
        .collect()
}

/// Waits until a mail to `to` with `needle` in its subject has arrived.
async fn wait_mail(sink: &SmtpSink, to: &str, needle: &str) -> Mail {
    for _ in 0..200 {
        if let Some(m) = mails_to(sink, to, needle).into_iter().next() {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "no mail to {to} about {needle:?}: {:#?}",
        sink.mails()
            .iter()
            .map(|m| (&m.to, &m.subject))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_entered_booking_for_a_client_is_confirmed_pending_and_answered_once_through_the_mail() {
    let s = entered_scene().await;
    let day = some_day();
    let free = slots(&s.app, &s.m, day, day).await;
    let body = json_of(
        enter(
            &s,
            json!({"client_email": "C@Example.com", "client_name": "", "service_id": s.m.service_id,
                   "starts_at": free[2], "note": "Phoned: sore neck"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = body["id"].as_i64().unwrap();
    assert_eq!(body["status"], "confirmed");
    assert_eq!(body["screening_outcome"], "pending");
    assert_eq!(body["screening"]["outcome"], "pending");
    assert_eq!(body["screening_pending"], true);
    assert_eq!(body["needs_decision"], false);
    assert_eq!(body["entry_note"], "Phoned: sore neck");
    assert_eq!(
        body["client_name"], "Test Person",
        "an existing client keeps their name"
    );
    // The note is stored encrypted, and neither it nor the answers reach the audit log.
    let (stored_note, summaries) = crate::builders::with_conn(&s.app, |conn| {
        use bodywork::db::schema::{appointments, audit_log};
        use diesel::prelude::*;
        let note: String = appointments::table
            .find(id)
            .select(appointments::entry_note)
            .first(conn)
            .unwrap();
        let summaries: Vec<String> = audit_log::table
            .select(audit_log::summary)
            .load(conn)
            .unwrap();
        (note, summaries)
    });
    assert!(!stored_note.is_empty() && !stored_note.contains("sore neck"));
    assert!(
        summaries.iter().all(|x| !x.contains("sore neck")),
        "{summaries:?}"
    );

    // The therapist's list and the client's own view say pending, never "ok".
    let list = json_of(
        s.app
            .api_get("/api/v1/me/appointments", Some(&s.m.token))
            .await,
        StatusCode::OK,
    )
    .await;
    let line = list
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(line["screening_outcome"], "pending");
    assert_eq!(line["screening_label"], "Screening pending");
    assert_eq!(line["awaiting_acknowledgement"], false);
    let mine = json_of(
        s.app
            .api_get(&format!("/api/v1/appointments/{id}"), Some(&s.client))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["screening_outcome"], "pending");
    assert!(
        mine.get("entry_note").is_none(),
        "the note is the therapist's"
    );

    // The client's mail came over SMTP: who, when, the link; no claim link for an account.
    let mail = wait_mail(&s.sink, "c@example.com", "booked you").await;
    assert!(mail.text.contains("Open Therapist"), "{}", mail.text);
    assert!(
        mail.text
            .contains(&format!("/bookings/{id}/screening?token=")),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("/accept-invite"), "{}", mail.text);
    assert!(!mail.text.contains("sore neck"), "the note never goes out");
    assert!(mail.ics.is_some(), "the invitation is attached");
    assert_no_health_data(&s.sink.mails());

    // Answered through the link's token, without logging in.
    let token = s
        .app
        .mail_token(
            "c@example.com",
            "screening_request",
            &format!("/bookings/{id}/screening"),
        )
        .await;
    let done = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                None,
                json!({"answers": answers(&[]), "token": token}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["screening_outcome"], "ok");
    assert_eq!(done["screening_pending"], false);
    assert_eq!(done["status"], "confirmed");
    // The token is used up: a second answer is refused and nothing changes.
    let again = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                None,
                json!({"answers": answers(&["fever"]), "token": token}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(again["error"]["code"], "token_used");
    let after = json_of(
        s.app
            .api_get(&format!("/api/v1/appointments/{id}"), Some(&s.m.token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(after["screening_outcome"], "ok");
    assert_eq!(
        s.app.mail_count("t@example.com", "booking_needs_decision"),
        0
    );
}

#[tokio::test]
async fn a_new_email_gets_an_account_to_claim_and_staff_addresses_are_refused() {
    let s = entered_scene().await;
    let day = some_day();
    let free = slots(&s.app, &s.m, day, day).await;
    // A new person needs a name.
    let err = json_of(
        enter(&s, json!({"client_email": "new@example.com", "service_id": s.m.service_id, "starts_at": free[0]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(err["error"]["fields"]["client_name"].is_string(), "{err}");
    // A therapist's or an admin's address is not a client's.
    for staff in ["t@example.com", "admin@example.com"] {
        let err = json_of(
            enter(&s, json!({"client_email": staff, "client_name": "X", "service_id": s.m.service_id, "starts_at": free[0]})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            err["error"]["fields"]["client_email"]
                .as_str()
                .unwrap()
                .contains("only clients"),
            "{err}"
        );
    }
    // A bad address and a note too long: messages on their fields.
    let err = json_of(
        enter(&s, json!({"client_email": "nope", "client_name": "X", "service_id": s.m.service_id, "starts_at": free[0], "note": "x".repeat(1001)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(err["error"]["fields"]["client_email"].is_string(), "{err}");
    assert!(err["error"]["fields"]["note"].is_string(), "{err}");

    let body = json_of(
        enter(&s, json!({"client_email": "new@example.com", "client_name": "Nora New", "service_id": s.m.service_id, "starts_at": free[0]})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["client_name"], "Nora New");
    assert_eq!(body["screening_outcome"], "pending");
    let mail = wait_mail(&s.sink, "new@example.com", "booked you").await;
    assert!(mail.text.contains("/accept-invite?token="), "{}", mail.text);
    // The account cannot be logged into until claimed; the claim link sets the password.
    let r = s
        .app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "new@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let claim = s
        .app
        .mail_token("new@example.com", "screening_request", "/accept-invite")
        .await;
    let r = s
        .app
        .api_post(
            "/api/v1/auth/accept-invite",
            None,
            json!({"token": claim, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "{}",
        r.text().await.unwrap()
    );
    let token = s.app.api_login("new@example.com").await;
    let me = json_of(
        s.app.api_get("/api/v1/me", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["role"], "client");
    assert_eq!(me["email_verified"], true);
    // Logged in, the new client answers without the mail's token.
    let id = body["id"].as_i64().unwrap();
    let done = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                Some(&token),
                json!({"answers": answers(&[])}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["screening_outcome"], "ok");
}

#[tokio::test]
async fn entered_bookings_follow_the_free_time_rules_and_the_database_refusal() {
    let s = entered_scene().await;
    let day = some_day();
    let free = slots(&s.app, &s.m, day, day).await;
    // A client's booking holds 10:00; the therapist cannot enter it, nor an overlapping 10:30.
    let taken = free.iter().find(|t| t.contains("T10:00")).unwrap().clone();
    let r = book(&s.app, &s.client, &s.m, &taken, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let overlapping = taken.replace("T10:00", "T10:30");
    for start in [&taken, &overlapping] {
        let err = json_of(
            enter(&s, json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": start})).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(err["error"]["code"], "slot_taken", "{start}");
    }
    // Outside the hours (03:00 on the therapist's clock) is not open.
    let night = taken.replace("T10:00", "T03:00");
    let err = json_of(
        enter(&s, json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": night})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(err["error"]["code"], "slot_unavailable");
    // The other way round: an entered 14:00 refuses the client's booking of it.
    let two = taken.replace("T10:00", "T14:00");
    json_of(
        enter(&s, json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": two})).await,
        StatusCode::CREATED,
    )
    .await;
    let r = book(&s.app, &s.client, &s.m, &two, &[], false).await;
    let err = json_of(r, StatusCode::CONFLICT).await;
    assert_eq!(err["error"]["code"], "slot_taken");
    // The database has the last word: an insert that skips the engine's check is refused
    // as well (the constraint on PostgreSQL, the trigger on SQLite).
    let refused = crate::builders::with_conn(&s.app, |conn| {
        use bodywork::models::appointment::NewAppointment;
        let start = chrono::DateTime::parse_from_rfc3339(&two)
            .unwrap()
            .naive_utc();
        NewAppointment {
            therapist_id: s.m.therapist_id,
            client_id: 1,
            service_id: s.m.service_id,
            starts_at: start,
            ends_at: start + chrono::Duration::minutes(60),
            blocked_until: start + chrono::Duration::minutes(60),
            status: bodywork::domain::appointment::AppointmentStatus::Confirmed,
            screening_version: 1,
            screening_answers: String::new(),
            screening_outcome: "ok".into(),
            clearance_confirmed: false,
            created_at: bodywork::models::now(),
            updated_at: bodywork::models::now(),
            visit: bodywork::domain::appointment::Visit::Studio,
            client_address: String::new(),
            screening_pending: true,
            entered_by: None,
            entry_note: String::new(),
        }
        .insert(conn)
        .err()
        .map(|e| e.code())
    });
    assert_eq!(refused, Some("slot_taken"));
}

#[tokio::test]
async fn a_refer_answer_flags_the_booking_and_mails_the_therapist_without_cancelling() {
    let s = entered_scene().await;
    let day = some_day();
    let free = slots(&s.app, &s.m, day, day).await;
    let body = json_of(
        enter(&s, json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": free[1]})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = body["id"].as_i64().unwrap();
    // Logged in as the client (no token): "fever" refers, whatever the technique.
    let done = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                Some(&s.client),
                json!({"answers": answers(&["fever"])}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["screening_outcome"], "refer");
    assert_eq!(
        done["status"], "confirmed",
        "nothing is cancelled by itself"
    );
    assert_eq!(done["needs_decision"], true);
    let mail = wait_mail(&s.sink, "t@example.com", "needs your decision").await;
    assert!(
        mail.text.contains(&format!("/therapist/appointments/{id}")),
        "{}",
        mail.text
    );
    assert!(!mail.text.to_lowercase().contains("refer"), "{}", mail.text);
    assert_no_health_data(&s.sink.mails());
    // The therapist's list flags it.
    let list = json_of(
        s.app
            .api_get("/api/v1/me/appointments", Some(&s.m.token))
            .await,
        StatusCode::OK,
    )
    .await;
    let line = list
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(line["needs_decision"], true);
    // Answering twice is refused.
    let again = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                Some(&s.client),
                json!({"answers": answers(&[])}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["error"]["code"], "screening_answered");
    // No other technique suits a referral: keeping it is refused on the service.
    let deep = with_service(&s.app, &s.m, "deep-tissue", 90, 12000).await;
    let err = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/keep"),
                Some(&s.m.token),
                json!({"service_id": deep}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(err["error"]["fields"]["service_id"].is_string(), "{err}");
    // The therapist decides: cancel with a reason; the client is mailed.
    let r = s
        .app
        .api_post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&s.m.token),
            json!({"reason": "Please see your doctor first; call me after."}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    wait_mail(&s.sink, "c@example.com", "Cancelled").await;
}

#[tokio::test]
async fn a_declined_technique_is_kept_with_a_service_the_answers_allow() {
    let s = entered_scene().await;
    let deep = with_service(&s.app, &s.m, "deep-tissue", 60, 11000).await;
    let long_swedish = with_service(&s.app, &s.m, "swedish", 90, 12000).await;
    let day = some_day();
    let free = slots(&s.app, &s.m, day, day).await;
    let nine = free.iter().find(|t| t.contains("T09:00")).unwrap().clone();
    let body = json_of(
        enter(
            &s,
            json!({"client_email": "c@example.com", "service_id": deep, "starts_at": nine}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = body["id"].as_i64().unwrap();
    // Another booking at 10:30 leaves room for 60 minutes but not 90 (with the buffer).
    let half_ten = nine.replace("T09:00", "T10:30");
    let r = book(&s.app, &s.client, &s.m, &half_ten, &[], false).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    // Pregnant: deep tissue is declined, Swedish is fine.
    let done = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                Some(&s.client),
                json!({"answers": answers(&["pregnant"])}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["screening_outcome"], "decline");
    assert_eq!(done["needs_decision"], true);
    // Another therapist cannot touch it.
    let (admin_id, _) = s.app.api_admin("admin2@example.com").await;
    let other = open_therapist(&s.app, admin_id, "other@example.com", &["swedish"]).await;
    let r = s
        .app
        .api_post(
            &format!("/api/v1/appointments/{id}/keep"),
            Some(&other.token),
            json!({"service_id": other.service_id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .app
        .api_get(&format!("/api/v1/appointments/{id}"), Some(&other.token))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Not another therapist's service, and not a length that runs into the next booking.
    let err = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/keep"),
                Some(&s.m.token),
                json!({"service_id": other.service_id}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(err["error"]["fields"]["service_id"].is_string(), "{err}");
    let err = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/keep"),
                Some(&s.m.token),
                json!({"service_id": long_swedish}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(err["error"]["code"], "slot_taken");
    // Swedish, 60 minutes: kept, flags acknowledged, the outcome re-evaluated.
    let kept = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/keep"),
                Some(&s.m.token),
                json!({"service_id": s.m.service_id}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kept["service_id"], s.m.service_id);
    assert_eq!(kept["technique"], "swedish");
    assert_eq!(kept["screening_outcome"], "ok");
    assert_eq!(kept["needs_decision"], false);
    assert_eq!(kept["flags_acknowledged"], true);
    assert_eq!(kept["status"], "confirmed");
    // The client is told the new service, never why.
    let told = s
        .app
        .mail_text("c@example.com", "booking_service_changed")
        .await;
    assert!(told.contains("Swedish"), "{told}");
    assert!(told.contains(&format!("/bookings/{id}")), "{told}");
    assert!(!told.to_lowercase().contains("pregnan"), "{told}");
    // Their calendar event changes with it: the same UID, the next sequence, the new end.
    let ics_line = |ics: &str, key: &str| {
        ics.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")).map(str::to_string))
            .unwrap_or_else(|| panic!("no {key} in {ics}"))
    };
    let first = s
        .app
        .newest_mail_ics("c@example.com", "screening_request")
        .expect("the entered booking's invitation");
    let changed = s
        .app
        .newest_mail_ics("c@example.com", "booking_service_changed")
        .expect("an updated invitation");
    assert_eq!(ics_line(&changed, "METHOD"), "REQUEST");
    assert_eq!(ics_line(&changed, "UID"), ics_line(&first, "UID"));
    let seq = |ics: &str| ics_line(ics, "SEQUENCE").parse::<i32>().unwrap();
    assert_eq!(seq(&changed), seq(&first) + 1, "{changed}");
    assert!(ics_line(&first, "SUMMARY").starts_with("Deep"), "{first}");
    assert!(
        ics_line(&changed, "SUMMARY").starts_with("Swedish"),
        "{changed}"
    );
    assert_eq!(ics_line(&changed, "DTSTART"), ics_line(&first, "DTSTART"));
    let err = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/keep"),
                Some(&s.m.token),
                json!({"service_id": s.m.service_id}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(err["error"]["code"], "no_decision_needed");
}

#[tokio::test]
async fn only_therapists_enter_and_only_the_client_or_the_token_answers() {
    let s = entered_scene().await;
    let day = some_day();
    let free = slots(&s.app, &s.m, day, day).await;
    // A client cannot enter bookings.
    let r = s
        .app
        .api_post("/api/v1/me/appointments", Some(&s.client), json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": free[0]}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Another therapist's service is not found.
    let (admin_id, _) = s.app.api_admin("admin2@example.com").await;
    let other = open_therapist(&s.app, admin_id, "other@example.com", &["swedish"]).await;
    let r = s
        .app
        .api_post("/api/v1/me/appointments", Some(&other.token), json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": free[0]}))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body = json_of(
        enter(&s, json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": free[0]})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = body["id"].as_i64().unwrap();
    // Neither a login nor a token: 401; another client: 404; a made-up token: token_invalid.
    let r = s
        .app
        .api_post(
            &format!("/api/v1/appointments/{id}/screening"),
            None,
            json!({"answers": answers(&[])}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (_, stranger) = s.app.api_user("x@example.com", "client").await;
    let r = s
        .app
        .api_post(
            &format!("/api/v1/appointments/{id}/screening"),
            Some(&stranger),
            json!({"answers": answers(&[])}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let err = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                None,
                json!({"answers": answers(&[]), "token": "made-up"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(err["error"]["code"], "token_invalid");
    // A missing answer is a field error, and the booking stays pending.
    let mut partial = answers(&[]);
    partial.pop_first();
    let err = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                Some(&s.client),
                json!({"answers": partial}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(err["error"]["fields"]["answers"].is_string(), "{err}");
    let still = json_of(
        s.app
            .api_get(&format!("/api/v1/appointments/{id}"), Some(&s.client))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(still["screening_outcome"], "pending");
    // Another booking's token does not open this one.
    let second = json_of(
        enter(&s, json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": free[12]})).await,
        StatusCode::CREATED,
    )
    .await;
    let second_id = second["id"].as_i64().unwrap();
    let token = s
        .app
        .mail_token(
            "c@example.com",
            "screening_request",
            &format!("/bookings/{second_id}/screening"),
        )
        .await;
    let err = json_of(
        s.app
            .api_post(
                &format!("/api/v1/appointments/{id}/screening"),
                None,
                json!({"answers": answers(&[]), "token": token}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(err["error"]["code"], "token_invalid");
}

#[tokio::test]
async fn the_pages_mark_pending_and_the_token_page_answers_once() {
    let s = entered_scene().await;
    let day = some_day();
    let free = slots(&s.app, &s.m, day, day).await;
    let body = json_of(
        enter(&s, json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": free[0]})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = body["id"].as_i64().unwrap();
    let t = page_login(&s.app, "t@example.com").await;
    let page = t
        .get(s.app.url(&format!("/therapist/appointments/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("data-testid=\"screening-pending\""), "{html}");
    let week = t
        .get(s.app.url(&format!("/therapist/appointments?week={day}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let grid = &week
        [week.find("data-testid=\"week-grid\"").unwrap()..week.find("id=\"up-title\"").unwrap()];
    assert!(grid.contains("Screening pending."), "{grid}");
    // The client's booking page asks to answer.
    let c = page_login(&s.app, "c@example.com").await;
    let mine = c
        .get(s.app.url(&format!("/bookings/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mine.contains("data-testid=\"answer-call\""), "{mine}");

    // Through the mail's link, not logged in: the page's form, then the link is used up.
    let link = s
        .app
        .mail_link(
            "c@example.com",
            "screening_request",
            &format!("/bookings/{id}/screening"),
        )
        .await;
    let anon = crate::builders::new_client();
    let r = anon.get(s.app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let form = r.text().await.unwrap();
    assert!(form.contains("data-testid=\"screening-what\""), "{form}");
    let token = link.split_once("token=").unwrap().1.to_string();
    // No choice made: the form comes back with the message.
    let r = anon
        .post(s.app.url(&format!("/bookings/{id}/screening")))
        .form(&[("csrf_token", csrf_from(&form)), ("token", token.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"applies-error\""));
    let r = anon
        .post(s.app.url(&format!("/bookings/{id}/screening")))
        .form(&[
            ("csrf_token", csrf_from(&form)),
            ("token", token.clone()),
            ("applies", "none".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("data-testid=\"screening-done\""));
    let r = anon.get(s.app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("already used"));
    let html = t
        .get(s.app.url(&format!("/therapist/appointments/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("data-testid=\"screening-pending\""));
    assert!(html.contains("Screening: Nothing to flag"), "{html}");
}

#[tokio::test]
async fn an_entered_booking_follows_the_visit_rule_and_keeps_a_mobile_address_private() {
    let s = entered_scene().await;
    let times = slots(&s.app, &s.m, some_day(), some_day()).await;
    // A mobile-only therapist (no studio address, 25 km around Boston).
    let r = s
        .app
        .api_put(
            "/api/v1/me/profile",
            &s.m.token,
            json!({"name": "Open Therapist", "city": "Boston, MA", "techniques": ["swedish", "deep-tissue"],
                   "address": null, "mobile": true, "mobile_radius_km": 25}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let base = json!({"client_email": "c@example.com", "service_id": s.m.service_id, "starts_at": times[0]});
    let with = |extra: Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    // A studio visit is refused without a studio; a mobile one needs the address and city.
    let e = json_of(
        enter(&s, with(json!({"visit": "studio"}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["error"]["code"], "studio_unavailable");
    let e = json_of(
        enter(&s, base.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["error"]["code"], "address_required");
    let e = json_of(
        enter(
            &s,
            with(json!({"client_address": "221 Hampshire Street", "client_city": "Worcester, MA"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["error"]["code"], "outside_mobile_area");
    let a = json_of(
        enter(
            &s,
            with(json!({"client_address": "221 Hampshire Street", "client_city": "Cambridge, MA"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(a["visit"], "mobile");
    assert_eq!(a["screening_outcome"], "pending");
    assert!(a["client_address"]
        .as_str()
        .unwrap()
        .contains("221 Hampshire Street"));
    let id = a["id"].as_i64().unwrap();
    // The client reads it; the stored text is sealed.
    let mine = json_of(
        s.app
            .api_get(&format!("/api/v1/appointments/{id}"), Some(&s.client))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(mine["client_address"]
        .as_str()
        .unwrap()
        .contains("221 Hampshire Street"));
    let stored: String = crate::builders::with_conn(&s.app, |conn| {
        use bodywork::db::schema::appointments;
        use diesel::prelude::*;
        appointments::table
            .find(id)
            .select(appointments::client_address)
            .first(conn)
            .unwrap()
    });
    assert!(
        !stored.is_empty() && !stored.contains("Hampshire"),
        "{stored}"
    );
    // The client's mail says it is a mobile visit, never the address.
    let mails = s.sink.wait_for(1).await;
    assert!(
        mails.iter().all(|m| !m.raw.contains("Hampshire")),
        "no address in a mail"
    );
}
