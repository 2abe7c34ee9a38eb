//! Where and how to reach a therapist: the studio address, phone and mobile radius on the
//! profile (API and form), shown publicly; the visit rule of a booking (studio needs an
//! address, mobile needs the offer, an address and a city within the radius); a mobile
//! client's address seen by that client and therapist only (the therapist's reads logged),
//! never by another therapist, an admin, the audit log, a calendar or a mail, and never
//! stored in clear; the studio address in the `.ics` LOCATION and the booking mails.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    answers, assert_no_health_data, make_therapist, open_therapist, page_login, scene, slots,
    some_day, spawn_mailing_app, with_conn, Made, SmtpSink, Spec, TestApp, STUDIO_ADDRESS,
};

const STREET: &str = "221 Hampshire Street, Apt 3";

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("json body")
}

/// Makes `m`'s therapist offer mobile visits within `radius` km of Boston (keeping the studio
/// unless `keep_studio` is false).
async fn go_mobile(app: &TestApp, m: &Made, radius: i32, keep_studio: bool) {
    let mut body = json!({"name": "Open Therapist", "city": "Boston, MA", "techniques": ["swedish"],
                          "mobile": true, "mobile_radius_km": radius});
    if !keep_studio {
        body["address"] = Value::Null;
    }
    let r = app.api_put("/api/v1/me/profile", &m.token, body).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

/// A booking of `m`'s service at `start` with a visit body merged in.
async fn book_visit(
    app: &TestApp,
    token: &str,
    m: &Made,
    start: &str,
    visit: Value,
) -> reqwest::Response {
    let mut body = json!({"therapist_id": m.therapist_id, "service_id": m.service_id, "starts_at": start,
                          "answers": answers(&[]), "cancellation_window_acknowledged": true});
    for (k, v) in visit.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.api_post("/api/v1/appointments", Some(token), body)
        .await
}

fn code_and_fields(v: &Value) -> (String, Vec<String>) {
    let fields = v["error"]["fields"]
        .as_object()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default();
    (
        v["error"]["code"].as_str().unwrap_or("").to_string(),
        fields,
    )
}

#[tokio::test]
async fn reach_profile_fields_have_limits_and_show_on_the_public_profile() {
    let app = crate::builders::spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = make_therapist(&app, admin_id, Spec::default()).await;
    let base = json!({"name": "Maya Okafor", "city": "Boston, MA", "techniques": ["swedish"]});
    let put = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        app.api_put("/api/v1/me/profile", &m.token, body)
    };

    // Each bad value is a field error with its limit.
    let r = put(
        json!({"address": "12", "phone": "call me maybe", "mobile": true, "mobile_radius_km": 900}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = json_of(r).await;
    assert!(err["error"]["fields"]["address"]
        .as_str()
        .unwrap()
        .contains("5 to 200"));
    assert!(err["error"]["fields"]["phone"]
        .as_str()
        .unwrap()
        .contains("7 to 20 digits"));
    assert!(err["error"]["fields"]["mobile_radius_km"]
        .as_str()
        .unwrap()
        .contains("1 to 500"));
    let r = put(json!({"address": "x".repeat(201)})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Mobile needs a radius; a claimed studio needs an address.
    let r = put(json!({"mobile": true})).await;
    let (_, fields) = code_and_fields(&json_of(r).await);
    assert_eq!(fields, ["mobile_radius_km"]);
    let r =
        put(json!({"address": null, "in_studio": true, "mobile": true, "mobile_radius_km": 20}))
            .await;
    let (_, fields) = code_and_fields(&json_of(r).await);
    assert_eq!(fields, ["address"]);

    // Saved: the profile, the public API and the public page show them.
    let r = put(
        json!({"address": "  75 Newbury Street,\n Suite 4 ", "phone": "+1 (617) 555-0142",
                       "mobile": true, "mobile_radius_km": 20}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let p = json_of(r).await;
    assert_eq!(p["address"], "75 Newbury Street, Suite 4");
    assert_eq!(
        (&p["in_studio"], &p["mobile"], &p["mobile_radius_km"]),
        (&json!(true), &json!(true), &json!(20))
    );
    let public = json_of(
        app.api_get(&format!("/api/v1/therapists/{}", m.therapist_id), None)
            .await,
    )
    .await;
    assert_eq!(public["address"], "75 Newbury Street, Suite 4");
    assert_eq!(public["phone"], "+1 (617) 555-0142");
    assert_eq!(public["mobile_radius_km"], 20);
    let page = app
        .get_html(&format!("/therapists/{}", m.therapist_id))
        .await;
    assert!(page.contains("75 Newbury Street, Suite 4"), "{page}");
    assert!(page.contains("href=\"tel:+16175550142\""), "{page}");
    assert!(page.contains("Mobile visits within 20 km of Boston, MA"));

    // An old client's body without the practice fields keeps them.
    let r = put(json!({"bio": "Nine years in Boston."})).await;
    let p = json_of(r).await;
    assert_eq!(p["bio"], "Nine years in Boston.");
    assert_eq!(
        (&p["address"], &p["phone"], &p["mobile_radius_km"]),
        (
            &json!("75 Newbury Street, Suite 4"),
            &json!("+1 (617) 555-0142"),
            &json!(20)
        )
    );
    // Null removes: without the studio it is mobile only, and in_studio follows.
    let p = json_of(put(json!({"address": null, "phone": ""})).await).await;
    assert_eq!(
        (&p["address"], &p["phone"], &p["in_studio"], &p["mobile"]),
        (&Value::Null, &Value::Null, &json!(false), &json!(true))
    );
    let page = app
        .get_html(&format!("/therapists/{}", m.therapist_id))
        .await;
    assert!(!page.contains("Newbury"));
}

#[tokio::test]
async fn reach_the_profile_form_shows_each_error_next_to_its_field() {
    let app = crate::builders::spawn_app().await;
    app.register_page("maya@example.com", "Maya", "therapist")
        .await;
    let bad = app
        .post_form(
            "/therapist/profile",
            "/therapist/profile",
            &[
                ("name", "Maya O"),
                ("city", "Boston, MA"),
                ("techniques", "swedish"),
                ("address", "75 Newbury Street"),
                ("phone", "12-34"),
                ("mobile", "on"),
                ("mobile_radius_km", "far"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    for f in ["phone", "mobile_radius_km"] {
        assert!(
            html.contains(&format!("id=\"{f}-error\"")),
            "{f} error: {html}"
        );
        assert!(
            html.contains(&format!("aria-describedby=\"{f}-hint {f}-error\"")),
            "{f} described by its error"
        );
        assert!(
            html.contains(&format!("<a href=\"#{f}\">")),
            "summary links {f}"
        );
    }
    assert!(!html.contains("id=\"address-error\""));
    // What was typed comes back.
    assert!(html.contains("value=\"75 Newbury Street\""));
    assert!(html.contains("value=\"12-34\""));
    let ok = app
        .post_form(
            "/therapist/profile",
            "/therapist/profile",
            &[
                ("name", "Maya O"),
                ("city", "Boston, MA"),
                ("techniques", "swedish"),
                ("address", "75 Newbury Street"),
                ("phone", "617 555 0142"),
                ("mobile", "on"),
                ("mobile_radius_km", "15"),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let form = app.get_html("/therapist/profile").await;
    assert!(form.contains("value=\"617 555 0142\""));
    assert!(form.contains("value=\"15\""));
}

#[tokio::test]
async fn reach_the_visit_rule_refuses_with_a_code_and_books_a_mobile_visit_within_the_radius() {
    let s = scene().await;
    let (app, m) = (&s.app, &s.m);
    let (_, client) = app.api_user("dana@example.com", "client").await;
    let times = slots(app, m, some_day(), some_day()).await;

    // A studio-only therapist: mobile is refused, the default is the studio.
    let r = book_visit(
        app,
        &client,
        m,
        &times[0],
        json!({"visit": "mobile", "client_address": STREET, "client_city": "Cambridge, MA"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code_and_fields(&json_of(r).await).0, "mobile_unavailable");

    // Mobile only (no studio), within 20 km of Boston.
    go_mobile(app, m, 20, false).await;
    let r = book_visit(app, &client, m, &times[0], json!({"visit": "studio"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code_and_fields(&json_of(r).await).0, "studio_unavailable");
    // An old client's body (no visit): mobile, so the address is asked for.
    let r = crate::builders::book(app, &client, m, &times[0], &[], false).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        code_and_fields(&json_of(r).await),
        (
            "address_required".to_string(),
            vec!["client_address".to_string(), "client_city".to_string()]
        )
    );
    let r = book_visit(
        app,
        &client,
        m,
        &times[0],
        json!({"visit": "mobile", "client_address": STREET, "client_city": "Atlantis"}),
    )
    .await;
    assert_eq!(
        code_and_fields(&json_of(r).await),
        (
            "address_required".to_string(),
            vec!["client_city".to_string()]
        )
    );
    // Worcester is about 60 km from Boston.
    let r = book_visit(
        app,
        &client,
        m,
        &times[0],
        json!({"visit": "mobile", "client_address": STREET, "client_city": "Worcester, MA"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e = json_of(r).await;
    assert_eq!(e["error"]["code"], "outside_mobile_area");
    assert!(e["error"]["message"].as_str().unwrap().contains("20 km"));
    assert!(e["error"]["fields"]["client_city"].is_string());
    // Nothing was booked by the refusals.
    assert_eq!(
        json_of(app.api_get("/api/v1/me/bookings", Some(&client)).await)
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let r = book_visit(
        app,
        &client,
        m,
        &times[0],
        json!({"visit": "mobile", "client_address": STREET, "client_city": "Cambridge, MA"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let a = json_of(r).await;
    assert_eq!(a["visit"], "mobile");
    assert_eq!(a["client_address"], format!("{STREET}, Cambridge, MA"));
    assert_eq!(a["studio_address"], Value::Null);
}

#[tokio::test]
async fn reach_a_mobile_address_is_read_by_its_client_and_therapist_only_and_never_stored_in_clear()
{
    let s = scene().await;
    let (app, m) = (&s.app, &s.m);
    let admin = s.admin.clone();
    go_mobile(app, m, 25, true).await;
    let (_, client) = app.api_user("dana@example.com", "client").await;
    let times = slots(app, m, some_day(), some_day()).await;
    let r = book_visit(
        app,
        &client,
        m,
        &times[0],
        json!({"visit": "mobile", "client_address": STREET, "client_city": "Cambridge, MA"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = json_of(r).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/appointments/{id}");

    // The client reads it; no read of their own is logged.
    let mine = json_of(app.api_get(&path, Some(&client)).await).await;
    assert!(mine["client_address"].as_str().unwrap().contains(STREET));
    let log_path = format!("/api/v1/appointments/{id}/access-log");
    let log = json_of(app.api_get(&log_path, Some(&client)).await).await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|l| l["subject"] != "address"),
        "{log}"
    );
    // The therapist reads it (one view, one list): each read is in the client's access log.
    let theirs = json_of(app.api_get(&path, Some(&m.token)).await).await;
    assert!(theirs["client_address"].as_str().unwrap().contains(STREET));
    let list = json_of(app.api_get("/api/v1/me/appointments", Some(&m.token)).await).await;
    let line = list
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap();
    assert_eq!(line["visit"], "mobile");
    assert!(line["client_address"].as_str().unwrap().contains(STREET));
    let therapist_page = page_login(app, "t@example.com").await;
    let html = therapist_page
        .get(app.url(&format!("/therapist/appointments/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(STREET), "{html}");
    let log = json_of(app.api_get(&log_path, Some(&client)).await).await;
    let address_reads: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["subject"] == "address")
        .collect();
    assert_eq!(address_reads.len(), 3, "{log}");
    assert!(address_reads
        .iter()
        .all(|l| l["reader"] == "Open Therapist"));
    // Pages: the client's booking and the therapist's appointment show it.
    let dana = page_login(app, "dana@example.com").await;
    let html = dana
        .get(app.url(&format!("/bookings/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(STREET) && html.contains("your address"),
        "{html}"
    );
    let list = dana
        .get(app.url("/bookings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(", mobile visit</span>"), "{list}");
    assert!(!list.contains("Hampshire"));

    // Another therapist: 404, nothing of it.
    let (other_admin_id, _) = app.api_admin("admin2@example.com").await;
    let other = open_therapist(app, other_admin_id, "other@example.com", &["swedish"]).await;
    let r = app.api_get(&path, Some(&other.token)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!r.text().await.unwrap().contains(STREET));

    // An admin: the API view, the admin pages and the audit log never carry it.
    let r = app.api_get(&path, Some(&admin)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("Hampshire") && !body.contains("client_address"),
        "{body}"
    );
    let audit = app
        .api_get("/api/v1/admin/audit?per_page=100", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("appointment"),
        "the audit log has the booking"
    );
    assert!(!audit.contains("Hampshire"), "{audit}");
    let admin_pages = page_login(app, "admin@example.com").await;
    for page in [
        "/admin".to_string(),
        "/admin/bookings".to_string(),
        "/admin/therapists".to_string(),
        format!("/admin/therapists/{}", m.therapist_id),
        "/admin/audit".to_string(),
        "/admin/outbox".to_string(),
    ] {
        let r = admin_pages.get(app.url(&page)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{page}");
        let html = r.text().await.unwrap();
        assert!(!html.contains("Hampshire"), "{page}: {html}");
    }
    // The calendar says it is a mobile visit, not where.
    for token in [&client, &m.token] {
        let ics = app
            .api_get(&format!("{path}/calendar.ics"), Some(token))
            .await
            .text()
            .await
            .unwrap();
        assert!(ics.contains("LOCATION:Mobile visit"), "{ics}");
        assert!(!ics.contains("Hampshire"), "{ics}");
    }
    // At rest: sealed, and bound to its row's people (the raw column never holds it).
    let (raw, audit_rows): (String, Vec<String>) = with_conn(app, |conn| {
        use bodywork::db::schema::{appointments, audit_log};
        use diesel::prelude::*;
        (
            appointments::table
                .find(id)
                .select(appointments::client_address)
                .first(conn)
                .unwrap(),
            audit_log::table
                .select(audit_log::summary)
                .load(conn)
                .unwrap(),
        )
    });
    assert!(!raw.is_empty() && !raw.contains("Hampshire"), "{raw}");
    assert!(audit_rows.iter().all(|s| !s.contains("Hampshire")));
}

#[tokio::test]
async fn reach_the_studio_address_is_in_the_calendar_and_the_mails_and_a_client_address_never_is() {
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(sink.url(), |_| {}).await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    go_mobile(&app, &m, 25, true).await;
    let (_, client) = app.api_user("dana@example.com", "client").await;
    let times = slots(&app, &m, some_day(), some_day() + chrono::Duration::days(1)).await;
    let studio = book_visit(&app, &client, &m, &times[0], json!({})).await;
    assert_eq!(studio.status(), StatusCode::CREATED);
    let studio = json_of(studio).await;
    assert_eq!(studio["visit"], "studio");
    assert_eq!(studio["studio_address"], STUDIO_ADDRESS);
    let ics = app
        .api_get(
            &format!("/api/v1/appointments/{}/calendar.ics", studio["id"]),
            Some(&client),
        )
        .await
        .text()
        .await
        .unwrap()
        .replace("\r\n ", "");
    assert!(
        ics.contains(&format!("LOCATION:{}", STUDIO_ADDRESS.replace(',', "\\,"))),
        "{ics}"
    );
    let mobile = book_visit(
        &app,
        &client,
        &m,
        times.last().unwrap(),
        json!({"visit": "mobile", "client_address": STREET, "client_city": "Cambridge, MA"}),
    )
    .await;
    assert_eq!(mobile.status(), StatusCode::CREATED);
    // Each booking mails the therapist and the client (after two verifications and the two
    // credential decisions).
    let mails = sink.settle(4 + 4).await;
    let booking_mails: Vec<_> = mails
        .iter()
        .filter(|m| m.text.contains("Swedish, 60 minutes"))
        .collect();
    assert_eq!(booking_mails.len(), 4, "{booking_mails:#?}");
    assert!(
        booking_mails
            .iter()
            .filter(|m| m.readable().contains(STUDIO_ADDRESS))
            .count()
            == 2,
        "the studio booking's two mails say where"
    );
    assert!(
        booking_mails
            .iter()
            .filter(|m| m.readable().contains("Mobile visit"))
            .count()
            == 2
    );
    for m in &mails {
        assert!(
            !m.raw.contains("Hampshire") && !m.readable().contains("Hampshire"),
            "{}",
            m.readable()
        );
    }
    assert_no_health_data(&mails);
}

/// A therapist's (address, in_studio, mobile, mobile_radius_km) as stored.
type PracticeRow = (Option<String>, bool, bool, Option<i32>);

#[tokio::test]
async fn reach_the_demo_has_addresses_a_mobile_therapist_and_a_mobile_booking() {
    let app = crate::builders::spawn_app().await;
    let cipher = bodywork::services::crypto::AnswerCipher::from_settings(&app.settings).unwrap();
    let mail = app.mail_ctx();
    with_conn(&app, |conn| {
        bodywork::demo::fill(conn, &mail, &cipher).expect("demo data")
    });
    let (therapists, visits): (Vec<PracticeRow>, Vec<String>) = with_conn(&app, |conn| {
        use bodywork::db::schema::{appointments, therapists};
        use diesel::prelude::*;
        (
            therapists::table
                .select((
                    therapists::address,
                    therapists::in_studio,
                    therapists::mobile,
                    therapists::mobile_radius_km,
                ))
                .load(conn)
                .unwrap(),
            appointments::table
                .select(appointments::visit)
                .load(conn)
                .unwrap(),
        )
    });
    // in_studio exactly when there is an address; a radius exactly when mobile.
    for (address, in_studio, mobile, radius) in &therapists {
        assert_eq!(address.is_some(), *in_studio, "{address:?}");
        assert_eq!(*mobile, radius.is_some());
    }
    assert!(
        therapists.iter().any(|t| t.0.is_none() && t.2),
        "a mobile-only therapist"
    );
    assert!(
        therapists.iter().any(|t| t.0.is_some() && t.2),
        "one offering both"
    );
    assert_eq!(visits.iter().filter(|v| *v == "mobile").count(), 1);
    // The demo client reads their mobile visit's address through the API.
    let login: Value = json_of(
        app.api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "client@demo.bodywork.test", "password": bodywork::demo::DEMO_PASSWORD}),
        )
        .await,
    )
    .await;
    let token = login["token"].as_str().unwrap();
    let lines = json_of(app.api_get("/api/v1/me/bookings", Some(token)).await).await;
    let mobile = lines
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["visit"] == "mobile")
        .expect("the demo client's mobile visit");
    let a = json_of(
        app.api_get(
            &format!("/api/v1/appointments/{}", mobile["id"]),
            Some(token),
        )
        .await,
    )
    .await;
    assert_eq!(
        a["client_address"],
        "221 Hampshire Street, Apt 3, Cambridge, MA"
    );
}

#[tokio::test]
async fn reach_the_week_grid_and_lists_mark_a_mobile_visit_and_never_show_its_address() {
    let s = scene().await;
    let (app, m) = (&s.app, &s.m);
    go_mobile(app, m, 25, true).await;
    let (_, client) = app.api_user("dana@example.com", "client").await;
    let times = slots(app, m, some_day(), some_day()).await;
    let first = times[0].clone();
    let t0 = chrono::DateTime::parse_from_rfc3339(&first).unwrap();
    let later = times
        .iter()
        .find(|t| {
            chrono::DateTime::parse_from_rfc3339(t).unwrap() - t0 >= chrono::Duration::hours(2)
        })
        .unwrap()
        .clone();
    let mobile = book_visit(
        app,
        &client,
        m,
        &first,
        json!({"visit": "mobile", "client_address": STREET, "client_city": "Cambridge, MA"}),
    )
    .await;
    assert_eq!(mobile.status(), StatusCode::CREATED);
    let mobile = json_of(mobile).await["id"].as_i64().unwrap();
    let studio = book_visit(app, &client, m, &later, json!({"visit": "studio"})).await;
    assert_eq!(studio.status(), StatusCode::CREATED);
    let studio = json_of(studio).await["id"].as_i64().unwrap();

    let page = page_login(app, "t@example.com").await;
    let html = page
        .get(app.url(&format!("/therapist/appointments?week={}", some_day())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Each session's block: the mobile one carries the mark, the studio one does not.
    let block = |id: i64| -> String {
        let at = html
            .find(&format!("href=\"/therapist/appointments/{id}\""))
            .unwrap_or_else(|| panic!("session {id} on the grid: {html}"));
        let start = html[..at].rfind("<li").unwrap();
        let end = at + html[at..].find("</li>").unwrap();
        html[start..end].to_string()
    };
    let (mb, sb) = (block(mobile), block(studio));
    assert!(
        mb.contains("visit-mobile") && mb.contains("data-testid=\"mobile\""),
        "{mb}"
    );
    assert!(
        sb.contains("visit-studio") && !sb.contains("data-testid=\"mobile\""),
        "{sb}"
    );
    assert!(
        html.contains("mobile visit</strong>"),
        "the upcoming list says so"
    );
    assert!(!html.contains(STREET), "no address on the week page");
    // The API's week carries the visit of each session.
    let week = json_of(
        app.api_get(
            &format!("/api/v1/me/week?week={}", some_day()),
            Some(&m.token),
        )
        .await,
    )
    .await;
    let visits: Vec<(i64, String)> = week["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["appointments"].as_array().unwrap().clone())
        .map(|a| {
            (
                a["id"].as_i64().unwrap(),
                a["visit"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(visits.contains(&(mobile, "mobile".into())), "{visits:?}");
    assert!(visits.contains(&(studio, "studio".into())), "{visits:?}");
}

#[tokio::test]
async fn reach_a_move_keeps_its_place_only_while_the_therapist_still_offers_it() {
    let s = scene().await;
    let (app, m) = (&s.app, &s.m);
    let (_, client) = app.api_user("dana@example.com", "client").await;
    let free = slots(app, m, some_day(), some_day()).await;
    // Times two hours apart, so that no booking here touches another.
    let at = |h: u32| {
        free.iter()
            .find(|t| t.contains(&format!("T{h:02}:00")))
            .unwrap_or_else(|| panic!("no {h}:00 in {free:?}"))
            .clone()
    };
    // A studio and mobile visits within 20 km: one booking of each kind.
    go_mobile(app, m, 20, true).await;
    let studio =
        json_of(book_visit(app, &client, m, &at(9), json!({"visit": "studio"})).await).await;
    let mobile = json_of(
        book_visit(
            app,
            &client,
            m,
            &at(11),
            json!({"visit": "mobile", "client_address": STREET, "client_city": "Cambridge, MA"}),
        )
        .await,
    )
    .await;
    let move_to = |id: &Value, start: &str| {
        let (path, body) = (
            format!("/api/v1/appointments/{id}/reschedule"),
            json!({"starts_at": start, "cancellation_window_acknowledged": true}),
        );
        let client = client.clone();
        async move { app.api_post(&path, Some(&client), body).await }
    };
    // While both are offered, both move.
    let r = move_to(&studio["id"], &at(13)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let studio = json_of(app.api_get("/api/v1/me/bookings", Some(&client)).await)
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["visit"] == "studio" && b["status"] != "cancelled")
        .cloned()
        .expect("the moved studio booking");
    // The studio closes: the studio booking can't move; the mobile one can.
    go_mobile(app, m, 20, false).await;
    let r = move_to(&studio["id"], &at(15)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e = json_of(r).await;
    assert_eq!(e["error"]["code"], "studio_unavailable", "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("can't be moved"));
    let r = move_to(&mobile["id"], &at(15)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let moved = json_of(r).await;
    assert_eq!(moved["visit"], "mobile");
    assert_eq!(moved["client_address"], format!("{STREET}, Cambridge, MA"));
    // The radius shrinks below Cambridge's distance: the mobile booking stays where it is.
    go_mobile(app, m, 1, false).await;
    let r = move_to(&moved["id"], &at(9)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(r).await["error"]["code"], "outside_mobile_area");
    let active: Vec<Value> = json_of(app.api_get("/api/v1/me/bookings", Some(&client)).await)
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["status"] != "cancelled")
        .cloned()
        .collect();
    assert_eq!(active.len(), 2, "{active:?}");
    assert!(active.iter().any(|b| b["id"] == studio["id"]));
    assert!(active.iter().any(|b| b["id"] == moved["id"]));
}
