//! The admin area: verification queues and decisions, expiry, suspension, the audit log,
//! admins, the dashboard, and that nobody else gets in.

use bodywork::db::schema::{licenses, therapists, training_records};
use bodywork::domain::appointment::AppointmentStatus;
use bodywork::models::appointment::NewAppointment;
use bodywork::models::now;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    csrf_from, make_therapist, new_client, page_login, spawn_app, with_conn, Made, Spec, TestApp,
    PASSWORD,
};

// ---- Helpers -------------------------------------------------------------------------------

async fn body(r: reqwest::Response) -> Value {
    r.json().await.expect("json body")
}

/// Posts a form from `client` with the CSRF token of `page`.
async fn submit(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = client
        .get(app.url(page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&html);
    let mut all = fields.to_vec();
    all.push(("csrf_token", &csrf));
    client
        .post(app.url(action))
        .form(&all)
        .send()
        .await
        .unwrap()
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = client.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The flash message a redirect carries, as the next page shows it.
async fn follow(app: &TestApp, client: &reqwest::Client, r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    page(app, client, &to).await.1
}

/// A therapist whose license and training are still waiting.
async fn pending(app: &TestApp, admin_id: i64, email: &str, name: &str) -> Made {
    make_therapist(
        app,
        admin_id,
        Spec {
            email,
            name,
            verify_license: false,
            verify_training: false,
            ..Default::default()
        },
    )
    .await
}

fn license_of(app: &TestApp, therapist_id: i64) -> i64 {
    with_conn(app, |conn| {
        licenses::table
            .filter(licenses::therapist_id.eq(therapist_id))
            .order(licenses::id.desc())
            .select(licenses::id)
            .first(conn)
            .unwrap()
    })
}

fn training_of(app: &TestApp, therapist_id: i64) -> i64 {
    with_conn(app, |conn| {
        training_records::table
            .filter(training_records::therapist_id.eq(therapist_id))
            .order(training_records::id.desc())
            .select(training_records::id)
            .first(conn)
            .unwrap()
    })
}

fn submitted_days_ago(app: &TestApp, license: i64, training: i64, days: i64) {
    with_conn(app, |conn| {
        diesel::update(licenses::table.find(license))
            .set(licenses::submitted_at.eq(now() - Duration::days(days)))
            .execute(conn)
            .unwrap();
        diesel::update(training_records::table.find(training))
            .set(training_records::submitted_at.eq(now() - Duration::days(days)))
            .execute(conn)
            .unwrap();
    });
}

/// Moves a verified license's expiry and refreshes the therapist's summary, as a renewal would.
fn expires_in(app: &TestApp, therapist_id: i64, days: i64) {
    with_conn(app, |conn| {
        diesel::update(licenses::table.filter(licenses::therapist_id.eq(therapist_id)))
            .set(licenses::expires_on.eq(Utc::now().date_naive() + Duration::days(days)))
            .execute(conn)
            .unwrap();
        bodywork::services::profile::refresh_summary(conn, therapist_id).unwrap();
    });
}

fn book(app: &TestApp, m: &Made, client_id: i64, in_days: i64, status: &str, outcome: &str) -> i64 {
    with_conn(app, |conn| {
        let start = now() + Duration::days(in_days);
        NewAppointment {
            therapist_id: m.therapist_id,
            client_id,
            service_id: m.service_id,
            starts_at: start,
            ends_at: start + Duration::minutes(60),
            blocked_until: start + Duration::minutes(60),
            status: AppointmentStatus::parse(status).unwrap(),
            screening_version: 1,
            screening_answers: "{}".into(),
            screening_outcome: outcome.into(),
            clearance_confirmed: false,
            created_at: now(),
            updated_at: now(),
            visit: bodywork::domain::appointment::Visit::Studio,
            client_address: String::new(),
            screening_pending: false,
            entered_by: None,
            entry_note: String::new(),
        }
        .insert(conn)
        .unwrap()
    })
}

fn ids(list: &Value) -> Vec<i64> {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

async fn search_names(app: &TestApp) -> Vec<String> {
    body(app.api_get("/api/v1/therapists?verified=any", None).await).await["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

// ---- Queues and decisions ------------------------------------------------------------------

#[tokio::test]
async fn queues_list_submissions_oldest_first_with_the_therapists_details() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let a = pending(&app, admin_id, "a@x.com", "Ann Able").await;
    let b = pending(&app, admin_id, "b@x.com", "Ben Brown").await;
    let c = pending(&app, admin_id, "c@x.com", "Cy Clark").await;
    let done = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "d@x.com",
            name: "Dee Done",
            ..Default::default()
        },
    )
    .await;
    // Submitted out of creation order: b oldest, then c, then a.
    let (la, ta) = (
        license_of(&app, a.therapist_id),
        training_of(&app, a.therapist_id),
    );
    let (lb, tb) = (
        license_of(&app, b.therapist_id),
        training_of(&app, b.therapist_id),
    );
    let (lc, tc) = (
        license_of(&app, c.therapist_id),
        training_of(&app, c.therapist_id),
    );
    submitted_days_ago(&app, la, ta, 1);
    submitted_days_ago(&app, lb, tb, 5);
    submitted_days_ago(&app, lc, tc, 3);

    let q = body(
        app.api_get("/api/v1/admin/licenses?status=submitted", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(q["total"], 3);
    assert_eq!(ids(&q), [lb, lc, la], "oldest first");
    let first = &q["results"][0];
    assert_eq!(first["therapist_id"], b.therapist_id);
    assert_eq!(first["therapist_name"], "Ben Brown");
    assert_eq!(first["number"], "LMT-1");
    assert_eq!(first["jurisdiction"], "MA");
    assert_eq!(first["issuing_body"], "MA Board of Massage");
    assert_eq!(first["status"], "submitted");
    assert!(first["expires_on"].is_string() && first["submitted_at"].is_string());
    assert!(!q["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["therapist_id"] == done.therapist_id));

    let t = body(app.api_get("/api/v1/admin/training", Some(&admin)).await).await;
    assert_eq!(ids(&t), [tb, tc, ta]);
    let first = &t["results"][0];
    assert_eq!(first["therapist_name"], "Ben Brown");
    assert_eq!(first["program"], "Diploma");
    assert_eq!(first["hours"], 600);
    assert_eq!(first["completed_on"], "2019-05-01");
    assert_eq!(first["status"], "submitted");

    let verified = body(
        app.api_get("/api/v1/admin/licenses?status=verified", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(verified["total"], 1);
    let paged = body(
        app.api_get("/api/v1/admin/licenses?per_page=2&page=2", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(ids(&paged), [la]);
    let bad = app
        .api_get("/api/v1/admin/training?status=maybe", Some(&admin))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(bad).await["error"]["fields"]["status"].is_string());

    // The pages show the same order and each item's data.
    app.login_page("admin@example.com", PASSWORD).await;
    let html = app.get_html("/admin/licenses").await;
    let (pb, pc, pa) = (
        html.find("Ben Brown").unwrap(),
        html.find("Cy Clark").unwrap(),
        html.find("Ann Able").unwrap(),
    );
    assert!(pb < pc && pc < pa, "oldest first on the page");
    assert!(html.contains("MA Board of Massage"));
    assert_eq!(html.matches("<h1").count(), 1);
    let html = app.get_html("/admin/training").await;
    assert!(html.find("Ben Brown").unwrap() < html.find("Ann Able").unwrap());
    assert!(html.contains("Diploma"));
}

#[tokio::test]
async fn verify_and_reject_through_the_api_the_therapist_sees_the_reason() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = pending(&app, admin_id, "t@x.com", "Tess Tan").await;
    let (lic, tr) = (
        license_of(&app, t.therapist_id),
        training_of(&app, t.therapist_id),
    );

    let r = app
        .api_post(
            &format!("/api/v1/admin/licenses/{lic}/verify"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["status"], "verified");
    let profile = body(
        app.api_get(&format!("/api/v1/therapists/{}", t.therapist_id), None)
            .await,
    )
    .await;
    assert_eq!(profile["license"]["status"], "verified");

    // A rejection needs a reason.
    let r = app
        .api_post(
            &format!("/api/v1/admin/training/{tr}/reject"),
            Some(&admin),
            json!({"reason": "  "}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await["error"]["fields"]["reason"].is_string());
    let r = app
        .api_post(
            &format!("/api/v1/admin/training/{tr}/reject"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .api_post(
            &format!("/api/v1/admin/training/{tr}/reject"),
            Some(&admin),
            json!({"reason": "The certificate is not legible."}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let out = body(r).await;
    assert_eq!(out["status"], "rejected");
    assert_eq!(out["rejection_reason"], "The certificate is not legible.");

    // Deciding twice is a conflict; an unknown id is not found.
    for path in [
        format!("/api/v1/admin/licenses/{lic}/verify"),
        format!("/api/v1/admin/training/{tr}/verify"),
    ] {
        let r = app.api_post(&path, Some(&admin), json!({})).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{path}");
        assert_eq!(body(r).await["error"]["code"], "already_decided");
    }
    let r = app
        .api_post(
            &format!("/api/v1/admin/licenses/{lic}/reject"),
            Some(&admin),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    for path in [
        "/api/v1/admin/licenses/999999/verify",
        "/api/v1/admin/training/999999/verify",
        "/api/v1/admin/licenses/abc/verify",
    ] {
        let r = app.api_post(path, Some(&admin), json!({})).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = app
        .api_post(
            "/api/v1/admin/training/999999/reject",
            Some(&admin),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The therapist reads the reason in the API and on their credentials page.
    let creds = body(app.api_get("/api/v1/me/credentials", Some(&t.token)).await).await;
    assert_eq!(creds["training"][0]["status"], "rejected");
    assert_eq!(
        creds["training"][0]["rejection_reason"],
        "The certificate is not legible."
    );
    assert_eq!(creds["licenses"][0]["status"], "verified");
    let therapist = page_login(&app, "t@x.com").await;
    let (status, html) = page(&app, &therapist, "/therapist/credentials").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The certificate is not legible."), "{html}");
    assert!(
        html.contains("Not accepted: these hours don&#39;t count"),
        "{html}"
    );
}

#[tokio::test]
async fn a_resubmission_after_a_rejection_is_queued_again_with_its_history() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = pending(&app, admin_id, "t@x.com", "Tess Tan").await;
    let lic = license_of(&app, t.therapist_id);
    let r = app
        .api_post(
            &format!("/api/v1/admin/licenses/{lic}/reject"),
            Some(&admin),
            json!({"reason": "Number not found at the board."}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let q = body(app.api_get("/api/v1/admin/licenses", Some(&admin)).await).await;
    assert_eq!(q["total"], 0, "decided items leave the queue");

    let expires = (Utc::now().date_naive() + Duration::days(300)).to_string();
    let r = app
        .api_post(
            "/api/v1/me/license",
            Some(&t.token),
            json!({"jurisdiction": "MA", "number": "LMT-2", "issuing_body": "MA Board of Massage", "expires_on": expires}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let new_id = body(r).await["id"].as_i64().unwrap();
    let q = body(app.api_get("/api/v1/admin/licenses", Some(&admin)).await).await;
    assert_eq!(ids(&q), [new_id]);
    let history = q["results"][0]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["id"], lic);
    assert_eq!(history[0]["status"], "rejected");
    assert_eq!(
        history[0]["rejection_reason"],
        "Number not found at the board."
    );

    app.login_page("admin@example.com", PASSWORD).await;
    let html = app.get_html("/admin/licenses").await;
    assert!(html.contains("LMT-2"));
    assert!(
        html.contains("Number not found at the board."),
        "history on the page"
    );
}

#[tokio::test]
async fn deciding_through_the_pages_with_field_errors_and_flash_messages() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let t = pending(&app, admin_id, "t@x.com", "Tess Tan").await;
    let (lic, tr) = (
        license_of(&app, t.therapist_id),
        training_of(&app, t.therapist_id),
    );
    let admin = page_login(&app, "admin@example.com").await;

    // Reject without a reason: the page again, 422, the error tied to the field.
    let r = submit(
        &app,
        &admin,
        "/admin/licenses",
        &format!("/admin/licenses/{lic}/reject"),
        &[("reason", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("id=\"reason-{lic}-error\"")),
        "{html}"
    );
    assert!(html.contains(&format!("aria-describedby=\"reason-{lic}-error\"")));
    assert!(html.contains("Give the therapist a reason"));
    assert_eq!(html.matches("<h1").count(), 1);

    let r = submit(
        &app,
        &admin,
        "/admin/licenses",
        &format!("/admin/licenses/{lic}/reject"),
        &[("reason", "Expired card"), ("confirm", "yes")],
    )
    .await;
    let next = follow(&app, &admin, r).await;
    assert!(
        next.contains(&format!("License #{lic} rejected")),
        "flash: {next}"
    );
    // The same on the training queue: its own page comes back with the error.
    let r = submit(
        &app,
        &admin,
        "/admin/training",
        &format!("/admin/training/{tr}/reject"),
        &[("reason", "  ")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("id=\"reason-{tr}-error\"")),
        "{html}"
    );
    assert!(html.contains("<h1>Training verification</h1>"), "{html}");

    let r = submit(
        &app,
        &admin,
        "/admin/training",
        &format!("/admin/training/{tr}/verify"),
        &[("confirm", "yes")],
    )
    .await;
    let next = follow(&app, &admin, r).await;
    assert!(next.contains(&format!("Training record #{tr} verified")));
    assert!(next.contains("Nothing to verify"));

    // Twice: refused with a page that says so.
    let r = submit(
        &app,
        &admin,
        "/admin/training",
        &format!("/admin/training/{tr}/verify"),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("already verified"));

    let creds = body(app.api_get("/api/v1/me/credentials", Some(&t.token)).await).await;
    assert_eq!(creds["licenses"][0]["rejection_reason"], "Expired card");
    assert_eq!(creds["training"][0]["status"], "verified");
}

// ---- Expiry --------------------------------------------------------------------------------

#[tokio::test]
async fn a_license_past_its_expiry_date_stops_counting_without_any_job() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "t@x.com",
            name: "Tess Tan",
            ..Default::default()
        },
    )
    .await;
    let path = format!("/api/v1/therapists/{}", t.therapist_id);
    assert_eq!(
        body(app.api_get(&path, None).await).await["license"]["status"],
        "verified"
    );

    expires_in(&app, t.therapist_id, -1);
    let profile = body(app.api_get(&path, None).await).await;
    assert_eq!(profile["license"]["status"], "expired");
    let hit = body(app.api_get("/api/v1/therapists?verified=any", None).await).await;
    assert_eq!(hit["results"][0]["license_verified"], false);
    let default = body(app.api_get("/api/v1/therapists", None).await).await;
    assert_eq!(default["total"], 0, "no longer in default searches");
    let creds = body(app.api_get("/api/v1/me/credentials", Some(&t.token)).await).await;
    assert_eq!(creds["licenses"][0]["status"], "expired");
    let expiring = body(
        app.api_get("/api/v1/admin/licenses/expiring", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(expiring["total"], 0, "already expired is not expiring");
    // Still valid on its last day.
    expires_in(&app, t.therapist_id, 0);
    let profile = body(app.api_get(&path, None).await).await;
    assert_eq!(profile["license"]["status"], "verified");
}

#[tokio::test]
async fn verified_licenses_expiring_within_30_days_are_listed_and_the_therapist_is_warned() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let soon = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "soon@x.com",
            name: "Sue Soon",
            ..Default::default()
        },
    )
    .await;
    let sooner = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "sooner@x.com",
            name: "Sid Sooner",
            ..Default::default()
        },
    )
    .await;
    let later = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "later@x.com",
            name: "Lou Later",
            ..Default::default()
        },
    )
    .await;
    let renewed = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "renewed@x.com",
            name: "Ren Renewed",
            ..Default::default()
        },
    )
    .await;
    let pending_one = pending(&app, admin_id, "pending@x.com", "Pat Pending").await;
    expires_in(&app, soon.therapist_id, 20);
    expires_in(&app, sooner.therapist_id, 3);
    expires_in(&app, later.therapist_id, 45);
    expires_in(&app, renewed.therapist_id, 10);
    expires_in(&app, pending_one.therapist_id, 5);
    // Ren has since had a renewed license verified: nothing to worry about.
    let expires = (Utc::now().date_naive() + Duration::days(700)).to_string();
    let r = body(
        app.api_post(
            "/api/v1/me/license",
            Some(&renewed.token),
            json!({"jurisdiction": "MA", "number": "LMT-9", "issuing_body": "MA Board of Massage", "expires_on": expires}),
        )
        .await,
    )
    .await;
    let r = app
        .api_post(
            &format!("/api/v1/admin/licenses/{}/verify", r["id"]),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let list = body(
        app.api_get("/api/v1/admin/licenses/expiring", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(list["total"], 2);
    let names: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["therapist_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sid Sooner", "Sue Soon"], "soonest first");
    assert_eq!(list["results"][0]["days_left"], 3);
    assert_eq!(list["results"][0]["therapist_email"], "sooner@x.com");
    let dash = body(app.api_get("/api/v1/admin/dashboard", Some(&admin)).await).await;
    assert_eq!(dash["expiring_licenses"], 2);

    app.login_page("admin@example.com", PASSWORD).await;
    let html = app.get_html("/admin/licenses").await;
    let section = &html[html.find("id=\"expiring-title\"").unwrap()..];
    assert!(section.contains("Sid Sooner") && section.contains("Sue Soon"));
    assert!(
        !section.contains("Lou Later")
            && !section.contains("Ren Renewed")
            && !section.contains("Pat Pending")
    );

    let warned = page_login(&app, "soon@x.com").await;
    let (_, html) = page(&app, &warned, "/therapist").await;
    assert!(html.contains("your license expires soon"), "{html}");
    let calm = page_login(&app, "later@x.com").await;
    let (_, html) = page(&app, &calm, "/therapist").await;
    assert!(!html.contains("your license expires soon"));
}

// ---- Suspension ----------------------------------------------------------------------------

#[tokio::test]
async fn suspension_hides_a_therapist_and_reinstatement_brings_them_back() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "t@x.com",
            name: "Tess Tan",
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "o@x.com",
            name: "Other Olsen",
            ..Default::default()
        },
    )
    .await;
    let (client_id, _) = app.api_user("client@example.com", "client").await;
    let upcoming = book(&app, &t, client_id, 3, "confirmed", "ok");
    book(&app, &t, client_id, 5, "cancelled", "ok");
    let profile_api = format!("/api/v1/therapists/{}", t.therapist_id);
    let profile_page = format!("/therapists/{}", t.therapist_id);
    assert_eq!(app.get(&profile_page).await.status(), StatusCode::OK);

    let base = format!("/api/v1/admin/therapists/{}", t.therapist_id);
    let r = app
        .api_post(
            &format!("{base}/suspend"),
            Some(&admin),
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await["error"]["fields"]["reason"].is_string());
    let r = app
        .api_post(
            &format!("{base}/suspend"),
            Some(&admin),
            json!({"reason": "Complaint under review"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let s = body(r).await;
    assert_eq!(s["suspended"], true);
    assert_eq!(s["suspended_reason"], "Complaint under review");
    assert_eq!(s["upcoming_appointments"], 1);

    assert_eq!(search_names(&app).await, ["Other Olsen"]);
    assert_eq!(
        app.api_get(&profile_api, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&profile_page).await.status(), StatusCode::NOT_FOUND);
    let detail = body(app.api_get(&base, Some(&admin)).await).await;
    assert_eq!(detail["suspended"], true);
    assert_eq!(detail["suspended_reason"], "Complaint under review");
    let appts: Vec<i64> = detail["upcoming_appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(appts, [upcoming], "only active appointments still to come");
    assert_eq!(
        detail["upcoming_appointments"][0]["client_email"],
        "client@example.com"
    );
    let r = app
        .api_post(
            &format!("{base}/suspend"),
            Some(&admin),
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await["error"]["code"], "already_suspended");

    let r = app
        .api_post(&format!("{base}/reinstate"), Some(&admin), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .api_post(
            &format!("{base}/reinstate"),
            Some(&admin),
            json!({"reason": "Complaint dismissed"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["suspended"], false);
    let mut names = search_names(&app).await;
    names.sort();
    assert_eq!(names, ["Other Olsen", "Tess Tan"]);
    assert_eq!(
        app.api_get(&profile_api, None).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.get(&profile_page).await.status(), StatusCode::OK);
    let r = app
        .api_post(
            &format!("{base}/reinstate"),
            Some(&admin),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await["error"]["code"], "not_suspended");
    let r = app
        .api_post(
            "/api/v1/admin/therapists/999999/suspend",
            Some(&admin),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (suspended_at, reason): (Option<chrono::NaiveDateTime>, Option<String>) =
        with_conn(&app, |conn| {
            therapists::table
                .find(t.therapist_id)
                .select((therapists::suspended_at, therapists::suspended_reason))
                .first(conn)
                .unwrap()
        });
    assert!(suspended_at.is_none() && reason.is_none());
}

#[tokio::test]
async fn admins_find_suspend_and_reinstate_therapists_through_the_pages() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let t = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "tess@x.com",
            name: "Tess Tan",
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "omar@x.com",
            name: "Omar Olsen",
            ..Default::default()
        },
    )
    .await;
    let (client_id, _) = app.api_user("client@example.com", "client").await;
    book(&app, &t, client_id, 2, "requested", "ok");
    let admin = page_login(&app, "admin@example.com").await;

    let (status, html) = page(&app, &admin, "/admin/therapists?q=tAN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Tess Tan") && !html.contains("Omar Olsen"));
    let (_, html) = page(&app, &admin, "/admin/therapists?q=omar%40x").await;
    assert!(html.contains("Omar Olsen") && !html.contains("Tess Tan"));
    let (_, html) = page(&app, &admin, "/admin/therapists").await;
    assert!(html.contains("Omar Olsen") && html.contains("Tess Tan"));

    let detail = format!("/admin/therapists/{}", t.therapist_id);
    let (_, html) = page(&app, &admin, &detail).await;
    assert!(html.contains("Upcoming appointments (1)"));
    assert!(html.contains("client@example.com"));
    assert!(html.contains("LMT-1"));

    let r = submit(
        &app,
        &admin,
        &detail,
        &format!("{detail}/suspend"),
        &[("reason", " ")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"reason-error\""));
    assert!(html.contains("aria-describedby=\"reason-hint reason-error\""));
    let r = submit(
        &app,
        &admin,
        &detail,
        &format!("{detail}/suspend"),
        &[("reason", "Licence board inquiry"), ("confirm", "yes")],
    )
    .await;
    let html = follow(&app, &admin, r).await;
    assert!(html.contains("Therapist suspended"), "flash: {html}");
    assert!(html.contains("1 upcoming appointment to handle"));
    assert!(html.contains("Licence board inquiry"));
    assert_eq!(
        app.get(&format!("/therapists/{}", t.therapist_id))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let r = submit(
        &app,
        &admin,
        &detail,
        &format!("{detail}/reinstate"),
        &[("reason", "Inquiry closed")],
    )
    .await;
    let html = follow(&app, &admin, r).await;
    assert!(html.contains("Therapist reinstated"));
    assert!(
        html.contains("therapist reinstated: Inquiry closed"),
        "history on the page"
    );
    assert_eq!(
        app.get(&format!("/therapists/{}", t.therapist_id))
            .await
            .status(),
        StatusCode::OK
    );
    let (status, _) = page(&app, &admin, "/admin/therapists/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---- Who gets in ---------------------------------------------------------------------------

#[tokio::test]
async fn nobody_but_an_admin_gets_through_any_admin_route() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = pending(&app, admin_id, "t@x.com", "Tess Tan").await;
    let (lic, tr) = (
        license_of(&app, t.therapist_id),
        training_of(&app, t.therapist_id),
    );
    let (_, client) = app.api_user("client@example.com", "client").await;
    let therapist = t.token.clone();
    let tid = t.therapist_id;
    let reason = json!({"reason": "Because"});
    let new_admin = json!({"email": "sneaky@example.com", "name": "Sneaky"});
    let api: Vec<(&str, String, Value)> = vec![
        ("GET", "/api/v1/admin/dashboard".into(), Value::Null),
        ("GET", "/api/v1/admin/licenses".into(), Value::Null),
        ("GET", "/api/v1/admin/licenses/expiring".into(), Value::Null),
        ("GET", "/api/v1/admin/stats/bookings".into(), Value::Null),
        ("GET", "/api/v1/admin/stats/queue-age".into(), Value::Null),
        ("GET", "/api/v1/admin/stats/expiring".into(), Value::Null),
        (
            "POST",
            format!("/api/v1/admin/licenses/{lic}/verify"),
            json!({}),
        ),
        (
            "POST",
            format!("/api/v1/admin/licenses/{lic}/reject"),
            reason.clone(),
        ),
        ("GET", "/api/v1/admin/training".into(), Value::Null),
        (
            "POST",
            format!("/api/v1/admin/training/{tr}/verify"),
            json!({}),
        ),
        (
            "POST",
            format!("/api/v1/admin/training/{tr}/reject"),
            reason.clone(),
        ),
        ("GET", "/api/v1/admin/therapists".into(), Value::Null),
        (
            "GET",
            format!("/api/v1/admin/therapists/{tid}"),
            Value::Null,
        ),
        (
            "POST",
            format!("/api/v1/admin/therapists/{tid}/suspend"),
            reason.clone(),
        ),
        (
            "POST",
            format!("/api/v1/admin/therapists/{tid}/reinstate"),
            reason.clone(),
        ),
        (
            "POST",
            format!("/api/v1/admin/therapists/{tid}/cancel-upcoming"),
            reason.clone(),
        ),
        ("GET", "/api/v1/admin/bookings/flagged".into(), Value::Null),
        ("GET", "/api/v1/admin/outbox".into(), Value::Null),
        (
            "POST",
            "/api/v1/admin/outbox/1/send-again".into(),
            Value::Null,
        ),
        ("GET", "/api/v1/admin/admins".into(), Value::Null),
        ("POST", "/api/v1/admin/admins".into(), new_admin.clone()),
        ("GET", "/api/v1/admin/audit".into(), Value::Null),
        ("GET", "/api/v1/admin/reviews".into(), Value::Null),
        (
            "POST",
            "/api/v1/admin/reviews/1/hide".into(),
            reason.clone(),
        ),
    ];
    // The list covers every admin route the API documents.
    let spec = body(app.get("/api/openapi.json").await).await;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin") {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let covered = api.iter().any(|(m, p, _)| {
                *m == method
                    && p.split('/').count() == path.split('/').count()
                    && p.split('/')
                        .zip(path.split('/'))
                        .all(|(a, b)| a == b || b.starts_with('{'))
            });
            assert!(covered, "{method} {path} is not in the walk");
        }
    }
    for (method, path, payload) in &api {
        for (who, token, expected) in [
            ("anonymous", None, StatusCode::UNAUTHORIZED),
            ("client", Some(client.as_str()), StatusCode::FORBIDDEN),
            ("therapist", Some(therapist.as_str()), StatusCode::FORBIDDEN),
        ] {
            let r = if *method == "GET" {
                app.api_get(path, token).await
            } else {
                app.api_post(path, token, payload.clone()).await
            };
            assert_eq!(r.status(), expected, "{who} {method} {path}");
        }
    }

    let pages_get = [
        "/admin".to_string(),
        "/admin/licenses".into(),
        "/admin/training".into(),
        "/admin/therapists".into(),
        format!("/admin/therapists/{tid}"),
        "/admin/bookings".into(),
        "/admin/outbox".into(),
        "/admin/admins".into(),
        "/admin/audit".into(),
    ];
    let pages_post: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/admin/licenses/{lic}/verify"), vec![]),
        (
            format!("/admin/licenses/{lic}/reject"),
            vec![("reason", "Because")],
        ),
        (format!("/admin/training/{tr}/verify"), vec![]),
        (
            format!("/admin/training/{tr}/reject"),
            vec![("reason", "Because")],
        ),
        (
            format!("/admin/therapists/{tid}/suspend"),
            vec![("reason", "Because")],
        ),
        (
            format!("/admin/therapists/{tid}/reinstate"),
            vec![("reason", "Because")],
        ),
        (
            format!("/admin/therapists/{tid}/cancel-upcoming"),
            vec![("reason", "Because"), ("appointment", "")],
        ),
        (
            "/admin/admins".into(),
            vec![("email", "sneaky@example.com"), ("name", "Sneaky")],
        ),
        ("/admin/outbox/1/send-again".into(), vec![]),
    ];
    let anonymous = new_client();
    for path in &pages_get {
        let r = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "anonymous GET {path}");
        assert!(r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next="));
    }
    // Logged-in clients and therapists, with their own valid CSRF token.
    app.register_page("c2@example.com", "Client Two", "client")
        .await;
    let therapist_page = page_login(&app, "t@x.com").await;
    for (who, browser) in [("client", &app.client), ("therapist", &therapist_page)] {
        for path in &pages_get {
            let r = browser.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} GET {path}");
        }
        for (path, fields) in &pages_post {
            let r = submit(&app, browser, "/", path, fields).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} POST {path}");
        }
    }
    for (path, fields) in &pages_post {
        let r = anonymous
            .post(app.url(path))
            .form(fields)
            .send()
            .await
            .unwrap();
        let s = r.status();
        let to_login = s == StatusCode::SEE_OTHER
            && r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login");
        assert!(
            to_login || s == StatusCode::FORBIDDEN,
            "anonymous POST {path}: {s}"
        );
    }

    // Nothing changed.
    let q = body(app.api_get("/api/v1/admin/licenses", Some(&admin)).await).await;
    assert_eq!(ids(&q), [lic]);
    let q = body(app.api_get("/api/v1/admin/training", Some(&admin)).await).await;
    assert_eq!(ids(&q), [tr]);
    let d = body(
        app.api_get(&format!("/api/v1/admin/therapists/{tid}"), Some(&admin))
            .await,
    )
    .await;
    assert_eq!(d["suspended"], false);
    let admins = body(app.api_get("/api/v1/admin/admins", Some(&admin)).await).await;
    assert_eq!(admins.as_array().unwrap().len(), 1);
}

// ---- Admins --------------------------------------------------------------------------------

#[tokio::test]
async fn an_admin_invites_another_admin_who_sets_their_own_password() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let r = app
        .api_post(
            "/api/v1/admin/admins",
            Some(&admin),
            json!({"email": "Second@Example.com", "name": "Second Admin"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let u = body(r).await;
    assert_eq!(u["role"], "admin");
    assert_eq!(u["email"], "second@example.com");
    assert_eq!(u["email_verified"], false, "invited, not accepted yet");
    // No password was typed by anyone: the invitee cannot log in until they choose one.
    let r = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "second@example.com", "password": ""}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let token = app
        .mail_token("second@example.com", "admin_invitation", "/accept-invite")
        .await;
    let mail = app
        .mail_text("second@example.com", "admin_invitation")
        .await;
    assert!(mail.contains("Admin Person invited you"), "{mail}");
    assert!(mail.contains("7 days"), "{mail}");
    let r = app
        .api_post(
            "/api/v1/auth/accept-invite",
            None,
            json!({"token": token, "password": "secondadmin"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(r).await["error"]["code"], "password_weak");
    let r = app
        .api_post(
            "/api/v1/auth/accept-invite",
            None,
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .api_post(
            "/api/v1/auth/accept-invite",
            None,
            json!({"token": token, "password": "another long password"}),
        )
        .await;
    assert_eq!(body(r).await["error"]["code"], "token_used");
    let token = app.api_login("second@example.com").await;
    // An invited admin sets up two-factor sign-in before anything else.
    let r = app.api_get("/api/v1/admin/dashboard", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(r).await["error"]["code"], "totp_enrolment_required");
    app.enrol_totp("second@example.com", &token).await;
    assert_eq!(
        app.api_get("/api/v1/admin/dashboard", Some(&token))
            .await
            .status(),
        StatusCode::OK
    );
    let r = app
        .api_post(
            "/api/v1/admin/admins",
            Some(&admin),
            json!({"email": "second@example.com", "name": "Again"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = app
        .api_post(
            "/api/v1/admin/admins",
            Some(&admin),
            json!({"email": "nope", "name": ""}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body(r).await["error"]["fields"].clone();
    assert!(fields["email"].is_string() && fields["name"].is_string());
    // An admin can no longer choose another's password: the field is refused, not ignored.
    let r = app
        .api_post(
            "/api/v1/admin/admins",
            Some(&admin),
            json!({"email": "x@example.com", "name": "X", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Through the page: errors next to the fields, the typed email kept; no password field.
    let page_admin = page_login(&app, "admin@example.com").await;
    let html = page_admin
        .get(app.url("/admin/admins"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("type=\"password\""), "{html}");
    let r = submit(
        &app,
        &page_admin,
        "/admin/admins",
        "/admin/admins",
        &[("email", "third@example.com"), ("name", " ")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"name-error\""));
    assert!(html.contains("value=\"third@example.com\""));
    let r = submit(
        &app,
        &page_admin,
        "/admin/admins",
        "/admin/admins",
        &[("email", "third@example.com"), ("name", "Third Admin")],
    )
    .await;
    let html = follow(&app, &page_admin, r).await;
    assert!(
        html.contains("Invitation sent to third@example.com"),
        "{html}"
    );
    assert!(html.contains("has not accepted yet"), "{html}");
    // The invitee's page: a form that posts (the GET changes nothing), then the login.
    let link = app
        .mail_link("third@example.com", "admin_invitation", "/accept-invite")
        .await;
    let invitee = crate::builders::new_client();
    let form = invitee.get(app.url(&link)).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(html.contains("Welcome, Third Admin"), "{html}");
    let token = link.split_once("token=").unwrap().1.to_string();
    let r = invitee
        .post(app.url("/accept-invite"))
        .form(&[
            ("csrf_token", crate::builders::csrf_from(&html).as_str()),
            ("token", token.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    page_login(&app, "third@example.com").await;

    let invited = body(
        app.api_get(
            &format!("/api/v1/admin/audit?action=account.invite&actor={admin_id}"),
            Some(&admin),
        )
        .await,
    )
    .await;
    let summaries: Vec<&str> = invited["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["summary"].as_str().unwrap())
        .collect();
    assert_eq!(
        summaries,
        [
            "invited third@example.com as an admin (link mailed)",
            "invited second@example.com as an admin (link mailed)"
        ],
        "each invitation audited with the inviting admin as actor, newest first"
    );
}

// ---- Audit log -----------------------------------------------------------------------------

#[tokio::test]
async fn every_admin_action_is_in_the_audit_log_and_the_filters_work() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = pending(&app, admin_id, "t@x.com", "Tess Tan").await;
    let (lic, tr) = (
        license_of(&app, t.therapist_id),
        training_of(&app, t.therapist_id),
    );
    let tid = t.therapist_id;
    let ok = |r: reqwest::Response| assert_eq!(r.status(), StatusCode::OK);
    ok(app
        .api_post(
            &format!("/api/v1/admin/licenses/{lic}/verify"),
            Some(&admin),
            json!({}),
        )
        .await);
    ok(app
        .api_post(
            &format!("/api/v1/admin/training/{tr}/reject"),
            Some(&admin),
            json!({"reason": "Too few hours shown"}),
        )
        .await);
    ok(app
        .api_post(
            &format!("/api/v1/admin/therapists/{tid}/suspend"),
            Some(&admin),
            json!({"reason": "Complaint"}),
        )
        .await);
    ok(app
        .api_post(
            &format!("/api/v1/admin/therapists/{tid}/reinstate"),
            Some(&admin),
            json!({"reason": "Resolved"}),
        )
        .await);
    let r = app
        .api_post(
            "/api/v1/admin/admins",
            Some(&admin),
            json!({"email": "new@example.com", "name": "New Admin"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let new_admin_id = body(r).await["id"].as_i64().unwrap();

    let get = |q: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let r = app
                .api_get(&format!("/api/v1/admin/audit{q}"), Some(&admin))
                .await;
            assert_eq!(r.status(), StatusCode::OK, "{q}");
            body(r).await
        }
    };
    let mine = get(format!("?actor={admin_id}")).await;
    let actions: Vec<&str> = mine["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "account.invite",
            "therapist.reinstate",
            "therapist.suspend",
            "training_record.reject",
            "license.verify",
            "account.totp_enabled",
            "account.totp_enrolment_started",
            "account.login",
            "account.create"
        ],
        "newest first; the last four are the admin's own account, login and two-factor setup"
    );
    let row = &mine["results"][2];
    assert_eq!(row["actor_user_id"], admin_id);
    assert_eq!(row["actor_email"], "admin@example.com");
    assert_eq!(row["object_type"], "therapist");
    assert_eq!(row["object_id"], tid);
    assert!(row["summary"].as_str().unwrap().contains("Complaint"));
    assert!(row["id"].is_i64() && row["created_at"].is_string());
    assert_eq!(mine["results"][0]["object_id"], new_admin_id);
    assert_eq!(mine["results"][0]["object_type"], "user");
    assert_eq!(
        mine["results"][1]["summary"],
        "therapist reinstated: Resolved"
    );
    assert_eq!(mine["results"][3]["object_id"], tr);
    assert!(mine["results"][3]["summary"]
        .as_str()
        .unwrap()
        .contains("Too few hours shown"));
    assert_eq!(mine["results"][4]["object_id"], lic);

    let by_email = get("?actor=ADMIN@example.com".into()).await;
    assert_eq!(by_email["total"], mine["total"]);
    assert_eq!(get("?actor=nobody@example.com".into()).await["total"], 0);
    let lic_rows = get("?action=license.".into()).await;
    let lic_actions: Vec<&str> = lic_rows["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(lic_actions, ["license.verify", "license.submit"]);
    let lic_rows = get(format!("?action=license.&actor={admin_id}")).await;
    assert_eq!(lic_rows["total"], 1);
    assert_eq!(lic_rows["results"][0]["object_id"], lic);
    assert_eq!(get("?action=therapist.".into()).await["total"], 2);
    assert_eq!(get("?action=training_record.".into()).await["total"], 1);
    let r = app
        .api_get("/api/v1/admin/audit?action=training%25", Some(&admin))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "no wildcards");
    assert_eq!(
        get("?action=license_".into()).await["total"],
        0,
        "_ is not a wildcard"
    );
    let obj = get(format!("?object_type=therapist&object_id={tid}")).await;
    assert!(obj["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["object_type"] == "therapist" && r["object_id"] == tid));
    let obj_actions: Vec<&str> = obj["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        &obj_actions[..2],
        ["therapist.reinstate", "therapist.suspend"]
    );
    assert!(
        obj_actions.contains(&"profile.update"),
        "other objects' rows left out, this one's kept"
    );
    assert_eq!(
        get(format!("?object_type=therapist&object_id={}", tid + 1000)).await["total"],
        0
    );
    let today = Utc::now().date_naive();
    let all_today = get(format!("?from={today}&to={today}&actor={admin_id}")).await;
    assert_eq!(all_today["total"], mine["total"]);
    assert_eq!(
        get(format!("?from={}", today + Duration::days(1))).await["total"],
        0
    );
    assert_eq!(
        get(format!("?to={}", today - Duration::days(1))).await["total"],
        0
    );
    let paged = get(format!("?actor={admin_id}&per_page=2&page=2")).await;
    assert_eq!(paged["total"], 9);
    assert_eq!(paged["page"], 2);
    assert_eq!(paged["per_page"], 2);
    assert_eq!(paged["results"][0]["action"], "therapist.suspend");

    let r = app
        .api_get("/api/v1/admin/audit?actor=someone&from=yesterday&object_id=x&per_page=500&action=DROP%20TABLE", Some(&admin))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body(r).await["error"]["fields"].clone();
    for f in ["actor", "from", "object_id", "per_page", "action"] {
        assert!(fields[f].is_string(), "{f}: {fields}");
    }
    let r = app
        .api_get(
            &format!(
                "/api/v1/admin/audit?from={today}&to={}",
                today - Duration::days(2)
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await["error"]["fields"]["to"].is_string());

    // The page: the same filters as a form, kept filled in; bad ones next to their field.
    app.login_page("admin@example.com", PASSWORD).await;
    let html = app.get_html("/admin/audit?action=therapist.").await;
    assert!(html.contains("therapist suspended: Complaint"));
    assert!(!html.contains("license verified"));
    assert!(html.contains("value=\"therapist.\""));
    let r = app.get("/admin/audit?object_id=abc").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"object_id-error\"")
            && html.contains("aria-describedby=\"object_id-error\"")
    );
    let html = app
        .get_html(&format!("/admin/audit?actor={admin_id}&per_page=2"))
        .await;
    assert!(
        html.contains(&format!(
            "href=\"/admin/audit?actor={admin_id}&#38;per_page=2&#38;page=2\""
        )),
        "pagination keeps the filters: {html}"
    );
}

// ---- Dashboard -----------------------------------------------------------------------------

#[tokio::test]
async fn the_dashboard_counts_what_needs_attention_and_links_to_each_list() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "t@x.com",
            name: "Tess Tan",
            ..Default::default()
        },
    )
    .await;
    pending(&app, admin_id, "p@x.com", "Pat Pending").await;
    expires_in(&app, t.therapist_id, 12);
    let (client_id, _) = app.api_user("client@example.com", "client").await;
    let flagged = book(&app, &t, client_id, 2, "requested", "caution");
    book(&app, &t, client_id, 3, "requested", "needs_clearance");
    book(&app, &t, client_id, 4, "requested", "ok");
    book(&app, &t, client_id, 5, "confirmed", "caution");
    let acknowledged = book(&app, &t, client_id, 6, "requested", "caution");
    with_conn(&app, |conn| {
        use bodywork::db::schema::appointments;
        diesel::update(appointments::table.find(acknowledged))
            .set(appointments::flags_acknowledged_at.eq(Some(now())))
            .execute(conn)
            .unwrap();
    });

    let d = body(app.api_get("/api/v1/admin/dashboard", Some(&admin)).await).await;
    assert_eq!(d["pending_licenses"], 1);
    assert_eq!(d["pending_training"], 1);
    assert_eq!(d["expiring_licenses"], 1);
    assert_eq!(d["flagged_bookings"], 2);
    assert_eq!(d["new_therapists_this_week"], 2);
    let list = body(
        app.api_get("/api/v1/admin/bookings/flagged", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["results"][0]["id"], flagged);
    assert_eq!(list["results"][0]["screening_outcome"], "caution");
    assert!(
        list["results"][0].get("screening_answers").is_none(),
        "the outcome alone"
    );

    app.login_page("admin@example.com", PASSWORD).await;
    let html = app.get_html("/admin").await;
    for link in [
        "/admin/licenses",
        "/admin/training",
        "/admin/bookings",
        "/admin/therapists",
        "/admin/licenses#expiring-title",
    ] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(html.contains("<strong>2</strong> <a href=\"/admin/bookings\">"));
    let html = app.get_html("/admin/bookings").await;
    assert!(html.contains("Tess Tan") && html.contains(&format!("#{flagged}")));
    assert!(html.contains("needs medical clearance"));
}

#[tokio::test]
async fn the_demo_data_shows_each_admin_case() {
    let app = spawn_app().await;
    let cipher = bodywork::services::crypto::AnswerCipher::from_settings(&app.settings).unwrap();
    let mail = app.mail_ctx();
    with_conn(&app, |conn| {
        bodywork::demo::fill(conn, &mail, &cipher).expect("demo data")
    });
    // The demo admin signs in with the published TOTP key (README: any TOTP app, oathtool).
    let login = |totp: Option<String>| {
        let app = &app;
        async move {
            let mut b = json!({"email": "admin@demo.bodywork.test", "password": bodywork::demo::DEMO_PASSWORD});
            if let Some(t) = totp {
                b["totp"] = json!(t);
            }
            app.api_post("/api/v1/auth/login", None, b).await
        }
    };
    let r = login(None).await;
    assert_eq!(body(r).await["error"]["code"], "totp_required");
    let key = bodywork::domain::totp::secret_from_base32(bodywork::demo::DEMO_TOTP_SECRET).unwrap();
    let r = login(Some(crate::builders::code_for_step(
        &key,
        crate::builders::step_now(),
    )))
    .await;
    let admin = body(r).await["token"].as_str().unwrap().to_string();
    let queue = body(
        app.api_get("/api/v1/admin/licenses?per_page=100", Some(&admin))
            .await,
    )
    .await;
    let hannah = queue["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["therapist_name"] == "Hannah Becker")
        .expect("Hannah's resubmission is queued");
    assert_eq!(hannah["history"][0]["status"], "rejected");
    assert!(hannah["history"][0]["rejection_reason"].is_string());
    let expiring = body(
        app.api_get("/api/v1/admin/licenses/expiring", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(expiring["total"], 1);
    assert_eq!(expiring["results"][0]["days_left"], 18);
    let suspended = body(
        app.api_get("/api/v1/admin/audit?action=therapist.suspend", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(suspended["total"], 1);
    // An invitation waits to be accepted, and every other demo account is verified.
    let admins = body(app.api_get("/api/v1/admin/admins", Some(&admin)).await).await;
    let pending: Vec<&Value> = admins
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["email_verified"] == false)
        .collect();
    assert_eq!(pending.len(), 1, "{admins}");
    assert_eq!(pending[0]["email"], "grace@demo.bodywork.test");
    let me = body(app.api_get("/api/v1/me", Some(&admin)).await).await;
    assert_eq!(me["email_verified"], true);
}

#[tokio::test]
async fn every_list_pages_by_one_policy_on_the_api_and_the_pages() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    for name in ["Ann Able", "Ben Brown", "Cy Clark"] {
        let email = format!("{}@x.com", name.split(' ').next().unwrap().to_lowercase());
        pending(&app, admin_id, &email, name).await;
    }
    for list in [
        "licenses",
        "training",
        "licenses/expiring",
        "therapists",
        "bookings/flagged",
        "audit",
    ] {
        let ok = app
            .api_get(&format!("/api/v1/admin/{list}"), Some(&admin))
            .await;
        assert_eq!(ok.status(), StatusCode::OK, "{list}");
        let ok = body(ok).await;
        assert_eq!(
            (ok["page"].as_i64(), ok["per_page"].as_i64()),
            (Some(1), Some(20)),
            "{list}"
        );
        for (query, field) in [
            ("page=0", "page"),
            ("page=abc", "page"),
            ("page=100001", "page"),
            ("per_page=0", "per_page"),
            ("per_page=101", "per_page"),
            ("per_page=x", "per_page"),
        ] {
            let r = app
                .api_get(&format!("/api/v1/admin/{list}?{query}"), Some(&admin))
                .await;
            assert_eq!(
                r.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{list}?{query}"
            );
            let err = body(r).await;
            assert_eq!(err["error"]["code"], "validation_failed", "{list}?{query}");
            assert!(
                err["error"]["fields"][field].is_string(),
                "{list}?{query}: {err}"
            );
        }
    }
    let paged = body(
        app.api_get("/api/v1/admin/training?page=2&per_page=2", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(paged["total"], 3);
    assert_eq!(paged["results"].as_array().unwrap().len(), 1);

    // The pages: the same parser; a list without a filter form answers a bad value with the
    // error page that says what is wrong, and the page links keep per_page.
    let client = page_login(&app, "admin@example.com").await;
    for path in [
        "/admin/licenses",
        "/admin/training",
        "/admin/therapists",
        "/admin/bookings",
        "/admin/outbox",
    ] {
        let (status, html) = page(&app, &client, &format!("{path}?page=0")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(
            html.contains("The page is a whole number from 1 to 100000."),
            "{path}"
        );
        let (status, html) = page(&app, &client, &format!("{path}?per_page=500")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(
            html.contains("Results per page is a whole number from 1 to 100."),
            "{path}"
        );
    }
    let (status, html) = page(&app, &client, "/admin/training?per_page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("href=\"/admin/training?per_page=2&#38;page=2\""),
        "{html}"
    );
    let (status, html) = page(&app, &client, "/admin/audit?page=x").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("The page is a whole number from 1 to 100000."));
}

// ---- Confirmation, names, words ------------------------------------------------------------

fn status_of_license(app: &TestApp, id: i64) -> String {
    with_conn(app, |conn| {
        licenses::table
            .find(id)
            .select(licenses::status)
            .first(conn)
            .unwrap()
    })
}

fn status_of_training(app: &TestApp, id: i64) -> String {
    with_conn(app, |conn| {
        training_records::table
            .find(id)
            .select(training_records::status)
            .first(conn)
            .unwrap()
    })
}

#[tokio::test]
async fn verify_reject_and_suspend_need_their_confirmation_box_and_change_nothing_without_it() {
    let app = spawn_app().await;
    let (admin_id, api_admin) = app.api_admin("admin@example.com").await;
    let t = pending(&app, admin_id, "t@x.com", "Tess Tan").await;
    let (lic, tr) = (
        license_of(&app, t.therapist_id),
        training_of(&app, t.therapist_id),
    );
    let admin = page_login(&app, "admin@example.com").await;

    // The queue offers the box, unticked, and two visibly different buttons.
    let (_, html) = page(&app, &admin, "/admin/licenses").await;
    assert!(html.contains(&format!(
        "id=\"confirm-verify-{lic}\" name=\"confirm\" value=\"yes\" required"
    )));
    assert!(!html.contains(&format!(
        "id=\"confirm-verify-{lic}\" name=\"confirm\" value=\"yes\" required checked"
    )));
    assert!(html.contains(&format!("class=\"primary\">Verify #{lic}</button>")));
    assert!(html.contains(&format!("class=\"danger\">Reject #{lic}</button>")));

    // Verify without the box: the queue again, 422, the message next to the box, still submitted.
    for (area, id, what) in [
        ("licenses", lic, "License"),
        ("training", tr, "Training record"),
    ] {
        let r = submit(
            &app,
            &admin,
            &format!("/admin/{area}"),
            &format!("/admin/{area}/{id}/verify"),
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{area}");
        let html = r.text().await.unwrap();
        let error_at = html
            .find(&format!("id=\"confirm-verify-{id}-error\""))
            .unwrap_or_else(|| panic!("{area}: {html}"));
        let box_at = html.find(&format!("id=\"confirm-verify-{id}\"")).unwrap();
        assert!(error_at < box_at, "the message is right above its box");
        assert!(html.contains(&format!(
            "aria-invalid=\"true\" aria-describedby=\"confirm-verify-{id}-error\""
        )));
        assert!(html.contains("Tick the box to confirm you checked"));
        assert!(html.contains(&format!("{what} #{id} was not verified")));
        assert!(
            html.contains(&format!("href=\"#confirm-verify-{id}\"")),
            "the summary links to the box"
        );
        assert_eq!(html.matches("<h1").count(), 1);
    }
    // An empty or blank confirmation is no confirmation.
    let r = submit(
        &app,
        &admin,
        "/admin/licenses",
        &format!("/admin/licenses/{lic}/verify"),
        &[("confirm", " ")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of_license(&app, lic), "submitted");
    assert_eq!(status_of_training(&app, tr), "submitted");
    // Nothing changes on GET: the decision URLs answer only POST.
    let r = admin
        .get(app.url(&format!("/admin/licenses/{lic}/verify?confirm=yes")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(status_of_license(&app, lic), "submitted");
    // Without the CSRF token even a confirmed form is refused.
    let r = admin
        .post(app.url(&format!("/admin/licenses/{lic}/verify")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(status_of_license(&app, lic), "submitted");

    // Reject with a reason but no box: both kept, the message next to the box.
    let r = submit(
        &app,
        &admin,
        "/admin/training",
        &format!("/admin/training/{tr}/reject"),
        &[("reason", "Blurry <scan> & cut off")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("id=\"confirm-reject-{tr}-error\"")));
    assert!(html.contains("Tick the box to confirm the rejection"));
    assert!(
        html.contains("Blurry &#60;scan&#62; &#38; cut off</textarea>"),
        "the reason is kept, escaped: {html}"
    );
    assert!(!html.contains(&format!("id=\"reason-{tr}-error\"")));
    assert_eq!(status_of_training(&app, tr), "submitted");
    // Neither reason nor box: both messages at once.
    let r = submit(
        &app,
        &admin,
        "/admin/training",
        &format!("/admin/training/{tr}/reject"),
        &[("reason", "")],
    )
    .await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("id=\"confirm-reject-{tr}-error\""))
            && html.contains(&format!("id=\"reason-{tr}-error\""))
    );
    // A reason with the box ticked but too long: the box stays ticked, the reason gets the message.
    let long = "x".repeat(501);
    let r = submit(
        &app,
        &admin,
        "/admin/training",
        &format!("/admin/training/{tr}/reject"),
        &[("reason", &long), ("confirm", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("id=\"reason-{tr}-error\"")));
    assert!(html.contains(&format!(
        "id=\"confirm-reject-{tr}\" name=\"confirm\" value=\"yes\" required checked"
    )));
    assert_eq!(status_of_training(&app, tr), "submitted");

    // Confirmed, each goes through.
    let r = submit(
        &app,
        &admin,
        "/admin/licenses",
        &format!("/admin/licenses/{lic}/verify"),
        &[("confirm", "yes")],
    )
    .await;
    assert!(follow(&app, &admin, r)
        .await
        .contains(&format!("License #{lic} verified")));
    let r = submit(
        &app,
        &admin,
        "/admin/training",
        &format!("/admin/training/{tr}/reject"),
        &[("reason", "Blurry scan"), ("confirm", "yes")],
    )
    .await;
    assert!(follow(&app, &admin, r)
        .await
        .contains(&format!("Training record #{tr} rejected")));
    assert_eq!(status_of_license(&app, lic), "verified");
    assert_eq!(status_of_training(&app, tr), "rejected");
    // The API keeps its contract: no confirmation step there.
    let t2 = pending(&app, admin_id, "t2@x.com", "Tom Two").await;
    let r = app
        .api_post(
            &format!(
                "/api/v1/admin/licenses/{}/verify",
                license_of(&app, t2.therapist_id)
            ),
            Some(&api_admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Suspend without the box: the page again with the message next to it, still active.
    let detail = format!("/admin/therapists/{}", t.therapist_id);
    let (_, html) = page(&app, &admin, &detail).await;
    assert!(html.contains("class=\"danger\">Suspend Tess Tan</button>"));
    let r = submit(
        &app,
        &admin,
        &detail,
        &format!("{detail}/suspend"),
        &[("reason", "Complaint")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"confirm-error\""), "{html}");
    assert!(html.contains("aria-describedby=\"confirm-error\""));
    assert!(html.contains(">Complaint</textarea>"), "the reason is kept");
    assert!(html.contains("href=\"#confirm\""));
    let d = body(
        app.api_get(
            &format!("/api/v1/admin/therapists/{}", t.therapist_id),
            Some(&api_admin),
        )
        .await,
    )
    .await;
    assert_eq!(d["suspended"], false);
    let r = submit(
        &app,
        &admin,
        &detail,
        &format!("{detail}/suspend"),
        &[("reason", "Complaint"), ("confirm", "yes")],
    )
    .await;
    let html = follow(&app, &admin, r).await;
    assert!(html.contains("Therapist suspended"));
    // Reinstating needs no box, and is the primary button.
    assert!(html.contains("class=\"primary\">Reinstate Tess Tan</button>"));
    let r = submit(
        &app,
        &admin,
        &detail,
        &format!("{detail}/reinstate"),
        &[("reason", "Resolved")],
    )
    .await;
    assert!(follow(&app, &admin, r)
        .await
        .contains("Therapist reinstated"));
}

#[tokio::test]
async fn histories_and_the_audit_log_name_the_admin_and_their_role() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = pending(&app, admin_id, "t@x.com", "Tess Tan").await;
    let lic = license_of(&app, t.therapist_id);
    let r = app
        .api_post(
            &format!("/api/v1/admin/licenses/{lic}/reject"),
            Some(&admin),
            json!({"reason": "Number <b>not</b> found"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let expires = (Utc::now().date_naive() + Duration::days(300)).to_string();
    let r = app
        .api_post(
            "/api/v1/me/license",
            Some(&t.token),
            json!({"jurisdiction": "MA", "number": "LMT-2", "issuing_body": "MA Board of Massage", "expires_on": expires}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for action in ["suspend", "reinstate"] {
        let r = app
            .api_post(
                &format!("/api/v1/admin/therapists/{}/{action}", t.therapist_id),
                Some(&admin),
                json!({"reason": "Checked"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    // The API: who decided, by id and by name.
    let q = body(app.api_get("/api/v1/admin/licenses", Some(&admin)).await).await;
    let h = &q["results"][0]["history"][0];
    assert_eq!(h["decided_by"], admin_id);
    assert_eq!(h["decided_by_name"], "Admin Person (admin)");
    let log = body(
        app.api_get("/api/v1/admin/audit?action=license.reject", Some(&admin))
            .await,
    )
    .await;
    let row = &log["results"][0];
    assert_eq!(row["actor_email"], "admin@example.com");
    assert_eq!(row["actor_name"], "Admin Person");
    assert_eq!(row["actor_role"], "admin");
    assert_eq!(row["action"], "license.reject");
    assert_eq!(row["action_label"], "License rejected");
    assert_eq!(row["object_type_label"], "License");

    // The pages: names and roles, never "user #".
    let browser = page_login(&app, "admin@example.com").await;
    let (_, html) = page(&app, &browser, "/admin/licenses").await;
    assert!(html.contains("by Admin Person (admin)"), "{html}");
    assert!(
        html.contains("Number &#60;b&#62;not&#60;/b&#62; found") && !html.contains("<b>not</b>"),
        "the reason is escaped"
    );
    let (_, html) = page(
        &app,
        &browser,
        &format!("/admin/therapists/{}", t.therapist_id),
    )
    .await;
    assert!(
        html.contains(
            "therapist suspended: Checked <span class=\"meta\">(by Admin Person (admin))</span>"
        ),
        "{html}"
    );
    assert!(!html.contains("user #"));
    let (_, html) = page(&app, &browser, "/admin/audit").await;
    assert!(html.contains("Admin Person (admin)"));
    assert!(
        html.contains("Tess Tan (therapist)"),
        "the therapist's own rows"
    );
    assert!(html.contains("License rejected") && html.contains("Therapist suspended"));
    assert!(!html.contains("user #"));
}

#[tokio::test]
async fn the_audit_filters_take_labels_as_well_as_internal_names() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let t = pending(&app, admin_id, "t@x.com", "Tess Tan").await;
    let (lic, tr) = (
        license_of(&app, t.therapist_id),
        training_of(&app, t.therapist_id),
    );
    for path in [
        format!("/api/v1/admin/licenses/{lic}/verify"),
        format!("/api/v1/admin/training/{tr}/verify"),
    ] {
        let r = app.api_post(&path, Some(&admin), json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let get = |q: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let r = app
                .api_get(&format!("/api/v1/admin/audit{q}"), Some(&admin))
                .await;
            (r.status(), body(r).await)
        }
    };
    let actions = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, by_name) = get("?object_type=training_record").await;
    assert_eq!(status, StatusCode::OK);
    let (_, by_label) = get("?object_type=Training%20record").await;
    let (_, by_lower) = get("?object_type=training%20RECORD").await;
    assert_eq!(
        actions(&by_name),
        ["training_record.verify", "training.submit"]
    );
    assert_eq!(actions(&by_label), actions(&by_name));
    assert_eq!(actions(&by_lower), actions(&by_name));
    let (_, verified) = get("?action=License%20verified").await;
    assert_eq!(actions(&verified), ["license.verify"]);
    let (_, all_training) = get("?action=Training%20records%3A%20every%20action").await;
    assert_eq!(
        actions(&all_training),
        ["training_record.verify", "training.submit"]
    );
    let (_, prefix) = get("?action=license.").await;
    assert_eq!(actions(&prefix), ["license.verify", "license.submit"]);
    let (status, bad) = get("?object_type=Licence%20card").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad["error"]["fields"]["object_type"].is_string(), "{bad}");

    // The page offers the labels in lists, keeps the choice, and shows the labels.
    app.login_page("admin@example.com", PASSWORD).await;
    let html = app.get_html("/admin/audit").await;
    assert!(html.contains("<select id=\"object_type\" name=\"object_type\""));
    assert!(html.contains("<option value=\"training_record\">Training record</option>"));
    assert!(html.contains("<option value=\"license.verify\">License verified</option>"));
    let html = app
        .get_html("/admin/audit?object_type=Training+record")
        .await;
    assert!(
        html.contains("<option value=\"training_record\" selected>Training record</option>"),
        "{html}"
    );
    assert!(html.contains("2 entries"));
    assert!(html.contains(&format!("Training record #{tr}")));
    assert!(html.contains("Training record verified"));
    let html = app
        .get_html("/admin/audit?action=training_record.verify")
        .await;
    assert!(html.contains(
        "<option value=\"training_record.verify\" selected>Training record verified</option>"
    ));
    assert!(html.contains("1 entry"));
    // A prefix typed into the address is kept as an option of its own.
    let html = app.get_html("/admin/audit?action=train").await;
    assert!(html.contains("<option value=\"train\" selected>Other: train</option>"));
    let r = app.get("/admin/audit?object_type=Licence+card").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"object_type-error\""));
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"object_type-error\""));
    assert!(html.contains("Choose a kind of record from the list"));
}

#[tokio::test]
async fn license_cards_link_to_the_boards_public_lookup_where_the_state_has_one() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let ma = pending(&app, admin_id, "ma@x.com", "Mae Mass").await;
    let co = pending(&app, admin_id, "co@x.com", "Cole Colo").await;
    let expires = (Utc::now().date_naive() + Duration::days(300)).to_string();
    let r = app
        .api_post(
            "/api/v1/me/license",
            Some(&co.token),
            json!({"jurisdiction": "co", "number": "MT.0012345", "issuing_body": "Colorado Office of Massage Therapy Licensure", "expires_on": expires}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let co_lic = body(r).await["id"].as_i64().unwrap();
    let ma_lic = license_of(&app, ma.therapist_id);

    let q = body(
        app.api_get("/api/v1/admin/licenses?per_page=100", Some(&admin))
            .await,
    )
    .await;
    let item = |id: i64| {
        q["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert!(item(co_lic)["lookup_url"]
        .as_str()
        .unwrap()
        .starts_with("https://apps.colorado.gov/"));
    assert!(item(co_lic)["lookup_board"]
        .as_str()
        .unwrap()
        .contains("Colorado"));
    assert!(
        item(ma_lic)["lookup_url"].is_null(),
        "MA is not in the table"
    );

    app.login_page("admin@example.com", PASSWORD).await;
    let html = app.get_html("/admin/licenses").await;
    // A card up to its forms.
    let card = |id: i64| {
        let rest = &html[html.find(&format!("id=\"license-{id}\"")).unwrap()..];
        rest[..rest.find("class=\"decide\"").unwrap()].to_string()
    };
    let co_card = card(co_lic);
    assert!(co_card.contains("Cole Colo") && co_card.contains("MT.0012345"));
    assert!(co_card.contains(
        "href=\"https://apps.colorado.gov/dora/licensing/Lookup/LicenseLookup.aspx\" target=\"_blank\" rel=\"noopener noreferrer\""
    ));
    let ma_card = card(ma_lic);
    assert!(!ma_card.contains("target=\"_blank\""));
    assert!(ma_card.contains("No public lookup on file for MA"));
    assert!(ma_card.contains("MA Board of Massage"));
}
