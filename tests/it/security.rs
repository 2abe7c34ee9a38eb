//! Security by default: CSRF, rate limits, headers, body limits, roles, other people's objects.

use bodywork::domain::appointment::AppointmentStatus;
use bodywork::models::appointment::NewAppointment;
use bodywork::models::now;
use bodywork::models::service::NewService;
use bodywork::models::therapist::Therapist;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{csrf_from, new_client, spawn_app, spawn_app_with, with_conn, PASSWORD};

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let app = spawn_app().await;
    app.api_register("ana@example.com", "Ana", "client").await;
    app.get("/login").await; // receives the CSRF cookie

    let missing = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "ana@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "ana@example.com"),
            ("password", PASSWORD),
            ("csrf_token", "forged-token-forged-token-forged-token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("This form has expired"));

    // Logged in, the token is the session's: an anonymous token does not do.
    let ok = app.login_page("ana@example.com", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let logout = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", "forged-token-forged-token-forged-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    assert!(
        app.get_html("/").await.contains("nav-user"),
        "still logged in"
    );
}

#[tokio::test]
async fn repeated_bad_logins_of_one_account_get_429_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 3;
        s.login_per_ip_per_minute = 1000;
    })
    .await;
    app.api_register("ana@example.com", "Ana", "client").await;
    let bad = json!({"email": "ana@example.com", "password": "not the password"});
    for _ in 0..3 {
        let r = app.api_post("/api/v1/auth/login", None, bad.clone()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Paused now, even with the right password, and the answer says for how long.
    let r = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ana@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry > 0 && retry <= app.settings.login_lock.as_secs() + 1,
        "{retry}"
    );
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "too_many_requests");

    // The page login says the same.
    let page = app.login_page("ana@example.com", PASSWORD).await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(page.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn an_account_pause_is_short_and_ends_by_itself() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 2;
        s.login_lock = std::time::Duration::from_secs(1);
    })
    .await;
    app.api_register("ana@example.com", "Ana", "client").await;
    let bad = json!({"email": "ana@example.com", "password": "not the password"});
    for _ in 0..2 {
        app.api_post("/api/v1/auth/login", None, bad.clone()).await;
    }
    let good = json!({"email": "ana@example.com", "password": PASSWORD});
    let r = app.api_post("/api/v1/auth/login", None, good.clone()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = app.api_post("/api/v1/auth/login", None, good).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn too_many_logins_from_one_address_get_429() {
    let app = spawn_app_with(|s| s.login_per_ip_per_minute = 3).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = app
            .api_post(
                "/api/v1/auth/login",
                None,
                json!({"email": format!("user{i}@example.com"), "password": "whatever-it-is"}),
            )
            .await;
        statuses.push(r.status());
    }
    assert_eq!(&statuses[..3], &[StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
}

/// Logins with `X-Forwarded-For: <forwarded>` from this test (the peer is 127.0.0.1).
async fn login_statuses(app: &crate::builders::TestApp, forwarded: &[&str]) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for (i, xff) in forwarded.iter().enumerate() {
        let r = new_client()
            .post(app.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", *xff)
            .json(&json!({"email": format!("user{i}@example.com"), "password": "whatever-it-is"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    statuses
}

#[tokio::test]
async fn a_forged_forwarded_address_does_not_escape_the_per_address_login_limit() {
    // Behind a trusted proxy (the test's own loopback address), the client is the right-most
    // address the proxy appended: changing the left-most entry, which the client writes, is
    // still the same client.
    let app = spawn_app_with(|s| {
        s.login_per_ip_per_minute = 3;
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let forged: Vec<String> = (0..5)
        .map(|i| format!("10.9.8.{i}, 198.51.100.7"))
        .collect();
    let forged: Vec<&str> = forged.iter().map(String::as_str).collect();
    let statuses = login_statuses(&app, &forged).await;
    assert_eq!(&statuses[..3], &[StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy has its own count.
    assert_eq!(
        login_statuses(&app, &["198.51.100.8"]).await,
        [StatusCode::UNAUTHORIZED]
    );
    // IPv6 clients are counted by their /64: other low bits are the same client.
    let v6: Vec<String> = (1..=4).map(|i| format!("2001:db8:1:2::{i}")).collect();
    let v6: Vec<&str> = v6.iter().map(String::as_str).collect();
    assert_eq!(
        login_statuses(&app, &v6).await[3],
        StatusCode::TOO_MANY_REQUESTS
    );

    // Without trusted proxies the header is not read at all: every request is the peer's.
    let direct = spawn_app_with(|s| s.login_per_ip_per_minute = 3).await;
    let other: Vec<String> = (0..4).map(|i| format!("203.0.113.{i}")).collect();
    let other: Vec<&str> = other.iter().map(String::as_str).collect();
    assert_eq!(
        login_statuses(&direct, &other).await[3],
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_calendar_feed_url_comes_from_the_sites_address_not_the_request_headers() {
    // The site's address is its default here (http:// and the listen address).
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = crate::builders::open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let r = new_client()
        .post(app.url("/api/v1/me/calendar-feed"))
        .bearer_auth(&m.token)
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "http")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = r.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with(&app.url("/calendar/")), "{url}");
    assert!(!url.contains("evil"), "{url}");
}

#[tokio::test]
async fn too_many_registrations_from_one_address_get_429_on_the_api_and_the_page() {
    let app = spawn_app_with(|s| s.register_per_ip_per_hour = 2).await;
    for i in 0..2 {
        let r = app
            .api_post(
                "/api/v1/auth/register",
                None,
                json!({"email": format!("r{i}@example.com"), "password": PASSWORD, "name": "R", "role": "client"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = app
        .api_post(
            "/api/v1/auth/register",
            None,
            json!({"email": "r2@example.com", "password": PASSWORD, "name": "R", "role": "client"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 60, "{wait}");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "too_many_requests"
    );
    // The page counts the same way, and says so.
    let r = app.register_page("r3@example.com", "R", "client").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let count: i64 = with_conn(&app, |conn| {
        use bodywork::db::schema::users;
        use diesel::prelude::*;
        users::table.count().get_result(conn).unwrap()
    });
    assert_eq!(count, 2, "nobody else was registered");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/login",
        "/no-such-page",
        "/api/v1/me",
        "/healthz",
        "/api/openapi.json",
    ] {
        let r = app.get(path).await;
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("CSP on {path}"));
        let csp = csp.to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
}

#[tokio::test]
async fn session_cookies_are_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let r = app.register_page("ana@example.com", "Ana", "client").await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("bw_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");

    // Listening on loopback (as tests do), cookies are plain and no HSTS is sent.
    assert!(app
        .get("/login")
        .await
        .headers()
        .get("strict-transport-security")
        .is_none());

    // Secure (the default off loopback): `__Host-` names, `Secure`, `Path=/`, no Domain, HSTS.
    let secure = spawn_app_with(|s| s.secure_cookies = Some(true)).await;
    let r = secure.get("/login").await;
    assert_eq!(
        r.headers()["strict-transport-security"].to_str().unwrap(),
        "max-age=31536000"
    );
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-bw_csrf="))
        .expect("the CSRF cookie under its __Host- name")
        .to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");
    // The server reads its cookies by those names: a form with the cookie sent back works.
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-bw_csrf=")
        .to_string();
    let html = r.text().await.unwrap();
    let r = new_client()
        .post(secure.url("/login"))
        .header("Cookie", format!("__Host-bw_csrf={token}"))
        .form(&[
            ("email", "nobody@example.com"),
            ("password", "whatever-it-is"),
            ("csrf_token", csrf_from(&html).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "CSRF passed, the login was checked"
    );
    // The plain name is not read by a secure server.
    let r = new_client()
        .post(secure.url("/login"))
        .header("Cookie", format!("bw_csrf={token}"))
        .form(&[
            ("email", "nobody@example.com"),
            ("password", "whatever-it-is"),
            ("csrf_token", csrf_from(&html).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn logging_out_clears_the_self_check_answers_and_the_suits_me_search_is_never_stored() {
    let app = spawn_app().await;
    app.register_page("ana@example.com", "Ana", "client").await;
    // The self-check keeps its answers in a cookie for the "suits me" filter.
    let mut fields: Vec<(String, String)> = crate::builders::answers(&[])
        .into_iter()
        .map(|(k, v)| (format!("q_{k}"), if v { "yes" } else { "no" }.to_string()))
        .collect();
    fields.push(("technique".into(), "swedish".into()));
    fields.push(("applies".into(), "none".into()));
    fields.push(("remember".into(), "yes".into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let r = app.post_form("/screening", "/screening", &borrowed).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get("/therapists?suits=mine").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"].to_str().unwrap(), "no-store");
    assert!(r.headers()["vary"].to_str().unwrap().contains("Cookie"));
    // Logging out removes the answers cookie.
    let html = app.get_html("/").await;
    let r = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf_from(&html).as_str())])
        .send()
        .await
        .unwrap();
    let removed = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("bw_answers=;") && v.contains("Max-Age=0"));
    assert!(removed, "{:?}", r.headers().get_all("set-cookie"));
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = spawn_app_with(|s| s.max_body_bytes = 4096).await;
    let big = "x".repeat(10_000);
    let r = app
        .api_post(
            "/api/v1/auth/register",
            None,
            json!({"email": "a@example.com", "password": big, "name": "A", "role": "client"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "payload_too_large");

    let csrf = csrf_from(&app.get_html("/register").await);
    let r = app
        .client
        .post(app.url("/register"))
        .form(&[("csrf_token", csrf.as_str()), ("name", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_code_not_a_500() {
    let app = spawn_app().await;
    let r = new_client()
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "bad_request");
}

#[tokio::test]
async fn roles_guard_the_therapist_and_admin_areas() {
    let app = spawn_app().await;
    let (_, client) = app.api_user("client@example.com", "client").await;
    let (_, therapist) = app.api_user("therapist@example.com", "therapist").await;
    let (_, admin) = app.api_admin("admin@example.com").await;

    let therapist_only = "/api/v1/me/booking-policy";
    let admin_only = "/api/v1/admin/licenses";
    assert_eq!(
        app.api_get(therapist_only, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.api_get(therapist_only, Some(&client)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.api_get(therapist_only, Some(&admin)).await.status(),
        StatusCode::FORBIDDEN
    );
    let policy: Value = app
        .api_get(therapist_only, Some(&therapist))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(policy["max_advance_days"], 60);
    assert_eq!(policy["auto_confirm"], false);

    assert_eq!(
        app.api_get(admin_only, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.api_get(admin_only, Some(&client)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.api_get(admin_only, Some(&therapist)).await.status(),
        StatusCode::FORBIDDEN
    );
    let queue: Value = app
        .api_get(admin_only, Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["total"], 0);

    // Pages: anonymous visitors are sent to log in, other roles are refused.
    let anon = app.get("/therapist").await;
    assert_eq!(anon.status(), StatusCode::SEE_OTHER);
    assert_eq!(anon.headers()["location"], "/login?next=%2Ftherapist");
    app.register_page("c2@example.com", "Client Two", "client")
        .await;
    assert_eq!(app.get("/therapist").await.status(), StatusCode::FORBIDDEN);
    let admin_page = app.get("/admin").await;
    assert_eq!(admin_page.status(), StatusCode::FORBIDDEN);
    assert!(
        admin_page.text().await.unwrap().contains("Client Two"),
        "error page in the layout"
    );
}

#[tokio::test]
async fn another_users_appointment_is_404_not_their_data() {
    let app = spawn_app().await;
    let (owner_id, owner) = app.api_user("owner@example.com", "client").await;
    let (_, stranger) = app.api_user("stranger@example.com", "client").await;
    let (therapist_user, therapist) = app.api_user("therapist@example.com", "therapist").await;
    let (_, other_therapist) = app.api_user("other@example.com", "therapist").await;
    let id = with_conn(&app, |conn| {
        let t = Therapist::find_by_user(conn, therapist_user)
            .unwrap()
            .unwrap();
        let service_id = NewService {
            therapist_id: t.id,
            technique_slug: "swedish",
            duration_min: 60,
            price_cents: 9000,
            created_at: now(),
        }
        .insert(conn)
        .unwrap();
        let start = now() + Duration::days(3);
        NewAppointment {
            therapist_id: t.id,
            client_id: owner_id,
            service_id,
            starts_at: start,
            ends_at: start + Duration::minutes(60),
            blocked_until: start + Duration::minutes(75),
            status: AppointmentStatus::Requested,
            screening_version: 1,
            screening_answers: String::new(),
            screening_outcome: "ok".into(),
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
    });
    let path = format!("/api/v1/appointments/{id}");
    assert_eq!(
        app.api_get(&path, Some(&owner)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.api_get(&path, Some(&therapist)).await.status(),
        StatusCode::OK
    );
    for outsider in [&stranger, &other_therapist] {
        let r = app.api_get(&path, Some(outsider)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], "not_found");
    }
    let unknown = app
        .api_get("/api/v1/appointments/999999", Some(&owner))
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let garbage = app.api_get("/api/v1/appointments/abc", Some(&owner)).await;
    assert_eq!(garbage.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_and_openapi_answer() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
    let spec: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/resend-verification",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/auth/accept-invite",
        "/api/v1/me/password",
        "/api/v1/me/email",
        "/api/v1/me/export",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} documented");
    }
    assert!(
        spec["paths"]["/api/v1/me"]["delete"].is_object(),
        "DELETE /api/v1/me documented"
    );
}

#[tokio::test]
async fn unknown_pages_get_a_404_page_in_the_layout() {
    let app = spawn_app().await;
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = r.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains("<nav"), "in the layout");
    let api = app.get("/api/v1/nothing-here").await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let err: Value = api.json().await.unwrap();
    assert_eq!(err["error"]["code"], "not_found");
}

/// `serve --demo` adds an admin whose password is published: on a database that already has an
/// account it refuses, says why, exits non-zero and adds nobody.
#[tokio::test]
async fn serve_demo_refuses_a_database_that_already_has_accounts() {
    let app = crate::builders::spawn_app().await;
    app.api_register_verified("someone@example.com", "Some One", "client")
        .await;
    let url = match &app.db_url {
        bodywork::db::DatabaseUrl::Sqlite(p) => format!("sqlite://{p}"),
        bodywork::db::DatabaseUrl::Postgres(u) => u.clone(),
    };
    let keys = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_bodywork"))
            .args(["serve", "--demo", "--addr", "127.0.0.1:0"])
            .env("DATABASE_URL", url)
            .env("BODYWORK_ANSWERS_KEY_FILE", keys.path().join("k"))
            .env("BODYWORK_MAIL_DIR", keys.path().join("mail"))
            .env("BODYWORK_MAIL_WORKER", "false")
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("serve --demo ends by itself on a database with accounts")
    .expect("bodywork binary runs");
    assert!(!out.status.success(), "exit status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fills an empty database only") && stderr.contains("1 account"),
        "{stderr}"
    );
    let admins: i64 = with_conn(&app, |conn| {
        use bodywork::db::schema::users;
        use diesel::prelude::*;
        users::table
            .filter(users::email.eq("admin@demo.bodywork.test"))
            .count()
            .get_result(conn)
            .unwrap()
    });
    assert_eq!(admins, 0, "no demo admin was added");

    // The same rule for the library call the demo uses: a second fill is refused.
    let fresh = crate::builders::spawn_app().await;
    let cipher = bodywork::services::crypto::AnswerCipher::from_settings(&fresh.settings).unwrap();
    let mail = fresh.mail_ctx();
    with_conn(&fresh, |conn| {
        bodywork::demo::fill(conn, &mail, &cipher).expect("an empty database is filled");
        let again = bodywork::demo::fill(conn, &mail, &cipher)
            .err()
            .expect("refused");
        assert_eq!(again.code(), "database_not_empty");
    });
}

/// A cancel reason may hold health details: its client and therapist read it, an admin only
/// learns that there is one (API and audit log).
#[tokio::test]
async fn a_cancel_reason_is_read_by_the_two_parties_and_an_admin_sees_only_that_there_is_one() {
    let s = crate::builders::scene().await;
    let (app, m) = (&s.app, &s.m);
    let (_, client) = app.api_user("c@example.com", "client").await;
    let start = crate::builders::slots(
        app,
        m,
        crate::builders::some_day(),
        crate::builders::some_day(),
    )
    .await[0]
        .clone();
    let r = crate::builders::book(app, &client, m, &start, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let reason = "My migraines are back";
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{id}/cancel"),
            Some(&client),
            json!({ "reason": reason }),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let path = format!("/api/v1/appointments/{id}");
    for (who, token) in [("client", client.as_str()), ("therapist", m.token.as_str())] {
        let v: Value = app.api_get(&path, Some(token)).await.json().await.unwrap();
        assert_eq!(v["cancel_reason"], reason, "{who}");
        assert_eq!(v["cancel_reason_given"], true, "{who}");
    }
    let v: Value = app
        .api_get(&path, Some(&s.admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(v["cancel_reason"].is_null(), "{v}");
    assert_eq!(v["cancel_reason_given"], true);
    assert_eq!(v["cancel_kind"], "withdrawn");
    let audit = app
        .api_get("/api/v1/admin/audit?per_page=100", Some(&s.admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("reason given") && !audit.contains("migraine"),
        "{audit}"
    );
}

/// Upcoming bookings were screened for their service's technique: it cannot change under them
/// (retire the service and add another); price and length still can.
#[tokio::test]
async fn a_services_technique_cannot_change_while_it_has_upcoming_bookings() {
    let s = crate::builders::scene().await;
    let (app, m) = (&s.app, &s.m);
    let (_, client) = app.api_user("c@example.com", "client").await;
    let start = crate::builders::slots(
        app,
        m,
        crate::builders::some_day(),
        crate::builders::some_day(),
    )
    .await[0]
        .clone();
    let r = crate::builders::book(app, &client, m, &start, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let path = format!("/api/v1/me/services/{}", m.service_id);
    let r = app
        .api_put(
            &path,
            &m.token,
            json!({"technique": "deep-tissue", "duration_min": 60, "price_cents": 9000}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "service_in_use");
    assert!(e["error"]["fields"]["technique"].is_string());
    let r = app
        .api_put(
            &path,
            &m.token,
            json!({"technique": "swedish", "duration_min": 60, "price_cents": 9900}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

/// A few scripted accounts must not hold every free slot: a client holds at most
/// `max_active_bookings` upcoming bookings (422 `too_many_bookings`) and books at most
/// `bookings_per_client_per_hour` times an hour (429 with `Retry-After`).
#[tokio::test]
async fn a_client_holds_a_limited_number_of_upcoming_bookings_and_books_at_a_limited_rate() {
    let app = spawn_app_with(|s| {
        s.max_active_bookings = 2;
        s.bookings_per_client_per_hour = 4;
    })
    .await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = crate::builders::open_therapist(&app, admin_id, "t@example.com", &["swedish"]).await;
    let (_, client) = app.api_user("c@example.com", "client").await;
    let day = crate::builders::some_day();
    let times = crate::builders::slots(&app, &m, day, day + chrono::Duration::days(2)).await;
    // Starts two hours apart, so none overlaps another.
    let mut starts: Vec<String> = Vec::new();
    for t in &times {
        let at = chrono::DateTime::parse_from_rfc3339(t).unwrap();
        if starts.last().is_none_or(|l| {
            at - chrono::DateTime::parse_from_rfc3339(l).unwrap() >= chrono::Duration::hours(2)
        }) {
            starts.push(t.clone());
        }
    }
    let book = |start: String| {
        let (app, client, m) = (&app, client.clone(), &m);
        async move { crate::builders::book(app, &client, m, &start, &[], false).await }
    };
    assert_eq!(book(starts[0].clone()).await.status(), StatusCode::CREATED);
    let second = book(starts[1].clone()).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let second = second.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = book(starts[2].clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "too_many_bookings");
    assert!(e["error"]["message"].as_str().unwrap().contains("(2)"));
    // Withdrawing one frees room for another.
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{second}/cancel"),
            Some(&client),
            json!({"reason": ""}),
        )
        .await;
    assert!(r.status().is_success());
    assert_eq!(book(starts[2].clone()).await.status(), StatusCode::CREATED);
    // The fifth attempt within the hour is refused before anything is checked.
    let r = book(starts[3].clone()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}

/// The audit rows of one action, as (object id, summary).
fn audited(app: &crate::builders::TestApp, action: &str) -> Vec<(Option<i64>, String)> {
    use bodywork::db::schema::audit_log;
    use diesel::prelude::*;
    let action = action.to_string();
    with_conn(app, move |conn| {
        audit_log::table
            .filter(audit_log::action.eq(action))
            .order(audit_log::id)
            .select((audit_log::object_id, audit_log::summary))
            .load(conn)
            .unwrap()
    })
}

#[tokio::test]
async fn failed_logins_and_the_lockout_are_audited_without_what_was_typed() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 2;
        s.login_per_ip_per_minute = 1000;
    })
    .await;
    let ana = app.api_register("ana@example.com", "Ana", "client").await;
    let ana_id = ana["user"]["id"].as_i64().unwrap();
    let typed = "correct-horse-typo-4411";
    for _ in 0..2 {
        let bad = json!({"email": "ana@example.com", "password": typed});
        app.api_post("/api/v1/auth/login", None, bad).await;
    }
    let stranger = json!({"email": "nobody-here@example.com", "password": typed});
    app.api_post("/api/v1/auth/login", None, stranger).await;

    let failed = audited(&app, "account.login_failed");
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert_eq!(failed[0].0, Some(ana_id));
    assert_eq!(failed[2].0, None, "no account has that address");
    let locked = audited(&app, "account.locked");
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert_eq!(locked[0].0, Some(ana_id));
    for (_, summary) in failed.iter().chain(&locked) {
        assert!(!summary.contains(typed), "{summary}");
        assert!(!summary.contains("nobody-here"), "{summary}");
    }
}

#[tokio::test]
async fn a_non_admin_refused_an_admin_route_is_audited_on_the_page_and_the_api() {
    let app = spawn_app().await;
    let (client_id, token) = app.api_user("ana@example.com", "client").await;
    let r = app.api_get("/api/v1/admin/audit", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = crate::builders::page_login(&app, "ana@example.com").await;
    let r = page.get(app.url("/admin/therapists")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // An anonymous visitor is asked to log in: that is not a refusal of someone known.
    let r = new_client()
        .get(app.url("/api/v1/admin/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let refused = audited(&app, "access.refused");
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|(id, _)| *id == Some(client_id)));
    assert!(
        refused[0].1.contains("GET /api/v1/admin/audit"),
        "{}",
        refused[0].1
    );
    assert!(
        refused[1].1.contains("GET /admin/therapists"),
        "{}",
        refused[1].1
    );
}
