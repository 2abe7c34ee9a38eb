//! Browser journey of two-factor sign-in (fixtures in `builders::browser`): a client sets it
//! up from their account (the QR code, the key as text: the code typed is computed from the
//! key the page shows), keeps the recovery codes, logs in again with the password and then
//! the code of the app, and once more with a recovery code; an invited admin who sets their
//! password is led straight into the setup.

use thirtyfour::prelude::*;

use crate::builders::browser::{browser, finish, log_out, press, register, submit, type_into};
use crate::builders::{code_for_step, fresh_totp_code, spawn_app, step_now, PASSWORD};

const EMAIL: &str = "tara@example.com";

async fn log_in_to_code_page(
    b: &WebDriver,
    app: &crate::builders::TestApp,
    email: &str,
) -> WebDriverResult<()> {
    b.goto(app.url("/login")).await?;
    type_into(b, "email", email).await?;
    type_into(b, "password", PASSWORD).await?;
    submit(b).await?;
    b.query(By::Id("code")).first().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sets_up_two_factor_sign_in_and_logs_in_with_a_code_then_a_recovery_code() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let result = async {
        register(&b, &app, "Tara Client", EMAIL).await?;
        b.goto(app.url("/account")).await?;
        let status = b
            .query(By::Css("[data-testid=two-factor-status]"))
            .first()
            .await?;
        assert_eq!(status.text().await?, "Off");
        b.query(By::LinkText("Set up two-factor sign-in"))
            .first()
            .await?
            .click()
            .await?;
        press(&b, "Set up two-factor sign-in").await?;
        // The QR code is drawn on the page; the key is there as text.
        let qr = b.query(By::Css("img.totp-qr")).first().await?;
        assert!(qr
            .attr("src")
            .await?
            .is_some_and(|s| s.starts_with("data:image/svg+xml;base64,")));
        // The image is drawn: the browser decoded the SVG.
        let mut width = 0;
        for _ in 0..50 {
            let out = b
                .execute(
                    "return document.querySelector('img.totp-qr').naturalWidth;",
                    Vec::new(),
                )
                .await?;
            width = out.convert::<i64>()?;
            if width > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(width > 0, "the QR code image did not load");
        let key = b
            .query(By::Css("[data-testid=totp-secret]"))
            .first()
            .await?
            .text()
            .await?;
        let secret = bodywork::domain::totp::secret_from_base32(&key).expect("base32 key");
        // A wrong code comes back next to the field.
        type_into(&b, "tf-code", "12345").await?;
        press(&b, "Turn on two-factor sign-in").await?;
        b.query(By::Id("tf-code-error")).first().await?;
        // The app's code, computed from the key the page showed.
        type_into(&b, "tf-code", &code_for_step(&secret, step_now())).await?;
        press(&b, "Turn on two-factor sign-in").await?;
        let codes = b
            .query(By::Css("[data-testid=recovery-codes] code"))
            .all_from_selector()
            .await?;
        assert_eq!(codes.len(), 10);
        let recovery = codes[0].text().await?;
        b.query(By::LinkText("I have kept them: continue"))
            .first()
            .await?
            .click()
            .await?;
        let status = b
            .query(By::Css("[data-testid=two-factor-status]"))
            .first()
            .await?;
        assert_eq!(status.text().await?, "On");

        // The password, then the code.
        log_out(&b).await?;
        log_in_to_code_page(&b, &app, EMAIL).await?;
        assert!(b.find(By::Css("[data-testid=nav-user]")).await.is_err());
        type_into(&b, "code", "000000").await?;
        submit(&b).await?;
        b.query(By::Id("code-error")).first().await?;
        let code = fresh_totp_code(&app, EMAIL).await;
        type_into(&b, "code", &code).await?;
        submit(&b).await?;
        b.query(By::Css("[data-testid=nav-user]")).first().await?;

        // A recovery code instead of the app, once.
        log_out(&b).await?;
        log_in_to_code_page(&b, &app, EMAIL).await?;
        type_into(&b, "code", &recovery).await?;
        submit(&b).await?;
        b.query(By::Css("[data-testid=nav-user]")).first().await?;
        log_out(&b).await?;
        log_in_to_code_page(&b, &app, EMAIL).await?;
        type_into(&b, "code", &recovery).await?;
        submit(&b).await?;
        b.query(By::Id("code-error")).first().await?;
        Ok(())
    }
    .await;
    finish(b, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_invited_admin_is_led_into_two_factor_setup() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (_, admin) = app.api_admin("admin@example.com").await;
    let r = app
        .api_post(
            "/api/v1/admin/admins",
            Some(&admin),
            serde_json::json!({"email": "grace@example.com", "name": "Grace Hopper"}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let link = app
        .mail_link("grace@example.com", "admin_invitation", "/accept-invite")
        .await;
    let result = async {
        b.goto(app.url(&link)).await?;
        type_into(&b, "password", PASSWORD).await?;
        submit(&b).await?;
        // Logging in leads to the setup, and so does every admin page until it is done.
        b.query(By::Id("email")).first().await?;
        type_into(&b, "email", "grace@example.com").await?;
        type_into(&b, "password", PASSWORD).await?;
        submit(&b).await?;
        b.query(By::Css("[data-testid=enrolment-required]"))
            .first()
            .await?;
        b.goto(app.url("/admin/licenses")).await?;
        assert_eq!(b.current_url().await?.path(), "/account/two-factor");
        press(&b, "Set up two-factor sign-in").await?;
        // The key is stored by the time the setup shows it.
        b.query(By::Css("[data-testid=totp-secret]"))
            .first()
            .await?;
        let code = fresh_totp_code(&app, "grace@example.com").await;
        type_into(&b, "tf-code", &code).await?;
        press(&b, "Turn on two-factor sign-in").await?;
        b.query(By::LinkText("I have kept them: continue"))
            .first()
            .await?
            .click()
            .await?;
        assert_eq!(b.current_url().await?.path(), "/admin");
        Ok(())
    }
    .await;
    finish(b, result).await;
}
