//! Register, log in, log out: pages and API.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{new_client, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn api_register_login_me_logout() {
    let app = spawn_app().await;
    let body = app
        .api_register("Ana@Example.com", "Ana Silva", "client")
        .await;
    assert_eq!(body["user"]["email"], "ana@example.com");
    assert_eq!(body["user"]["role"], "client");

    let token = app.api_login("ana@example.com").await;
    let me: Value = app
        .api_get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Ana Silva");
    assert_eq!(me["id"], body["user"]["id"]);

    let out = app
        .api_post("/api/v1/auth/logout", Some(&token), json!({}))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = app.api_get("/api/v1/me", Some(&token)).await;
    assert_eq!(
        after.status(),
        StatusCode::UNAUTHORIZED,
        "a revoked token is dead"
    );
    let err: Value = after.json().await.unwrap();
    assert_eq!(err["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn api_registration_refuses_a_taken_email_in_any_case_and_admin_role() {
    let app = spawn_app().await;
    app.api_register("ana@example.com", "Ana", "client").await;
    let dup = app
        .api_post(
            "/api/v1/auth/register",
            None,
            json!({"email": "ANA@EXAMPLE.COM", "password": PASSWORD, "name": "Other", "role": "client"}),
        )
        .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let err: Value = dup.json().await.unwrap();
    assert_eq!(err["error"]["code"], "email_taken");

    let admin = app
        .api_post(
            "/api/v1/auth/register",
            None,
            json!({"email": "boss@example.com", "password": PASSWORD, "name": "Boss", "role": "admin"}),
        )
        .await;
    assert_eq!(admin.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = admin.json().await.unwrap();
    assert_eq!(err["error"]["code"], "validation_failed");
    assert!(err["error"]["fields"]["role"].is_string());
}

#[tokio::test]
async fn api_registration_explains_each_bad_field() {
    let app = spawn_app().await;
    let resp = app
        .api_post(
            "/api/v1/auth/register",
            None,
            json!({"email": "not-an-email", "password": "short", "name": " ", "role": "client"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = resp.json().await.unwrap();
    for field in ["email", "password", "name"] {
        assert!(err["error"]["fields"][field].is_string(), "{field}: {err}");
    }
    let long = "x".repeat(129);
    let resp = app
        .api_post(
            "/api/v1/auth/register",
            None,
            json!({"email": "a@example.com", "password": long, "name": "A", "role": "client"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn passwords_are_kept_whole_not_trimmed() {
    let app = spawn_app().await;
    let pw = "  spaces around  ";
    let resp = app
        .api_post(
            "/api/v1/auth/register",
            None,
            json!({"email": "s@example.com", "password": pw, "name": "S", "role": "client"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let trimmed = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "s@example.com", "password": pw.trim()}),
        )
        .await;
    assert_eq!(trimmed.status(), StatusCode::UNAUTHORIZED);
    let whole = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "s@example.com", "password": pw}),
        )
        .await;
    assert_eq!(whole.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.api_register("ana@example.com", "Ana", "client").await;
    let wrong = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ana@example.com", "password": "wrong password"}),
        )
        .await;
    let unknown = app
        .api_post(
            "/api/v1/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "wrong password"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
}

#[tokio::test]
async fn page_register_then_logout_then_login_shows_the_name() {
    let app = spawn_app().await;
    let resp = app
        .register_page("maya@example.com", "Maya Okafor", "therapist")
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/therapist");
    let dash = app.get_html("/therapist").await;
    assert!(dash.contains("Maya Okafor"), "name in the navigation");
    assert!(dash.contains("Complete your profile"));

    let home = app.get_html("/").await;
    let out = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", crate::builders::csrf_from(&home))])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let home = app.get_html("/").await;
    assert!(!home.contains("Maya Okafor"));
    assert!(home.contains("You are logged out."), "flash after logout");

    let resp = app.login_page("MAYA@example.com", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(app.get_html("/therapist").await.contains("Maya Okafor"));
}

#[tokio::test]
async fn a_failed_registration_form_keeps_what_was_typed_but_not_the_password() {
    let app = spawn_app().await;
    let resp = app
        .post_form(
            "/register",
            "/register",
            &[
                ("email", "bad-email"),
                ("name", "Zoë <b>"),
                ("password", "secret-pw-123"),
                ("role", "client"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("value=\"bad-email\""));
    assert!(
        html.contains("Zoë &#60;b&#62;") || html.contains("Zoë &lt;b&gt;"),
        "escaped: {html}"
    );
    assert!(!html.contains("secret-pw-123"));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("id=\"email-error\""));
}

#[tokio::test]
async fn login_renews_the_session_id() {
    let app = spawn_app().await;
    app.register_page("ana@example.com", "Ana", "client").await;
    let cookie_of = |resp: &reqwest::Response| {
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("bw_session="))
            .map(|v| v.split(';').next().unwrap().to_string())
    };
    // The same client logs in again while logged in: it gets a new session id,
    // and the old session no longer works.
    let first = app.login_page("ana@example.com", PASSWORD).await;
    let first_cookie = cookie_of(&first).expect("session cookie");
    let second = app.login_page("ana@example.com", PASSWORD).await;
    let second_cookie = cookie_of(&second).expect("session cookie");
    assert_ne!(first_cookie, second_cookie);

    let old = new_client()
        .get(app.url("/"))
        .header("cookie", first_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!old.contains("nav-user"), "the old session is gone");
}

#[tokio::test]
async fn a_session_ends_after_its_idle_timeout() {
    let app = spawn_app_with(|s| s.session_idle = std::time::Duration::from_secs(1)).await;
    app.register_page("ana@example.com", "Ana", "client").await;
    assert!(app.get_html("/").await.contains("nav-user"));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(!app.get_html("/").await.contains("nav-user"));
}

#[tokio::test]
async fn logout_kills_the_page_session_on_the_server() {
    let app = spawn_app().await;
    app.register_page("maya@example.com", "Maya", "therapist")
        .await;
    // Keep a copy of the session cookie, as a thief would.
    let jar_cookie = {
        let resp = app.login_page("maya@example.com", PASSWORD).await;
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("bw_session="))
            .map(|v| v.split(';').next().unwrap().to_string())
            .expect("session cookie")
    };
    let page = app.get_html("/").await;
    let out = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", crate::builders::csrf_from(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let replay = new_client()
        .get(app.url("/therapist"))
        .header("cookie", jar_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.status(),
        StatusCode::SEE_OTHER,
        "the replayed cookie is logged out"
    );
    assert!(replay.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
}

#[tokio::test]
async fn create_admin_cli_makes_an_admin_who_can_log_in() {
    let app = spawn_app().await;
    let url = match &app.db_url {
        bodywork::db::DatabaseUrl::Sqlite(p) => format!("sqlite://{p}"),
        bodywork::db::DatabaseUrl::Postgres(u) => u.clone(),
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_bodywork"))
        .args([
            "create-admin",
            "--email",
            "root@example.com",
            "--password-stdin",
        ])
        .env("DATABASE_URL", url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bodywork binary runs");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .await
            .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = app.api_login("root@example.com").await;
    let me: Value = app
        .api_get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
}
