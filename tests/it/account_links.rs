//! What people do with their account by mail: verify the address (and booking waits for it),
//! reset a forgotten password, change the password or the address, export their data, delete a
//! client's account; the single-use links read from the mails in the outbox (their text part,
//! exactly what is sent), and their housekeeping.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    answers, book, csrf_from, new_client, page_login, scene, slots, some_day, spawn_app, with_conn,
    TestApp, PASSWORD,
};

async fn body(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

async fn code(r: reqwest::Response) -> String {
    body(r).await["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn me(app: &TestApp, token: &str) -> Value {
    body(app.api_get("/api/v1/me", Some(token)).await).await
}

/// Logs in through the API with a password: the status.
async fn login_status(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.api_post(
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
    .status()
}

#[tokio::test]
async fn registration_mails_a_link_that_verifies_the_address_once() {
    let app = spawn_app().await;
    let reg = app
        .api_register("ana@example.com", "Ana Silva", "client")
        .await;
    assert_eq!(reg["user"]["email_verified"], false);
    let token = app.api_login("ana@example.com").await;
    assert_eq!(me(&app, &token).await["email_verified"], false);

    let text = app.mail_text("ana@example.com", "verify_email").await;
    assert!(text.contains("Ana Silva"), "{text}");
    assert!(text.contains("48 hours"), "{text}");
    let link = app
        .mail_link("ana@example.com", "verify_email", "/verify-email")
        .await;
    // The link opens a page with a button: a GET changes nothing.
    let page = new_client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Confirm my email address"), "{html}");
    assert_eq!(me(&app, &token).await["email_verified"], false);

    let t = link.split_once("token=").unwrap().1;
    let r = app
        .api_post("/api/v1/auth/verify-email", None, json!({"token": t}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &token).await["email_verified"], true);

    let again = app
        .api_post("/api/v1/auth/verify-email", None, json!({"token": t}))
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(again).await, "token_used");
    let unknown = app
        .api_post(
            "/api/v1/auth/verify-email",
            None,
            json!({"token": "not-a-token-anybody-was-sent"}),
        )
        .await;
    assert_eq!(code(unknown).await, "token_invalid");
    // A verified account asks for no new link.
    let r = app
        .api_post("/api/v1/auth/resend-verification", Some(&token), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(code(r).await, "already_verified");
}

#[tokio::test]
async fn a_verification_link_expires_after_48_hours_and_a_new_one_can_be_asked() {
    let app = spawn_app().await;
    app.api_register("ana@example.com", "Ana Silva", "client")
        .await;
    let token = app.api_login("ana@example.com").await;
    let old = app
        .mail_token("ana@example.com", "verify_email", "/verify-email")
        .await;
    app.age_tokens(47);
    app.age_tokens(1);
    let r = app
        .api_post("/api/v1/auth/verify-email", None, json!({"token": old}))
        .await;
    assert_eq!(code(r).await, "token_expired");
    // Its page says so, with where to ask for a new one.
    let html = new_client()
        .get(app.url(&format!("/verify-email?token={old}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("This link has expired"), "{html}");

    let r = app
        .api_post("/api/v1/auth/resend-verification", Some(&token), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(app.mail_count("ana@example.com", "verify_email"), 2);
    app.verify_email("ana@example.com").await;
    assert_eq!(me(&app, &token).await["email_verified"], true);
}

#[tokio::test]
async fn booking_waits_for_a_verified_address_in_the_api_and_the_pages() {
    let s = scene().await;
    let app = &s.app;
    app.api_register("cleo@example.com", "Cleo Client", "client")
        .await;
    let client = app.api_login("cleo@example.com").await;
    let day = some_day();
    let start = slots(app, &s.m, day, day).await[2].clone();

    let r = book(app, &client, &s.m, &start, &[], false).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let err = body(r).await;
    assert_eq!(err["error"]["code"], "email_unverified");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cleo@example.com"),
        "{err}"
    );

    // The pages: the booking form says what to do and can send the link again; the layout
    // shows the banner on every page.
    let browser = page_login(app, "cleo@example.com").await;
    let path = format!(
        "/book?therapist={}&service={}&start={}",
        s.m.therapist_id,
        s.m.service_id,
        start.replace('+', "%2B")
    );
    let r = browser.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Confirm your email address to book"),
        "{html}"
    );
    assert!(html.contains("action=\"/account/resend-verification\""));
    assert!(html.contains("data-testid=\"verify-banner\""));
    let r = browser
        .post(app.url("/account/resend-verification"))
        .form(&[("csrf_token", csrf_from(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.mail_count("cleo@example.com", "verify_email"), 2);

    // Following the link from the mail (its page's button) unlocks booking.
    let link = app
        .mail_link("cleo@example.com", "verify_email", "/verify-email")
        .await;
    let html = browser
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let t = link.split_once("token=").unwrap().1;
    let r = browser
        .post(app.url("/verify-email"))
        .form(&[("csrf_token", csrf_from(&html).as_str()), ("token", t)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/account");
    let html = browser
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("data-testid=\"verify-banner\""));
    let r = browser.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = book(app, &client, &s.m, &start, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_reset_request_gets_the_same_answer_for_an_unknown_email_and_no_mail() {
    let app = spawn_app().await;
    app.api_user("ana@example.com", "client").await;
    let known = app
        .api_post(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "Ana@Example.com"}),
        )
        .await;
    let unknown = app
        .api_post(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    let headers = |r: &reqwest::Response| {
        let mut h: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str() != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(headers(&known), headers(&unknown));
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "the same answer"
    );
    let text = app.mail_text("ana@example.com", "password_reset").await;
    assert!(text.contains("1 hour"), "{text}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mail_count("nobody@example.com", "password_reset"), 0);
    // Not an address at all: said, whatever the accounts.
    let r = app
        .api_post(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "nope"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_password_reset_ends_every_session_and_token_and_works_once() {
    let app = spawn_app().await;
    let (_, api_token) = app.api_user("ana@example.com", "client").await;
    let browser = page_login(&app, "ana@example.com").await;
    app.api_post(
        "/api/v1/auth/password-reset",
        None,
        json!({"email": "ana@example.com"}),
    )
    .await;
    let token = app
        .mail_token(
            "ana@example.com",
            "password_reset",
            "/password-reset/confirm",
        )
        .await;
    let r = app
        .api_post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "password1234"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = body(r).await;
    assert_eq!(err["error"]["code"], "password_weak");
    assert!(err["error"]["fields"]["password"].is_string(), "{err}");
    // A weak password leaves the token usable.
    let r = app
        .api_post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "granite velvet harbor"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        app.api_get("/api/v1/me", Some(&api_token)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the API token ended"
    );
    let r = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the page session ended");
    assert_eq!(
        login_status(&app, "ana@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_status(&app, "ana@example.com", "granite velvet harbor").await,
        StatusCode::OK
    );
    let r = app
        .api_post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "another granite harbor"}),
        )
        .await;
    assert_eq!(code(r).await, "token_used");
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let app = spawn_app().await;
    app.api_user("ana@example.com", "client").await;
    app.api_post(
        "/api/v1/auth/password-reset",
        None,
        json!({"email": "ana@example.com"}),
    )
    .await;
    let link = app
        .mail_link(
            "ana@example.com",
            "password_reset",
            "/password-reset/confirm",
        )
        .await;
    app.age_tokens(1);
    let r = new_client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("This link has expired"), "{html}");
    assert!(html.contains("href=\"/password-reset\""), "{html}");
    let token = link.split_once("token=").unwrap().1;
    let r = app
        .api_post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "granite velvet harbor"}),
        )
        .await;
    assert_eq!(code(r).await, "token_expired");
}

#[tokio::test]
async fn the_reset_pages_from_the_login_page_to_the_new_password() {
    let app = spawn_app().await;
    app.api_user("ana@example.com", "client").await;
    let login = app.get_html("/login").await;
    assert!(login.contains("href=\"/password-reset\""), "{login}");
    assert!(login.contains("Forgot your password?"));
    let r = app
        .post_form(
            "/password-reset",
            "/password-reset",
            &[("email", "ana@example.com")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");
    let r = app
        .post_form("/password-reset", "/password-reset", &[("email", "nope")])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"email-error\""));

    let link = app
        .mail_link(
            "ana@example.com",
            "password_reset",
            "/password-reset/confirm",
        )
        .await;
    let html = app.get_html(&link).await;
    let token = link.split_once("token=").unwrap().1;
    // A weak password: the form again, the reason next to the field, nothing typed kept.
    let r = app
        .client
        .post(app.url("/password-reset/confirm"))
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("token", token),
            ("password", "password1234"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"password-error\""), "{html}");
    assert!(html.contains("too easy to guess"), "{html}");
    assert!(!html.contains("password1234"));
    let r = app
        .client
        .post(app.url("/password-reset/confirm"))
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("token", token),
            ("password", "granite velvet harbor"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");
    let r = app
        .login_page("ana@example.com", "granite velvet harbor")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_ends_the_others_and_tells_the_account() {
    let app = spawn_app().await;
    let (_, token) = app.api_user("ana@example.com", "client").await;
    let other = app.api_login("ana@example.com").await;
    let browser = page_login(&app, "ana@example.com").await;
    let change = |current: &str, new: &str| {
        let (app, token) = (&app, token.clone());
        let b = json!({"current_password": current, "new_password": new});
        async move { app.api_post("/api/v1/me/password", Some(&token), b).await }
    };
    let r = change("not my password", "granite velvet harbor").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = body(r).await;
    assert_eq!(err["error"]["code"], "wrong_password");
    assert!(err["error"]["fields"]["current_password"].is_string());
    let r = change(PASSWORD, "ana@example.com1").await;
    assert_eq!(code(r).await, "password_weak");
    let r = change(PASSWORD, "granite velvet harbor").await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        app.api_get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.api_get("/api/v1/me", Some(&other)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let text = app.mail_text("ana@example.com", "password_changed").await;
    assert!(text.contains("was changed"), "{text}");

    // The page: the session that changes it goes on, another ends.
    let a = page_login_with(&app, "ana@example.com", "granite velvet harbor").await;
    let b = page_login_with(&app, "ana@example.com", "granite velvet harbor").await;
    let html = a
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = a
        .post(app.url("/account/password"))
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("current_password", "wrong"),
            ("new_password", "quartz lantern orbit"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"pw-current_password-error\""), "{page}");
    let r = a
        .post(app.url("/account/password"))
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("current_password", "granite velvet harbor"),
            ("new_password", "quartz lantern orbit"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        a.get(app.url("/account")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        b.get(app.url("/account")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

async fn page_login_with(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
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
            ("password", password),
            ("csrf_token", csrf_from(&html).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login {email}");
    c
}

#[tokio::test]
async fn an_email_change_takes_effect_from_the_new_address_link() {
    let app = spawn_app().await;
    let (_, token) = app.api_user("ana@example.com", "client").await;
    app.api_user("taken@example.com", "client").await;
    let put = |current: &str, email: &str| {
        let (app, token) = (&app, token.clone());
        let b = json!({"current_password": current, "email": email});
        async move { app.api_put("/api/v1/me/email", &token, b).await }
    };
    let r = put("wrong password", "new@example.com").await;
    assert_eq!(code(r).await, "wrong_password");
    let r = put(PASSWORD, "Taken@Example.com").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(code(r).await, "email_taken");
    let r = put(PASSWORD, "not an address").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = put(PASSWORD, "New@Example.com").await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    // A notice to the old address; the link to the new one; nothing changed yet.
    let notice = app
        .mail_text("ana@example.com", "email_change_notice")
        .await;
    assert!(notice.contains("new@example.com"), "{notice}");
    assert_eq!(me(&app, &token).await["email"], "ana@example.com");
    let link = app
        .mail_link("new@example.com", "verify_email", "/verify-email")
        .await;
    let html = app.get_html(&link).await;
    assert!(html.contains("new@example.com"), "{html}");
    let t = link.split_once("token=").unwrap().1;
    let r = app
        .api_post("/api/v1/auth/verify-email", None, json!({"token": t}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let now = me(&app, &token).await;
    assert_eq!(now["email"], "new@example.com");
    assert_eq!(now["email_verified"], true);
    assert_eq!(
        login_status(&app, "new@example.com", PASSWORD).await,
        StatusCode::OK
    );
    assert_eq!(
        login_status(&app, "ana@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );

    // A change to an address someone takes meanwhile is refused when its link is used.
    let r = put(PASSWORD, "late@example.com").await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.api_user("late@example.com", "client").await;
    // The first verify mail to late@ is the change's (the newest is the new account's own).
    let change_mail = app.mail_texts("late@example.com", "verify_email").remove(0);
    let at = change_mail.find("token=").unwrap() + "token=".len();
    let t: String = change_mail[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let r = app
        .api_post("/api/v1/auth/verify-email", None, json!({"token": t}))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(code(r).await, "email_taken");
    assert_eq!(me(&app, &token).await["email"], "new@example.com");
}

#[tokio::test]
async fn the_account_page_lists_its_sections_and_changes_the_email_with_errors_by_the_field() {
    let app = spawn_app().await;
    app.register_page("ana@example.com", "Ana Silva", "client")
        .await;
    let html = app.get_html("/account").await;
    for section in [
        "id=\"email\"",
        "id=\"password\"",
        "id=\"email-change\"",
        "id=\"export\"",
        "id=\"delete\"",
    ] {
        assert!(html.contains(section), "{section}: {html}");
    }
    assert!(
        html.contains("href=\"/account\""),
        "the layout links the account page"
    );
    let r = app
        .post_form(
            "/account",
            "/account/email",
            &[("email", "x@example.com"), ("current_password", "wrong")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"em-current_password-error\""), "{html}");
    assert!(
        html.contains("value=\"x@example.com\""),
        "the typed address is kept"
    );
    let r = app
        .post_form(
            "/account",
            "/account/email",
            &[("email", "x@example.com"), ("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get_html("/account").await;
    assert!(html.contains("data-testid=\"pending-email\""), "{html}");

    // A therapist's page has no delete section (clients only).
    let t = spawn_app().await;
    t.register_page("maya@example.com", "Maya", "therapist")
        .await;
    let html = t.get_html("/account").await;
    assert!(!html.contains("id=\"delete\""));
}

#[tokio::test]
async fn the_export_holds_the_callers_own_answers_and_logs_reading_them() {
    let s = scene().await;
    let app = &s.app;
    let (_, client) = app.api_user("cleo@example.com", "client").await;
    let day = some_day();
    let start = slots(app, &s.m, day, day).await[1].clone();
    let r = book(app, &client, &s.m, &start, &["varicose_veins"], true).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = body(r).await["id"].as_i64().unwrap();

    let r = app.api_get("/api/v1/me/export", Some(&client)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let doc = body(r).await;
    assert_eq!(doc["account"]["email"], "cleo@example.com");
    let a = &doc["appointments_as_client"][0];
    assert_eq!(a["id"], id);
    assert_eq!(a["screening_answers"]["varicose_veins"], true);
    let expected = answers(&["varicose_veins"]);
    assert_eq!(
        a["screening_answers"].as_object().unwrap().len(),
        expected.len()
    );
    assert!(doc["sessions"].is_array() && doc["api_tokens"].is_array());
    assert!(!doc.to_string().contains("token_hash"));
    let log = body(
        app.api_get(
            &format!("/api/v1/appointments/{id}/access-log"),
            Some(&client),
        )
        .await,
    )
    .await;
    let channels: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["channel"].as_str().unwrap_or_default())
        .collect();
    assert!(channels.contains(&"export"), "{log}");

    // A therapist's export has the practice, never their clients' answers.
    let doc = body(app.api_get("/api/v1/me/export", Some(&s.m.token)).await).await;
    assert_eq!(doc["practice"]["appointments"][0]["id"], id);
    assert!(!doc.to_string().contains("varicose"), "{doc}");

    // The page downloads the same document.
    let browser = page_login(app, "cleo@example.com").await;
    let r = browser
        .get(app.url("/account/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["account"]["email"], "cleo@example.com");
}

#[tokio::test]
async fn a_client_deletes_their_account_and_their_therapist_keeps_an_anonymous_record() {
    let s = scene().await;
    let app = &s.app;
    let (client_id, client) = app.api_user("cleo@example.com", "client").await;
    let day = some_day();
    let start = slots(app, &s.m, day, day).await[3].clone();
    let r = book(app, &client, &s.m, &start, &["varicose_veins"], true).await;
    let id = body(r).await["id"].as_i64().unwrap();
    let delete = |current: &str, token: &str| {
        let (app, token) = (app, token.to_string());
        let b = json!({"current_password": current});
        async move {
            new_client()
                .delete(app.url("/api/v1/me"))
                .bearer_auth(token)
                .json(&b)
                .send()
                .await
                .unwrap()
        }
    };
    let r = delete(PASSWORD, &s.m.token).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "clients only");
    let r = delete("wrong password", &client).await;
    assert_eq!(code(r).await, "wrong_password");
    let r = delete(PASSWORD, &client).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        app.api_get("/api/v1/me", Some(&client)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_status(app, "cleo@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    // The therapist: the booking cancelled, told by mail, no name, no answers.
    let appt = body(
        app.api_get(&format!("/api/v1/appointments/{id}"), Some(&s.m.token))
            .await,
    )
    .await;
    assert_eq!(appt["status"], "cancelled", "{appt}");
    assert!(appt["answers"].is_null(), "{appt}");
    assert!(!appt.to_string().contains("cleo"), "{appt}");
    let mail = app
        .mail_text("t@example.com", "booking_cancelled_by_client")
        .await;
    assert!(mail.contains("deleted their account"), "{mail}");
    let list = body(
        app.api_get("/api/v1/me/appointments", Some(&s.m.token))
            .await,
    )
    .await;
    assert!(list.to_string().contains("Deleted client"), "{list}");
    // Nothing of the address is left in the mails to them either.
    assert_eq!(app.mail_count("cleo@example.com", "verify_email"), 0);
    let _ = client_id;
    // The address is free again.
    app.api_register("cleo@example.com", "Cleo Again", "client")
        .await;
}

#[tokio::test]
async fn deleting_through_the_page_asks_for_the_password_and_the_box() {
    let app = spawn_app().await;
    app.register_page("cleo@example.com", "Cleo", "client")
        .await;
    let r = app
        .post_form(
            "/account",
            "/account/delete",
            &[("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"del-confirm-error\""), "{html}");
    let r = app
        .post_form(
            "/account",
            "/account/delete",
            &[("current_password", PASSWORD), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let r = app.get("/account").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "logged out");
}

#[tokio::test]
async fn weak_passwords_are_refused_at_registration_with_the_reason_by_the_field() {
    let app = spawn_app().await;
    let r = app
        .api_post(
            "/api/v1/auth/register",
            None,
            json!({"email": "ana@example.com", "password": "anasilva2024", "name": "Ana Silva", "role": "client"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = body(r).await;
    assert_eq!(err["error"]["code"], "password_weak");
    let why = err["error"]["fields"]["password"].as_str().unwrap();
    assert!(
        why.starts_with("This password is too easy to guess."),
        "{why}"
    );
    let r = app
        .post_form(
            "/register",
            "/register",
            &[
                ("email", "ana@example.com"),
                ("name", "Ana Silva"),
                ("password", "qwertyuiop"),
                ("role", "client"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"password-error\""), "{html}");
    assert!(html.contains("too easy to guess"), "{html}");
}

#[tokio::test]
async fn used_and_expired_tokens_are_purged_after_the_keep_period() {
    let app = spawn_app().await;
    app.api_user("ana@example.com", "client").await;
    app.api_register("bo@example.com", "Bo", "client").await;
    app.api_post(
        "/api/v1/auth/password-reset",
        None,
        json!({"email": "ana@example.com"}),
    )
    .await;
    app.mail_text("ana@example.com", "password_reset").await;
    assert_eq!(app.token_count(), 3);
    let keep = std::time::Duration::from_secs(24 * 3600);
    let now = chrono::Utc::now();
    let purged = with_conn(&app, |conn| {
        bodywork::services::tokens::purge(conn, now, keep).unwrap()
    });
    assert_eq!(purged, 0, "nothing is older than the keep period yet");
    // A day and a bit later: the used verification (Ana's) and the expired reset link go; Bo's
    // verification link still works for another day.
    let later = now + chrono::Duration::hours(26);
    let purged = with_conn(&app, |conn| {
        bodywork::services::tokens::purge(conn, later, keep).unwrap()
    });
    assert_eq!(purged, 2);
    assert_eq!(app.token_count(), 1);
    // Three days on, Bo's expired link goes too.
    let purged = with_conn(&app, |conn| {
        bodywork::services::tokens::purge(conn, now + chrono::Duration::hours(73), keep).unwrap()
    });
    assert_eq!(purged, 1);
}

#[tokio::test]
async fn stale_sessions_api_tokens_and_login_counts_are_purged_and_live_ones_kept() {
    use bodywork::db::schema::{api_tokens, login_attempts, sessions};
    use diesel::prelude::*;
    let app = spawn_app().await;
    app.api_user("ana@example.com", "client").await;
    let live = app.api_login("ana@example.com").await;
    crate::builders::page_login(&app, "ana@example.com").await;
    // A failed login leaves a count.
    app.api_post(
        "/api/v1/auth/login",
        None,
        json!({"email": "ana@example.com", "password": "not the password at all"}),
    )
    .await;
    let counts = |app: &crate::builders::TestApp| {
        with_conn(app, |conn| {
            (
                sessions::table.count().get_result::<i64>(conn).unwrap(),
                api_tokens::table.count().get_result::<i64>(conn).unwrap(),
                login_attempts::table
                    .count()
                    .get_result::<i64>(conn)
                    .unwrap(),
            )
        })
    };
    let before = counts(&app);
    assert!(
        before.0 >= 1 && before.1 >= 2 && before.2 == 1,
        "{before:?}"
    );
    let keep = std::time::Duration::from_secs(24 * 3600);
    let now = chrono::Utc::now();
    let purged = with_conn(&app, |conn| {
        bodywork::services::accounts::purge_stale(conn, now, keep).unwrap()
    });
    assert_eq!(purged, Default::default(), "everything is live or recent");
    assert_eq!(counts(&app), before);
    // Far later: sessions past their absolute expiry, tokens expired for longer than the keep
    // period, and the old count all go.
    let later = now + chrono::Duration::days(90);
    let purged = with_conn(&app, |conn| {
        bodywork::services::accounts::purge_stale(conn, later, keep).unwrap()
    });
    assert_eq!(purged.sessions as i64, before.0);
    assert_eq!(purged.api_tokens as i64, before.1);
    assert_eq!(purged.login_attempts, 1);
    assert_eq!(counts(&app), (0, 0, 0));
    // (The token from before is gone with them.)
    assert_eq!(
        app.api_get("/api/v1/me", Some(&live)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
