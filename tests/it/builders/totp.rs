//! Two-factor sign-in in tests: the code an account's authenticator app would show now,
//! computed with totp-rs from the secret the server sealed (opened with the test server's key),
//! of a time step the account has not used yet (the server refuses a step twice).

use bodywork::db::schema::totp_secrets;
use bodywork::domain::totp;
use bodywork::models::user::User;
use bodywork::services::crypto::AnswerCipher;
use diesel::prelude::*;

use super::app::TestApp;

/// The server's cipher (the test server's configured key).
pub fn cipher_of(app: &TestApp) -> AnswerCipher {
    AnswerCipher::from_base64(
        app.settings
            .answers_key
            .as_ref()
            .expect("tests configure a key")
            .expose(),
    )
    .expect("key")
}

/// The account's TOTP secret and the last step it used, when it has one (pending or on).
pub fn totp_secret(app: &TestApp, email: &str) -> Option<(Vec<u8>, Option<i64>)> {
    let mut conn = app.conn();
    let user = User::find_by_email(&mut conn, email).expect("read user")?;
    let (sealed, last): (String, Option<i64>) = totp_secrets::table
        .find(user.id)
        .select((totp_secrets::sealed, totp_secrets::last_step))
        .first(&mut conn)
        .optional()
        .expect("read secret")?;
    let plain = cipher_of(app)
        .decrypt(&sealed, &bodywork::services::totp::totp_aad(user.id))
        .expect("the secret opens");
    Some((plain, last))
}

/// The code of `secret` for the time step `step`.
pub fn code_for_step(secret: &[u8], step: i64) -> String {
    totp::totp(secret, "test")
        .expect("totp")
        .generate(step as u64 * totp::STEP_SECS)
        .to_string()
}

/// The step of now.
pub fn step_now() -> i64 {
    chrono::Utc::now().timestamp() / totp::STEP_SECS as i64
}

/// A code the server accepts now for the account: of the earliest step within the allowed
/// skew that it has not used (waiting for the next step when all three are used).
pub async fn fresh_totp_code(app: &TestApp, email: &str) -> String {
    loop {
        let (secret, last) = totp_secret(app, email).expect("the account has a TOTP secret");
        let now = step_now();
        // A step a second before its end may be over when the server checks: not the past one.
        let from = now
            - if chrono::Utc::now().timestamp() % 30 < 25 {
                1
            } else {
                0
            };
        let step = (from..=now + 1).find(|s| last.is_none_or(|l| *s > l));
        if let Some(step) = step {
            return code_for_step(&secret, step);
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Logs in to the demo's data (`demo::fill`) through the API with the demo password, and the
/// code of the demo admin's published key when the account has two-factor sign-in: the token.
pub async fn demo_login(app: &TestApp, email: &str) -> String {
    let mut body = serde_json::json!({"email": email, "password": bodywork::demo::DEMO_PASSWORD});
    if totp_secret(app, email).is_some() {
        body["totp"] = serde_json::json!(fresh_totp_code(app, email).await);
    }
    let r = app.api_post("/api/v1/auth/login", None, body).await;
    assert_eq!(r.status(), reqwest::StatusCode::OK, "demo login {email}");
    let v: serde_json::Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_string()
}
