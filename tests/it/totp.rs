//! Two-factor sign-in (TOTP, issue 17 gap 6): enrolment through the API, logins that need the
//! code, wrong codes counted and audited like wrong passwords (never with the code), a time
//! step used once, recovery codes used once, admins kept to enrolment until they have it,
//! turning it off, the secret sealed at rest and covered by `rekey`; the page login's second
//! step.

use bodywork::db::schema::audit_log;
use bodywork::models::user::User;
use bodywork::services::accounts::{self, RegisterInput};
use bodywork::services::crypto::AnswerCipher;
use bodywork::services::rekey::{pending, rekey_batch};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    cipher_of, code_for_step, csrf_from, database_text, fresh_totp_code, new_client, spawn_app,
    spawn_app_with, step_now, totp_secret, with_conn, TestApp, PASSWORD,
};

async fn code_of(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

async fn login(app: &TestApp, email: &str, totp: Option<&str>) -> reqwest::Response {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    app.api_post("/api/v1/auth/login", None, body).await
}

/// A code of `email`'s secret for a step the account has used already (or, before any, a
/// wrong one is made by changing a digit).
fn wrong_code(app: &TestApp, email: &str) -> String {
    let (secret, _) = totp_secret(app, email).unwrap();
    let right = code_for_step(&secret, step_now());
    let first = (right.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &right[1..])
}

/// A therapist with two-factor sign-in on: (token, recovery codes).
async fn enrolled_therapist(app: &TestApp, email: &str) -> (String, Vec<String>) {
    let (_, token) = app.api_user(email, "therapist").await;
    let codes = app.enrol_totp(email, &token).await;
    (token, codes)
}

#[tokio::test]
async fn enrolment_through_the_api_then_every_login_needs_a_fresh_code() {
    let app = spawn_app().await;
    let email = "t@example.com";
    let (_, token) = app.api_user(email, "therapist").await;

    let r = app.api_get("/api/v1/me/totp", Some(&token)).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["enabled"], false);

    let r = app
        .api_post("/api/v1/me/totp", Some(&token), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let e: Value = r.json().await.unwrap();
    let secret = e["secret"].as_str().unwrap().to_string();
    let uri = e["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Bodywork:t%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=Bodywork"), "{uri}");
    assert_eq!(
        bodywork::domain::totp::secret_from_base32(&secret).unwrap(),
        totp_secret(&app, email).unwrap().0,
        "the secret shown is the one stored"
    );

    // Pending: logins do not ask for a code yet; a wrong confirmation is 422 on `code`.
    assert_eq!(login(&app, email, None).await.status(), StatusCode::OK);
    let bad = wrong_code(&app, email);
    let r = app
        .api_post(
            "/api/v1/me/totp/confirm",
            Some(&token),
            json!({"code": bad}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_totp");
    assert!(body["error"]["fields"]["code"].is_string());

    let code = fresh_totp_code(&app, email).await;
    let r = app
        .api_post(
            "/api/v1/me/totp/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::BTreeSet<_> = codes.iter().filter_map(|c| c.as_str()).collect();
    assert_eq!(distinct.len(), 10);

    // The token that enrolled keeps working, and says so.
    let me: Value = app
        .api_get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["totp_enabled"], true);
    // Enrolling again needs turning it off first.
    let r = app
        .api_post("/api/v1/me/totp", Some(&token), json!({}))
        .await;
    assert_eq!(
        code_of(r).await,
        (StatusCode::CONFLICT, "totp_already_enabled".into())
    );

    // The password alone is not enough now.
    assert_eq!(
        code_of(login(&app, email, None).await).await,
        (StatusCode::UNAUTHORIZED, "totp_required".into())
    );
    let code = fresh_totp_code(&app, email).await;
    let r = login(&app, email, Some(&code)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let new_token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.api_get("/api/v1/me", Some(&new_token)).await.status(),
        StatusCode::OK
    );
    // The same code (its time step used) is refused like a wrong one.
    assert_eq!(
        code_of(login(&app, email, Some(&code)).await).await,
        (StatusCode::UNAUTHORIZED, "invalid_totp".into())
    );
}

#[tokio::test]
async fn wrong_codes_count_towards_the_lock_and_are_audited_without_the_code() {
    let app = spawn_app_with(|s| s.login_max_failures = 3).await;
    let email = "t@example.com";
    enrolled_therapist(&app, email).await;
    let bad = wrong_code(&app, email);
    for _ in 0..3 {
        assert_eq!(
            code_of(login(&app, email, Some(&bad)).await).await,
            (StatusCode::UNAUTHORIZED, "invalid_totp".into())
        );
    }
    // Locked: even the right code waits (and is not used up).
    let right = fresh_totp_code(&app, email).await;
    let r = login(&app, email, Some(&right)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));

    let rows: Vec<(String, String)> = with_conn(&app, |conn| {
        audit_log::table
            .order(audit_log::id)
            .select((audit_log::action, audit_log::summary))
            .load(conn)
            .unwrap()
    });
    let failed = rows
        .iter()
        .filter(|(a, _)| a == "account.totp_failed")
        .count();
    assert_eq!(failed, 3, "{rows:?}");
    assert!(rows.iter().any(|(a, _)| a == "account.locked"), "{rows:?}");
    for (_, summary) in &rows {
        assert!(
            !summary.contains(&bad) && !summary.contains(&right),
            "{summary}"
        );
    }
    assert!(
        !database_text(&app).contains(&bad),
        "the wrong code is stored nowhere"
    );
}

#[tokio::test]
async fn a_recovery_code_logs_in_once() {
    let app = spawn_app().await;
    let email = "t@example.com";
    let (_, codes) = enrolled_therapist(&app, email).await;
    // Any case, with or without dashes.
    let typed = codes[3].to_lowercase().replace('-', " ");
    assert_eq!(
        login(&app, email, Some(&typed)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        code_of(login(&app, email, Some(&codes[3])).await).await,
        (StatusCode::UNAUTHORIZED, "invalid_totp".into())
    );
    assert_eq!(
        login(&app, email, Some(&codes[4])).await.status(),
        StatusCode::OK
    );
    let token = app.api_login(email).await;
    let status: Value = app
        .api_get("/api/v1/me/totp", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["recovery_codes_left"], 8);
    // Only hashes are stored.
    let text = database_text(&app);
    for c in &codes {
        assert!(!text.contains(c.as_str()) && !text.contains(&c.replace('-', "")));
    }
}

#[tokio::test]
async fn an_admin_without_a_second_factor_reaches_only_me_enrolment_and_logout() {
    let app = spawn_app().await;
    let email = "new-admin@example.com";
    with_conn(&app, |conn| {
        accounts::create_admin(
            conn,
            &RegisterInput {
                email: email.into(),
                password: PASSWORD.into(),
                name: "New Admin".into(),
                role: "admin".into(),
            },
            None,
        )
        .unwrap()
    });
    let token = app.api_login(email).await;
    for path in [
        "/api/v1/admin/licenses",
        "/api/v1/admin/audit",
        "/api/v1/me/notifications",
        "/api/v1/me/export",
    ] {
        assert_eq!(
            code_of(app.api_get(path, Some(&token)).await).await,
            (StatusCode::FORBIDDEN, "totp_enrolment_required".into()),
            "{path}"
        );
    }
    let me = app.api_get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["totp_enabled"], false);

    // The pages lead to enrolment, from the login and from every admin page.
    let c = new_client();
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
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &csrf_from(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/account/two-factor");
    for path in ["/admin", "/admin/audit", "/account"] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()["location"], "/account/two-factor", "{path}");
    }
    let page = c
        .get(app.url("/account/two-factor"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"enrolment-required\""),
        "{page}"
    );

    // Enrolled (with the token in use), the admin routes answer.
    app.enrol_totp(email, &token).await;
    assert_eq!(
        app.api_get("/api/v1/admin/licenses", Some(&token))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        c.get(app.url("/admin")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let r = app
        .api_post("/api/v1/auth/logout", Some(&token), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_a_code() {
    let app = spawn_app().await;
    let email = "t@example.com";
    let (token, _) = enrolled_therapist(&app, email).await;
    let del = |body: Value| {
        let app = &app;
        let token = token.clone();
        async move {
            new_client()
                .delete(app.url("/api/v1/me/totp"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let code = fresh_totp_code(&app, email).await;
    let r = del(json!({"current_password": "not the password", "code": code})).await;
    assert_eq!(
        code_of(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "wrong_password".into())
    );
    let r = del(json!({"current_password": PASSWORD, "code": wrong_code(&app, email)})).await;
    assert_eq!(
        code_of(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_totp".into())
    );
    let code = fresh_totp_code(&app, email).await;
    let r = del(json!({"current_password": PASSWORD, "code": code})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(login(&app, email, None).await.status(), StatusCode::OK);
    assert!(totp_secret(&app, email).is_none());
    let r = del(json!({"current_password": PASSWORD, "code": code})).await;
    assert_eq!(
        code_of(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "totp_not_enabled".into())
    );
}

#[tokio::test]
async fn the_secret_is_sealed_at_rest_and_rekey_moves_it_to_the_new_key() {
    let app = spawn_app().await;
    let email = "t@example.com";
    let (_, token) = app.api_user(email, "therapist").await;
    let e: Value = app
        .api_post("/api/v1/me/totp", Some(&token), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = e["secret"].as_str().unwrap().to_string();
    let code = fresh_totp_code(&app, email).await;
    let r = app
        .api_post(
            "/api/v1/me/totp/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = database_text(&app);
    assert!(
        !text.contains(&secret),
        "the base32 secret is not in the database"
    );
    assert!(!text.contains(&secret.to_lowercase()));

    let old = cipher_of(&app);
    let new = AnswerCipher::from_key([7u8; 32]);
    let rotating = new.clone().with_old_keys(vec![old.clone()]);
    let user_id = with_conn(&app, |conn| {
        User::find_by_email(conn, email).unwrap().unwrap().id
    });
    with_conn(&app, |conn| {
        assert_eq!(pending(conn, &rotating).unwrap().totp_secrets, 1);
        while rekey_batch(conn, &rotating, 10).unwrap() > 0 {}
        assert_eq!(pending(conn, &rotating).unwrap().total(), 0);
        use bodywork::db::schema::totp_secrets;
        let sealed: String = totp_secrets::table
            .find(user_id)
            .select(totp_secrets::sealed)
            .first(conn)
            .unwrap();
        assert!(new.is_current(&sealed), "{sealed}");
        let plain = new
            .decrypt(&sealed, &bodywork::services::totp::totp_aad(user_id))
            .unwrap();
        assert_eq!(bodywork::domain::totp::secret_base32(&plain), secret);
        // Bound to its account: another user id does not open it.
        assert!(new
            .decrypt(&sealed, &bodywork::services::totp::totp_aad(user_id + 1))
            .is_err());
    });
}

#[tokio::test]
async fn the_login_page_asks_for_the_code_after_the_password() {
    let app = spawn_app().await;
    let email = "t@example.com";
    enrolled_therapist(&app, email).await;
    let c = new_client();
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
            ("email", email),
            ("password", PASSWORD),
            ("next", "/therapist/clients"),
            ("csrf_token", &csrf_from(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        !cookies.iter().any(|c| c.starts_with("bw_session=")),
        "{cookies:?}"
    );
    let pending = cookies.iter().find(|c| c.starts_with("bw_login=")).unwrap();
    assert!(
        pending.contains("HttpOnly") && pending.contains("Max-Age=300"),
        "{pending}"
    );
    assert!(!pending.contains(PASSWORD));
    let page = r.text().await.unwrap();
    assert!(page.contains("action=\"/login/two-factor\""));
    assert!(
        !page.contains(PASSWORD),
        "the password is not carried in the page"
    );
    // Not logged in yet.
    let r = c.get(app.url("/therapist")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let csrf = csrf_from(&page);
    let bad = wrong_code(&app, email);
    let r = c
        .post(app.url("/login/two-factor"))
        .form(&[("code", bad.as_str()), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("not right"));
    let code = fresh_totp_code(&app, email).await;
    let r = c
        .post(app.url("/login/two-factor"))
        .form(&[("code", code.as_str()), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/therapist/clients");
    assert_eq!(
        c.get(app.url("/therapist")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // Without a password step first, the code page is the login form again, saying why.
    let other = new_client();
    let r = other
        .get(app.url("/login/two-factor"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("action=\"/login\"") && html.contains("within 5 minutes"));
}

#[tokio::test]
async fn enrolment_on_the_account_page_shows_the_qr_code_and_the_recovery_codes_once() {
    let app = spawn_app().await;
    let email = "c@example.com";
    app.register_page(email, "Casey Client", "client").await;
    let page = app.get_html("/account").await;
    assert!(page.contains("Two-factor sign-in"), "{page}");
    let r = app
        .post_form("/account/two-factor", "/account/two-factor", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = app.get_html("/account/two-factor").await;
    assert!(
        page.contains("class=\"totp-qr\" src=\"data:image/svg+xml;base64,"),
        "the QR code is an SVG image: {page}"
    );
    let (secret, _) = totp_secret(&app, email).unwrap();
    assert!(page.contains(&bodywork::domain::totp::secret_base32(&secret)));
    let r = app
        .post_form(
            "/account/two-factor",
            "/account/two-factor/confirm",
            &[("code", "000000x")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("tf-code-error"));
    let code = fresh_totp_code(&app, email).await;
    let r = app
        .post_form(
            "/account/two-factor",
            "/account/two-factor/confirm",
            &[("code", &code)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let codes_page = r.text().await.unwrap();
    assert_eq!(codes_page.matches("<li><code>").count(), 10);
    // Shown once: the page now says it is on, without the codes or the secret.
    let page = app.get_html("/account/two-factor").await;
    assert!(page.contains("data-testid=\"two-factor-on\""));
    assert!(!page.contains("<li><code>"));
    assert!(!page.contains(&bodywork::domain::totp::secret_base32(&secret)));
}

#[tokio::test]
async fn erasing_a_client_account_removes_its_two_factor_key_and_codes() {
    let app = spawn_app().await;
    let email = "c@example.com";
    let (_, token) = app.api_user(email, "client").await;
    app.enrol_totp(email, &token).await;
    assert!(totp_secret(&app, email).is_some());
    let r = new_client()
        .delete(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let left: (i64, i64) = with_conn(&app, |conn| {
        use bodywork::db::schema::{totp_recovery_codes, totp_secrets};
        (
            totp_secrets::table.count().get_result(conn).unwrap(),
            totp_recovery_codes::table.count().get_result(conn).unwrap(),
        )
    });
    assert_eq!(left, (0, 0));
}
